//! `match_keys` (the duplicate search's index, filled here for every patient
//! not merged away, with the rules of this release) and `distinct_pairs`.

use iop_runtime::schema::{create_tables, drop_tables, index, instant, text};
use sea_orm::{ConnectionTrait, FromQueryResult};
use sea_orm_migration::prelude::*;

use crate::matching;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MatchKeys {
    Table,
    Key,
    PatientId,
}

#[derive(DeriveIden)]
enum DistinctPairs {
    Table,
    PatientLow,
    PatientHigh,
    FacilityId,
    Reason,
    DecidedBy,
    DecidedAt,
}

#[derive(DeriveIden)]
enum Patients {
    Table,
    Id,
    GivenName,
    FamilyName,
    DateOfBirth,
    Sex,
    Phone,
    SsnLast4,
    MergedInto,
}

#[derive(FromQueryResult)]
struct Row {
    id: String,
    given_name: String,
    family_name: String,
    date_of_birth: chrono::NaiveDate,
    sex: i32,
    phone: String,
    ssn_last4: String,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(MatchKeys::Table)
                    .col(text(MatchKeys::Key))
                    .col(text(MatchKeys::PatientId))
                    .primary_key(
                        Index::create()
                            .col(MatchKeys::Key)
                            .col(MatchKeys::PatientId),
                    )
                    .to_owned(),
                Table::create()
                    .table(DistinctPairs::Table)
                    .col(text(DistinctPairs::PatientLow))
                    .col(text(DistinctPairs::PatientHigh))
                    .col(text(DistinctPairs::FacilityId))
                    .col(text(DistinctPairs::Reason))
                    .col(text(DistinctPairs::DecidedBy))
                    .col(instant(DistinctPairs::DecidedAt))
                    .primary_key(
                        Index::create()
                            .col(DistinctPairs::PatientLow)
                            .col(DistinctPairs::PatientHigh),
                    )
                    .to_owned(),
            ],
        )
        .await?;
        index(
            manager,
            "match_keys_patient",
            MatchKeys::Table,
            vec![MatchKeys::PatientId.into_iden()],
            false,
        )
        .await?;
        index(
            manager,
            "distinct_pairs_high",
            DistinctPairs::Table,
            vec![DistinctPairs::PatientHigh.into_iden()],
            false,
        )
        .await?;

        let db = manager.get_connection();
        let select = Query::select()
            .columns([
                Patients::Id,
                Patients::GivenName,
                Patients::FamilyName,
                Patients::DateOfBirth,
                Patients::Sex,
                Patients::Phone,
                Patients::SsnLast4,
            ])
            .from(Patients::Table)
            .and_where(Expr::col(Patients::MergedInto).is_null())
            .to_owned();
        let rows = Row::find_by_statement(db.get_database_backend().build(&select))
            .all(db)
            .await?;
        for chunk in rows.chunks(200) {
            let mut insert = Query::insert()
                .into_table(MatchKeys::Table)
                .columns([MatchKeys::Key, MatchKeys::PatientId])
                .to_owned();
            let mut any = false;
            for row in chunk {
                let person = matching::Demographics {
                    given: &row.given_name,
                    family: &row.family_name,
                    date_of_birth: row.date_of_birth,
                    sex: matching::Sex::from_contract(row.sex),
                    phone: &row.phone,
                    ssn_last4: &row.ssn_last4,
                };
                for key in matching::index_keys(&person) {
                    insert
                        .values([key.into(), row.id.clone().into()])
                        .map_err(|e| DbErr::Custom(e.to_string()))?;
                    any = true;
                }
            }
            if any {
                db.execute(db.get_database_backend().build(&insert)).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                MatchKeys::Table.into_iden(),
                DistinctPairs::Table.into_iden(),
            ],
        )
        .await
    }
}
