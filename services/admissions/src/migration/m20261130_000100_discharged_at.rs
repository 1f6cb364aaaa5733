//! The instant of a discharge beside its day, so "an assessment made after
//! the last discharge" can be judged on a day with both (a step-up discharge
//! in the afternoon, its new assessment in the evening). Episodes discharged
//! before it have none and are judged by day.

use iop_runtime::schema::{add_columns, drop_columns, optional_instant};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Episodes {
    Table,
    DischargedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Episodes::Table,
            vec![optional_instant(Episodes::DischargedAt)],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            Episodes::Table,
            vec![Episodes::DischargedAt.into_iden()],
        )
        .await
    }
}
