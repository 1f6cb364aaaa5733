//! `candidate_references`: opaque references to duplicate candidates known
//! only at other facilities, each issued to one facility for a day.

use iop_runtime::schema::{create_tables, drop_tables, index, instant, key, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CandidateReferences {
    Table,
    Reference,
    PatientId,
    FacilityId,
    IssuedBy,
    IssuedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(CandidateReferences::Table)
                    .col(key(CandidateReferences::Reference))
                    .col(text(CandidateReferences::PatientId))
                    .col(text(CandidateReferences::FacilityId))
                    .col(text(CandidateReferences::IssuedBy))
                    .col(instant(CandidateReferences::IssuedAt))
                    .to_owned(),
            ],
        )
        .await?;
        index(
            manager,
            "candidate_references_issued_at",
            CandidateReferences::Table,
            vec![CandidateReferences::IssuedAt.into_iden()],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![CandidateReferences::Table.into_iden()]).await
    }
}
