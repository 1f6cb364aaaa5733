#![allow(clippy::unwrap_used, reason = "tests")]

use chrono::TimeZone;
use iop_consent::{Expiry, Recipient};
use iop_proto::common::v1::LevelOfCare;
use rstest::rstest;

use super::*;
use crate::settings::{BillingSettings, KEY, SECTION};

const IOP: i32 = LevelOfCare::LevelOfCare21IntensiveOutpatient as i32;
const PHP: i32 = LevelOfCare::LevelOfCare25PartialHospitalization as i32;

fn payer(id: &str) -> Payer {
    let s: BillingSettings = iop_runtime::Settings::defaults(&[SECTION])
        .unwrap()
        .section(KEY)
        .unwrap();
    s.rules(true).unwrap().payer(id).unwrap().clone()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A day that bills: every fact in place (Medi-Cal, which needs an authorization).
fn good() -> DayFacts {
    DayFacts {
        level: Some(IOP),
        provider: true,
        cover: Cover::Payer {
            coverage_id: "cov-1".into(),
            payer_id: "MCDMC".into(),
        },
        payer: Some(payer("MCDMC")),
        minutes: 180,
        week_days: 3,
        week_ended: true,
        authorized: Authorized::By("auth-1".into()),
        signed_note: true,
        consent: Some("consent-1".into()),
        restricted: false,
        diagnosis: true,
        filing_closed: None,
    }
}

type Break = fn(&mut DayFacts);

#[rstest]
#[case::no_episode((|f| f.level = None) as Break, HoldReason::NoEpisode)]
#[case::level_without_per_diem((|f| f.level = Some(PHP)) as Break, HoldReason::LevelNotBillable)]
#[case::no_provider((|f| f.provider = false) as Break, HoldReason::NoBillingProvider)]
#[case::short_day((|f| f.minutes = 179) as Break, HoldReason::MinutesBelowMinimum)]
#[case::two_day_week((|f| f.week_days = 2) as Break, HoldReason::WeekBelowMinimum)]
#[case::no_coverage((|f| { f.cover = Cover::None; }) as Break, HoldReason::NoCoverage)]
#[case::self_pay((|f| { f.cover = Cover::SelfPay; }) as Break, HoldReason::SelfPay)]
#[case::inactive((|f| f.cover = Cover::Inactive { payer_id: "MCDMC".into() }) as Break, HoldReason::CoverageInactive)]
#[case::payer_unknown((|f| f.payer = None) as Break, HoldReason::PayerNotConfigured)]
#[case::no_authorization((|f| f.authorized = Authorized::Missing("none".into())) as Break, HoldReason::NoAuthorization)]
#[case::authorization_used_up((|f| f.authorized = Authorized::Exhausted("used".into())) as Break, HoldReason::AuthorizationExhausted)]
#[case::unsigned((|f| f.signed_note = false) as Break, HoldReason::NoSignedNote)]
#[case::no_consent((|f| f.consent = None) as Break, HoldReason::NoPaymentConsent)]
#[case::restricted((|f| f.restricted = true) as Break, HoldReason::Restricted)]
#[case::no_diagnosis((|f| f.diagnosis = false) as Break, HoldReason::NoDiagnosis)]
#[case::too_late((|f| f.filing_closed = Some(day(2026, 5, 31))) as Break, HoldReason::TimelyFiling)]
fn each_reason_alone_holds_the_day(#[case] break_it: Break, #[case] reason: HoldReason) {
    assert_eq!(per_diem(&good()), Decision::Bill);
    let mut f = good();
    break_it(&mut f);
    let Decision::Hold(holds) = per_diem(&f) else {
        panic!("{reason:?} alone must hold the day");
    };
    let reasons: Vec<i32> = holds.iter().map(|h| h.reason).collect();
    assert_eq!(reasons, vec![reason as i32], "{holds:?}");
    assert!(!holds[0].detail.is_empty());
}

#[test]
fn every_failing_rule_is_named_at_once() {
    let mut f = good();
    f.minutes = 120;
    f.signed_note = false;
    f.consent = None;
    let Decision::Hold(holds) = per_diem(&f) else {
        panic!()
    };
    let reasons: Vec<i32> = holds.iter().map(|h| h.reason).collect();
    assert_eq!(
        reasons,
        vec![
            HoldReason::NoPaymentConsent as i32,
            HoldReason::MinutesBelowMinimum as i32,
            HoldReason::NoSignedNote as i32
        ]
    );
    assert_eq!(holds[1].detail, "120 of 180 clinical minutes");
    assert_eq!(decode_holds(&encode_holds(&holds)), holds);
}

#[test]
fn an_open_week_says_so() {
    let mut f = good();
    f.week_days = 2;
    f.week_ended = false;
    let Decision::Hold(holds) = per_diem(&f) else {
        panic!()
    };
    assert_eq!(holds[0].detail, "2 of 3 billable days (week open)");
}

#[test]
fn lab_lines_need_coverage_consent_and_a_fee_not_the_days_minutes() {
    let mut f = good();
    f.minutes = 0;
    f.week_days = 0;
    f.signed_note = false;
    f.authorized = Authorized::Missing("none".into());
    assert_eq!(lab_line(&f, "80305"), Decision::Bill);
    let Decision::Hold(holds) = lab_line(&f, "G0483") else {
        panic!()
    };
    assert_eq!(holds[0].reason, HoldReason::PayerNotConfigured as i32);
    f.consent = None;
    let Decision::Hold(holds) = lab_line(&f, "80305") else {
        panic!()
    };
    assert_eq!(holds[0].reason, HoldReason::NoPaymentConsent as i32);
}

fn coverage<'a>(
    id: &'a str,
    self_pay: bool,
    from: NaiveDate,
    to: Option<NaiveDate>,
) -> CoverageFact<'a> {
    CoverageFact {
        coverage_id: id,
        self_pay,
        payer_id: if self_pay {
            String::new()
        } else {
            "MCDMC".into()
        },
        from,
        to,
        recorded_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        inactive: vec![],
    }
}

