//! How events fold into a patient's view: plain functions from the previous state
//! and one event to the next state. They tolerate missing, repeated and
//! out-of-order events; which event types reach them is the router's business
//! (`events.rs`), which skips the types this view does not fold.

use chrono::NaiveDate;
use iop_proto::{
    admissions::events::v1::{
        BreakGlassAccessGranted, ConsentExpired, ConsentRecorded, ConsentRevoked, PatientAdmitted,
        PatientDemographicsUpdated, PatientDischarged, PatientLinkedToFacility, PatientRegistered,
        PatientTransferred, PatientsMerged,
    },
    patientview::v1::CareStatus,
    scheduling::events::v1::AttendanceRecorded,
};

/// A patient as the view knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientState {
    /// Medical record number.
    pub mrn: String,
    /// Legal given name.
    pub given_name: String,
    /// Legal middle name.
    pub middle_name: String,
    /// Legal family name.
    pub family_name: String,
    /// Preferred name.
    pub preferred_name: String,
    /// Date of birth, once registered.
    pub date_of_birth: Option<NaiveDate>,
    /// Facility of registration.
    pub registered_facility_id: String,
    /// Where in the care path.
    pub status: CareStatus,
    /// The active episode.
    pub episode: Option<EpisodeState>,
}

/// The active episode of care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeState {
    /// Episode id.
    pub episode_id: String,
    /// Facility.
    pub facility_id: String,
    /// Program (proto value).
    pub program: i32,
    /// Level of care (proto value).
    pub level_of_care: i32,
    /// First day.
    pub admitted_on: Option<NaiveDate>,
}

/// An event the view folds.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewEvent {
    /// `iop.admissions.events.v1.PatientRegistered`.
    Registered(PatientRegistered),
    /// `iop.admissions.events.v1.PatientAdmitted`.
    Admitted(PatientAdmitted),
    /// `iop.admissions.events.v1.PatientTransferred`.
    Transferred(PatientTransferred),
    /// `iop.admissions.events.v1.PatientDischarged`.
    Discharged(PatientDischarged),
    /// `iop.admissions.events.v1.PatientDemographicsUpdated`.
    DemographicsUpdated(PatientDemographicsUpdated),
    /// `iop.admissions.events.v1.PatientsMerged` (about the survivor).
    Merged(PatientsMerged),
    /// `iop.admissions.events.v1.ConsentRecorded`.
    ConsentRecorded(ConsentRecorded),
    /// `iop.admissions.events.v1.ConsentRevoked`.
    ConsentRevoked(ConsentRevoked),
    /// `iop.admissions.events.v1.ConsentExpired`.
    ConsentExpired(ConsentExpired),
    /// `iop.admissions.events.v1.PatientLinkedToFacility`: the facility
    /// knows the patient from now on (its timeline entry says where).
    Linked(PatientLinkedToFacility),
    /// `iop.admissions.events.v1.BreakGlassAccessGranted`: kept beside the
    /// view until it expires; its timeline entry names no facility, so it
    /// never makes the facility know the patient for good.
    BreakGlass(BreakGlassAccessGranted),
    /// `iop.scheduling.events.v1.AttendanceRecorded`.
    Attended(AttendanceRecorded),
    /// One of clinical's events the view keeps (`crate::clinical`): it
    /// changes no field of the row, only the clinical items and the timeline.
    Clinical(crate::clinical::Fact),
}

impl ViewEvent {
    /// The patient the event is about.
    pub fn patient_id(&self) -> &str {
        match self {
            ViewEvent::Registered(e) => &e.patient_id,
            ViewEvent::Admitted(e) => &e.patient_id,
            ViewEvent::Transferred(e) => &e.patient_id,
            ViewEvent::Discharged(e) => &e.patient_id,
            ViewEvent::DemographicsUpdated(e) => &e.patient_id,
            ViewEvent::Merged(e) => &e.survivor_id,
            ViewEvent::ConsentRecorded(e) => {
                e.consent.as_ref().map_or("", |c| c.patient_id.as_str())
            }
            ViewEvent::ConsentRevoked(e) => &e.patient_id,
            ViewEvent::ConsentExpired(e) => &e.patient_id,
            ViewEvent::Linked(e) => &e.patient_id,
            ViewEvent::BreakGlass(e) => &e.patient_id,
            ViewEvent::Attended(e) => &e.patient_id,
            ViewEvent::Clinical(f) => f.patient_id(),
        }
    }

