//! The master patient index over gRPC: registration with duplicate candidates
//! (registers nobody until a person confirms; the search is `duplicates`) and
//! look-up.

use chrono::Utc;
use iop_messaging::work::{Access, Actor, Stream};
use iop_proto::admissions::v1::{
    GetPatientRequest, GetPatientResponse, RegisterPatientRequest, RegisterPatientResponse,
    RegistrationOutcome,
};
use iop_runtime::{
    grpc::Call,
    ids::{self, FacilityId, PatientId},
};
use rand::Rng;
use sea_orm::{Set, SqlErr};

use super::{AdmissionsApi, convert};
use crate::{entity::patient, error::AdmissionsError, events, matching, mrn, store::patients};

const REGISTER: &str = "admissions.RegisterPatient";

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
            let r = &v.registration;
            let person = matching::Demographics {
                given: r.legal_name.given.expose(),
                family: r.legal_name.family.expose(),
                date_of_birth: *r.date_of_birth.expose(),
                sex: matching::Sex::from_contract(r.sex as i32),
                phone: r.phone.expose(),
                ssn_last4: r.ssn_last4.expose(),
            };
            let candidates = self
                .duplicate_candidates(call, &person, None, facility_id.as_str())
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
        let keys = matching::index_keys(&convert::matchable(&inserted));
        patients::index_for_matching(work.txn(), pid, Some(keys)).await?;
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