#[test]
fn the_payer_in_effect_pays_and_an_inactive_answer_holds() {
    let mut plan = coverage("plan", false, day(2026, 11, 1), Some(day(2026, 11, 30)));
    let cash = coverage("cash", true, day(2026, 10, 1), None);
    assert_eq!(
        cover(std::slice::from_ref(&cash), day(2026, 11, 5)),
        Cover::SelfPay
    );
    assert_eq!(
        cover(&[cash.clone(), plan.clone()], day(2026, 11, 5)),
        Cover::Payer {
            coverage_id: "plan".into(),
            payer_id: "MCDMC".into()
        }
    );
    assert_eq!(
        cover(&[cash.clone(), plan.clone()], day(2026, 12, 1)),
        Cover::SelfPay
    );
    assert_eq!(cover(&[plan.clone()], day(2026, 10, 31)), Cover::None);
    plan.inactive.push((day(2026, 11, 10), None));
    assert_eq!(
        cover(&[plan.clone()], day(2026, 11, 9)),
        Cover::Payer {
            coverage_id: "plan".into(),
            payer_id: "MCDMC".into()
        }
    );
    assert_eq!(
        cover(&[plan], day(2026, 11, 10)),
        Cover::Inactive {
            payer_id: "MCDMC".into()
        }
    );
}

