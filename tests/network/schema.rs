//! The topics read as an analyst reads them, without the source tree: the
//! descriptor set `iop schema export` writes loads in `protoc
//! --descriptor_set_in` and decodes a record read from the broker; the table
//! in `docs/events.md` is what the schemas say today; `iop events tail`
//! prints an admission as JSON with the proto JSON field names.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, header, read_topic, record_count, register, registration};

fn iop(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_iop"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exported_schemas_decode_the_topics_and_the_docs_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("iop.binpb");
    let docs = dir.path().join("events.md");
    let out = iop(&[
        "schema",
        "export",
        "--out",
        set.to_str().unwrap(),
        "--docs",
        docs.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = std::fs::read_to_string(&docs).unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/events.md"))
        .unwrap_or_default();
    assert!(
        generated == committed,
        "docs/events.md is stale: run `cargo run -- schema export --out /tmp/iop.binpb --docs docs/events.md`"
    );

    let net = TestNetwork::start(Backend::Sqlite).await;
    let token = net.token(&[Role::Intake], &["fresno"]);
    let (pid, _) = register(
        &mut net.admissions().await,
        &token,
        registration("Itzel", "Zamarripa", "fresno"),
    )
    .await
    .unwrap();
    iop_testkit::admit(
        &mut net.admissions().await,
        &token,
        &pid,
        "fresno",
        iop_proto::common::v1::Program::IopDay,
    )
    .await
    .unwrap();

    // iop events tail: the admission as a JSON line (once the relay
    // published it).
    let tailed = iop(&[
        "events",
        "tail",
        "--bootstrap",
        &net.bootstrap_servers(),
        "--topic",
        "iop.admissions.v1",
        "--from-beginning",
        "--key",
        &pid,
        "--type",
        "PatientAdmitted",
        "--count",
        "1",
        "--idle-exit",
        "60",
    ]);
    assert!(
        tailed.status.success(),
        "{}",
        String::from_utf8_lossy(&tailed.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_slice(tailed.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["type"], "iop.admissions.events.v1.PatientAdmitted");
    assert_eq!(line["key"], pid.as_str());
    assert_eq!(line["source"], "/iop/local/admissions");
    assert_eq!(line["data"]["patientId"], pid.as_str());
    assert_eq!(line["data"]["facilityId"], "fresno");
    assert_eq!(line["data"]["program"], "PROGRAM_IOP_DAY");
    assert_eq!(
        line["data"]["levelOfCare"],
        "LEVEL_OF_CARE_2_1_INTENSIVE_OUTPATIENT"
    );
    assert!(
        line["data"]["episodeId"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    // protoc, given only the exported set, decodes the record's value.

    let held = record_count(
        &net.bootstrap_servers(),
        "iop.admissions.v1",
        net.settings.kafka.topic_partitions,
    );
    let record = read_topic(&net.bootstrap_servers(), "iop.admissions.v1", held)
        .await
        .into_iter()
        .find(|r| rdkafka::Message::key(r) == Some(pid.as_bytes()));
    let record = match record {
        Some(r) => r,
        None => panic!("no record of {pid} among the first ones"),
    };
    let ce_type = header(&record, "ce_type").unwrap().to_owned();
    assert_eq!(ce_type, "iop.admissions.events.v1.PatientRegistered");
    let mut protoc = Command::new(protoc_bin_vendored::protoc_bin_path().unwrap())
        .arg(format!("--decode={ce_type}"))
        .arg(format!("--descriptor_set_in={}", set.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    protoc
        .stdin
        .take()
        .unwrap()
        .write_all(rdkafka::Message::payload(&record).unwrap())
        .unwrap();
    let decoded = protoc.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&decoded.stdout);
    assert!(
        decoded.status.success(),
        "{}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    assert!(text.contains(&format!("patient_id: \"{pid}\"")), "{text}");
    assert!(text.contains("family: \"Zamarripa\""), "{text}");

    net.stop().await;
}
