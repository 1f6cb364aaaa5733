//! The screening instruments, scored from their items (pure): PHQ-9, GAD-7,
//! AUDIT, AUDIT-C and DAST-10, each as data — item count, the values an item
//! may take, reversed items, bands, the positive-screen threshold (by sex
//! where the instrument has one) and the LOINC code of the total. A form is
//! scored only when complete: the first missing item is named.
//!
//! Bands (DOMAIN.md): PHQ-9 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19
//! moderately severe, 20-27 severe; GAD-7 0-4 minimal, 5-9 mild, 10-14
//! moderate, 15-21 severe; AUDIT WHO zones I (0-7), II (8-15), III (16-19),
//! IV (20-40); AUDIT-C positive at 4 or more for men, 3 or more for women
//! (and, conservatively, for any other or unknown sex); DAST-10 0 none, 1-2
//! low, 3-5 moderate, 6-8 substantial, 9-10 severe, item 3 ("able to stop
//! when you want to") reverse-scored. A PHQ-9 with item 9 above 0 is a
//! suicide risk whatever its total.

use iop_proto::{clinical::v1::Instrument, common::v1::Sex};

/// One instrument's scoring rules.
#[derive(Debug)]
pub struct Form {
    /// Which instrument.
    pub instrument: Instrument,
    /// Printed name.
    pub name: &'static str,
    /// Items, numbered 1..=items.
    pub items: u32,
    /// LOINC code of the total score.
    pub loinc: &'static str,
    /// Values item `n` (1-based) may take.
    allowed: fn(u32) -> &'static [u32],
    /// Items scored reversed (yes/no items: the answer 0 scores 1).
    reversed: &'static [u32],
    /// (lowest total, band), ascending.
    bands: &'static [(u32, &'static str)],
}

impl Form {
    /// The highest total the form can reach.
    pub fn max_total(&self) -> u32 {
        (1..=self.items)
            .map(|n| (self.allowed)(n).iter().copied().max().unwrap_or(0))
            .sum()
    }
}

const ZERO_TO_THREE: &[u32] = &[0, 1, 2, 3];
const ZERO_TO_FOUR: &[u32] = &[0, 1, 2, 3, 4];
const ZERO_TWO_FOUR: &[u32] = &[0, 2, 4];
const YES_NO: &[u32] = &[0, 1];

/// PHQ-9 (LOINC 44261-6).
pub const PHQ9: Form = Form {
    instrument: Instrument::Phq9,
    name: "PHQ-9",
    items: 9,
    loinc: "44261-6",
    allowed: |_| ZERO_TO_THREE,
    reversed: &[],
    bands: &[
        (0, "minimal"),
        (5, "mild"),
        (10, "moderate"),
        (15, "moderately severe"),
        (20, "severe"),
    ],
};

/// GAD-7 (LOINC 70274-6).
pub const GAD7: Form = Form {
    instrument: Instrument::Gad7,
    name: "GAD-7",
    items: 7,
    loinc: "70274-6",
    allowed: |_| ZERO_TO_THREE,
    reversed: &[],
    bands: &[
        (0, "minimal"),
        (5, "mild"),
        (10, "moderate"),
        (15, "severe"),
    ],
};

/// AUDIT (LOINC 75624-7): items 9 and 10 answer 0, 2 or 4.
pub const AUDIT: Form = Form {
    instrument: Instrument::Audit,
    name: "AUDIT",
    items: 10,
    loinc: "75624-7",
    allowed: |n| if n >= 9 { ZERO_TWO_FOUR } else { ZERO_TO_FOUR },
    reversed: &[],
    bands: &[
        (0, "zone I"),
        (8, "zone II"),
        (16, "zone III"),
        (20, "zone IV"),
    ],
};

/// AUDIT-C (LOINC 75626-2): positive by sex, see [`positive`].
pub const AUDIT_C: Form = Form {
    instrument: Instrument::AuditC,
    name: "AUDIT-C",
    items: 3,
    loinc: "75626-2",
    allowed: |_| ZERO_TO_FOUR,
    reversed: &[],
    bands: &[],
};

