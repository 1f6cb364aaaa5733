//! Whether a date of service may be billed, and if not every reason why:
//! pure functions over the facts billing holds for a patient's day (the
//! episode, attendance, coverage and its eligibility answer, authorizations,
//! the signed note, consents, restrictions, diagnoses). `store` gathers the
//! facts; `settle` acts on the answer.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use iop_consent::{Consent, Disclosure, Information, Purpose, RecipientClass};
use iop_proto::billing::v1::{Hold, HoldReason};

use crate::settings::{FilingFrom, Payer};

/// The coverage that pays for a day, as far as billing can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cover {
    /// A payer's coverage in effect.
    Payer {
        /// Coverage id.
        coverage_id: String,
        /// Payer id, upper-case.
        payer_id: String,
    },
    /// The payer answered it inactive for the day (271).
    Inactive {
        /// Payer id.
        payer_id: String,
    },
    /// Only self-pay in effect.
    SelfPay,
    /// Nothing in effect.
    None,
}

/// A coverage as the rule reads it.
#[derive(Debug, Clone)]
pub struct CoverageFact<'a> {
    /// Coverage id.
    pub coverage_id: &'a str,
    /// Self-pay.
    pub self_pay: bool,
    /// Payer id, upper-case.
    pub payer_id: String,
    /// In effect from.
    pub from: NaiveDate,
    /// Through (inclusive), open when none.
    pub to: Option<NaiveDate>,
    /// When admissions recorded it last.
    pub recorded_at: DateTime<Utc>,
    /// Date ranges the payer answered inactive.
    pub inactive: Vec<(NaiveDate, Option<NaiveDate>)>,
}

fn within(day: NaiveDate, from: NaiveDate, to: Option<NaiveDate>) -> bool {
    from <= day && to.is_none_or(|t| day <= t)
}

/// Which coverage pays for `day`: of those in effect, a payer's before
/// self-pay, the most recently effective first (then the latest recorded);
/// answered inactive for the day, it pays nothing.
pub fn cover(coverages: &[CoverageFact<'_>], day: NaiveDate) -> Cover {
    let mut in_effect: Vec<&CoverageFact<'_>> = coverages
        .iter()
        .filter(|c| within(day, c.from, c.to))
        .collect();
    in_effect.sort_by_key(|c| std::cmp::Reverse((!c.self_pay, c.from, c.recorded_at)));
    match in_effect.first() {
        None => Cover::None,
        Some(c) if c.self_pay => Cover::SelfPay,
        Some(c) if c.inactive.iter().any(|(f, t)| within(day, *f, *t)) => Cover::Inactive {
            payer_id: c.payer_id.clone(),
        },
        Some(c) => Cover::Payer {
            coverage_id: c.coverage_id.to_owned(),
            payer_id: c.payer_id.clone(),
        },
    }
}

/// An authorization as the rule reads it.
#[derive(Debug, Clone)]
pub struct AuthFact<'a> {
    /// Id.
    pub id: &'a str,
    /// Payer id, upper-case.
    pub payer_id: &'a str,
    /// `LevelOfCare` value.
    pub level: i32,
    /// Days approved.
    pub approved: u32,
    /// Days used by live charges (other than the one being judged).
    pub used: u32,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

/// What the authorizations say of a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorized {
    /// The payer needs none.
    NotRequired,
    /// This one has a unit left.
    By(String),
    /// Some cover the day and level, with no unit left.
    Exhausted(String),
    /// None covers the day at this level.
    Missing(String),
}

