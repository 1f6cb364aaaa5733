//! Billing's events: the handlers of admissions' (facilities, patients,
//! episodes, coverages, consents, merges), scheduling's (attendance),
//! clinical's (signed notes, diagnoses) and testing-lab's (drug-test codes)
//! events. Each keeps its fact and settles the patient's days again in the
//! consumer's unit of work, so a held day is released by the event that
//! brings what it lacked.

use std::sync::Arc;

use chrono::{Days, Utc};
use iop_messaging::{
    cloudevents::InboundEvent,
    consumer::{ApplyError, EventHandler},
    router::Router,
    work::UnitOfWork,
};
use iop_proto::{
    admissions::events::v1::{
        ConsentExpired, ConsentRecorded, ConsentRevoked, CoverageRecorded, PatientAdmitted,
        PatientDemographicsUpdated, PatientDischarged, PatientRegistered, PatientTransferred,
        PatientsMerged,
    },
    clinical::events::v1::{NoteSigned, TreatmentPlanChanged},
    lab::events::v1::DrugTestCodes,
    scheduling::events::v1::AttendanceRecorded,
};
use iop_runtime::wire;

use crate::{
    entity::{attendance, coverage, diagnosis, episode_span, lab_code, patient, signed_note},
    settings::Rules,
    settle, store,
};

/// Applies the other contexts' events to billing.
pub struct Handler {
    rules: Arc<Rules>,
    router: Router<Handler>,
}

fn missing(what: &str) -> ApplyError {
    ApplyError::Permanent(format!("event without {what}"))
}

impl Handler {
    /// The handler with its routes.
    pub fn new(rules: Arc<Rules>) -> Self {
        let router = iop_consent::facilities::route(iop_consent::known::route(
            iop_consent::replica::route(Router::<Self>::new()),
        ))
        .on::<PatientRegistered>(|_, w, e, _| Box::pin(registered(w, e)))
        .on::<PatientDemographicsUpdated>(|_, w, e, _| Box::pin(demographics(w, e)))
        .on::<PatientAdmitted>(|h, w, e, _| Box::pin(admitted(h, w, e)))
        .on::<PatientTransferred>(|h, w, e, _| Box::pin(transferred(h, w, e)))
        .on::<PatientDischarged>(|h, w, e, _| Box::pin(discharged(h, w, e)))
        .on::<PatientsMerged>(|h, w, e, _| Box::pin(merged(h, w, e)))
        .on::<ConsentRecorded>(|h, w, e, _| {
            Box::pin(async move {
                let pid = e
                    .consent
                    .as_ref()
                    .map(|c| c.patient_id.clone())
                    .unwrap_or_default();
                iop_consent::replica::record(w.txn(), &e).await?;
                h.settle(w, &pid).await
            })
        })
        .on::<ConsentRevoked>(|h, w, e, _| {
            Box::pin(async move {
                iop_consent::replica::revoke(w.txn(), &e).await?;
                h.settle(w, &e.patient_id).await
            })
        })
        .on::<ConsentExpired>(|h, w, e, _| {
            Box::pin(async move {
                iop_consent::replica::expire(w.txn(), &e).await?;
                h.settle(w, &e.patient_id).await
            })
        })
        .on::<CoverageRecorded>(|h, w, e, _| Box::pin(covered(h, w, e)))
        .on::<AttendanceRecorded>(|h, w, e, _| Box::pin(attended(h, w, e)))
        .on::<NoteSigned>(|h, w, e, _| Box::pin(signed(h, w, e)))
        .on::<TreatmentPlanChanged>(|h, w, e, _| Box::pin(planned(h, w, e)))
        .on::<DrugTestCodes>(|h, w, e, _| Box::pin(lab_codes(h, w, e)));
        Self { rules, router }
    }

    async fn settle(&self, work: &mut UnitOfWork, patient_id: &str) -> Result<(), ApplyError> {
        if patient_id.is_empty() {
            return Ok(());
        }
        settle::settle(work, &self.rules, patient_id, Utc::now()).await?;
        Ok(())
    }
}

async fn registered(work: &mut UnitOfWork, e: PatientRegistered) -> Result<(), ApplyError> {
    iop_consent::known::know(work.txn(), &e.patient_id, &e.facility_id).await?;
    let who = (e.legal_name, e.date_of_birth, e.sex);
    keep_patient(work, e.patient_id, who).await
}

