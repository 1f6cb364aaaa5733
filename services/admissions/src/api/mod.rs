//! The gRPC face of admissions: the role table, the service struct, and what
//! the handlers share — resolving a patient id (merged-away ids read as the
//! survivor), the access rule with its audit, claiming a patient's stream in a
//! unit of work, and a patient's wire form. One file per resource.

mod break_glass;
mod consents;
pub(crate) mod convert;
mod coverage;
mod demographics;
mod duplicates;
pub(crate) mod episodes;
mod facilities;
mod links;
mod merges;
mod patients;
mod placements;

use chrono::Utc;
use iop_consent::access::{self, Basis};
use iop_messaging::work::{Access, Actor, Ledger, Stream, UnitOfWork};
use iop_proto::admissions::v1::{
    self as api, Patient, PatientStatus, admissions_service_server::AdmissionsService,
};
use iop_proto::contexts::ADMISSIONS as CONTEXT;
use iop_runtime::{
    auth::Role,
    consistency::{ConsistencyToken, TokenKey},
    grpc::Call,
    ids::{FacilityId, PatientId},
    wire,
};

use crate::{
    entity::{episode, patient},
    error::AdmissionsError,
    settings::AdmissionsSettings,
    store::{
        consents as consent_rows, coverages, episodes as episode_rows, facilities as facility_rows,
        patients as patient_rows,
    },
};

/// Registration, admission, demographics, duplicates and merges: the front desk.
const INTAKE: &[Role] = &[Role::Intake, Role::Admin];
/// Transfers, discharges, screening and consents are recorded by intake or clinicians.
const CARE_TEAM: &[Role] = &[Role::Intake, Role::Clinician, Role::Admin];
/// Breaking the glass is a clinician's call in a medical emergency.
const EMERGENCY: &[Role] = &[Role::Clinician, Role::Admin];
/// Overriding a placement is a clinical decision.
const CLINICIANS: &[Role] = &[Role::Clinician];
/// Coverage is recorded at intake or by billing.
const COVERAGE_WRITERS: &[Role] = &[Role::Intake, Role::Billing, Role::Admin];
/// Reads of patient records.
const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];
/// The facility registry holds no patient data.
const ANYONE: &[Role] = &Role::ALL;

/// `iop.admissions.v1.AdmissionsService`.
#[derive(Clone)]
pub struct AdmissionsApi {
    ledger: Ledger,
    settings: AdmissionsSettings,
    tokens: TokenKey,
}

impl AdmissionsApi {
    /// The service over its ledger, signing consistency tokens with `tokens`.
    pub fn new(ledger: Ledger, settings: AdmissionsSettings, tokens: TokenKey) -> Self {
        Self {
            ledger,
            settings,
            tokens,
        }
    }
}

iop_runtime::grpc_service! {
    AdmissionsApi => AdmissionsService as "admissions" audited by ledger {
        register_patient(api::RegisterPatientRequest) -> api::RegisterPatientResponse, INTAKE => register;
        get_patient(api::GetPatientRequest) -> api::GetPatientResponse, READERS => get;
        admit_patient(api::AdmitPatientRequest) -> api::AdmitPatientResponse, INTAKE => admit;
        transfer_patient(api::TransferPatientRequest) -> api::TransferPatientResponse, CARE_TEAM => transfer;
        discharge_patient(api::DischargePatientRequest) -> api::DischargePatientResponse, CARE_TEAM => discharge;
        put_facility(api::PutFacilityRequest) -> api::PutFacilityResponse, &[Role::Admin] => put_facility;
        list_facilities(api::ListFacilitiesRequest) -> api::ListFacilitiesResponse, ANYONE => list_facilities;
        update_demographics(api::UpdateDemographicsRequest) -> api::UpdateDemographicsResponse, INTAKE => update_demographics;
        get_demographic_history(api::GetDemographicHistoryRequest) -> api::GetDemographicHistoryResponse, INTAKE => demographic_history;
        merge_patients(api::MergePatientsRequest) -> api::MergePatientsResponse, INTAKE => merge;
        find_duplicates(api::FindDuplicatesRequest) -> api::FindDuplicatesResponse, INTAKE => find_duplicates;
        declare_distinct(api::DeclareDistinctRequest) -> api::DeclareDistinctResponse, INTAKE => declare_distinct;
        break_glass(api::BreakGlassRequest) -> api::BreakGlassResponse, EMERGENCY => break_glass;
        link_patient_to_facility(api::LinkPatientToFacilityRequest) -> api::LinkPatientToFacilityResponse, CARE_TEAM => link_patient;
        record_assessment(api::RecordAssessmentRequest) -> api::RecordAssessmentResponse, CARE_TEAM => record_assessment;
        override_placement(api::OverridePlacementRequest) -> api::OverridePlacementResponse, CLINICIANS => override_placement;
        record_consent(api::RecordConsentRequest) -> api::RecordConsentResponse, CARE_TEAM => record_consent;
        revoke_consent(api::RevokeConsentRequest) -> api::RevokeConsentResponse, CARE_TEAM => revoke_consent;
        record_consent_expiry_event(api::RecordConsentExpiryEventRequest) -> api::RecordConsentExpiryEventResponse, CARE_TEAM => consent_expiry_event;
        list_consents(api::ListConsentsRequest) -> api::ListConsentsResponse, READERS => list_consents;
        check_disclosure(api::CheckDisclosureRequest) -> api::CheckDisclosureResponse, READERS => check_disclosure;
        record_coverage(api::RecordCoverageRequest) -> api::RecordCoverageResponse, COVERAGE_WRITERS => record_coverage;
    }
}