/// The authorization a day at `level` with `payer` is charged to: the one
/// ending first among those with a unit left.
pub fn authorization(
    auths: &[AuthFact<'_>],
    payer: &Payer,
    level: i32,
    day: NaiveDate,
) -> Authorized {
    if !payer.authorization_required {
        return Authorized::NotRequired;
    }
    let mut fitting: Vec<&AuthFact<'_>> = auths
        .iter()
        .filter(|a| a.payer_id == payer.id && a.level == level && within(day, a.from, Some(a.to)))
        .collect();
    fitting.sort_by_key(|a| (a.to, a.id));
    if let Some(a) = fitting.iter().find(|a| a.used < a.approved) {
        return Authorized::By(a.id.to_owned());
    }
    if let Some(a) = fitting.first() {
        return Authorized::Exhausted(format!("authorization {} has no day left", a.id));
    }
    let other = auths
        .iter()
        .any(|a| a.payer_id == payer.id && within(day, a.from, Some(a.to)));
    Authorized::Missing(if other {
        "the authorization in force is for another level of care: a new one is needed".into()
    } else {
        "no authorization covers the day".into()
    })
}

/// Whether a Part 2 consent lets billing disclose a day of service that
/// ended at `day_end` to `payer_id` now: one covering payment to that
/// health plan in force now, or in force through the service and revoked
/// after it (the program relied on it when it delivered the service).
pub fn payment_consent(
    consents: &[Consent],
    payer_id: &str,
    day_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<String> {
    let asked = |at| Disclosure {
        recipient_id: payer_id,
        recipient_class: Some(RecipientClass::HealthPlans),
        purpose: &Purpose::Payment,
        information: Information::Billing,
        at,
    };
    consents
        .iter()
        .find(|c| c.covers(&asked(now)))
        .or_else(|| {
            consents
                .iter()
                .find(|c| c.revoked_at.is_some_and(|r| r > day_end) && c.covers(&asked(day_end)))
        })
        .map(|c| c.id.clone())
}

/// The last day a claim for `day` may be filed with `payer`.
pub fn filing_deadline(payer: &Payer, day: NaiveDate) -> NaiveDate {
    let n = payer.timely_filing_months;
    match payer.filing_from {
        FilingFrom::Service => day
            .checked_add_months(Months::new(n))
            .unwrap_or(NaiveDate::MAX),
        FilingFrom::MonthOfService => {
            let first = day.with_day(1).unwrap_or(day);
            first
                .checked_add_months(Months::new(n + 1))
                .and_then(|d| d.checked_sub_days(Days::new(1)))
                .unwrap_or(NaiveDate::MAX)
        }
    }
}

/// Why a coverage is due an eligibility check on `today`, if it is: never
/// answered, changed (recorded again) since its last answer, or last answered
/// in an earlier month or `every_days` ago or more (monthly re-verification).
/// `last` is the last answer's instant and its facility-local day.
pub fn eligibility_due(
    last: Option<(DateTime<Utc>, NaiveDate)>,
    recorded_at: DateTime<Utc>,
    today: NaiveDate,
    every_days: u32,
) -> Option<&'static str> {
    match last {
        None => Some("never checked"),
        Some((at, _)) if at < recorded_at => Some("coverage changed"),
        Some((_, day)) => {
            let stale = (today - day).num_days() >= i64::from(every_days);
            let earlier_month = (day.year(), day.month()) != (today.year(), today.month());
            (stale || earlier_month).then_some("monthly")
        }
    }
}

/// The Monday of `day`'s week.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// Everything the per-diem rule reads of one day.
#[derive(Debug, Clone)]
pub struct DayFacts {
    /// The level of the active episode that day, if any.
    pub level: Option<i32>,
    /// The facility bills under a provider.
    pub provider: bool,
    /// Who pays.
    pub cover: Cover,
    /// The payer's rules, when the cover's payer is configured.
    pub payer: Option<Payer>,
    /// Clinical minutes that day, of the session types the payer counts.
    pub minutes: u32,
    /// Days of that week reaching the payer's minutes (this one included).
    pub week_days: u32,
    /// The week is over at the facility.
    pub week_ended: bool,
    /// The authorization answer.
    pub authorized: Authorized,
    /// A note for the day is signed.
    pub signed_note: bool,
    /// The consent relied on, if any.
    pub consent: Option<String>,
    /// A restriction covers the day.
    pub restricted: bool,
    /// A substance-use diagnosis is known.
    pub diagnosis: bool,
    /// The payer's timely filing limit, when it has passed.
    pub filing_closed: Option<NaiveDate>,
}

/// What to do with a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Charge it.
    Bill,
    /// Hold it, for these reasons (never empty).
    Hold(Vec<Hold>),
}

fn hold(reason: HoldReason, detail: impl Into<String>) -> Hold {
    Hold {
        reason: reason as i32,
        detail: detail.into(),
    }
}