/// DAST-10 (LOINC 82667-7): yes = 1, no = 0; item 3 reversed.
pub const DAST10: Form = Form {
    instrument: Instrument::Dast10,
    name: "DAST-10",
    items: 10,
    loinc: "82667-7",
    allowed: |_| YES_NO,
    reversed: &[3],
    bands: &[
        (0, "none"),
        (1, "low"),
        (3, "moderate"),
        (6, "substantial"),
        (9, "severe"),
    ],
};

/// The form of `instrument`, if it is one.
pub fn form(instrument: Instrument) -> Option<&'static Form> {
    match instrument {
        Instrument::Phq9 => Some(&PHQ9),
        Instrument::Gad7 => Some(&GAD7),
        Instrument::Audit => Some(&AUDIT),
        Instrument::AuditC => Some(&AUDIT_C),
        Instrument::Dast10 => Some(&DAST10),
        Instrument::Unspecified => None,
    }
}

/// Why a form cannot be scored; each names the item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// An item was not answered.
    #[error("{form} item {item} is missing")]
    Missing {
        /// The form's name.
        form: &'static str,
        /// The item.
        item: u32,
    },
    /// An item number the form does not have.
    #[error("{form} has no item {item} (items 1 to {items})")]
    NoSuchItem {
        /// The form's name.
        form: &'static str,
        /// The item given.
        item: u32,
        /// How many it has.
        items: u32,
    },
    /// An item answered twice.
    #[error("{form} item {item} is answered twice")]
    Twice {
        /// The form's name.
        form: &'static str,
        /// The item.
        item: u32,
    },
    /// A value the item does not take.
    #[error("{form} item {item} cannot be {value} (allowed: {allowed:?})")]
    Value {
        /// The form's name.
        form: &'static str,
        /// The item.
        item: u32,
        /// The value given.
        value: u32,
        /// What it may be.
        allowed: &'static [u32],
    },
}

/// A scored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    /// The total.
    pub total: u32,
    /// The highest total the form can reach.
    pub max_total: u32,
    /// The band of the total ("positive"/"negative" for AUDIT-C).
    pub band: &'static str,
    /// A positive screen.
    pub positive: bool,
    /// PHQ-9 item 9 above 0.
    pub suicide_risk: bool,
}

/// Scores `responses` ((item, value), any order) of `form`, for a patient of
/// administrative sex `sex` (AUDIT-C's cut-off).
pub fn score(form: &Form, responses: &[(u32, u32)], sex: Sex) -> Result<Scored, FormError> {
    let mut values = vec![None; form.items as usize];
    for &(item, value) in responses {
        let slot = item
            .checked_sub(1)
            .and_then(|i| values.get_mut(i as usize))
            .ok_or(FormError::NoSuchItem {
                form: form.name,
                item,
                items: form.items,
            })?;
        if slot.is_some() {
            return Err(FormError::Twice {
                form: form.name,
                item,
            });
        }
        let allowed = (form.allowed)(item);
        if !allowed.contains(&value) {
            return Err(FormError::Value {
                form: form.name,
                item,
                value,
                allowed,
            });
        }
        *slot = Some(value);
    }
    let mut total = 0;
    for (i, v) in values.iter().enumerate() {
        let item = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1);
        let value = v.ok_or(FormError::Missing {
            form: form.name,
            item,
        })?;
        total += if form.reversed.contains(&item) {
            1 - value
        } else {
            value
        };
    }
    let max_total = form.max_total();
    let positive = positive(form, total, sex);
    let band = if form.instrument == Instrument::AuditC {
        if positive { "positive" } else { "negative" }
    } else {
        band(form, total)
    };
    let suicide_risk = form.instrument == Instrument::Phq9 && values[8].is_some_and(|v| v > 0);
    Ok(Scored {
        total,
        max_total,
        band,
        positive,
        suicide_risk,
    })
}

/// The band `total` falls in.
fn band(form: &Form, total: u32) -> &'static str {
    form.bands
        .iter()
        .rev()
        .find(|(from, _)| total >= *from)
        .map_or("", |(_, b)| b)
}

