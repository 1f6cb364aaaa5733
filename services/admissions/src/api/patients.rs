//! The master patient index over gRPC: registration with duplicate candidates,
//! look-up (merged-away ids resolve to the survivor), demographic updates with
//! their history, merges, and coverage.

use chrono::Utc;
use iop_messaging::outbox::NewEvent;
use iop_proto::{
    admissions::{
        events::v1 as events,
        v1::{
            DemographicVersion, Demographics, DuplicateCandidate, GetDemographicHistoryRequest,
            GetDemographicHistoryResponse, GetPatientRequest, GetPatientResponse,
            MergePatientsRequest, MergePatientsResponse, RecordCoverageRequest,
            RecordCoverageResponse, RegisterPatientRequest, RegisterPatientResponse,
            RegistrationOutcome, UpdateDemographicsRequest, UpdateDemographicsResponse,
        },
    },
    common::v1 as common,
};
use iop_runtime::{
    audit::{self, AuditEntry, Outcome, Purpose},
    auth::Caller,
    wire,
};
use prost::Message;
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    SqlErr, sea_query::Expr,
};

use super::{AGGREGATE, AdmissionsApi, Claim, address_of, emergency_contact_of, name_of, token};
use crate::{
    domain::{self, Registration, RegistrationInput},
    entity::{assessment, consent, coverage, demographic_version, episode, patient},
    error::AdmissionsError,
    matching::{self, MatchRules, MatchScore},
    records,
};

/// Most candidates returned by one registration.
const MAX_CANDIDATES: usize = 10;

/// Validated demographics: the registration rules plus contact details.
struct Validated {
    registration: Registration,
    address: common::PostalAddress,
    emergency_contact: common::EmergencyContact,
}

#[allow(
    clippy::too_many_arguments,
    reason = "the demographic fields of two request messages"
)]
fn validate(
    name: Option<&common::PersonName>,
    preferred_name: &str,
    date_of_birth: Option<&common::Date>,
    sex: i32,
    gender_identity: &str,
    phone: &str,
    email: &str,
    ssn_last4: &str,
    address: Option<&common::PostalAddress>,
    emergency_contact: Option<&common::EmergencyContact>,
    facility_id: &str,
) -> Result<Validated, AdmissionsError> {
    let name = name.cloned().unwrap_or_default();
    let input = RegistrationInput {
        given: &name.given,
        middle: &name.middle,
        family: &name.family,
        preferred_name,
        date_of_birth: wire::date_parts(date_of_birth),
        sex,
        gender_identity,
        phone,
        email,
        ssn_last4,
        facility_id,
    };
    Ok(Validated {
        registration: domain::registration(&input, Utc::now().date_naive())?,
        address: records::address(address)?,
        emergency_contact: records::emergency_contact(emergency_contact)?,
    })
}

fn demographics_of(p: &patient::Model) -> Demographics {
    Demographics {
        legal_name: Some(name_of(p)),
        preferred_name: p.preferred_name.clone(),
        date_of_birth: Some(wire::date(p.date_of_birth)),
        sex: p.sex,
        gender_identity: p.gender_identity.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        address: Some(address_of(p)),
        emergency_contact: Some(emergency_contact_of(p)),
        ssn_last4: p.ssn_last4.clone(),
    }
}

/// Writes `v` onto a patient row.
fn apply(m: &mut patient::ActiveModel, v: &Validated) {
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

/// Keeps the patient's demographics as of event `version`.
async fn record_version<C: ConnectionTrait>(
    db: &C,
    p: &patient::Model,
    version: i64,
    caller: &Caller,
    reason: &str,
) -> Result<(), AdmissionsError> {
    demographic_version::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        patient_id: Set(p.id.clone()),
        version: Set(version),
        demographics: Set(demographics_of(p).encode_to_vec()),
        recorded_at: Set(Utc::now()),
        recorded_by: Set(caller.subject().to_owned()),
        reason: Set(reason.to_owned()),
    }
    .insert(db)
    .await?;
    Ok(())
}

fn reason(field: &'static str, value: &str) -> Result<String, AdmissionsError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 500 {
        return Err(AdmissionsError::InvalidArgument {
            field,
            reason: "must say why, in 1 to 500 characters".into(),
        });
    }
    Ok(value.to_owned())
}

