//! `enrollment_levels`: the level of care of each episode from each day it
//! took effect (admission, then every transfer or program change), so a week
//! is judged by the level in force on each of its days. Seeded with each
//! enrollment's level from its admission day.

use iop_runtime::schema::{create_tables, day, drop_tables, int, text};
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EnrollmentLevels {
    Table,
    EpisodeId,
    EffectiveOn,
    LevelOfCare,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(EnrollmentLevels::Table)
                    .col(text(EnrollmentLevels::EpisodeId))
                    .col(day(EnrollmentLevels::EffectiveOn))
                    .col(int(EnrollmentLevels::LevelOfCare))
                    .primary_key(
                        Index::create()
                            .col(EnrollmentLevels::EpisodeId)
                            .col(EnrollmentLevels::EffectiveOn),
                    )
                    .to_owned(),
            ],
        )
        .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO enrollment_levels (episode_id, effective_on, level_of_care) \
                 SELECT episode_id, admitted_on, level_of_care FROM enrollments",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, vec![EnrollmentLevels::Table.into_iden()]).await
    }
}