async fn demographics(
    work: &mut UnitOfWork,
    e: PatientDemographicsUpdated,
) -> Result<(), ApplyError> {
    let who = (e.legal_name, e.date_of_birth, e.sex);
    keep_patient(work, e.patient_id, who).await
}

/// Keeps who a patient is, as a claim names them.
async fn keep_patient(
    work: &mut UnitOfWork,
    patient_id: String,
    (name, born, sex): (
        Option<iop_proto::common::v1::PersonName>,
        Option<iop_proto::common::v1::Date>,
        i32,
    ),
) -> Result<(), ApplyError> {
    let name = name.unwrap_or_default();
    let row = patient::Model {
        patient_id,
        given: name.given,
        middle: name.middle,
        family: name.family,
        date_of_birth: wire::naive_date(born.as_ref()),
        sex,
    };
    store::put::<patient::Entity, _>(work.txn(), row).await?;
    Ok(())
}

fn span_id(episode_id: &str, from: chrono::NaiveDate) -> String {
    format!("{episode_id}:{from}")
}

async fn admitted(
    h: &Handler,
    work: &mut UnitOfWork,
    e: PatientAdmitted,
) -> Result<(), ApplyError> {
    iop_consent::known::know(work.txn(), &e.patient_id, &e.facility_id).await?;
    let from = wire::naive_date(e.admitted_on.as_ref()).ok_or_else(|| missing("admitted_on"))?;
    let row = episode_span::Model {
        id: span_id(&e.episode_id, from),
        episode_id: e.episode_id.clone(),
        patient_id: e.patient_id.clone(),
        facility_id: e.facility_id.clone(),
        level_of_care: e.level_of_care,
        from_date: from,
        to_date: None,
    };
    store::put::<episode_span::Entity, _>(work.txn(), row).await?;
    h.settle(work, &e.patient_id).await
}

/// Ends the episode's open span the day before `on` (a span that began on
/// `on` itself is replaced by what follows, so it is removed).
async fn close_span(
    work: &mut UnitOfWork,
    episode_id: &str,
    last_day: chrono::NaiveDate,
) -> Result<(), ApplyError> {
    for mut s in store::spans_of_episode(work.txn(), episode_id).await? {
        if s.to_date.is_some() {
            continue;
        }
        if s.from_date > last_day {
            episode_span::Entity::delete_by_id(s.id.clone())
                .exec(work.txn())
                .await
                .map_err(ApplyError::from)?;
        } else {
            s.to_date = Some(last_day);
            store::put::<episode_span::Entity, _>(work.txn(), s).await?;
        }
    }
    Ok(())
}

use sea_orm::EntityTrait as _;

async fn transferred(
    h: &Handler,
    work: &mut UnitOfWork,
    e: PatientTransferred,
) -> Result<(), ApplyError> {
    iop_consent::known::know(work.txn(), &e.patient_id, &e.to_facility_id).await?;
    let on =
        wire::naive_date(e.transferred_on.as_ref()).ok_or_else(|| missing("transferred_on"))?;
    let before = on.checked_sub_days(Days::new(1)).unwrap_or(on);
    close_span(work, &e.episode_id, before).await?;
    let row = episode_span::Model {
        id: span_id(&e.episode_id, on),
        episode_id: e.episode_id.clone(),
        patient_id: e.patient_id.clone(),
        facility_id: e.to_facility_id.clone(),
        level_of_care: e.level_of_care,
        from_date: on,
        to_date: None,
    };
    store::put::<episode_span::Entity, _>(work.txn(), row).await?;
    h.settle(work, &e.patient_id).await
}

async fn discharged(
    h: &Handler,
    work: &mut UnitOfWork,
    e: PatientDischarged,
) -> Result<(), ApplyError> {
    let on = wire::naive_date(e.discharged_on.as_ref()).ok_or_else(|| missing("discharged_on"))?;
    close_span(work, &e.episode_id, on).await?;
    h.settle(work, &e.patient_id).await
}

async fn merged(h: &Handler, work: &mut UnitOfWork, e: PatientsMerged) -> Result<(), ApplyError> {
    let (from, to) = (e.merged_away_id.as_str(), e.survivor_id.as_str());
    store::merge(work.txn(), to, from).await?;
    iop_consent::replica::merge(work.txn(), to, from).await?;
    iop_consent::known::merge(work.txn(), to, from).await?;
    h.settle(work, to).await
}

