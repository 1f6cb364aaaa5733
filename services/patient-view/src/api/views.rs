//! `GetPatientView`: honours the consistency token (waits until the view has
//! applied the write, within the call's deadline), applies the shared access
//! rule over the view's rows and the consent replica, audits, and answers.

use std::time::Duration;

use chrono::Datelike;
use iop_messaging::work::{Access, Actor};
use iop_proto::patientview::v1::{GetPatientViewRequest, GetPatientViewResponse};
use iop_runtime::{
    consistency::ConsistencyToken,
    grpc::Call,
    ids::{FieldError, PatientId},
    wire,
};

use super::{PatientViewApi, convert};
use crate::{access, error::ViewError, store};

const ACTION: &str = "patientview.GetPatientView";
/// How often a waiting read re-checks, for writes applied by another replica
/// sharing the database (this process's own commits wake it at once).
const RECHECK: Duration = Duration::from_millis(250);

/// What the view says of a read before answering it.
enum Decision {
    /// The view does not hold the patient (yet).
    Absent,
    /// It does, and the caller's facility may not read it.
    Denied,
    /// It does, and the caller may read it on `basis`.
    Allowed {
        view: Box<crate::entity::view::Model>,
        timeline: Vec<crate::entity::timeline::Model>,
        merged: Vec<crate::entity::view::Model>,
        clinical: Vec<crate::entity::clinical_item::Model>,
        basis: iop_consent::access::Basis,
    },
}

impl PatientViewApi {
    pub(super) async fn get_patient_view(
        &self,
        call: &Call,
        req: GetPatientViewRequest,
    ) -> Result<GetPatientViewResponse, ViewError> {
        // Answer a little before the client gives up, so it sees our status.
        let budget = call
            .deadline
            .map_or(self.max_wait, |d| d.mul_f64(0.9).min(self.max_wait));
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let token = match req.consistency_token.as_str() {
            "" => None,
            t => {
                let token = ConsistencyToken::decode(t, &self.tokens).map_err(|_| {
                    FieldError::new(
                        "consistency_token",
                        "malformed or not issued by this network",
                    )
                })?;
                if token.aggregate_id != patient_id.as_str() {
                    return Err(
                        FieldError::new("consistency_token", "issued for another patient").into(),
                    );
                }
                Some(token)
            }
        };
        let actor = Actor::of(call, ACTION);
        // Without a token, access is decided at once. With one (signed by a
        // service of this network, so not forged), the view first waits for
        // the write it names, which may be the very consent that grants
        // access, then decides.
        if let Some(token) = &token {
            let _slot = self
                .waiters
                .clone()
                .try_acquire_owned()
                .map_err(|_| ViewError::TooManyWaiting)?;
            let _counted = iop_runtime::metrics::Waiting::enter(crate::SERVICE.name);
            self.wait_for(token, budget).await?;
        }
        let decided = self.decide(call, patient_id.as_str()).await?;
        let (v, entries, merged, clinical, basis) = match decided {
            Decision::Allowed {
                view,
                timeline,
                merged,
                clinical,
                basis,
            } => (view, timeline, merged, clinical, basis),
            Decision::Absent if call.caller.acts_for(iop_runtime::auth::ALL_FACILITIES) => {
                return Err(ViewError::PatientNotFound {
                    patient_id: patient_id.to_string(),
                });
            }
            Decision::Absent | Decision::Denied => {
                return Err(self.deny(&actor, patient_id.as_str()).await?);
            }
        };
        let v = *v;
        let id = v.patient_id.clone();
        self.ledger
            .record_access(&actor, &[basis.access(&id)])
            .await?;
        let (minutes, week_start) = self.this_week(&id).await?;
        Ok(GetPatientViewResponse {
            view: Some(convert::patient_view(
                v, entries, merged, minutes, week_start, clinical,
            )),
        })
    }

    /// Records a denial and answers it: the same PERMISSION_DENIED whatever
    /// the reason, and whether the patient exists.
    async fn deny(&self, actor: &Actor, patient_id: &str) -> Result<ViewError, ViewError> {
        self.ledger
            .record_access(actor, &[Access::denied(Some(patient_id), None)])
            .await?;
        Ok(iop_runtime::auth::Denied::PATIENT_NOT_VISIBLE.into())
    }

