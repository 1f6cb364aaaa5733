//! Applies admissions' events inside the consumer's transaction, so each is
//! applied once with the scheduling events it causes: `FacilityRecorded` keeps
//! the facility's time zone, `PatientAdmitted` opens an enrollment,
//! `PatientTransferred` moves future bookings to the same day's session of a
//! matching track at the new facility (or cancels them, saying why),
//! `PatientDischarged` cancels every future booking, and `PatientsMerged`
//! re-keys everything to the survivor.

use chrono::Utc;
use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::{ApplyError, EventHandler},
    outbox::Outbox,
};
use iop_proto::{
    admissions::events::v1::{
        FacilityRecorded, PatientAdmitted, PatientDischarged, PatientTransferred, PatientsMerged,
    },
    scheduling::events::v1 as events,
};
use iop_runtime::wire;
use prost::{Message, Name};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};

use crate::{
    entity::{
        attendance, booking, enrollment, facility, session, track, track_member, weekly_evaluation,
    },
    error::SchedulingError,
    schedule,
};

/// Folds admissions' events into scheduling.
pub struct AdmissionsHandler {
    /// Scheduling's outbox (woken after each commit).
    pub outbox: Outbox,
}

impl From<SchedulingError> for ApplyError {
    fn from(e: SchedulingError) -> Self {
        match e {
            SchedulingError::Storage(db) => db.into(),
            SchedulingError::Conflict(_) => ApplyError::Transient(e.to_string()),
            other => ApplyError::Permanent(other.to_string()),
        }
    }
}

impl AdmissionsHandler {
    async fn facility(
        &self,
        txn: &DatabaseTransaction,
        e: FacilityRecorded,
    ) -> Result<(), ApplyError> {
        match facility::Entity::find_by_id(&e.facility_id)
            .one(txn)
            .await?
        {
            Some(f) if f.version >= e.version => {}
            Some(f) => {
                let mut f: facility::ActiveModel = f.into();
                f.time_zone = Set(e.time_zone);
                f.version = Set(e.version);
                f.update(txn).await?;
            }
            None => {
                facility::ActiveModel {
                    id: Set(e.facility_id),
                    time_zone: Set(e.time_zone),
                    version: Set(e.version),
                }
                .insert(txn)
                .await?;
            }
        }
        Ok(())
    }

