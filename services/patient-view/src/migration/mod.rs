//! Versioned schema of the patient-view database, one file per migration, each
//! with its identifiers frozen as it created them: the shared tables first, then
//! the view's. Migrations are append-only.

use sea_orm_migration::prelude::*;

mod m20261128_000100_create_view_tables;
mod m20261128_000200_merges_and_consents;
mod m20261128_000300_attendance;
mod m20261128_000700_consents_to_replica;

/// Every patient-view migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = iop_messaging::migrations();
        all.push(Box::new(m20261128_000100_create_view_tables::Migration));
        all.push(Box::new(m20261128_000200_merges_and_consents::Migration));
        all.push(Box::new(m20261128_000300_attendance::Migration));
        all.push(Box::new(iop_consent::replica::CreateConsentReplica));
        all.push(Box::new(m20261128_000700_consents_to_replica::Migration));
        all
    }
}
