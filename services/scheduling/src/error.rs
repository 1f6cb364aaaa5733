//! The scheduling error type and its one mapping to gRPC statuses: struct
//! variants, each with a stable reason code (`ErrorInfo`, domain
//! `iop.scheduling`), a bad argument also with its field. Messages name
//! fields and ids, never patient data.

use chrono::NaiveDate;
use iop_messaging::consumer::ApplyError;
use iop_runtime::{ids::FieldError, status::ServiceError};
use tonic::Code;

iop_runtime::service_error! {
/// Everything a scheduling command or query can fail with.
pub enum SchedulingError in "iop.scheduling" {
    /// Something referred to does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    } => (NotFound, "NOT_FOUND"),
    /// Scheduling has not heard of the facility (no `FacilityRecorded` yet).
    #[error("facility {facility_id} is not known to scheduling yet (no FacilityRecorded event)")]
    UnknownFacility {
        /// The facility.
        facility_id: String,
    } => (FailedPrecondition, "FACILITY_UNKNOWN"),
    /// The record was merged into another: its schedule lives on the survivor.
    #[error("patient {patient_id} was merged into another record; use the surviving record")]
    Merged {
        /// The merged-away id.
        patient_id: String,
    } => (FailedPrecondition, "PATIENT_MERGED"),
    /// The day is after the patient's episode ended.
    #[error("session {session_id} is on {day}, after patient {patient_id}'s episode ended on {last_day}")]
    EpisodeEnded {
        /// The session.
        session_id: String,
        /// The patient.
        patient_id: String,
        /// The session's day.
        day: chrono::NaiveDate,
        /// The episode's last day.
        last_day: chrono::NaiveDate,
    } => (FailedPrecondition, "EPISODE_ENDED"),
    /// The patient has no active episode.
    #[error("patient {patient_id} has no active episode")]
    NoActiveEpisode {
        /// The patient.
        patient_id: String,
    } => (FailedPrecondition, "NO_ACTIVE_EPISODE"),
    /// The patient's episode is at another facility.
    #[error("patient {patient_id}'s episode is at facility {episode_facility}, not {facility_id}")]
    EpisodeElsewhere {
        /// The patient.
        patient_id: String,
        /// Where the episode is.
        episode_facility: String,
        /// Where the session or track is.
        facility_id: String,
    } => (FailedPrecondition, "EPISODE_AT_ANOTHER_FACILITY"),
    /// The session is before the admission.
    #[error("session {session_id} is before patient {patient_id}'s admission on {admitted_on}")]
    BeforeAdmission {
        /// The session.
        session_id: String,
        /// The patient.
        patient_id: String,
        /// The first day of the episode.
        admitted_on: NaiveDate,
    } => (FailedPrecondition, "BEFORE_ADMISSION"),
    /// The patient already holds a place in the session.
    #[error(
        "patient {patient_id} is already booked for session {session_id} (booking {booking_id})"
    )]
    AlreadyBooked {
        /// The patient.
        patient_id: String,
        /// The session.
        session_id: String,
        /// The existing booking.
        booking_id: String,
    } => (FailedPrecondition, "ALREADY_BOOKED"),
    /// No place is left.
    #[error("session {session_id} is full ({taken} of {capacity} places)")]
    SessionFull {
        /// The session.
        session_id: String,
        /// Places taken.
        taken: u64,
        /// Places in all.
        capacity: i32,
    } => (FailedPrecondition, "SESSION_FULL"),
    /// The patient holds an overlapping booking.
    #[error(
        "patient {patient_id} is double-booked: booking {booking_id} (session {other_session_id}) overlaps session {session_id}"
    )]
    PatientDoubleBooked {
        /// The patient.
        patient_id: String,
        /// The overlapping booking.
        booking_id: String,
        /// Its session.
        other_session_id: String,
        /// The session asked for.
        session_id: String,
    } => (FailedPrecondition, "PATIENT_DOUBLE_BOOKED"),
    /// The clinician already runs an overlapping session.
    #[error("clinician {clinician} is double-booked: session {session_id} overlaps")]
    ClinicianDoubleBooked {
        /// The clinician.
        clinician: String,
        /// The overlapping session.
        session_id: String,
    } => (FailedPrecondition, "CLINICIAN_DOUBLE_BOOKED"),
    /// The room already holds an overlapping session.
    #[error("room {room} is double-booked: session {session_id} overlaps")]
    RoomDoubleBooked {
        /// The room.
        room: String,
        /// The overlapping session.
        session_id: String,
    } => (FailedPrecondition, "ROOM_DOUBLE_BOOKED"),
    /// The track delivers another program than the episode's.
    #[error("track {track_id} delivers {track_program}, not the episode's {episode_program}")]
    ProgramMismatch {
        /// The track.
        track_id: String,
        /// Its program.
        track_program: &'static str,
        /// The episode's.
        episode_program: &'static str,
    } => (FailedPrecondition, "PROGRAM_MISMATCH"),
    /// The patient is in the track already.
    #[error("patient {patient_id} is already enrolled in track {track_id}")]
    AlreadyInTrack {
        /// The patient.
        patient_id: String,
        /// The track.
        track_id: String,
    } => (FailedPrecondition, "ALREADY_IN_TRACK"),
    /// The booking was cancelled before.
    #[error("booking {booking_id} is already cancelled")]
    AlreadyCancelled {
        /// The booking.
        booking_id: String,
    } => (FailedPrecondition, "ALREADY_CANCELLED"),
    /// Attendance of a session that has not started.
    #[error("session {session_id} has not started")]
    NotStarted {
        /// The session.
        session_id: String,
    } => (FailedPrecondition, "SESSION_NOT_STARTED"),
    /// Attendance of a patient without a booking.
    #[error("patient {patient_id} is not booked for session {session_id}")]
    NotBooked {
        /// The patient.
        patient_id: String,
        /// The session.
        session_id: String,
    } => (FailedPrecondition, "NOT_BOOKED"),
    /// Attendance recorded twice.
    #[error("attendance of patient {patient_id} at session {session_id} is already recorded")]
    AttendanceAlreadyRecorded {
        /// The patient.
        patient_id: String,
        /// The session.
        session_id: String,
    } => (FailedPrecondition, "ATTENDANCE_ALREADY_RECORDED"),
    /// The week is not over at the facility.
    #[error("the week of {week} has not ended at facility {facility_id}")]
    WeekNotEnded {
        /// Its Monday.
        week: NaiveDate,
        /// The facility.
        facility_id: String,
    } => (FailedPrecondition, "WEEK_NOT_ENDED"),
    /// Stored data breaks an invariant (a value the contract does not know).
    #[error("stored {what} is not valid")]
    Corrupt {
        /// What.
        what: String,
    } => (Internal, "CORRUPT_RECORD"),
}
}

impl SchedulingError {
    /// An invalid field.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError::new(field, reason).into()
    }

    /// Whether this refusal comes from the schedule's state (a booking rule),
    /// which the transfer handler answers by leaving the cancellation standing.
    pub fn is_refusal(&self) -> bool {
        self.code() == Code::FailedPrecondition
    }
}

impl From<crate::attendance::AttendanceError> for SchedulingError {
    fn from(e: crate::attendance::AttendanceError) -> Self {
        SchedulingError::invalid(e.field, e.reason)
    }
}

/// How the consumer treats a failure applying an event: storage follows the
/// database's own rule (unreachable: wait; failed: retry), anything else is
/// in the event and will not change on a retry.
impl From<SchedulingError> for ApplyError {
    fn from(e: SchedulingError) -> Self {
        match e {
            SchedulingError::Storage(db) => db.into(),
            other => ApplyError::Permanent(other.to_string()),
        }
    }
}
