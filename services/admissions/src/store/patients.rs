//! The master patient record: look-ups (merged-away ids resolve to the
//! survivor), the facilities where a patient is known, the duplicate search by
//! blocking keys, demographic history, merges.

use std::collections::BTreeSet;

use chrono::Utc;
use iop_proto::admissions::v1::Demographics;
use iop_runtime::auth::Caller;
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};

use crate::{
    entity::{demographic_version, distinct_pair, episode, facility_link, match_key, patient},
    error::AdmissionsError,
};

/// A patient row by id.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<patient::Model>, DbErr> {
    patient::Entity::find_by_id(id).one(db).await
}

/// The patient `id` names, or the survivor it was merged into.
pub async fn resolve<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<patient::Model, AdmissionsError> {
    let p = find(db, id)
        .await?
        .ok_or_else(|| AdmissionsError::PatientNotFound {
            patient_id: id.to_owned(),
        })?;
    let Some(survivor) = &p.merged_into else {
        return Ok(p);
    };
    find(db, survivor)
        .await?
        .ok_or_else(|| AdmissionsError::PatientNotFound {
            patient_id: survivor.clone(),
        })
}

/// The patient registered with idempotency key `rid`.
pub async fn by_request_id<C: ConnectionTrait>(
    db: &C,
    rid: &str,
) -> Result<Option<patient::Model>, DbErr> {
    patient::Entity::find()
        .filter(patient::Column::RequestId.eq(rid))
        .one(db)
        .await
}

/// Whether a medical record number is taken.
pub async fn mrn_taken<C: ConnectionTrait>(db: &C, mrn: &str) -> Result<bool, DbErr> {
    Ok(patient::Entity::find()
        .filter(patient::Column::Mrn.eq(mrn))
        .one(db)
        .await?
        .is_some())
}

/// Records merged into `patient_id`, by id.
pub async fn merged_into<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<patient::Model>, DbErr> {
    patient::Entity::find()
        .filter(patient::Column::MergedInto.eq(patient_id))
        .order_by_asc(patient::Column::Id)
        .all(db)
        .await
}

/// Facilities where the patient is known: registration (its own and of every
/// record merged into it), every episode, and every facility it was linked to.
pub async fn known_at<C: ConnectionTrait>(
    db: &C,
    p: &patient::Model,
) -> Result<Vec<String>, DbErr> {
    let mut facilities = vec![p.registered_facility_id.clone()];
    facilities.extend(
        merged_into(db, &p.id)
            .await?
            .into_iter()
            .map(|m| m.registered_facility_id),
    );
    facilities.extend(
        episode::Entity::find()
            .filter(episode::Column::PatientId.eq(&p.id))
            .all(db)
            .await?
            .into_iter()
            .map(|e| e.facility_id),
    );
    let mut records = vec![p.id.clone()];
    records.extend(merged_into(db, &p.id).await?.into_iter().map(|m| m.id));
    facilities.extend(
        facility_link::Entity::find()
            .filter(facility_link::Column::PatientId.is_in(records))
            .all(db)
            .await?
            .into_iter()
            .map(|l| l.facility_id),
    );
    Ok(facilities)
}

