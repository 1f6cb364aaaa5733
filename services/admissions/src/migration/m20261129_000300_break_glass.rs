//! `break_glass_grants`: medical-emergency read access (42 CFR 2.51), one row
//! per grant: who, where, why, until when.

use iop_runtime::schema::{create_tables, drop_tables, index, instant, key, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BreakGlassGrants {
    Table,
    Id,
    PatientId,
    FacilityId,
    GrantedTo,
    Reason,
    GrantedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(BreakGlassGrants::Table)
                    .col(key(BreakGlassGrants::Id))
                    .col(text(BreakGlassGrants::PatientId))
                    .col(text(BreakGlassGrants::FacilityId))
                    .col(text(BreakGlassGrants::GrantedTo))
                    .col(text(BreakGlassGrants::Reason))
                    .col(instant(BreakGlassGrants::GrantedAt))
                    .col(instant(BreakGlassGrants::ExpiresAt))
                    .to_owned(),
            ],
        )
        .await?;
        index(
            manager,
            "break_glass_grants_patient",
            BreakGlassGrants::Table,
            vec![
                BreakGlassGrants::PatientId.into_iden(),
                BreakGlassGrants::ExpiresAt.into_iden(),
            ],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![BreakGlassGrants::Table.into_iden()]).await
    }
}
