//! `emergency_grants`: break-glass grants (42 CFR 2.51) the view honours
//! until they expire, from admissions' `BreakGlassAccessGranted`.

use iop_runtime::schema::{create_tables, drop_tables, instant, key, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmergencyGrants {
    Table,
    GrantId,
    PatientId,
    FacilityId,
    GrantedTo,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(EmergencyGrants::Table)
                    .col(key(EmergencyGrants::GrantId))
                    .col(text(EmergencyGrants::PatientId))
                    .col(text(EmergencyGrants::FacilityId))
                    .col(text(EmergencyGrants::GrantedTo))
                    .col(instant(EmergencyGrants::ExpiresAt))
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![EmergencyGrants::Table.into_iden()]).await
    }
}
