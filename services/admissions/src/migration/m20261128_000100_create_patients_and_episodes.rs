//! The master patient record and episodes of care.

use sea_orm_migration::prelude::*;

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

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000100_create_patients_and_episodes"
    }
}

fn text<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).string().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Episodes as E;
        use Patients as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(text(P::Id).primary_key())
                    .col(text(P::Mrn).unique_key())
                    .col(text(P::GivenName))
                    .col(text(P::MiddleName))
                    .col(text(P::FamilyName))
                    .col(text(P::PreferredName))
                    .col(ColumnDef::new(P::DateOfBirth).date().not_null())
                    .col(ColumnDef::new(P::Sex).integer().not_null())
                    .col(text(P::GenderIdentity))
                    .col(text(P::Phone))
                    .col(text(P::Email))
                    .col(text(P::RegisteredFacilityId))
                    .col(ColumnDef::new(P::Version).big_integer().not_null())
                    .col(ColumnDef::new(P::RequestId).string().unique_key())
                    .col(
                        ColumnDef::new(P::RegisteredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(E::Table)
                    .col(text(E::Id).primary_key())
                    .col(text(E::PatientId))
                    .col(text(E::FacilityId))
                    .col(ColumnDef::new(E::Program).integer().not_null())
                    .col(ColumnDef::new(E::LevelOfCare).integer().not_null())
                    .col(ColumnDef::new(E::AdmittedOn).date().not_null())
                    .col(text(E::Status))
                    .col(ColumnDef::new(E::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(E::RequestId).string().unique_key())
                    .col(
                        ColumnDef::new(E::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(E::Table, E::PatientId)
                            .to(P::Table, P::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("episodes_patient")
                    .table(E::Table)
                    .col(E::PatientId)
                    .col(E::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Episodes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Patients::Table).to_owned())
            .await
    }
}
