//! The facility registry over gRPC: what each facility of the network is called,
//! where it is, its time zone, and the programs it offers with their capacity.
//! Each change publishes the facility's full description (`FacilityRecorded`,
//! keyed by facility id) so other contexts keep their own copy.

use chrono::Utc;
use iop_messaging::outbox::NewEvent;
use iop_proto::{
    admissions::{
        events::v1 as events,
        v1::{
            Facility, ListFacilitiesRequest, ListFacilitiesResponse, ProgramOffering,
            PutFacilityRequest, PutFacilityResponse,
        },
    },
    common::v1::Program,
};
use iop_runtime::{
    audit::{self, AuditEntry, Outcome, Purpose},
    auth::Caller,
    wire,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};

use super::{ACTIVE, AdmissionsApi};
use crate::{
    entity::{episode, facility, facility_program},
    error::AdmissionsError,
    records,
};

const AGGREGATE: &str = "facility";

async fn census<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    program: i32,
) -> Result<u64, AdmissionsError> {
    Ok(episode::Entity::find()
        .filter(episode::Column::FacilityId.eq(facility_id))
        .filter(episode::Column::Program.eq(program))
        .filter(episode::Column::Status.eq(ACTIVE))
        .count(db)
        .await?)
}

/// Checks that `facility_id` offers `program` with a free place, inside the
/// admitting transaction. The no-op update takes the program's row lock first,
/// so on PostgreSQL two admissions to the same program count one after the
/// other and cannot both take the last place (SQLite has one writer anyway).
pub(super) async fn reserve_place<C: ConnectionTrait>(
    txn: &C,
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
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        if facility::Entity::find_by_id(facility_id)
            .one(txn)
            .await?
            .is_none()
        {
            return Err(AdmissionsError::NotFound {
                what: "facility",
                id: facility_id.to_owned(),
            });
        }
        return Err(AdmissionsError::Precondition(format!(
            "facility {facility_id} does not offer {}",
            program.as_str_name()
        )));
    }
    let offering = facility_program::Entity::find_by_id((facility_id.to_owned(), program as i32))
        .one(txn)
        .await?
        .ok_or_else(|| AdmissionsError::NotFound {
            what: "facility",
            id: facility_id.to_owned(),
        })?;
    let taken = census(txn, facility_id, program as i32).await?;
    if taken >= u64::try_from(offering.capacity).unwrap_or(0) {
        return Err(AdmissionsError::Precondition(format!(
            "{} at facility {facility_id} is full ({taken} of {} places taken)",
            program.as_str_name(),
            offering.capacity
        )));
    }
    Ok(())
}

impl AdmissionsApi {
    async fn facility_message(&self, f: facility::Model) -> Result<Facility, AdmissionsError> {
        let db = self.db.conn();
        let mut programs = Vec::new();
        for p in facility_program::Entity::find()
            .filter(facility_program::Column::FacilityId.eq(&f.id))
            .order_by_asc(facility_program::Column::Program)
            .all(db)
            .await?
        {
            programs.push(ProgramOffering {
                program: p.program,
                capacity: u32::try_from(p.capacity).unwrap_or(0),
                census: u32::try_from(census(db, &f.id, p.program).await?).unwrap_or(u32::MAX),
            });
        }
        Ok(Facility {
            facility_id: f.id,
            name: f.name,
            city: f.city,
            time_zone: f.time_zone,
            programs,
        })
    }

    /// Registers or replaces a facility. A program dropped from the list takes
    /// no new admissions; a capacity below the census stops admissions until
    /// patients leave. Neither touches active episodes.
    pub(super) async fn put_facility(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: PutFacilityRequest,
    ) -> Result<PutFacilityResponse, AdmissionsError> {
        let f = records::facility(req.facility.as_ref())?;
        let txn = self.db.begin_write().await?;
        let existing = facility::Entity::find_by_id(&f.facility_id)
            .one(&*txn)
            .await?;
        let now = Utc::now();
        let version = existing.as_ref().map_or(1, |e| e.version + 1);
        let model = facility::ActiveModel {
            id: Set(f.facility_id.clone()),
            name: Set(f.name.clone()),
            city: Set(f.city.clone()),
            time_zone: Set(f.time_zone.clone()),
            version: Set(version),
            updated_at: Set(now),
        };
        if existing.is_some() {
            model.update(&*txn).await?;
        } else {
            model.insert(&*txn).await?;
        }
        facility_program::Entity::delete_many()
            .filter(facility_program::Column::FacilityId.eq(&f.facility_id))
            .exec(&*txn)
            .await?;
        for p in &f.programs {
            facility_program::ActiveModel {
                facility_id: Set(f.facility_id.clone()),
                program: Set(p.program),
                capacity: Set(i32::try_from(p.capacity).unwrap_or(i32::MAX)),
            }
            .insert(&*txn)
            .await?;
        }
        let event = events::FacilityRecorded {
            facility_id: f.facility_id.clone(),
            name: f.name.clone(),
            city: f.city.clone(),
            time_zone: f.time_zone.clone(),
            programs: f
                .programs
                .iter()
                .map(|p| events::ProgramCapacity {
                    program: p.program,
                    capacity: p.capacity,
                })
                .collect(),
            version,
            occurred_at: Some(wire::timestamp(now)),
        };
        self.outbox
            .append(
                &*txn,
                NewEvent::of(AGGREGATE, &f.facility_id, version, &event),
            )
            .await?;
        audit::record(
            &*txn,
            AuditEntry {
                caller,
                action: "admissions.PutFacility",
                patient_id: None,
                facility_id: Some(&f.facility_id),
                purpose,
                outcome: Outcome::Allowed,
            },
        )
        .await?;
        txn.commit().await?;
        self.outbox.committed();
        let stored = facility::Entity::find_by_id(&f.facility_id)
            .one(self.db.conn())
            .await?
            .ok_or_else(|| AdmissionsError::NotFound {
                what: "facility",
                id: f.facility_id.clone(),
            })?;
        Ok(PutFacilityResponse {
            facility: Some(self.facility_message(stored).await?),
        })
    }

    pub(super) async fn list_facilities(
        &self,
        _caller: &Caller,
        _purpose: Purpose,
        _req: ListFacilitiesRequest,
    ) -> Result<ListFacilitiesResponse, AdmissionsError> {
        let mut facilities = Vec::new();
        for f in facility::Entity::find()
            .order_by_asc(facility::Column::Id)
            .all(self.db.conn())
            .await?
        {
            facilities.push(self.facility_message(f).await?);
        }
        Ok(ListFacilitiesResponse { facilities })
    }
}
