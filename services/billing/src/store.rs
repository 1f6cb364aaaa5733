//! Billing's queries and writes, without rules.

use chrono::NaiveDate;
use chrono_tz::Tz;
use iop_runtime::db::upsert;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Alias, Expr, Query},
};

use crate::{
    entity::{
        attendance, authorization, charge, claim, counter, coverage, day, diagnosis,
        eligibility_check, episode_span, lab_code, patient, payment, remittance, restriction,
        signed_note, work_item,
    },
    error::BillingError,
};

/// A facility's time zone, as admissions last described it.
pub async fn time_zone<C: ConnectionTrait>(db: &C, facility_id: &str) -> Result<Tz, BillingError> {
    iop_consent::facilities::zone(db, facility_id)
        .await?
        .ok_or_else(|| BillingError::UnknownFacility {
            facility_id: facility_id.to_owned(),
        })
}

/// Keeps a copy of another context's fact, or billing's own record.
pub async fn put<E, C>(db: &C, model: E::Model) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::Model: sea_orm::IntoActiveModel<E::ActiveModel>,
    C: ConnectionTrait,
{
    upsert::<E, C>(db, model).await
}

/// A patient as billing knows them.
pub async fn patient<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<patient::Model>, DbErr> {
    patient::Entity::find_by_id(id).one(db).await
}

/// The patient's episode spans, oldest first.
pub async fn spans_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<episode_span::Model>, DbErr> {
    episode_span::Entity::find()
        .filter(episode_span::Column::PatientId.eq(patient_id))
        .order_by_asc(episode_span::Column::FromDate)
        .all(db)
        .await
}

/// The spans of an episode.
pub async fn spans_of_episode<C: ConnectionTrait>(
    db: &C,
    episode_id: &str,
) -> Result<Vec<episode_span::Model>, DbErr> {
    episode_span::Entity::find()
        .filter(episode_span::Column::EpisodeId.eq(episode_id))
        .order_by_asc(episode_span::Column::FromDate)
        .all(db)
        .await
}