    /// The patient's view as it stands and whether the caller may read it (the
    /// shared access rule over the view's rows and the consent replica). A
    /// merged-away record reads as its survivor.
    async fn decide(&self, call: &Call, patient_id: &str) -> Result<Decision, ViewError> {
        // One snapshot for the row, its timeline and the access rule's
        // inputs: an event applied between two of these reads would show a
        // timeline older than the grant or consent that allowed the read.
        let snapshot = self.ledger.db().snapshot().await?;
        let db = &snapshot;
        let Some(mut v) = store::view(db, patient_id).await? else {
            return Ok(Decision::Absent);
        };
        if let Some(survivor) = v.merged_into.clone() {
            let Some(s) = store::view(db, &survivor).await? else {
                return Ok(Decision::Absent);
            };
            v = s;
        }
        let id = v.patient_id.clone();
        let entries = store::timeline(db, &id).await?;
        let merged = store::merged_into(db, &id).await?;
        let consents = iop_consent::replica::consents_of(db, &id).await?;
        let known = access::known_at(
            v.facility_id.as_deref(),
            &v.registered_facility_id,
            merged.iter().map(|m| m.registered_facility_id.as_str()),
            entries.iter().map(|t| t.facility_id.as_str()),
        );
        let mut basis = iop_consent::access::facility_access(
            |f| call.caller.acts_for(f),
            &known,
            &consents,
            call.purpose,
            chrono::Utc::now(),
        );
        if basis.is_none() {
            // Last, a medical emergency: this clinician's own unexpired grant.
            let grants = iop_consent::known::grants_of(db, &id).await?;
            basis = iop_consent::known::emergency(&grants, call, chrono::Utc::now());
        }
        Ok(match basis {
            Some(basis) => Decision::Allowed {
                view: Box::new(v),
                timeline: entries,
                merged,
                clinical: store::clinical_items(db, &id).await?,
                basis,
            },
            None => Decision::Denied,
        })
    }

    /// Waits until the view has applied `token`, or fails with DEADLINE_EXCEEDED.
    async fn wait_for(&self, token: &ConsistencyToken, budget: Duration) -> Result<(), ViewError> {
        let deadline = tokio::time::Instant::now() + budget;
        let applied = self.ledger.applied();
        loop {
            // Register for the wake-up before checking, so a commit in between is not missed.
            let notified = applied.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let reached =
                store::applied_sequence(self.ledger.conn(), &token.aggregate_id, &token.source)
                    .await?;
            if reached >= token.sequence {
                return Ok(());
            }
            let wake = (tokio::time::Instant::now() + RECHECK).min(deadline);
            if tokio::time::timeout_at(wake, notified).await.is_err() && wake >= deadline {
                return Err(ViewError::NotYetApplied {
                    source_context: token.source.clone(),
                    sequence: token.sequence,
                    patient_id: token.aggregate_id.clone(),
                });
            }
        }
    }

    /// Clinical minutes attended in the current week of the patient's facility
    /// (zero when the latest attended week is an earlier one), and its Monday.
    async fn this_week(
        &self,
        patient_id: &str,
    ) -> Result<(u32, Option<iop_proto::common::v1::Date>), ViewError> {
        let Some(row) = store::latest_week(self.ledger.conn(), patient_id).await? else {
            return Ok((0, None));
        };
        let tz: chrono_tz::Tz = row.time_zone.parse().map_err(|_| {
            ViewError::Storage(sea_orm::DbErr::Custom(format!(
                "stored time zone of {patient_id}'s week is not a zone"
            )))
        })?;
        let today = chrono::Utc::now().with_timezone(&tz).date_naive();
        let monday = today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()));
        let minutes = if row.week_start == monday {
            u32::try_from(row.minutes).unwrap_or(0)
        } else {
            0
        };
        Ok((minutes, Some(wire::date(monday))))
    }
}
