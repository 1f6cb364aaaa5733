//! Versioned schema of the billing database, one file per migration, each
//! with its identifiers frozen as it created them: the shared tables first
//! (audit, outbox, inbox, event streams, the consent and access replicas,
//! facilities' time zones), then billing's. Migrations are append-only.

mod m20261210_000100_create_billing_tables;

iop_messaging::migrator!(
    iop_consent::replica::CreateConsentReplica,
    iop_consent::known::CreateAccessReplica { seed: None },
    iop_consent::facilities::CreateFacilityReplica,
    m20261210_000100_create_billing_tables::Migration,
);