/// A positive screen: AUDIT-C at 4+ for men and 3+ otherwise; PHQ-9 and
/// GAD-7 from 10 (moderate); AUDIT from zone II (8); DAST-10 from moderate (3).
pub fn positive(form: &Form, total: u32, sex: Sex) -> bool {
    match form.instrument {
        Instrument::AuditC => total >= if sex == Sex::Male { 4 } else { 3 },
        Instrument::Phq9 | Instrument::Gad7 => total >= 10,
        Instrument::Audit => total >= 8,
        Instrument::Dast10 => total >= 3,
        Instrument::Unspecified => false,
    }
}

/// The rise over the previous score that counts as worse for `form`:
/// `points` for PHQ-9 and GAD-7, which are followed over time; 0 (never)
/// for the others.
pub fn worsening(form: &Form, points: u32) -> u32 {
    if matches!(form.instrument, Instrument::Phq9 | Instrument::Gad7) {
        points
    } else {
        0
    }
}

/// How a score compares with the patient's earlier ones of the same form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trend {
    /// The first score (the baseline).
    pub baseline: u32,
    /// The one before this.
    pub previous: u32,
    /// This minus the previous.
    pub since_previous: i32,
    /// Percentage drop from the baseline (negative when worse), rounded down.
    pub percent_drop: i32,
    /// At least a 50% drop from a baseline above 0 (PHQ-9, GAD-7).
    pub response: bool,
    /// Below 5 (PHQ-9, GAD-7).
    pub remission: bool,
    /// Up on the previous by at least `worsening` points.
    pub worsened: bool,
}

