//! `iop serve` refuses settings it does not know, before it starts anything:
//! a typo in an environment variable or in the settings file stops the process
//! with the key (and the variable) named, instead of silently leaving the
//! default in place.

use std::{io::Write, process::Command};

/// Runs `iop serve --service <service>` with only `env` set (plus PATH) and
/// returns whether it succeeded and what it said on stderr.
fn serve(service: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args(args)
        .args(["serve", "--service", service])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_variable_or_key_stops_iop_serve_and_is_named() {
    let (ok, said) = serve("admissions", &[], &[("IOP__KAFKA__TOPIC_REPLICATON", "3")]);
    assert!(!ok, "iop serve started with a typo'd variable");
    assert!(
        said.contains("unknown key `kafka.topic_replicaton` (set by IOP__KAFKA__TOPIC_REPLICATON)"),
        "{said}"
    );

    let (ok, said) = serve("patient-view", &[], &[("IOP__PATIENTVIEW__WAIT", "3")]);
    assert!(!ok);
    assert!(said.contains("unknown key `patientview`"), "{said}");

    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "[scheduling]\nmax_group_capacty = 10").unwrap();
    let path = file.path().to_string_lossy().into_owned();
    let (ok, said) = serve("scheduling", &["--config", &path], &[]);
    assert!(!ok, "iop serve started with a typo'd key");
    assert!(
        said.contains("unknown key `scheduling.max_group_capacty`"),
        "{said}"
    );
}

#[test]
fn an_unknown_service_is_refused_with_the_registry_s_names() {
    let (ok, said) = serve("billing-typo", &[], &[]);
    assert!(!ok);
    for name in ["admissions", "patient-view", "scheduling"] {
        assert!(said.contains(name), "{said}");
    }
}

#[test]
fn the_settings_files_the_manifests_ship_load_for_every_service() {
    for (file, replication, site) in [
        ("deploy/base/iop.toml", 3, "site-1"),
        ("deploy/overlays/site-example/iop.toml", 3, "bay-area"),
    ] {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(env!("CARGO_BIN_EXE_iop"))
            .args(["--config", &path, "services"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let settings = iop_runtime::Settings::load(
            Some(std::path::Path::new(&path)),
            &iop_registry::sections(),
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(settings.kafka.topic_replication, replication, "{file}");
        assert_eq!(settings.site.id, site, "{file}");
    }
}

/// Every service of the registry has its Deployment and migration Job in
/// the manifests' base, so a service added later cannot be left out.
#[test]
fn the_manifests_run_every_service_of_the_registry() {
    for s in iop_registry::SERVICES {
        let path = format!("{}/deploy/base/{}.yaml", env!("CARGO_MANIFEST_DIR"), s.name);
        let manifest = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: no manifest {path}: {e}", s.name));
        for expected in [
            "kind: Deployment".to_owned(),
            "kind: Job".to_owned(),
            "kind: PodDisruptionBudget".to_owned(),
            "kind: ServiceAccount".to_owned(),
            format!("[\"serve\", \"--service\", \"{}\"", s.name),
            format!("[\"migrate\", \"--service\", \"{}\"", s.name),
        ] {
            assert!(
                manifest.contains(&expected),
                "{}: {expected} missing from {path}",
                s.name
            );
        }
        for grpc in s.grpc {
            assert!(
                manifest.contains(&format!("service: {grpc}")),
                "{}: no readiness probe on {grpc}",
                s.name
            );
        }
    }
}
