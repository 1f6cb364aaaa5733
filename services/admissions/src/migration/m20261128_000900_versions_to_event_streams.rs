//! The sequences admissions kept on its own rows (`patients.version` for each
//! patient's stream, `facilities.version` for each facility's) move to the
//! `event_streams` table the unit of work keeps for every service; the old
//! columns go, so there is one sequence and one way to claim it.

use sea_orm_migration::prelude::*;

pub struct Migration;

#[derive(DeriveIden)]
enum Patients {
    Table,
    Version,
}

#[derive(DeriveIden)]
enum Facilities {
    Table,
    Version,
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000900_versions_to_event_streams"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO event_streams (aggregate_type, aggregate_id, version) \
             SELECT 'patient', id, version FROM patients",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO event_streams (aggregate_type, aggregate_id, version) \
             SELECT 'facility', id, version FROM facilities",
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .drop_column(Patients::Version)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Facilities::Table)
                    .drop_column(Facilities::Version)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m20261128_000900 is forward-only".to_owned(),
        ))
    }
}
