//! Testing-lab tables: `orders`, `results`, the HL7 `work_queue`, and
//! `medications` (from clinical's events). The per-patient event sequence is
//! the shared `event_streams`; consents and where patients are known are the
//! shared replicas, facilities' time zones `iop_consent::facilities`.

pub mod medication;
pub mod order;
pub mod result;
pub mod work_item;
