//! The view row, the positions consistency tokens are checked against, and the timeline.

use sea_orm_migration::prelude::*;

pub struct Migration;

#[derive(DeriveIden)]
enum PatientViews {
    Table,
    PatientId,
    Mrn,
    GivenName,
    MiddleName,
    FamilyName,
    PreferredName,
    DateOfBirth,
    RegisteredFacilityId,
    Status,
    EpisodeId,
    FacilityId,
    Program,
    LevelOfCare,
    AdmittedOn,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ViewPositions {
    Table,
    PatientId,
    Source,
    Sequence,
}

#[derive(DeriveIden)]
enum Timeline {
    Table,
    Position,
    EventId,
    PatientId,
    EventType,
    OccurredAt,
    FacilityId,
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000100_create_view_tables"
    }
}

fn text<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).string().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PatientViews as V;
        manager
            .create_table(
                Table::create()
                    .table(V::Table)
                    .col(text(V::PatientId).primary_key())
                    .col(text(V::Mrn))
                    .col(text(V::GivenName))
                    .col(text(V::MiddleName))
                    .col(text(V::FamilyName))
                    .col(text(V::PreferredName))
                    .col(ColumnDef::new(V::DateOfBirth).date())
                    .col(text(V::RegisteredFacilityId))
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
                    .table(ViewPositions::Table)
                    .col(text(ViewPositions::PatientId))
                    .col(text(ViewPositions::Source))
                    .col(
                        ColumnDef::new(ViewPositions::Sequence)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ViewPositions::PatientId)
                            .col(ViewPositions::Source),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Timeline::Table)
                    .col(
                        ColumnDef::new(Timeline::Position)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text(Timeline::EventId).unique_key())
                    .col(text(Timeline::PatientId))
                    .col(text(Timeline::EventType))
                    .col(
                        ColumnDef::new(Timeline::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(text(Timeline::FacilityId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("timeline_patient")
                    .table(Timeline::Table)
                    .col(Timeline::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Timeline::Table.into_iden(),
            ViewPositions::Table.into_iden(),
            PatientViews::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
