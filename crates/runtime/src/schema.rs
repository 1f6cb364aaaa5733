//! The column and index shapes every migration uses, written once, so each
//! migration states only what is its own: its frozen identifiers (a
//! `DeriveIden` enum per table, never the live entity's columns) and which
//! shape each column has. SQLite alters one column per statement, which
//! [`add_columns`] does for every backend.

use sea_orm::DbErr;
use sea_orm_migration::prelude::*;

/// Text, required.
pub fn text(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).string().not_null().to_owned()
}

/// Text, optional.
pub fn optional_text(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).string().to_owned()
}

/// Text primary key.
pub fn key(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .string()
        .not_null()
        .primary_key()
        .to_owned()
}

/// 32-bit integer (enums, minutes), required.
pub fn int(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).integer().not_null().to_owned()
}

/// 32-bit integer, optional.
pub fn optional_int(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).integer().to_owned()
}

/// 64-bit integer (sequences, versions), required.
pub fn big_int(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).big_integer().not_null().to_owned()
}

/// Boolean, required.
pub fn flag(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).boolean().not_null().to_owned()
}

/// Instant (UTC), required.
pub fn instant(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

/// Instant (UTC), optional.
pub fn optional_instant(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).timestamp_with_time_zone().to_owned()
}

/// Calendar day, required.
pub fn day(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).date().not_null().to_owned()
}

/// Calendar day, optional.
pub fn optional_day(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).date().to_owned()
}

/// Bytes (an encoded protobuf record), required.
pub fn blob(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).binary().not_null().to_owned()
}

/// Creates `tables`, in order.
pub async fn create_tables(
    manager: &SchemaManager<'_>,
    tables: Vec<TableCreateStatement>,
) -> Result<(), DbErr> {
    for t in tables {
        manager.create_table(t).await?;
    }
    Ok(())
}

/// A migration that copies rows from one table into another (a data
/// migration, written as one SQL statement) and then drops the table the rows
/// came from. Forward-only.
pub struct MoveRows {
    /// The migration's name, e.g. `m20261128_000700_consents_to_replica`.
    pub name: &'static str,
    /// The `INSERT … SELECT` that copies the rows.
    pub copy: &'static str,
    /// The table the rows came from, dropped afterwards.
    pub from: &'static str,
}

impl MigrationName for MoveRows {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for MoveRows {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        move_rows(manager, self.copy, self.from).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        forward_only(self.name)
    }
}

/// Creates index `name` on `columns` of `table`.
pub async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    columns: Vec<DynIden>,
    unique: bool,
) -> Result<(), DbErr> {
    let mut i = Index::create()
        .name(name)
        .table(table.into_iden())
        .to_owned();
    for c in columns {
        i.col(c);
    }
    if unique {
        i.unique();
    }
    manager.create_index(i).await
}

/// Adds `columns` to `table`, one statement each.
pub async fn add_columns(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    for mut c in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .add_column(&mut c)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Drops `columns` of `table`, one statement each.
pub async fn drop_columns(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: Vec<DynIden>,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    for c in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .drop_column(c)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Drops `tables`, in order.
pub async fn drop_tables(manager: &SchemaManager<'_>, tables: Vec<DynIden>) -> Result<(), DbErr> {
    for t in tables {
        manager
            .drop_table(Table::drop().table(t).to_owned())
            .await?;
    }
    Ok(())
}

/// Copies rows between tables with `sql` (a data migration), then drops the
/// table the rows came from.
pub async fn move_rows(manager: &SchemaManager<'_>, sql: &str, from: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await?;
    manager
        .drop_table(Table::drop().table(Alias::new(from)).to_owned())
        .await
}

/// The `down` of a migration that cannot be undone without losing records.
pub fn forward_only(name: &str) -> Result<(), DbErr> {
    Err(DbErr::Migration(format!("{name} is forward-only")))
}
