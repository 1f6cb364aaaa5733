//! The gRPC face of admissions: authenticates and authorises the caller, turns
//! requests into domain types, and commits each write with its events (outbox)
//! and its audit row in one transaction.

use chrono::Utc;
use iop_messaging::outbox::{NewEvent, Outbox};
use iop_proto::{
    admissions::{
        events::v1 as events,
        v1::{
            AdmitPatientRequest, AdmitPatientResponse, DischargePatientRequest,
            DischargePatientResponse, DuplicateCandidate, Episode, GetPatientRequest,
            GetPatientResponse, Patient, PatientStatus, RegisterPatientRequest,
            RegisterPatientResponse, RegistrationOutcome, TransferPatientRequest,
            TransferPatientResponse, admissions_service_server::AdmissionsService,
        },
    },
    common::v1 as common,
};
use iop_runtime::{
    audit::{self, AuditEntry, Outcome, Purpose},
    auth::{Caller, Role},
    consistency::ConsistencyToken,
    db::{Database, WriteTxn},
    wire,
};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr,
    sea_query::Expr,
};
use tonic::{Request, Response, Status};

use crate::{
    CONTEXT,
    domain::{self, RegistrationInput},
    entity::{episode, patient},
    error::AdmissionsError,
    matching::{self, Demographics, MatchRules, MatchScore},
};

const AGGREGATE: &str = "patient";
const WRITERS: &[Role] = &[Role::Intake, Role::Admin];
/// Transfers and discharges are clinical decisions recorded by intake or clinicians.
const EPISODE_WRITERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Admin];
const ACTIVE: &str = "active";
const DISCHARGED: &str = "discharged";

/// A write transaction holding a patient's next event sequence.
struct Claim {
    txn: WriteTxn,
    patient: patient::Model,
    active: Option<episode::Model>,
    /// Sequence of the event this command will append.
    sequence: i64,
}

/// Most candidates returned by one registration.
const MAX_CANDIDATES: usize = 10;
const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];

/// `iop.admissions.v1.AdmissionsService`.
#[derive(Clone)]
pub struct AdmissionsApi {
    db: Database,
    outbox: Outbox,
}

impl AdmissionsApi {
    /// The service over its database and outbox.
    pub fn new(db: Database, outbox: Outbox) -> Self {
        Self { db, outbox }
    }
}

fn token(patient_id: &str, sequence: i64) -> String {
    ConsistencyToken {
        source: CONTEXT.to_owned(),
        aggregate_id: patient_id.to_owned(),
        sequence,
    }
    .encode()
}

fn active_of(e: &episode::Model) -> domain::ActiveEpisode<'_> {
    domain::ActiveEpisode {
        facility_id: &e.facility_id,
        program: common::Program::try_from(e.program).unwrap_or_default(),
        admitted_on: e.admitted_on,
    }
}

fn episode_message(e: &episode::Model) -> Episode {
    Episode {
        episode_id: e.id.clone(),
        facility_id: e.facility_id.clone(),
        program: e.program,
        level_of_care: e.level_of_care,
        admitted_on: Some(wire::date(e.admitted_on)),
    }
}

fn patient_message(p: &patient::Model, active: Option<&episode::Model>) -> Patient {
    Patient {
        patient_id: p.id.clone(),
        mrn: p.mrn.clone(),
        legal_name: Some(common::PersonName {
            given: p.given_name.clone(),
            middle: p.middle_name.clone(),
            family: p.family_name.clone(),
        }),
        preferred_name: p.preferred_name.clone(),
        date_of_birth: Some(wire::date(p.date_of_birth)),
        sex: p.sex,
        gender_identity: p.gender_identity.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        status: if active.is_some() {
            PatientStatus::Admitted
        } else {
            PatientStatus::Registered
        } as i32,
        active_episode: active.map(episode_message),
        registered_at: Some(wire::timestamp(p.registered_at)),
    }
}

async fn active_episode<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Option<episode::Model>, DbErr> {
    episode::Entity::find()
        .filter(episode::Column::PatientId.eq(patient_id))
        .filter(episode::Column::Status.eq(ACTIVE))
        .one(db)
        .await
}

/// Facilities where the patient is known: registration and every episode.
async fn patient_facilities<C: ConnectionTrait>(
    db: &C,
    p: &patient::Model,
) -> Result<Vec<String>, DbErr> {
    let mut facilities = vec![p.registered_facility_id.clone()];
    for e in episode::Entity::find()
        .filter(episode::Column::PatientId.eq(&p.id))
        .all(db)
        .await?
    {
        facilities.push(e.facility_id);
    }
    Ok(facilities)
}

