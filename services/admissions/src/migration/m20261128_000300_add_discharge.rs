//! Discharge reason and date on episodes.

use sea_orm_migration::prelude::*;

pub struct Migration;

#[derive(DeriveIden)]
enum Episodes {
    Table,
    DischargeReason,
    DischargedOn,
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000300_add_discharge"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Episodes::Table)
                    .add_column(ColumnDef::new(Episodes::DischargeReason).integer())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Episodes::Table)
                    .add_column(ColumnDef::new(Episodes::DischargedOn).date())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Episodes::DischargedOn, Episodes::DischargeReason] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Episodes::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
