//! Versioned schema of the patient-view database: the shared audit, outbox and
//! inbox tables, then the view tables. Migrations are append-only.

use sea_orm_migration::prelude::*;

use crate::entity::{attendance, consent, position, timeline, view};

/// Every patient-view migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all: Vec<Box<dyn MigrationTrait>> =
            vec![Box::new(iop_runtime::audit::CreateAuditLog)];
        all.extend(iop_messaging::migrations());
        all.push(Box::new(CreateViewTables));
        all.push(Box::new(AddMergesAndConsents));
        all.push(Box::new(AddAttendance));
        all
    }
}

struct CreateViewTables;

impl MigrationName for CreateViewTables {
    fn name(&self) -> &str {
        "m20261128_000100_create_view_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateViewTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use position::Column as P;
        use timeline::Column as T;
        use view::Column as V;
        manager
            .create_table(
                Table::create()
                    .table(view::Entity)
                    .col(
                        ColumnDef::new(V::PatientId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(V::Mrn).string().not_null())
                    .col(ColumnDef::new(V::GivenName).string().not_null())
                    .col(ColumnDef::new(V::MiddleName).string().not_null())
                    .col(ColumnDef::new(V::FamilyName).string().not_null())
                    .col(ColumnDef::new(V::PreferredName).string().not_null())
                    .col(ColumnDef::new(V::DateOfBirth).date())
                    .col(ColumnDef::new(V::RegisteredFacilityId).string().not_null())
                    .col(ColumnDef::new(V::Status).integer().not_null())
                    .col(ColumnDef::new(V::EpisodeId).string())
                    .col(ColumnDef::new(V::FacilityId).string())
                    .col(ColumnDef::new(V::Program).integer().not_null())
                    .col(ColumnDef::new(V::LevelOfCare).integer().not_null())
                    .col(ColumnDef::new(V::AdmittedOn).date())
                    .col(
                        ColumnDef::new(V::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(position::Entity)
                    .col(ColumnDef::new(P::PatientId).string().not_null())
                    .col(ColumnDef::new(P::Source).string().not_null())
                    .col(ColumnDef::new(P::Sequence).big_integer().not_null())
                    .primary_key(Index::create().col(P::PatientId).col(P::Source))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(timeline::Entity)
                    .col(
                        ColumnDef::new(T::Position)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(T::EventId).string().not_null().unique_key())
                    .col(ColumnDef::new(T::PatientId).string().not_null())
                    .col(ColumnDef::new(T::EventType).string().not_null())
                    .col(
                        ColumnDef::new(T::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(T::FacilityId).string().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("timeline_patient")
                    .table(timeline::Entity)
                    .col(T::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(timeline::Entity).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(position::Entity).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(view::Entity).to_owned())
            .await
    }
}

/// Merges (a merged-away row points at its survivor) and the local consent copy.
struct AddMergesAndConsents;

impl MigrationName for AddMergesAndConsents {
    fn name(&self) -> &str {
        "m20261128_000200_merges_and_consents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddMergesAndConsents {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use consent::Column as C;
        manager
            .alter_table(
                Table::alter()
                    .table(view::Entity)
                    .add_column(ColumnDef::new(view::Column::MergedInto).string())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(consent::Entity)
                    .col(
                        ColumnDef::new(C::ConsentId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(C::PatientId).string().not_null())
                    .col(ColumnDef::new(C::Consent).binary().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("view_consents_patient")
                    .table(consent::Entity)
                    .col(C::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(consent::Entity).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(view::Entity)
                    .drop_column(view::Column::MergedInto)
                    .to_owned(),
            )
            .await
    }
}

/// Weekly attendance from scheduling's events.
struct AddAttendance;

impl MigrationName for AddAttendance {
    fn name(&self) -> &str {
        "m20261128_000300_attendance"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddAttendance {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use attendance::Column as A;
        manager
            .create_table(
                Table::create()
                    .table(attendance::Entity)
                    .col(
                        ColumnDef::new(A::PatientId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(A::WeekStart).date().not_null())
                    .col(ColumnDef::new(A::TimeZone).string().not_null())
                    .col(ColumnDef::new(A::Minutes).integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(attendance::Entity).to_owned())
            .await
    }
}
