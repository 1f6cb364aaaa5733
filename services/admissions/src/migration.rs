//! Versioned schema of the admissions database: the shared audit, outbox and
//! inbox tables, then the admissions tables. Migrations are append-only.

use sea_orm_migration::prelude::*;

use crate::entity::{
    assessment, consent, coverage, demographic_version, episode, facility, facility_program,
    patient,
};

/// Every admissions migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all: Vec<Box<dyn MigrationTrait>> =
            vec![Box::new(iop_runtime::audit::CreateAuditLog)];
        all.extend(iop_messaging::migrations());
        all.push(Box::new(CreatePatientsAndEpisodes));
        all.push(Box::new(AddDuplicateDetection));
        all.push(Box::new(AddDischarge));
        all.push(Box::new(AddFullDomain));
        all
    }
}

struct CreatePatientsAndEpisodes;

impl MigrationName for CreatePatientsAndEpisodes {
    fn name(&self) -> &str {
        "m20261128_000100_create_patients_and_episodes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreatePatientsAndEpisodes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use episode::Column as E;
        use patient::Column as P;
        manager
            .create_table(
                Table::create()
                    .table(patient::Entity)
                    .col(ColumnDef::new(P::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(P::Mrn).string().not_null().unique_key())
                    .col(ColumnDef::new(P::GivenName).string().not_null())
                    .col(ColumnDef::new(P::MiddleName).string().not_null())
                    .col(ColumnDef::new(P::FamilyName).string().not_null())
                    .col(ColumnDef::new(P::PreferredName).string().not_null())
                    .col(ColumnDef::new(P::DateOfBirth).date().not_null())
                    .col(ColumnDef::new(P::Sex).integer().not_null())
                    .col(ColumnDef::new(P::GenderIdentity).string().not_null())
                    .col(ColumnDef::new(P::Phone).string().not_null())
                    .col(ColumnDef::new(P::Email).string().not_null())
                    .col(ColumnDef::new(P::RegisteredFacilityId).string().not_null())
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
                    .table(episode::Entity)
                    .col(ColumnDef::new(E::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(E::PatientId).string().not_null())
                    .col(ColumnDef::new(E::FacilityId).string().not_null())
                    .col(ColumnDef::new(E::Program).integer().not_null())
                    .col(ColumnDef::new(E::LevelOfCare).integer().not_null())
                    .col(ColumnDef::new(E::AdmittedOn).date().not_null())
                    .col(ColumnDef::new(E::Status).string().not_null())
                    .col(ColumnDef::new(E::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(E::RequestId).string().unique_key())
                    .col(
                        ColumnDef::new(E::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(episode::Entity, E::PatientId)
                            .to(patient::Entity, P::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("episodes_patient")
                    .table(episode::Entity)
                    .col(E::PatientId)
                    .col(E::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(episode::Entity).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(patient::Entity).to_owned())
            .await
    }
}

/// SSN-4 for the master patient index, and the indexes its candidate search
/// uses (date of birth, phone, SSN-4).
struct AddDuplicateDetection;

impl MigrationName for AddDuplicateDetection {
    fn name(&self) -> &str {
        "m20261128_000200_add_duplicate_detection"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddDuplicateDetection {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use patient::Column as P;
        manager
            .alter_table(
                Table::alter()
                    .table(patient::Entity)
                    .add_column(ColumnDef::new(P::SsnLast4).string().not_null().default(""))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("patients_date_of_birth", P::DateOfBirth),
            ("patients_phone", P::Phone),
            ("patients_ssn_last4", P::SsnLast4),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(patient::Entity)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "patients_date_of_birth",
            "patients_phone",
            "patients_ssn_last4",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(patient::Entity).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(patient::Entity)
                    .drop_column(patient::Column::SsnLast4)
                    .to_owned(),
            )
            .await
    }
}

/// Discharge reason and date on episodes.
struct AddDischarge;

impl MigrationName for AddDischarge {
    fn name(&self) -> &str {
        "m20261128_000300_add_discharge"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddDischarge {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(episode::Entity)
                    .add_column(ColumnDef::new(episode::Column::DischargeReason).integer())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(episode::Entity)
                    .add_column(ColumnDef::new(episode::Column::DischargedOn).date())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(episode::Entity)
                    .drop_column(episode::Column::DischargedOn)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(episode::Entity)
                    .drop_column(episode::Column::DischargeReason)
                    .to_owned(),
            )
            .await
    }
}

/// The rest of the admissions domain: contact details and merges on patients,
/// the placement on episodes, demographic history, the facility registry,
/// assessments, consents and coverages.
struct AddFullDomain;

impl MigrationName for AddFullDomain {
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

#[async_trait::async_trait]
impl MigrationTrait for AddFullDomain {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use patient::Column as P;
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
                .alter_table(
                    Table::alter()
                        .table(patient::Entity)
                        .add_column(&mut c)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(episode::Entity)
                    .add_column(ColumnDef::new(episode::Column::AssessmentId).string())
                    .to_owned(),
            )
            .await?;

        use demographic_version::Column as D;
        manager
            .create_table(
                Table::create()
                    .table(demographic_version::Entity)
                    .col(ColumnDef::new(D::Id).string().not_null().primary_key())
                    .col(text(D::PatientId))
                    .col(ColumnDef::new(D::Version).big_integer().not_null())
                    .col(blob(D::Demographics))
                    .col(timestamp(D::RecordedAt))
                    .col(text(D::RecordedBy))
                    .col(text(D::Reason))
                    .to_owned(),
            )
            .await?;

        use facility::Column as F;
        manager
            .create_table(
                Table::create()
                    .table(facility::Entity)
                    .col(ColumnDef::new(F::Id).string().not_null().primary_key())
                    .col(text(F::Name))
                    .col(text(F::City))
                    .col(text(F::TimeZone))
                    .col(ColumnDef::new(F::Version).big_integer().not_null())
                    .col(timestamp(F::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        use facility_program::Column as FP;
        manager
            .create_table(
                Table::create()
                    .table(facility_program::Entity)
                    .col(text(FP::FacilityId))
                    .col(ColumnDef::new(FP::Program).integer().not_null())
                    .col(ColumnDef::new(FP::Capacity).integer().not_null())
                    .primary_key(Index::create().col(FP::FacilityId).col(FP::Program))
                    .to_owned(),
            )
            .await?;

        use assessment::Column as A;
        manager
            .create_table(
                Table::create()
                    .table(assessment::Entity)
                    .col(ColumnDef::new(A::Id).string().not_null().primary_key())
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

        use consent::Column as C;
        manager
            .create_table(
                Table::create()
                    .table(consent::Entity)
                    .col(ColumnDef::new(C::Id).string().not_null().primary_key())
                    .col(text(C::PatientId))
                    .col(blob(C::Consent))
                    .col(timestamp(C::RecordedAt))
                    .col(text(C::RecordedBy))
                    .col(ColumnDef::new(C::RevokedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(C::ExpiryEventAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;

        use coverage::Column as V;
        manager
            .create_table(
                Table::create()
                    .table(coverage::Entity)
                    .col(ColumnDef::new(V::Id).string().not_null().primary_key())
                    .col(text(V::PatientId))
                    .col(blob(V::Coverage))
                    .col(timestamp(V::RecordedAt))
                    .to_owned(),
            )
            .await?;

        for (name, table, column) in [
            (
                "ix_demographic_versions_patient",
                demographic_version::Entity.into_table_ref(),
                D::PatientId.into_iden(),
            ),
            (
                "ix_assessments_patient",
                assessment::Entity.into_table_ref(),
                A::PatientId.into_iden(),
            ),
            (
                "ix_consents_patient",
                consent::Entity.into_table_ref(),
                C::PatientId.into_iden(),
            ),
            (
                "ix_coverages_patient",
                coverage::Entity.into_table_ref(),
                V::PatientId.into_iden(),
            ),
            (
                "ix_patients_merged_into",
                patient::Entity.into_table_ref(),
                P::MergedInto.into_iden(),
            ),
        ] {
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
                    .table(episode::Entity)
                    .col(episode::Column::FacilityId)
                    .col(episode::Column::Program)
                    .col(episode::Column::Status)
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
