//! `facility_links`: the facilities a patient was linked to at first contact
//! there (who, why, when).

use iop_runtime::schema::{create_tables, drop_tables, instant, int, optional_text, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FacilityLinks {
    Table,
    PatientId,
    FacilityId,
    Reason,
    Note,
    LinkedBy,
    LinkedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(FacilityLinks::Table)
                    .col(text(FacilityLinks::PatientId))
                    .col(text(FacilityLinks::FacilityId))
                    .col(int(FacilityLinks::Reason))
                    .col(optional_text(FacilityLinks::Note))
                    .col(text(FacilityLinks::LinkedBy))
                    .col(instant(FacilityLinks::LinkedAt))
                    .primary_key(
                        Index::create()
                            .col(FacilityLinks::PatientId)
                            .col(FacilityLinks::FacilityId),
                    )
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![FacilityLinks::Table.into_iden()]).await
    }
}