#[test]
fn authorizations_count_units_and_levels() {
    let medi_cal = payer("MCDMC");
    let a = AuthFact {
        id: "a",
        payer_id: "MCDMC",
        level: IOP,
        approved: 2,
        used: 1,
        from: day(2026, 11, 1),
        to: day(2026, 11, 30),
    };
    assert_eq!(
        authorization(std::slice::from_ref(&a), &medi_cal, IOP, day(2026, 11, 3)),
        Authorized::By("a".into())
    );
    let used = AuthFact {
        used: 2,
        ..a.clone()
    };
    assert!(matches!(
        authorization(&[used], &medi_cal, IOP, day(2026, 11, 3)),
        Authorized::Exhausted(_)
    ));
    let Authorized::Missing(why) =
        authorization(std::slice::from_ref(&a), &medi_cal, PHP, day(2026, 11, 3))
    else {
        panic!()
    };
    assert!(why.contains("another level"), "{why}");
    assert!(matches!(
        authorization(std::slice::from_ref(&a), &medi_cal, IOP, day(2026, 12, 1)),
        Authorized::Missing(_)
    ));
    assert_eq!(
        authorization(&[], &payer("01112"), IOP, day(2026, 12, 1)),
        Authorized::NotRequired
    );
}

fn consent(revoked_at: Option<DateTime<Utc>>) -> Consent {
    Consent {
        id: "c-1".into(),
        patient_id: "p".into(),
        disclosing_party: "oakland".into(),
        information: vec![Information::Billing],
        recipients: vec![Recipient::Class(RecipientClass::HealthPlans)],
        purposes: vec![Purpose::Payment],
        expiry: Expiry::On(day(2099, 1, 1)),
        signed_by: "the patient".into(),
        signed_on: day(2026, 10, 1),
        revoked_at,
        expiry_event_at: None,
        zone: iop_consent::DEFAULT_ZONE,
    }
}

#[test]
fn a_revocation_stops_later_days_not_earlier_ones() {
    let at = |d| Utc.with_ymd_and_hms(2026, 11, d, 20, 0, 0).unwrap();
    let now = at(20);
    assert_eq!(
        payment_consent(&[consent(None)], "MCDMC", at(3), now).as_deref(),
        Some("c-1")
    );
    let revoked = consent(Some(at(10)));
    assert_eq!(
        payment_consent(std::slice::from_ref(&revoked), "MCDMC", at(3), now).as_deref(),
        Some("c-1"),
        "reliance"
    );
    assert_eq!(payment_consent(&[revoked], "MCDMC", at(12), now), None);
    let mut treatment_only = consent(None);
    treatment_only.purposes = vec![Purpose::Treatment];
    assert_eq!(
        payment_consent(&[treatment_only], "MCDMC", at(3), now),
        None
    );
}

#[test]
fn eligibility_is_due_when_never_checked_changed_or_a_month_old() {
    let at = |d| Utc.with_ymd_and_hms(2026, 11, d, 18, 0, 0).unwrap();
    let recorded = at(2);
    assert_eq!(
        eligibility_due(None, recorded, day(2026, 11, 20), 30),
        Some("never checked")
    );
    assert_eq!(
        eligibility_due(
            Some((at(1), day(2026, 11, 1))),
            recorded,
            day(2026, 11, 20),
            30
        ),
        Some("coverage changed")
    );
    assert_eq!(
        eligibility_due(
            Some((at(3), day(2026, 11, 3))),
            recorded,
            day(2026, 11, 20),
            30
        ),
        None
    );
    assert_eq!(
        eligibility_due(
            Some((at(3), day(2026, 11, 3))),
            recorded,
            day(2026, 12, 1),
            30
        ),
        Some("monthly"),
        "a new month"
    );
    assert_eq!(
        eligibility_due(
            Some((at(3), day(2026, 11, 3))),
            recorded,
            day(2026, 11, 20),
            10
        ),
        Some("monthly"),
        "older than every_days"
    );
}

#[test]
fn timely_filing_counts_from_the_service_or_its_month() {
    assert_eq!(
        filing_deadline(&payer("01112"), day(2026, 1, 15)),
        day(2027, 1, 15)
    );
    assert_eq!(
        filing_deadline(&payer("MCDMC"), day(2026, 1, 15)),
        day(2026, 7, 31)
    );
    assert_eq!(
        filing_deadline(&payer("MCDMC"), day(2026, 8, 31)),
        day(2027, 2, 28)
    );
    assert_eq!(week_start(day(2026, 11, 29)), day(2026, 11, 23));
}
