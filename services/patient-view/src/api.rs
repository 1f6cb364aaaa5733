//! The gRPC face of the patient view: authorises the caller by facility (the
//! shared rule of `iop_consent::access`, over the view's copy of consents), honours
//! consistency tokens (waiting until the view has applied the write, within the
//! call's deadline), audits every read, and answers from the view tables.

use std::{sync::Arc, time::Duration};

use iop_proto::{
    common::v1::PersonName,
    patientview::v1::{
        CurrentEpisode, GetPatientViewRequest, GetPatientViewResponse, PatientView, TimelineEntry,
        patient_view_service_server::PatientViewService,
    },
};
use iop_runtime::{
    audit::{self, AuditEntry, Outcome, Purpose},
    auth::{Caller, Role},
    consistency::ConsistencyToken,
    db::Database,
    wire,
};
use prost::Message;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use tokio::sync::Notify;
use tonic::{Request, Response, Status, metadata::MetadataMap};

use crate::entity::{attendance, consent, position, timeline, view};

const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];
const ACTION: &str = "patientview.GetPatientView";
const RECHECK: Duration = Duration::from_millis(250);

/// `iop.patientview.v1.PatientViewService`.
#[derive(Clone)]
pub struct PatientViewApi {
    db: Database,
    applied: Arc<Notify>,
    max_wait: Duration,
}

impl PatientViewApi {
    /// The service over its database; `applied` is woken after each applied event.
    pub fn new(db: Database, applied: Arc<Notify>, max_wait: Duration) -> Self {
        Self {
            db,
            applied,
            max_wait,
        }
    }
}

fn internal(e: DbErr) -> Status {
    tracing::error!(error = %e, "patient view storage failure");
    Status::internal("storage failure")
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

impl PatientViewApi {
    async fn applied_sequence(&self, token: &ConsistencyToken) -> Result<i64, Status> {
        let key = (token.aggregate_id.clone(), token.source.clone());
        Ok(position::Entity::find_by_id(key)
            .one(self.db.conn())
            .await
            .map_err(internal)?
            .map_or(0, |p| p.sequence))
    }

    /// Waits until the view has applied `token`, or fails with DEADLINE_EXCEEDED.
    async fn wait_for(&self, token: &ConsistencyToken, budget: Duration) -> Result<(), Status> {
        let deadline = tokio::time::Instant::now() + budget;
        loop {
            // Register for the wake-up before checking, so a commit in between is not missed.
            let notified = self.applied.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.applied_sequence(token).await? >= token.sequence {
                return Ok(());
            }
            // Also re-check on a short interval: with several replicas, the event
            // may be applied by another process sharing this database.
            let wake = (tokio::time::Instant::now() + RECHECK).min(deadline);
            if tokio::time::timeout_at(wake, notified).await.is_err() && wake >= deadline {
                return Err(Status::deadline_exceeded(format!(
                    "the view has not yet applied {} event {} of patient {}",
                    token.source, token.sequence, token.aggregate_id
                )));
            }
        }
    }

    /// Clinical minutes attended in the current week of the patient's facility
    /// (zero when the latest attended week is an earlier one), and its Monday.
    async fn this_week(
        &self,
        patient_id: &str,
    ) -> Result<(u32, Option<iop_proto::common::v1::Date>), Status> {
        use chrono::Datelike;
        let Some(row) = attendance::Entity::find_by_id(patient_id)
            .one(self.db.conn())
            .await
            .map_err(internal)?
        else {
            return Ok((0, None));
        };
        let tz: chrono_tz::Tz = row.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let today = chrono::Utc::now().with_timezone(&tz).date_naive();
        let monday = today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()));
        let minutes = if row.week_start == monday {
            u32::try_from(row.minutes).unwrap_or(0)
        } else {
            0
        };
        Ok((minutes, Some(wire::date(monday))))
    }

    async fn audit(
        &self,
        caller: &Caller,
        patient_id: &str,
        facility: Option<&str>,
        purpose: Purpose,
        outcome: Outcome,
    ) -> Result<(), Status> {
        let txn = self.db.begin_write().await.map_err(internal)?;
        audit::record(
            &*txn,
            AuditEntry {
                caller,
                action: ACTION,
                patient_id: Some(patient_id),
                facility_id: facility,
                purpose,
                outcome,
            },
        )
        .await
        .map_err(internal)?;
        txn.commit().await.map_err(internal)
    }
}

