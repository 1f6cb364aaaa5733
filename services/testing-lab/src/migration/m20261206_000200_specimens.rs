//! Specimens and their chain of custody: one specimen per order (its
//! collection, validity and status, the specimen as an encoded
//! `iop.lab.v1.Specimen`), identifiers frozen here.

use iop_runtime::schema::{blob, create_tables, drop_tables, int, key};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Specimens {
    Table,
    OrderId,
    Status,
    Body,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(Specimens::Table)
                    .col(key(Specimens::OrderId))
                    .col(int(Specimens::Status))
                    .col(blob(Specimens::Body))
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![Specimens::Table.into_iden()]).await
    }
}
