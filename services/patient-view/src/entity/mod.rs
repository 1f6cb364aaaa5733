//! Patient-view tables: `patient_views` (one folded row per patient),
//! `view_positions` (per patient and source, the sequence applied so far: what
//! consistency tokens are checked against), `timeline` (each applied event) and
//! `view_attendance` (clinical minutes of each patient's latest week with
//! attendance) and `view_clinical_items` (what clinical published: scores,
//! plan status, risk flags, open reviews). Consents live in the shared replica (`iop_consent::replica`).

pub mod attendance;
pub mod clinical_item;
pub mod position;
pub mod timeline;
pub mod view;
