//! Standing orders, identifiers frozen here.

use iop_runtime::schema::{create_tables, drop_tables, flag, index, instant, int, key, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StandingOrders {
    Table,
    Id,
    PatientId,
    FacilityId,
    PerWeek,
    Panel,
    Observed,
    CreatedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use StandingOrders as S;
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(S::Table)
                    .col(key(S::Id))
                    .col(text(S::PatientId))
                    .col(text(S::FacilityId))
                    .col(int(S::PerWeek))
                    .col(text(S::Panel))
                    .col(flag(S::Observed))
                    .col(instant(S::CreatedAt))
                    .col(text(S::CreatedBy))
                    .to_owned(),
            ],
        )
        .await?;
        index(
            manager,
            "ix_standing_orders_facility",
            S::Table.into_iden(),
            vec![S::FacilityId.into_iden()],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![StandingOrders::Table.into_iden()]).await
    }
}