/// Patients not merged away holding any of `keys` in the match index
/// (`matching::search_keys`), by id.
pub async fn sharing_a_key<C: ConnectionTrait>(
    db: &C,
    keys: Vec<String>,
) -> Result<Vec<patient::Model>, DbErr> {
    let ids: BTreeSet<String> = match_key::Entity::find()
        .filter(match_key::Column::Key.is_in(keys))
        .all(db)
        .await?
        .into_iter()
        .map(|k| k.patient_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Merged-away records are dropped here, not in SQL: with `merged_into IS
    // NULL` in the query, SQLite chose the merged_into index (every live
    // patient) over the primary key for a long id list, 175 ms at 100k
    // patients (seen with `iop bench`).
    Ok(patient::Entity::find()
        .filter(patient::Column::Id.is_in(ids))
        .order_by_asc(patient::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|p| p.merged_into.is_none())
        .collect())
}

/// Replaces the patient's keys in the match index (`None`: removes them, for
/// a record merged away).
pub async fn index_for_matching<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    keys: Option<Vec<String>>,
) -> Result<(), DbErr> {
    match_key::Entity::delete_many()
        .filter(match_key::Column::PatientId.eq(patient_id))
        .exec(db)
        .await?;
    let rows: Vec<match_key::ActiveModel> = (keys.unwrap_or_default().into_iter())
        .map(|key| match_key::ActiveModel {
            key: Set(key),
            patient_id: Set(patient_id.to_owned()),
        })
        .collect();
    if !rows.is_empty() {
        match_key::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

/// Ids of the records declared not the same person as `patient_id` or as a
/// record merged into it, each resolved to its survivor.
pub async fn declared_distinct<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<BTreeSet<String>, AdmissionsError> {
    let mut records = vec![patient_id.to_owned()];
    records.extend(merged_into(db, patient_id).await?.into_iter().map(|m| m.id));
    let rows = distinct_pair::Entity::find()
        .filter(
            Condition::any()
                .add(distinct_pair::Column::PatientLow.is_in(records.clone()))
                .add(distinct_pair::Column::PatientHigh.is_in(records.clone())),
        )
        .all(db)
        .await?;
    let mut out = BTreeSet::new();
    for row in rows {
        let other = if records.contains(&row.patient_low) {
            row.patient_high
        } else {
            row.patient_low
        };
        out.insert(resolve(db, &other).await?.id);
    }
    out.remove(patient_id);
    Ok(out)
}

/// Records that `a` and `b` are not the same person; `false` when it was
/// already recorded.
pub async fn declare_distinct<C: ConnectionTrait>(
    db: &C,
    a: &str,
    b: &str,
    facility_id: &str,
    reason: &str,
    caller: &Caller,
) -> Result<bool, DbErr> {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    if distinct_pair::Entity::find_by_id((low.to_owned(), high.to_owned()))
        .one(db)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    distinct_pair::ActiveModel {
        patient_low: Set(low.to_owned()),
        patient_high: Set(high.to_owned()),
        facility_id: Set(facility_id.to_owned()),
        reason: Set(reason.to_owned()),
        decided_by: Set(caller.subject().to_owned()),
        decided_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(true)
}

/// Inserts a new patient row.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    row: patient::ActiveModel,
) -> Result<patient::Model, DbErr> {
    row.insert(db).await
}

/// Writes changed demographics.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    row: patient::ActiveModel,
) -> Result<patient::Model, DbErr> {
    row.update(db).await
}

/// Keeps `demographics` as version `version` of the patient's record.
pub async fn record_version<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
    version: i64,
    demographics: &Demographics,
    caller: &Caller,
    reason: &str,
) -> Result<(), DbErr> {
    demographic_version::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        patient_id: Set(patient_id.to_owned()),
        version: Set(version),
        demographics: Set(demographics.encode_to_vec()),
        recorded_at: Set(Utc::now()),
        recorded_by: Set(caller.subject().to_owned()),
        reason: Set(reason.to_owned()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Every recorded version of the patient's demographics, oldest first.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<(demographic_version::Model, Demographics)>, AdmissionsError> {
    demographic_version::Entity::find()
        .filter(demographic_version::Column::PatientId.eq(patient_id))
        .order_by_asc(demographic_version::Column::Version)
        .all(db)
        .await?
        .into_iter()
        .map(|r| {
            let d = Demographics::decode(r.demographics.as_slice())
                .map_err(|_| super::corrupt(format!("demographic version {}", r.id)))?;
            Ok((r, d))
        })
        .collect()
}

/// Marks `merged_id` merged into `survivor_id`, and re-points records merged
/// into it, so resolution is always one hop.
pub async fn mark_merged<C: ConnectionTrait>(
    db: &C,
    merged_id: &str,
    survivor_id: &str,
) -> Result<(), DbErr> {
    patient::Entity::update_many()
        .col_expr(patient::Column::MergedInto, Expr::value(survivor_id))
        .col_expr(patient::Column::MergedAt, Expr::value(Utc::now()))
        .filter(patient::Column::Id.eq(merged_id))
        .exec(db)
        .await?;
    patient::Entity::update_many()
        .col_expr(patient::Column::MergedInto, Expr::value(survivor_id))
        .filter(patient::Column::MergedInto.eq(merged_id))
        .exec(db)
        .await?;
    Ok(())
}
