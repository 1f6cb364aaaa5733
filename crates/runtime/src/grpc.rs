//! The gRPC glue every service shares, written once: what a handler starts from
//! ([`Call`]: the authenticated caller, the purpose of use, the client's
//! deadline), the role check that opens every RPC (a refusal is audited like
//! every other: [`Refusal`], [`RecordRefusal`]), the [`grpc_service!`] macro
//! that writes a service's trait impl from its role table and checks every
//! request against [`crate::bounds`] before the handler runs, and [`mount!`], which
//! puts a service behind the authenticator with the message-size limits.
//!
//! [`grpc_service!`]: crate::grpc_service
//! [`mount!`]: crate::mount

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use tonic::{Request, Status, metadata::MetadataMap};

use crate::{
    audit::Purpose,
    auth::{Caller, Role},
};

/// Who calls, why, and by when: what every handler starts from.
#[derive(Debug, Clone)]
pub struct Call {
    /// The authenticated caller.
    pub caller: Caller,
    /// The purpose of use: stated by the caller, and one its roles serve
    /// ([`Purpose::of_call`]).
    pub purpose: Purpose,
    /// The client's deadline (`grpc-timeout`), if it set one.
    pub deadline: Option<Duration>,
}

/// A call the role table refused: who, why they said they called, what, and
/// the patient the request names (if it names one by a well-formed id). The
/// service records it in its audit trail before answering "permission denied".
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The authenticated caller.
    pub caller: Caller,
    /// The purpose of use the call carried (or the caller's default).
    pub purpose: Purpose,
    /// `<service>.<Rpc>`.
    pub action: &'static str,
    /// The patient the request names.
    pub patient_id: Option<String>,
}

