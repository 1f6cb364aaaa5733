//! Applies the rules to a patient: every date of service they attended (or
//! had a drug test) is decided again from the facts billing holds now. A day
//! that passes gets its charge (once per patient, date, payer and code,
//! whatever is redelivered or replayed: the key is unique and a live charge
//! is kept); a day that fails is held with every reason, and an open charge
//! whose day no longer passes (a consent revoked before submission, an
//! attendance corrected) is voided. Claimed charges are final. Runs in the
//! caller's unit of work under the patient's stream lock, after every fact
//! that can change a decision, and before claims are made.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use iop_messaging::work::{Stream, UnitOfWork};
use iop_proto::billing::{
    events::v1 as events,
    v1::{ChargeKind, ChargeStatus, DayStatus, Hold},
};
use iop_runtime::wire;

use crate::{
    entity::{attendance, authorization, charge, day},
    error::BillingError,
    rules::{self, AuthFact, Authorized, Cover, CoverageFact, DayFacts, Decision},
    settings::{Payer, Rules},
    store,
};

/// Whether a charge still counts (open or claimed).
pub fn live(c: &charge::Model) -> bool {
    c.status == ChargeStatus::Open as i32 || c.status == ChargeStatus::Claimed as i32
}

/// Days an authorization's charges used.
pub fn used(charges: &[charge::Model], authorization_id: &str) -> u32 {
    let n = charges
        .iter()
        .filter(|c| live(c) && c.authorization_id == authorization_id)
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The warnings of an authorization on `today`.
pub fn warnings(a: &authorization::Model, used: u32, today: NaiveDate) -> Vec<String> {
    let approved = u32::try_from(a.units_approved).unwrap_or(0);
    let left = approved.saturating_sub(used);
    let mut out = Vec::new();
    if left <= 2 {
        out.push(format!("{left} units left"));
    }
    if let Some(review) = a.next_review_on {
        let days = (review - today).num_days();
        if (0..=2).contains(&days) {
            out.push(format!("review due in {days} days"));
        }
    }
    out
}

/// Minutes of `rows` that count for `payer` (every clinical session when none).
fn minutes(rows: &[&attendance::Model], payer: Option<&Payer>) -> u32 {
    rows.iter()
        .filter(|a| payer.map_or(a.clinical, |p| p.session_types.contains(&a.session_type)))
        .map(|a| u32::try_from(a.minutes).unwrap_or(0))
        .sum()
}

struct Patient {
    id: String,
    spans: Vec<crate::entity::episode_span::Model>,
    coverages: Vec<crate::entity::coverage::Model>,
    inactive: HashMap<String, Vec<(NaiveDate, Option<NaiveDate>)>>,
    auths: Vec<authorization::Model>,
    restrictions: Vec<crate::entity::restriction::Model>,
    attendance: BTreeMap<NaiveDate, Vec<attendance::Model>>,
    notes: BTreeSet<NaiveDate>,
    diagnosis: bool,
    labs: BTreeMap<NaiveDate, crate::entity::lab_code::Model>,
    consents: Vec<iop_consent::Consent>,
    days: HashMap<NaiveDate, day::Model>,
    charges: Vec<charge::Model>,
}

async fn load(work: &UnitOfWork, patient_id: &str) -> Result<Patient, BillingError> {
    let db = work.txn();
    let mut inactive: HashMap<String, Vec<(NaiveDate, Option<NaiveDate>)>> = HashMap::new();
    for c in store::checks_of(db, patient_id).await? {
        if c.status == 2 {
            let from = c.from_date.unwrap_or(NaiveDate::MIN);
            inactive
                .entry(c.coverage_id)
                .or_default()
                .push((from, c.to_date));
        }
    }
    let mut attendance: BTreeMap<NaiveDate, Vec<attendance::Model>> = BTreeMap::new();
    for a in store::attendance_of(db, patient_id).await? {
        attendance.entry(a.service_date).or_default().push(a);
    }
    Ok(Patient {
        id: patient_id.to_owned(),
        spans: store::spans_of(db, patient_id).await?,
        coverages: store::coverages_of(db, patient_id).await?,
        inactive,
        auths: store::authorizations_of(db, patient_id).await?,
        restrictions: store::restrictions_of(db, patient_id).await?,
        attendance,
        notes: store::note_days(db, patient_id)
            .await?
            .into_iter()
            .collect(),
        diagnosis: store::diagnoses(db, patient_id)
            .await?
            .iter()
            .any(|c| iop_care::icd10::is_substance_use(c)),
        labs: store::lab_codes_of(db, patient_id)
            .await?
            .into_iter()
            .map(|l| (l.service_date, l))
            .collect(),
        consents: iop_consent::replica::consents_of(db, patient_id).await?,
        days: store::days_of(db, patient_id)
            .await?
            .into_iter()
            .map(|d| (d.service_date, d))
            .collect(),
        charges: store::charges_of(db, patient_id).await?,
    })
}

impl Patient {
    fn span_on(&self, date: NaiveDate) -> Option<&crate::entity::episode_span::Model> {
        self.spans
            .iter()
            .rev()
            .find(|s| s.from_date <= date && s.to_date.is_none_or(|t| date <= t))
    }

    fn cover(&self, date: NaiveDate) -> Cover {
        let facts: Vec<CoverageFact<'_>> = self
            .coverages
            .iter()
            .map(|c| CoverageFact {
                coverage_id: &c.coverage_id,
                self_pay: c.self_pay,
                payer_id: c.payer_id.trim().to_ascii_uppercase(),
                from: c.effective_from,
                to: c.effective_to,
                recorded_at: c.recorded_at,
                inactive: self
                    .inactive
                    .get(&c.coverage_id)
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        rules::cover(&facts, date)
    }

    fn day_minutes(&self, date: NaiveDate, payer: Option<&Payer>) -> u32 {
        let rows: Vec<&attendance::Model> = self
            .attendance
            .get(&date)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        minutes(&rows, payer)
    }

    /// Days of `date`'s week in care whose minutes reach the payer's minimum.
    fn week_days(&self, date: NaiveDate, payer: Option<&Payer>) -> u32 {
        let start = rules::week_start(date);
        let minimum = payer.map_or(180, |p| p.day_rule.minutes_per_day);
        let n = (0..7)
            .filter_map(|i| start.checked_add_days(Days::new(i)))
            .filter(|d| self.span_on(*d).is_some() && self.day_minutes(*d, payer) >= minimum)
            .count();
        u32::try_from(n).unwrap_or(0)
    }

    fn live_charge(&self, date: NaiveDate, kind: ChargeKind, code: Option<&str>) -> Option<usize> {
        self.charges.iter().position(|c| {
            c.service_date == date
                && c.kind == kind as i32
                && live(c)
                && code.is_none_or(|code| c.hcpcs == code)
        })
    }
}

/// What settling left behind, for a caller that reports it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// Charges made.
    pub charged: usize,
    /// Open charges voided.
    pub voided: usize,
}

/// Decides every date of service of `patient_id` again; see the module docs.
pub async fn settle(
    work: &mut UnitOfWork,
    rules_in_force: &Rules,
    patient_id: &str,
    now: DateTime<Utc>,
) -> Result<Settled, BillingError> {
    work.lock(Stream::patient(patient_id)).await?;
    let mut p = load(work, patient_id).await?;
    let mut settled = Settled::default();
    let dates: BTreeSet<NaiveDate> = p.attendance.keys().chain(p.labs.keys()).copied().collect();
    for date in dates {
        let span = p.span_on(date).cloned();
        let facility = span
            .as_ref()
            .map(|s| s.facility_id.clone())
            .or_else(|| {
                p.attendance
                    .get(&date)
                    .and_then(|a| a.first())
                    .map(|a| a.facility_id.clone())
            })
            .or_else(|| p.labs.get(&date).map(|l| l.facility_id.clone()))
            .unwrap_or_default();
        let tz = iop_consent::facilities::zone(work.txn(), &facility)
            .await?
            .unwrap_or(iop_consent::DEFAULT_ZONE);
        let today = iop_care::calendar::local(now, tz).date();
        let cover = p.cover(date);
        let payer = match &cover {
            Cover::Payer { payer_id, .. } => rules_in_force.payer(payer_id).cloned(),
            _ => None,
        };
        let payer_id = payer.as_ref().map(|p| p.id.clone()).unwrap_or_default();
        let level = span.as_ref().map(|s| s.level_of_care);
        let own = p.live_charge(date, ChargeKind::PerDiem, None);
        let authorized = match (&payer, level) {
            (Some(payer), Some(level)) => {
                let facts: Vec<AuthFact<'_>> = p
                    .auths
                    .iter()
                    .map(|a| {
                        let mut n = used(&p.charges, &a.id);
                        // The day's own charge does not compete with itself.
                        if own.is_some_and(|i| p.charges[i].authorization_id == a.id) {
                            n = n.saturating_sub(1);
                        }
                        AuthFact {
                            id: &a.id,
                            payer_id: &a.payer_id,
                            level: a.level_of_care,
                            approved: u32::try_from(a.units_approved).unwrap_or(0),
                            used: n,
                            from: a.from_date,
                            to: a.to_date,
                        }
                    })
                    .collect();
                rules::authorization(&facts, payer, level, date)
            }
            _ => Authorized::NotRequired,
        };
        let day_end = iop_care::calendar::last_second_of_day(date, tz);
        let consent = match &cover {
            Cover::Payer { payer_id, .. } => {
                rules::payment_consent(&p.consents, payer_id, day_end, now)
            }
            _ => None,
        };
        let facts = DayFacts {
            level,
            provider: rules_in_force.providers.contains_key(&facility),
            cover: cover.clone(),
            payer: payer.clone(),
            minutes: p.day_minutes(date, payer.as_ref()),
            week_days: p.week_days(date, payer.as_ref()),
            week_ended: today > rules::week_start(date) + Days::new(6),
            authorized: authorized.clone(),
            signed_note: p.notes.contains(&date),
            consent,
            restricted: p
                .restrictions
                .iter()
                .any(|r| r.from_date <= date && r.to_date.is_none_or(|t| date <= t)),
            diagnosis: p.diagnosis,
            filing_closed: payer
                .as_ref()
                .map(|payer| rules::filing_deadline(payer, date))
                .filter(|deadline| today > *deadline),
        };
        let mut holds: Vec<Hold> = Vec::new();
        if p.attendance.contains_key(&date) {
            let decision = rules::per_diem(&facts);
            let rate = level.and_then(|l| payer.as_ref().and_then(|p| p.per_diem.get(&l)));
            let line = match (&decision, rate) {
                (Decision::Bill, Some(rate)) => Some(Line {
                    kind: ChargeKind::PerDiem,
                    hcpcs: rate.hcpcs.clone(),
                    revenue_code: rate.revenue_code.clone(),
                    cents: rate.cents,
                    authorization_id: match &authorized {
                        Authorized::By(id) => id.clone(),
                        _ => String::new(),
                    },
                }),
                _ => None,
            };
            if let Decision::Hold(h) = &decision {
                holds.extend(h.iter().cloned());
            }
            let target = Target {
                date,
                facility: &facility,
                payer_id: &payer_id,
            };
            reconcile(work, &mut p, &target, own, line, &holds, &mut settled).await?;
        }
        if let Some(lab) = p.labs.get(&date).cloned() {
            let codes: Vec<String> = [lab.presumptive.clone(), lab.definitive.clone()]
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect();
            // Codes replaced by a later result leave.
            let stale: Vec<usize> = p
                .charges
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.service_date == date
                        && c.kind == ChargeKind::Lab as i32
                        && c.status == ChargeStatus::Open as i32
                        && !codes.contains(&c.hcpcs)
                })
                .map(|(i, _)| i)
                .collect();
            for i in stale {
                let why = vec![Hold {
                    reason: 0,
                    detail: "replaced by a later result".into(),
                }];
                void(work, &mut p, i, &why, &mut settled).await?;
            }
            for code in codes {
                let decision = rules::lab_line(&facts, &code);
                let line = match (&decision, payer.as_ref().and_then(|p| p.lab.get(&code))) {
                    (Decision::Bill, Some(cents)) => Some(Line {
                        kind: ChargeKind::Lab,
                        hcpcs: code.clone(),
                        revenue_code: "0300".into(),
                        cents: *cents,
                        authorization_id: String::new(),
                    }),
                    _ => None,
                };
                let mut lab_holds = Vec::new();
                if let Decision::Hold(h) = &decision {
                    for hold in h {
                        let mut hold = hold.clone();
                        hold.detail = format!("lab {code}: {}", hold.detail);
                        lab_holds.push(hold);
                    }
                }
                let own = p.live_charge(date, ChargeKind::Lab, Some(&code));
                let target = Target {
                    date,
                    facility: &facility,
                    payer_id: &payer_id,
                };
                reconcile(work, &mut p, &target, own, line, &lab_holds, &mut settled).await?;
                holds.extend(lab_holds);
            }
        }
        record_day(
            work,
            &mut p,
            date,
            &facility,
            &payer_id,
            facts.minutes,
            holds,
        )
        .await?;
    }
    warn_authorizations(work, &mut p, now).await?;
    Ok(settled)
}

