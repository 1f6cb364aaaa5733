//! Billing tables: copies of what admissions, scheduling, clinical and
//! testing-lab published (`patients`, `episode_spans`, `coverages`,
//! `attendance`, `signed_notes`, `diagnoses`, `lab_codes`) and billing's own
//! (`eligibility_checks`, `authorizations`, `restrictions`, `days`,
//! `charges`, `claims`, `counters`, `remittances`, `payments`, `work_queue`).
//! Consents and where patients are known are the shared replicas,
//! facilities' time zones `iop_consent::facilities`.

pub mod attendance;
pub mod authorization;
pub mod charge;
pub mod claim;
pub mod counter;
pub mod coverage;
pub mod day;
pub mod diagnosis;
pub mod eligibility_check;
pub mod episode_span;
pub mod lab_code;
pub mod patient;
pub mod payment;
pub mod remittance;
pub mod restriction;
pub mod signed_note;
pub mod work_item;
