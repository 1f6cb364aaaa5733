//! Versioned schema of the testing-lab database, one file per migration, each
//! with its identifiers frozen as it created them: the shared tables first
//! (audit, outbox, inbox, event streams, the consent and access replicas,
//! facilities' time zones), then testing-lab's. Migrations are append-only.

mod m20261206_000100_create_lab_tables;
mod m20261206_000200_specimens;
mod m20261206_000300_draws;
mod m20261206_000400_standing_orders;

iop_messaging::migrator!(
    iop_consent::replica::CreateConsentReplica,
    iop_consent::known::CreateAccessReplica { seed: None },
    iop_consent::facilities::CreateFacilityReplica,
    m20261206_000100_create_lab_tables::Migration,
    m20261206_000200_specimens::Migration,
    m20261206_000300_draws::Migration,
    m20261206_000400_standing_orders::Migration,
);