impl AdmissionsApi {
    /// The signed consistency token of a write that reached `sequence` of
    /// `patient_id`'s stream.
    fn token(&self, patient_id: &str, sequence: i64) -> String {
        ConsistencyToken {
            source: CONTEXT.to_owned(),
            aggregate_id: patient_id.to_owned(),
            sequence,
        }
        .encode(&self.tokens)
    }
}

/// Today in `facility_id`'s time zone: every "day" (admission, transfer and
/// discharge dates, age, consent dates, "not in the future") is a day at a
/// facility, never a UTC day.
pub(crate) async fn today_at<C: sea_orm::ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<chrono::NaiveDate, AdmissionsError> {
    let zone = zone_of(db, facility_id).await?;
    Ok(Utc::now().with_timezone(&zone).date_naive())
}

/// `facility_id`'s time zone, from the registry.
pub(crate) async fn zone_of<C: sea_orm::ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<chrono_tz::Tz, AdmissionsError> {
    let f =
        facility_rows::find(db, facility_id)
            .await?
            .ok_or_else(|| AdmissionsError::NotFound {
                what: "facility",
                id: facility_id.to_owned(),
            })?;
    f.time_zone.parse().map_err(|_| AdmissionsError::Corrupt {
        what: format!("time zone of facility {facility_id}"),
    })
}

/// A patient claimed in a unit of work: its stream is locked, its row and
/// active episode read under that lock.
struct Claimed {
    patient: patient::Model,
    active: Option<episode::Model>,
}

/// Locks `patient_id`'s stream in `work`, then reads the patient; a
/// merged-away record takes no more changes.
async fn claim(work: &mut UnitOfWork, patient_id: &str) -> Result<Claimed, AdmissionsError> {
    work.lock(Stream::patient(patient_id)).await?;
    let patient = patient_rows::find(work.txn(), patient_id)
        .await?
        .ok_or_else(|| AdmissionsError::PatientNotFound {
            patient_id: patient_id.to_owned(),
        })?;
    if patient.merged_into.is_some() {
        return Err(AdmissionsError::Merged {
            patient_id: patient.id.clone(),
        });
    }
    let active = episode_rows::active(work.txn(), &patient.id).await?;
    Ok(Claimed { patient, active })
}

impl AdmissionsApi {
    /// The patient a request's `field` names (or its survivor), if the caller
    /// may read it: the access rule decided before anything about the patient
    /// is said, the allowed read audited. A patient that does not exist is the
    /// same audited PERMISSION_DENIED as one the caller may not see, except to
    /// a caller acting for every facility (NOT_FOUND).
    async fn read(
        &self,
        call: &Call,
        action: &'static str,
        field: &'static str,
        value: &str,
    ) -> Result<patient::Model, AdmissionsError> {
        let id = PatientId::parse(field, value)?;
        let p = match patient_rows::resolve(self.ledger.conn(), id.as_str()).await {
            Ok(p) => p,
            Err(AdmissionsError::PatientNotFound { .. })
                if !call.caller.acts_for(iop_runtime::auth::ALL_FACILITIES) =>
            {
                return Err(self.deny(call, action, id.as_str()).await?);
            }
            Err(e) => return Err(e),
        };
        self.authorize_read(call, action, &p).await?;
        Ok(p)
    }

    /// On which basis the caller's facility may see `p` (the shared rule).
    async fn access(
        &self,
        call: &Call,
        p: &patient::Model,
    ) -> Result<Option<Basis>, AdmissionsError> {
        let db = self.ledger.conn();
        let known_at = patient_rows::known_at(db, p).await?;
        let consents = consent_rows::rules_of(db, &p.id).await?;
        let basis = access::facility_access(
            |f| call.caller.acts_for(f),
            &known_at,
            &consents,
            call.purpose,
            Utc::now(),
        );
        if basis.is_some() {
            return Ok(basis);
        }
        // Last, a medical emergency: this clinician's own unexpired grant.
        Ok(break_glass::grant_of(db, call, &p.id)
            .await?
            .map(|g| Basis::Emergency {
                facility_id: g.facility_id,
                grant_id: g.id,
            }))
    }