async fn covered(
    h: &Handler,
    work: &mut UnitOfWork,
    e: CoverageRecorded,
) -> Result<(), ApplyError> {
    let c = e.coverage.ok_or_else(|| missing("coverage"))?;
    let from =
        wire::naive_date(c.effective_from.as_ref()).ok_or_else(|| missing("effective_from"))?;
    let address = c.subscriber_address.clone().unwrap_or_default();
    let row = coverage::Model {
        coverage_id: c.coverage_id,
        patient_id: c.patient_id.clone(),
        self_pay: c.self_pay,
        payer_id: c.payer_id.trim().to_ascii_uppercase(),
        payer_name: c.payer_name,
        plan_name: c.plan_name,
        member_id: c.member_id,
        group_number: c.group_number,
        relationship: c.subscriber_relationship,
        subscriber_name: c.subscriber_name,
        effective_from: from,
        effective_to: wire::naive_date(c.effective_to.as_ref()),
        recorded_at: wire::instant(e.occurred_at.as_ref()).unwrap_or_else(Utc::now),
        address_line1: address.line1,
        address_line2: address.line2,
        address_city: address.city,
        address_state: address.state,
        address_zip: address.postal_code,
    };
    store::put::<coverage::Entity, _>(work.txn(), row).await?;
    h.settle(work, &c.patient_id).await
}

async fn attended(
    h: &Handler,
    work: &mut UnitOfWork,
    e: AttendanceRecorded,
) -> Result<(), ApplyError> {
    let day = wire::naive_date(e.service_date.as_ref()).ok_or_else(|| missing("service_date"))?;
    let row = attendance::Model {
        session_id: e.session_id,
        patient_id: e.patient_id.clone(),
        facility_id: e.facility_id,
        service_date: day,
        session_type: e.session_type,
        minutes: i32::try_from(e.minutes).unwrap_or(i32::MAX),
        clinical: e.clinical,
    };
    store::put::<attendance::Entity, _>(work.txn(), row).await?;
    h.settle(work, &e.patient_id).await
}

async fn signed(h: &Handler, work: &mut UnitOfWork, e: NoteSigned) -> Result<(), ApplyError> {
    let day = wire::naive_date(e.service_date.as_ref()).ok_or_else(|| missing("service_date"))?;
    let row = signed_note::Model {
        note_id: e.note_id,
        patient_id: e.patient_id.clone(),
        service_date: day,
    };
    store::put_signed_note(work.txn(), row).await?;
    h.settle(work, &e.patient_id).await
}

async fn planned(
    h: &Handler,
    work: &mut UnitOfWork,
    e: TreatmentPlanChanged,
) -> Result<(), ApplyError> {
    let codes = iop_care::icd10::diagnoses(e.diagnoses.iter().map(String::as_str));
    if codes.is_empty() {
        return Ok(());
    }
    // The principal diagnosis is the first substance-use code.
    let mut ordered: Vec<String> = codes
        .iter()
        .filter(|c| iop_care::icd10::is_substance_use(c))
        .cloned()
        .collect();
    ordered.extend(
        codes
            .iter()
            .filter(|c| !iop_care::icd10::is_substance_use(c))
            .cloned(),
    );
    let row = diagnosis::Model {
        patient_id: e.patient_id.clone(),
        codes: ordered.join(","),
        plan_id: e.plan_id,
    };
    store::put::<diagnosis::Entity, _>(work.txn(), row).await?;
    h.settle(work, &e.patient_id).await
}

async fn lab_codes(h: &Handler, work: &mut UnitOfWork, e: DrugTestCodes) -> Result<(), ApplyError> {
    let day = wire::naive_date(e.service_date.as_ref()).ok_or_else(|| missing("service_date"))?;
    let row = lab_code::Model {
        patient_id: e.patient_id.clone(),
        service_date: day,
        facility_id: e.facility_id,
        presumptive: e.presumptive_code.trim().to_ascii_uppercase(),
        definitive: e.definitive_code.trim().to_ascii_uppercase(),
    };
    store::put::<lab_code::Entity, _>(work.txn(), row).await?;
    h.settle(work, &e.patient_id).await
}

impl EventHandler for Handler {
    async fn apply(&self, work: &mut UnitOfWork, event: &InboundEvent) -> Result<(), ApplyError> {
        self.router.dispatch(self, work, event).await.map(|_| ())
    }
}
