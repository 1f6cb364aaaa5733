//! Merges (a merged-away row points at its survivor) and the view's first copy
//! of consents (moved to the shared replica by m20261128_000700).

use sea_orm_migration::prelude::*;

pub struct Migration;

#[derive(DeriveIden)]
enum PatientViews {
    Table,
    MergedInto,
}

#[derive(DeriveIden)]
enum ViewConsents {
    Table,
    ConsentId,
    PatientId,
    Consent,
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000200_merges_and_consents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PatientViews::Table)
                    .add_column(ColumnDef::new(PatientViews::MergedInto).string())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ViewConsents::Table)
                    .col(
                        ColumnDef::new(ViewConsents::ConsentId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ViewConsents::PatientId).string().not_null())
                    .col(ColumnDef::new(ViewConsents::Consent).binary().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("view_consents_patient")
                    .table(ViewConsents::Table)
                    .col(ViewConsents::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ViewConsents::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PatientViews::Table)
                    .drop_column(PatientViews::MergedInto)
                    .to_owned(),
            )
            .await
    }
}
