//! Why a placement was overridden (`iop.common.v1.OverrideReason` value);
//! none on overrides recorded before reasons were required.

use iop_runtime::schema::{add_columns, drop_columns, optional_int};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assessments {
    Table,
    OverrideReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Assessments::Table,
            vec![optional_int(Assessments::OverrideReason)],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            Assessments::Table,
            vec![Assessments::OverrideReason.into_iden()],
        )
        .await
    }
}
