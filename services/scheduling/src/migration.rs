//! Versioned schema of the scheduling database: the shared audit, outbox and
//! inbox tables, then the scheduling tables. Migrations are append-only.

use sea_orm_migration::prelude::*;

use crate::entity::{
    attendance, booking, enrollment, facility, patient_stream, session, track, track_member,
    weekly_evaluation,
};

/// Every scheduling migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all: Vec<Box<dyn MigrationTrait>> =
            vec![Box::new(iop_runtime::audit::CreateAuditLog)];
        all.extend(iop_messaging::migrations());
        all.push(Box::new(CreateSchedulingTables));
        all
    }
}

struct CreateSchedulingTables;

impl MigrationName for CreateSchedulingTables {
    fn name(&self) -> &str {
        "m20261128_000100_create_scheduling_tables"
    }
}

fn text<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).string().not_null().to_owned()
}

fn int<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).integer().not_null().to_owned()
}

fn instant<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn day<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).date().not_null().to_owned()
}

fn key<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c)
        .string()
        .not_null()
        .primary_key()
        .to_owned()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoTableRef,
    columns: Vec<DynIden>,
    unique: bool,
) -> Result<(), DbErr> {
    let mut i = Index::create().name(name).table(table).to_owned();
    for c in columns {
        i.col(c);
    }
    if unique {
        i.unique();
    }
    manager.create_index(i).await
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSchedulingTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use attendance::Column as A;
        use booking::Column as B;
        use enrollment::Column as E;
        use facility::Column as F;
        use patient_stream::Column as P;
        use session::Column as S;
        use track::Column as T;
        use track_member::Column as M;
        use weekly_evaluation::Column as W;
        let tables = [
            Table::create()
                .table(facility::Entity)
                .col(key(F::Id))
                .col(text(F::TimeZone))
                .col(ColumnDef::new(F::Version).big_integer().not_null())
                .to_owned(),
            Table::create()
                .table(enrollment::Entity)
                .col(key(E::EpisodeId))
                .col(text(E::PatientId))
                .col(text(E::FacilityId))
                .col(int(E::Program))
                .col(int(E::LevelOfCare))
                .col(int(E::AgeGroup))
                .col(day(E::AdmittedOn))
                .col(ColumnDef::new(E::Active).boolean().not_null())
                .col(ColumnDef::new(E::DischargedOn).date())
                .col(instant(E::CreatedAt))
                .to_owned(),
            Table::create()
                .table(patient_stream::Entity)
                .col(key(P::PatientId))
                .col(ColumnDef::new(P::Version).big_integer().not_null())
                .to_owned(),
            Table::create()
                .table(track::Entity)
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
                .table(session::Entity)
                .col(key(S::Id))
                .col(text(S::FacilityId))
                .col(ColumnDef::new(S::TrackId).string())
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
                .table(track_member::Entity)
                .col(text(M::PatientId))
                .col(text(M::TrackId))
                .col(instant(M::JoinedAt))
                .primary_key(Index::create().col(M::PatientId).col(M::TrackId))
                .to_owned(),
            Table::create()
                .table(booking::Entity)
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
                .table(attendance::Entity)
                .col(text(A::SessionId))
                .col(text(A::PatientId))
                .col(int(A::Status))
                .col(int(A::Minutes))
                .col(ColumnDef::new(A::Clinical).boolean().not_null())
                .col(day(A::LocalDate))
                .col(ColumnDef::new(A::CheckedInAt).timestamp_with_time_zone())
                .col(ColumnDef::new(A::CheckedOutAt).timestamp_with_time_zone())
                .col(instant(A::RecordedAt))
                .col(text(A::RecordedBy))
                .primary_key(Index::create().col(A::SessionId).col(A::PatientId))
                .to_owned(),
            Table::create()
                .table(weekly_evaluation::Entity)
                .col(text(W::PatientId))
                .col(day(W::WeekStart))
                .col(text(W::FacilityId))
                .col(int(W::Minutes))
                .col(int(W::Compliance))
                .col(instant(W::EvaluatedAt))
                .primary_key(Index::create().col(W::PatientId).col(W::WeekStart))
                .to_owned(),
        ];
        for t in tables {
            manager.create_table(t).await?;
        }
        index(
            manager,
            "ix_enrollments_patient",
            enrollment::Entity,
            vec![E::PatientId.into_iden()],
            false,
        )
        .await?;
        index(
            manager,
            "ix_enrollments_facility",
            enrollment::Entity,
            vec![E::FacilityId.into_iden()],
            false,
        )
        .await?;
        index(
            manager,
            "ix_sessions_facility_start",
            session::Entity,
            vec![S::FacilityId.into_iden(), S::StartsAt.into_iden()],
            false,
        )
        .await?;
        // A track has at most one session a day: generation is idempotent.
        index(
            manager,
            "ux_sessions_track_day",
            session::Entity,
            vec![S::TrackId.into_iden(), S::LocalDate.into_iden()],
            true,
        )
        .await?;
        index(
            manager,
            "ix_bookings_patient_start",
            booking::Entity,
            vec![B::PatientId.into_iden(), B::StartsAt.into_iden()],
            false,
        )
        .await?;
        index(
            manager,
            "ix_bookings_session",
            booking::Entity,
            vec![B::SessionId.into_iden()],
            false,
        )
        .await?;
        index(
            manager,
            "ix_attendance_patient_day",
            attendance::Entity,
            vec![A::PatientId.into_iden(), A::LocalDate.into_iden()],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            weekly_evaluation::Entity.into_table_ref(),
            attendance::Entity.into_table_ref(),
            booking::Entity.into_table_ref(),
            track_member::Entity.into_table_ref(),
            session::Entity.into_table_ref(),
            track::Entity.into_table_ref(),
            patient_stream::Entity.into_table_ref(),
            enrollment::Entity.into_table_ref(),
            facility::Entity.into_table_ref(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
