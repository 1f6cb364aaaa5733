//! Every context's copy of the facilities' time zones, from admissions'
//! `FacilityRecorded` (the latest version wins, so a redelivered or older
//! event changes nothing): a facility-local day — today, a week, a due date,
//! a date of service — is only ever computed in the zone admissions set.

use chrono_tz::Tz;
use iop_messaging::router::Router;
use iop_proto::admissions::events::v1::FacilityRecorded;
use iop_runtime::schema;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};
use sea_orm_migration::prelude::*;

/// The `facilities` table.
pub mod entity {
    #![allow(missing_docs, reason = "fields are the columns")]

    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "facilities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// IANA name.
        pub time_zone: String,
        /// `FacilityRecorded.version` applied.
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The facility's time zone; none when no `FacilityRecorded` arrived yet.
pub async fn zone<C: ConnectionTrait>(db: &C, facility_id: &str) -> Result<Option<Tz>, DbErr> {
    let Some(f) = entity::Entity::find_by_id(facility_id).one(db).await? else {
        return Ok(None);
    };
    f.time_zone.parse().map(Some).map_err(|_| {
        DbErr::Custom(format!(
            "stored time zone of facility {facility_id} is not valid"
        ))
    })
}

/// Keeps the facility's time zone from its latest `FacilityRecorded`.
pub async fn record<C: ConnectionTrait>(db: &C, e: FacilityRecorded) -> Result<(), DbErr> {
    match entity::Entity::find_by_id(&e.facility_id).one(db).await? {
        Some(f) if f.version >= e.version => {}
        Some(f) => {
            let mut f: entity::ActiveModel = f.into();
            f.time_zone = Set(e.time_zone);
            f.version = Set(e.version);
            f.update(db).await?;
        }
        None => {
            entity::ActiveModel {
                id: Set(e.facility_id),
                time_zone: Set(e.time_zone),
                version: Set(e.version),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Registers `FacilityRecorded` on `router`.
pub fn route<S: Sync + 'static>(router: Router<S>) -> Router<S> {
    router.on::<FacilityRecorded>(|_, work, e, _| {
        Box::pin(async move { Ok(record(work.txn(), e).await?) })
    })
}

#[derive(DeriveIden)]
enum Facilities {
    Table,
    Id,
    TimeZone,
    Version,
}

/// Creates `facilities` (identifiers frozen here) for a context that did
/// not create it in its own first migration.
pub struct CreateFacilityReplica;

impl MigrationName for CreateFacilityReplica {
    fn name(&self) -> &str {
        "m20261205_000050_create_facility_replica"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFacilityReplica {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        schema::create_tables(
            manager,
            vec![
                Table::create()
                    .table(Facilities::Table)
                    .if_not_exists()
                    .col(schema::key(Facilities::Id))
                    .col(schema::text(Facilities::TimeZone))
                    .col(schema::big_int(Facilities::Version))
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        schema::drop_tables(manager, vec![Facilities::Table.into_iden()]).await
    }
}
