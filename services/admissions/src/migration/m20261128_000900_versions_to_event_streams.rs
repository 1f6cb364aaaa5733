//! The sequences admissions kept on its own rows (`patients.version` for each
//! patient's stream, `facilities.version` for each facility's) move to the
//! `event_streams` table the unit of work keeps for every service; the old
//! columns go, so there is one sequence and one way to claim it.

use iop_runtime::schema::{drop_columns, forward_only};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (aggregate, table) in [("patient", "patients"), ("facility", "facilities")] {
            db.execute_unprepared(&format!(
                "INSERT INTO event_streams (aggregate_type, aggregate_id, version) \
                 SELECT '{aggregate}', id, version FROM {table}"
            ))
            .await?;
        }
        drop_columns(
            manager,
            Patients::Table,
            vec![Patients::Version.into_iden()],
        )
        .await?;
        drop_columns(
            manager,
            Facilities::Table,
            vec![Facilities::Version.into_iden()],
        )
        .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        forward_only(self.name())
    }
}
