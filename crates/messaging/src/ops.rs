//! The operations API every consuming process serves
//! (`iop.ops.v1.OperationsService`, admin role): the board of its consumers —
//! whether each holds partitions, its lag per partition, whether it stalled and
//! how often it healed ([`crate::watch`]). No patient data.

use iop_proto::ops::v1::{
    self as api, ConsumerState, ConsumerStatus, PartitionLag,
    operations_service_server::OperationsService,
};
use iop_runtime::{auth::Role, grpc::Call, wire};
use tonic::Status;

use crate::{
    audit::AuditTrails,
    watch::{Board, State},
};

/// Who may ask: operators.
const OPERATORS: &[Role] = &[Role::Admin];

/// `iop.ops.v1.OperationsService` over a process's board.
#[derive(Clone)]
pub struct OperationsApi {
    board: Board,
    /// Where refused calls are recorded.
    trails: AuditTrails,
}

impl OperationsApi {
    /// The API over `board`; refusals go into the process's `trails`.
    pub fn new(board: Board, trails: AuditTrails) -> Self {
        Self { board, trails }
    }

    async fn list_consumers(
        &self,
        _call: &Call,
        _req: api::ListConsumersRequest,
    ) -> Result<api::ListConsumersResponse, Status> {
        let consumers = self
            .board
            .all()
            .into_iter()
            .map(|s| {
                let partitions: Vec<PartitionLag> = s
                    .partitions
                    .iter()
                    .map(|p| PartitionLag {
                        topic: p.topic.clone(),
                        partition: p.partition,
                        assigned: p.assigned,
                        committed: p.committed.unwrap_or(-1),
                        high_watermark: p.high_watermark,
                        lag: p.lag(),
                    })
                    .collect();
                ConsumerStatus {
                    total_lag: partitions.iter().map(|p| p.lag).sum(),
                    group: s.group,
                    topics: s.topics,
                    services: s.services,
                    state: match s.state {
                        State::Starting => ConsumerState::Starting,
                        State::Consuming => ConsumerState::Consuming,
                        State::Stalled => ConsumerState::Stalled,
                        State::Healing => ConsumerState::Healing,
                    } as i32,
                    partitions,
                    heals: s.heals,
                    stalled_since: s.stalled_since.map(wire::timestamp),
                    observed_at: s.observed_at.map(wire::timestamp),
                }
            })
            .collect();
        Ok(api::ListConsumersResponse { consumers })
    }
}

iop_runtime::grpc_service! {
    OperationsApi => OperationsService as "ops" audited by trails {
        list_consumers(api::ListConsumersRequest) -> api::ListConsumersResponse, OPERATORS => list_consumers;
    }
}