    /// The facility where it happened.
    pub fn facility_id(&self) -> &str {
        match self {
            ViewEvent::Registered(e) => &e.facility_id,
            ViewEvent::Admitted(e) => &e.facility_id,
            ViewEvent::Transferred(e) => &e.to_facility_id,
            ViewEvent::Discharged(e) => &e.facility_id,
            ViewEvent::Merged(e) => e.active_episode.as_ref().map_or("", |a| &a.facility_id),
            ViewEvent::Attended(e) => &e.facility_id,
            ViewEvent::Linked(e) => &e.facility_id,
            ViewEvent::Clinical(f) => f.facility_id(),
            ViewEvent::DemographicsUpdated(_)
            | ViewEvent::BreakGlass(_)
            | ViewEvent::ConsentRecorded(_)
            | ViewEvent::ConsentRevoked(_)
            | ViewEvent::ConsentExpired(_) => "",
        }
    }
}

/// A wire date as a calendar date, if it is one.
fn day(d: Option<&iop_proto::common::v1::Date>) -> Option<NaiveDate> {
    iop_runtime::wire::naive_date(d)
}

/// The patient is in episode `id` at `facility`, in (program, level of care),
/// since `on`.
fn enter(s: &mut PatientState, id: &str, facility: &str, care: (i32, i32), on: Option<NaiveDate>) {
    s.status = CareStatus::Admitted;
    s.episode = Some(EpisodeState {
        episode_id: id.to_owned(),
        facility_id: facility.to_owned(),
        program: care.0,
        level_of_care: care.1,
        admitted_on: on,
    });
}

