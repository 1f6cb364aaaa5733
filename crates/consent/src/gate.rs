//! The access rule at a service's door, written once for every context that
//! holds patient records: decided on one snapshot of the replicas (where the
//! patient is known, consents, emergency grants), before anything about the
//! patient is read or said — not even whether a record exists. A read needs
//! the caller's facility to see the patient (known there, a consent naming it
//! for the call's purpose, or the caller's own unexpired emergency grant); a
//! write needs the patient known at the facility the request names, which
//! the caller acts for. Allowed reads and every refusal are audited here
//! (one text for every refusal); an allowed write audits in its own unit of
//! work. A merged-away id reads as its survivor and refuses writes.

use chrono::Utc;
use iop_messaging::work::{Access, Actor, Ledger};
use iop_runtime::{auth::Denied, grpc::Call, ids::PatientId};
use sea_orm::DbErr;

use crate::known::PatientAccess;

/// What a caller wants of a patient's records.
#[derive(Debug, Clone, Copy)]
pub enum Intent<'a> {
    /// To read them.
    Read,
    /// To change them on behalf of a facility.
    Write {
        /// Where the change is made.
        facility: &'a str,
    },
    /// To change them on behalf of whichever facility of the caller's knows
    /// the patient (the request names none).
    WriteAnywhere,
}

/// Why the door stays shut.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The rule refused (audited).
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A write to a merged-away record.
    #[error("patient {patient_id} was merged into another record")]
    Merged {
        /// The id asked for.
        patient_id: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] DbErr),
}

impl Refused {
    /// The refusal as a service's own error: a denial and a storage failure
    /// through the error's conversions, a merge through `merged`.
    pub fn into_error<E: From<Denied> + From<DbErr>>(self, merged: impl FnOnce(String) -> E) -> E {
        match self {
            Refused::Denied(d) => d.into(),
            Refused::Merged { patient_id } => merged(patient_id),
            Refused::Storage(e) => e.into(),
        }
    }
}

/// What the rule allowed.
#[derive(Debug, Clone)]
pub struct Allowed {
    /// What it decided on (`patient_id` is the survivor's after a merge).
    pub access: PatientAccess,
    /// For a write, the facility it is made on behalf of.
    pub facility: Option<String>,
}

/// Applies the rule for `call` doing `action` on `patient_id`.
pub async fn authorize(
    ledger: &Ledger,
    call: &Call,
    action: &'static str,
    patient_id: &PatientId,
    intent: Intent<'_>,
) -> Result<Allowed, Refused> {
    let snapshot = ledger.db().snapshot().await?;
    let access = PatientAccess::load(&snapshot, patient_id.as_str()).await?;
    snapshot.commit().await?;
    let actor = Actor::of(call, action);
    let pid = patient_id.as_str();
    let decided = match intent {
        Intent::Read => access
            .read_basis(call, Utc::now())
            .map(|b| (b.access(pid), None)),
        Intent::Write { facility } => access
            .writer(call, Some(facility))
            .map(|f| (Access::allowed(Some(pid), Some(&f)), Some(f))),
        Intent::WriteAnywhere => access
            .writer(call, None)
            .map(|f| (Access::allowed(Some(pid), Some(&f)), Some(f))),
    };
    let Some((allowed, facility)) = decided else {
        ledger
            .record_access(&actor, &[Access::denied(Some(pid), None)])
            .await?;
        return Err(Denied::PATIENT_NOT_VISIBLE.into());
    };
    match intent {
        Intent::Read => ledger.record_access(&actor, &[allowed]).await?,
        _ if access.merged_away => {
            return Err(Refused::Merged {
                patient_id: pid.to_owned(),
            });
        }
        _ => {}
    }
    Ok(Allowed { access, facility })
}
