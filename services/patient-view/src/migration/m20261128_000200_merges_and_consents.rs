//! Merges (a merged-away row points at its survivor) and the view's first copy
//! of consents (moved to the shared replica by m20261128_000700).

use iop_runtime::schema::{
    add_columns, blob, create_tables, drop_columns, drop_tables, index, key, optional_text, text,
};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            PatientViews::Table,
            vec![optional_text(PatientViews::MergedInto)],
        )
        .await?;
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(ViewConsents::Table)
                    .col(key(ViewConsents::ConsentId))
                    .col(text(ViewConsents::PatientId))
                    .col(blob(ViewConsents::Consent))
                    .to_owned(),
            ],
        )
        .await?;
        index(
            manager,
            "view_consents_patient",
            ViewConsents::Table,
            vec![ViewConsents::PatientId.into_iden()],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![ViewConsents::Table.into_iden()]).await?;
        drop_columns(
            manager,
            PatientViews::Table,
            vec![PatientViews::MergedInto.into_iden()],
        )
        .await
    }
}
