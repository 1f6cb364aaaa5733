//! The master patient record and episodes of care.

use iop_runtime::schema::{
    big_int, create_tables, day, drop_tables, index, instant, int, key, optional_text, text,
};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Patients {
    Table,
    Id,
    Mrn,
    GivenName,
    MiddleName,
    FamilyName,
    PreferredName,
    DateOfBirth,
    Sex,
    GenderIdentity,
    Phone,
    Email,
    RegisteredFacilityId,
    Version,
    RequestId,
    RegisteredAt,
}

#[derive(DeriveIden)]
enum Episodes {
    Table,
    Id,
    PatientId,
    FacilityId,
    Program,
    LevelOfCare,
    AdmittedOn,
    Status,
    Sequence,
    RequestId,
    CreatedAt,
}

/// The master record first: episodes refer to it.
fn tables() -> Vec<TableCreateStatement> {
    use Episodes as E;
    use Patients as P;
    vec![
        Table::create()
            .table(P::Table)
            .col(key(P::Id))
            .col(text(P::Mrn).unique_key().to_owned())
            .col(text(P::GivenName))
            .col(text(P::MiddleName))
            .col(text(P::FamilyName))
            .col(text(P::PreferredName))
            .col(day(P::DateOfBirth))
            .col(int(P::Sex))
            .col(text(P::GenderIdentity))
            .col(text(P::Phone))
            .col(text(P::Email))
            .col(text(P::RegisteredFacilityId))
            .col(big_int(P::Version))
            .col(optional_text(P::RequestId).unique_key().to_owned())
            .col(instant(P::RegisteredAt))
            .to_owned(),
        Table::create()
            .table(E::Table)
            .col(key(E::Id))
            .col(text(E::PatientId))
            .col(text(E::FacilityId))
            .col(int(E::Program))
            .col(int(E::LevelOfCare))
            .col(day(E::AdmittedOn))
            .col(text(E::Status))
            .col(big_int(E::Sequence))
            .col(optional_text(E::RequestId).unique_key().to_owned())
            .col(instant(E::CreatedAt))
            .foreign_key(
                ForeignKey::create()
                    .from(E::Table, E::PatientId)
                    .to(P::Table, P::Id),
            )
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(manager, tables()).await?;
        index(
            manager,
            "episodes_patient",
            Episodes::Table,
            vec![
                Episodes::PatientId.into_iden(),
                Episodes::Status.into_iden(),
            ],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![Episodes::Table.into_iden(), Patients::Table.into_iden()],
        )
        .await
    }
}
