//! Admissions tables: `patients` (the master record), `episodes`, `demographic_versions` (every recorded
//! version of a patient's demographics), `facilities` and `facility_programs`
//! (the registry), `facility_links` (first contact at another facility),
//! `candidate_references` (opaque duplicate candidates), `match_keys` (the
//! duplicate search's index), `distinct_pairs` (records declared not the same
//! person), `break_glass_grants`
//! (medical-emergency access), `assessments` (screenings with their placement), `consents`
//! and `coverages`. Records whose shape is a contract (assessment input and
//! recommendation, consent, coverage, demographics) are stored as their protobuf
//! encoding beside the columns that are queried.
//! The per-patient event sequence is the shared `event_streams` (unit of work).

pub mod assessment;
pub mod break_glass_grant;
pub mod candidate_reference;
pub mod consent;
pub mod coverage;
pub mod demographic_version;
pub mod distinct_pair;
pub mod episode;
pub mod facility;
pub mod facility_link;
pub mod facility_program;
pub mod match_key;
pub mod patient;
