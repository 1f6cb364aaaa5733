//! What the view does with each event, registered per type on the shared
//! router: every event the view folds goes through [`ViewHandler::fold`] —
//! check that header and payload name the same patient, raise the patient's
//! applied position, keep consents (shared replica) and weekly attendance, fold
//! the view row, append to the timeline — inside the consumer's unit of work.
//! Types the view does not fold are skipped by the router, but their position
//! still counts, so their consistency tokens are answered too.

use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::{ApplyError, EventHandler},
    router::{Dispatch, Router},
    work::{Stream, UnitOfWork},
};
use iop_proto::{
    admissions::events::v1::{
        BreakGlassAccessGranted, ConsentExpired, ConsentRecorded, ConsentRevoked, PatientAdmitted,
        PatientDemographicsUpdated, PatientDischarged, PatientLinkedToFacility, PatientRegistered,
        PatientTransferred, PatientsMerged,
    },
    clinical::events::v1::{
        LevelOfCareDecided, LevelOfCareReviewOpened, ScreeningScored, TaskCompleted, TaskOpened,
        TreatmentPlanChanged,
    },
    scheduling::events::v1::AttendanceRecorded,
};

use crate::{
    clinical::Fact,
    fold::{self, ViewEvent},
    store,
};

/// Folds the events of the consumed contexts into the view.
pub struct ViewHandler {
    router: Router<ViewHandler>,
}

impl Default for ViewHandler {
    fn default() -> Self {
        Self::new()
    }
}

/// The context an event came from, as consistency tokens name it: the topic
/// is `iop.<context>.v1`.
fn source_of(event: &InboundEvent) -> &str {
    event.topic.split('.').nth(1).unwrap_or_default()
}

impl ViewHandler {
    /// The handler with its routes.
    pub fn new() -> Self {
        let router = Router::<Self>::new()
            .on::<PatientRegistered>(|h, w, e, m| Box::pin(h.fold(w, ViewEvent::Registered(e), m)))
            .on::<PatientAdmitted>(|h, w, e, m| Box::pin(h.fold(w, ViewEvent::Admitted(e), m)))
            .on::<PatientTransferred>(|h, w, e, m| {
                Box::pin(h.fold(w, ViewEvent::Transferred(e), m))
            })
            .on::<PatientDischarged>(|h, w, e, m| Box::pin(h.fold(w, ViewEvent::Discharged(e), m)))
            .on::<PatientDemographicsUpdated>(|h, w, e, m| {
                Box::pin(h.fold(w, ViewEvent::DemographicsUpdated(e), m))
            })
            .on::<PatientsMerged>(|h, w, e, m| Box::pin(h.fold(w, ViewEvent::Merged(e), m)))
            .on::<ConsentRecorded>(|h, w, e, m| {
                Box::pin(h.fold(w, ViewEvent::ConsentRecorded(e), m))
            })
            .on::<ConsentRevoked>(|h, w, e, m| Box::pin(h.fold(w, ViewEvent::ConsentRevoked(e), m)))
            .on::<ConsentExpired>(|h, w, e, m| Box::pin(h.fold(w, ViewEvent::ConsentExpired(e), m)))
            .on::<BreakGlassAccessGranted>(|h, w, e, m| {
                Box::pin(h.fold(w, ViewEvent::BreakGlass(e), m))
            })
            .on::<PatientLinkedToFacility>(|h, w, e, m| {
                Box::pin(h.fold(w, ViewEvent::Linked(e), m))
            })
            .on::<AttendanceRecorded>(|h, w, e, m| Box::pin(h.fold(w, ViewEvent::Attended(e), m)))
            .on::<ScreeningScored>(|h, w, e, m| Box::pin(h.clinical(w, Fact::Scored(e), m)))
            .on::<TaskOpened>(|h, w, e, m| Box::pin(h.clinical(w, Fact::TaskOpened(e), m)))
            .on::<TaskCompleted>(|h, w, e, m| Box::pin(h.clinical(w, Fact::TaskCompleted(e), m)))
            .on::<TreatmentPlanChanged>(|h, w, e, m| Box::pin(h.clinical(w, Fact::Plan(e), m)))
            .on::<LevelOfCareReviewOpened>(|h, w, e, m| {
                Box::pin(h.clinical(w, Fact::ReviewOpened(e), m))
            })
            .on::<LevelOfCareDecided>(|h, w, e, m| Box::pin(h.clinical(w, Fact::Decided(e), m)));
        Self { router }
    }

