//! Duplicate search over gRPC: the candidates a registration, a demographic
//! update or the review worklist (`FindDuplicates`) finds, under the minimum
//! necessary, with a per-caller limit; and `DeclareDistinct`, the network-wide
//! decision that two records are two people, which no later search overrides.

use chrono::Utc;
use iop_messaging::work::{Actor, Stream};
use iop_proto::admissions::{
    events::v1 as events,
    v1::{
        DeclareDistinctRequest, DeclareDistinctResponse, DuplicateCandidate, FindDuplicatesRequest,
        FindDuplicatesResponse, MatchBand,
    },
};
use iop_runtime::{
    grpc::Call,
    ids::{self, FacilityId, PatientId},
    wire,
};
use sea_orm::{ActiveModelTrait, Set};

use super::{AdmissionsApi, claim, convert};
use crate::{
    entity::{candidate_reference, patient},
    error::AdmissionsError,
    matching::{self, MatchRules, MatchScore},
    store::patients,
};

/// The audited action of a duplicate search that found candidates (one row
/// for the search, one per candidate shown), whatever asked for it.
const CANDIDATES: &str = "admissions.duplicate_check";
const FIND: &str = "admissions.FindDuplicates";
const DECLARE: &str = "admissions.DeclareDistinct";
/// Longest reason of a distinct decision, in characters.
const MAX_REASON: usize = 500;

/// The band of a score: what a candidate known only elsewhere shows of it.
fn band(score: u32) -> MatchBand {
    match score {
        0..70 => MatchBand::Possible,
        70..85 => MatchBand::Probable,
        _ => MatchBand::Strong,
    }
}

/// RESOURCE_EXHAUSTED once the caller made `per_minute` candidate-producing
/// registrations in the last minute (counted from the audit trail, so every
/// replica sees the same count).
async fn limit_searches<C: sea_orm::ConnectionTrait>(
    db: &C,
    call: &Call,
    per_minute: u32,
) -> Result<(), AdmissionsError> {
    use iop_runtime::audit::entity as audit;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let now = Utc::now();
    let since = now - chrono::Duration::seconds(60);
    let recent = audit::Entity::find()
        .filter(audit::Column::Action.eq(CANDIDATES))
        .filter(audit::Column::Actor.eq(call.caller.subject()))
        .filter(audit::Column::PatientId.is_null())
        .filter(audit::Column::OccurredAt.gte(since))
        .order_by_desc(audit::Column::OccurredAt)
        .limit(u64::from(per_minute))
        .all(db)
        .await?;
    let times: Vec<_> = recent.iter().map(|r| r.occurred_at).collect();
    match retry_after(&times, per_minute, now) {
        None => Ok(()),
        Some(seconds) => Err(AdmissionsError::RateLimited {
            retry_after_s: seconds,
        }),
    }
}

/// The per-caller limit as a pure rule: given the caller's searches of the
/// last minute (newest first), the seconds to wait before another, if any.
fn retry_after(
    recent: &[chrono::DateTime<Utc>],
    per_minute: u32,
    now: chrono::DateTime<Utc>,
) -> Option<u32> {
    if recent.len() < per_minute as usize {
        return None;
    }
    let oldest = recent.iter().min().copied().unwrap_or(now);
    let wait = (oldest + chrono::Duration::seconds(60) - now).num_seconds();
    Some(u32::try_from(wait.clamp(1, 60)).unwrap_or(60))
}

