//! Clinical tables: copies of what admissions, scheduling and testing-lab
//! published
//! (`patients`, `episodes`, `attendance`, `weeks`, `lab_results`) and
//! clinical's own records (`screenings`, `tasks`, `plans`, `notes`,
//! `addenda`, `medications`, `reviews`). The per-patient event sequence is
//! the shared `event_streams`; consents and where patients are known are
//! the shared replicas, facilities' time zones `iop_consent::facilities`.

pub mod addendum;
pub mod attendance;
pub mod episode;
pub mod lab_result;
pub mod medication;
pub mod note;
pub mod patient;
pub mod plan;
pub mod review;
pub mod screening;
pub mod task;
pub mod week;