/// The trend of `total` after `earlier` totals (oldest first; none: no
/// trend); `worsening` is the rise that counts as worse.
pub fn trend(form: &Form, earlier: &[u32], total: u32, worsening: u32) -> Option<Trend> {
    let (&baseline, &previous) = (earlier.first()?, earlier.last()?);
    let depression_or_anxiety = matches!(form.instrument, Instrument::Phq9 | Instrument::Gad7);
    let drop = i64::from(baseline) - i64::from(total);
    let percent_drop = if baseline == 0 {
        0
    } else {
        i32::try_from((drop * 100).div_euclid(i64::from(baseline))).unwrap_or(0)
    };
    Some(Trend {
        baseline,
        previous,
        since_previous: i32::try_from(i64::from(total) - i64::from(previous)).unwrap_or(0),
        percent_drop,
        response: depression_or_anxiety && baseline > 0 && total * 2 <= baseline,
        remission: depression_or_anxiety && total < 5,
        worsened: worsening > 0 && total >= previous.saturating_add(worsening),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use rstest::rstest;

    use super::*;

    fn all(values: &[u32]) -> Vec<(u32, u32)> {
        (1..).zip(values.iter().copied()).collect()
    }

    #[rstest]
    // PHQ-9: every band edge.
    #[case(&PHQ9, &[0, 0, 0, 0, 0, 0, 0, 0, 0], 0, "minimal", false)]
    #[case(&PHQ9, &[1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal", false)]
    #[case(&PHQ9, &[1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild", false)]
    #[case(&PHQ9, &[1, 1, 1, 1, 1, 1, 1, 1, 1], 9, "mild", false)]
    #[case(&PHQ9, &[2, 2, 2, 2, 2, 0, 0, 0, 0], 10, "moderate", true)]
    #[case(&PHQ9, &[2, 2, 2, 2, 2, 2, 2, 0, 0], 14, "moderate", true)]
    #[case(&PHQ9, &[3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately severe", true)]
    #[case(&PHQ9, &[3, 3, 3, 3, 3, 3, 1, 0, 0], 19, "moderately severe", true)]
    #[case(&PHQ9, &[3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "severe", true)]
    #[case(&PHQ9, &[3, 3, 3, 3, 3, 3, 3, 3, 3], 27, "severe", true)]
    // GAD-7.
    #[case(&GAD7, &[1, 1, 1, 1, 0, 0, 0], 4, "minimal", false)]
    #[case(&GAD7, &[1, 1, 1, 1, 1, 0, 0], 5, "mild", false)]
    #[case(&GAD7, &[2, 2, 2, 2, 1, 0, 0], 9, "mild", false)]
    #[case(&GAD7, &[2, 2, 2, 2, 2, 0, 0], 10, "moderate", true)]
    #[case(&GAD7, &[3, 3, 3, 3, 2, 0, 0], 14, "moderate", true)]
    #[case(&GAD7, &[3, 3, 3, 3, 3, 0, 0], 15, "severe", true)]
    #[case(&GAD7, &[3, 3, 3, 3, 3, 3, 3], 21, "severe", true)]
    // AUDIT: zones; items 9 and 10 score 0, 2 or 4.
    #[case(&AUDIT, &[1, 1, 1, 1, 1, 1, 1, 0, 0, 0], 7, "zone I", false)]
    #[case(&AUDIT, &[1, 1, 1, 1, 1, 1, 0, 0, 2, 0], 8, "zone II", true)]
    #[case(&AUDIT, &[2, 2, 2, 2, 2, 1, 0, 0, 2, 2], 15, "zone II", true)]
    #[case(&AUDIT, &[2, 2, 2, 2, 2, 2, 0, 0, 2, 2], 16, "zone III", true)]
    #[case(&AUDIT, &[3, 3, 3, 2, 2, 2, 0, 0, 2, 2], 19, "zone III", true)]
    #[case(&AUDIT, &[3, 3, 3, 3, 2, 2, 0, 0, 2, 2], 20, "zone IV", true)]
    #[case(&AUDIT, &[4, 4, 4, 4, 4, 4, 4, 4, 4, 4], 40, "zone IV", true)]
    // DAST-10: item 3 reversed ("no" to "able to stop" scores 1).
    #[case(&DAST10, &[0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 0, "none", false)]
    #[case(&DAST10, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1, "low", false)]
    #[case(&DAST10, &[1, 0, 1, 0, 0, 0, 0, 0, 0, 0], 1, "low", false)]
    #[case(&DAST10, &[1, 1, 1, 0, 0, 0, 0, 0, 0, 0], 2, "low", false)]
    #[case(&DAST10, &[1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 3, "moderate", true)]
    #[case(&DAST10, &[1, 1, 0, 1, 1, 0, 0, 0, 0, 0], 5, "moderate", true)]
    #[case(&DAST10, &[1, 1, 0, 1, 1, 1, 0, 0, 0, 0], 6, "substantial", true)]
    #[case(&DAST10, &[1, 1, 1, 1, 1, 1, 1, 1, 1, 0], 8, "substantial", true)]
    #[case(&DAST10, &[1, 1, 0, 1, 1, 1, 1, 1, 1, 0], 9, "severe", true)]
    #[case(&DAST10, &[1, 1, 0, 1, 1, 1, 1, 1, 1, 1], 10, "severe", true)]
    fn scores_totals_and_bands(
        #[case] form: &Form,
        #[case] values: &[u32],
        #[case] total: u32,
        #[case] band: &str,
        #[case] positive: bool,
    ) {
        let s = score(form, &all(values), Sex::Female).unwrap();
        assert_eq!((s.total, s.band, s.positive), (total, band, positive));
    }

    #[rstest]
    #[case(Sex::Male, 3, "negative")]
    #[case(Sex::Male, 4, "positive")]
    #[case(Sex::Female, 2, "negative")]
    #[case(Sex::Female, 3, "positive")]
    // Other or unknown sex: the lower (women's) cut-off, the safer one.
    #[case(Sex::Other, 3, "positive")]
    #[case(Sex::Unknown, 3, "positive")]
    #[case(Sex::Unspecified, 2, "negative")]
    fn audit_c_cut_off_depends_on_sex(#[case] sex: Sex, #[case] total: u32, #[case] band: &str) {
        let values = [total.min(4), total.saturating_sub(4), 0];
        let s = score(&AUDIT_C, &all(&values), sex).unwrap();
        assert_eq!(s.total, total);
        assert_eq!(s.band, band);
        assert_eq!(s.positive, band == "positive");
    }

    #[test]
    fn phq9_item_9_is_a_risk_whatever_the_total() {
        let s = score(&PHQ9, &all(&[1, 1, 1, 0, 0, 0, 0, 0, 1]), Sex::Male).unwrap();
        assert_eq!((s.total, s.band, s.suicide_risk), (4, "minimal", true));
        let s = score(&PHQ9, &all(&[3, 3, 3, 3, 3, 3, 3, 3, 0]), Sex::Male).unwrap();
        assert_eq!((s.total, s.suicide_risk), (24, false));
        // Only PHQ-9 has the rule: GAD-7's items have no 9th.
        let s = score(&GAD7, &all(&[3, 3, 3, 3, 3, 3, 3]), Sex::Male).unwrap();
        assert!(!s.suicide_risk);
    }

    #[test]
    fn maxima_are_the_printed_ranges() {
        for (form, max) in [
            (&PHQ9, 27),
            (&GAD7, 21),
            (&AUDIT, 40),
            (&AUDIT_C, 12),
            (&DAST10, 10),
        ] {
            let values: Vec<u32> = (1..=form.items)
                .map(|n| (form.allowed)(n).iter().copied().max().unwrap())
                .collect();
            let s = score(form, &all(&values), Sex::Male).unwrap();
            assert_eq!(s.max_total, max, "{}", form.name);
            // DAST-10's maximum needs "no" on the reversed item.
            if form.reversed.is_empty() {
                assert_eq!(s.total, max, "{}", form.name);
            }
        }
    }

    #[test]
    fn incomplete_and_wrong_forms_are_refused_naming_the_item() {
        let eight = all(&[0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            score(&PHQ9, &eight, Sex::Male),
            Err(FormError::Missing {
                form: "PHQ-9",
                item: 9
            })
        );
        // A gap in the middle is named, not the count.
        let mut gap = all(&[0; 10]);
        gap.remove(4);
        assert_eq!(
            score(&AUDIT, &gap, Sex::Male),
            Err(FormError::Missing {
                form: "AUDIT",
                item: 5
            })
        );
        assert!(matches!(
            score(&GAD7, &all(&[0, 0, 0, 0, 0, 0, 0, 0]), Sex::Male),
            Err(FormError::NoSuchItem { item: 8, .. })
        ));
        assert!(matches!(
            score(&GAD7, &[(0, 0)], Sex::Male),
            Err(FormError::NoSuchItem { item: 0, .. })
        ));
        assert!(matches!(
            score(&PHQ9, &[(1, 4)], Sex::Male),
            Err(FormError::Value {
                item: 1,
                value: 4,
                ..
            })
        ));
        // AUDIT items 9 and 10 take 0, 2 or 4 only.
        let mut odd = all(&[0; 10]);
        odd[8] = (9, 1);
        assert!(matches!(
            score(&AUDIT, &odd, Sex::Male),
            Err(FormError::Value {
                item: 9,
                value: 1,
                ..
            })
        ));
        assert!(matches!(
            score(&DAST10, &[(1, 1), (1, 0)], Sex::Male),
            Err(FormError::Twice { item: 1, .. })
        ));
    }

    #[test]
    fn trend_reports_response_remission_and_worsening() {
        assert_eq!(trend(&PHQ9, &[], 12, 5), None);
        let t = trend(&PHQ9, &[20, 14], 10, 5).unwrap();
        assert_eq!((t.baseline, t.previous, t.since_previous), (20, 14, -4));
        assert_eq!(t.percent_drop, 50);
        assert!(t.response && !t.remission && !t.worsened);
        let t = trend(&PHQ9, &[20, 9], 4, 5).unwrap();
        assert!(t.response && t.remission);
        let t = trend(&PHQ9, &[8, 9], 14, 5).unwrap();
        assert!(t.worsened && !t.response);
        assert_eq!(t.percent_drop, -75);
        // One point short of the configured rise is not worse.
        assert!(!trend(&GAD7, &[6], 10, 5).unwrap().worsened);
        // AUDIT has no response/remission rule.
        let t = trend(&AUDIT, &[20], 4, 5).unwrap();
        assert!(!t.response && !t.remission);
    }
}