impl AdmissionsApi {
    /// Existing patients, at any facility, who may be `person`, best first.
    /// The search looks up the match index (`matching::search_keys`), so
    /// nothing that can reach the threshold is missed and nothing is scanned.
    /// Records merged away are not candidates (their survivor is); nor is
    /// `existing` itself (the record being checked again), nor any record
    /// declared distinct from it.
    ///
    /// Minimum necessary: a candidate known at a facility the caller acts for
    /// is shown in full (id, MRN, score, what agreed and disagreed); one known
    /// only elsewhere as an opaque reference and a band, judged without SSN-4
    /// so no answer confirms one. Each candidate shown is an audited access;
    /// the search itself is audited too, and counted for the per-caller limit.
    pub(super) async fn duplicate_candidates(
        &self,
        call: &Call,
        person: &matching::Demographics<'_>,
        existing: Option<&str>,
        facility_id: &str,
    ) -> Result<Vec<DuplicateCandidate>, AdmissionsError> {
        let rules = MatchRules::default();
        let db = self.ledger.conn();
        let distinct = match existing {
            Some(id) => patients::declared_distinct(db, id).await?,
            None => Default::default(),
        };
        let mut found: Vec<(MatchScore, bool, patient::Model)> = Vec::new();
        for p in patients::sharing_a_key(db, matching::search_keys(person)).await? {
            if Some(p.id.as_str()) == existing || distinct.contains(&p.id) {
                continue;
            }
            let candidate = convert::matchable(&p);
            let full = matching::score(&rules, person, &candidate);
            let blind_person = matching::Demographics {
                ssn_last4: "",
                ..*person
            };
            let blind_candidate = matching::Demographics {
                ssn_last4: "",
                ..candidate
            };
            let blind = matching::score(&rules, &blind_person, &blind_candidate);
            if full.is_none() && blind.is_none() {
                // Most keys' holders: no need to ask where they are known.
                continue;
            }
            let known_here = patients::known_at(db, &p)
                .await?
                .iter()
                .any(|f| call.caller.acts_for(f));
            let scored = if known_here { full } else { blind };
            if let Some(m) = scored {
                found.push((m, known_here, p));
            }
        }
        found.sort_by(|a, b| b.0.score.cmp(&a.0.score).then_with(|| a.2.id.cmp(&b.2.id)));
        found.truncate(self.settings.max_duplicate_candidates);
        if found.is_empty() {
            return Ok(Vec::new());
        }
        // One unit of work: the caller's search count is read under a lock on
        // the caller (so two replicas cannot both let the 21st through), and
        // the references, the audit rows and the count commit together.
        let mut work = self.ledger.command(Actor::of(call, CANDIDATES)).await?;
        work.lock(Stream {
            aggregate: "searcher",
            id: call.caller.subject(),
        })
        .await?;
        limit_searches(
            work.txn(),
            call,
            self.settings.candidate_searches_per_minute,
        )
        .await?;
        let now = Utc::now();
        let mut candidates = Vec::with_capacity(found.len());
        for (m, known_here, p) in found {
            work.audit(Some(&p.id), Some(facility_id));
            let band = band(m.score) as i32;
            let rules_version = matching::MATCHING_RULES_VERSION.to_owned();
            if known_here {
                candidates.push(DuplicateCandidate {
                    patient_id: p.id,
                    mrn: p.mrn,
                    score: m.score,
                    matched_fields: m.matched.iter().map(|f| f.as_str().to_owned()).collect(),
                    disagreeing_fields: (m.disagreeing.iter())
                        .map(|f| f.as_str().to_owned())
                        .collect(),
                    registered_facility_id: p.registered_facility_id,
                    band,
                    rules_version,
                    ..Default::default()
                });
            } else {
                let reference = uuid::Uuid::new_v4().simple().to_string();
                candidate_reference::ActiveModel {
                    reference: Set(reference.clone()),
                    patient_id: Set(p.id),
                    facility_id: Set(facility_id.to_owned()),
                    issued_by: Set(call.caller.subject().to_owned()),
                    issued_at: Set(now),
                }
                .insert(work.txn())
                .await?;
                candidates.push(DuplicateCandidate {
                    reference,
                    band,
                    rules_version,
                    ..Default::default()
                });
            }
        }
        // The search itself: the row the per-caller limit counts.
        work.audit(None, Some(facility_id));
        work.commit().await?;
        Ok(candidates)
    }

    /// The candidates of an existing patient, for staff of a facility where
    /// the patient is known (the same rule as a change: a consent to read is
    /// not enough to review identity).
    pub(super) async fn find_duplicates(
        &self,
        call: &Call,
        req: FindDuplicatesRequest,
    ) -> Result<FindDuplicatesResponse, AdmissionsError> {
        let id = PatientId::parse("patient_id", &req.patient_id)?;
        let (p, facility) = self.authorize_write(call, FIND, &id, None).await?;
        if p.merged_into.is_some() {
            return Err(AdmissionsError::Merged { patient_id: p.id });
        }
        self.ledger
            .record_access(
                &Actor::of(call, FIND),
                &[iop_messaging::work::Access::allowed(
                    Some(&p.id),
                    Some(&facility),
                )],
            )
            .await?;
        let candidates = self
            .duplicate_candidates(call, &convert::matchable(&p), Some(&p.id), &facility)
            .await?;
        Ok(FindDuplicatesResponse { candidates })
    }

