//! The metrics endpoint as Prometheus scrapes it: RED per RPC, the outbox
//! backlog growing while the broker is down and falling once it is back (the
//! mock broker's only broker taken down and up), a read waiting on its
//! consistency token meanwhile, consumers' lag, and the audit chains as the
//! process verifies them by itself.

use std::{
    io::{Read, Write},
    time::Duration,
};

use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, until};

/// One scrape of `GET /metrics`.
fn scrape(port: u16) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: iop\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    response
}

/// The value of the sample `name{labels}` in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.trim().parse().ok())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_backlog_grows_while_the_broker_is_down_and_falls_after() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let net = TestNetwork::start_with(Backend::Sqlite, |s| {
        s.telemetry.metrics_listen = format!("127.0.0.1:{port}");
        s.audit.verify_every_s = 1;
    })
    .await;
    let backlog = "iop_outbox_unpublished{service=\"admissions\"}";
    let text = until("the first scrape", || async { Some(scrape(port)) }).await;
    assert!(
        text.contains("# TYPE iop_outbox_unpublished gauge"),
        "{text}"
    );
    until("an empty admissions outbox", || async {
        (sample(&scrape(port), backlog) == Some(0.0)).then_some(())
    })
    .await;

    net.broker_down();
    let token = net.token(&[Role::Intake], &["oakland"]);
    let mut admissions = net.admissions().await;
    for family in ["Alder", "Birch", "Cedar"] {
        iop_testkit::patient(&mut admissions, &token, "Metric", family, "oakland").await;
    }
    // A read that must see a write still in the outbox waits for it.
    let (waited_for, consistency) = iop_testkit::register(
        &mut admissions,
        &token,
        iop_testkit::registration("Metric", "Dogwood", "oakland"),
    )
    .await
    .unwrap();
    let mut view = net.view().await;
    let reader = tokio::spawn({
        let token = token.clone();
        async move {
            view.get_patient_view(iop_testkit::authed(
                iop_proto::patientview::v1::GetPatientViewRequest {
                    patient_id: waited_for,
                    consistency_token: consistency,
                },
                &token,
            ))
            .await
        }
    });
    let waiters = "iop_consistency_waiters{service=\"patient-view\"}";
    until("the read to be counted as waiting", || async {
        (sample(&scrape(port), waiters) == Some(1.0)).then_some(())
    })
    .await;
    let during = until("the backlog to show", || async {
        let text = scrape(port);
        (sample(&text, backlog).unwrap_or(0.0) >= 3.0).then_some(text)
    })
    .await;
    let age = sample(
        &during,
        "iop_outbox_oldest_unpublished_age_seconds{service=\"admissions\"}",
    )
    .unwrap();
    assert!(age > 0.0, "the oldest waiting row has an age: {age}");
    assert!(
        sample(
            &during,
            "iop_grpc_requests_total{rpc=\"admissions.RegisterPatient\",code=\"Ok\"}"
        )
        .unwrap_or(0.0)
            >= 3.0,
        "{during}"
    );
    assert!(during.contains(
        "iop_grpc_request_duration_seconds_bucket{rpc=\"admissions.RegisterPatient\",le=\"+Inf\"}"
    ));

    net.broker_up();
    until("the backlog to drain", || async {
        (sample(&scrape(port), backlog) == Some(0.0)).then_some(())
    })
    .await;
    // The read ended (answered, or NOT_YET_APPLIED after its 10 s) and is
    // counted no more.
    match reader.await.unwrap() {
        Ok(_) => {}
        Err(s) => assert_eq!(s.code(), tonic::Code::DeadlineExceeded, "{s:?}"),
    }
    assert_eq!(sample(&scrape(port), waiters), Some(0.0));
    // Each consumer's lag per partition, as its watch last observed it.
    let after = until("the consumers' lag", || async {
        let text = scrape(port);
        text.contains("iop_consumer_lag{group=\"iop.patientview\",topic=\"iop.admissions.v1\"")
            .then_some(text)
    })
    .await;
    assert!(
        after.contains("iop_consumer_stalled{group=\"iop.billing\"} 0"),
        "{after}"
    );
    // Every trail of the process verified by itself, each intact, with the
    // rows the calls above wrote.
    let verified = until("the audit chains verified", || async {
        let text = scrape(port);
        iop_registry::SERVICES
            .iter()
            .all(|s| {
                text.contains(&format!(
                    "iop_audit_chain_intact{{service=\"{}\"}} 1",
                    s.name
                ))
            })
            .then_some(text)
    })
    .await;
    let rows = sample(&verified, "iop_audit_chain_rows{service=\"admissions\"}").unwrap();
    assert!(rows >= 4.0, "four registrations audited: {rows}");
    net.stop().await;
}
