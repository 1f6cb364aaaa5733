//! Projector tables: `subjects` (each patient's random pseudonym, and the
//! birth date and sex its events need: protected health information that
//! never leaves this database) and `episodes` (each episode's pseudonym,
//! first day, facility and level of care now) and `pending_attendance`
//! (attendance that arrived before its episode's admission).

pub mod episode;
pub mod pending;
pub mod subject;
