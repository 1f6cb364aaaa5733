//! Applies admissions events to the view tables inside the consumer's
//! transaction, then wakes readers waiting on a consistency token.

use std::sync::Arc;

use chrono::Utc;
use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::{ApplyError, EventHandler},
};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};
use tokio::sync::Notify;

use crate::{
    entity::{attendance, consent, position, timeline, view},
    fold::{self, EpisodeState, PatientState, ViewEvent},
};

/// Folds the events of the consumed contexts into the view.
pub struct ViewHandler {
    /// Woken after every commit.
    pub applied: Arc<Notify>,
}

fn state_of(m: view::Model) -> PatientState {
    PatientState {
        mrn: m.mrn,
        given_name: m.given_name,
        middle_name: m.middle_name,
        family_name: m.family_name,
        preferred_name: m.preferred_name,
        date_of_birth: m.date_of_birth,
        registered_facility_id: m.registered_facility_id,
        status: iop_proto::patientview::v1::CareStatus::try_from(m.status).unwrap_or_default(),
        episode: m.episode_id.map(|episode_id| EpisodeState {
            episode_id,
            facility_id: m.facility_id.unwrap_or_default(),
            program: m.program,
            level_of_care: m.level_of_care,
            admitted_on: m.admitted_on,
        }),
    }
}

impl ViewHandler {
    async fn save(
        &self,
        txn: &DatabaseTransaction,
        patient_id: &str,
        s: PatientState,
        exists: bool,
        merged_into: Option<String>,
    ) -> Result<(), ApplyError> {
        let ep = s.episode.as_ref();
        let model = view::ActiveModel {
            patient_id: Set(patient_id.to_owned()),
            mrn: Set(s.mrn.clone()),
            given_name: Set(s.given_name.clone()),
            middle_name: Set(s.middle_name.clone()),
            family_name: Set(s.family_name.clone()),
            preferred_name: Set(s.preferred_name.clone()),
            date_of_birth: Set(s.date_of_birth),
            registered_facility_id: Set(s.registered_facility_id.clone()),
            status: Set(s.status as i32),
            episode_id: Set(ep.map(|e| e.episode_id.clone())),
            facility_id: Set(ep.map(|e| e.facility_id.clone())),
            program: Set(ep.map_or(0, |e| e.program)),
            level_of_care: Set(ep.map_or(0, |e| e.level_of_care)),
            admitted_on: Set(ep.and_then(|e| e.admitted_on)),
            updated_at: Set(Utc::now()),
            merged_into: Set(merged_into),
        };
        if exists {
            model.update(txn).await?;
        } else {
            model.insert(txn).await?;
        }
        Ok(())
    }
}

impl ViewHandler {
    /// Records that `sequence` of `patient_id` from this source was applied, so
    /// consistency tokens naming it are answered. Every event counts, including
    /// types this view ignores: otherwise their tokens would wait forever.
    async fn advance(
        &self,
        txn: &DatabaseTransaction,
        source: &str,
        patient_id: &str,
        sequence: i64,
    ) -> Result<(), ApplyError> {
        let key = (patient_id.to_owned(), source.to_owned());
        match position::Entity::find_by_id(key).one(txn).await? {
            Some(p) if p.sequence >= sequence => {}
            Some(p) => {
                let mut p: position::ActiveModel = p.into();
                p.sequence = Set(sequence);
                p.update(txn).await?;
            }
            None => {
                position::ActiveModel {
                    patient_id: Set(patient_id.to_owned()),
                    source: Set(source.to_owned()),
                    sequence: Set(sequence),
                }
                .insert(txn)
                .await?;
            }
        }
        Ok(())
    }
}

impl ViewHandler {
    /// Keeps the local copy of a consent current; `owner` is the patient the
    /// view files it under (the survivor, for a merged-away record).
    async fn keep_consent(
        &self,
        txn: &DatabaseTransaction,
        owner: &str,
        event: &ViewEvent,
    ) -> Result<(), ApplyError> {
        let (consent_id, revoked_at, expiry_event_at) = match event {
            ViewEvent::ConsentRecorded(e) => {
                let Some(c) = e.consent.clone() else {
                    return Err(ApplyError::Permanent(
                        "ConsentRecorded without a consent".into(),
                    ));
                };
                let row = consent::ActiveModel {
                    consent_id: Set(c.consent_id.clone()),
                    patient_id: Set(owner.to_owned()),
                    consent: Set(c.encode_to_vec()),
                };
                // A replay of the same consent (after a merge re-keyed it) keeps one row.
                if consent::Entity::find_by_id(&c.consent_id)
                    .one(txn)
                    .await?
                    .is_some()
                {
                    row.update(txn).await?;
                } else {
                    row.insert(txn).await?;
                }
                return Ok(());
            }
            ViewEvent::ConsentRevoked(e) => (&e.consent_id, e.revoked_at, None),
            ViewEvent::ConsentExpired(e) => (&e.consent_id, None, e.expiry_event_at),
            _ => return Ok(()),
        };
        let Some(row) = consent::Entity::find_by_id(consent_id).one(txn).await? else {
            // Its ConsentRecorded was dead-lettered: nothing to revoke here.
            return Ok(());
        };
        let mut c = iop_proto::common::v1::Consent::decode(row.consent.as_slice())
            .map_err(|e| ApplyError::Permanent(format!("stored consent: {e}")))?;
        if revoked_at.is_some() {
            c.revoked_at = revoked_at;
        }
        if expiry_event_at.is_some() {
            c.expiry_event_at = expiry_event_at;
        }
        let mut row: consent::ActiveModel = row.into();
        row.consent = Set(c.encode_to_vec());
        row.update(txn).await?;
        Ok(())
    }

