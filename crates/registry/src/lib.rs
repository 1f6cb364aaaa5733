//! The registry of the network's services: one line per service. Everything
//! that starts, lists, checks or documents services loops over [`SERVICES`]:
//! `iop dev` (all of them in one process), `iop serve --service <name>`, the
//! health of each gRPC name, the settings sections, the test network and the
//! services table in ARCHITECTURE.md (a test keeps it equal to this list).
//!
//! Adding a service: its crate under `services/`, its `SERVICE` definition
//! (`iop_runtime::service::ServiceDef`), and one line below.

use iop_runtime::{service::ServiceDef, settings::Section};

/// Every service of the network, in start order (producers before the
/// consumers of their topics, which only matters for log readability).
pub const SERVICES: &[&ServiceDef] = &[
    &iop_admissions::SERVICE,
    &iop_patient_view::SERVICE,
    &iop_scheduling::SERVICE,
    &iop_clinical::SERVICE,
    &iop_testing_lab::SERVICE,
    &iop_billing::SERVICE,
    &iop_analytics::SERVICE,
];

/// Topics of contexts not built yet whose events are already defined, with
/// the service that will publish them: a registered service may consume one
/// (its handler is written and tested with events a test publishes).
pub const RESERVED_TOPICS: &[(&str, &str)] = &[];

/// The service named `name`.
pub fn find(name: &str) -> Option<&'static ServiceDef> {
    SERVICES.iter().copied().find(|s| s.name == name)
}

/// The names of every service, as `iop serve --service` takes them.
pub fn names() -> Vec<&'static str> {
    SERVICES.iter().map(|s| s.name).collect()
}

/// The registry as the markdown table ARCHITECTURE.md shows.
pub fn table() -> String {
    fn cell(items: &[&str]) -> String {
        if items.is_empty() {
            "–".to_owned()
        } else {
            items
                .iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
    let mut out = String::from(
        "| service | gRPC | publishes | consumes | dead letters |\n|---|---|---|---|---|\n",
    );
    for s in SERVICES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            s.name,
            cell(s.grpc),
            cell(s.publishes),
            cell(s.consumes),
            cell(s.dead_letters)
        ));
    }
    out
}

/// The settings sections of every service.
pub fn sections() -> Vec<Section> {
    iop_runtime::service::sections(SERVICES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_grpc_services_and_sections_are_unique() {
        let mut names = names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SERVICES.len());
        let mut grpc = iop_runtime::service::grpc_names(SERVICES);
        let count = grpc.len();
        grpc.sort_unstable();
        grpc.dedup();
        assert_eq!(grpc.len(), count, "a gRPC service is served by one service");
        let mut keys: Vec<_> = sections().iter().map(|s| s.key).collect();
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), count);
    }

    #[test]
    fn a_reserved_topic_is_published_by_no_registered_service() {
        for (topic, publisher) in RESERVED_TOPICS {
            assert!(
                find(publisher).is_none(),
                "{publisher} is built: drop the reservation"
            );
            assert!(SERVICES.iter().all(|s| !s.publishes.contains(topic)));
        }
    }

    #[test]
    fn the_architecture_document_lists_exactly_the_registry() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ARCHITECTURE.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let listed = doc
            .split("<!-- registry:begin -->\n")
            .nth(1)
            .and_then(|rest| rest.split("<!-- registry:end -->").next())
            .unwrap_or_default();
        assert_eq!(
            listed,
            table(),
            "ARCHITECTURE.md's registry table is stale; replace it with iop_registry::table()"
        );
    }

    #[test]
    fn every_consumed_topic_is_published_by_a_registered_service() {
        for s in SERVICES {
            for topic in s.consumes {
                let reserved = RESERVED_TOPICS.iter().any(|(t, _)| t == topic);
                assert!(
                    reserved || SERVICES.iter().any(|p| p.publishes.contains(topic)),
                    "{} consumes {topic}, which nobody publishes",
                    s.name
                );
            }
        }
    }
}
