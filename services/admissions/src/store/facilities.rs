//! The facility registry: facilities, the programs each offers with their
//! capacity, the census of each program, and reserving a place at admission.

use std::collections::HashMap;

use chrono::Utc;
use iop_proto::{admissions::v1::Facility, common::v1::Program};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};

use crate::{
    entity::{
        episode::{self, EpisodeStatus},
        facility, facility_program,
    },
    error::AdmissionsError,
};

/// A facility with its programs and, per program, active episodes.
pub struct Registered {
    /// The facility row.
    pub facility: facility::Model,
    /// Its programs.
    pub programs: Vec<facility_program::Model>,
    /// Active episodes by program value.
    pub census: HashMap<i32, u64>,
}

/// A facility by id.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<facility::Model>, DbErr> {
    facility::Entity::find_by_id(id).one(db).await
}

/// Facilities (all, or the one named) with programs and census, in three queries.
pub async fn registered<C: ConnectionTrait>(
    db: &C,
    only: Option<&str>,
) -> Result<Vec<Registered>, DbErr> {
    let mut facilities = facility::Entity::find().order_by_asc(facility::Column::Id);
    let mut programs =
        facility_program::Entity::find().order_by_asc(facility_program::Column::Program);
    let mut census = episode::Entity::find()
        .select_only()
        .column(episode::Column::FacilityId)
        .column(episode::Column::Program)
        .column_as(Expr::col(episode::Column::Id).count(), "census")
        .filter(episode::Column::Status.eq(EpisodeStatus::Active))
        .group_by(episode::Column::FacilityId)
        .group_by(episode::Column::Program);
    if let Some(id) = only {
        facilities = facilities.filter(facility::Column::Id.eq(id));
        programs = programs.filter(facility_program::Column::FacilityId.eq(id));
        census = census.filter(episode::Column::FacilityId.eq(id));
    }
    let mut programs_of: HashMap<String, Vec<facility_program::Model>> = HashMap::new();
    for p in programs.all(db).await? {
        programs_of
            .entry(p.facility_id.clone())
            .or_default()
            .push(p);
    }
    let mut census_of: HashMap<String, HashMap<i32, u64>> = HashMap::new();
    let counted: Vec<(String, i32, i64)> = census.into_tuple().all(db).await?;
    for (facility_id, program, n) in counted {
        census_of
            .entry(facility_id)
            .or_default()
            .insert(program, u64::try_from(n).unwrap_or(0));
    }
    Ok(facilities
        .all(db)
        .await?
        .into_iter()
        .map(|f| Registered {
            programs: programs_of.remove(&f.id).unwrap_or_default(),
            census: census_of.remove(&f.id).unwrap_or_default(),
            facility: f,
        })
        .collect())
}

/// Registers or replaces a validated facility and its programs.
pub async fn put<C: ConnectionTrait>(db: &C, f: &Facility) -> Result<(), DbErr> {
    let model = facility::ActiveModel {
        id: Set(f.facility_id.clone()),
        name: Set(f.name.clone()),
        city: Set(f.city.clone()),
        time_zone: Set(f.time_zone.clone()),
        updated_at: Set(Utc::now()),
    };
    if find(db, &f.facility_id).await?.is_some() {
        model.update(db).await?;
    } else {
        model.insert(db).await?;
    }
    facility_program::Entity::delete_many()
        .filter(facility_program::Column::FacilityId.eq(&f.facility_id))
        .exec(db)
        .await?;
    for p in &f.programs {
        facility_program::ActiveModel {
            facility_id: Set(f.facility_id.clone()),
            program: Set(p.program),
            capacity: Set(i32::try_from(p.capacity).unwrap_or(i32::MAX)),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Checks that `facility_id` offers `program` with a free place, inside the
/// admitting transaction. The no-op update takes the program's row lock first,
/// so on PostgreSQL two admissions to the same program count one after the
/// other and cannot both take the last place (SQLite has one writer anyway).
pub async fn reserve_place<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    program: Program,
) -> Result<(), AdmissionsError> {
    let locked = facility_program::Entity::update_many()
        .col_expr(
            facility_program::Column::Capacity,
            Expr::col(facility_program::Column::Capacity).into(),
        )
        .filter(facility_program::Column::FacilityId.eq(facility_id))
        .filter(facility_program::Column::Program.eq(program as i32))
        .exec(db)
        .await?;
    if locked.rows_affected == 0 {
        if find(db, facility_id).await?.is_none() {
            return Err(AdmissionsError::NotFound {
                what: "facility",
                id: facility_id.to_owned(),
            });
        }
        return Err(AdmissionsError::NoPlace {
            why: format!(
                "facility {facility_id} does not offer {}",
                program.as_str_name()
            ),
        });
    }
    let offering = facility_program::Entity::find_by_id((facility_id.to_owned(), program as i32))
        .one(db)
        .await?
        .ok_or_else(|| AdmissionsError::NotFound {
            what: "facility",
            id: facility_id.to_owned(),
        })?;
    let taken = episode::Entity::find()
        .filter(episode::Column::FacilityId.eq(facility_id))
        .filter(episode::Column::Program.eq(program as i32))
        .filter(episode::Column::Status.eq(EpisodeStatus::Active))
        .count(db)
        .await?;
    if taken >= u64::try_from(offering.capacity).unwrap_or(0) {
        return Err(AdmissionsError::NoPlace {
            why: format!(
                "{} at facility {facility_id} is full ({taken} of {} places taken)",
                program.as_str_name(),
                offering.capacity
            ),
        });
    }
    Ok(())
}
