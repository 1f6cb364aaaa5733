//! Scheduling's own per-patient sequence (`patient_streams`) becomes the one
//! every service shares (`event_streams`, written by the unit of work): rows
//! move, the old table goes.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000800_patient_streams_to_event_streams"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO event_streams (aggregate_type, aggregate_id, version) \
                 SELECT 'patient', patient_id, version FROM patient_streams",
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("patient_streams"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m20261128_000800 is forward-only".to_owned(),
        ))
    }
}
