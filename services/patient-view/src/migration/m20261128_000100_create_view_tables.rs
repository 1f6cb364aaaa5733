//! The view row, the positions consistency tokens are checked against, and the timeline.

use iop_runtime::schema::{
    big_int, create_tables, drop_tables, index, instant, int, key, optional_day, optional_text,
    text,
};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
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

/// What GetPatientView reads, and what tokens are checked against.
fn tables() -> Vec<TableCreateStatement> {
    use PatientViews as V;
    vec![
        Table::create()
            .table(V::Table)
            .col(key(V::PatientId))
            .col(text(V::Mrn))
            .col(text(V::GivenName))
            .col(text(V::MiddleName))
            .col(text(V::FamilyName))
            .col(text(V::PreferredName))
            .col(optional_day(V::DateOfBirth))
            .col(text(V::RegisteredFacilityId))
            .col(int(V::Status))
            .col(optional_text(V::EpisodeId))
            .col(optional_text(V::FacilityId))
            .col(int(V::Program))
            .col(int(V::LevelOfCare))
            .col(optional_day(V::AdmittedOn))
            .col(instant(V::UpdatedAt))
            .to_owned(),
        Table::create()
            .table(ViewPositions::Table)
            .col(text(ViewPositions::PatientId))
            .col(text(ViewPositions::Source))
            .col(big_int(ViewPositions::Sequence))
            .primary_key(
                Index::create()
                    .col(ViewPositions::PatientId)
                    .col(ViewPositions::Source),
            )
            .to_owned(),
        Table::create()
            .table(Timeline::Table)
            .col(
                ColumnDef::new(Timeline::Position)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(text(Timeline::EventId).unique_key().to_owned())
            .col(text(Timeline::PatientId))
            .col(text(Timeline::EventType))
            .col(instant(Timeline::OccurredAt))
            .col(text(Timeline::FacilityId))
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(manager, tables()).await?;
        index(
            manager,
            "timeline_patient",
            Timeline::Table,
            vec![Timeline::PatientId.into_iden()],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                Timeline::Table.into_iden(),
                ViewPositions::Table.into_iden(),
                PatientViews::Table.into_iden(),
            ],
        )
        .await
    }
}
