//! The transactional outbox (Debezium outbox-router column names). Events are
//! appended only by the unit of work ([`crate::work::UnitOfWork::emit`]), inside
//! the transaction that changes the state, so the state and its events commit
//! together or not at all; the [`crate::relay`] publishes them afterwards. Rows are kept after publication
//! (for `outbox.retention_hours`) so a fresh broker can be refilled from them.
//!
//! A row the broker can never accept (too large, refused as invalid) is
//! *parked*: marked with the time and the broker's reason, left out of later
//! rounds so the rows after it are published, and counted for operators, who
//! list and release parked rows with `iop outbox` ([`parked`], [`release`]).

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use sea_orm_migration::prelude::*;
use tokio::sync::Notify;

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Kind of aggregate, e.g. `patient`.
    pub aggregate_type: &'static str,
    /// Aggregate id; also the Kafka key (a patient id).
    pub aggregate_id: String,
    /// Position of this event in the aggregate's history (1, 2, …).
    pub sequence: i64,
    /// Full protobuf message name, e.g. `iop.admissions.events.v1.PatientAdmitted`.
    pub event_type: String,
    /// Protobuf encoding of the event.
    pub payload: Vec<u8>,
}

impl NewEvent {
    /// An event for `message`, its type taken from the message's full name.
    pub fn of<M: prost::Name>(
        aggregate_type: &'static str,
        aggregate_id: &str,
        sequence: i64,
        message: &M,
    ) -> Self {
        Self {
            aggregate_type,
            aggregate_id: aggregate_id.to_owned(),
            sequence,
            event_type: M::full_name(),
            payload: message.encode_to_vec(),
        }
    }
}

/// Appends events and wakes the relay once they are committed.
#[derive(Clone, Default)]
pub struct Outbox {
    committed: Arc<Notify>,
}

impl Outbox {
    /// A new outbox handle; give [`Outbox::wakeup`] to the relay.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `event` in the caller's transaction, with the current span's trace
    /// context. Returns the event id.
    pub(crate) async fn append<C: ConnectionTrait>(
        &self,
        txn: &C,
        event: NewEvent,
    ) -> Result<String, DbErr> {
        let id = uuid::Uuid::now_v7().to_string();
        entity::ActiveModel {
            position: sea_orm::NotSet,
            id: Set(id.clone()),
            aggregatetype: Set(event.aggregate_type.to_owned()),
            aggregateid: Set(event.aggregate_id),
            sequence: Set(event.sequence),
            event_type: Set(event.event_type),
            payload: Set(event.payload),
            traceparent: Set(iop_runtime::telemetry::traceparent_of(
                &tracing::Span::current(),
            )),
            created_at: Set(Utc::now()),
            published_at: Set(None),
            parked_at: Set(None),
            park_reason: Set(None),
        }
        .insert(txn)
        .await?;
        Ok(id)
    }

    /// Tells the relay that a transaction with outbox rows committed.
    pub fn committed(&self) {
        self.committed.notify_one();
    }

    /// What the relay waits on between rounds.
    pub fn wakeup(&self) -> Arc<Notify> {
        self.committed.clone()
    }
}

/// The `outbox` table.
#[allow(
    missing_docs,
    reason = "fields are the columns, described on the module"
)]
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        /// Insertion order; the relay publishes in this order.
        #[sea_orm(primary_key)]
        pub position: i64,
        /// Event id (`ce_id`).
        #[sea_orm(unique)]
        pub id: String,
        pub aggregatetype: String,
        pub aggregateid: String,
        pub sequence: i64,
        #[sea_orm(column_name = "type")]
        pub event_type: String,
        pub payload: Vec<u8>,
        pub traceparent: Option<String>,
        pub created_at: DateTimeUtc,
        pub published_at: Option<DateTimeUtc>,
        /// When the relay gave up on the row for good, and why.
        pub parked_at: Option<DateTimeUtc>,
        pub park_reason: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The parked rows, oldest first (at most `limit`).
pub async fn parked<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<entity::Model>, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    entity::Entity::find()
        .filter(entity::Column::ParkedAt.is_not_null())
        .filter(entity::Column::PublishedAt.is_null())
        .order_by_asc(entity::Column::Position)
        .limit(limit)
        .all(db)
        .await
}

/// How many rows are parked.
pub async fn parked_count<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    entity::Entity::find()
        .filter(entity::Column::ParkedAt.is_not_null())
        .filter(entity::Column::PublishedAt.is_null())
        .count(db)
        .await
}

/// Releases parked rows (one `position`, or all) for the relay to try again,
/// e.g. after the broker's `message.max.bytes` was raised. Returns how many.
pub async fn release<C: ConnectionTrait>(db: &C, position: Option<i64>) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let mut update = entity::Entity::update_many()
        .col_expr(
            entity::Column::ParkedAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(
            entity::Column::ParkReason,
            Expr::value(Option::<String>::None),
        )
        .filter(entity::Column::ParkedAt.is_not_null())
        .filter(entity::Column::PublishedAt.is_null());
    if let Some(p) = position {
        update = update.filter(entity::Column::Position.eq(p));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// Adds `parked_at` and `park_reason` to `outbox`.
pub struct ParkOutboxRows;

#[derive(DeriveIden)]
enum Parking {
    #[sea_orm(iden = "outbox")]
    Table,
    ParkedAt,
    ParkReason,
}

impl MigrationName for ParkOutboxRows {
    fn name(&self) -> &str {
        "m20261129_000002_park_outbox_rows"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ParkOutboxRows {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use iop_runtime::schema::{add_columns, optional_instant, optional_text};
        add_columns(
            manager,
            Parking::Table,
            vec![
                optional_instant(Parking::ParkedAt),
                optional_text(Parking::ParkReason),
            ],
        )
        .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        iop_runtime::schema::forward_only(self.name())
    }
}

/// Creates `outbox` (identifiers frozen here).
pub struct CreateOutbox;

/// The identifiers as this migration created them.
mod frozen {
    use sea_orm_migration::prelude::*;

    #[derive(DeriveIden)]
    pub(super) enum Outbox {
        Table,
        Position,
        Id,
        Aggregatetype,
        Aggregateid,
        Sequence,
        #[sea_orm(iden = "type")]
        Type,
        Payload,
        Traceparent,
        CreatedAt,
        PublishedAt,
    }
}

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m20261128_000002_create_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use frozen::Outbox;
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Outbox::Position)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Outbox::Id).string().not_null().unique_key())
                    .col(ColumnDef::new(Outbox::Aggregatetype).string().not_null())
                    .col(ColumnDef::new(Outbox::Aggregateid).string().not_null())
                    .col(ColumnDef::new(Outbox::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(Outbox::Type).string().not_null())
                    .col(ColumnDef::new(Outbox::Payload).binary().not_null())
                    .col(ColumnDef::new(Outbox::Traceparent).string())
                    .col(
                        ColumnDef::new(Outbox::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Outbox::PublishedAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_unpublished")
                    .table(Outbox::Table)
                    .col(Outbox::PublishedAt)
                    .col(Outbox::Position)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(frozen::Outbox::Table).to_owned())
            .await
    }
}
