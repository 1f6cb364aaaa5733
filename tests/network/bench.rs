//! `iop bench` runs end to end, so it cannot rot: every operation on a small
//! count against the network it starts in-process, as JSON, and the view
//! rebuilt from the topics. Timings are never
//! asserted (shared machines are noisy); the counts, the absence of errors
//! and the shape of the report are.

use std::process::Command;

#[test]
fn the_bench_measures_every_operation_against_a_network_it_starts() {
    let output = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args([
            "bench",
            "--count",
            "12",
            "--clients",
            "4",
            "--patients",
            "24",
            "--propagation-rate",
            "100",
            "--rebuild",
            "--json",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["preloaded_patients"], 24);
    let ops = report["operations"].as_array().unwrap();
    let names: Vec<&str> = ops
        .iter()
        .map(|o| o["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "health_check",
            "register",
            "register_admit",
            "get_patient",
            "get_patient_view",
            "attendance_group_of_12",
            "propagation_view",
            "propagation_scheduling"
        ]
    );
    for op in ops {
        let name = op["operation"].as_str().unwrap();
        assert_eq!(op["ok"], 12, "{name}: {op}");
        assert_eq!(op["errors"], 0, "{name}: {op}");
        let ratio = op["ratio_to_health_check"].as_f64().unwrap();
        assert!(ratio > 0.0, "{name}: {op}");
        let (p50, p99, max) = (
            op["p50_ms"].as_f64().unwrap(),
            op["p99_ms"].as_f64().unwrap(),
            op["max_ms"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{name}: {op}");
    }
    assert_eq!(ops[0]["ratio_to_health_check"], 1.0);
    // The view rebuilt from every record the topics held.
    let rebuilt = &report["view_rebuild"];
    assert!(rebuilt["records"].as_u64().unwrap() > 100, "{rebuilt}");
    assert_eq!(rebuilt["applied"], rebuilt["records"], "{rebuilt}");
    for rate in ["raw_per_second", "rebuild_per_second", "ratio_to_raw"] {
        assert!(rebuilt[rate].as_f64().unwrap() > 0.0, "{rebuilt}");
    }
}
