//! The events admissions publishes, built in one place per type from the rows
//! they describe, so every producer of a fact says it the same way. Keyed by
//! patient id (facility id for `FacilityRecorded`). Admissions consumes no
//! events, so there are no handlers here.

use chrono::{DateTime, Utc};
use iop_proto::admissions::{events::v1 as events, v1::Facility};
use iop_runtime::wire;

use crate::{
    api::convert::name_of,
    entity::{episode, patient},
};

/// `PatientRegistered` of a new patient row.
pub fn registered(p: &patient::Model, now: DateTime<Utc>) -> events::PatientRegistered {
    events::PatientRegistered {
        patient_id: p.id.clone(),
        mrn: p.mrn.clone(),
        legal_name: Some(name_of(p)),
        preferred_name: p.preferred_name.clone(),
        date_of_birth: Some(wire::date(p.date_of_birth)),
        sex: p.sex,
        gender_identity: p.gender_identity.clone(),
        facility_id: p.registered_facility_id.clone(),
        occurred_at: Some(wire::timestamp(now)),
    }
}

/// `PatientDemographicsUpdated` of a changed patient row.
pub fn demographics_updated(
    p: &patient::Model,
    reason: String,
    now: DateTime<Utc>,
) -> events::PatientDemographicsUpdated {
    events::PatientDemographicsUpdated {
        patient_id: p.id.clone(),
        legal_name: Some(name_of(p)),
        preferred_name: p.preferred_name.clone(),
        date_of_birth: Some(wire::date(p.date_of_birth)),
        sex: p.sex,
        gender_identity: p.gender_identity.clone(),
        reason,
        occurred_at: Some(wire::timestamp(now)),
    }
}

/// The active episode a merge hands over, as `PatientsMerged` carries it.
pub fn merged_episode(e: &episode::Model) -> events::MergedEpisode {
    events::MergedEpisode {
        episode_id: e.id.clone(),
        facility_id: e.facility_id.clone(),
        program: e.program,
        level_of_care: e.level_of_care,
        admitted_on: Some(wire::date(e.admitted_on)),
    }
}

/// `FacilityRecorded` of a registered facility at `version`.
pub fn facility_recorded(
    f: &Facility,
    version: i64,
    now: DateTime<Utc>,
) -> events::FacilityRecorded {
    events::FacilityRecorded {
        facility_id: f.facility_id.clone(),
        name: f.name.clone(),
        city: f.city.clone(),
        time_zone: f.time_zone.clone(),
        programs: f
            .programs
            .iter()
            .map(|p| events::ProgramCapacity {
                program: p.program,
                capacity: p.capacity,
            })
            .collect(),
        version,
        occurred_at: Some(wire::timestamp(now)),
    }
}
