//! Where each patient is known, and who holds an emergency grant, as a context
//! other than admissions copies it from admissions' events: with the consent
//! [`crate::replica`], everything the access rule ([`crate::access`]) decides
//! on, so a downstream service answers "may this facility read or change this
//! patient's records" as admissions would, before it says anything else about
//! the patient (that no enrollment exists is itself a disclosure).
//!
//! Known-at rows come from `PatientRegistered` and `PatientLinkedToFacility`
//! ([`route`]) and from the service's own handlers of `PatientAdmitted` and
//! `PatientTransferred` (which call [`know`]); emergency grants from
//! `BreakGlassAccessGranted`. [`merge`] files both under the survivor. [`PatientAccess::load`] reads it all back for one patient.

use chrono::{DateTime, Utc};
use iop_messaging::{consumer::ApplyError, router::Router};
use iop_proto::admissions::events::v1::{
    BreakGlassAccessGranted, PatientLinkedToFacility, PatientRegistered,
};
use iop_runtime::{grpc::Call, schema};
use sea_orm::{ConnectionTrait, DbErr, sea_query::OnConflict};
use sea_orm_migration::prelude::*;

use crate::{
    Consent,
    access::{self, Basis},
    replica,
};

#[derive(DeriveIden)]
enum AccessKnownAt {
    Table,
    PatientId,
    FacilityId,
}

#[derive(DeriveIden)]
enum AccessGrants {
    Table,
    GrantId,
    PatientId,
    FacilityId,
    GrantedTo,
    ExpiresAt,
}

fn run<C: ConnectionTrait>(
    db: &C,
    statement: &impl sea_orm::StatementBuilder,
) -> sea_orm::Statement {
    db.get_database_backend().build(statement)
}

/// Records that `patient_id` (or its survivor) is known at `facility_id`.
pub async fn know<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    facility_id: &str,
) -> Result<(), DbErr> {
    if patient_id.is_empty() || facility_id.is_empty() {
        return Ok(());
    }
    let owner = replica::owner(db, patient_id).await?;
    let insert = Query::insert()
        .into_table(AccessKnownAt::Table)
        .columns([AccessKnownAt::PatientId, AccessKnownAt::FacilityId])
        .values_panic([owner.into(), facility_id.into()])
        .on_conflict(
            OnConflict::columns([AccessKnownAt::PatientId, AccessKnownAt::FacilityId])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    db.execute(run(db, &insert)).await.map(drop)
}

/// Keeps an emergency grant.
pub async fn grant<C: ConnectionTrait>(
    db: &C,
    g: &BreakGlassAccessGranted,
) -> Result<(), ApplyError> {
    let expires_at = iop_runtime::wire::instant(g.expires_at.as_ref()).ok_or_else(|| {
        ApplyError::Permanent("BreakGlassAccessGranted without expires_at".into())
    })?;
    let owner = replica::owner(db, &g.patient_id).await?;
    let insert = Query::insert()
        .into_table(AccessGrants::Table)
        .columns([
            AccessGrants::GrantId,
            AccessGrants::PatientId,
            AccessGrants::FacilityId,
            AccessGrants::GrantedTo,
            AccessGrants::ExpiresAt,
        ])
        .values_panic([
            g.grant_id.clone().into(),
            owner.into(),
            g.facility_id.clone().into(),
            g.granted_to.clone().into(),
            expires_at.into(),
        ])
        .on_conflict(
            OnConflict::column(AccessGrants::GrantId)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    db.execute(run(db, &insert)).await?;
    Ok(())
}

/// Files the merged-away record's facilities and grants under the survivor;
/// call it after [`replica::merge`], which records the merge itself.
pub async fn merge<C: ConnectionTrait>(
    db: &C,
    survivor_id: &str,
    merged_away_id: &str,
) -> Result<(), DbErr> {
    for facility in known_at(db, merged_away_id).await? {
        know(db, survivor_id, &facility).await?;
    }
    let delete = Query::delete()
        .from_table(AccessKnownAt::Table)
        .and_where(Expr::col(AccessKnownAt::PatientId).eq(merged_away_id))
        .to_owned();
    db.execute(run(db, &delete)).await?;
    let rekey = Query::update()
        .table(AccessGrants::Table)
        .value(AccessGrants::PatientId, survivor_id)
        .and_where(Expr::col(AccessGrants::PatientId).eq(merged_away_id))
        .to_owned();
    db.execute(run(db, &rekey)).await.map(drop)
}

async fn known_at<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column(AccessKnownAt::FacilityId)
        .from(AccessKnownAt::Table)
        .and_where(Expr::col(AccessKnownAt::PatientId).eq(patient_id))
        .order_by(AccessKnownAt::FacilityId, Order::Asc)
        .to_owned();
    db.query_all(run(db, &select))
        .await?
        .iter()
        .map(|r| r.try_get("", "facility_id"))
        .collect()
}

/// An emergency grant as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The grant.
    pub grant_id: String,
    /// The facility the clinician acted for.
    pub facility_id: String,
    /// The clinician (token subject) it was granted to.
    pub granted_to: String,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
}

