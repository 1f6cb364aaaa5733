//! Clinical's queries and writes, without rules: each function reads or
//! writes rows (writes inside a unit of work); the rules live in
//! [`crate::instruments`], [`crate::notes`] and [`crate::reviews`]. No query
//! runs once per row of another query.

pub mod copies;
pub mod notes;
pub mod plans;
pub mod records;
pub mod reviews;

use chrono_tz::Tz;
use sea_orm::{
    ConnectionTrait, DbErr,
    sea_query::{Alias, Expr, Query},
};

use crate::error::ClinicalError;

/// A facility's time zone, as admissions last described it.
pub async fn time_zone<C: ConnectionTrait>(db: &C, facility_id: &str) -> Result<Tz, ClinicalError> {
    iop_consent::facilities::zone(db, facility_id)
        .await?
        .ok_or_else(|| ClinicalError::UnknownFacility {
            facility_id: facility_id.to_owned(),
        })
}

/// Tables whose rows belong to a patient by `patient_id` and follow a merge
/// to the survivor as they are.
const PATIENT_TABLES: &[&str] = &[
    "episodes",
    "screenings",
    "tasks",
    "plans",
    "notes",
    "medications",
    "reviews",
    "lab_results",
];

/// Re-keys everything of `from` to `to` (a merge). Attendance and weeks both
/// records hold for the same session or week keep the survivor's.
pub async fn merge<C: ConnectionTrait>(db: &C, to: &str, from: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for (table, key) in [("attendance", "session_id"), ("weeks", "week_start")] {
        // Rows of the duplicate the survivor already has go first.
        let both = Query::select()
            .column(Alias::new(key))
            .from(Alias::new(table))
            .and_where(Expr::col(Alias::new("patient_id")).eq(to))
            .to_owned();
        let delete = Query::delete()
            .from_table(Alias::new(table))
            .and_where(Expr::col(Alias::new("patient_id")).eq(from))
            .and_where(Expr::col(Alias::new(key)).in_subquery(both))
            .to_owned();
        db.execute(backend.build(&delete)).await?;
    }
    for table in PATIENT_TABLES.iter().chain(&["attendance", "weeks"]) {
        let update = Query::update()
            .table(Alias::new(*table))
            .value(Alias::new("patient_id"), to)
            .and_where(Expr::col(Alias::new("patient_id")).eq(from))
            .to_owned();
        db.execute(backend.build(&update)).await?;
    }
    Ok(())
}
