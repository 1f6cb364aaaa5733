//! Scheduling's events: the builders of what it publishes (one place per
//! event type, so every producer of a `SessionBooked` says the same), and the
//! typed handlers of admissions' events, registered on the shared router and
//! applied in the consumer's unit of work, so each is applied once with the
//! events it causes: `FacilityRecorded` keeps the time zone, `PatientAdmitted`
//! opens an enrollment, `PatientTransferred` moves future bookings to the same
//! day's session of a matching track at the new facility (or cancels them,
//! saying why), `PatientDischarged` cancels every future booking,
//! `PatientsMerged` re-keys everything to the survivor, and registrations,
//! links, admissions, transfers, consents and emergency grants keep the copy
//! (`iop_consent::replica`, `iop_consent::known`) that every read and write of
//! a patient's schedule is authorised against.

use chrono::{DateTime, Utc};
use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::{ApplyError, EventHandler},
    router::Router,
    work::{Stream, UnitOfWork},
};
use iop_proto::{
    admissions::events::v1::{
        PatientAdmitted, PatientDischarged, PatientTransferred, PatientsMerged,
    },
    scheduling::events::v1 as events,
};
use iop_runtime::wire;

use crate::{
    calendar,
    entity::{booking, enrollment, session},
    settings::SchedulingSettings,
    store::{self, attendance, bookings, enrollments, sessions},
};

/// `SessionBooked` of booking `b` into session `s`.
pub fn session_booked(
    b: &booking::Model,
    s: &session::Model,
    now: DateTime<Utc>,
) -> events::SessionBooked {
    events::SessionBooked {
        patient_id: b.patient_id.clone(),
        booking_id: b.id.clone(),
        session_id: s.id.clone(),
        facility_id: s.facility_id.clone(),
        session_type: s.session_type,
        starts_at: Some(wire::timestamp(s.starts_at)),
        ends_at: Some(wire::timestamp(s.ends_at)),
        occurred_at: Some(wire::timestamp(now)),
    }
}

/// `BookingCancelled` of booking `b`.
pub fn booking_cancelled(
    b: &booking::Model,
    reason: &str,
    now: DateTime<Utc>,
) -> events::BookingCancelled {
    events::BookingCancelled {
        patient_id: b.patient_id.clone(),
        booking_id: b.id.clone(),
        session_id: b.session_id.clone(),
        reason: reason.to_owned(),
        occurred_at: Some(wire::timestamp(now)),
    }
}

/// `WeeklyHoursEvaluated` of week `week` of enrollment `e`, judged `w`, at `facility`.
pub fn weekly_hours_evaluated(
    e: &enrollment::Model,
    facility: &str,
    week: chrono::NaiveDate,
    w: &crate::hours::Week,
    now: DateTime<Utc>,
) -> events::WeeklyHoursEvaluated {
    events::WeeklyHoursEvaluated {
        patient_id: e.patient_id.clone(),
        facility_id: facility.to_owned(),
        week_start: Some(wire::date(week)),
        attended_minutes: w.attended_minutes,
        band_min_hours: w.band_min_hours(),
        band_below_hours: w.band_below_hours(),
        compliance: w.compliance as i32,
        level_of_care: w
            .levels
            .last()
            .map_or(e.level_of_care, |(level, _)| *level as i32),
        full_days: w.full_days,
        min_days: w.day_rule.map_or(0, |r| r.days),
        min_minutes_per_day: w.day_rule.map_or(0, |r| r.minutes_per_day),
        episode_days: w.episode_days,
        required_minutes: w.required_minutes,
        occurred_at: Some(wire::timestamp(now)),
        levels: crate::api::convert::level_days(w),
    }
}

/// `PatientEnrolled` of a newly opened enrollment.
pub fn patient_enrolled(e: &enrollment::Model) -> events::PatientEnrolled {
    // The event states what the enrollment holds, as the API shows it.
    let m = crate::api::enrollment_message(e, Vec::new());
    events::PatientEnrolled {
        patient_id: m.patient_id,
        episode_id: m.episode_id,
        facility_id: m.facility_id,
        program: m.program,
        level_of_care: m.level_of_care,
        age_group: m.age_group,
        occurred_at: Some(wire::timestamp(e.created_at)),
    }
}

/// Applies admissions' events to scheduling.
pub struct AdmissionsHandler {
    router: Router<AdmissionsHandler>,
    /// What a week re-evaluated after a merge is judged by.
    settings: SchedulingSettings,
}

impl AdmissionsHandler {
    /// The handler with its routes.
    pub fn new(settings: SchedulingSettings) -> Self {
        let router = Router::<Self>::new()
            .on::<PatientAdmitted>(|h, w, e, _| Box::pin(h.admitted(w, e)))
            .on::<PatientTransferred>(|h, w, e, _| Box::pin(h.transferred(w, e)))
            .on::<PatientDischarged>(|h, w, e, _| Box::pin(h.discharged(w, e)))
            .on::<PatientsMerged>(|h, w, e, _| Box::pin(h.merged(w, e)));
        Self {
            router: iop_consent::facilities::route(iop_consent::known::route(
                iop_consent::replica::route(router),
            )),
            settings,
        }
    }

