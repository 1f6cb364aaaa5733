//! Versioned schema of the patient-view database, one file per migration, each
//! with its identifiers frozen as it created them: the shared tables first, then
//! the view's. Migrations are append-only.

mod m20261128_000100_create_view_tables;
mod m20261128_000200_merges_and_consents;
mod m20261128_000300_attendance;
mod m20261128_000700_consents_to_replica;
mod m20261129_000100_emergency_grants;

iop_messaging::migrator!(
    m20261128_000100_create_view_tables::Migration,
    m20261128_000200_merges_and_consents::Migration,
    m20261128_000300_attendance::Migration,
    iop_consent::replica::CreateConsentReplica,
    m20261128_000700_consents_to_replica::MIGRATION,
    m20261129_000100_emergency_grants::Migration,
);
