//! The rest of the admissions domain: contact details and merges on patients,
//! the placement on episodes, demographic history, the facility registry,
//! assessments, consents and coverages.

use sea_orm_migration::prelude::*;

pub struct Migration;

#[derive(DeriveIden)]
enum Patients {
    Table,
    AddressLine1,
    AddressLine2,
    AddressCity,
    AddressState,
    AddressPostalCode,
    EmergencyName,
    EmergencyRelationship,
    EmergencyPhone,
    MergedInto,
    MergedAt,
}

#[derive(DeriveIden)]
enum Episodes {
    Table,
    AssessmentId,
    FacilityId,
    Program,
    Status,
}

#[derive(DeriveIden)]
enum DemographicVersions {
    Table,
    Id,
    PatientId,
    Version,
    Demographics,
    RecordedAt,
    RecordedBy,
    Reason,
}

#[derive(DeriveIden)]
enum Facilities {
    Table,
    Id,
    Name,
    City,
    TimeZone,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FacilityPrograms {
    Table,
    FacilityId,
    Program,
    Capacity,
}

#[derive(DeriveIden)]
enum Assessments {
    Table,
    Id,
    PatientId,
    FacilityId,
    Input,
    Recommendation,
    RecommendedLevel,
    RulesVersion,
    AgeGroup,
    AssessedBy,
    AssessedAt,
    OverrideLevel,
    OverrideJustification,
    OverriddenBy,
    OverriddenAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    PatientId,
    Consent,
    RecordedAt,
    RecordedBy,
    RevokedAt,
    ExpiryEventAt,
}

#[derive(DeriveIden)]
enum Coverages {
    Table,
    Id,
    PatientId,
    Coverage,
    RecordedAt,
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000400_full_admissions_domain"
    }
}

fn timestamp<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn text<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).string().not_null().to_owned()
}

fn blob<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).binary().not_null().to_owned()
}

fn key<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c)
        .string()
        .not_null()
        .primary_key()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Patients as P;
        // SQLite alters one column per statement.
        let mut patient_columns: Vec<ColumnDef> = [
            P::AddressLine1,
            P::AddressLine2,
            P::AddressCity,
            P::AddressState,
            P::AddressPostalCode,
            P::EmergencyName,
            P::EmergencyRelationship,
            P::EmergencyPhone,
        ]
        .into_iter()
        .map(|c| ColumnDef::new(c).string().not_null().default("").to_owned())
        .collect();
        patient_columns.push(ColumnDef::new(P::MergedInto).string().to_owned());
        patient_columns.push(
            ColumnDef::new(P::MergedAt)
                .timestamp_with_time_zone()
                .to_owned(),
        );
        for mut c in patient_columns {
            manager
                .alter_table(Table::alter().table(P::Table).add_column(&mut c).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Episodes::Table)
                    .add_column(ColumnDef::new(Episodes::AssessmentId).string())
                    .to_owned(),
            )
            .await?;

        use DemographicVersions as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(key(D::Id))
                    .col(text(D::PatientId))
                    .col(ColumnDef::new(D::Version).big_integer().not_null())
                    .col(blob(D::Demographics))
                    .col(timestamp(D::RecordedAt))
                    .col(text(D::RecordedBy))
                    .col(text(D::Reason))
                    .to_owned(),
            )
            .await?;

        use Facilities as F;
        manager
            .create_table(
                Table::create()
                    .table(F::Table)
                    .col(key(F::Id))
                    .col(text(F::Name))
                    .col(text(F::City))
                    .col(text(F::TimeZone))
                    .col(ColumnDef::new(F::Version).big_integer().not_null())
                    .col(timestamp(F::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        use FacilityPrograms as FP;
        manager
            .create_table(
                Table::create()
                    .table(FP::Table)
                    .col(text(FP::FacilityId))
                    .col(ColumnDef::new(FP::Program).integer().not_null())
                    .col(ColumnDef::new(FP::Capacity).integer().not_null())
                    .primary_key(Index::create().col(FP::FacilityId).col(FP::Program))
                    .to_owned(),
            )
            .await?;

        use Assessments as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(key(A::Id))
                    .col(text(A::PatientId))
                    .col(text(A::FacilityId))
                    .col(blob(A::Input))
                    .col(blob(A::Recommendation))
                    .col(ColumnDef::new(A::RecommendedLevel).integer().not_null())
                    .col(text(A::RulesVersion))
                    .col(ColumnDef::new(A::AgeGroup).integer().not_null())
                    .col(text(A::AssessedBy))
                    .col(timestamp(A::AssessedAt))
                    .col(ColumnDef::new(A::OverrideLevel).integer())
                    .col(ColumnDef::new(A::OverrideJustification).string())
                    .col(ColumnDef::new(A::OverriddenBy).string())
                    .col(ColumnDef::new(A::OverriddenAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;

        use Consents as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(key(C::Id))
                    .col(text(C::PatientId))
                    .col(blob(C::Consent))
                    .col(timestamp(C::RecordedAt))
                    .col(text(C::RecordedBy))
                    .col(ColumnDef::new(C::RevokedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(C::ExpiryEventAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;

        use Coverages as V;
        manager
            .create_table(
                Table::create()
                    .table(V::Table)
                    .col(key(V::Id))
                    .col(text(V::PatientId))
                    .col(blob(V::Coverage))
                    .col(timestamp(V::RecordedAt))
                    .to_owned(),
            )
            .await?;

        let indexes: [(&str, DynIden, DynIden); 5] = [
            (
                "ix_demographic_versions_patient",
                D::Table.into_iden(),
                D::PatientId.into_iden(),
            ),
            (
                "ix_assessments_patient",
                A::Table.into_iden(),
                A::PatientId.into_iden(),
            ),
            (
                "ix_consents_patient",
                C::Table.into_iden(),
                C::PatientId.into_iden(),
            ),
            (
                "ix_coverages_patient",
                V::Table.into_iden(),
                V::PatientId.into_iden(),
            ),
            (
                "ix_patients_merged_into",
                P::Table.into_iden(),
                P::MergedInto.into_iden(),
            ),
        ];
        for (name, table, column) in indexes {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        // Capacity is counted over active episodes of a facility's program.
        manager
            .create_index(
                Index::create()
                    .name("ix_episodes_facility_program_status")
                    .table(Episodes::Table)
                    .col(Episodes::FacilityId)
                    .col(Episodes::Program)
                    .col(Episodes::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Forward-only: dropping these would destroy patient records.
        Err(DbErr::Migration(
            "m20261128_000400 is forward-only".to_owned(),
        ))
    }
}
