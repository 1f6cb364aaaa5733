//! `iop task`, as the manifests' CronJobs run it: the scheduled calls against
//! a network's gRPC address with a token read from a file, one line of counts
//! per facility, and a refusal that fails the run with the service's status.

use std::process::Command;

use chrono::Days;
use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, until};

/// `iop task <args>` against `net` with `token` in a file; (success, stdout, stderr).
fn task(net: &TestNetwork, token: &str, args: &[&str]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_iop"))
        .arg("task")
        .args(args)
        .args(["--target", &format!("http://{}", net.address)])
        .arg("--token-file")
        .arg(&token_file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`task`], again while a service has not learnt a facility yet (its
/// refusal then changes nothing).
async fn once_known(net: &TestNetwork, token: &str, args: &[&str]) -> (bool, String, String) {
    until("the facilities known to the service", || async {
        let run = task(net, token, args);
        (run.0 || !run.2.contains("not known to")).then_some(run)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_calls_run_per_facility_and_fail_on_a_refusal() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    // The scheduler's client: intake (close, lab) and billing (claims) at
    // the two facilities it serves.
    let scheduler = net.token(&[Role::Intake, Role::Billing], &["oakland", "san-diego"]);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();

    // Each service learns the facilities from admissions' events.
    let close = [
        "close-week",
        "--facility",
        "oakland",
        "--facility",
        "san-diego",
    ];
    let (ok, out, err) = once_known(&net, &scheduler, &close).await;
    assert!(ok, "{err}");
    let week_ago = today - Days::new(7);
    assert_eq!(
        out,
        format!(
            "oakland: week of {week_ago} closed: 0 patients evaluated\n\
             san-diego: week of {week_ago} closed: 0 patients evaluated\n"
        )
    );

    let (ok, out, err) = once_known(
        &net,
        &scheduler,
        &[
            "draw-random",
            "--facility",
            "oakland",
            "--rate-ppm",
            "250000",
            "--panel",
            "fentanyl",
            "--panel",
            "methamphetamine",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out, format!("oakland: {today}: 0 of 0 eligible selected\n"));

    let (ok, out, err) = task(
        &net,
        &scheduler,
        &["order-due-tests", "--facility", "oakland"],
    );
    assert!(ok, "{err}");
    assert_eq!(out, format!("oakland: {today}: 0 standing orders placed\n"));

    let (ok, out, err) = once_known(
        &net,
        &scheduler,
        &["create-claims", "--facility", "oakland"],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "oakland: 0 claims created, 0 charges past timely filing\n"
    );

    // The week in progress has not ended: the service's refusal fails the run.
    let (ok, _, err) = task(
        &net,
        &scheduler,
        &[
            "close-week",
            "--facility",
            "oakland",
            "--day",
            &today.to_string(),
        ],
    );
    assert!(!ok, "closed a week in progress");
    assert!(err.contains("FailedPrecondition"), "{err}");

    // A facility the token does not cover: refused, and the facilities
    // before it were still called.
    let (ok, out, err) = task(
        &net,
        &scheduler,
        &[
            "close-week",
            "--facility",
            "oakland",
            "--facility",
            "fresno",
        ],
    );
    assert!(!ok, "called a facility the token does not cover");
    assert!(out.starts_with("oakland: week of"), "{out}");
    assert!(err.contains("PermissionDenied"), "{err}");

    // Bad input is named before any call.
    let (ok, _, err) = task(
        &net,
        &scheduler,
        &[
            "draw-random",
            "--facility",
            "oakland",
            "--panel",
            "fentanyl",
        ],
    );
    assert!(!ok);
    assert!(err.contains("--rate-ppm"), "{err}");
    net.stop().await;
}
