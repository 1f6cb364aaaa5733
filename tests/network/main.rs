//! Cross-service and end-to-end tests, driving the system only through its
//! public gRPC API and topics as a facility system or an analyst would: the care
//! path on the in-process network (SQLite and PostgreSQL), the audit trail as an
//! auditor reads and verifies it, the access rule as another facility meets it, one trace from call
//! to consumer, the `iop` binary (`iop dev` restarted on its data, `iop serve`
//! refusing unknown settings, `iop bench` end to end), and separate `iop serve` processes with a real
//! Kafka-protocol broker (tansu). One test binary: librdkafka is linked once.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod access;
mod analytics;
mod audit;
mod authorization;
mod bench;
mod care_path;
mod dev_mode;
mod dlq;
mod e2e_broker;
mod metrics;
mod migrate;
mod races;
mod rebuild;
mod recovery;
mod schema;
mod settings;
mod support;
mod tasks;
mod trace;
