//! Testing-lab tables: `orders`, `standing_orders`, `specimens` (collection, custody, validity),
//! `results`, the HL7 `work_queue`, `scheduled` (bookings, from scheduling)
//! and `draws` (the random draws made from them), and
//! `medications` (from clinical's events). The per-patient event sequence is
//! the shared `event_streams`; consents and where patients are known are the
//! shared replicas, facilities' time zones `iop_consent::facilities`.

pub mod draw;
pub mod medication;
pub mod order;
pub mod result;
pub mod scheduled;
pub mod specimen;
pub mod standing_order;
pub mod work_item;