/// The emergency grants of `patient_id`, lapsed ones included.
pub async fn grants_of<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<Vec<Grant>, DbErr> {
    let select = Query::select()
        .columns([
            AccessGrants::GrantId,
            AccessGrants::FacilityId,
            AccessGrants::GrantedTo,
            AccessGrants::ExpiresAt,
        ])
        .from(AccessGrants::Table)
        .and_where(Expr::col(AccessGrants::PatientId).eq(patient_id))
        .to_owned();
    db.query_all(run(db, &select))
        .await?
        .iter()
        .map(|r| {
            Ok(Grant {
                grant_id: r.try_get("", "grant_id")?,
                facility_id: r.try_get("", "facility_id")?,
                granted_to: r.try_get("", "granted_to")?,
                expires_at: r.try_get("", "expires_at")?,
            })
        })
        .collect()
}

/// The basis a medical emergency gives `call` at `at`: its own clinician's
/// unexpired grant at a facility the caller acts for (reads only).
pub fn emergency(grants: &[Grant], call: &Call, at: DateTime<Utc>) -> Option<Basis> {
    grants
        .iter()
        .find(|g| {
            g.granted_to == call.caller.subject()
                && g.expires_at > at
                && call.caller.acts_for(&g.facility_id)
        })
        .map(|g| Basis::Emergency {
            facility_id: g.facility_id.clone(),
            grant_id: g.grant_id.clone(),
        })
}

/// Everything the access rule decides on for one patient, as this context
/// keeps it.
#[derive(Debug, Clone)]
pub struct PatientAccess {
    /// The record the id asked for lives on as: itself, or its survivor.
    pub patient_id: String,
    /// Whether the id asked for was merged away.
    pub merged_away: bool,
    /// The facilities where the patient is known.
    pub known_at: Vec<String>,
    /// The patient's consents.
    pub consents: Vec<Consent>,
    /// Emergency grants, lapsed ones included.
    pub grants: Vec<Grant>,
}

impl PatientAccess {
    /// Loads it for `patient_id`, following a merge to the survivor. An id
    /// this context never heard of is known nowhere: every read and write is
    /// refused, the same as for a patient of another facility.
    pub async fn load<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<Self, DbErr> {
        let owner = replica::owner(db, patient_id).await?;
        Ok(Self {
            merged_away: owner != patient_id,
            known_at: known_at(db, &owner).await?,
            consents: replica::consents_of(db, &owner).await?,
            grants: grants_of(db, &owner).await?,
            patient_id: owner,
        })
    }

    /// Whether `call` may read the record, and on which basis: known at a
    /// facility of the caller's, a consent naming one for the call's purpose,
    /// or, last, the caller's own unexpired emergency grant.
    pub fn read_basis(&self, call: &Call, at: DateTime<Utc>) -> Option<Basis> {
        let acts_for = |f: &str| call.caller.acts_for(f);
        access::facility_access(acts_for, &self.known_at, &self.consents, call.purpose, at)
            .or_else(|| emergency(&self.grants, call, at))
    }

    /// The facility on whose behalf `call` may change the record (`at`, when
    /// the request names one): where the patient is known. Consents and
    /// grants never let a facility write.
    pub fn writer(&self, call: &Call, at: Option<&str>) -> Option<String> {
        access::writer_facility(|f| call.caller.acts_for(f), &self.known_at, at)
    }
}

