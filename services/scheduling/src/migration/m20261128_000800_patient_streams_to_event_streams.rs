//! Scheduling's own per-patient sequence (`patient_streams`) becomes the one
//! every service shares (`event_streams`, written by the unit of work): rows
//! move, the old table goes.

use iop_runtime::schema::MoveRows;

/// The migration.
pub const MIGRATION: MoveRows = MoveRows {
    name: "m20261128_000800_patient_streams_to_event_streams",
    copy: "INSERT INTO event_streams (aggregate_type, aggregate_id, version) \
           SELECT 'patient', patient_id, version FROM patient_streams",
    from: "patient_streams",
};
