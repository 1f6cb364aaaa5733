//! Dead letters: `iop dlq list` shows what a consumer set aside (why, by
//! whom, from where, and the event decoded), `iop dlq redrive` puts it back
//! on the topic it came from once the cause is fixed.
//!
//! Redriving publishes the record unchanged (key, value, CloudEvents headers
//! and so its event id) to its origin topic, without the dead-letter headers
//! and with `iop_redriven_from` naming where it lay. Every consumer group of
//! that topic sees it again and its inbox skips an event it already applied,
//! so it is applied once wherever it was missing. What was redriven is
//! remembered as the committed offsets of the consumer group
//! `iop.redrive.<dead-letter topic>`: a second run redrives only what was
//! dead-lettered since.

use std::{collections::BTreeMap, io::IsTerminal, time::Duration};

use iop_messaging::cloudevents::header;
use iop_runtime::Settings;
use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer},
    message::{Header, Headers, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};

use crate::{BoxError, schema};

/// The header a redriven record carries: `<dlq topic>/<partition>/<offset>`.
pub const REDRIVEN_FROM: &str = "iop_redriven_from";

/// The consumer group whose offsets remember what was redriven from `topic`.
fn group(topic: &str) -> String {
    format!("iop.redrive.{topic}")
}

/// Per partition of `topic`: where redriving resumes (the group's committed
/// offset, else the oldest kept) and the end (high watermark).
fn ranges(consumer: &BaseConsumer, topic: &str) -> Result<BTreeMap<i32, (i64, i64)>, BoxError> {
    let timeout = Duration::from_secs(10);
    let partitions = schema::partitions(consumer, topic)?;
    let mut asked = TopicPartitionList::new();
    for p in &partitions {
        asked.add_partition(topic, *p);
    }
    let committed = consumer.committed_offsets(asked, timeout)?;
    let mut out = BTreeMap::new();
    for p in partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, timeout)?;
        let from = match committed.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o.max(low),
            _ => low,
        };
        out.insert(p, (from, high));
    }
    Ok(out)
}

fn consumer(settings: &Settings, topic: &str) -> Result<BaseConsumer, BoxError> {
    let mut config = iop_messaging::kafka::client_config(&settings.kafka);
    config
        .set("group.id", group(topic))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    Ok(config.create()?)
}

/// Reads every record of `topic` between `ranges`' bounds, in offset order
/// per partition, handing each to `each`.
fn read(
    consumer: &BaseConsumer,
    topic: &str,
    ranges: &BTreeMap<i32, (i64, i64)>,
    mut each: impl FnMut(&rdkafka::message::BorrowedMessage<'_>) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    let mut assignment = TopicPartitionList::new();
    let mut left = 0;
    for (p, (from, to)) in ranges {
        if from < to {
            assignment.add_partition_offset(topic, *p, Offset::Offset(*from))?;
            left += to - from;
        }
    }
    if left == 0 {
        return Ok(());
    }
    consumer.assign(&assignment)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while left > 0 {
        if std::time::Instant::now() > deadline {
            return Err(format!("{topic}: {left} records not read within 60 s").into());
        }
        let Some(received) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = received?;
        let Some((_, to)) = ranges.get(&message.partition()) else {
            continue;
        };
        if message.offset() < *to {
            each(&message)?;
            left -= 1;
        }
    }
    Ok(())
}

/// Prints every dead letter of `topic` as a JSON line: the decoded event
/// plus why, by which consumer, from where, and whether it was redriven.
pub fn list(settings: &Settings, topic: &str) -> Result<(), BoxError> {
    let pool = schema::pool()?;
    let consumer = consumer(settings, topic)?;
    let pending = ranges(&consumer, topic)?;
    let mut all = BTreeMap::new();
    for (p, (_, to)) in &pending {
        let (low, _) = consumer.fetch_watermarks(topic, *p, Duration::from_secs(10))?;
        all.insert(*p, (low, *to));
    }
    let mut out = std::io::stdout().lock();
    read(&consumer, topic, &all, |m| {
        let mut line = schema::decode(&pool, m);
        let redriven = pending
            .get(&m.partition())
            .is_some_and(|(from, _)| m.offset() < *from);
        line["reason"] = schema::header(m, header::DLQ_REASON).into();
        line["consumer"] = schema::header(m, header::DLQ_CONSUMER).into();
        line["origin"] = schema::header(m, header::DLQ_ORIGIN).into();
        line["redriven"] = redriven.into();
        use std::io::Write;
        writeln!(out, "{line}")?;
        Ok(())
    })
}

/// Publishes every dead letter of `topic` not redriven yet back onto its
/// origin topic, committing each one's offset once the broker acknowledged
/// it. Returns how many were redriven.
pub async fn redrive(settings: &Settings, topic: &str) -> Result<u64, BoxError> {
    let consumer = consumer(settings, topic)?;
    let pending = ranges(&consumer, topic)?;
    let total: i64 = pending.values().map(|(from, to)| to - from).sum();
    let producer: FutureProducer =
        iop_messaging::kafka::producer_config(&settings.kafka, "iop-redrive").create()?;
    let progress = std::io::stderr().is_terminal();
    let mut done = 0u64;
    let mut records = Vec::new();
    read(&consumer, topic, &pending, |m| {
        records.push(m.detach());
        Ok(())
    })?;
    for m in records {
        let origin = schema::header(&m, header::DLQ_ORIGIN).ok_or_else(|| {
            format!(
                "{topic}/{}/{}: no {} header",
                m.partition(),
                m.offset(),
                header::DLQ_ORIGIN
            )
        })?;
        // `<topic>/<partition>/<offset>`; topic names hold no '/'.
        let origin_topic = origin.split('/').next().unwrap_or_default().to_owned();
        let mut headers = OwnedHeaders::new();
        if let Some(h) = m.headers() {
            for x in h.iter().filter(|x| !x.key.starts_with("iop_dlq_")) {
                headers = headers.insert(Header {
                    key: x.key,
                    value: x.value,
                });
            }
        }
        let from = format!("{topic}/{}/{}", m.partition(), m.offset());
        headers = headers.insert(Header {
            key: REDRIVEN_FROM,
            value: Some(&from),
        });
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&origin_topic).headers(headers);
        if let Some(key) = m.key() {
            record = record.key(key);
        }
        if let Some(payload) = m.payload() {
            record = record.payload(payload);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| format!("{from} → {origin_topic}: {e}"))?;
        let mut next = TopicPartitionList::new();
        next.add_partition_offset(topic, m.partition(), Offset::Offset(m.offset() + 1))?;
        consumer.commit(&next, CommitMode::Sync)?;
        done += 1;
        if progress {
            let width = 30;
            let filled = if total > 0 {
                (done as i64 * width / total) as usize
            } else {
                width as usize
            };
            eprint!(
                "\r[{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(width as usize - filled)
            );
        }
    }
    if progress && total > 0 {
        eprintln!();
    }
    Ok(done)
}
