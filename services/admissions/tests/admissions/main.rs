//! Admissions through gRPC and Kafka, on the in-process network: duplicate
//! candidates, episodes, merges, consent and access, placement before
//! admission, demographics and coverage, and every event decoded from the topic
//! as an analyst would. One test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod duplicates_and_episodes;
mod merges_consent_placement;