impl AdmissionsApi {
    async fn audit_read(
        &self,
        caller: &Caller,
        action: &str,
        patient_id: &str,
        facility_id: Option<&str>,
        purpose: Purpose,
        outcome: Outcome,
    ) -> Result<(), AdmissionsError> {
        let txn = self.db.begin_write().await?;
        audit::record(
            &*txn,
            AuditEntry {
                caller,
                action,
                patient_id: Some(patient_id),
                facility_id,
                purpose,
                outcome,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn register(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: RegisterPatientRequest,
    ) -> Result<RegisterPatientResponse, AdmissionsError> {
        let name = req.legal_name.unwrap_or_default();
        let input = RegistrationInput {
            given: &name.given,
            middle: &name.middle,
            family: &name.family,
            preferred_name: &req.preferred_name,
            date_of_birth: wire::date_parts(req.date_of_birth.as_ref()),
            sex: req.sex,
            gender_identity: &req.gender_identity,
            phone: &req.phone,
            email: &req.email,
            ssn_last4: &req.ssn_last4,
            facility_id: &req.facility_id,
        };
        let registration = domain::registration(&input, Utc::now().date_naive())?;
        if !caller.acts_for(&registration.facility_id) {
            return Err(AdmissionsError::PermissionDenied(format!(
                "caller does not act for facility {}",
                registration.facility_id
            )));
        }
        let request_id = domain::request_id(&req.request_id)?;
        if let Some(rid) = &request_id
            && let Some(existing) = self
                .replay_registration(caller, purpose, rid, &registration.facility_id)
                .await?
        {
            return Ok(existing);
        }
        if !req.confirm_new_patient {
            let candidates = self
                .duplicate_candidates(caller, purpose, &registration)
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
        let model = patient::ActiveModel {
            id: Set(patient_id.clone()),
            mrn: Set(mrn.clone()),
            given_name: Set(registration.legal_name.given.expose().clone()),
            middle_name: Set(registration.legal_name.middle.expose().clone()),
            family_name: Set(registration.legal_name.family.expose().clone()),
            preferred_name: Set(registration.preferred_name.expose().clone()),
            date_of_birth: Set(*registration.date_of_birth.expose()),
            sex: Set(registration.sex as i32),
            gender_identity: Set(registration.gender_identity.expose().clone()),
            phone: Set(registration.phone.expose().clone()),
            email: Set(registration.email.expose().clone()),
            ssn_last4: Set(registration.ssn_last4.expose().clone()),
            registered_facility_id: Set(registration.facility_id.clone()),
            version: Set(1),
            request_id: Set(request_id.clone()),
            registered_at: Set(now),
        };
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
                    .replay_registration(caller, purpose, rid, &registration.facility_id)
                    .await?
                    .ok_or(AdmissionsError::Storage(e));
            }
            Err(e) => return Err(e.into()),
        };
        let event = events::PatientRegistered {
            patient_id: patient_id.clone(),
            mrn,
            legal_name: Some(common::PersonName {
                given: inserted.given_name.clone(),
                middle: inserted.middle_name.clone(),
                family: inserted.family_name.clone(),
            }),
            preferred_name: inserted.preferred_name.clone(),
            date_of_birth: Some(wire::date(inserted.date_of_birth)),
            sex: inserted.sex,
            gender_identity: inserted.gender_identity.clone(),
            facility_id: inserted.registered_facility_id.clone(),
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
                facility_id: Some(&registration.facility_id),
                purpose,
                outcome: Outcome::Allowed,
            },
        )
        .await?;
        txn.commit().await?;
        self.outbox.committed();
        tracing::info!(patient_id = %patient_id, "patient registered");
        Ok(RegisterPatientResponse {
            patient: Some(patient_message(&inserted, None)),
            consistency_token: token(&patient_id, 1),
            outcome: RegistrationOutcome::Registered as i32,
            candidates: Vec::new(),
        })
    }

    /// Existing patients, at any facility, who may be the person in
    /// `registration`, best first. The search is blocked on date of birth (as
    /// given and with day and month swapped), phone and SSN-4: without one of
    /// those no candidate can reach the threshold, so nothing is missed. Each
    /// candidate shown is an access to that patient's record and is audited.
    async fn duplicate_candidates(
        &self,
        caller: &Caller,
        purpose: Purpose,
        registration: &domain::Registration,
    ) -> Result<Vec<DuplicateCandidate>, AdmissionsError> {
        use sea_orm::Condition;
        let rules = MatchRules::default();
        let new = Demographics {
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
            .all(self.db.conn())
            .await?
            .into_iter()
            .filter_map(|p| {
                let existing = Demographics {
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
        self.audit_read(
            caller,
            "admissions.RegisterPatient",
            &p.id,
            Some(facility_id),
            purpose,
            Outcome::Allowed,
        )
        .await?;
        let active = active_episode(self.db.conn(), &p.id).await?;
        Ok(Some(RegisterPatientResponse {
            patient: Some(patient_message(&p, active.as_ref())),
            consistency_token: token(&p.id, 1),
            outcome: RegistrationOutcome::Registered as i32,
            candidates: Vec::new(),
        }))
    }

    async fn get(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: GetPatientRequest,
    ) -> Result<GetPatientResponse, AdmissionsError> {
        let patient_id = domain::patient_id("patient_id", &req.patient_id)?;
        let p = patient::Entity::find_by_id(&patient_id)
            .one(self.db.conn())
            .await?
            .ok_or_else(|| AdmissionsError::PatientNotFound {
                patient_id: patient_id.clone(),
            })?;
        let facilities = patient_facilities(self.db.conn(), &p).await?;
        let Some(facility) = facilities.iter().find(|f| caller.acts_for(f)) else {
            self.audit_read(
                caller,
                "admissions.GetPatient",
                &patient_id,
                None,
                purpose,
                Outcome::Denied,
            )
            .await?;
            return Err(AdmissionsError::PermissionDenied(format!(
                "caller acts for no facility where patient {patient_id} is known"
            )));
        };
        self.audit_read(
            caller,
            "admissions.GetPatient",
            &patient_id,
            Some(facility),
            purpose,
            Outcome::Allowed,
        )
        .await?;
        let active = active_episode(self.db.conn(), &patient_id).await?;
        Ok(GetPatientResponse {
            patient: Some(patient_message(&p, active.as_ref())),
        })
    }

    /// Opens a write transaction on `patient_id` and claims its next event
    /// sequence. The optimistic check on `version` makes a concurrent command on
    /// the same patient fail with ABORTED instead of interleaving events.
    async fn claim(&self, patient_id: &str) -> Result<Claim, AdmissionsError> {
        let txn = self.db.begin_write().await?;
        let patient = patient::Entity::find_by_id(patient_id)
            .one(&*txn)
            .await?
            .ok_or_else(|| AdmissionsError::PatientNotFound {
                patient_id: patient_id.to_owned(),
            })?;
        let active = active_episode(&*txn, &patient.id).await?;
        let sequence = patient.version + 1;
        let bumped = patient::Entity::update_many()
            .col_expr(patient::Column::Version, Expr::value(sequence))
            .filter(patient::Column::Id.eq(&patient.id))
            .filter(patient::Column::Version.eq(patient.version))
            .exec(&*txn)
            .await?;
        if bumped.rows_affected != 1 {
            return Err(AdmissionsError::Conflict {
                patient_id: patient.id,
            });
        }
        Ok(Claim {
            txn,
            patient,
            active,
            sequence,
        })
    }

    /// The active episode of a claimed patient, or FAILED_PRECONDITION; the
    /// caller must act for the episode's facility.
    fn require_active<'a>(
        caller: &Caller,
        claim: &'a Claim,
    ) -> Result<&'a episode::Model, AdmissionsError> {
        let active = claim
            .active
            .as_ref()
            .ok_or_else(|| AdmissionsError::NotAdmitted {
                patient_id: claim.patient.id.clone(),
            })?;
        if !caller.acts_for(&active.facility_id) {
            return Err(AdmissionsError::PermissionDenied(format!(
                "caller does not act for facility {}, where the episode is",
                active.facility_id
            )));
        }
        Ok(active)
    }

    async fn transfer(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: TransferPatientRequest,
    ) -> Result<TransferPatientResponse, AdmissionsError> {
        let patient_id = domain::patient_id("patient_id", &req.patient_id)?;
        let claim = self.claim(&patient_id).await?;
        let active = Self::require_active(caller, &claim)?;
        let current = active_of(active);
        let t = domain::transfer(
            current,
            &req.to_facility_id,
            req.program,
            wire::date_parts(req.transferred_on.as_ref()),
            Utc::now().date_naive(),
        )?;
        let from_facility_id = active.facility_id.clone();
        let mut moved: episode::ActiveModel = active.clone().into();
        moved.facility_id = Set(t.to_facility_id.clone());
        moved.program = Set(t.program as i32);
        moved.level_of_care = Set(t.level_of_care as i32);
        let moved = moved.update(&*claim.txn).await?;
        let event = events::PatientTransferred {
            patient_id: patient_id.clone(),
            episode_id: moved.id.clone(),
            from_facility_id: from_facility_id.clone(),
            to_facility_id: t.to_facility_id.clone(),
            program: moved.program,
            level_of_care: moved.level_of_care,
            transferred_on: Some(wire::date(t.transferred_on)),
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        let sequence = claim.sequence;
        self.commit_change(
            caller,
            purpose,
            "admissions.TransferPatient",
            claim,
            &from_facility_id,
            &event,
        )
        .await?;
        Ok(TransferPatientResponse {
            consistency_token: token(&patient_id, sequence),
            episode: Some(episode_message(&moved)),
        })
    }

    async fn discharge(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: DischargePatientRequest,
    ) -> Result<DischargePatientResponse, AdmissionsError> {
        let patient_id = domain::patient_id("patient_id", &req.patient_id)?;
        let claim = self.claim(&patient_id).await?;
        let active = Self::require_active(caller, &claim)?;
        let current = active_of(active);
        let d = domain::discharge(
            current,
            req.reason,
            wire::date_parts(req.discharged_on.as_ref()),
            Utc::now().date_naive(),
        )?;
        let facility_id = active.facility_id.clone();
        let mut closed: episode::ActiveModel = active.clone().into();
        closed.status = Set(DISCHARGED.to_owned());
        closed.discharge_reason = Set(Some(d.reason as i32));
        closed.discharged_on = Set(Some(d.discharged_on));
        let closed = closed.update(&*claim.txn).await?;
        let event = events::PatientDischarged {
            patient_id: patient_id.clone(),
            episode_id: closed.id.clone(),
            facility_id: facility_id.clone(),
            reason: d.reason as i32,
            discharged_on: Some(wire::date(d.discharged_on)),
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        let sequence = claim.sequence;
        self.commit_change(
            caller,
            purpose,
            "admissions.DischargePatient",
            claim,
            &facility_id,
            &event,
        )
        .await?;
        Ok(DischargePatientResponse {
            episode_id: closed.id,
            consistency_token: token(&patient_id, sequence),
        })
    }

    /// Appends `event` at the claimed sequence, audits the write, commits.
    async fn commit_change<M: prost::Name>(
        &self,
        caller: &Caller,
        purpose: Purpose,
        action: &str,
        claim: Claim,
        facility_id: &str,
        event: &M,
    ) -> Result<(), AdmissionsError> {
        let Claim {
            txn,
            patient,
            sequence,
            ..
        } = claim;
        self.outbox
            .append(&*txn, NewEvent::of(AGGREGATE, &patient.id, sequence, event))
            .await?;
        audit::record(
            &*txn,
            AuditEntry {
                caller,
                action,
                patient_id: Some(&patient.id),
                facility_id: Some(facility_id),
                purpose,
                outcome: Outcome::Allowed,
            },
        )
        .await?;
        txn.commit().await?;
        self.outbox.committed();
        tracing::info!(patient_id = %patient.id, action, "patient changed");
        Ok(())
    }

    async fn admit(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: AdmitPatientRequest,
    ) -> Result<AdmitPatientResponse, AdmissionsError> {
        let admission = domain::admission(
            &req.patient_id,
            &req.facility_id,
            req.program,
            wire::date_parts(req.admitted_on.as_ref()),
            Utc::now().date_naive(),
        )?;
        if !caller.acts_for(&admission.facility_id) {
            return Err(AdmissionsError::PermissionDenied(format!(
                "caller does not act for facility {}",
                admission.facility_id
            )));
        }
        let request_id = domain::request_id(&req.request_id)?;
        if let Some(rid) = &request_id
            && let Some(e) = episode::Entity::find()
                .filter(episode::Column::RequestId.eq(rid))
                .one(self.db.conn())
                .await?
        {
            // A repeat answers as the first call did, but only for the same admission.
            if e.patient_id != admission.patient_id || e.facility_id != admission.facility_id {
                return Err(AdmissionsError::InvalidArgument {
                    field: "request_id",
                    reason: "already used for a different admission".into(),
                });
            }
            self.audit_read(
                caller,
                "admissions.AdmitPatient",
                &e.patient_id,
                Some(&e.facility_id),
                purpose,
                Outcome::Allowed,
            )
            .await?;
            return Ok(AdmitPatientResponse {
                consistency_token: token(&e.patient_id, e.sequence),
                episode: Some(episode_message(&e)),
            });
        }

        let Claim {
            txn,
            patient: p,
            active,
            sequence,
        } = self.claim(&admission.patient_id).await?;
        if let Some(active) = active {
            return Err(AdmissionsError::AlreadyAdmitted {
                patient_id: p.id,
                episode_id: active.id,
            });
        }
        let now = Utc::now();
        let e = episode::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            patient_id: Set(p.id.clone()),
            facility_id: Set(admission.facility_id.clone()),
            program: Set(admission.program as i32),
            level_of_care: Set(admission.level_of_care as i32),
            admitted_on: Set(admission.admitted_on),
            status: Set(ACTIVE.to_owned()),
            discharge_reason: Set(None),
            discharged_on: Set(None),
            sequence: Set(sequence),
            request_id: Set(request_id),
            created_at: Set(now),
        }
        .insert(&*txn)
        .await?;
        let event = events::PatientAdmitted {
            patient_id: p.id.clone(),
            episode_id: e.id.clone(),
            facility_id: e.facility_id.clone(),
            program: e.program,
            level_of_care: e.level_of_care,
            admitted_on: Some(wire::date(e.admitted_on)),
            occurred_at: Some(wire::timestamp(now)),
        };
        self.outbox
            .append(&*txn, NewEvent::of(AGGREGATE, &p.id, sequence, &event))
            .await?;
        audit::record(
            &*txn,
            AuditEntry {
                caller,
                action: "admissions.AdmitPatient",
                patient_id: Some(&p.id),
                facility_id: Some(&e.facility_id),
                purpose,
                outcome: Outcome::Allowed,
            },
        )
        .await?;
        txn.commit().await?;
        self.outbox.committed();
        tracing::info!(patient_id = %p.id, episode_id = %e.id, "patient admitted");
        Ok(AdmitPatientResponse {
            consistency_token: token(&p.id, sequence),
            episode: Some(episode_message(&e)),
        })
    }
}

fn begin<T>(request: &Request<T>, roles: &[Role]) -> Result<(Caller, Purpose), Status> {
    let caller = Caller::of(request)?;
    caller.require_role(roles)?;
    Ok((caller, Purpose::from_metadata(request.metadata())?))
}

#[tonic::async_trait]
impl AdmissionsService for AdmissionsApi {
    async fn register_patient(
        &self,
        request: Request<RegisterPatientRequest>,
    ) -> Result<Response<RegisterPatientResponse>, Status> {
        let (caller, purpose) = begin(&request, WRITERS)?;
        Ok(Response::new(
            self.register(&caller, purpose, request.into_inner())
                .await?,
        ))
    }

    async fn get_patient(
        &self,
        request: Request<GetPatientRequest>,
    ) -> Result<Response<GetPatientResponse>, Status> {
        let (caller, purpose) = begin(&request, READERS)?;
        Ok(Response::new(
            self.get(&caller, purpose, request.into_inner()).await?,
        ))
    }

    async fn admit_patient(
        &self,
        request: Request<AdmitPatientRequest>,
    ) -> Result<Response<AdmitPatientResponse>, Status> {
        let (caller, purpose) = begin(&request, WRITERS)?;
        Ok(Response::new(
            self.admit(&caller, purpose, request.into_inner()).await?,
        ))
    }

    async fn transfer_patient(
        &self,
        request: Request<TransferPatientRequest>,
    ) -> Result<Response<TransferPatientResponse>, Status> {
        let (caller, purpose) = begin(&request, EPISODE_WRITERS)?;
        Ok(Response::new(
            self.transfer(&caller, purpose, request.into_inner())
                .await?,
        ))
    }

    async fn discharge_patient(
        &self,
        request: Request<DischargePatientRequest>,
    ) -> Result<Response<DischargePatientResponse>, Status> {
        let (caller, purpose) = begin(&request, EPISODE_WRITERS)?;
        Ok(Response::new(
            self.discharge(&caller, purpose, request.into_inner())
                .await?,
        ))
    }
}