    pub(super) async fn declare_distinct(
        &self,
        call: &Call,
        req: DeclareDistinctRequest,
    ) -> Result<DeclareDistinctResponse, AdmissionsError> {
        let why = ids::reason("reason", &req.reason, MAX_REASON)?;
        let id = PatientId::parse("patient_id", &req.patient_id)?;
        let (_, facility) = self.authorize_write(call, DECLARE, &id, None).await?;
        // The other record: one the caller may change too, or a candidate
        // reference issued to the caller's facility.
        let other_id = match (
            req.other_patient_id.as_str(),
            req.candidate_reference.as_str(),
        ) {
            (other, "") => {
                let other = PatientId::parse("other_patient_id", other)?;
                self.authorize_write(call, DECLARE, &other, None)
                    .await?
                    .0
                    .id
            }
            ("", reference) => {
                let at = FacilityId::parse("facility_id", &facility)?;
                self.referenced(call, DECLARE, reference, &at)
                    .await?
                    .into_string()
            }
            _ => {
                return Err(AdmissionsError::invalid(
                    "candidate_reference",
                    "give either other_patient_id or candidate_reference, not both",
                ));
            }
        };
        let mut work = self.ledger.command(Actor::of(call, DECLARE)).await?;
        let claimed = claim(&mut work, id.as_str()).await?;
        let other = patients::find(work.txn(), &other_id)
            .await?
            .ok_or_else(|| AdmissionsError::PatientNotFound {
                patient_id: other_id.clone(),
            })?;
        if other.merged_into.is_some() {
            return Err(AdmissionsError::Merged {
                patient_id: other.id,
            });
        }
        if other.id == claimed.patient.id {
            return Err(AdmissionsError::invalid(
                "other_patient_id",
                "names the same record as patient_id",
            ));
        }
        let stream = Stream::patient(&claimed.patient.id);
        let recorded = patients::declare_distinct(
            work.txn(),
            &claimed.patient.id,
            &other.id,
            &facility,
            &why,
            &call.caller,
        )
        .await?;
        let sequence = if recorded {
            let event = events::PatientsDeclaredDistinct {
                patient_id: claimed.patient.id.clone(),
                other_patient_id: other.id.clone(),
                facility_id: facility.clone(),
                reason: why,
                decided_by: call.caller.subject().to_owned(),
                occurred_at: Some(wire::timestamp(Utc::now())),
            };
            work.emit(stream, &event).await?
        } else {
            // Already decided: nothing new to publish.
            work.lock(stream).await?
        };
        work.audit(Some(&claimed.patient.id), Some(&facility));
        work.audit(Some(&other.id), Some(&facility));
        work.commit().await?;
        Ok(DeclareDistinctResponse {
            consistency_token: self.token(&claimed.patient.id, sequence),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::TimeZone;

    use super::*;

    #[test]
    fn bands_cut_at_70_and_85() {
        assert_eq!(band(55), MatchBand::Possible);
        assert_eq!(band(69), MatchBand::Possible);
        assert_eq!(band(70), MatchBand::Probable);
        assert_eq!(band(84), MatchBand::Probable);
        assert_eq!(band(85), MatchBand::Strong);
        assert_eq!(band(100), MatchBand::Strong);
    }

    #[test]
    fn the_limit_waits_for_the_oldest_search_to_leave_the_minute() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        let ago = |s: i64| now - chrono::Duration::seconds(s);
        let nineteen: Vec<_> = (0..19).map(ago).collect();
        assert_eq!(retry_after(&nineteen, 20, now), None);
        let mut twenty = nineteen.clone();
        twenty.push(ago(45));
        assert_eq!(retry_after(&twenty, 20, now), Some(15));
        // Never "retry in 0 s", never more than the window.
        let at_edge: Vec<_> = (0..20).map(|_| ago(60)).collect();
        assert_eq!(retry_after(&at_edge, 20, now), Some(1));
    }
}
