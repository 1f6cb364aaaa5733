//! The Prometheus endpoint of a process (`telemetry.metrics_listen`): the
//! text format on `GET /metrics`, which Kubernetes operators scrape with a
//! `ServiceMonitor` (Prometheus pulls; nothing else to run beside the pods,
//! unlike OTLP metrics, which need a collector). It shows the process's
//! counters (`iop_runtime::metrics`: RED per RPC, dead letters) and, read at
//! scrape time, each service's outbox (unpublished rows, the age of the
//! oldest, parked rows) and each consumer's lag per partition, state and
//! heals. No label or value holds patient data.

use std::fmt::Write as _;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::{audit::AuditTrails, outbox, watch::Board};

/// What one scrape says.
pub async fn render(trails: &AuditTrails, board: &Board) -> String {
    let mut out = iop_runtime::metrics::render();
    let mut backlog = String::new();
    let mut age = String::new();
    let mut parked = String::new();
    for (service, ledger) in trails.all() {
        let db = ledger.conn();
        let waiting = outbox::entity::Entity::find()
            .filter(outbox::entity::Column::PublishedAt.is_null())
            .filter(outbox::entity::Column::ParkedAt.is_null());
        let count = waiting.clone().count(db).await.unwrap_or(0);
        let oldest = waiting
            .order_by_asc(outbox::entity::Column::Position)
            .one(db)
            .await
            .ok()
            .flatten()
            .map(|row| (Utc::now() - row.created_at).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        let held = outbox::parked_count(db).await.unwrap_or(0);
        let _ = writeln!(
            backlog,
            "iop_outbox_unpublished{{service=\"{service}\"}} {count}"
        );
        let _ = writeln!(
            age,
            "iop_outbox_oldest_unpublished_age_seconds{{service=\"{service}\"}} {oldest}"
        );
        let _ = writeln!(parked, "iop_outbox_parked{{service=\"{service}\"}} {held}");
    }
    out.push_str("# HELP iop_outbox_unpublished Outbox rows not yet accepted by the broker.\n# TYPE iop_outbox_unpublished gauge\n");
    out.push_str(&backlog);
    out.push_str("# HELP iop_outbox_oldest_unpublished_age_seconds Age of the oldest row waiting for the broker (0: none).\n# TYPE iop_outbox_oldest_unpublished_age_seconds gauge\n");
    out.push_str(&age);
    out.push_str("# HELP iop_outbox_parked Outbox rows the broker will never accept, parked for an operator.\n# TYPE iop_outbox_parked gauge\n");
    out.push_str(&parked);
    out.push_str("# HELP iop_consumer_lag Records of a partition the consumer group has not applied.\n# TYPE iop_consumer_lag gauge\n");
    let consumers = board.all();
    for s in &consumers {
        for p in &s.partitions {
            let _ = writeln!(
                out,
                "iop_consumer_lag{{group=\"{}\",topic=\"{}\",partition=\"{}\"}} {}",
                s.group,
                p.topic,
                p.partition,
                p.lag()
            );
        }
    }
    out.push_str("# HELP iop_consumer_stalled 1 while a consumer group is stalled or healing.\n# TYPE iop_consumer_stalled gauge\n");
    for s in &consumers {
        let stalled = matches!(
            s.state,
            crate::watch::State::Stalled | crate::watch::State::Healing
        );
        let _ = writeln!(
            out,
            "iop_consumer_stalled{{group=\"{}\"}} {}",
            s.group,
            u8::from(stalled)
        );
    }
    out.push_str("# HELP iop_consumer_heals_total Times a consumer group left and joined again after a stall.\n# TYPE iop_consumer_heals_total counter\n");
    for s in &consumers {
        let _ = writeln!(
            out,
            "iop_consumer_heals_total{{group=\"{}\"}} {}",
            s.group, s.heals
        );
    }
    out
}

/// Serves `GET /metrics` on `listener` until `shutdown`: HTTP/1.1, one
/// request per connection, anything else 404.
pub async fn serve(
    listener: TcpListener,
    trails: AuditTrails,
    board: Board,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((mut stream, _)) = accepted else {
            continue;
        };
        let (trails, board) = (trails.clone(), board.clone());
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            // Read the request head (bounded), nothing more.
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
                match tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    stream.read(&mut chunk),
                )
                .await
                {
                    Ok(Ok(n)) if n > 0 => request.extend_from_slice(&chunk[..n]),
                    _ => return,
                }
            }
            let line = String::from_utf8_lossy(&request);
            let first = line.lines().next().unwrap_or_default();
            let response = if first.starts_with("GET /metrics ") || first == "GET /metrics" {
                let body = render(&trails, &board).await;
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned()
            };
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}
