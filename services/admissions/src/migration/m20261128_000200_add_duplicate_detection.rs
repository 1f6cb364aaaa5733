//! SSN-4 for the master patient index, and the indexes its candidate search
//! uses (date of birth, phone, SSN-4).

use iop_runtime::schema::{add_columns, drop_columns, index, text};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Patients {
    Table,
    DateOfBirth,
    Phone,
    SsnLast4,
}

const INDEXES: [&str; 3] = [
    "patients_date_of_birth",
    "patients_phone",
    "patients_ssn_last4",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ssn = text(Patients::SsnLast4).default("").to_owned();
        add_columns(manager, Patients::Table, vec![ssn]).await?;
        for (name, column) in
            INDEXES
                .into_iter()
                .zip([Patients::DateOfBirth, Patients::Phone, Patients::SsnLast4])
        {
            index(
                manager,
                name,
                Patients::Table,
                vec![column.into_iden()],
                false,
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Patients::Table).to_owned())
                .await?;
        }
        drop_columns(
            manager,
            Patients::Table,
            vec![Patients::SsnLast4.into_iden()],
        )
        .await
    }
}
