//! Who is scheduled where and when (from scheduling's bookings) and the
//! random draws made from it; identifiers frozen here.

use iop_runtime::schema::{blob, create_tables, day, drop_tables, index, instant, key, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Scheduled {
    Table,
    BookingId,
    PatientId,
    FacilityId,
    StartsAt,
}

#[derive(DeriveIden)]
enum Draws {
    Table,
    FacilityId,
    Day,
    Body,
    DrawnAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(Scheduled::Table)
                    .col(key(Scheduled::BookingId))
                    .col(text(Scheduled::PatientId))
                    .col(text(Scheduled::FacilityId))
                    .col(instant(Scheduled::StartsAt))
                    .to_owned(),
                Table::create()
                    .table(Draws::Table)
                    .col(text(Draws::FacilityId))
                    .col(day(Draws::Day))
                    .col(blob(Draws::Body))
                    .col(instant(Draws::DrawnAt))
                    .primary_key(Index::create().col(Draws::FacilityId).col(Draws::Day))
                    .to_owned(),
            ],
        )
        .await?;
        index(
            manager,
            "ix_scheduled_facility_start",
            Scheduled::Table.into_iden(),
            vec![
                Scheduled::FacilityId.into_iden(),
                Scheduled::StartsAt.into_iden(),
            ],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![Draws::Table.into_iden(), Scheduled::Table.into_iden()],
        )
        .await
    }
}
