//! The projector's gRPC face: counts of what it projected, for operators and
//! auditors. It never serves the pseudonym mapping.

use iop_messaging::work::Ledger;
use iop_proto::analytics::v1::{
    DescribeProjectionRequest, DescribeProjectionResponse,
    analytics_service_server::AnalyticsService,
};
use iop_runtime::{auth::Role, grpc::Call};
use sea_orm::{ConnectionTrait, Statement};

use crate::{error::AnalyticsError, store};

/// Who may read the counts.
const OPERATORS: &[Role] = &[Role::Admin, Role::Auditor];

/// `iop.analytics.v1.AnalyticsService`.
#[derive(Clone)]
pub struct AnalyticsApi {
    ledger: Ledger,
}

impl AnalyticsApi {
    /// The service over the projector's ledger.
    pub fn new(ledger: Ledger) -> Self {
        Self { ledger }
    }

    async fn describe_projection(
        &self,
        _call: &Call,
        _req: DescribeProjectionRequest,
    ) -> Result<DescribeProjectionResponse, AnalyticsError> {
        let db = self.ledger.conn();
        let (subjects, episodes) = store::counts(db).await?;
        // Every event written is a version of a pseudonym's stream.
        let written = db
            .query_one(Statement::from_string(
                db.get_database_backend(),
                "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) AS n FROM event_streams \
                 WHERE aggregate_type = 'subject'",
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        Ok(DescribeProjectionResponse {
            subjects,
            episodes,
            events: u64::try_from(written).unwrap_or(0),
        })
    }
}

iop_runtime::grpc_service! {
    AnalyticsApi => AnalyticsService as "analytics" audited by ledger {
        describe_projection(DescribeProjectionRequest) -> DescribeProjectionResponse, OPERATORS => describe_projection;
    }
}
