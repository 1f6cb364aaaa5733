//! Scheduling's queries and writes, without rules: each function reads or
//! writes rows (writes inside a unit of work), and the few that carry out a
//! rule ([`bookings::book`]) gather the facts, ask the pure rule module, then
//! write. No query runs once per row of another query.

pub mod attendance;
pub mod bookings;
pub mod enrollments;
pub mod sessions;

use chrono_tz::Tz;
use sea_orm::ConnectionTrait;

use crate::error::SchedulingError;

/// A facility's time zone, as admissions last described it.
pub async fn time_zone<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Tz, SchedulingError> {
    iop_consent::facilities::zone(db, facility_id)
        .await?
        .ok_or_else(|| SchedulingError::UnknownFacility {
            facility_id: facility_id.to_owned(),
        })
}