    /// The caller acts for `facility_id`, and the facility is registered.
    async fn acting_at(
        &self,
        call: &Call,
        facility_id: &FacilityId,
    ) -> Result<(), AdmissionsError> {
        call.caller.require_facility(facility_id.as_str())?;
        if facility_rows::find(self.ledger.conn(), facility_id.as_str())
            .await?
            .is_none()
        {
            return Err(AdmissionsError::NotFound {
                what: "facility",
                id: facility_id.to_string(),
            });
        }
        Ok(())
    }

    /// Records a denial of `action` on `patient_id` and answers it: the same
    /// PERMISSION_DENIED whatever the reason, and whether the patient exists.
    async fn deny(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: &str,
    ) -> Result<AdmissionsError, AdmissionsError> {
        self.ledger
            .record_access(
                &Actor::of(call, action),
                &[Access::denied(Some(patient_id), None)],
            )
            .await?;
        Ok(iop_runtime::auth::Denied::PATIENT_NOT_VISIBLE.into())
    }

    /// The access rule for a read of `p`'s record: PERMISSION_DENIED, audited,
    /// unless the caller's facility knows the patient or a consent names it.
    async fn authorize(
        &self,
        call: &Call,
        action: &'static str,
        p: &patient::Model,
    ) -> Result<Basis, AdmissionsError> {
        match self.access(call, p).await? {
            Some(basis) => Ok(basis),
            None => Err(self.deny(call, action, &p.id).await?),
        }
    }

    /// [`Self::authorize`], then the audit row of the allowed read (with the
    /// consent, when it is a disclosure).
    async fn authorize_read(
        &self,
        call: &Call,
        action: &'static str,
        p: &patient::Model,
    ) -> Result<Basis, AdmissionsError> {
        let basis = self.authorize(call, action, p).await?;
        self.ledger
            .record_access(&Actor::of(call, action), &[basis.access(&p.id)])
            .await?;
        Ok(basis)
    }

    /// The access rule for a change of the patient `patient_id` names, decided
    /// before anything about the patient is said: the caller must act for a
    /// facility where the patient is known (registered, an episode, linked) —
    /// `at`, when the request names one. A consent lets a facility read, never
    /// write. Anything else, including a patient that does not exist, is the
    /// same audited PERMISSION_DENIED; only a caller acting for every facility
    /// learns NOT_FOUND. Returns the patient and the facility the change is for.
    async fn authorize_write(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: &PatientId,
        at: Option<&str>,
    ) -> Result<(patient::Model, String), AdmissionsError> {
        let db = self.ledger.conn();
        let Some(p) = patient_rows::find(db, patient_id.as_str()).await? else {
            if call.caller.acts_for(iop_runtime::auth::ALL_FACILITIES) {
                return Err(AdmissionsError::PatientNotFound {
                    patient_id: patient_id.to_string(),
                });
            }
            return Err(self.deny(call, action, patient_id.as_str()).await?);
        };
        let known = patient_rows::known_at(db, &p).await?;
        match access::writer_facility(|f| call.caller.acts_for(f), &known, at) {
            Some(f) => Ok((p, f)),
            None => Err(self.deny(call, action, &p.id).await?),
        }
    }

    /// Opens the unit of work of `action` on the patient a request's `field`
    /// names, if the caller may change it ([`Self::authorize_write`]); returns
    /// it, the claimed patient and the facility the change is made for.
    async fn change(
        &self,
        call: &Call,
        action: &'static str,
        field: &'static str,
        patient_id: &str,
    ) -> Result<(UnitOfWork, Claimed, String), AdmissionsError> {
        let id = PatientId::parse(field, patient_id)?;
        let (_, facility) = self.authorize_write(call, action, &id, None).await?;
        let mut work = self.ledger.command(Actor::of(call, action)).await?;
        let claimed = claim(&mut work, id.as_str()).await?;
        Ok((work, claimed, facility))
    }

    /// The wire form of a patient, with the active episode, merged records and coverages.
    async fn patient_message(&self, p: &patient::Model) -> Result<Patient, AdmissionsError> {
        let db = self.ledger.conn();
        let active = episode_rows::active(db, &p.id).await?;
        // What a patient's record shows of them is what their demographics hold.
        let d = convert::demographics_of(p);
        let status = match active {
            Some(_) => PatientStatus::Admitted,
            None => PatientStatus::Registered,
        };
        Ok(Patient {
            patient_id: p.id.clone(),
            mrn: p.mrn.clone(),
            legal_name: d.legal_name,
            preferred_name: d.preferred_name,
            date_of_birth: d.date_of_birth,
            sex: d.sex,
            gender_identity: d.gender_identity,
            phone: d.phone,
            email: d.email,
            status: status as i32,
            active_episode: active.as_ref().map(convert::episode_message),
            registered_at: Some(wire::timestamp(p.registered_at)),
            address: d.address,
            emergency_contact: d.emergency_contact,
            merged_patient_ids: patient_rows::merged_into(db, &p.id)
                .await?
                .into_iter()
                .map(|m| m.id)
                .collect(),
            coverages: coverages::of_patient(db, &p.id).await?,
        })
    }
}
