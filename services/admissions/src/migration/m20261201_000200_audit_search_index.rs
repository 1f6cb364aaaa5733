//! An index for the per-caller limit on duplicate searches
//! (`api::duplicates::limit_searches`): it counts one caller's recent searches
//! in `audit_log`, which through the actor index alone walked every row the
//! caller ever caused (54 ms for a caller with 100,000 rows, measured with
//! `iop bench`).

use iop_runtime::schema::index;
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Action,
    Actor,
    OccurredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            "audit_log_action_actor_time",
            AuditLog::Table,
            vec![
                AuditLog::Action.into_iden(),
                AuditLog::Actor.into_iden(),
                AuditLog::OccurredAt.into_iden(),
            ],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("audit_log_action_actor_time")
                    .table(AuditLog::Table)
                    .to_owned(),
            )
            .await
    }
}
