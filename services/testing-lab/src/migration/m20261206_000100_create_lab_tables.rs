//! Testing-lab's tables and indexes, identifiers frozen here.

use iop_runtime::schema::{
    blob, create_tables, day, drop_tables, flag, index, instant, int, key, optional_day, text,
};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    Accession,
    PatientId,
    FacilityId,
    Specimen,
    Panel,
    Observed,
    Reason,
    OrderedAt,
    OrderedBy,
}

#[derive(DeriveIden)]
enum Results {
    Table,
    Id,
    OrderId,
    PatientId,
    FacilityId,
    Kind,
    Method,
    CollectedOn,
    Body,
    Overall,
    RecordedAt,
    Source,
}

#[derive(DeriveIden)]
enum WorkQueue {
    Table,
    Id,
    ControlId,
    PlacerOrder,
    FillerOrder,
    Reason,
    Message,
    ReceivedAt,
    Resolved,
}

#[derive(DeriveIden)]
enum Medications {
    Table,
    Id,
    PatientId,
    Class,
    StartedOn,
    StoppedOn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            Table::create()
                .table(Orders::Table)
                .col(key(Orders::Id))
                .col(text(Orders::Accession))
                .col(text(Orders::PatientId))
                .col(text(Orders::FacilityId))
                .col(int(Orders::Specimen))
                .col(text(Orders::Panel))
                .col(flag(Orders::Observed))
                .col(int(Orders::Reason))
                .col(instant(Orders::OrderedAt))
                .col(text(Orders::OrderedBy))
                .to_owned(),
            Table::create()
                .table(Results::Table)
                .col(key(Results::Id))
                .col(text(Results::OrderId))
                .col(text(Results::PatientId))
                .col(text(Results::FacilityId))
                .col(int(Results::Kind))
                .col(int(Results::Method))
                .col(day(Results::CollectedOn))
                .col(blob(Results::Body))
                .col(int(Results::Overall))
                .col(instant(Results::RecordedAt))
                .col(text(Results::Source))
                .to_owned(),
            Table::create()
                .table(WorkQueue::Table)
                .col(key(WorkQueue::Id))
                .col(text(WorkQueue::ControlId))
                .col(text(WorkQueue::PlacerOrder))
                .col(text(WorkQueue::FillerOrder))
                .col(text(WorkQueue::Reason))
                .col(text(WorkQueue::Message))
                .col(instant(WorkQueue::ReceivedAt))
                .col(flag(WorkQueue::Resolved))
                .to_owned(),
            Table::create()
                .table(Medications::Table)
                .col(key(Medications::Id))
                .col(text(Medications::PatientId))
                .col(int(Medications::Class))
                .col(day(Medications::StartedOn))
                .col(optional_day(Medications::StoppedOn))
                .to_owned(),
        ];
        create_tables(manager, tables).await?;
        let indexes: [(&str, DynIden, Vec<DynIden>, bool); 6] = [
            (
                "ux_orders_accession",
                Orders::Table.into_iden(),
                vec![Orders::Accession.into_iden()],
                true,
            ),
            (
                "ix_orders_patient",
                Orders::Table.into_iden(),
                vec![Orders::PatientId.into_iden()],
                false,
            ),
            (
                "ix_results_patient_day",
                Results::Table.into_iden(),
                vec![
                    Results::PatientId.into_iden(),
                    Results::CollectedOn.into_iden(),
                ],
                false,
            ),
            (
                "ix_results_order",
                Results::Table.into_iden(),
                vec![Results::OrderId.into_iden()],
                false,
            ),
            (
                "ix_work_queue_open",
                WorkQueue::Table.into_iden(),
                vec![
                    WorkQueue::Resolved.into_iden(),
                    WorkQueue::ReceivedAt.into_iden(),
                ],
                false,
            ),
            (
                "ix_lab_medications_patient",
                Medications::Table.into_iden(),
                vec![Medications::PatientId.into_iden()],
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
                Medications::Table.into_iden(),
                WorkQueue::Table.into_iden(),
                Results::Table.into_iden(),
                Orders::Table.into_iden(),
            ],
        )
        .await
    }
}
