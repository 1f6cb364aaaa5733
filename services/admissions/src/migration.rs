//! Versioned schema of the admissions database: the shared audit, outbox and
//! inbox tables, then the admissions tables. Migrations are append-only.

use sea_orm_migration::prelude::*;

use crate::entity::{episode, patient};

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