/// Where a service records the calls its role table refused: its audit trail.
pub trait RecordRefusal: Send + Sync {
    /// Records `refusal`; an error is the trail's (storage) failure.
    fn record_refusal<'a>(
        &'a self,
        refusal: &'a Refusal,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// Why an RPC did not open.
#[derive(Debug)]
pub enum NotOpened {
    /// Unauthenticated, or a malformed purpose header: answered as is.
    Status(Status),
    /// The caller's roles may not call the RPC, or may not state the purpose
    /// given: audited, then answered "permission denied".
    Refused {
        /// The caller.
        caller: Caller,
        /// The purpose recorded with the refusal.
        purpose: Purpose,
    },
}

/// Opens an RPC: the caller must be authenticated, hold one of `roles`, and
/// state a purpose of use those roles serve.
pub fn begin<T>(request: &Request<T>, roles: &[Role]) -> Result<Call, NotOpened> {
    let caller = Caller::of(request).map_err(NotOpened::Status)?;
    let stated = Purpose::stated(request.metadata()).map_err(NotOpened::Status)?;
    let purpose = match Purpose::of_call(request.metadata(), &caller) {
        Ok(p) => p,
        Err(_) => {
            return Err(NotOpened::Refused {
                purpose: stated.unwrap_or(Purpose::Treatment),
                caller,
            });
        }
    };
    if caller.require_role(roles).is_err() {
        return Err(NotOpened::Refused {
            caller,
            purpose: stated.unwrap_or(purpose),
        });
    }
    Ok(Call {
        purpose,
        caller,
        deadline: grpc_timeout(request.metadata()),
    })
}

/// Answers a call that did not open: a refusal is recorded by `trail` (as
/// `action`, on the patient `request` names) and answered "permission denied",
/// the text of every other refusal.
pub async fn refuse<M: prost::Message + prost::Name>(
    trail: &dyn RecordRefusal,
    not_opened: NotOpened,
    action: &'static str,
    request: &M,
) -> Status {
    let (caller, purpose) = match not_opened {
        NotOpened::Status(s) => return s,
        NotOpened::Refused { caller, purpose } => (caller, purpose),
    };
    let refusal = Refusal {
        caller,
        purpose,
        action,
        patient_id: crate::bounds::patient_named(request),
    };
    if let Err(error) = trail.record_refusal(&refusal).await {
        // Still refused; the log says the trail missed it.
        tracing::error!(action, %error, "a refused call could not be audited");
    }
    Status::permission_denied("permission denied")
}

/// Settles a handler's error: a refusal the handler did not audit (marked
/// [`crate::status::UNAUDITED`]) is recorded by `trail` as `action` on the
/// patient the request named, and the mark removed.
pub async fn settle(
    trail: &dyn RecordRefusal,
    call: &Call,
    action: &'static str,
    patient_id: Option<String>,
    mut status: Status,
) -> Status {
    if status
        .metadata_mut()
        .remove(crate::status::UNAUDITED)
        .is_some()
    {
        let refusal = Refusal {
            caller: call.caller.clone(),
            purpose: call.purpose,
            action,
            patient_id,
        };
        if let Err(error) = trail.record_refusal(&refusal).await {
            tracing::error!(action, %error, "a refused call could not be audited");
        }
    }
    status
}

/// The audit name of an RPC: `<service>.<Rpc>` from the service's audit name
/// and the method's snake-case name (`get_patient` → `admissions.GetPatient`).
/// Finitely many; each is built once.
pub fn action(service: &'static str, method: &'static str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashMap<(&'static str, &'static str), &'static str>>> =
        OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    names.entry((service, method)).or_insert_with(|| {
        let camel: String = method
            .split('_')
            .map(|word| {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        Box::leak(format!("{service}.{camel}").into_boxed_str())
    })
}

/// The client's deadline from `grpc-timeout` (e.g. `500m`, `10S`), if any.
pub fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Re-exports the macros' expansions need, so a service crate needs no extra
/// dependency to use them.
#[doc(hidden)]
pub mod __private {
    pub use sea_orm;
    pub use tonic;
}

/// Writes a gRPC service's trait impl from its role table: per RPC, the roles
/// allowed and the handler (`async fn(&self, &Call, Request) -> Result<Response,
/// E>` with `E: Into<Status>`). `as "name" audited by field` gives the
/// service's audit name and the field ([`RecordRefusal`]) that records the
/// calls the role table refuses. Also defines `ROLES`, the table as data (RPC
/// name → roles), for documentation and the authorization tests.
#[macro_export]
macro_rules! grpc_service {
    ($api:ty => $service:path as $name:literal audited by $trail:ident {
        $($rpc:ident($req:ty) -> $resp:ty, $roles:expr => $handler:ident;)*
    }) => {
        #[$crate::grpc::__private::tonic::async_trait]
        impl $service for $api {
            $(
                async fn $rpc(
                    &self,
                    request: $crate::grpc::__private::tonic::Request<$req>,
                ) -> ::std::result::Result<
                    $crate::grpc::__private::tonic::Response<$resp>,
                    $crate::grpc::__private::tonic::Status,
                > {
                    let action = $crate::grpc::action($name, stringify!($rpc));
                    let started = ::std::time::Instant::now();
                    let answer = async {
                        let call = match $crate::grpc::begin(&request, $roles) {
                            Ok(call) => call,
                            Err(not_opened) => {
                                return Err($crate::grpc::refuse(
                                    &self.$trail,
                                    not_opened,
                                    action,
                                    request.get_ref(),
                                )
                                .await);
                            }
                        };
                        let named = $crate::bounds::screen(request.get_ref()).map_err(|e| {
                            $crate::status::invalid_argument("iop.request", e.field, &e.reason)
                        })?;
                        match self.$handler(&call, request.into_inner()).await {
                            Ok(response) => Ok($crate::grpc::__private::tonic::Response::new(response)),
                            Err(e) => Err($crate::grpc::settle(&self.$trail, &call, action, named, e.into()).await),
                        }
                    }
                    .await;
                    let code = answer.as_ref().map_or_else(|s| s.code(), |_| $crate::grpc::__private::tonic::Code::Ok);
                    $crate::metrics::observe_request(action, code, started.elapsed());
                    $crate::telemetry::record_grpc_status(code);
                    answer
                }
            )*
        }

        /// Per RPC, the roles that may call it.
        pub const ROLES: &[(&str, &[$crate::auth::Role])] = &[$((stringify!($rpc), $roles),)*];
    };
}

/// Mounts a generated gRPC server on a [`crate::server::Host`]: behind the
/// host's authenticator, with the settings' message-size limits.
#[macro_export]
macro_rules! mount {
    ($host:expr, $server:expr) => {{
        let host: &mut $crate::server::Host = $host;
        let limit = host.settings.grpc.max_message_bytes;
        let server = $server
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
        let auth = host.auth.clone();
        host.routes().add_service(
            $crate::grpc::__private::tonic::service::interceptor::InterceptedService::new(
                server, auth,
            ),
        );
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_actions_as_the_trail_does() {
        assert_eq!(action("admissions", "get_patient"), "admissions.GetPatient");
        assert_eq!(
            action("patientview", "get_patient_view"),
            "patientview.GetPatientView"
        );
        // Built once: the same name is the same allocation.
        assert!(std::ptr::eq(
            action("audit", "verify_audit_chain"),
            action("audit", "verify_audit_chain")
        ));
    }

    #[test]
    fn parses_grpc_timeout_units() {
        let mut m = MetadataMap::new();
        for (v, d) in [
            ("500m", Duration::from_millis(500)),
            ("10S", Duration::from_secs(10)),
            ("2M", Duration::from_secs(120)),
        ] {
            m.insert("grpc-timeout", v.parse().unwrap_or_else(|_| unreachable!()));
            assert_eq!(grpc_timeout(&m), Some(d));
        }
        m.insert(
            "grpc-timeout",
            "abc".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(grpc_timeout(&m), None);
    }
}