    async fn admitted(
        &self,
        txn: &DatabaseTransaction,
        e: PatientAdmitted,
    ) -> Result<(), ApplyError> {
        if enrollment::Entity::find_by_id(&e.episode_id)
            .one(txn)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let admitted_on = wire::naive_date(e.admitted_on.as_ref())
            .ok_or_else(|| ApplyError::Permanent("PatientAdmitted without admitted_on".into()))?;
        enrollment::ActiveModel {
            episode_id: Set(e.episode_id.clone()),
            patient_id: Set(e.patient_id.clone()),
            facility_id: Set(e.facility_id.clone()),
            program: Set(e.program),
            level_of_care: Set(e.level_of_care),
            age_group: Set(e.age_group),
            admitted_on: Set(admitted_on),
            active: Set(true),
            discharged_on: Set(None),
            created_at: Set(Utc::now()),
        }
        .insert(txn)
        .await?;
        let event = events::PatientEnrolled {
            patient_id: e.patient_id.clone(),
            episode_id: e.episode_id,
            facility_id: e.facility_id,
            program: e.program,
            level_of_care: e.level_of_care,
            age_group: e.age_group,
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        schedule::emit(txn, &self.outbox, &e.patient_id, &event).await?;
        Ok(())
    }

    async fn transferred(
        &self,
        txn: &DatabaseTransaction,
        e: PatientTransferred,
    ) -> Result<(), ApplyError> {
        let Some(found) = enrollment::Entity::find_by_id(&e.episode_id)
            .one(txn)
            .await?
        else {
            // The admission was dead-lettered; nothing of this episode is here.
            return Ok(());
        };
        let mut moved: enrollment::ActiveModel = found.clone().into();
        moved.facility_id = Set(e.to_facility_id.clone());
        moved.program = Set(e.program);
        moved.level_of_care = Set(e.level_of_care);
        moved.update(txn).await?;
        if found.facility_id == e.to_facility_id {
            return Ok(());
        }
        track_member::Entity::delete_many()
            .filter(track_member::Column::PatientId.eq(&e.patient_id))
            .exec(txn)
            .await?;
        // Tracks at the new facility that deliver the episode's program.
        let tracks: Vec<String> = track::Entity::find()
            .filter(track::Column::FacilityId.eq(&e.to_facility_id))
            .filter(track::Column::Program.eq(e.program))
            .all(txn)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        let reason = format!("transferred to {}", e.to_facility_id);
        for b in schedule::future_bookings(txn, &e.patient_id, Utc::now()).await? {
            let Some(old) = session::Entity::find_by_id(&b.session_id).one(txn).await? else {
                continue;
            };
            let replacement = session::Entity::find()
                .filter(session::Column::TrackId.is_in(tracks.clone()))
                .filter(session::Column::LocalDate.eq(old.local_date))
                .one(txn)
                .await?;
            let (replacement, why) = match replacement {
                Some(new) if schedule::has_place(txn, &new).await? => (Some(new), reason.clone()),
                Some(full) => (None, format!("{reason}: session {} there is full", full.id)),
                None => (
                    None,
                    format!("{reason}: no matching session on {}", old.local_date),
                ),
            };
            schedule::cancel(txn, &self.outbox, b, &why).await?;
            let Some(new) = replacement else {
                continue;
            };
            match schedule::book(txn, &self.outbox, &e.patient_id, &new).await {
                // Clashing with another booking there: the cancellation stands.
                Err(SchedulingError::Precondition(why)) => {
                    tracing::info!(patient_id = %e.patient_id, session_id = %new.id, reason = %why, "booking not moved");
                }
                Err(other) => return Err(other.into()),
                Ok(_) => {
                    if let Some(t) = &new.track_id
                        && track_member::Entity::find_by_id((e.patient_id.clone(), t.clone()))
                            .one(txn)
                            .await?
                            .is_none()
                    {
                        track_member::ActiveModel {
                            patient_id: Set(e.patient_id.clone()),
                            track_id: Set(t.clone()),
                            joined_at: Set(Utc::now()),
                        }
                        .insert(txn)
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn discharged(
        &self,
        txn: &DatabaseTransaction,
        e: PatientDischarged,
    ) -> Result<(), ApplyError> {
        let Some(found) = enrollment::Entity::find_by_id(&e.episode_id)
            .one(txn)
            .await?
        else {
            return Ok(());
        };
        if !found.active {
            return Ok(());
        }
        let mut closed: enrollment::ActiveModel = found.into();
        closed.active = Set(false);
        closed.discharged_on = Set(wire::naive_date(e.discharged_on.as_ref()));
        closed.update(txn).await?;
        track_member::Entity::delete_many()
            .filter(track_member::Column::PatientId.eq(&e.patient_id))
            .exec(txn)
            .await?;
        for b in schedule::future_bookings(txn, &e.patient_id, Utc::now()).await? {
            schedule::cancel(txn, &self.outbox, b, "discharged").await?;
        }
        Ok(())
    }

    async fn merged(&self, txn: &DatabaseTransaction, e: PatientsMerged) -> Result<(), ApplyError> {
        let (from, to) = (e.merged_away_id.as_str(), e.survivor_id.as_str());
        enrollment::Entity::update_many()
            .col_expr(enrollment::Column::PatientId, Expr::value(to))
            .filter(enrollment::Column::PatientId.eq(from))
            .exec(txn)
            .await?;
        booking::Entity::update_many()
            .col_expr(booking::Column::PatientId, Expr::value(to))
            .filter(booking::Column::PatientId.eq(from))
            .exec(txn)
            .await?;
        attendance::Entity::update_many()
            .col_expr(attendance::Column::PatientId, Expr::value(to))
            .filter(attendance::Column::PatientId.eq(from))
            .exec(txn)
            .await?;
        weekly_evaluation::Entity::update_many()
            .col_expr(weekly_evaluation::Column::PatientId, Expr::value(to))
            .filter(weekly_evaluation::Column::PatientId.eq(from))
            .exec(txn)
            .await?;
        for m in track_member::Entity::find()
            .filter(track_member::Column::PatientId.eq(from))
            .all(txn)
            .await?
        {
            let exists = track_member::Entity::find_by_id((to.to_owned(), m.track_id.clone()))
                .one(txn)
                .await?
                .is_some();
            track_member::Entity::delete_by_id((m.patient_id.clone(), m.track_id.clone()))
                .exec(txn)
                .await?;
            if !exists {
                track_member::ActiveModel {
                    patient_id: Set(to.to_owned()),
                    track_id: Set(m.track_id),
                    joined_at: Set(m.joined_at),
                }
                .insert(txn)
                .await?;
            }
        }
        Ok(())
    }
}

impl EventHandler for AdmissionsHandler {
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        event: &InboundEvent,
    ) -> Result<(), ApplyError> {
        let t = event.event_type.as_str();
        let p = event.payload.as_slice();
        if t == FacilityRecorded::full_name() {
            self.facility(txn, FacilityRecorded::decode(p)?).await
        } else if t == PatientAdmitted::full_name() {
            self.admitted(txn, PatientAdmitted::decode(p)?).await
        } else if t == PatientTransferred::full_name() {
            self.transferred(txn, PatientTransferred::decode(p)?).await
        } else if t == PatientDischarged::full_name() {
            self.discharged(txn, PatientDischarged::decode(p)?).await
        } else if t == PatientsMerged::full_name() {
            self.merged(txn, PatientsMerged::decode(p)?).await
        } else {
            Ok(())
        }
    }

    fn committed(&self, _event: &InboundEvent) {
        self.outbox.committed();
    }
}
