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
fn the_settings_file_the_manifests_ship_loads_for_every_service() {
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/configmap.yaml"
    ))
    .unwrap();
    let toml: String = manifest
        .split("iop.toml: |\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(toml.as_bytes()).unwrap();
    let path = file.path().to_string_lossy().into_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args(["--config", &path, "services"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let settings =
        iop_runtime::Settings::load(Some(file.path()), &iop_registry::sections()).unwrap();
    assert_eq!(settings.kafka.topic_replication, 3);
}
