//! The gRPC face of scheduling: the role table, the service struct, and what
//! the handlers share (look-ups that name what is missing, the facility check,
//! the access rule for a patient's records). One file per resource: tracks and
//! sessions, bookings, attendance, weekly hours.

mod attendance;
mod bookings;
pub(crate) mod convert;

pub(crate) use convert::enrollment as enrollment_message;
mod hours;
mod tracks;

use iop_consent::{
    gate::{self, Intent},
    known::PatientAccess,
};
use iop_messaging::work::Ledger;
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
    SchedulingApi => SchedulingService as "scheduling" audited by ledger {
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

    /// The access rule over `patient_id`'s schedule, decided before anything
    /// about the patient is read or said (not even that no enrollment
    /// exists): the network's door ([`iop_consent::gate`]), on one snapshot
    /// of the replicas, auditing allowed reads and every refusal. A
    /// merged-away id reads as its survivor and refuses writes.
    async fn authorize(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: &PatientId,
        intent: Intent<'_>,
    ) -> Result<PatientAccess> {
        gate::authorize(&self.ledger, call, action, patient_id, intent)
            .await
            .map(|allowed| allowed.access)
            .map_err(|refused| {
                refused.into_error(|patient_id| SchedulingError::Merged { patient_id })
            })
    }

    /// The patient's enrollment to read, once [`Self::authorize`] allows it:
    /// the active one, else the latest.
    async fn readable_enrollment(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: &str,
    ) -> Result<enrollment::Model> {
        let patient_id = PatientId::parse("patient_id", patient_id)?;
        let access = self
            .authorize(call, action, &patient_id, Intent::Read)
            .await?;
        let all = enrollments::of_patient(self.ledger.conn(), &access.patient_id).await?;
        all.iter()
            .find(|e| e.active)
            .or(all.first())
            .cloned()
            .ok_or(SchedulingError::NotFound {
                what: "enrollment of patient",
                id: patient_id.into_string(),
            })
    }
}