impl AdmissionsApi {
    pub(super) async fn register(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: RegisterPatientRequest,
    ) -> Result<RegisterPatientResponse, AdmissionsError> {
        let v = validate(
            req.legal_name.as_ref(),
            &req.preferred_name,
            req.date_of_birth.as_ref(),
            req.sex,
            &req.gender_identity,
            &req.phone,
            &req.email,
            &req.ssn_last4,
            req.address.as_ref(),
            req.emergency_contact.as_ref(),
            &req.facility_id,
        )?;
        let facility_id = v.registration.facility_id.clone();
        if !caller.acts_for(&facility_id) {
            return Err(AdmissionsError::PermissionDenied(format!(
                "caller does not act for facility {facility_id}"
            )));
        }
        let request_id = domain::request_id(&req.request_id)?;
        if let Some(rid) = &request_id
            && let Some(existing) = self
                .replay_registration(caller, purpose, rid, &facility_id)
                .await?
        {
            return Ok(existing);
        }
        if !req.confirm_new_patient {
            let candidates = self
                .duplicate_candidates(caller, purpose, &v.registration)
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
        let patient_id = uuid::Uuid::now_v7().to_string();
        let txn = self.db.begin_write().await?;
        let mut mrn = String::new();
        for _ in 0..8 {
            let candidate = domain::mrn(rand::rng().random_range(0..1_000_000_000));
            if patient::Entity::find()
                .filter(patient::Column::Mrn.eq(&candidate))
                .one(&*txn)
                .await?
                .is_none()
            {
                mrn = candidate;
                break;
            }
        }
        if mrn.is_empty() {
            return Err(AdmissionsError::Conflict { patient_id });
        }
        let mut model = patient::ActiveModel {
            id: Set(patient_id.clone()),
            mrn: Set(mrn.clone()),
            registered_facility_id: Set(facility_id.clone()),
            version: Set(1),
            request_id: Set(request_id.clone()),
            registered_at: Set(now),
            merged_into: Set(None),
            merged_at: Set(None),
            ..Default::default()
        };
        apply(&mut model, &v);
        let inserted = match model.insert(&*txn).await {
            Ok(m) => m,
            Err(e)
                if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
                    && request_id.is_some() =>
            {
                // The same request committed concurrently: answer as it did.
                drop(txn);
                let rid = request_id.as_deref().unwrap_or_default();
                return self
                    .replay_registration(caller, purpose, rid, &facility_id)
                    .await?
                    .ok_or(AdmissionsError::Storage(e));
            }
            Err(e) => return Err(e.into()),
        };
        record_version(&*txn, &inserted, 1, caller, "registration").await?;
        let event = events::PatientRegistered {
            patient_id: patient_id.clone(),
            mrn,
            legal_name: Some(name_of(&inserted)),
            preferred_name: inserted.preferred_name.clone(),
            date_of_birth: Some(wire::date(inserted.date_of_birth)),
            sex: inserted.sex,
            gender_identity: inserted.gender_identity.clone(),
            facility_id: facility_id.clone(),
            occurred_at: Some(wire::timestamp(now)),
        };
        self.outbox
            .append(&*txn, NewEvent::of(AGGREGATE, &patient_id, 1, &event))
            .await?;
        audit::record(
            &*txn,
            AuditEntry {
                caller,
                action: "admissions.RegisterPatient",
                patient_id: Some(&patient_id),
                facility_id: Some(&facility_id),
                purpose,
                outcome: Outcome::Allowed,
            },
        )
        .await?;
        txn.commit().await?;
        self.outbox.committed();
        tracing::info!(patient_id = %patient_id, "patient registered");
        Ok(RegisterPatientResponse {
            patient: Some(self.patient_message(&inserted).await?),
            consistency_token: token(&patient_id, 1),
            outcome: RegistrationOutcome::Registered as i32,
            candidates: Vec::new(),
        })
    }

    /// Existing patients, at any facility, who may be the person in
    /// `registration`, best first. The search is blocked on date of birth (as
    /// given and with day and month swapped), phone and SSN-4: without one of
    /// those no candidate can reach the threshold, so nothing is missed. Records
    /// merged away are not candidates (their survivor is). Each candidate shown
    /// is an access to that patient's record and is audited.
    async fn duplicate_candidates(
        &self,
        caller: &Caller,
        purpose: Purpose,
        registration: &Registration,
    ) -> Result<Vec<DuplicateCandidate>, AdmissionsError> {
        use sea_orm::Condition;
        let rules = MatchRules::default();
        let new = matching::Demographics {
            given: registration.legal_name.given.expose(),
            family: registration.legal_name.family.expose(),
            date_of_birth: *registration.date_of_birth.expose(),
            phone: registration.phone.expose(),
            ssn_last4: registration.ssn_last4.expose(),
        };
        let keys = matching::blocking_keys(&new);
        let mut block =
            Condition::any().add(patient::Column::DateOfBirth.is_in(keys.dates_of_birth));
        if let Some(phone) = keys.phone_suffix {
            block = block.add(patient::Column::Phone.ends_with(phone));
        }
        if let Some(ssn) = keys.ssn_last4 {
            block = block.add(patient::Column::SsnLast4.eq(ssn));
        }
        let mut found: Vec<(MatchScore, patient::Model)> = patient::Entity::find()
            .filter(block)
            .filter(patient::Column::MergedInto.is_null())
            .all(self.db.conn())
            .await?
            .into_iter()
            .filter_map(|p| {
                let existing = matching::Demographics {
                    given: &p.given_name,
                    family: &p.family_name,
                    date_of_birth: p.date_of_birth,
                    phone: &p.phone,
                    ssn_last4: &p.ssn_last4,
                };
                let scored = matching::score(&rules, &new, &existing)?;
                Some((scored, p))
            })
            .collect();
        found.sort_by(|a, b| b.0.score.cmp(&a.0.score).then_with(|| a.1.id.cmp(&b.1.id)));
        found.truncate(MAX_CANDIDATES);
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let txn = self.db.begin_write().await?;
        for (_, p) in &found {
            audit::record(
                &*txn,
                AuditEntry {
                    caller,
                    action: "admissions.RegisterPatient.duplicate_check",
                    patient_id: Some(&p.id),
                    facility_id: Some(&registration.facility_id),
                    purpose,
                    outcome: Outcome::Allowed,
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(found
            .into_iter()
            .map(|(m, p)| DuplicateCandidate {
                patient_id: p.id,
                mrn: p.mrn,
                score: m.score,
                matched_fields: m.matched.iter().map(|f| f.as_str().to_owned()).collect(),
                registered_facility_id: p.registered_facility_id,
            })
            .collect())
    }

    /// The answer to a repeated registration: the patient first registered with
    /// `rid`, if the repeat is for the same facility. The repeat is audited as a read.
    async fn replay_registration(
        &self,
        caller: &Caller,
        purpose: Purpose,
        rid: &str,
        facility_id: &str,
    ) -> Result<Option<RegisterPatientResponse>, AdmissionsError> {
        let Some(p) = patient::Entity::find()
            .filter(patient::Column::RequestId.eq(rid))
            .one(self.db.conn())
            .await?
        else {
            return Ok(None);
        };
        if p.registered_facility_id != facility_id {
            return Err(AdmissionsError::InvalidArgument {
                field: "request_id",
                reason: "already used for a registration at another facility".into(),
            });
        }
        self.audit(
            caller,
            "admissions.RegisterPatient",
            &p.id,
            Some(facility_id),
            purpose,
            Outcome::Allowed,
        )
        .await?;
        Ok(Some(RegisterPatientResponse {
            patient: Some(self.patient_message(&p).await?),
            consistency_token: token(&p.id, 1),
            outcome: RegistrationOutcome::Registered as i32,
            candidates: Vec::new(),
        }))
    }

    pub(super) async fn get(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: GetPatientRequest,
    ) -> Result<GetPatientResponse, AdmissionsError> {
        let p = self.resolve("patient_id", &req.patient_id).await?;
        self.authorize_read(caller, purpose, "admissions.GetPatient", &p)
            .await?;
        Ok(GetPatientResponse {
            patient: Some(self.patient_message(&p).await?),
        })
    }

    /// A claimed patient the caller may change (the access rule of reads).
    pub(super) async fn claim_authorized(
        &self,
        caller: &Caller,
        purpose: Purpose,
        action: &str,
        field: &'static str,
        patient_id: &str,
    ) -> Result<(Claim, String), AdmissionsError> {
        let patient_id = domain::patient_id(field, patient_id)?;
        let p = patient::Entity::find_by_id(&patient_id)
            .one(self.db.conn())
            .await?
            .ok_or_else(|| AdmissionsError::PatientNotFound {
                patient_id: patient_id.clone(),
            })?;
        let basis = self.authorize(caller, purpose, action, &p).await?;
        let claim = self.claim(&patient_id).await?;
        Ok((claim, basis.facility_id().to_owned()))
    }

    pub(super) async fn update_demographics(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: UpdateDemographicsRequest,
    ) -> Result<UpdateDemographicsResponse, AdmissionsError> {
        const ACTION: &str = "admissions.UpdateDemographics";
        let d = req.demographics.unwrap_or_default();
        let why = reason("reason", &req.reason)?;
        let (claim, facility) = self
            .claim_authorized(caller, purpose, ACTION, "patient_id", &req.patient_id)
            .await?;
        let v = validate(
            d.legal_name.as_ref(),
            &d.preferred_name,
            d.date_of_birth.as_ref(),
            d.sex,
            &d.gender_identity,
            &d.phone,
            &d.email,
            &d.ssn_last4,
            d.address.as_ref(),
            d.emergency_contact.as_ref(),
            &claim.patient.registered_facility_id,
        )?;
        let mut model: patient::ActiveModel = claim.patient.clone().into();
        apply(&mut model, &v);
        model.version = Set(claim.sequence);
        let updated = model.update(&*claim.txn).await?;
        record_version(&*claim.txn, &updated, claim.sequence, caller, &why).await?;
        let event = events::PatientDemographicsUpdated {
            patient_id: updated.id.clone(),
            legal_name: Some(name_of(&updated)),
            preferred_name: updated.preferred_name.clone(),
            date_of_birth: Some(wire::date(updated.date_of_birth)),
            sex: updated.sex,
            gender_identity: updated.gender_identity.clone(),
            reason: why,
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        let consistency_token = self
            .commit_change(caller, purpose, ACTION, claim, &facility, &event)
            .await?;
        Ok(UpdateDemographicsResponse {
            patient: Some(self.patient_message(&updated).await?),
            consistency_token,
        })
    }

    pub(super) async fn demographic_history(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: GetDemographicHistoryRequest,
    ) -> Result<GetDemographicHistoryResponse, AdmissionsError> {
        let p = self.resolve("patient_id", &req.patient_id).await?;
        self.authorize_read(caller, purpose, "admissions.GetDemographicHistory", &p)
            .await?;
        let rows = demographic_version::Entity::find()
            .filter(demographic_version::Column::PatientId.eq(&p.id))
            .order_by_asc(demographic_version::Column::Version)
            .all(self.db.conn())
            .await?;
        Ok(GetDemographicHistoryResponse {
            versions: rows
                .into_iter()
                .map(|r| DemographicVersion {
                    version: r.version,
                    demographics: Demographics::decode(r.demographics.as_slice()).ok(),
                    recorded_at: Some(wire::timestamp(r.recorded_at)),
                    recorded_by: r.recorded_by,
                    reason: r.reason,
                })
                .collect(),
        })
    }

    /// Merges `merged_away_id` into `survivor_id` in one transaction: its
    /// episodes, assessments, consents and coverages move to the survivor, it
    /// stops taking changes, and one `PatientsMerged` event goes out on the
    /// survivor's stream. The merged-away record is locked by an optimistic
    /// check on its version (not bumped: its own stream ends where it was).
    pub(super) async fn merge(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: MergePatientsRequest,
    ) -> Result<MergePatientsResponse, AdmissionsError> {
        const ACTION: &str = "admissions.MergePatients";
        let why = reason("reason", &req.reason)?;
        let merged_id = domain::patient_id("merged_away_id", &req.merged_away_id)?;
        let survivor_id = domain::patient_id("survivor_id", &req.survivor_id)?;
        if merged_id == survivor_id {
            return Err(AdmissionsError::InvalidArgument {
                field: "merged_away_id",
                reason: "is the survivor".into(),
            });
        }
        let merged = patient::Entity::find_by_id(&merged_id)
            .one(self.db.conn())
            .await?
            .ok_or_else(|| AdmissionsError::PatientNotFound {
                patient_id: merged_id.clone(),
            })?;
        if let Some(survivor) = &merged.merged_into {
            return Err(AdmissionsError::Merged {
                patient_id: merged_id,
                survivor_id: survivor.clone(),
            });
        }
        // The caller must be allowed to see both records.
        self.authorize(caller, purpose, ACTION, &merged).await?;
        let (claim, facility) = self
            .claim_authorized(caller, purpose, ACTION, "survivor_id", &survivor_id)
            .await?;
        let txn = &*claim.txn;
        let locked = patient::Entity::update_many()
            .col_expr(
                patient::Column::MergedInto,
                Expr::value(survivor_id.clone()),
            )
            .col_expr(patient::Column::MergedAt, Expr::value(Utc::now()))
            .filter(patient::Column::Id.eq(&merged_id))
            .filter(patient::Column::Version.eq(merged.version))
            .filter(patient::Column::MergedInto.is_null())
            .exec(txn)
            .await?;
        if locked.rows_affected != 1 {
            return Err(AdmissionsError::Conflict {
                patient_id: merged_id,
            });
        }
        let merged_active = super::active_episode(txn, &merged_id).await?;
        if let (Some(a), Some(b)) = (&claim.active, &merged_active) {
            return Err(AdmissionsError::Precondition(format!(
                "both records have an active episode ({} and {}); discharge one before merging",
                a.id, b.id
            )));
        }
        let moved: Vec<String> = episode::Entity::find()
            .filter(episode::Column::PatientId.eq(&merged_id))
            .all(txn)
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect();
        episode::Entity::update_many()
            .col_expr(episode::Column::PatientId, Expr::value(survivor_id.clone()))
            .filter(episode::Column::PatientId.eq(&merged_id))
            .exec(txn)
            .await?;
        assessment::Entity::update_many()
            .col_expr(
                assessment::Column::PatientId,
                Expr::value(survivor_id.clone()),
            )
            .filter(assessment::Column::PatientId.eq(&merged_id))
            .exec(txn)
            .await?;
        consent::Entity::update_many()
            .col_expr(consent::Column::PatientId, Expr::value(survivor_id.clone()))
            .filter(consent::Column::PatientId.eq(&merged_id))
            .exec(txn)
            .await?;
        coverage::Entity::update_many()
            .col_expr(
                coverage::Column::PatientId,
                Expr::value(survivor_id.clone()),
            )
            .filter(coverage::Column::PatientId.eq(&merged_id))
            .exec(txn)
            .await?;
        // Records merged into the merged-away one now resolve to the survivor in one hop.
        patient::Entity::update_many()
            .col_expr(
                patient::Column::MergedInto,
                Expr::value(survivor_id.clone()),
            )
            .filter(patient::Column::MergedInto.eq(&merged_id))
            .exec(txn)
            .await?;
        let active = claim.active.clone().or(merged_active);
        let event = events::PatientsMerged {
            survivor_id: survivor_id.clone(),
            merged_away_id: merged_id.clone(),
            merged_away_mrn: merged.mrn.clone(),
            moved_episode_ids: moved,
            active_episode: active.as_ref().map(|e| events::MergedEpisode {
                episode_id: e.id.clone(),
                facility_id: e.facility_id.clone(),
                program: e.program,
                level_of_care: e.level_of_care,
                admitted_on: Some(wire::date(e.admitted_on)),
            }),
            reason: why,
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        let survivor = claim.patient.clone();
        // The merged-away record's audit row: its data now lives in the survivor.
        audit::record(
            txn,
            AuditEntry {
                caller,
                action: ACTION,
                patient_id: Some(&merged_id),
                facility_id: Some(&facility),
                purpose,
                outcome: Outcome::Allowed,
            },
        )
        .await?;
        let consistency_token = self
            .commit_change(caller, purpose, ACTION, claim, &facility, &event)
            .await?;
        tracing::info!(survivor_id = %survivor_id, merged_away_id = %merged_id, "patients merged");
        Ok(MergePatientsResponse {
            survivor: Some(self.patient_message(&survivor).await?),
            consistency_token,
        })
    }

    pub(super) async fn record_coverage(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: RecordCoverageRequest,
    ) -> Result<RecordCoverageResponse, AdmissionsError> {
        const ACTION: &str = "admissions.RecordCoverage";
        let mut c = records::coverage(req.coverage.as_ref())?;
        let (claim, facility) = self
            .claim_authorized(
                caller,
                purpose,
                ACTION,
                "coverage.patient_id",
                &c.patient_id,
            )
            .await?;
        c.patient_id = claim.patient.id.clone();
        c.coverage_id = uuid::Uuid::now_v7().to_string();
        let now = Utc::now();
        coverage::ActiveModel {
            id: Set(c.coverage_id.clone()),
            patient_id: Set(c.patient_id.clone()),
            coverage: Set(c.encode_to_vec()),
            recorded_at: Set(now),
        }
        .insert(&*claim.txn)
        .await?;
        let event = events::CoverageRecorded {
            coverage: Some(c.clone()),
            occurred_at: Some(wire::timestamp(now)),
        };
        let consistency_token = self
            .commit_change(caller, purpose, ACTION, claim, &facility, &event)
            .await?;
        Ok(RecordCoverageResponse {
            coverage: Some(c),
            consistency_token,
        })
    }
}