    async fn admitted(&self, work: &mut UnitOfWork, e: PatientAdmitted) -> Result<(), ApplyError> {
        if enrollments::of_episode(work.txn(), &e.episode_id)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let admitted_on = wire::naive_date(e.admitted_on.as_ref())
            .ok_or_else(|| ApplyError::Permanent("PatientAdmitted without admitted_on".into()))?;
        work.lock(Stream::patient(&e.patient_id)).await?;
        iop_consent::known::know(work.txn(), &e.patient_id, &e.facility_id).await?;
        let opened = enrollments::open(work.txn(), &e, admitted_on).await?;
        work.emit(Stream::patient(&e.patient_id), &patient_enrolled(&opened))
            .await?;
        Ok(())
    }

    async fn transferred(
        &self,
        work: &mut UnitOfWork,
        e: PatientTransferred,
    ) -> Result<(), ApplyError> {
        iop_consent::known::know(work.txn(), &e.patient_id, &e.to_facility_id).await?;
        let Some(found) = enrollments::of_episode(work.txn(), &e.episode_id).await? else {
            // The admission was dead-lettered; nothing of this episode is here.
            return Ok(());
        };
        work.lock(Stream::patient(&e.patient_id)).await?;
        let moved_facility = found.facility_id != e.to_facility_id;
        let changed_program = found.program != e.program;
        // The transfer acts from its effective day at the facility it leaves
        // (today there when the event carries none).
        let old_zone = store::time_zone(work.txn(), &found.facility_id).await?;
        let now = Utc::now();
        let effective = wire::naive_date(e.transferred_on.as_ref())
            .unwrap_or_else(|| calendar::local(now, old_zone).date());
        enrollments::move_to(
            work.txn(),
            found,
            &e.to_facility_id,
            e.program,
            e.level_of_care,
            effective,
        )
        .await?;
        if !moved_facility && !changed_program {
            return Ok(());
        }
        let program = iop_proto::common::v1::Program::try_from(e.program).map_err(|_| {
            ApplyError::Permanent("PatientTransferred with an unknown program".into())
        })?;
        // The tracks the episode may attend now: at its facility, of a program
        // that fits (a combined program attends day and evening tracks).
        let fitting = sessions::tracks_fitting(work.txn(), &e.to_facility_id, program).await?;
        let fitting_ids: Vec<String> = fitting.iter().map(|t| t.id.clone()).collect();
        enrollments::leave_tracks_except(
            work.txn(),
            &e.patient_id,
            if moved_facility { &[] } else { &fitting_ids },
        )
        .await?;
        let reason = if moved_facility {
            format!("transferred to {}", e.to_facility_id)
        } else {
            format!("program changed to {}", program.as_str_name())
        };
        // Bookings from the effective day on: a backdated transfer also
        // reaches sessions that already passed (cancelled, unless attendance
        // was recorded for them, which stays for review); later ones move.
        let from = calendar::instant(effective, chrono::NaiveTime::MIN, old_zone).min(now);
        let since = from - chrono::Duration::seconds(1);
        for b in bookings::upcoming(work.txn(), &e.patient_id, Some(since)).await? {
            let Some(old) = sessions::session(work.txn(), &b.session_id).await? else {
                continue;
            };
            use crate::tracks::{OnTransfer, keeps_booking, on_transfer};
            let keeps = keeps_booking(moved_facility, old.track_id.as_deref(), &fitting_ids);
            let in_past = b.starts_at <= now;
            let attended = in_past
                && !keeps
                && attendance::recorded(work.txn(), &b.session_id, &e.patient_id).await?;
            match on_transfer(keeps, in_past, attended) {
                OnTransfer::Keep | OnTransfer::KeepAttended => continue,
                OnTransfer::Cancel => {
                    bookings::cancel(work, b, &format!("{reason} from {effective}")).await?;
                    continue;
                }
                OnTransfer::Move => {}
            }
            let candidates =
                sessions::of_tracks_on(work.txn(), fitting_ids.clone(), old.local_date).await?;
            let mut free = Vec::new();
            for c in &candidates {
                let taken = sessions::booked(work.txn(), &c.id).await?;
                free.push((
                    c.id.as_str(),
                    c.local_start_minute,
                    taken < u64::try_from(c.capacity).unwrap_or(0),
                ));
            }
            let chosen = crate::tracks::replacement(old.local_start_minute, &free)
                .and_then(|id| candidates.iter().find(|c| c.id == id))
                .cloned();
            let why = match (&chosen, candidates.is_empty()) {
                (Some(_), _) => reason.clone(),
                (None, true) => format!("{reason}: no matching session on {}", old.local_date),
                (None, false) => format!(
                    "{reason}: every matching session on {} is full",
                    old.local_date
                ),
            };
            bookings::cancel(work, b, &why).await?;
            let Some(new) = chosen else {
                continue;
            };
            match bookings::book(work, &e.patient_id, &new).await {
                // Clashing with another booking there: the cancellation stands.
                Err(refused) if refused.is_refusal() => {
                    tracing::info!(patient_id = %e.patient_id, session_id = %new.id, reason = %refused, "booking not moved");
                }
                Err(other) => return Err(other.into()),
                Ok(_) => {
                    if let Some(t) = &new.track_id {
                        enrollments::join(work.txn(), &e.patient_id, t).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn discharged(
        &self,
        work: &mut UnitOfWork,
        e: PatientDischarged,
    ) -> Result<(), ApplyError> {
        let Some(found) = enrollments::of_episode(work.txn(), &e.episode_id).await? else {
            return Ok(());
        };
        if !found.active {
            return Ok(());
        }
        work.lock(Stream::patient(&e.patient_id)).await?;
        let found_facility = found.facility_id.clone();
        enrollments::close(
            work.txn(),
            found,
            wire::naive_date(e.discharged_on.as_ref()),
        )
        .await?;
        enrollments::leave_tracks(work.txn(), &e.patient_id).await?;
        // From the discharge's effective day: a backdated discharge also
        // cancels the bookings after its last day that already passed, unless
        // attendance was recorded for them (that stays, for review).
        let now = Utc::now();
        let from = match wire::naive_date(e.discharged_on.as_ref()) {
            Some(last) => {
                let tz = store::time_zone(work.txn(), &found_facility).await?;
                let next = last + chrono::Days::new(1);
                calendar::instant(next, chrono::NaiveTime::MIN, tz).min(now)
            }
            None => now,
        };
        for b in bookings::upcoming(
            work.txn(),
            &e.patient_id,
            Some(from - chrono::Duration::seconds(1)),
        )
        .await?
        {
            if attendance::recorded(work.txn(), &b.session_id, &e.patient_id).await? {
                continue;
            }
            bookings::cancel(work, b, "discharged").await?;
        }
        Ok(())
    }

    async fn merged(&self, work: &mut UnitOfWork, e: PatientsMerged) -> Result<(), ApplyError> {
        let (from, to) = (e.merged_away_id.as_str(), e.survivor_id.as_str());
        work.lock(Stream::patient(to)).await?;
        // One person holds one place per session: the duplicate's booking of a
        // session the survivor holds too is cancelled, saying why.
        for b in bookings::upcoming(work.txn(), from, None).await? {
            if bookings::held(work.txn(), to, &b.session_id)
                .await?
                .is_some()
            {
                bookings::cancel(work, b, "merged: the surviving record holds this session")
                    .await?;
            }
        }
        // Attendance and evaluations both records have for the same session or
        // week are folded first, so re-keying the rest never collides (which
        // would have failed the event for good).
        let weeks = attendance::fold_merged(work.txn(), from, to).await?;
        enrollments::merge(work.txn(), from, to).await?;
        self.evaluate_again(work, to, &weeks).await?;
        iop_consent::replica::merge(work.txn(), to, from).await?;
        iop_consent::known::merge(work.txn(), to, from).await?;
        Ok(())
    }
}

impl AdmissionsHandler {
    /// Evaluates again the `weeks` both merged records had evaluated, on the
    /// combined attendance, and publishes the result (it supersedes both).
    async fn evaluate_again(
        &self,
        work: &mut UnitOfWork,
        patient_id: &str,
        weeks: &[(chrono::NaiveDate, String)],
    ) -> Result<(), ApplyError> {
        if weeks.is_empty() {
            return Ok(());
        }
        let all = enrollments::of_patient(work.txn(), patient_id).await?;
        let Some(e) = all.iter().find(|e| e.active).or(all.first()).cloned() else {
            return Ok(());
        };
        let (_, age) = crate::hours::level_and_age(&e)?;
        let changes = enrollments::levels_of(work.txn(), vec![e.episode_id.clone()]).await?;
        let recorded = changes.get(&e.episode_id).map_or(&[][..], Vec::as_slice);
        let patients = [patient_id.to_owned()];
        let now = Utc::now();
        for (week, facility) in weeks {
            let last = *week + chrono::Days::new(6);
            let attended = attendance::attended_minutes(work.txn(), &patients, *week, last).await?;
            let none = std::collections::BTreeMap::new();
            let w = crate::hours::Week::judge(
                &crate::hours::days_of(&e, *week, recorded)?,
                age,
                |level| self.settings.day_rule(level, age),
                attended.get(patient_id).unwrap_or(&none),
                &none,
            );
            attendance::update_evaluation(
                work.txn(),
                patient_id,
                *week,
                w.attended_minutes,
                w.compliance as i32,
            )
            .await?;
            let event = weekly_hours_evaluated(&e, facility, *week, &w, now);
            work.emit(Stream::patient(patient_id), &event).await?;
        }
        Ok(())
    }
}

impl EventHandler for AdmissionsHandler {
    async fn apply(&self, work: &mut UnitOfWork, event: &InboundEvent) -> Result<(), ApplyError> {
        self.router.dispatch(self, work, event).await.map(|_| ())
    }
}
