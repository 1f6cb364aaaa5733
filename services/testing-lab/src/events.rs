//! Testing-lab's events: the handlers of admissions' events (the replicas
//! the access rule reads, facilities' time zones, merges) and of clinical's
//! medication events (what a result is read against) and of scheduling's
//! bookings (who may be drawn on a day), applied in the consumer's unit of
//! work.

use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::{ApplyError, EventHandler},
    router::Router,
    work::UnitOfWork,
};
use iop_proto::{
    admissions::events::v1::{PatientAdmitted, PatientTransferred, PatientsMerged},
    clinical::events::v1::{MedicationStarted, MedicationStopped},
    scheduling::events::v1::{BookingCancelled, SessionBooked},
};
use iop_runtime::wire;

use crate::{
    entity::{medication, scheduled},
    store,
};

/// Applies admissions' and clinical's events to testing-lab.
pub struct Handler {
    router: Router<Handler>,
}

impl Handler {
    /// The handler with its routes.
    pub fn new() -> Self {
        let router = iop_consent::facilities::route(iop_consent::known::route(
            iop_consent::replica::route(Router::<Self>::new()),
        ))
        .on::<PatientAdmitted>(|_, w, e, _| {
            Box::pin(async move {
                Ok(iop_consent::known::know(w.txn(), &e.patient_id, &e.facility_id).await?)
            })
        })
        .on::<PatientTransferred>(|_, w, e, _| {
            Box::pin(async move {
                Ok(iop_consent::known::know(w.txn(), &e.patient_id, &e.to_facility_id).await?)
            })
        })
        .on::<PatientsMerged>(|_, w, e, _| Box::pin(merged(w, e)))
        .on::<MedicationStarted>(|_, w, e, _| Box::pin(started(w, e)))
        .on::<MedicationStopped>(|_, w, e, _| Box::pin(stopped(w, e)))
        .on::<SessionBooked>(|_, w, e, _| Box::pin(booked(w, e)))
        .on::<BookingCancelled>(|_, w, e, _| {
            Box::pin(async move { Ok(store::unschedule(w.txn(), &e.booking_id).await?) })
        });
        Self { router }
    }
}

impl Default for Handler {
    fn default() -> Self {
        Self::new()
    }
}

async fn merged(work: &mut UnitOfWork, e: PatientsMerged) -> Result<(), ApplyError> {
    let (from, to) = (e.merged_away_id.as_str(), e.survivor_id.as_str());
    store::merge(work.txn(), to, from).await?;
    iop_consent::replica::merge(work.txn(), to, from).await?;
    iop_consent::known::merge(work.txn(), to, from).await?;
    Ok(())
}

async fn started(work: &mut UnitOfWork, e: MedicationStarted) -> Result<(), ApplyError> {
    let started_on = wire::naive_date(e.started_on.as_ref())
        .ok_or_else(|| ApplyError::Permanent("MedicationStarted without started_on".into()))?;
    // A stop seen first (another partition order) keeps its day.
    let stopped_on = store::medication(work.txn(), &e.medication_id)
        .await?
        .and_then(|m| m.stopped_on);
    store::put_medication(
        work.txn(),
        medication::Model {
            id: e.medication_id,
            patient_id: e.patient_id,
            class: e.class,
            started_on,
            stopped_on,
        },
    )
    .await?;
    Ok(())
}

async fn stopped(work: &mut UnitOfWork, e: MedicationStopped) -> Result<(), ApplyError> {
    let stopped_on = wire::naive_date(e.stopped_on.as_ref());
    let row = match store::medication(work.txn(), &e.medication_id).await? {
        Some(mut m) => {
            m.stopped_on = stopped_on;
            m
        }
        // Its start was dead-lettered: keep the stop, from the dawn of time.
        None => medication::Model {
            id: e.medication_id,
            patient_id: e.patient_id,
            class: e.class,
            started_on: chrono::NaiveDate::MIN,
            stopped_on,
        },
    };
    store::put_medication(work.txn(), row).await?;
    Ok(())
}

async fn booked(work: &mut UnitOfWork, e: SessionBooked) -> Result<(), ApplyError> {
    let starts_at = wire::instant(e.starts_at.as_ref())
        .ok_or_else(|| ApplyError::Permanent("SessionBooked without starts_at".into()))?;
    store::put_scheduled(
        work.txn(),
        scheduled::Model {
            booking_id: e.booking_id,
            patient_id: e.patient_id,
            facility_id: e.facility_id,
            starts_at,
        },
    )
    .await?;
    Ok(())
}

impl EventHandler for Handler {
    async fn apply(&self, work: &mut UnitOfWork, event: &InboundEvent) -> Result<(), ApplyError> {
        self.router.dispatch(self, work, event).await.map(|_| ())
    }
}
