//! Discharge reason and date on episodes.

use iop_runtime::schema::{add_columns, drop_columns, optional_day, optional_int};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Episodes {
    Table,
    DischargeReason,
    DischargedOn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Episodes::Table,
            vec![
                optional_int(Episodes::DischargeReason),
                optional_day(Episodes::DischargedOn),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            Episodes::Table,
            vec![
                Episodes::DischargedOn.into_iden(),
                Episodes::DischargeReason.into_iden(),
            ],
        )
        .await
    }
}
