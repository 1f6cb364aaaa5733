//! The metrics endpoint as Prometheus scrapes it: RED per RPC, and the
//! outbox backlog growing while the broker is down and falling once it is
//! back (the mock broker's only broker taken down and up).

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
    net.stop().await;
}
