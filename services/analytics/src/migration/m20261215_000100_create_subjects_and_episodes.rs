//! Pseudonyms, episodes, and attendance waiting for its episode.

use iop_runtime::schema::{blob, create_tables, day, drop_tables, int, key, optional_day, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Subjects {
    Table,
    PatientId,
    Pseudonym,
    BirthDate,
    Sex,
}

#[derive(DeriveIden)]
enum Episodes {
    Table,
    EpisodeId,
    PatientId,
    Pseudonym,
    StartedOn,
    FacilityId,
    LevelOfCare,
}

/// Attendance that arrived before its episode (another topic's partition
/// ran ahead, as in a replay), kept until the admission is applied.
#[derive(DeriveIden)]
enum PendingAttendance {
    Table,
    EventId,
    PatientId,
    ServiceDate,
    Payload,
}

fn tables() -> Vec<TableCreateStatement> {
    use Episodes as E;
    use PendingAttendance as P;
    use Subjects as S;
    vec![
        Table::create()
            .table(P::Table)
            .col(key(P::EventId))
            .col(text(P::PatientId))
            .col(day(P::ServiceDate))
            .col(blob(P::Payload))
            .to_owned(),
        Table::create()
            .table(S::Table)
            .col(key(S::PatientId))
            .col(text(S::Pseudonym).unique_key())
            .col(optional_day(S::BirthDate))
            .col(int(S::Sex))
            .to_owned(),
        Table::create()
            .table(E::Table)
            .col(key(E::EpisodeId))
            .col(text(E::PatientId))
            .col(text(E::Pseudonym).unique_key())
            .col(day(E::StartedOn))
            .col(text(E::FacilityId))
            .col(int(E::LevelOfCare))
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(manager, tables()).await?;
        iop_runtime::schema::index(
            manager,
            "pending_attendance_by_patient",
            PendingAttendance::Table,
            vec![PendingAttendance::PatientId.into_iden()],
            false,
        )
        .await?;
        iop_runtime::schema::index(
            manager,
            "episodes_by_patient",
            Episodes::Table,
            vec![Episodes::PatientId.into_iden()],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                PendingAttendance::Table.into_iden(),
                Episodes::Table.into_iden(),
                Subjects::Table.into_iden(),
            ],
        )
        .await
    }
}
