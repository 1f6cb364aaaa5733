//! Weekly attendance from scheduling's events.

use sea_orm_migration::prelude::*;

pub struct Migration;

#[derive(DeriveIden)]
enum ViewAttendance {
    Table,
    PatientId,
    WeekStart,
    TimeZone,
    Minutes,
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000300_attendance"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ViewAttendance as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(
                        ColumnDef::new(A::PatientId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(A::WeekStart).date().not_null())
                    .col(ColumnDef::new(A::TimeZone).string().not_null())
                    .col(ColumnDef::new(A::Minutes).integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ViewAttendance::Table).to_owned())
            .await
    }
}
