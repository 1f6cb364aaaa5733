//! Testing-lab's rules, ahead of its service (the gRPC face, storage and
//! events come next; the issue stays open until they land): specimen
//! validity and the collection temperature ([`validity`]), the
//! interpretation of a result against the patient's medications
//! ([`interpretation`]), the billing codes of a date of service ([`codes`]),
//! HL7 v2 `ORU^R01` results and their acknowledgements ([`hl7`]), and the
//! reproducible random draw of who is tested on a day ([`draw`]). Each is a
//! pure module with its table of cases, so the service that wires them to
//! gRPC, Kafka and the database only gathers facts and records answers.

pub mod codes;
pub mod draw;
pub mod hl7;
pub mod interpretation;
pub mod validity;
