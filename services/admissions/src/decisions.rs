//! What admissions does on clinical's level-of-care decisions (the only
//! events it consumes): a decision to step down to outpatient care (level 1)
//! or up to a residential or inpatient level (3.1 to 4) leaves this
//! network's programs, so the episode is discharged with that reason on the
//! decision's effective day, published like any discharge. A change between
//! the network's own levels (IOP 2.1 and PHP 2.5) is not made here: it needs
//! a placement at the new level and a program (track) chosen, which intake
//! does with `TransferPatient`. "Continue" and "refer" change nothing.

use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::{ApplyError, EventHandler},
    router::Router,
    work::UnitOfWork,
};
use iop_proto::{
    clinical::{events::v1::LevelOfCareDecided, v1::Decision},
    common::v1::{DischargeReason, LevelOfCare},
};
use iop_runtime::wire;

use crate::{
    api::episodes::{active_episode, close},
    episode as rules,
    error::AdmissionsError,
    store::episodes,
};

/// The discharge reason a decision to `to` means, if it ends the episode.
pub fn discharge_reason(decision: Decision, to: LevelOfCare) -> Option<DischargeReason> {
    use LevelOfCare as L;
    match (decision, to) {
        (Decision::StepDown, L::LevelOfCare1Outpatient) => {
            Some(DischargeReason::StepDownOutpatient)
        }
        (
            Decision::StepUp,
            L::LevelOfCare31Residential
            | L::LevelOfCare33Residential
            | L::LevelOfCare35Residential
            | L::LevelOfCare37Residential,
        ) => Some(DischargeReason::StepUpResidential),
        (Decision::StepUp, L::LevelOfCare4Inpatient) => Some(DischargeReason::StepUpInpatient),
        _ => None,
    }
}

/// Applies clinical's events to admissions.
pub struct DecisionHandler {
    router: Router<DecisionHandler>,
}

impl Default for DecisionHandler {
    fn default() -> Self {
        Self {
            router: Router::new().on::<LevelOfCareDecided>(|_, w, e, _| Box::pin(decided(w, e))),
        }
    }
}

fn failed(e: AdmissionsError) -> ApplyError {
    match e {
        AdmissionsError::Storage(db) => db.into(),
        other => ApplyError::Permanent(other.to_string()),
    }
}

async fn decided(work: &mut UnitOfWork, e: LevelOfCareDecided) -> Result<(), ApplyError> {
    let decision = Decision::try_from(e.decision).unwrap_or_default();
    let to = LevelOfCare::try_from(e.to_level).unwrap_or_default();
    let Some(reason) = discharge_reason(decision, to) else {
        return Ok(());
    };
    work.lock(iop_messaging::work::Stream::patient(&e.patient_id))
        .await?;
    // Only the episode decided on, and only while it is open: a redelivered
    // decision, or one overtaken by a discharge, changes nothing.
    let Some(active) = episodes::active(work.txn(), &e.patient_id).await? else {
        return Ok(());
    };
    if active.id != e.episode_id {
        return Ok(());
    }
    let today = crate::api::today_at(work.txn(), &active.facility_id)
        .await
        .map_err(failed)?;
    let on = wire::naive_date(e.effective_on.as_ref()).map(|d| d.min(today));
    let current = active_episode(&active).map_err(failed)?;
    let d = rules::discharge(current, reason as i32, on, today)
        .map_err(|f| ApplyError::Permanent(f.to_string()))?;
    close(work, &active, d).await.map_err(failed)?;
    Ok(())
}

impl EventHandler for DecisionHandler {
    async fn apply(&self, work: &mut UnitOfWork, event: &InboundEvent) -> Result<(), ApplyError> {
        self.router.dispatch(self, work, event).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_decisions_that_leave_the_network_s_levels_discharge() {
        use LevelOfCare as L;
        let cases = [
            (
                Decision::StepDown,
                L::LevelOfCare1Outpatient,
                Some(DischargeReason::StepDownOutpatient),
            ),
            (
                Decision::StepUp,
                L::LevelOfCare35Residential,
                Some(DischargeReason::StepUpResidential),
            ),
            (
                Decision::StepUp,
                L::LevelOfCare4Inpatient,
                Some(DischargeReason::StepUpInpatient),
            ),
            (
                Decision::StepUp,
                L::LevelOfCare25PartialHospitalization,
                None,
            ),
            (
                Decision::StepDown,
                L::LevelOfCare21IntensiveOutpatient,
                None,
            ),
            (Decision::Continue, L::Unspecified, None),
            (Decision::Refer, L::Unspecified, None),
        ];
        for (d, to, reason) in cases {
            assert_eq!(discharge_reason(d, to), reason, "{d:?} {to:?}");
        }
    }
}
