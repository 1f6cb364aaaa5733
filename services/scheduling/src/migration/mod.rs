//! Versioned schema of the scheduling database, one file per migration, each
//! with its identifiers frozen as it created them: the shared tables first,
//! then scheduling's. Migrations are append-only.

use sea_orm_migration::prelude::*;

mod m20261128_000100_create_scheduling_tables;
mod m20261128_000800_patient_streams_to_event_streams;

/// Every scheduling migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = iop_messaging::migrations();
        all.push(Box::new(
            m20261128_000100_create_scheduling_tables::Migration,
        ));
        all.push(Box::new(iop_consent::replica::CreateConsentReplica));
        all.push(Box::new(
            m20261128_000800_patient_streams_to_event_streams::Migration,
        ));
        all
    }
}
