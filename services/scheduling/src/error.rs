//! The scheduling error type and its one mapping to gRPC statuses: struct
//! variants, each with a stable reason code (`ErrorInfo`, domain
//! `iop.scheduling`), a bad argument also with its field. Messages name
//! fields and ids, never patient data.

use chrono::NaiveDate;
use iop_messaging::consumer::ApplyError;
use iop_runtime::{ids::FieldError, status};
use tonic::{Code, Status};

const DOMAIN: &str = "iop.scheduling";

/// Everything a scheduling command or query can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SchedulingError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Something referred to does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Scheduling has not heard of the facility (no `FacilityRecorded` yet).
    #[error("facility {facility_id} is not known to scheduling yet (no FacilityRecorded event)")]
    UnknownFacility {
        /// The facility.
        facility_id: String,
    },
    /// The patient has no active episode.
    #[error("patient {patient_id} has no active episode")]
    NoActiveEpisode {
        /// The patient.
        patient_id: String,
    },
    /// The patient's episode is at another facility.
    #[error("patient {patient_id}'s episode is at facility {episode_facility}, not {facility_id}")]
    EpisodeElsewhere {
        /// The patient.
        patient_id: String,
        /// Where the episode is.
        episode_facility: String,
        /// Where the session or track is.
        facility_id: String,
    },
    /// The session is before the admission.
    #[error("session {session_id} is before patient {patient_id}'s admission on {admitted_on}")]
    BeforeAdmission {
        /// The session.
        session_id: String,
        /// The patient.
        patient_id: String,
        /// The first day of the episode.
        admitted_on: NaiveDate,
    },
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
    },
    /// No place is left.
    #[error("session {session_id} is full ({taken} of {capacity} places)")]
    SessionFull {
        /// The session.
        session_id: String,
        /// Places taken.
        taken: u64,
        /// Places in all.
        capacity: i32,
    },
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
    },
    /// The clinician already runs an overlapping session.
    #[error("clinician {clinician} is double-booked: session {session_id} overlaps")]
    ClinicianDoubleBooked {
        /// The clinician.
        clinician: String,
        /// The overlapping session.
        session_id: String,
    },
    /// The room already holds an overlapping session.
    #[error("room {room} is double-booked: session {session_id} overlaps")]
    RoomDoubleBooked {
        /// The room.
        room: String,
        /// The overlapping session.
        session_id: String,
    },
    /// The track delivers another program than the episode's.
    #[error("track {track_id} delivers {track_program}, not the episode's {episode_program}")]
    ProgramMismatch {
        /// The track.
        track_id: String,
        /// Its program.
        track_program: &'static str,
        /// The episode's.
        episode_program: &'static str,
    },
    /// The patient is in the track already.
    #[error("patient {patient_id} is already enrolled in track {track_id}")]
    AlreadyInTrack {
        /// The patient.
        patient_id: String,
        /// The track.
        track_id: String,
    },
    /// The booking was cancelled before.
    #[error("booking {booking_id} is already cancelled")]
    AlreadyCancelled {
        /// The booking.
        booking_id: String,
    },
    /// Attendance of a session that has not started.
    #[error("session {session_id} has not started")]
    NotStarted {
        /// The session.
        session_id: String,
    },
    /// Attendance of a patient without a booking.
    #[error("patient {patient_id} is not booked for session {session_id}")]
    NotBooked {
        /// The patient.
        patient_id: String,
        /// The session.
        session_id: String,
    },
    /// Attendance recorded twice.
    #[error("attendance of patient {patient_id} at session {session_id} is already recorded")]
    AttendanceAlreadyRecorded {
        /// The patient.
        patient_id: String,
        /// The session.
        session_id: String,
    },
    /// The week is not over at the facility.
    #[error("the week of {week} has not ended at facility {facility_id}")]
    WeekNotEnded {
        /// Its Monday.
        week: NaiveDate,
        /// The facility.
        facility_id: String,
    },
    /// The caller does not act for the facility.
    #[error("caller does not act for facility {facility_id}")]
    NotYourFacility {
        /// The facility.
        facility_id: String,
    },
    /// The caller's facility may not see the patient.
    #[error(
        "caller acts for no facility where patient {patient_id} is known or that a consent covers"
    )]
    PatientNotVisible {
        /// The patient.
        patient_id: String,
    },
    /// Stored data breaks an invariant (a value the contract does not know).
    #[error("stored {what} is not valid")]
    Corrupt {
        /// What.
        what: String,
    },
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl SchedulingError {
    /// An invalid field.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        SchedulingError::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }

    /// The stable reason code of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            SchedulingError::InvalidArgument { .. } => "INVALID_ARGUMENT",
            SchedulingError::NotFound { .. } => "NOT_FOUND",
            SchedulingError::UnknownFacility { .. } => "FACILITY_UNKNOWN",
            SchedulingError::NoActiveEpisode { .. } => "NO_ACTIVE_EPISODE",
            SchedulingError::EpisodeElsewhere { .. } => "EPISODE_AT_ANOTHER_FACILITY",
            SchedulingError::BeforeAdmission { .. } => "BEFORE_ADMISSION",
            SchedulingError::AlreadyBooked { .. } => "ALREADY_BOOKED",
            SchedulingError::SessionFull { .. } => "SESSION_FULL",
            SchedulingError::PatientDoubleBooked { .. } => "PATIENT_DOUBLE_BOOKED",
            SchedulingError::ClinicianDoubleBooked { .. } => "CLINICIAN_DOUBLE_BOOKED",
            SchedulingError::RoomDoubleBooked { .. } => "ROOM_DOUBLE_BOOKED",
            SchedulingError::ProgramMismatch { .. } => "PROGRAM_MISMATCH",
            SchedulingError::AlreadyInTrack { .. } => "ALREADY_IN_TRACK",
            SchedulingError::AlreadyCancelled { .. } => "ALREADY_CANCELLED",
            SchedulingError::NotStarted { .. } => "SESSION_NOT_STARTED",
            SchedulingError::NotBooked { .. } => "NOT_BOOKED",
            SchedulingError::AttendanceAlreadyRecorded { .. } => "ATTENDANCE_ALREADY_RECORDED",
            SchedulingError::WeekNotEnded { .. } => "WEEK_NOT_ENDED",
            SchedulingError::NotYourFacility { .. } | SchedulingError::PatientNotVisible { .. } => {
                "ACCESS_DENIED"
            }
            SchedulingError::Corrupt { .. } => "CORRUPT_RECORD",
            SchedulingError::Storage(_) => "STORAGE_FAILURE",
        }
    }

    /// Whether this refusal comes from the schedule's state (a booking rule),
    /// which the transfer handler answers by leaving the cancellation standing.
    pub fn is_refusal(&self) -> bool {
        self.code() == Code::FailedPrecondition
    }

    fn code(&self) -> Code {
        match self {
            SchedulingError::InvalidArgument { .. } => Code::InvalidArgument,
            SchedulingError::NotFound { .. } => Code::NotFound,
            SchedulingError::NotYourFacility { .. } | SchedulingError::PatientNotVisible { .. } => {
                Code::PermissionDenied
            }
            SchedulingError::Corrupt { .. } | SchedulingError::Storage(_) => Code::Internal,
            _ => Code::FailedPrecondition,
        }
    }
}

impl From<FieldError> for SchedulingError {
    fn from(e: FieldError) -> Self {
        SchedulingError::InvalidArgument {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl From<crate::attendance::AttendanceError> for SchedulingError {
    fn from(e: crate::attendance::AttendanceError) -> Self {
        SchedulingError::invalid(e.field, e.reason)
    }
}

impl From<SchedulingError> for Status {
    fn from(e: SchedulingError) -> Self {
        match &e {
            SchedulingError::InvalidArgument { field, reason } => {
                status::invalid_argument(DOMAIN, field, reason)
            }
            SchedulingError::Storage(db) => status::storage_failure(DOMAIN, db),
            _ => status::with_reason(e.code(), DOMAIN, e.reason(), e.to_string()),
        }
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
