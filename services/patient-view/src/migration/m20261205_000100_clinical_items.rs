//! What the view keeps of clinical's events: one row per fact of a patient
//! (kind and key), its message encoded.

use iop_runtime::schema::{blob, create_tables, drop_tables, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ViewClinicalItems {
    Table,
    PatientId,
    Kind,
    ItemKey,
    Body,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ViewClinicalItems as C;
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(C::Table)
                    .col(text(C::PatientId))
                    .col(text(C::Kind))
                    .col(text(C::ItemKey))
                    .col(blob(C::Body))
                    .primary_key(
                        Index::create()
                            .col(C::PatientId)
                            .col(C::Kind)
                            .col(C::ItemKey),
                    )
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![ViewClinicalItems::Table.into_iden()]).await
    }
}
