//! Scheduling's tables: facilities (time zones from admissions), enrollments,
//! the per-patient stream (moved to `event_streams` by m20261128_000800),
//! tracks, sessions, track members, bookings, attendance, weekly evaluations.

use iop_runtime::schema::{
    big_int, create_tables, day, drop_tables, flag, index, instant, int, key, optional_day,
    optional_instant, optional_text, text,
};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Facilities {
    Table,
    Id,
    TimeZone,
    Version,
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    EpisodeId,
    PatientId,
    FacilityId,
    Program,
    LevelOfCare,
    AgeGroup,
    AdmittedOn,
    Active,
    DischargedOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PatientStreams {
    Table,
    PatientId,
    Version,
}

#[derive(DeriveIden)]
enum Tracks {
    Table,
    Id,
    FacilityId,
    Name,
    Program,
    Weekdays,
    StartMinute,
    EndMinute,
    SessionType,
    Capacity,
    FacilitatorId,
    Room,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    FacilityId,
    TrackId,
    SessionType,
    StartsAt,
    EndsAt,
    LocalDate,
    LocalStartMinute,
    LocalEndMinute,
    FacilitatorId,
    Room,
    Capacity,
}

#[derive(DeriveIden)]
enum TrackMembers {
    Table,
    PatientId,
    TrackId,
    JoinedAt,
}

#[derive(DeriveIden)]
enum Bookings {
    Table,
    Id,
    PatientId,
    SessionId,
    FacilityId,
    Status,
    CancelReason,
    StartsAt,
    EndsAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Attendance {
    Table,
    SessionId,
    PatientId,
    Status,
    Minutes,
    Clinical,
    LocalDate,
    CheckedInAt,
    CheckedOutAt,
    RecordedAt,
    RecordedBy,
}

#[derive(DeriveIden)]
enum WeeklyEvaluations {
    Table,
    PatientId,
    WeekStart,
    FacilityId,
    Minutes,
    Compliance,
    EvaluatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Attendance as A;
        use Bookings as B;
        use Enrollments as E;
        use Sessions as S;
        use Tracks as T;
        use WeeklyEvaluations as W;
        let tables = [
            Table::create()
                .table(Facilities::Table)
                .col(key(Facilities::Id))
                .col(text(Facilities::TimeZone))
                .col(big_int(Facilities::Version))
                .to_owned(),
            Table::create()
                .table(E::Table)
                .col(key(E::EpisodeId))
                .col(text(E::PatientId))
                .col(text(E::FacilityId))
                .col(int(E::Program))
                .col(int(E::LevelOfCare))
                .col(int(E::AgeGroup))
                .col(day(E::AdmittedOn))
                .col(flag(E::Active))
                .col(optional_day(E::DischargedOn))
                .col(instant(E::CreatedAt))
                .to_owned(),
            Table::create()
                .table(PatientStreams::Table)
                .col(key(PatientStreams::PatientId))
                .col(big_int(PatientStreams::Version))
                .to_owned(),
            Table::create()
                .table(T::Table)
                .col(key(T::Id))
                .col(text(T::FacilityId))
                .col(text(T::Name))
                .col(int(T::Program))
                .col(text(T::Weekdays))
                .col(int(T::StartMinute))
                .col(int(T::EndMinute))
                .col(int(T::SessionType))
                .col(int(T::Capacity))
                .col(text(T::FacilitatorId))
                .col(text(T::Room))
                .col(instant(T::CreatedAt))
                .to_owned(),
            Table::create()
                .table(S::Table)
                .col(key(S::Id))
                .col(text(S::FacilityId))
                .col(optional_text(S::TrackId))
                .col(int(S::SessionType))
                .col(instant(S::StartsAt))
                .col(instant(S::EndsAt))
                .col(day(S::LocalDate))
                .col(int(S::LocalStartMinute))
                .col(int(S::LocalEndMinute))
                .col(text(S::FacilitatorId))
                .col(text(S::Room))
                .col(int(S::Capacity))
                .to_owned(),
            Table::create()
                .table(TrackMembers::Table)
                .col(text(TrackMembers::PatientId))
                .col(text(TrackMembers::TrackId))
                .col(instant(TrackMembers::JoinedAt))
                .primary_key(
                    Index::create()
                        .col(TrackMembers::PatientId)
                        .col(TrackMembers::TrackId),
                )
                .to_owned(),
            Table::create()
                .table(B::Table)
                .col(key(B::Id))
                .col(text(B::PatientId))
                .col(text(B::SessionId))
                .col(text(B::FacilityId))
                .col(text(B::Status))
                .col(text(B::CancelReason))
                .col(instant(B::StartsAt))
                .col(instant(B::EndsAt))
                .col(instant(B::CreatedAt))
                .to_owned(),
            Table::create()
                .table(A::Table)
                .col(text(A::SessionId))
                .col(text(A::PatientId))
                .col(int(A::Status))
                .col(int(A::Minutes))
                .col(flag(A::Clinical))
                .col(day(A::LocalDate))
                .col(optional_instant(A::CheckedInAt))
                .col(optional_instant(A::CheckedOutAt))
                .col(instant(A::RecordedAt))
                .col(text(A::RecordedBy))
                .primary_key(Index::create().col(A::SessionId).col(A::PatientId))
                .to_owned(),
            Table::create()
                .table(W::Table)
                .col(text(W::PatientId))
                .col(day(W::WeekStart))
                .col(text(W::FacilityId))
                .col(int(W::Minutes))
                .col(int(W::Compliance))
                .col(instant(W::EvaluatedAt))
                .primary_key(Index::create().col(W::PatientId).col(W::WeekStart))
                .to_owned(),
        ];
        create_tables(manager, tables.to_vec()).await?;
        let indexes: [(&str, DynIden, Vec<DynIden>, bool); 7] = [
            (
                "ix_enrollments_patient",
                E::Table.into_iden(),
                vec![E::PatientId.into_iden()],
                false,
            ),
            (
                "ix_enrollments_facility",
                E::Table.into_iden(),
                vec![E::FacilityId.into_iden()],
                false,
            ),
            (
                "ix_sessions_facility_start",
                S::Table.into_iden(),
                vec![S::FacilityId.into_iden(), S::StartsAt.into_iden()],
                false,
            ),
            // A track has at most one session a day: generation is idempotent.
            (
                "ux_sessions_track_day",
                S::Table.into_iden(),
                vec![S::TrackId.into_iden(), S::LocalDate.into_iden()],
                true,
            ),
            (
                "ix_bookings_patient_start",
                B::Table.into_iden(),
                vec![B::PatientId.into_iden(), B::StartsAt.into_iden()],
                false,
            ),
            (
                "ix_bookings_session",
                B::Table.into_iden(),
                vec![B::SessionId.into_iden()],
                false,
            ),
            (
                "ix_attendance_patient_day",
                A::Table.into_iden(),
                vec![A::PatientId.into_iden(), A::LocalDate.into_iden()],
                false,
            ),
        ];
        for (name, table, columns, unique) in indexes {
            index(manager, name, table, columns, unique).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                WeeklyEvaluations::Table.into_iden(),
                Attendance::Table.into_iden(),
                Bookings::Table.into_iden(),
                TrackMembers::Table.into_iden(),
                Sessions::Table.into_iden(),
                Tracks::Table.into_iden(),
                PatientStreams::Table.into_iden(),
                Enrollments::Table.into_iden(),
                Facilities::Table.into_iden(),
            ],
        )
        .await
    }
}
