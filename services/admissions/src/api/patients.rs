//! The master patient index over gRPC: registration with duplicate candidates
//! (registers nobody until a person confirms) and look-up.

use chrono::Utc;
use iop_messaging::work::{Access, Actor, Stream};
use iop_proto::admissions::v1::{
    DuplicateCandidate, GetPatientRequest, GetPatientResponse, MatchBand, RegisterPatientRequest,
    RegisterPatientResponse, RegistrationOutcome,
};
use iop_runtime::{
    grpc::Call,
    ids::{self, FacilityId, PatientId},
};
use rand::Rng;
use sea_orm::{ActiveModelTrait, Set, SqlErr};

use super::{AdmissionsApi, convert};
use crate::{
    entity::{candidate_reference, patient},
    error::AdmissionsError,
    events,
    matching::{self, MatchRules, MatchScore},
    mrn,
    registration::Registration,
    store::patients,
};

const REGISTER: &str = "admissions.RegisterPatient";
/// The audited action of a duplicate check that found candidates (one row for
/// the search, one per candidate shown).
const CANDIDATES: &str = "admissions.RegisterPatient.duplicate_check";

/// The band of a score: what a candidate known only elsewhere shows of it.
fn band(score: u32) -> MatchBand {
    match score {
        0..70 => MatchBand::Possible,
        70..85 => MatchBand::Probable,
        _ => MatchBand::Strong,
    }
}

