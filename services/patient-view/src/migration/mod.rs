//! Versioned schema of the patient-view database, one file per migration, each
//! with its identifiers frozen as it created them: the shared tables first, then
//! the view's. Migrations are append-only.

mod m20261128_000100_create_view_tables;
mod m20261128_000200_merges_and_consents;
mod m20261128_000300_attendance;
mod m20261128_000700_consents_to_replica;
mod m20261129_000100_emergency_grants;
mod m20261201_000100_merged_into_index;
mod m20261205_000100_clinical_items;

iop_messaging::migrator!(
    m20261128_000100_create_view_tables::Migration,
    m20261128_000200_merges_and_consents::Migration,
    m20261128_000300_attendance::Migration,
    iop_consent::replica::CreateConsentReplica,
    m20261128_000700_consents_to_replica::MIGRATION,
    m20261129_000100_emergency_grants::Migration,
    // Grants move to the table every downstream context keeps the same way.
    iop_consent::known::CreateAccessReplica { seed: None },
    iop_runtime::schema::MoveRows {
        name: "m20261129_000200_emergency_grants_to_access_grants",
        copy: "INSERT INTO access_grants (grant_id, patient_id, facility_id, granted_to, expires_at) \
               SELECT grant_id, patient_id, facility_id, granted_to, expires_at FROM emergency_grants",
        from: "emergency_grants",
    },
    m20261201_000100_merged_into_index::Migration,
    m20261205_000100_clinical_items::Migration,
);
