//! The gRPC face of admissions: authenticates and authorises the caller, turns
//! requests into domain types, and commits each write with its events (outbox)
//! and its audit row in one transaction. One submodule per part of the domain;
//! this module holds what they share: the per-patient write claim, the access
//! rule with its audit, and the patient's wire form.

mod consents;
mod episodes;
mod facilities;
mod patients;
mod placements;

use chrono::Utc;
use iop_consent::access::{self, Basis};
use iop_messaging::outbox::{NewEvent, Outbox};
use iop_proto::{
    admissions::v1::{
        self as api, Episode, Patient, PatientStatus, admissions_service_server::AdmissionsService,
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
use prost::Message;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use tonic::{Request, Response, Status};

use crate::{
    CONTEXT,
    entity::{consent, coverage, episode, patient},
    error::AdmissionsError,
};

const AGGREGATE: &str = "patient";
const ACTIVE: &str = "active";
const DISCHARGED: &str = "discharged";

/// Registration, admission, demographics and merges: the front desk.
const INTAKE: &[Role] = &[Role::Intake, Role::Admin];
/// Transfers, discharges, screening and consents are recorded by intake or clinicians.
const CARE_TEAM: &[Role] = &[Role::Intake, Role::Clinician, Role::Admin];
/// Overriding a placement is a clinical decision.
const CLINICIANS: &[Role] = &[Role::Clinician];
/// Coverage is recorded at intake or by billing.
const COVERAGE_WRITERS: &[Role] = &[Role::Intake, Role::Billing, Role::Admin];
/// Reads of patient records.
const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];
/// The facility registry holds no patient data.
const ANYONE: &[Role] = &[
    Role::Intake,
    Role::Clinician,
    Role::Billing,
    Role::Admin,
    Role::Auditor,
];

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

/// A write transaction holding a patient's next event sequence.
struct Claim {
    txn: WriteTxn,
    patient: patient::Model,
    active: Option<episode::Model>,
    /// Sequence of the event this command will append.
    sequence: i64,
}

fn token(patient_id: &str, sequence: i64) -> String {
    ConsistencyToken {
        source: CONTEXT.to_owned(),
        aggregate_id: patient_id.to_owned(),
        sequence,
    }
    .encode()
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

fn address_of(p: &patient::Model) -> common::PostalAddress {
    common::PostalAddress {
        line1: p.address_line1.clone(),
        line2: p.address_line2.clone(),
        city: p.address_city.clone(),
        state: p.address_state.clone(),
        postal_code: p.address_postal_code.clone(),
    }
}

fn emergency_contact_of(p: &patient::Model) -> common::EmergencyContact {
    common::EmergencyContact {
        name: p.emergency_name.clone(),
        relationship: p.emergency_relationship.clone(),
        phone: p.emergency_phone.clone(),
    }
}

fn name_of(p: &patient::Model) -> common::PersonName {
    common::PersonName {
        given: p.given_name.clone(),
        middle: p.middle_name.clone(),
        family: p.family_name.clone(),
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

/// Ids of the records merged into `patient_id`.
async fn merged_ids<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<Vec<String>, DbErr> {
    Ok(patient::Entity::find()
        .filter(patient::Column::MergedInto.eq(patient_id))
        .order_by_asc(patient::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect())
}

/// Facilities where the patient is known: registration (its own and of every
/// record merged into it) and every episode.
async fn patient_facilities<C: ConnectionTrait>(
    db: &C,
    p: &patient::Model,
) -> Result<Vec<String>, DbErr> {
    let mut facilities = vec![p.registered_facility_id.clone()];
    let merged = patient::Entity::find()
        .filter(patient::Column::MergedInto.eq(&p.id))
        .all(db)
        .await?;
    facilities.extend(merged.into_iter().map(|m| m.registered_facility_id));
    for e in episode::Entity::find()
        .filter(episode::Column::PatientId.eq(&p.id))
        .all(db)
        .await?
    {
        facilities.push(e.facility_id);
    }
    Ok(facilities)
}

/// A stored consent in its wire form, with its revocation and expiry event.
fn consent_message(row: &consent::Model) -> Result<common::Consent, AdmissionsError> {
    let mut c = common::Consent::decode(row.consent.as_slice())
        .map_err(|e| AdmissionsError::Storage(DbErr::Custom(format!("consent {}: {e}", row.id))))?;
    c.revoked_at = row.revoked_at.map(wire::timestamp);
    c.expiry_event_at = row.expiry_event_at.map(wire::timestamp);
    Ok(c)
}

async fn consent_rows<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<consent::Model>, DbErr> {
    consent::Entity::find()
        .filter(consent::Column::PatientId.eq(patient_id))
        .order_by_asc(consent::Column::RecordedAt)
        .order_by_asc(consent::Column::Id)
        .all(db)
        .await
}

/// The patient's consents as the rules see them.
async fn consents_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<iop_consent::Consent>, AdmissionsError> {
    consent_rows(db, patient_id)
        .await?
        .iter()
        .map(|row| Ok(iop_consent::wire::consent(&consent_message(row)?)?))
        .collect()
}

impl AdmissionsApi {
    /// Records one audited access in its own transaction (reads change nothing else).
    async fn audit(
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

    /// The patient `patient_id` names, or the survivor it was merged into.
    async fn resolve(
        &self,
        field: &'static str,
        patient_id: &str,
    ) -> Result<patient::Model, AdmissionsError> {
        let patient_id = crate::domain::patient_id(field, patient_id)?;
        let p = patient::Entity::find_by_id(&patient_id)
            .one(self.db.conn())
            .await?
            .ok_or_else(|| AdmissionsError::PatientNotFound {
                patient_id: patient_id.clone(),
            })?;
        let Some(survivor) = &p.merged_into else {
            return Ok(p);
        };
        patient::Entity::find_by_id(survivor)
            .one(self.db.conn())
            .await?
            .ok_or_else(|| AdmissionsError::PatientNotFound {
                patient_id: survivor.clone(),
            })
    }

    /// On which basis the caller may see `p`'s record (see `iop_consent::access`).
    async fn access(
        &self,
        caller: &Caller,
        purpose: Purpose,
        p: &patient::Model,
    ) -> Result<Option<Basis>, AdmissionsError> {
        let known_at = patient_facilities(self.db.conn(), p).await?;
        let consents = consents_of(self.db.conn(), &p.id).await?;
        Ok(access::facility_access(
            |f| caller.acts_for(f),
            &known_at,
            &consents,
            purpose,
            Utc::now(),
        ))
    }

    /// The access rule for a read or a change of `p`'s record: PERMISSION_DENIED
    /// (audited) unless the caller's facility may see it. Reads are audited by
    /// the caller of this function once they succeed.
    async fn authorize(
        &self,
        caller: &Caller,
        purpose: Purpose,
        action: &str,
        p: &patient::Model,
    ) -> Result<Basis, AdmissionsError> {
        if let Some(basis) = self.access(caller, purpose, p).await? {
            return Ok(basis);
        }
        self.audit(caller, action, &p.id, None, purpose, Outcome::Denied)
            .await?;
        Err(AdmissionsError::PermissionDenied(format!(
            "caller acts for no facility where patient {} is known or that a consent covers",
            p.id
        )))
    }

    /// [`Self::authorize`], then the audit row of the allowed read.
    async fn authorize_read(
        &self,
        caller: &Caller,
        purpose: Purpose,
        action: &str,
        p: &patient::Model,
    ) -> Result<Basis, AdmissionsError> {
        let basis = self.authorize(caller, purpose, action, p).await?;
        self.audit(
            caller,
            action,
            &p.id,
            Some(basis.facility_id()),
            purpose,
            Outcome::Allowed,
        )
        .await?;
        Ok(basis)
    }

    /// The wire form of a patient, with the active episode, merged records and coverages.
    async fn patient_message(&self, p: &patient::Model) -> Result<Patient, AdmissionsError> {
        let db = self.db.conn();
        let active = active_episode(db, &p.id).await?;
        let coverages = coverage::Entity::find()
            .filter(coverage::Column::PatientId.eq(&p.id))
            .order_by_desc(coverage::Column::RecordedAt)
            .all(db)
            .await?
            .iter()
            .filter_map(|c| common::Coverage::decode(c.coverage.as_slice()).ok())
            .collect();
        Ok(Patient {
            patient_id: p.id.clone(),
            mrn: p.mrn.clone(),
            legal_name: Some(name_of(p)),
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
            active_episode: active.as_ref().map(episode_message),
            registered_at: Some(wire::timestamp(p.registered_at)),
            address: Some(address_of(p)),
            emergency_contact: Some(emergency_contact_of(p)),
            merged_patient_ids: merged_ids(db, &p.id).await?,
            coverages,
        })
    }

    /// Opens a write transaction on `patient_id` and claims its next event
    /// sequence. The optimistic check on `version` makes a concurrent command on
    /// the same patient fail with ABORTED instead of interleaving events; a
    /// merged-away record takes no more changes.
    async fn claim(&self, patient_id: &str) -> Result<Claim, AdmissionsError> {
        let txn = self.db.begin_write().await?;
        let patient = patient::Entity::find_by_id(patient_id)
            .one(&*txn)
            .await?
            .ok_or_else(|| AdmissionsError::PatientNotFound {
                patient_id: patient_id.to_owned(),
            })?;
        if let Some(survivor) = &patient.merged_into {
            return Err(AdmissionsError::Merged {
                patient_id: patient.id.clone(),
                survivor_id: survivor.clone(),
            });
        }
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

    /// Appends `event` at the claimed sequence, audits the write, commits;
    /// returns the consistency token of the write.
    async fn commit_change<M: prost::Name>(
        &self,
        caller: &Caller,
        purpose: Purpose,
        action: &str,
        claim: Claim,
        facility_id: &str,
        event: &M,
    ) -> Result<String, AdmissionsError> {
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
        Ok(token(&patient.id, sequence))
    }
}

fn begin<T>(request: &Request<T>, roles: &[Role]) -> Result<(Caller, Purpose), Status> {
    let caller = Caller::of(request)?;
    caller.require_role(roles)?;
    Ok((caller, Purpose::from_metadata(request.metadata())?))
}

/// The service: per RPC, the roles allowed, then the handler, with its error
/// mapped to a status. (The whole impl is generated, so `async_trait` sees the
/// methods.)
macro_rules! service {
    ($($name:ident($req:ident) -> $resp:ident, $roles:expr, $handler:ident;)*) => {
        #[tonic::async_trait]
        impl AdmissionsService for AdmissionsApi {
            $(
                async fn $name(
                    &self,
                    request: Request<api::$req>,
                ) -> Result<Response<api::$resp>, Status> {
                    let (caller, purpose) = begin(&request, $roles)?;
                    Ok(Response::new(
                        self.$handler(&caller, purpose, request.into_inner()).await?,
                    ))
                }
            )*
        }
    };
}

service! {
    register_patient(RegisterPatientRequest) -> RegisterPatientResponse, INTAKE, register;
    get_patient(GetPatientRequest) -> GetPatientResponse, READERS, get;
    admit_patient(AdmitPatientRequest) -> AdmitPatientResponse, INTAKE, admit;
    transfer_patient(TransferPatientRequest) -> TransferPatientResponse, CARE_TEAM, transfer;
    discharge_patient(DischargePatientRequest) -> DischargePatientResponse, CARE_TEAM, discharge;
    put_facility(PutFacilityRequest) -> PutFacilityResponse, &[Role::Admin], put_facility;
    list_facilities(ListFacilitiesRequest) -> ListFacilitiesResponse, ANYONE, list_facilities;
    update_demographics(UpdateDemographicsRequest) -> UpdateDemographicsResponse, INTAKE, update_demographics;
    get_demographic_history(GetDemographicHistoryRequest) -> GetDemographicHistoryResponse, INTAKE, demographic_history;
    merge_patients(MergePatientsRequest) -> MergePatientsResponse, INTAKE, merge;
    record_assessment(RecordAssessmentRequest) -> RecordAssessmentResponse, CARE_TEAM, record_assessment;
    override_placement(OverridePlacementRequest) -> OverridePlacementResponse, CLINICIANS, override_placement;
    record_consent(RecordConsentRequest) -> RecordConsentResponse, CARE_TEAM, record_consent;
    revoke_consent(RevokeConsentRequest) -> RevokeConsentResponse, CARE_TEAM, revoke_consent;
    record_consent_expiry_event(RecordConsentExpiryEventRequest) -> RecordConsentExpiryEventResponse, CARE_TEAM, consent_expiry_event;
    list_consents(ListConsentsRequest) -> ListConsentsResponse, READERS, list_consents;
    check_disclosure(CheckDisclosureRequest) -> CheckDisclosureResponse, READERS, check_disclosure;
    record_coverage(RecordCoverageRequest) -> RecordCoverageResponse, COVERAGE_WRITERS, record_coverage;
}
