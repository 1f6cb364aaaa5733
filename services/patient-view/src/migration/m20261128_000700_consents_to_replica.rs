//! The view's own consent copy becomes the shared replica every context keeps
//! (`iop_consent::replica`): rows move, the old table goes.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000700_consents_to_replica"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO consent_replica (consent_id, patient_id, consent) \
             SELECT consent_id, patient_id, consent FROM view_consents",
        )
        .await?;
        manager
            .drop_table(Table::drop().table(Alias::new("view_consents")).to_owned())
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m20261128_000700 is forward-only".to_owned(),
        ))
    }
}