/// The per-diem decision for a day: every rule that fails is named.
pub fn per_diem(f: &DayFacts) -> Decision {
    let mut holds = Vec::new();
    match f.level {
        None => holds.push(hold(HoldReason::NoEpisode, "no active episode that day")),
        Some(level) => {
            if let Some(p) = &f.payer
                && !p.per_diem.contains_key(&level)
            {
                holds.push(hold(
                    HoldReason::LevelNotBillable,
                    format!("{} has no per-diem for this level of care", p.name),
                ));
            }
        }
    }
    if !f.provider {
        holds.push(hold(
            HoldReason::NoBillingProvider,
            "the facility has no billing provider",
        ));
    }
    common_holds(f, &mut holds);
    if let Some(p) = &f.payer {
        let rule = p.day_rule;
        if f.minutes < rule.minutes_per_day {
            holds.push(hold(
                HoldReason::MinutesBelowMinimum,
                format!("{} of {} clinical minutes", f.minutes, rule.minutes_per_day),
            ));
        }
        if f.week_days < rule.days {
            let state = if f.week_ended {
                "week ended"
            } else {
                "week open"
            };
            holds.push(hold(
                HoldReason::WeekBelowMinimum,
                format!("{} of {} billable days ({state})", f.week_days, rule.days),
            ));
        }
    }
    match &f.authorized {
        Authorized::NotRequired | Authorized::By(_) => {}
        Authorized::Exhausted(why) => holds.push(hold(HoldReason::AuthorizationExhausted, why)),
        Authorized::Missing(why) => holds.push(hold(HoldReason::NoAuthorization, why)),
    }
    if !f.signed_note {
        holds.push(hold(HoldReason::NoSignedNote, "no signed note for the day"));
    }
    if holds.is_empty() {
        Decision::Bill
    } else {
        Decision::Hold(holds)
    }
}

/// The decision for a lab line of a day: coverage, consent, restriction,
/// diagnosis and an episode, not the day's minutes or authorization.
pub fn lab_line(f: &DayFacts, code: &str) -> Decision {
    let mut holds = Vec::new();
    if f.level.is_none() {
        holds.push(hold(HoldReason::NoEpisode, "no active episode that day"));
    }
    if !f.provider {
        holds.push(hold(
            HoldReason::NoBillingProvider,
            "the facility has no billing provider",
        ));
    }
    common_holds(f, &mut holds);
    if let Some(p) = &f.payer
        && !p.lab.contains_key(code)
    {
        holds.push(hold(
            HoldReason::PayerNotConfigured,
            format!("{} has no fee for {code}", p.name),
        ));
    }
    if holds.is_empty() {
        Decision::Bill
    } else {
        Decision::Hold(holds)
    }
}

/// Coverage, payer, consent, restriction and diagnosis: the rules every line shares.
fn common_holds(f: &DayFacts, holds: &mut Vec<Hold>) {
    match &f.cover {
        Cover::None => holds.push(hold(HoldReason::NoCoverage, "no coverage in effect")),
        Cover::SelfPay => holds.push(hold(HoldReason::SelfPay, "self-pay")),
        Cover::Inactive { payer_id } => holds.push(hold(
            HoldReason::CoverageInactive,
            format!("{payer_id} answered the coverage inactive"),
        )),
        Cover::Payer { payer_id, .. } => {
            if f.payer.is_none() {
                holds.push(hold(
                    HoldReason::PayerNotConfigured,
                    format!("payer {payer_id} is not configured"),
                ));
            } else if f.consent.is_none() {
                holds.push(hold(
                    HoldReason::NoPaymentConsent,
                    format!("no Part 2 consent covers payment to {payer_id}"),
                ));
            }
        }
    }
    if f.restricted {
        holds.push(hold(
            HoldReason::Restricted,
            "the patient restricted disclosure to the plan",
        ));
    }
    if !f.diagnosis {
        holds.push(hold(
            HoldReason::NoDiagnosis,
            "no F10-F19 diagnosis from clinical",
        ));
    }
    if let Some(deadline) = f.filing_closed {
        holds.push(hold(
            HoldReason::TimelyFiling,
            format!("the payer's filing limit passed on {deadline}"),
        ));
    }
}

/// Holds as stored: `REASON=detail`, one per line.
pub fn encode_holds(holds: &[Hold]) -> String {
    holds
        .iter()
        .map(|h| {
            let name = HoldReason::try_from(h.reason)
                .unwrap_or_default()
                .as_str_name()
                .trim_start_matches("HOLD_REASON_")
                .to_owned();
            format!("{name}={}", h.detail.replace('\n', " "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Holds as stored, read back.
pub fn decode_holds(text: &str) -> Vec<Hold> {
    text.lines()
        .filter_map(|l| {
            let (name, detail) = l.split_once('=')?;
            let reason = HoldReason::from_str_name(&format!("HOLD_REASON_{name}"))?;
            Some(hold(reason, detail))
        })
        .collect()
}

#[cfg(test)]
mod tests;
