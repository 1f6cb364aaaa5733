//! Versioned schema of the scheduling database, one file per migration, each
//! with its identifiers frozen as it created them: the shared tables first,
//! then scheduling's. Migrations are append-only.

mod m20261128_000100_create_scheduling_tables;
mod m20261128_000800_patient_streams_to_event_streams;
mod m20261201_000100_enrollment_levels;

iop_messaging::migrator!(
    m20261128_000100_create_scheduling_tables::Migration,
    iop_consent::replica::CreateConsentReplica,
    m20261128_000800_patient_streams_to_event_streams::MIGRATION,
    // Patients already enrolled are known where their enrollments are; a
    // patient only registered or linked is learnt from the next events.
    iop_consent::known::CreateAccessReplica {
        seed: Some(
            "INSERT INTO access_known_at (patient_id, facility_id) \
             SELECT DISTINCT patient_id, facility_id FROM enrollments"
        ),
    },
    m20261201_000100_enrollment_levels::Migration,
);