/// Registers the events that say where a patient is known and who holds a
/// grant (admissions and transfers stay the service's own handlers, which
/// call [`know`]).
pub fn route<S: Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .on::<PatientRegistered>(|_, work, e, _| {
            Box::pin(async move { Ok(know(work.txn(), &e.patient_id, &e.facility_id).await?) })
        })
        .on::<PatientLinkedToFacility>(|_, work, e, _| {
            Box::pin(async move { Ok(know(work.txn(), &e.patient_id, &e.facility_id).await?) })
        })
        .on::<BreakGlassAccessGranted>(|_, work, e, _| {
            Box::pin(async move { grant(work.txn(), &e).await })
        })
}

/// Creates the tables of where patients are known and of emergency grants
/// (identifiers frozen here); `seed`, if given, fills the first from what the
/// service already holds (an `INSERT … SELECT` into `access_known_at`).
pub struct CreateAccessReplica {
    /// The data migration that fills `access_known_at`, if any.
    pub seed: Option<&'static str>,
}

impl MigrationName for CreateAccessReplica {
    fn name(&self) -> &str {
        "m20261128_000900_create_access_replica"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAccessReplica {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        schema::create_tables(
            manager,
            vec![
                Table::create()
                    .table(AccessKnownAt::Table)
                    .if_not_exists()
                    .col(schema::text(AccessKnownAt::PatientId))
                    .col(schema::text(AccessKnownAt::FacilityId))
                    .primary_key(
                        Index::create()
                            .col(AccessKnownAt::PatientId)
                            .col(AccessKnownAt::FacilityId),
                    )
                    .to_owned(),
                Table::create()
                    .table(AccessGrants::Table)
                    .if_not_exists()
                    .col(schema::key(AccessGrants::GrantId))
                    .col(schema::text(AccessGrants::PatientId))
                    .col(schema::text(AccessGrants::FacilityId))
                    .col(schema::text(AccessGrants::GrantedTo))
                    .col(schema::instant(AccessGrants::ExpiresAt))
                    .to_owned(),
            ],
        )
        .await?;
        schema::index(
            manager,
            "ix_access_grants_patient",
            AccessGrants::Table,
            vec![AccessGrants::PatientId.into_iden()],
            false,
        )
        .await?;
        if let Some(seed) = self.seed {
            manager.get_connection().execute_unprepared(seed).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        schema::drop_tables(
            manager,
            vec![
                AccessGrants::Table.into_iden(),
                AccessKnownAt::Table.into_iden(),
            ],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use iop_runtime::{
        audit::Purpose as PurposeOfUse,
        auth::{Caller, Role},
    };

    use super::*;

    fn call(subject: &str, facility: &str) -> Call {
        Call {
            caller: Caller::new(subject, &[Role::Clinician], &[facility]),
            purpose: PurposeOfUse::Treatment,
            deadline: None,
        }
    }

    fn access(grants: Vec<Grant>) -> PatientAccess {
        PatientAccess {
            patient_id: "p".into(),
            merged_away: false,
            known_at: vec!["oakland".into()],
            consents: Vec::new(),
            grants,
        }
    }

    #[test]
    fn a_grant_lets_its_own_clinician_read_at_its_facility_until_it_lapses() {
        let now = Utc::now();
        let grant = |to: &str, expires_at| Grant {
            grant_id: "g-1".into(),
            facility_id: "fresno".into(),
            granted_to: to.into(),
            expires_at,
        };
        let live = access(vec![grant("dr-lee", now + Duration::hours(1))]);
        assert_eq!(
            live.read_basis(&call("dr-lee", "fresno"), now),
            Some(Basis::Emergency {
                facility_id: "fresno".into(),
                grant_id: "g-1".into(),
            })
        );
        // Someone else at Fresno, or the same clinician acting elsewhere: no.
        assert_eq!(live.read_basis(&call("dr-kim", "fresno"), now), None);
        assert_eq!(live.read_basis(&call("dr-lee", "san-jose"), now), None);
        // Lapsed: no.
        let lapsed = access(vec![grant("dr-lee", now - Duration::seconds(1))]);
        assert_eq!(lapsed.read_basis(&call("dr-lee", "fresno"), now), None);
        // A grant never lets anyone write; being known does.
        assert_eq!(live.writer(&call("dr-lee", "fresno"), Some("fresno")), None);
        assert_eq!(
            live.writer(&call("dr-kim", "oakland"), None),
            Some("oakland".to_owned())
        );
    }
}