/// Writes validated demographics onto a patient row.
pub(super) fn apply(m: &mut patient::ActiveModel, v: &convert::Validated) {
    let r = &v.registration;
    m.given_name = Set(r.legal_name.given.expose().clone());
    m.middle_name = Set(r.legal_name.middle.expose().clone());
    m.family_name = Set(r.legal_name.family.expose().clone());
    m.preferred_name = Set(r.preferred_name.expose().clone());
    m.date_of_birth = Set(*r.date_of_birth.expose());
    m.sex = Set(r.sex as i32);
    m.gender_identity = Set(r.gender_identity.expose().clone());
    m.phone = Set(r.phone.expose().clone());
    m.email = Set(r.email.expose().clone());
    m.ssn_last4 = Set(r.ssn_last4.expose().clone());
    m.address_line1 = Set(v.address.line1.clone());
    m.address_line2 = Set(v.address.line2.clone());
    m.address_city = Set(v.address.city.clone());
    m.address_state = Set(v.address.state.clone());
    m.address_postal_code = Set(v.address.postal_code.clone());
    m.emergency_name = Set(v.emergency_contact.name.clone());
    m.emergency_relationship = Set(v.emergency_contact.relationship.clone());
    m.emergency_phone = Set(v.emergency_contact.phone.clone());
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
    pub(super) async fn register(
        &self,
        call: &Call,
        req: RegisterPatientRequest,
    ) -> Result<RegisterPatientResponse, AdmissionsError> {
        let facility_id = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility_id.as_str())?;
        let today = super::today_at(self.ledger.conn(), facility_id.as_str()).await?;
        let v = convert::validate(&convert::requested_demographics(&req), today)?;
        let request_id = ids::request_id(&req.request_id)?;
        if let Some(rid) = &request_id
            && let Some(existing) = self.replay_registration(call, rid, &facility_id).await?
        {
            return Ok(existing);
        }
        if !req.confirm_new_patient {
            let candidates = self
                .duplicate_candidates(call, &v.registration, &facility_id)
                .await?;
            if !candidates.is_empty() {
                return Ok(RegisterPatientResponse {
                    outcome: RegistrationOutcome::DuplicatesFound as i32,
                    candidates,
                    ..Default::default()
                });
            }
        }

        let now = Utc::now();
        let patient_id = PatientId::generate();
        let pid = patient_id.as_str();
        let mut work = self.ledger.command(Actor::of(call, REGISTER)).await?;
        let mut mrn = None;
        for _ in 0..8 {
            let candidate = mrn::mrn(rand::rng().random_range(0..1_000_000_000));
            if !patients::mrn_taken(work.txn(), &candidate).await? {
                mrn = Some(candidate);
                break;
            }
        }
        let mrn = mrn.ok_or(AdmissionsError::MrnExhausted)?;
        let mut model = patient::ActiveModel {
            id: Set(pid.to_owned()),
            mrn: Set(mrn),
            registered_facility_id: Set(facility_id.to_string()),
            request_id: Set(request_id.clone()),
            registered_at: Set(now),
            merged_into: Set(None),
            merged_at: Set(None),
            ..Default::default()
        };
        apply(&mut model, &v);
        let inserted = match patients::insert(work.txn(), model).await {
            Ok(m) => m,
            Err(e)
                if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
                    && request_id.is_some() =>
            {
                // The same request committed concurrently: answer as it did.
                drop(work);
                let rid = request_id.as_deref().unwrap_or_default();
                return self
                    .replay_registration(call, rid, &facility_id)
                    .await?
                    .ok_or(AdmissionsError::Storage(e));
            }
            Err(e) => return Err(e.into()),
        };
        let sequence = work
            .emit(Stream::patient(pid), &events::registered(&inserted, now))
            .await?;
        patients::record_version(
            work.txn(),
            pid,
            sequence,
            &convert::demographics_of(&inserted),
            &call.caller,
            "registration",
        )
        .await?;
        work.audit(Some(pid), Some(facility_id.as_str()));
        work.commit().await?;
        tracing::info!(patient_id = %pid, "patient registered");
        Ok(RegisterPatientResponse {
            patient: Some(self.patient_message(&inserted).await?),
            consistency_token: self.token(pid, sequence),
            outcome: RegistrationOutcome::Registered as i32,
            candidates: Vec::new(),
        })
    }

    /// Existing patients, at any facility, who may be the person in
    /// `registration`, best first. The search is blocked on date of birth (as
    /// given and with day and month swapped), phone and SSN-4: without one of
    /// those no candidate can reach the threshold, so nothing is missed. Records
    /// merged away are not candidates (their survivor is).
    ///
    /// Minimum necessary: a candidate known at a facility the caller acts for
    /// is shown in full (id, MRN, score, what matched); one known only
    /// elsewhere as an opaque reference and a band, judged without SSN-4 so no
    /// answer confirms one. Each candidate shown is an audited access; the
    /// search itself is audited too, and counted for the per-caller limit.
    async fn duplicate_candidates(
        &self,
        call: &Call,
        registration: &Registration,
        facility_id: &FacilityId,
    ) -> Result<Vec<DuplicateCandidate>, AdmissionsError> {
        let rules = MatchRules::default();
        let new = matching::Demographics {
            given: registration.legal_name.given.expose(),
            family: registration.legal_name.family.expose(),
            date_of_birth: *registration.date_of_birth.expose(),
            phone: registration.phone.expose(),
            ssn_last4: registration.ssn_last4.expose(),
        };
        let keys = matching::blocking_keys(&new);
        let db = self.ledger.conn();
        let mut found: Vec<(MatchScore, bool, patient::Model)> = Vec::new();
        for p in patients::sharing_a_key(db, keys).await? {
            let existing = matching::Demographics {
                given: &p.given_name,
                family: &p.family_name,
                date_of_birth: p.date_of_birth,
                phone: &p.phone,
                ssn_last4: &p.ssn_last4,
            };
            let known_here = patients::known_at(db, &p)
                .await?
                .iter()
                .any(|f| call.caller.acts_for(f));
            let scored = if known_here {
                matching::score(&rules, &new, &existing)
            } else {
                let blind_new = matching::Demographics {
                    ssn_last4: "",
                    ..new
                };
                let blind_existing = matching::Demographics {
                    ssn_last4: "",
                    ..existing
                };
                matching::score(&rules, &blind_new, &blind_existing)
            };
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
            work.audit(Some(&p.id), Some(facility_id.as_str()));
            let band = band(m.score) as i32;
            if known_here {
                candidates.push(DuplicateCandidate {
                    patient_id: p.id,
                    mrn: p.mrn,
                    score: m.score,
                    matched_fields: m.matched.iter().map(|f| f.as_str().to_owned()).collect(),
                    registered_facility_id: p.registered_facility_id,
                    band,
                    ..Default::default()
                });
            } else {
                let reference = uuid::Uuid::new_v4().simple().to_string();
                candidate_reference::ActiveModel {
                    reference: Set(reference.clone()),
                    patient_id: Set(p.id),
                    facility_id: Set(facility_id.to_string()),
                    issued_by: Set(call.caller.subject().to_owned()),
                    issued_at: Set(now),
                }
                .insert(work.txn())
                .await?;
                candidates.push(DuplicateCandidate {
                    reference,
                    band,
                    ..Default::default()
                });
            }
        }
        // The search itself: the row the per-caller limit counts.
        work.audit(None, Some(facility_id.as_str()));
        work.commit().await?;
        Ok(candidates)
    }

    /// The answer to a repeated registration: the patient first registered with
    /// `rid`, if the repeat is for the same facility. The repeat is audited as a read.
    async fn replay_registration(
        &self,
        call: &Call,
        rid: &str,
        facility_id: &FacilityId,
    ) -> Result<Option<RegisterPatientResponse>, AdmissionsError> {
        let Some(p) = patients::by_request_id(self.ledger.conn(), rid).await? else {
            return Ok(None);
        };
        if p.registered_facility_id != facility_id.as_str() {
            return Err(AdmissionsError::invalid(
                "request_id",
                "already used for a registration at another facility",
            ));
        }
        self.ledger
            .record_access(
                &Actor::of(call, REGISTER),
                &[Access::allowed(Some(&p.id), Some(facility_id.as_str()))],
            )
            .await?;
        Ok(Some(RegisterPatientResponse {
            patient: Some(self.patient_message(&p).await?),
            consistency_token: self.token(&p.id, 1),
            outcome: RegistrationOutcome::Registered as i32,
            candidates: Vec::new(),
        }))
    }

    pub(super) async fn get(
        &self,
        call: &Call,
        req: GetPatientRequest,
    ) -> Result<GetPatientResponse, AdmissionsError> {
        let p = self
            .read(call, "admissions.GetPatient", "patient_id", &req.patient_id)
            .await?;
        Ok(GetPatientResponse {
            patient: Some(self.patient_message(&p).await?),
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
        assert_eq!(band(50), MatchBand::Possible);
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
