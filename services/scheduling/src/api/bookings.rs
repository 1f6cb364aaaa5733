//! Bookings: `GetEnrollment`, `EnrollInTrack` (every future session of the
//! track, or nothing), `BookSession`, `BookIndividual` (a new one-to-one
//! session, clinician and room checked) and `CancelBooking`.

use chrono::{Timelike, Utc};
use iop_messaging::work::{Actor, Stream};
use iop_proto::{
    common::v1::Program,
    scheduling::{
        events::v1 as events,
        v1::{self as api, SessionType},
    },
};
use iop_runtime::{
    grpc::Call,
    ids::{self, BookingId, FacilityId, FieldError, PatientId},
    wire,
};
use sea_orm::Set;

use super::{Intent, Result, SchedulingApi, convert};
use crate::{
    booking, calendar,
    entity::{booking::Status, session},
    error::SchedulingError,
    store::{self, bookings, enrollments, sessions},
    tracks,
};

/// The program a stored value names, or a broken invariant.
fn program(value: i32, whose: &str) -> Result<Program> {
    Program::try_from(value).map_err(|_| SchedulingError::Corrupt {
        what: format!("program of {whose}"),
    })
}

impl SchedulingApi {
    pub(super) async fn get_enrollment(
        &self,
        call: &Call,
        req: api::GetEnrollmentRequest,
    ) -> Result<api::GetEnrollmentResponse> {
        let e = self
            .readable_enrollment(call, "scheduling.GetEnrollment", &req.patient_id)
            .await?;
        let db = self.ledger.conn();
        let track_ids = enrollments::tracks_of(db, &e.patient_id).await?;
        let upcoming = bookings::upcoming(db, &e.patient_id, Some(Utc::now())).await?;
        Ok(api::GetEnrollmentResponse {
            enrollment: Some(convert::enrollment(&e, track_ids)),
            bookings: upcoming.iter().map(convert::booking).collect(),
        })
    }

