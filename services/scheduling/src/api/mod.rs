//! The gRPC face of scheduling: the role table, the service struct, and what
//! the handlers share (look-ups that name what is missing, the facility check,
//! the access rule for a patient's records). One file per resource: tracks and
//! sessions, bookings, attendance, weekly hours.

mod attendance;
mod bookings;
mod convert;

pub(crate) use convert::enrollment as enrollment_message;
mod hours;
mod tracks;

use chrono::Utc;
use iop_messaging::work::{Access, Actor, Ledger};
use iop_proto::scheduling::v1::{self as api, scheduling_service_server::SchedulingService};
use iop_runtime::{
    auth::Role,
    grpc::Call,
    ids::{PatientId, SessionId, TrackId},
};

use crate::{
    entity::{enrollment, session, track},
    error::SchedulingError,
    settings::SchedulingSettings,
    store::{enrollments, sessions},
};

/// Who arranges the schedule: tracks, sessions, bookings.
const SCHEDULERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Admin];
/// Who records attendance and closes weeks.
const FACILITATORS: &[Role] = &[Role::Clinician, Role::Intake, Role::Admin];
/// Who reads schedules and hours.
const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];

type Result<T> = std::result::Result<T, SchedulingError>;

/// `iop.scheduling.v1.SchedulingService`.
#[derive(Clone)]
pub struct SchedulingApi {
    ledger: Ledger,
    settings: SchedulingSettings,
}

impl SchedulingApi {
    /// The service over its ledger.
    pub fn new(ledger: Ledger, settings: SchedulingSettings) -> Self {
        Self { ledger, settings }
    }
}

iop_runtime::grpc_service! {
    SchedulingApi => SchedulingService {
        create_track(api::CreateTrackRequest) -> api::CreateTrackResponse, SCHEDULERS => create_track;
        generate_sessions(api::GenerateSessionsRequest) -> api::GenerateSessionsResponse, SCHEDULERS => generate_sessions;
        list_sessions(api::ListSessionsRequest) -> api::ListSessionsResponse, READERS => list_sessions;
        get_enrollment(api::GetEnrollmentRequest) -> api::GetEnrollmentResponse, READERS => get_enrollment;
        enroll_in_track(api::EnrollInTrackRequest) -> api::EnrollInTrackResponse, SCHEDULERS => enroll_in_track;
        book_session(api::BookSessionRequest) -> api::BookSessionResponse, SCHEDULERS => book_session;
        book_individual(api::BookIndividualRequest) -> api::BookIndividualResponse, SCHEDULERS => book_individual;
        cancel_booking(api::CancelBookingRequest) -> api::CancelBookingResponse, SCHEDULERS => cancel_booking;
        record_attendance(api::RecordAttendanceRequest) -> api::RecordAttendanceResponse, FACILITATORS => record_attendance;
        get_weekly_hours(api::GetWeeklyHoursRequest) -> api::GetWeeklyHoursResponse, READERS => get_weekly_hours;
        list_at_risk(api::ListAtRiskRequest) -> api::ListAtRiskResponse, READERS => list_at_risk;
        close_week(api::CloseWeekRequest) -> api::CloseWeekResponse, FACILITATORS => close_week;
    }
}

impl SchedulingApi {
    async fn session(&self, id: &str) -> Result<session::Model> {
        let id = SessionId::parse("session_id", id)?;
        sessions::session(self.ledger.conn(), id.as_str())
            .await?
            .ok_or(SchedulingError::NotFound {
                what: "session",
                id: id.into_string(),
            })
    }

    async fn track(&self, id: &str) -> Result<track::Model> {
        let id = TrackId::parse("track_id", id)?;
        sessions::track(self.ledger.conn(), id.as_str())
            .await?
            .ok_or(SchedulingError::NotFound {
                what: "track",
                id: id.into_string(),
            })
    }

    /// The patient's enrollment to read: the active one, else the latest. The
    /// caller's facility must see the patient (the shared access rule over
    /// the facilities of the patient's episodes and the consent replica);
    /// allowed and denied reads are audited.
    async fn readable_enrollment(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: &str,
    ) -> Result<enrollment::Model> {
        let patient_id = PatientId::parse("patient_id", patient_id)?;
        let db = self.ledger.conn();
        let all = enrollments::of_patient(db, patient_id.as_str()).await?;
        let Some(current) = all.iter().find(|e| e.active).or(all.first()).cloned() else {
            return Err(SchedulingError::NotFound {
                what: "enrollment of patient",
                id: patient_id.into_string(),
            });
        };
        let known: Vec<String> = all.iter().map(|e| e.facility_id.clone()).collect();
        let consents = iop_consent::replica::consents_of(db, patient_id.as_str()).await?;
        let basis = iop_consent::access::facility_access(
            |f| call.caller.acts_for(f),
            &known,
            &consents,
            call.purpose,
            Utc::now(),
        );
        let actor = Actor::of(call, action);
        let access = match &basis {
            Some(b) => b.access(patient_id.as_str()),
            None => Access::denied(Some(patient_id.as_str()), None),
        };
        self.ledger.record_access(&actor, &[access]).await?;
        if basis.is_none() {
            return Err(iop_runtime::auth::Denied::PATIENT_NOT_VISIBLE.into());
        }
        Ok(current)
    }
}
