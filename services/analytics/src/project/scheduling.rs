//! Scheduling's part: each recorded attendance becomes `SessionAttended`
//! (type, status, minutes, whether clinical; the facility and the episode's
//! level; the year, the day and week of the episode). Not projected:
//! enrollments, tracks, bookings (their session ids and times would tell
//! dates), weekly evaluations. An attendance whose episode is not known yet
//! waits in `pending_attendance` until the admission releases it.

use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::ApplyError,
    router::Router,
    work::{Stream, UnitOfWork},
};
use iop_proto::{
    analytics::events::v1::SessionAttended, scheduling::events::v1::AttendanceRecorded,
};
use iop_runtime::wire::naive_date;

use super::{Projector, emit, patient_of};
use crate::{deidentify, store};

/// Scheduling's routes on `router`.
pub fn routes(router: Router<Projector>) -> Router<Projector> {
    router.on::<AttendanceRecorded>(|_, w, e, m| Box::pin(attended(w, e, m)))
}

async fn attended(
    work: &mut UnitOfWork,
    e: AttendanceRecorded,
    m: &InboundEvent,
) -> Result<(), ApplyError> {
    let id = patient_of(&e.patient_id, m)?;
    let day = naive_date(e.service_date.as_ref())
        .ok_or_else(|| ApplyError::Permanent("AttendanceRecorded without service_date".into()))?;
    work.lock(Stream::patient(id)).await?;
    // Admissions' topic may lag scheduling's (a replay reads both from the
    // start, each partition at its own pace): the attendance then waits in
    // the database, not in the partition, and the admission releases it.
    let Some(episode) = store::episode_on(work.txn(), id, day).await? else {
        store::hold(work.txn(), &m.id, id, day, m.payload.clone()).await?;
        return Ok(());
    };
    project(work, &episode, &e, day).await
}

/// Emits `SessionAttended` for `e`, a day of `episode`.
pub async fn project(
    work: &mut UnitOfWork,
    episode: &crate::entity::episode::Model,
    e: &AttendanceRecorded,
    day: chrono::NaiveDate,
) -> Result<(), ApplyError> {
    let subject = store::subject(work.txn(), &episode.patient_id).await?;
    let offset = deidentify::episode_day(episode.started_on, day);
    let attended = SessionAttended {
        subject: subject.pseudonym.clone(),
        episode: episode.pseudonym.clone(),
        facility_id: e.facility_id.clone(),
        level_of_care: episode.level_of_care,
        session_type: e.session_type,
        status: e.status,
        minutes: e.minutes,
        clinical: e.clinical,
        year: deidentify::year(day),
        episode_day: offset,
        episode_week: deidentify::episode_week(offset),
    };
    emit(work, &subject.pseudonym, &attended).await
}