    /// Re-keys what the view holds for the merged-away record to the survivor;
    /// the merged-away row stays, pointing at the survivor, so reads of its id
    /// and its events still in flight find their way.
    async fn merge(
        &self,
        txn: &DatabaseTransaction,
        survivor: &str,
        merged_away: &str,
    ) -> Result<(), ApplyError> {
        match view::Entity::find_by_id(merged_away).one(txn).await? {
            Some(row) => {
                let mut row: view::ActiveModel = row.into();
                row.merged_into = Set(Some(survivor.to_owned()));
                row.update(txn).await?;
            }
            None => {
                self.save(
                    txn,
                    merged_away,
                    PatientState::default(),
                    false,
                    Some(survivor.to_owned()),
                )
                .await?;
            }
        }
        view::Entity::update_many()
            .col_expr(view::Column::MergedInto, Expr::value(survivor))
            .filter(view::Column::MergedInto.eq(merged_away))
            .exec(txn)
            .await?;
        timeline::Entity::update_many()
            .col_expr(timeline::Column::PatientId, Expr::value(survivor))
            .filter(timeline::Column::PatientId.eq(merged_away))
            .exec(txn)
            .await?;
        consent::Entity::update_many()
            .col_expr(consent::Column::PatientId, Expr::value(survivor))
            .filter(consent::Column::PatientId.eq(merged_away))
            .exec(txn)
            .await?;
        Ok(())
    }
}

impl ViewHandler {
    /// Adds an attendance's clinical minutes to the patient's latest week; an
    /// attendance of an earlier week (recorded late) does not move it back.
    async fn count_attendance(
        &self,
        txn: &DatabaseTransaction,
        owner: &str,
        a: &iop_proto::scheduling::events::v1::AttendanceRecorded,
    ) -> Result<(), ApplyError> {
        let Some(week) = iop_runtime::wire::naive_date(a.week_start.as_ref()) else {
            return Err(ApplyError::Permanent(
                "AttendanceRecorded without week_start".into(),
            ));
        };
        let minutes = if a.clinical {
            i32::try_from(a.minutes).unwrap_or(i32::MAX)
        } else {
            0
        };
        match attendance::Entity::find_by_id(owner).one(txn).await? {
            Some(row) if row.week_start > week => {}
            Some(row) => {
                let total = if row.week_start == week {
                    row.minutes.saturating_add(minutes)
                } else {
                    minutes
                };
                let mut row: attendance::ActiveModel = row.into();
                row.week_start = Set(week);
                row.time_zone = Set(a.time_zone.clone());
                row.minutes = Set(total);
                row.update(txn).await?;
            }
            None => {
                attendance::ActiveModel {
                    patient_id: Set(owner.to_owned()),
                    week_start: Set(week),
                    time_zone: Set(a.time_zone.clone()),
                    minutes: Set(minutes),
                }
                .insert(txn)
                .await?;
            }
        }
        Ok(())
    }
}

impl EventHandler for ViewHandler {
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        event: &InboundEvent,
    ) -> Result<(), ApplyError> {
        let decoded = fold::decode(&event.event_type, &event.payload)?;
        let patient_id = match (&decoded, &event.subject) {
            (Some(d), Some(subject)) if d.patient_id() != subject => {
                return Err(ApplyError::Permanent(
                    "ce_subject and the payload name different patients".into(),
                ));
            }
            (Some(d), _) => d.patient_id().to_owned(),
            // Not about a patient (e.g. the facility registry): nothing to fold.
            (None, Some(subject)) if uuid::Uuid::parse_str(subject).is_err() => return Ok(()),
            (None, Some(subject)) => subject.clone(),
            // Not a patient event and not one this view folds.
            (None, None) => return Ok(()),
        };
        if uuid::Uuid::parse_str(&patient_id).is_err() {
            return Err(ApplyError::Permanent(
                "event has no valid patient id".into(),
            ));
        }
        if let Some(sequence) = event.sequence {
            // The context, as consistency tokens name it: `iop.<context>.v1`.
            let source = event.topic.split('.').nth(1).unwrap_or_default();
            self.advance(txn, source, &patient_id, sequence).await?;
        }
        let Some(decoded) = decoded else {
            return Ok(());
        };

        if let ViewEvent::Merged(m) = &decoded {
            self.merge(txn, &m.survivor_id, &m.merged_away_id).await?;
        }
        let existing = view::Entity::find_by_id(&patient_id).one(txn).await?;
        let exists = existing.is_some();
        let merged_into = existing.as_ref().and_then(|v| v.merged_into.clone());
        // Events of a merged-away record written before the merge may arrive
        // after it: the record's row still folds them, the survivor gets the rest.
        let owner = merged_into.clone().unwrap_or_else(|| patient_id.clone());
        self.keep_consent(txn, &owner, &decoded).await?;
        if let ViewEvent::Attended(a) = &decoded {
            self.count_attendance(txn, &owner, a).await?;
        }
        let next = fold::apply(existing.map(state_of), &decoded);
        self.save(txn, &patient_id, next, exists, merged_into)
            .await?;

        timeline::ActiveModel {
            position: sea_orm::NotSet,
            event_id: Set(event.id.clone()),
            patient_id: Set(owner),
            event_type: Set(event.event_type.clone()),
            occurred_at: Set(event.time),
            facility_id: Set(decoded.facility_id().to_owned()),
        }
        .insert(txn)
        .await?;
        Ok(())
    }

    fn committed(&self, _event: &InboundEvent) {
        self.applied.notify_waiters();
    }
}
