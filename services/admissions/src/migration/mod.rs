//! Versioned schema of the admissions database, one file per migration, each
//! with its identifiers frozen as it created them: the shared tables first,
//! then admissions'. Migrations are append-only.

use sea_orm_migration::prelude::*;

mod m20261128_000100_create_patients_and_episodes;
mod m20261128_000200_add_duplicate_detection;
mod m20261128_000300_add_discharge;
mod m20261128_000400_full_admissions_domain;
mod m20261128_000900_versions_to_event_streams;

/// Every admissions migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = iop_messaging::migrations();
        all.push(Box::new(
            m20261128_000100_create_patients_and_episodes::Migration,
        ));
        all.push(Box::new(
            m20261128_000200_add_duplicate_detection::Migration,
        ));
        all.push(Box::new(m20261128_000300_add_discharge::Migration));
        all.push(Box::new(m20261128_000400_full_admissions_domain::Migration));
        all.push(Box::new(
            m20261128_000900_versions_to_event_streams::Migration,
        ));
        all
    }
}