#[tonic::async_trait]
impl PatientViewService for PatientViewApi {
    async fn get_patient_view(
        &self,
        request: Request<GetPatientViewRequest>,
    ) -> Result<Response<GetPatientViewResponse>, Status> {
        let caller = Caller::of(&request)?;
        caller.require_role(READERS)?;
        let purpose = Purpose::from_metadata(request.metadata())?;
        // Answer a little before the client gives up, so it sees our status.
        let budget = grpc_timeout(request.metadata())
            .map_or(self.max_wait, |d| d.mul_f64(0.9).min(self.max_wait));
        let req = request.into_inner();
        let patient_id = uuid::Uuid::parse_str(&req.patient_id)
            .map_err(|_| Status::invalid_argument("patient_id: must be a UUID"))?
            .to_string();
        if !req.consistency_token.is_empty() {
            let token = ConsistencyToken::decode(&req.consistency_token)
                .map_err(|_| Status::invalid_argument("consistency_token: malformed"))?;
            if token.aggregate_id != patient_id {
                return Err(Status::invalid_argument(
                    "consistency_token: issued for another patient",
                ));
            }
            self.wait_for(&token, budget).await?;
        }

        let not_found = || Status::not_found(format!("patient {patient_id} not found in the view"));
        let mut v = view::Entity::find_by_id(&patient_id)
            .one(self.db.conn())
            .await
            .map_err(internal)?
            .ok_or_else(not_found)?;
        // A merged-away record reads as its survivor.
        if let Some(survivor) = v.merged_into.clone() {
            v = view::Entity::find_by_id(&survivor)
                .one(self.db.conn())
                .await
                .map_err(internal)?
                .ok_or_else(not_found)?;
        }
        let patient_id = v.patient_id.clone();
        let entries = timeline::Entity::find()
            .filter(timeline::Column::PatientId.eq(&patient_id))
            .order_by_asc(timeline::Column::Position)
            .all(self.db.conn())
            .await
            .map_err(internal)?;
        let merged = view::Entity::find()
            .filter(view::Column::MergedInto.eq(&patient_id))
            .order_by_asc(view::Column::PatientId)
            .all(self.db.conn())
            .await
            .map_err(internal)?;
        let consents: Vec<iop_consent::Consent> = consent::Entity::find()
            .filter(consent::Column::PatientId.eq(&patient_id))
            .all(self.db.conn())
            .await
            .map_err(internal)?
            .iter()
            .filter_map(|row| {
                let c = iop_proto::common::v1::Consent::decode(row.consent.as_slice()).ok()?;
                iop_consent::wire::consent(&c).ok()
            })
            .collect();
        let known_at: Vec<String> = [
            v.facility_id.clone(),
            Some(v.registered_facility_id.clone()),
        ]
        .into_iter()
        .flatten()
        .chain(merged.iter().map(|m| m.registered_facility_id.clone()))
        .chain(entries.iter().map(|t| t.facility_id.clone()))
        .collect();
        let basis = iop_consent::access::facility_access(
            |f| caller.acts_for(f),
            &known_at,
            &consents,
            purpose,
            chrono::Utc::now(),
        );
        let Some(basis) = basis else {
            self.audit(&caller, &patient_id, None, purpose, Outcome::Denied)
                .await?;
            return Err(Status::permission_denied(format!(
                "caller acts for no facility where patient {patient_id} is known or that a consent covers"
            )));
        };
        self.audit(
            &caller,
            &patient_id,
            Some(basis.facility_id()),
            purpose,
            Outcome::Allowed,
        )
        .await?;
        let (attended_minutes_this_week, week_start) = self.this_week(&patient_id).await?;
        let view = PatientView {
            patient_id: v.patient_id,
            mrn: v.mrn,
            legal_name: Some(PersonName {
                given: v.given_name,
                middle: v.middle_name,
                family: v.family_name,
            }),
            preferred_name: v.preferred_name,
            date_of_birth: v.date_of_birth.map(wire::date),
            status: v.status,
            current_episode: v.episode_id.map(|episode_id| CurrentEpisode {
                episode_id,
                facility_id: v.facility_id.unwrap_or_default(),
                program: v.program,
                level_of_care: v.level_of_care,
                admitted_on: v.admitted_on.map(wire::date),
            }),
            timeline: entries
                .into_iter()
                .map(|t| TimelineEntry {
                    event_id: t.event_id,
                    event_type: t.event_type,
                    occurred_at: Some(wire::timestamp(t.occurred_at)),
                    facility_id: t.facility_id,
                })
                .collect(),
            updated_at: Some(wire::timestamp(v.updated_at)),
            merged_patient_ids: merged.into_iter().map(|m| m.patient_id).collect(),
            attended_minutes_this_week,
            week_start,
        };
        Ok(Response::new(GetPatientViewResponse { view: Some(view) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
