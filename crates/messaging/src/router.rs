//! The typed event router (eventuate-tram's `DomainEventHandlersBuilder`): a
//! consumer registers one handler per event type and the router decodes and
//! dispatches by the CloudEvents type. One policy for everyone: a type nobody
//! registered is skipped (newer producers never break older consumers); a
//! payload that does not decode as its declared type is a permanent failure
//! (dead-lettered, with the type named).

use std::collections::HashMap;

use futures::future::BoxFuture;

use crate::{cloudevents::InboundEvent, consumer::ApplyError, work::UnitOfWork};

/// A handler for events of type `E` on state `S`.
pub type Handler<S, E> = for<'a> fn(
    &'a S,
    &'a mut UnitOfWork,
    E,
    &'a InboundEvent,
) -> BoxFuture<'a, Result<(), ApplyError>>;

type Route<S> = Box<
    dyn for<'a> Fn(
            &'a S,
            &'a mut UnitOfWork,
            &'a InboundEvent,
        ) -> BoxFuture<'a, Result<(), ApplyError>>
        + Send
        + Sync,
>;

/// What the router did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// A handler applied it.
    Handled,
    /// No handler is registered for its type.
    Skipped,
}

/// Handlers by event type.
pub struct Router<S> {
    routes: HashMap<String, Route<S>>,
}

impl<S> Default for Router<S> {
    fn default() -> Self {
        Self {
            routes: HashMap::new(),
        }
    }
}

impl<S: Sync + 'static> Router<S> {
    /// A router with no handlers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for events of type `E` (by its full protobuf name).
    /// A second registration of the same type replaces the first.
    pub fn on<E>(mut self, handler: Handler<S, E>) -> Self
    where
        E: prost::Message + prost::Name + Default + Send + 'static,
    {
        self.routes.insert(
            E::full_name(),
            Box::new(
                move |state, work, event| match E::decode(event.payload.as_slice()) {
                    Ok(decoded) => handler(state, work, decoded, event),
                    Err(e) => {
                        let reason = format!("undecodable payload of {}: {e}", event.event_type);
                        Box::pin(async move { Err(ApplyError::Permanent(reason)) })
                    }
                },
            ),
        );
        self
    }

    /// Whether a handler is registered for `event_type`.
    pub fn handles(&self, event_type: &str) -> bool {
        self.routes.contains_key(event_type)
    }

    /// Decodes `event` and runs its handler, or skips it.
    pub async fn dispatch(
        &self,
        state: &S,
        work: &mut UnitOfWork,
        event: &InboundEvent,
    ) -> Result<Dispatch, ApplyError> {
        match self.routes.get(&event.event_type) {
            Some(route) => route(state, work, event).await.map(|()| Dispatch::Handled),
            None => Ok(Dispatch::Skipped),
        }
    }
}