/// A line the rules allow.
struct Line {
    kind: ChargeKind,
    hcpcs: String,
    revenue_code: String,
    cents: i64,
    authorization_id: String,
}

/// Where a line goes.
struct Target<'a> {
    date: NaiveDate,
    facility: &'a str,
    payer_id: &'a str,
}

/// Keeps, voids or makes the charge of one line of a day.
async fn reconcile(
    work: &mut UnitOfWork,
    p: &mut Patient,
    t: &Target<'_>,
    own: Option<usize>,
    line: Option<Line>,
    holds: &[Hold],
    settled: &mut Settled,
) -> Result<(), BillingError> {
    if let Some(i) = own {
        let c = &p.charges[i];
        if c.status == ChargeStatus::Claimed as i32 {
            return Ok(());
        }
        let same = line.as_ref().is_some_and(|l| {
            c.payer_id == t.payer_id && c.hcpcs == l.hcpcs && c.amount_cents == l.cents
        });
        if same {
            return Ok(());
        }
        let why = if holds.is_empty() {
            vec![Hold {
                reason: 0,
                detail: "the payer or rate changed".into(),
            }]
        } else {
            holds.to_vec()
        };
        void(work, p, i, &why, settled).await?;
    }
    let Some(line) = line else { return Ok(()) };
    let now = Utc::now();
    // One row per patient, date, payer and code, ever: a voided one is reopened.
    let again = p.charges.iter().position(|c| {
        c.service_date == t.date && c.payer_id == t.payer_id && c.hcpcs == line.hcpcs
    });
    let row = charge::Model {
        id: again.map_or_else(
            || uuid::Uuid::now_v7().to_string(),
            |i| p.charges[i].id.clone(),
        ),
        patient_id: p.id.clone(),
        facility_id: t.facility.to_owned(),
        payer_id: t.payer_id.to_owned(),
        service_date: t.date,
        kind: line.kind as i32,
        hcpcs: line.hcpcs.clone(),
        revenue_code: line.revenue_code.clone(),
        units: 1,
        amount_cents: line.cents,
        authorization_id: line.authorization_id.clone(),
        status: ChargeStatus::Open as i32,
        claim_id: String::new(),
        created_at: now,
    };
    store::put::<charge::Entity, _>(work.txn(), row.clone()).await?;
    let event = events::ChargeCreated {
        patient_id: p.id.clone(),
        charge_id: row.id.clone(),
        facility_id: row.facility_id.clone(),
        payer_id: row.payer_id.clone(),
        service_date: Some(wire::date(t.date)),
        kind: row.kind,
        hcpcs: row.hcpcs.clone(),
        revenue_code: row.revenue_code.clone(),
        units: 1,
        amount_cents: row.amount_cents,
        authorization_id: row.authorization_id.clone(),
        occurred_at: Some(wire::timestamp(now)),
    };
    work.emit(Stream::patient(&p.id), &event).await?;
    match again {
        Some(i) => p.charges[i] = row,
        None => p.charges.push(row),
    }
    settled.charged += 1;
    Ok(())
}

