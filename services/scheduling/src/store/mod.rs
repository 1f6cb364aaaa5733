//! Scheduling's queries and writes, without rules: each function reads or
//! writes rows (writes inside a unit of work), and the few that carry out a
//! rule ([`bookings::book`]) gather the facts, ask the pure rule module, then
//! write. No query runs once per row of another query.

pub mod attendance;
pub mod bookings;
pub mod enrollments;
pub mod sessions;

use chrono_tz::Tz;
use iop_proto::admissions::events::v1::FacilityRecorded;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};

use crate::{entity::facility, error::SchedulingError};

/// A facility's time zone, as admissions last described it.
pub async fn time_zone<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Tz, SchedulingError> {
    let f = facility::Entity::find_by_id(facility_id)
        .one(db)
        .await?
        .ok_or_else(|| SchedulingError::UnknownFacility {
            facility_id: facility_id.to_owned(),
        })?;
    f.time_zone.parse().map_err(|_| SchedulingError::Corrupt {
        what: format!("time zone of facility {facility_id}"),
    })
}

/// Keeps the facility's time zone from its latest `FacilityRecorded`.
pub async fn record_facility<C: ConnectionTrait>(db: &C, e: FacilityRecorded) -> Result<(), DbErr> {
    match facility::Entity::find_by_id(&e.facility_id).one(db).await? {
        Some(f) if f.version >= e.version => {}
        Some(f) => {
            let mut f: facility::ActiveModel = f.into();
            f.time_zone = Set(e.time_zone);
            f.version = Set(e.version);
            f.update(db).await?;
        }
        None => {
            facility::ActiveModel {
                id: Set(e.facility_id),
                time_zone: Set(e.time_zone),
                version: Set(e.version),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}
