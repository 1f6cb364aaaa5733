//! SSN-4 for the master patient index, and the indexes its candidate search
//! uses (date of birth, phone, SSN-4).

use sea_orm_migration::prelude::*;

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

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000200_add_duplicate_detection"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .add_column(
                        ColumnDef::new(Patients::SsnLast4)
                            .string()
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in
            INDEXES
                .into_iter()
                .zip([Patients::DateOfBirth, Patients::Phone, Patients::SsnLast4])
        {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Patients::Table)
                        .col(column)
                        .to_owned(),
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
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .drop_column(Patients::SsnLast4)
                    .to_owned(),
            )
            .await
    }
}