async fn void(
    work: &mut UnitOfWork,
    p: &mut Patient,
    i: usize,
    why: &[Hold],
    settled: &mut Settled,
) -> Result<(), BillingError> {
    let mut row = p.charges[i].clone();
    row.status = ChargeStatus::Void as i32;
    store::put::<charge::Entity, _>(work.txn(), row.clone()).await?;
    let event = events::ChargeVoided {
        patient_id: p.id.clone(),
        charge_id: row.id.clone(),
        service_date: Some(wire::date(row.service_date)),
        holds: why.to_vec(),
        occurred_at: Some(wire::timestamp(Utc::now())),
    };
    work.emit(Stream::patient(&p.id), &event).await?;
    p.charges[i] = row;
    settled.voided += 1;
    Ok(())
}

/// Stores the day's state; publishes `DayHeld` when its reasons changed.
async fn record_day(
    work: &mut UnitOfWork,
    p: &mut Patient,
    date: NaiveDate,
    facility: &str,
    payer_id: &str,
    minutes: u32,
    holds: Vec<Hold>,
) -> Result<(), BillingError> {
    let billed = p.charges.iter().any(|c| c.service_date == date && live(c));
    let status = if billed && p.attendance.contains_key(&date) {
        // The per-diem decides a day attended.
        if p.live_charge(date, ChargeKind::PerDiem, None).is_some() {
            DayStatus::Billed
        } else {
            DayStatus::Held
        }
    } else if billed {
        DayStatus::Billed
    } else {
        DayStatus::Held
    };
    let encoded = rules::encode_holds(&holds);
    let before = p.days.get(&date);
    let changed = before
        .is_none_or(|d| d.status != status as i32 || d.holds != encoded || d.payer_id != payer_id);
    if !changed {
        return Ok(());
    }
    let row = day::Model {
        patient_id: p.id.clone(),
        service_date: date,
        facility_id: facility.to_owned(),
        status: status as i32,
        holds: encoded,
        payer_id: payer_id.to_owned(),
        minutes: i32::try_from(minutes).unwrap_or(i32::MAX),
        updated_at: Utc::now(),
    };
    store::put::<day::Entity, _>(work.txn(), row.clone()).await?;
    if !holds.is_empty() {
        let event = events::DayHeld {
            patient_id: p.id.clone(),
            facility_id: facility.to_owned(),
            service_date: Some(wire::date(date)),
            payer_id: payer_id.to_owned(),
            holds,
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        work.emit(Stream::patient(&p.id), &event).await?;
    }
    p.days.insert(date, row);
    Ok(())
}

/// Publishes each authorization's warnings once, when they change.
async fn warn_authorizations(
    work: &mut UnitOfWork,
    p: &mut Patient,
    now: DateTime<Utc>,
) -> Result<(), BillingError> {
    for i in 0..p.auths.len() {
        let a = p.auths[i].clone();
        let tz = iop_consent::facilities::zone(work.txn(), &a.facility_id)
            .await?
            .unwrap_or(iop_consent::DEFAULT_ZONE);
        let today = iop_care::calendar::local(now, tz).date();
        if today > a.to_date {
            continue;
        }
        let n = used(&p.charges, &a.id);
        let w = warnings(&a, n, today);
        let text = w.join("; ");
        if text == a.warned {
            continue;
        }
        let mut row = a.clone();
        row.warned = text;
        store::put::<authorization::Entity, _>(work.txn(), row.clone()).await?;
        if !w.is_empty() {
            let event = events::AuthorizationRunningOut {
                patient_id: p.id.clone(),
                authorization_id: a.id.clone(),
                units_left: u32::try_from(a.units_approved)
                    .unwrap_or(0)
                    .saturating_sub(n),
                next_review_on: a.next_review_on.map(wire::date),
                warnings: w,
                occurred_at: Some(wire::timestamp(now)),
            };
            work.emit(Stream::patient(&p.id), &event).await?;
        }
        p.auths[i] = row;
    }
    Ok(())
}
