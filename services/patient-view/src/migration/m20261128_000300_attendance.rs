//! Weekly attendance from scheduling's events.

use iop_runtime::schema::{create_tables, day, drop_tables, int, key, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ViewAttendance {
    Table,
    PatientId,
    WeekStart,
    TimeZone,
    Minutes,
}

/// One row per patient: the latest week with attendance.
fn tables() -> Vec<TableCreateStatement> {
    use ViewAttendance as A;
    vec![
        Table::create()
            .table(A::Table)
            .col(key(A::PatientId))
            .col(day(A::WeekStart))
            .col(text(A::TimeZone))
            .col(int(A::Minutes))
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(manager, tables()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![ViewAttendance::Table.into_iden()]).await
    }
}