/// Patients in care at a facility (an open span there).
pub async fn in_care_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Vec<String>, DbErr> {
    let mut ids: Vec<String> = episode_span::Entity::find()
        .filter(episode_span::Column::FacilityId.eq(facility_id))
        .filter(episode_span::Column::ToDate.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.patient_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The patient's coverages.
pub async fn coverages_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<coverage::Model>, DbErr> {
    coverage::Entity::find()
        .filter(coverage::Column::PatientId.eq(patient_id))
        .order_by_asc(coverage::Column::EffectiveFrom)
        .all(db)
        .await
}

/// Coverages of patients among `ids`.
pub async fn coverages_among<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<coverage::Model>, DbErr> {
    coverage::Entity::find()
        .filter(coverage::Column::PatientId.is_in(ids))
        .order_by_asc(coverage::Column::PatientId)
        .all(db)
        .await
}

/// Eligibility checks of the patient's coverages.
pub async fn checks_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<eligibility_check::Model>, DbErr> {
    eligibility_check::Entity::find()
        .filter(eligibility_check::Column::PatientId.eq(patient_id))
        .order_by_asc(eligibility_check::Column::RequestedAt)
        .all(db)
        .await
}

/// The inquiry traced by `trace`.
pub async fn check_by_trace<C: ConnectionTrait>(
    db: &C,
    trace: &str,
) -> Result<Option<eligibility_check::Model>, DbErr> {
    eligibility_check::Entity::find()
        .filter(eligibility_check::Column::TraceNumber.eq(trace))
        .one(db)
        .await
}

/// The patient's authorizations, by first day.
pub async fn authorizations_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<authorization::Model>, DbErr> {
    authorization::Entity::find()
        .filter(authorization::Column::PatientId.eq(patient_id))
        .order_by_asc(authorization::Column::FromDate)
        .order_by_asc(authorization::Column::Id)
        .all(db)
        .await
}

/// The patient's restrictions.
pub async fn restrictions_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<restriction::Model>, DbErr> {
    restriction::Entity::find()
        .filter(restriction::Column::PatientId.eq(patient_id))
        .all(db)
        .await
}

/// The patient's attendance.
pub async fn attendance_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<attendance::Model>, DbErr> {
    attendance::Entity::find()
        .filter(attendance::Column::PatientId.eq(patient_id))
        .all(db)
        .await
}

/// Keeps a signed note's day (a redelivery changes nothing).
pub async fn put_signed_note<C: ConnectionTrait>(
    db: &C,
    row: signed_note::Model,
) -> Result<(), DbErr> {
    if signed_note::Entity::find_by_id(&row.note_id)
        .one(db)
        .await?
        .is_none()
    {
        signed_note::ActiveModel::from(row)
            .reset_all()
            .insert(db)
            .await?;
    }
    Ok(())
}

/// Days with a signed note.
pub async fn note_days<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<NaiveDate>, DbErr> {
    Ok(signed_note::Entity::find()
        .filter(signed_note::Column::PatientId.eq(patient_id))
        .all(db)
        .await?
        .into_iter()
        .map(|n| n.service_date)
        .collect())
}

/// The patient's diagnoses, principal first (normal form).
pub async fn diagnoses<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<Vec<String>, DbErr> {
    Ok(diagnosis::Entity::find_by_id(patient_id)
        .one(db)
        .await?
        .map(|d| {
            d.codes
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// The patient's lab codes per day.
pub async fn lab_codes_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<lab_code::Model>, DbErr> {
    lab_code::Entity::find()
        .filter(lab_code::Column::PatientId.eq(patient_id))
        .all(db)
        .await
}

/// The patient's days, by date.
pub async fn days_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<day::Model>, DbErr> {
    day::Entity::find()
        .filter(day::Column::PatientId.eq(patient_id))
        .order_by_asc(day::Column::ServiceDate)
        .all(db)
        .await
}

/// Held days at a facility between two dates.
pub async fn held_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<Vec<day::Model>, DbErr> {
    day::Entity::find()
        .filter(day::Column::FacilityId.eq(facility_id))
        .filter(day::Column::Status.eq(iop_proto::billing::v1::DayStatus::Held as i32))
        .filter(day::Column::ServiceDate.gte(from))
        .filter(day::Column::ServiceDate.lte(to))
        .order_by_asc(day::Column::ServiceDate)
        .order_by_asc(day::Column::PatientId)
        .all(db)
        .await
}

/// Patients with days at a facility not billed yet or charges not claimed.
pub async fn unsettled_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Vec<String>, DbErr> {
    use iop_proto::billing::v1::{ChargeStatus, DayStatus};
    let mut ids: Vec<String> = day::Entity::find()
        .filter(day::Column::FacilityId.eq(facility_id))
        .filter(day::Column::Status.eq(DayStatus::Held as i32))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.patient_id)
        .collect();
    ids.extend(
        charge::Entity::find()
            .filter(charge::Column::FacilityId.eq(facility_id))
            .filter(charge::Column::Status.eq(ChargeStatus::Open as i32))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.patient_id),
    );
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The patient's charges, by date.
pub async fn charges_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<charge::Model>, DbErr> {
    charge::Entity::find()
        .filter(charge::Column::PatientId.eq(patient_id))
        .order_by_asc(charge::Column::ServiceDate)
        .order_by_asc(charge::Column::Kind)
        .order_by_asc(charge::Column::Hcpcs)
        .all(db)
        .await
}

/// Open charges at a facility.
pub async fn open_charges_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Vec<charge::Model>, DbErr> {
    charge::Entity::find()
        .filter(charge::Column::FacilityId.eq(facility_id))
        .filter(charge::Column::Status.eq(iop_proto::billing::v1::ChargeStatus::Open as i32))
        .order_by_asc(charge::Column::PatientId)
        .order_by_asc(charge::Column::ServiceDate)
        .order_by_asc(charge::Column::Kind)
        .all(db)
        .await
}

/// The charges on a claim.
pub async fn charges_of_claim<C: ConnectionTrait>(
    db: &C,
    claim_id: &str,
) -> Result<Vec<charge::Model>, DbErr> {
    charge::Entity::find()
        .filter(charge::Column::ClaimId.eq(claim_id))
        .order_by_asc(charge::Column::ServiceDate)
        .order_by_asc(charge::Column::Kind)
        .all(db)
        .await
}

/// One claim.
pub async fn claim<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<claim::Model>, DbErr> {
    claim::Entity::find_by_id(id).one(db).await
}

/// The claim numbered `number` (CLM01).
pub async fn claim_by_number<C: ConnectionTrait>(
    db: &C,
    number: &str,
) -> Result<Option<claim::Model>, DbErr> {
    claim::Entity::find()
        .filter(claim::Column::Number.eq(number))
        .one(db)
        .await
}

/// A facility's claims, of one status when given.
pub async fn claims_at<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
    status: Option<i32>,
) -> Result<Vec<claim::Model>, DbErr> {
    let mut q = claim::Entity::find().filter(claim::Column::FacilityId.eq(facility_id));
    if let Some(s) = status {
        q = q.filter(claim::Column::Status.eq(s));
    }
    q.order_by_asc(claim::Column::Number).all(db).await
}

/// The patient's claims.
pub async fn claims_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<claim::Model>, DbErr> {
    claim::Entity::find()
        .filter(claim::Column::PatientId.eq(patient_id))
        .order_by_asc(claim::Column::Number)
        .all(db)
        .await
}

/// The next value of a sequence (the caller holds the sequence's lock).
pub async fn next<C: ConnectionTrait>(db: &C, name: &str) -> Result<i64, DbErr> {
    let value = counter::Entity::find_by_id(name)
        .one(db)
        .await?
        .map_or(1, |c| c.value + 1);
    upsert::<counter::Entity, C>(
        db,
        counter::Model {
            name: name.to_owned(),
            value,
        },
    )
    .await?;
    Ok(value)
}

/// A payment applied before, by payer and trace number.
pub async fn remittance<C: ConnectionTrait>(
    db: &C,
    payer_id: &str,
    trace: &str,
) -> Result<Option<remittance::Model>, DbErr> {
    remittance::Entity::find()
        .filter(remittance::Column::PayerId.eq(payer_id))
        .filter(remittance::Column::TraceNumber.eq(trace))
        .one(db)
        .await
}

/// The patient's payments, in cents.
pub async fn paid_by<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<i64, DbErr> {
    Ok(payment::Entity::find()
        .filter(payment::Column::PatientId.eq(patient_id))
        .all(db)
        .await?
        .iter()
        .map(|p| p.amount_cents)
        .sum())
}

/// The patient's balance: what remittances made theirs less what they paid.
pub async fn balance<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<i64, DbErr> {
    let owed: i64 = claims_of(db, patient_id)
        .await?
        .iter()
        .map(|c| c.patient_resp_cents)
        .sum();
    Ok(owed - paid_by(db, patient_id).await?)
}

/// A facility's open work items, oldest first.
pub async fn work_queue<C: ConnectionTrait>(
    db: &C,
    facility_id: &str,
) -> Result<Vec<work_item::Model>, DbErr> {
    work_item::Entity::find()
        .filter(work_item::Column::FacilityId.eq(facility_id))
        .filter(work_item::Column::Resolved.eq(false))
        .order_by_asc(work_item::Column::OpenedAt)
        .order_by_asc(work_item::Column::Id)
        .all(db)
        .await
}

/// One work item.
pub async fn work_item<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<work_item::Model>, DbErr> {
    work_item::Entity::find_by_id(id).one(db).await
}

/// Re-keys everything of `from` to `to` (a merge). Days and charges keep
/// their keys per patient and date: a day both records had stays the
/// survivor's (the merged-away record's copy is dropped, its charges kept).
pub async fn merge<C: ConnectionTrait>(db: &C, to: &str, from: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for d in days_of(db, from).await? {
        let clash = day::Entity::find_by_id((to.to_owned(), d.service_date))
            .one(db)
            .await?;
        if clash.is_some() {
            day::Entity::delete_by_id((from.to_owned(), d.service_date))
                .exec(db)
                .await?;
        }
    }
    for l in lab_codes_of(db, from).await? {
        let clash = lab_code::Entity::find_by_id((to.to_owned(), l.service_date))
            .one(db)
            .await?;
        if clash.is_some() {
            lab_code::Entity::delete_by_id((from.to_owned(), l.service_date))
                .exec(db)
                .await?;
        }
    }
    for table in [
        "episode_spans",
        "coverages",
        "eligibility_checks",
        "authorizations",
        "restrictions",
        "attendance",
        "signed_notes",
        "lab_codes",
        "days",
        "charges",
        "claims",
        "payments",
        "work_queue",
    ] {
        let update = Query::update()
            .table(Alias::new(table))
            .value(Alias::new("patient_id"), to)
            .and_where(Expr::col(Alias::new("patient_id")).eq(from))
            .to_owned();
        db.execute(backend.build(&update)).await?;
    }
    diagnosis::Entity::delete_by_id(from).exec(db).await?;
    patient::Entity::delete_by_id(from).exec(db).await?;
    Ok(())
}
