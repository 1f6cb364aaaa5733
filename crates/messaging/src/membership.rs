//! A consumer's membership of its group, as the client sees it: the context
//! every consumer client is created with. It logs each assignment and
//! revocation (an operator reading the log sees when a member got or lost its
//! partitions) and carries the fault hook `consumer.drop_assignment_after_ms`,
//! which makes a client give up its partitions and refuse every later
//! assignment, so the stall watch ([`crate::watch`]) can be shown to notice and
//! heal a member left with no partitions.

use std::sync::atomic::{AtomicBool, Ordering};

use rdkafka::{
    ClientContext, TopicPartitionList,
    consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol},
    error::KafkaResult,
    types::RDKafkaRespErr,
};

/// A consumer client of one group.
pub type GroupConsumer = rdkafka::consumer::StreamConsumer<Membership>;

/// The context of one consumer client.
#[derive(Debug)]
pub struct Membership {
    group: String,
    refusing: AtomicBool,
}

impl Membership {
    /// The context of a client of `group`.
    pub fn new(group: &str) -> Self {
        Self {
            group: group.to_owned(),
            refusing: AtomicBool::new(false),
        }
    }

    /// The fault hook: from now on this client holds no partition, whatever
    /// the group assigns it, while staying in the group.
    pub fn refuse_assignments(&self, consumer: &GroupConsumer) -> KafkaResult<()> {
        self.refusing.store(true, Ordering::SeqCst);
        tracing::warn!(consumer = %self.group, "fault injection: giving up partitions and refusing assignments");
        consumer.unassign()
    }
}

fn names(list: &TopicPartitionList) -> Vec<String> {
    list.elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect()
}

impl ClientContext for Membership {}

impl ConsumerContext for Membership {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        list: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let outcome = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS
                if self.refusing.load(Ordering::SeqCst) =>
            {
                tracing::warn!(consumer = %self.group, partitions = ?names(list), "fault injection: assignment refused");
                if cooperative {
                    Ok(())
                } else {
                    consumer.assign(&TopicPartitionList::new())
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                tracing::info!(consumer = %self.group, partitions = ?names(list), "partitions assigned");
                if cooperative {
                    consumer.incremental_assign(list)
                } else {
                    consumer.assign(list)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(consumer = %self.group, partitions = ?names(list), "partitions revoked");
                if cooperative {
                    consumer.incremental_unassign(list)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                tracing::warn!(consumer = %self.group, error = ?other, "rebalance failed");
                consumer.unassign()
            }
        };
        if let Err(e) = outcome {
            tracing::warn!(consumer = %self.group, error = %e, "applying a rebalance failed");
        }
    }
}
