//! The view's own consent copy becomes the shared replica every context keeps
//! (`iop_consent::replica`): rows move, the old table goes.

use iop_runtime::schema::MoveRows;

/// The migration.
pub const MIGRATION: MoveRows = MoveRows {
    name: "m20261128_000700_consents_to_replica",
    copy: "INSERT INTO consent_replica (consent_id, patient_id, consent) \
           SELECT consent_id, patient_id, consent FROM view_consents",
    from: "view_consents",
};
