//! The consumer's stall watch: a consumer that silently stops — it holds no
//! partitions while its topics have lag, or it holds them and neither receives
//! nor works — is a data-freshness outage nobody notices, so the watch notices.
//!
//! Every `consumer.watch_interval_ms` the consumer observes each partition of its
//! topics: the group's committed offset, the high watermark, whether this member
//! holds it ([`Observation`]). [`Judge::observe`] turns the observations into a
//! [`Verdict`], by one rule:
//!
//! - a partition **stands still** when it has lag and its committed offset has
//!   not moved for `consumer.stall_after_ms`;
//! - the consumer is **stalled** when some partition stands still and either
//!   this member does not hold it (nobody in the group is consuming it, or the
//!   group is stuck: rejoining makes the broker rebalance it), or this member
//!   holds it and has done no work (received nothing, applied nothing) for as
//!   long. A member busy retrying an event (a database outage) is working, not
//!   stalled: rejoining would not help it;
//! - otherwise it is consuming (or starting, until the first observation).
//!
//! A stalled consumer logs a WARN with its group, topics and lag, reports its
//! services NOT_SERVING (so a readiness probe takes the pod out and the liveness
//! probe eventually restarts it), and heals itself: it closes its client (which
//! leaves the group) and joins again, with backoff, counting each heal. Once no
//! partition stands still, its services report SERVING again.
//!
//! The [`Board`] holds each consumer's latest status for the operations API
//! (`iop.ops.v1.OperationsService/ListConsumers`).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use rdkafka::{Offset, TopicPartitionList, consumer::Consumer, error::KafkaError};

/// One partition as the watch saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The group's committed offset; `None` before the group commits one.
    pub committed: Option<i64>,
    /// The first offset still in the partition.
    pub low_watermark: i64,
    /// The next offset the partition will write.
    pub high_watermark: i64,
    /// Whether this member holds the partition.
    pub assigned: bool,
}

impl Observation {
    /// Records the group has not consumed.
    pub fn lag(&self) -> i64 {
        let from = self.committed.unwrap_or(self.low_watermark);
        (self.high_watermark - from).max(0)
    }
}

/// What the watch concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Caught up, or the group's committed offsets have moved since this
    /// member joined.
    Consuming {
        /// Total lag.
        lag: i64,
    },
    /// Lag, and nothing has moved since this member joined, but not for
    /// `stall_after` yet: a member that joins (or heals) is not consuming
    /// until it shows progress.
    Waiting {
        /// Total lag.
        lag: i64,
    },
    /// Lag stood still for `stall_after` with nobody working on it.
    Stalled {
        /// Total lag.
        lag: i64,
        /// The partitions standing still, as `topic/partition`.
        standing: Vec<String>,
    },
}

/// Remembers, per partition, since when its committed offset has not moved.
#[derive(Debug, Clone)]
pub struct Judge {
    stall_after: Duration,
    still: HashMap<(String, i32), (Option<i64>, Instant)>,
    /// Each partition's committed offset when first seen.
    baseline: HashMap<(String, i32), Option<i64>>,
}

impl Judge {
    /// A judge declaring a stall after `stall_after` of standing lag.
    pub fn new(stall_after: Duration) -> Self {
        Self {
            stall_after,
            still: HashMap::new(),
            baseline: HashMap::new(),
        }
    }

    /// Judges one round of observations made at `now`; `last_work` is when this
    /// member last received or applied anything.
    pub fn observe(
        &mut self,
        now: Instant,
        observations: &[Observation],
        last_work: Instant,
    ) -> Verdict {
        let lag: i64 = observations.iter().map(Observation::lag).sum();
        let idle = now.saturating_duration_since(last_work) >= self.stall_after;
        let mut standing = Vec::new();
        let mut moved = false;
        for o in observations {
            let key = (o.topic.clone(), o.partition);
            moved |= *self.baseline.entry(key.clone()).or_insert(o.committed) != o.committed;
            let since = match self.still.get(&key) {
                Some((committed, since)) if *committed == o.committed => *since,
                _ => {
                    self.still.insert(key, (o.committed, now));
                    now
                }
            };
            let stands = o.lag() > 0 && now.saturating_duration_since(since) >= self.stall_after;
            if stands && (!o.assigned || idle) {
                standing.push(format!("{}/{}", o.topic, o.partition));
            }
        }
        if !standing.is_empty() {
            Verdict::Stalled { lag, standing }
        } else if lag == 0 || moved {
            Verdict::Consuming { lag }
        } else {
            Verdict::Waiting { lag }
        }
    }
}

/// How long one observation may wait on the broker.
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Observes every partition of `topics` for `consumer`'s group: committed
/// offset, watermarks, whether this member holds it. Blocking (network calls).
pub fn observe(
    consumer: &crate::membership::GroupConsumer,
    topics: &[String],
) -> Result<Vec<Observation>, KafkaError> {
    let assignment = consumer.assignment()?;
    let held = |topic: &str, partition: i32| {
        assignment
            .elements()
            .iter()
            .any(|e| e.topic() == topic && e.partition() == partition)
    };
    let mut all = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), OBSERVE_TIMEOUT)?;
        for t in metadata.topics() {
            for p in t.partitions() {
                all.add_partition(topic, p.id());
            }
        }
    }
    let committed = consumer.committed_offsets(all, OBSERVE_TIMEOUT)?;
    let mut seen = Vec::new();
    for e in committed.elements() {
        let (low, high) = consumer.fetch_watermarks(e.topic(), e.partition(), OBSERVE_TIMEOUT)?;
        seen.push(Observation {
            topic: e.topic().to_owned(),
            partition: e.partition(),
            committed: match e.offset() {
                Offset::Offset(n) => Some(n),
                _ => None,
            },
            low_watermark: low,
            high_watermark: high,
            assigned: held(e.topic(), e.partition()),
        });
    }
    Ok(seen)
}