    /// Applies one of clinical's events (see [`crate::clinical`]).
    async fn clinical(
        &self,
        work: &mut UnitOfWork,
        fact: Fact,
        event: &InboundEvent,
    ) -> Result<(), ApplyError> {
        self.fold(work, ViewEvent::Clinical(fact), event).await
    }

    /// Applies one folded event (see the module documentation).
    async fn fold(
        &self,
        work: &mut UnitOfWork,
        decoded: ViewEvent,
        event: &InboundEvent,
    ) -> Result<(), ApplyError> {
        let patient_id = decoded.patient_id().to_owned();
        if event.subject.as_deref().is_some_and(|s| s != patient_id) {
            return Err(ApplyError::Permanent(
                "ce_subject and the payload name different patients".into(),
            ));
        }
        if uuid::Uuid::parse_str(&patient_id).is_err() {
            return Err(ApplyError::Permanent(
                "event has no valid patient id".into(),
            ));
        }
        // Replicas of the view apply one patient's admissions and scheduling
        // events side by side (two topics, so two partitions): the rows are
        // read and rewritten under the patient's lock (both records' for a
        // merge, in id order), so an attendance never undoes a transfer.
        match &decoded {
            ViewEvent::Merged(m) => {
                let mut ids = [m.survivor_id.as_str(), m.merged_away_id.as_str()];
                ids.sort_unstable();
                for id in ids {
                    work.lock(Stream::patient(id)).await?;
                }
            }
            _ => {
                work.lock(Stream::patient(&patient_id)).await?;
            }
        }
        let txn = work.txn();
        if let Some(sequence) = event.sequence {
            store::advance(txn, source_of(event), &patient_id, sequence).await?;
        }
        if let ViewEvent::Merged(m) = &decoded {
            store::merge(txn, &m.survivor_id, &m.merged_away_id).await?;
            iop_consent::replica::merge(txn, &m.survivor_id, &m.merged_away_id).await?;
            iop_consent::known::merge(txn, &m.survivor_id, &m.merged_away_id).await?;
        }
        let existing = store::view(txn, &patient_id).await?;
        let exists = existing.is_some();
        let merged_into = existing.as_ref().and_then(|v| v.merged_into.clone());
        // Events of a merged-away record written before the merge may arrive
        // after it: the record's row still folds them, the survivor gets the rest.
        let owner = merged_into.clone().unwrap_or_else(|| patient_id.clone());
        match &decoded {
            ViewEvent::ConsentRecorded(e) => iop_consent::replica::record(txn, e).await?,
            ViewEvent::ConsentRevoked(e) => iop_consent::replica::revoke(txn, e).await?,
            ViewEvent::ConsentExpired(e) => iop_consent::replica::expire(txn, e).await?,
            ViewEvent::BreakGlass(g) => iop_consent::known::grant(txn, g).await?,
            ViewEvent::Attended(a) => {
                let week =
                    iop_runtime::wire::naive_date(a.week_start.as_ref()).ok_or_else(|| {
                        ApplyError::Permanent("AttendanceRecorded without week_start".into())
                    })?;
                store::count_attendance(txn, &owner, week, a).await?;
            }
            ViewEvent::Clinical(f) => store::apply_clinical(txn, &owner, f.change()).await?,
            _ => {}
        }
        let previous = existing.map(store::state_of).transpose()?;
        let next = fold::apply(previous, &decoded);
        store::save(txn, &patient_id, &next, exists, merged_into).await?;
        store::append_timeline(txn, &owner, event, decoded.facility_id()).await?;
        Ok(())
    }

    /// An event of a type the view does not fold: only its position counts,
    /// when it is about a patient.
    async fn skipped(&self, work: &mut UnitOfWork, event: &InboundEvent) -> Result<(), ApplyError> {
        let (Some(subject), Some(sequence)) = (&event.subject, event.sequence) else {
            return Ok(());
        };
        // Not about a patient (e.g. the facility registry): nothing to record.
        if uuid::Uuid::parse_str(subject).is_err() {
            return Ok(());
        }
        store::advance(work.txn(), source_of(event), subject, sequence).await?;
        Ok(())
    }
}

impl EventHandler for ViewHandler {
    async fn apply(&self, work: &mut UnitOfWork, event: &InboundEvent) -> Result<(), ApplyError> {
        match self.router.dispatch(self, work, event).await? {
            Dispatch::Handled => Ok(()),
            Dispatch::Skipped => self.skipped(work, event).await,
        }
    }
}
