//! The view's rows in their wire form.

use iop_proto::{
    common::v1::PersonName,
    patientview::v1::{CurrentEpisode, PatientView, TimelineEntry},
};
use iop_runtime::wire;

use crate::entity::{clinical_item, timeline, view};

/// A view row, its timeline and its merged records as the contract's `PatientView`.
pub fn patient_view(
    v: view::Model,
    entries: Vec<timeline::Model>,
    merged: Vec<view::Model>,
    attended_minutes_this_week: u32,
    week_start: Option<iop_proto::common::v1::Date>,
    clinical: Vec<clinical_item::Model>,
) -> PatientView {
    let clinical = crate::clinical::summary(
        clinical
            .iter()
            .map(|i| (i.kind.as_str(), i.body.as_slice())),
    );
    PatientView {
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
        current_episode: match (v.episode_id, v.facility_id) {
            (Some(episode_id), Some(facility_id)) => Some(CurrentEpisode {
                episode_id,
                facility_id,
                program: v.program,
                level_of_care: v.level_of_care,
                admitted_on: v.admitted_on.map(wire::date),
            }),
            _ => None,
        },
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
        clinical: Some(clinical),
    }
}
