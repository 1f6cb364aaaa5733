//! Scheduling tables (`facilities`, time zones from admissions' events, is
//! `iop_consent::facilities`):
//! `enrollments` (one per episode, opened by PatientAdmitted),
//! `enrollment_levels` (its level of care from each effective day), `tracks`,
//! `sessions`, `track_members`, `bookings`, `attendance` and
//! `weekly_evaluations`. The per-patient event sequence is the shared
//! `event_streams` (unit of work); consents are the shared replica.

pub mod attendance;
pub mod booking;
pub mod enrollment;
pub mod enrollment_level;
pub mod session;
pub mod track;
pub mod track_member;
pub mod weekly_evaluation;
