//! Versioned schema of the admissions database, one file per migration, each
//! with its identifiers frozen as it created them: the shared tables first,
//! then admissions'. Migrations are append-only.

mod m20261128_000100_create_patients_and_episodes;
mod m20261128_000200_add_duplicate_detection;
mod m20261128_000300_add_discharge;
mod m20261128_000400_full_admissions_domain;
mod m20261128_000900_versions_to_event_streams;
mod m20261129_000100_facility_links;
mod m20261129_000200_candidate_references;
mod m20261129_000300_break_glass;
mod m20261130_000100_discharged_at;
mod m20261130_000200_override_reason;
mod m20261201_000100_match_keys;
mod m20261201_000200_audit_search_index;

iop_messaging::migrator!(
    m20261128_000100_create_patients_and_episodes::Migration,
    m20261128_000200_add_duplicate_detection::Migration,
    m20261128_000300_add_discharge::Migration,
    m20261128_000400_full_admissions_domain::Migration,
    m20261128_000900_versions_to_event_streams::Migration,
    m20261129_000100_facility_links::Migration,
    m20261129_000200_candidate_references::Migration,
    m20261129_000300_break_glass::Migration,
    m20261130_000100_discharged_at::Migration,
    m20261130_000200_override_reason::Migration,
    m20261201_000100_match_keys::Migration,
    m20261201_000200_audit_search_index::Migration,
);
