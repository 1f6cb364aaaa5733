//! Admissions' part: registrations and demographic changes keep the birth
//! date and sex in the projector's database (nothing is published for
//! them); admissions, transfers and discharges become `EpisodeStarted`,
//! `EpisodeTransferred` and `EpisodeEnded` with the age at admission, the
//! year and days since the episode's start. Not projected: consents,
//! coverage, facility records, links, break-glass, placements, merges (both
//! pseudonyms stay; the survivor's carries the events after the merge).

use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::ApplyError,
    router::Router,
    work::{Stream, UnitOfWork},
};
use iop_proto::{
    admissions::events::v1::{
        PatientAdmitted, PatientDemographicsUpdated, PatientDischarged, PatientRegistered,
        PatientTransferred,
    },
    analytics::events::v1::{EpisodeEnded, EpisodeStarted, EpisodeTransferred},
    scheduling::events::v1::AttendanceRecorded,
};
use iop_runtime::wire::naive_date;
use prost::Message as _;

use super::{Projector, emit, patient_of};
use crate::{deidentify, store};

/// Admissions' routes on `router`.
pub fn routes(router: Router<Projector>) -> Router<Projector> {
    router
        .on::<PatientRegistered>(|_, w, e, m| {
            Box::pin(describe(w, e.patient_id, e.date_of_birth, e.sex, m))
        })
        .on::<PatientDemographicsUpdated>(|_, w, e, m| {
            Box::pin(describe(w, e.patient_id, e.date_of_birth, e.sex, m))
        })
        .on::<PatientAdmitted>(|_, w, e, m| Box::pin(admitted(w, e, m)))
        .on::<PatientTransferred>(|_, w, e, m| Box::pin(transferred(w, e, m)))
        .on::<PatientDischarged>(|_, w, e, m| Box::pin(discharged(w, e, m)))
}

/// A registration or demographic change: what the events to come need of
/// the patient (birth date for the age, sex), kept here, published never.
async fn describe(
    work: &mut UnitOfWork,
    patient_id: String,
    birth: Option<iop_proto::common::v1::Date>,
    sex: i32,
    m: &InboundEvent,
) -> Result<(), ApplyError> {
    let id = patient_of(&patient_id, m)?;
    work.lock(Stream::patient(id)).await?;
    store::describe(work.txn(), id, naive_date(birth.as_ref()), sex).await?;
    Ok(())
}

async fn admitted(
    work: &mut UnitOfWork,
    e: PatientAdmitted,
    m: &InboundEvent,
) -> Result<(), ApplyError> {
    let id = patient_of(&e.patient_id, m)?;
    let started = naive_date(e.admitted_on.as_ref())
        .ok_or_else(|| ApplyError::Permanent("PatientAdmitted without admitted_on".into()))?;
    work.lock(Stream::patient(id)).await?;
    let subject = store::subject(work.txn(), id).await?;
    let episode = store::open_episode(
        work.txn(),
        &e.episode_id,
        id,
        started,
        &e.facility_id,
        e.level_of_care,
    )
    .await?;
    let started_event = EpisodeStarted {
        subject: subject.pseudonym.clone(),
        episode: episode.pseudonym.clone(),
        facility_id: e.facility_id,
        program: e.program,
        level_of_care: e.level_of_care,
        age_years: subject
            .birth_date
            .map_or(0, |birth| deidentify::age_years(birth, started)),
        sex: subject.sex,
        year: deidentify::year(started),
    };
    emit(work, &subject.pseudonym, &started_event).await?;
    // Attendance of this episode that arrived first (scheduling's partition
    // ran ahead) is projected now, after the start.
    for held in store::release(work.txn(), id, started).await? {
        let attended = AttendanceRecorded::decode(held.payload.as_slice())
            .map_err(|e| ApplyError::Permanent(format!("held attendance undecodable: {e}")))?;
        super::scheduling::project(work, &episode, &attended, held.service_date).await?;
    }
    Ok(())
}

async fn transferred(
    work: &mut UnitOfWork,
    e: PatientTransferred,
    m: &InboundEvent,
) -> Result<(), ApplyError> {
    let id = patient_of(&e.patient_id, m)?;
    let day = naive_date(e.transferred_on.as_ref())
        .ok_or_else(|| ApplyError::Permanent("PatientTransferred without transferred_on".into()))?;
    work.lock(Stream::patient(id)).await?;
    let subject = store::subject(work.txn(), id).await?;
    let Some(episode) = store::episode(work.txn(), &e.episode_id).await? else {
        return Err(ApplyError::Transient(
            "the episode's admission not applied yet".into(),
        ));
    };
    store::move_episode(work.txn(), &episode, &e.to_facility_id, e.level_of_care).await?;
    let offset = deidentify::episode_day(episode.started_on, day);
    let moved = EpisodeTransferred {
        subject: subject.pseudonym.clone(),
        episode: episode.pseudonym,
        from_facility_id: e.from_facility_id,
        to_facility_id: e.to_facility_id,
        level_of_care: e.level_of_care,
        year: deidentify::year(day),
        episode_day: offset,
    };
    emit(work, &subject.pseudonym, &moved).await
}

async fn discharged(
    work: &mut UnitOfWork,
    e: PatientDischarged,
    m: &InboundEvent,
) -> Result<(), ApplyError> {
    let id = patient_of(&e.patient_id, m)?;
    let day = naive_date(e.discharged_on.as_ref())
        .ok_or_else(|| ApplyError::Permanent("PatientDischarged without discharged_on".into()))?;
    work.lock(Stream::patient(id)).await?;
    let subject = store::subject(work.txn(), id).await?;
    let Some(episode) = store::episode(work.txn(), &e.episode_id).await? else {
        return Err(ApplyError::Transient(
            "the episode's admission not applied yet".into(),
        ));
    };
    let ended = EpisodeEnded {
        subject: subject.pseudonym.clone(),
        episode: episode.pseudonym,
        facility_id: episode.facility_id,
        level_of_care: episode.level_of_care,
        reason: e.reason,
        year: deidentify::year(day),
        episode_day: deidentify::episode_day(episode.started_on, day),
    };
    emit(work, &subject.pseudonym, &ended).await
}