    pub(super) async fn enroll_in_track(
        &self,
        call: &Call,
        req: api::EnrollInTrackRequest,
    ) -> Result<api::EnrollInTrackResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let pid = patient_id.as_str();
        let t = self.track(&req.track_id).await?;
        call.caller.require_facility(&t.facility_id)?;
        let write = Intent::Write {
            facility: &t.facility_id,
        };
        let action = "scheduling.EnrollInTrack";
        self.authorize(call, action, &patient_id, write).await?;
        let mut work = self.ledger.command(Actor::of(call, action)).await?;
        work.lock(Stream::patient(pid)).await?;
        let e = enrollments::active(work.txn(), pid).await?.ok_or_else(|| {
            SchedulingError::NoActiveEpisode {
                patient_id: pid.to_owned(),
            }
        })?;
        if e.facility_id != t.facility_id {
            return Err(SchedulingError::EpisodeElsewhere {
                patient_id: pid.to_owned(),
                episode_facility: e.facility_id,
                facility_id: t.facility_id,
            });
        }
        let (enrolled, delivered) = (
            program(e.program, "enrollment")?,
            program(t.program, "track")?,
        );
        if !tracks::program_fits(enrolled, delivered) {
            return Err(SchedulingError::ProgramMismatch {
                track_id: t.id,
                track_program: delivered.as_str_name(),
                episode_program: enrolled.as_str_name(),
            });
        }
        if enrollments::is_member(work.txn(), pid, &t.id).await? {
            return Err(SchedulingError::AlreadyInTrack {
                patient_id: pid.to_owned(),
                track_id: t.id,
            });
        }
        let now = Utc::now();
        let mut booked = Vec::new();
        for s in sessions::upcoming_of_track(work.txn(), &t.id, now).await? {
            // All or nothing: a conflict on any session rolls the enrollment back.
            booked.push(bookings::book(&mut work, pid, &s).await?);
        }
        enrollments::join(work.txn(), pid, &t.id).await?;
        let event = events::TrackJoined {
            patient_id: pid.to_owned(),
            track_id: t.id.clone(),
            facility_id: t.facility_id.clone(),
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(pid), &event).await?;
        work.audit(Some(pid), Some(&t.facility_id));
        work.commit().await?;
        Ok(api::EnrollInTrackResponse {
            bookings: booked.iter().map(convert::booking).collect(),
        })
    }

    pub(super) async fn book_session(
        &self,
        call: &Call,
        req: api::BookSessionRequest,
    ) -> Result<api::BookSessionResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let s = self.session(&req.session_id).await?;
        call.caller.require_facility(&s.facility_id)?;
        let write = Intent::Write {
            facility: &s.facility_id,
        };
        let action = "scheduling.BookSession";
        self.authorize(call, action, &patient_id, write).await?;
        let mut work = self.ledger.command(Actor::of(call, action)).await?;
        let b = bookings::book(&mut work, patient_id.as_str(), &s).await?;
        work.audit(Some(patient_id.as_str()), Some(&s.facility_id));
        work.commit().await?;
        Ok(api::BookSessionResponse {
            booking: Some(convert::booking(&b)),
        })
    }

    pub(super) async fn book_individual(
        &self,
        call: &Call,
        req: api::BookIndividualRequest,
    ) -> Result<api::BookIndividualResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility_id = FacilityId::parse("facility_id", req.facility_id.trim())?;
        call.caller.require_facility(facility_id.as_str())?;
        let write = Intent::Write {
            facility: facility_id.as_str(),
        };
        let action = "scheduling.BookIndividual";
        self.authorize(call, action, &patient_id, write).await?;
        let clinician = req.clinician_id.trim().to_owned();
        if clinician.is_empty() {
            return Err(FieldError::required("clinician_id").into());
        }
        let room = req.room.trim().to_owned();
        if room.is_empty() {
            return Err(FieldError::required("room").into());
        }
        let start = wire::instant(req.starts_at.as_ref())
            .ok_or_else(|| FieldError::required("starts_at"))?;
        if !(15..=240).contains(&req.duration_minutes) {
            return Err(SchedulingError::invalid(
                "duration_minutes",
                "must be 15 to 240",
            ));
        }
        let end = start + chrono::Duration::minutes(i64::from(req.duration_minutes));
        let session_type = match SessionType::try_from(req.session_type) {
            Ok(SessionType::Unspecified) => SessionType::IndividualTherapy,
            Ok(s) => s,
            Err(_) => {
                return Err(SchedulingError::invalid(
                    "session_type",
                    "is not a known session type",
                ));
            }
        };
        let tz = store::time_zone(self.ledger.conn(), facility_id.as_str()).await?;
        let mut work = self.ledger.command(Actor::of(call, action)).await?;
        sessions::claim_calendars(&mut work, facility_id.as_str(), &clinician, &room).await?;
        let (clinician_clash, room_clash) = sessions::clashes(
            work.txn(),
            facility_id.as_str(),
            &clinician,
            &room,
            start,
            end,
        )
        .await?;
        booking::staff_and_room_free(
            &clinician,
            clinician_clash.as_deref(),
            &room,
            room_clash.as_deref(),
        )?;
        let local_start = calendar::local(start, tz);
        let local_end = calendar::local(end, tz);
        let minute = |t: chrono::NaiveDateTime| (t.hour() * 60 + t.minute()) as i32;
        let s = sessions::insert(
            work.txn(),
            session::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                facility_id: Set(facility_id.to_string()),
                track_id: Set(None),
                session_type: Set(session_type as i32),
                starts_at: Set(start),
                ends_at: Set(end),
                local_date: Set(local_start.date()),
                local_start_minute: Set(minute(local_start)),
                local_end_minute: Set(minute(local_end)),
                facilitator_id: Set(clinician),
                room: Set(room),
                capacity: Set(1),
            },
        )
        .await?;
        let b = bookings::book(&mut work, patient_id.as_str(), &s).await?;
        work.audit(Some(patient_id.as_str()), Some(facility_id.as_str()));
        work.commit().await?;
        Ok(api::BookIndividualResponse {
            booking: Some(convert::booking(&b)),
            session: Some(convert::session(&s, 1)),
        })
    }

    pub(super) async fn cancel_booking(
        &self,
        call: &Call,
        req: api::CancelBookingRequest,
    ) -> Result<api::CancelBookingResponse> {
        let id = BookingId::parse("booking_id", &req.booking_id)?;
        let reason = ids::reason("reason", &req.reason, 500)?;
        let not_found = || SchedulingError::NotFound {
            what: "booking",
            id: id.to_string(),
        };
        // Whose booking, and where, decide access before anything else.
        let found = bookings::find(self.ledger.conn(), id.as_str())
            .await?
            .ok_or_else(not_found)?;
        let owner = PatientId::parse("patient_id", &found.patient_id)?;
        let action = "scheduling.CancelBooking";
        let write = Intent::Write {
            facility: &found.facility_id,
        };
        self.authorize(call, action, &owner, write).await?;
        let mut work = self.ledger.command(Actor::of(call, action)).await?;
        let b = bookings::find(work.txn(), id.as_str())
            .await?
            .ok_or_else(not_found)?;
        if b.status != Status::Booked {
            return Err(SchedulingError::AlreadyCancelled {
                booking_id: id.into_string(),
            });
        }
        let (patient_id, facility_id) = (b.patient_id.clone(), b.facility_id.clone());
        work.lock(Stream::patient(&patient_id)).await?;
        let b = bookings::cancel(&mut work, b, &reason).await?;
        work.audit(Some(&patient_id), Some(&facility_id));
        work.commit().await?;
        Ok(api::CancelBookingResponse {
            booking: Some(convert::booking(&b)),
        })
    }
}