/// The state after `event`. An admission seen before its registration (the
/// registration was dead-lettered) still yields a usable, partial view.
pub fn apply(state: Option<PatientState>, event: &ViewEvent) -> PatientState {
    let mut s = state.unwrap_or_default();
    match event {
        ViewEvent::Registered(e) => {
            let name = e.legal_name.clone().unwrap_or_default();
            s.mrn = e.mrn.clone();
            s.given_name = name.given;
            s.middle_name = name.middle;
            s.family_name = name.family;
            s.preferred_name = e.preferred_name.clone();
            s.date_of_birth = day(e.date_of_birth.as_ref());
            s.registered_facility_id = e.facility_id.clone();
            if s.status == CareStatus::Unspecified {
                s.status = CareStatus::Registered;
            }
        }
        ViewEvent::Admitted(e) => {
            let on = day(e.admitted_on.as_ref());
            enter(
                &mut s,
                &e.episode_id,
                &e.facility_id,
                (e.program, e.level_of_care),
                on,
            );
        }
        ViewEvent::Transferred(e) => {
            // The episode moves; it began where it began.
            let on = s.episode.as_ref().and_then(|ep| ep.admitted_on);
            enter(
                &mut s,
                &e.episode_id,
                &e.to_facility_id,
                (e.program, e.level_of_care),
                on,
            );
        }
        ViewEvent::Discharged(e) => {
            // A discharge of an older episode (replayed out of order) must not
            // close the current one.
            if s.episode
                .as_ref()
                .is_none_or(|ep| ep.episode_id == e.episode_id)
            {
                s.status = CareStatus::Discharged;
                s.episode = None;
            }
        }
        ViewEvent::DemographicsUpdated(e) => {
            let name = e.legal_name.clone().unwrap_or_default();
            s.given_name = name.given;
            s.middle_name = name.middle;
            s.family_name = name.family;
            s.preferred_name = e.preferred_name.clone();
            s.date_of_birth = day(e.date_of_birth.as_ref());
        }
        ViewEvent::Merged(e) => {
            // The survivor takes over the merged-away record's active episode;
            // its own stays (admissions refuses a merge of two active ones).
            if let Some(a) = &e.active_episode {
                let on = day(a.admitted_on.as_ref());
                enter(
                    &mut s,
                    &a.episode_id,
                    &a.facility_id,
                    (a.program, a.level_of_care),
                    on,
                );
            }
        }
        // Consents, weekly attendance and clinical facts are kept beside the
        // view row, not in it; a link is a timeline entry at its facility.
        ViewEvent::ConsentRecorded(_)
        | ViewEvent::ConsentRevoked(_)
        | ViewEvent::ConsentExpired(_)
        | ViewEvent::Linked(_)
        | ViewEvent::BreakGlass(_)
        | ViewEvent::Attended(_)
        | ViewEvent::Clinical(_) => {}
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use iop_proto::common::v1::{Date, PersonName, Program};

    use super::*;

    fn registered() -> PatientRegistered {
        PatientRegistered {
            patient_id: "p".into(),
            mrn: "IOP0000000018".into(),
            legal_name: Some(PersonName {
                given: "Ana".into(),
                middle: String::new(),
                family: "Reyes".into(),
            }),
            date_of_birth: Some(Date {
                year: 1990,
                month: 4,
                day: 12,
            }),
            facility_id: "sf".into(),
            ..Default::default()
        }
    }

    fn admitted(facility: &str) -> PatientAdmitted {
        PatientAdmitted {
            patient_id: "p".into(),
            episode_id: "e".into(),
            facility_id: facility.into(),
            program: Program::IopDay as i32,
            admitted_on: Some(Date {
                year: 2026,
                month: 11,
                day: 2,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_merge_hands_the_active_episode_to_the_survivor() {
        let survivor = apply(None, &ViewEvent::Registered(registered()));
        let merged = PatientsMerged {
            survivor_id: "p".into(),
            merged_away_id: "q".into(),
            active_episode: Some(iop_proto::admissions::events::v1::MergedEpisode {
                episode_id: "e-q".into(),
                facility_id: "fresno".into(),
                program: Program::IopEvening as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = apply(Some(survivor.clone()), &ViewEvent::Merged(merged.clone()));
        assert_eq!(s.status, CareStatus::Admitted);
        assert_eq!(s.episode.as_ref().unwrap().facility_id, "fresno");
        assert_eq!(s.mrn, survivor.mrn);
        let none = PatientsMerged {
            active_episode: None,
            ..merged
        };
        assert_eq!(
            apply(Some(survivor.clone()), &ViewEvent::Merged(none)),
            survivor
        );
    }

    #[test]
    fn registration_then_admission() {
        let s = apply(None, &ViewEvent::Registered(registered()));
        assert_eq!(
            (s.status, s.family_name.as_str()),
            (CareStatus::Registered, "Reyes")
        );
        assert_eq!(s.date_of_birth, NaiveDate::from_ymd_opt(1990, 4, 12));
        let s = apply(Some(s), &ViewEvent::Admitted(admitted("oakland")));
        assert_eq!(s.status, CareStatus::Admitted);
        let ep = s.episode.unwrap();
        assert_eq!(ep.facility_id, "oakland");
        assert_eq!(ep.admitted_on, NaiveDate::from_ymd_opt(2026, 11, 2));
        assert_eq!(s.registered_facility_id, "sf");
    }

    #[test]
    fn late_registration_keeps_admission() {
        let s = apply(None, &ViewEvent::Admitted(admitted("sf")));
        let s = apply(Some(s), &ViewEvent::Registered(registered()));
        assert_eq!(s.status, CareStatus::Admitted);
        assert_eq!(s.mrn, "IOP0000000018");
    }

    #[test]
    fn transfer_moves_the_episode_and_discharge_closes_it() {
        let s = apply(None, &ViewEvent::Registered(registered()));
        let s = apply(Some(s), &ViewEvent::Admitted(admitted("oakland")));
        let moved = PatientTransferred {
            patient_id: "p".into(),
            episode_id: "e".into(),
            from_facility_id: "oakland".into(),
            to_facility_id: "fresno".into(),
            program: Program::IopEvening as i32,
            ..Default::default()
        };
        let s = apply(Some(s), &ViewEvent::Transferred(moved));
        let ep = s.episode.clone().unwrap();
        assert_eq!(
            (ep.facility_id.as_str(), ep.program),
            ("fresno", Program::IopEvening as i32)
        );
        assert_eq!(
            ep.admitted_on,
            NaiveDate::from_ymd_opt(2026, 11, 2),
            "admission date kept"
        );
        let discharged = |episode: &str| {
            ViewEvent::Discharged(PatientDischarged {
                patient_id: "p".into(),
                episode_id: episode.into(),
                ..Default::default()
            })
        };
        let s = apply(Some(s), &discharged("older"));
        assert_eq!(
            s.status,
            CareStatus::Admitted,
            "another episode's discharge changes nothing"
        );
        let s = apply(Some(s), &discharged("e"));
        assert_eq!((s.status, s.episode), (CareStatus::Discharged, None));
    }
}