/// The state a consumer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Created; no verdict yet.
    Starting,
    /// Caught up, or moving.
    Consuming,
    /// Lag standing still; services NOT_SERVING.
    Stalled,
    /// Leaving the group and joining again.
    Healing,
}

/// One consumer's latest status.
#[derive(Debug, Clone)]
pub struct Status {
    /// Consumer group.
    pub group: String,
    /// Topics consumed.
    pub topics: Vec<String>,
    /// gRPC services whose health follows it.
    pub services: Vec<String>,
    /// State.
    pub state: State,
    /// The latest observation of each partition.
    pub partitions: Vec<Observation>,
    /// Heals so far.
    pub heals: u32,
    /// When it stalled, while stalled.
    pub stalled_since: Option<DateTime<Utc>>,
    /// When the latest verdict was made.
    pub observed_at: Option<DateTime<Utc>>,
}

/// Every consumer's latest status in one process; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Board(Arc<Mutex<BTreeMap<String, Status>>>);

impl Board {
    /// Sets the status of `status.group`.
    pub fn put(&self, status: Status) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(status.group.clone(), status);
        }
    }

    /// Changes the status of `group`, if known.
    pub fn update(&self, group: &str, change: impl FnOnce(&mut Status)) {
        if let Ok(mut map) = self.0.lock()
            && let Some(s) = map.get_mut(group)
        {
            change(s);
        }
    }

    /// Every status, by group.
    pub fn all(&self) -> Vec<Status> {
        self.0
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(partition: i32, committed: i64, high: i64, assigned: bool) -> Observation {
        Observation {
            topic: "iop.admissions.v1".into(),
            partition,
            committed: Some(committed),
            low_watermark: 0,
            high_watermark: high,
            assigned,
        }
    }

    const STALL: Duration = Duration::from_secs(10);

    #[test]
    fn caught_up_or_moving_is_consuming_whatever_the_assignment() {
        let t0 = Instant::now();
        let mut j = Judge::new(STALL);
        assert_eq!(
            j.observe(t0, &[obs(0, 5, 5, false)], t0),
            Verdict::Consuming { lag: 0 }
        );
        // Lag, but the committed offset moves every round: another member works.
        for (i, committed) in [1, 2, 3, 4].into_iter().enumerate() {
            let now = t0 + STALL * (i as u32 + 1);
            assert_eq!(
                j.observe(now, &[obs(0, committed, 9, false)], t0),
                Verdict::Consuming { lag: 9 - committed }
            );
        }
    }

    #[test]
    fn lag_standing_still_on_a_partition_nobody_here_holds_is_a_stall() {
        let t0 = Instant::now();
        let mut j = Judge::new(STALL);
        let seen = [obs(0, 3, 7, false), obs(1, 2, 2, false)];
        assert_eq!(j.observe(t0, &seen, t0), Verdict::Waiting { lag: 4 });
        let almost = t0 + STALL - Duration::from_millis(1);
        assert_eq!(j.observe(almost, &seen, t0), Verdict::Waiting { lag: 4 });
        assert_eq!(
            j.observe(t0 + STALL, &seen, t0 + STALL),
            Verdict::Stalled {
                lag: 4,
                standing: vec!["iop.admissions.v1/0".into()]
            },
            "no partition held: stalled even though this member is not idle"
        );
        let mut healed = Judge::new(STALL);
        assert_eq!(
            healed.observe(t0 + STALL * 2, &seen, t0),
            Verdict::Waiting { lag: 4 },
            "a healed member starts afresh, and is not consuming until it shows progress"
        );
        let moved = [obs(0, 5, 7, true), obs(1, 2, 2, true)];
        assert_eq!(
            healed.observe(t0 + STALL * 2, &moved, t0),
            Verdict::Consuming { lag: 2 }
        );
    }

    #[test]
    fn a_held_partition_stalls_only_when_this_member_does_no_work() {
        let t0 = Instant::now();
        let mut j = Judge::new(STALL);
        let held = [obs(0, 3, 7, true)];
        j.observe(t0, &held, t0);
        let later = t0 + STALL * 2;
        assert_eq!(
            j.observe(later, &held, later - Duration::from_secs(1)),
            Verdict::Waiting { lag: 4 },
            "busy retrying an event: working, not stalled"
        );
        assert!(matches!(
            j.observe(later, &held, t0),
            Verdict::Stalled { lag: 4, .. }
        ));
    }

    #[test]
    fn without_a_committed_offset_lag_counts_from_the_low_watermark() {
        let fresh = Observation {
            committed: None,
            low_watermark: 2,
            high_watermark: 10,
            ..obs(0, 0, 0, false)
        };
        assert_eq!(fresh.lag(), 8);
        assert_eq!(obs(0, 12, 10, true).lag(), 0, "never negative");
    }
}
