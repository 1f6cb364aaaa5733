//! Level-of-care placement: from an assessment (the six ASAM dimensions, the
//! program's IOP suitability factors, withdrawal scale scores) to a recommended
//! ASAM level of care and, as a separate output, the withdrawal management (WM)
//! the patient needs, with every input that drove or informs them named in a
//! reason, and the clinician override that may replace the level. Pure and
//! versioned: a recommendation records the rules version, taxonomy edition and
//! thresholds it was made with, so it can be audited later. Changing a rule
//! means a new [`PLACEMENT_RULES_VERSION`], never an edit in place; stored
//! recommendations of earlier versions stay readable as recorded.
//!
//! The rules (`asam3-iop-v2`) are the decision table of DOMAIN "Placement
//! rules", one row an input, the most intensive level any rule demands wins:
//!
//! | input | 0–1 | 2 | 3 | 4 |
//! |---|---|---|---|---|
//! | D1 withdrawal | – | 1-WM | 3.7-WM (level 3.7) | 4-WM (level 4) |
//! | D2 biomedical | – | 2.1 | 3.7 | 4 |
//! | D3 emotional | – | 2.1 | 2.5 | 4 |
//! | D4 readiness | – | 2.1 | 2.1 | 2.1 |
//! | D5 relapse | 1 | 2.1 | 2.5 | 3.5 if D6 ≥ 2, else 2.5 |
//! | D6 environment | – | 2.1 | 3.1 | 3.5 |
//!
//! All dimensions 0–1 → level 1. CIWA-Ar: below moderate 1-WM (when above 0),
//! moderate 2-WM, severe 3.7-WM, severe with biomedical complications (D2 ≥ 3)
//! 4-WM. COWS: mild 1-WM, moderate 2-WM (outpatient buprenorphine induction),
//! moderately severe 3.7-WM, severe 4-WM. A detox need asks for at least 2-WM;
//! 24/7 psychiatric need → 4; an unsafe home counts as D6 = 4 (3.5). Severity,
//! commitments, motivation, payment and transportation inform the plan and the
//! track, never the level.

use Wm::{
    WithdrawalManagement1Wm as Wm1, WithdrawalManagement2Wm as Wm2, WithdrawalManagement4Wm as Wm4,
    WithdrawalManagement37Wm as Wm37,
};
use iop_proto::common::v1::LevelOfCare::{
    self, LevelOfCare1Outpatient as L1, LevelOfCare4Inpatient as L4,
    LevelOfCare21IntensiveOutpatient as L21, LevelOfCare25PartialHospitalization as L25,
    LevelOfCare31Residential as L31, LevelOfCare35Residential as L35,
    LevelOfCare37Residential as L37,
};
pub use iop_proto::common::v1::{OverrideReason, WithdrawalManagement as Wm};

/// Version of the rules below; recorded on every recommendation.
pub const PLACEMENT_RULES_VERSION: &str = "asam3-iop-v2";
/// Edition of the level taxonomy placed into (ASAM Criteria, 3rd edition).
pub const TAXONOMY_EDITION: &str = "asam-3";
/// Shortest override justification, in characters after trimming.
pub const MIN_JUSTIFICATION_CHARS: usize = 20;

/// The six ASAM dimension ratings, each 0 (no risk) to 4 (severe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dimensions {
    /// 1: acute intoxication and withdrawal potential.
    pub d1_withdrawal: u8,
    /// 2: biomedical conditions and complications.
    pub d2_biomedical: u8,
    /// 3: emotional, behavioral or cognitive conditions.
    pub d3_emotional: u8,
    /// 4: readiness to change.
    pub d4_readiness: u8,
    /// 5: relapse or continued-use potential.
    pub d5_relapse: u8,
    /// 6: recovery/living environment.
    pub d6_recovery_environment: u8,
}

/// Severity of the substance use disorder (mild to moderate suits IOP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the program's own terms")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

/// Stability and safety at home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the program's own terms")]
pub enum Home {
    Stable,
    UnstableButSafe,
    UnsafeOrTriggersUse,
}

/// Work or school commitments, by time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the program's own terms")]
pub enum Commitments {
    None,
    Daytime,
    Evening,
}

/// Motivation and self-discipline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the program's own terms")]
pub enum Motivation {
    Low,
    Moderate,
    High,
}

/// Insurance and budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the program's own terms")]
pub enum Payment {
    Insured,
    SelfPayAble,
    NoMeansToPay,
}

/// Transportation to sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the program's own terms")]
pub enum Transportation {
    Reliable,
    Unreliable,
    None,
}

/// Age group; sets the weekly hours band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the program's own terms")]
pub enum AgeGroup {
    Adult,
    Adolescent,
}

/// IOP session track (`Either`: day or evening).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the program's own terms")]
pub enum Track {
    Day,
    Evening,
    Either,
}

/// Medical or psychiatric needs; either rules out IOP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MedicalNeeds {
    /// Needs medically managed withdrawal (detox).
    pub needs_detox: bool,
    /// Needs 24/7 psychiatric care.
    pub needs_psychiatric_24h: bool,
}

/// The program's IOP suitability factors; every one is explained in the reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "each field is documented by its type")]
pub struct Suitability {
    pub severity: Severity,
    pub home: Home,
    pub commitments: Commitments,
    pub motivation: Motivation,
    pub payment: Payment,
    pub medical: MedicalNeeds,
    pub transportation: Transportation,
}

/// Withdrawal scale scores, when scored: CIWA-Ar (alcohol) 0–67, COWS (opioids) 0–48.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs, reason = "documented above")]
pub struct Withdrawal {
    pub ciwa_ar: Option<u8>,
    pub cows: Option<u8>,
}

/// Everything a placement is decided from; [`recommend`] rejects out-of-range values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "each field is documented by its type")]
pub struct PlacementInput {
    pub dimensions: Dimensions,
    pub suitability: Suitability,
    pub withdrawal: Withdrawal,
    /// Co-occurring mental health and substance use disorders.
    pub dual_diagnosis: bool,
    pub age_group: AgeGroup,
}

/// Withdrawal scale cut-offs, each "at or above". The defaults are common
/// protocol values (DOMAIN "Placement rules"); they are recorded with every
/// recommendation. The dimension table itself changes only with
/// [`PLACEMENT_RULES_VERSION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "named as in the scales' own bands")]
pub struct PlacementThresholds {
    pub ciwa_ar_moderate: u8,
    pub ciwa_ar_severe: u8,
    pub cows_mild: u8,
    pub cows_moderate: u8,
    pub cows_moderately_severe: u8,
    pub cows_severe: u8,
}

impl Default for PlacementThresholds {
    fn default() -> Self {
        Self {
            ciwa_ar_moderate: 10,
            ciwa_ar_severe: 20,
            cows_mild: 5,
            cows_moderate: 13,
            cows_moderately_severe: 25,
            cows_severe: 37,
        }
    }
}

/// What a reason did to the placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Set the recommended level of care or withdrawal management.
    Determining,
    /// Informs the plan; did not set an output (it may indicate a lower one).
    Advisory,
    /// Advisory, and a risk to engagement the plan should address.
    Risk,
}

/// One input and what it meant for the placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Field path of the input in `iop.common.v1.AssessmentInput`
    /// (`suitability.home`, `withdrawal.ciwa_ar`).
    pub input: &'static str,
    /// The level this input alone indicates, if any.
    pub indicates: Option<LevelOfCare>,
    /// The withdrawal management this input alone indicates, if any.
    pub indicates_wm: Option<Wm>,
    /// Whether it set an output.
    pub role: Role,
    /// Plain explanation for clinician and patient.
    pub explanation: String,
}

pub use iop_care::WeeklyHoursBand;

/// A placement recommendation and what it was derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    /// Recommended level of care.
    pub level: LevelOfCare,
    /// Withdrawal management, beside the level.
    pub withdrawal_management: Wm,
    /// [`PLACEMENT_RULES_VERSION`].
    pub rules_version: &'static str,
    /// [`TAXONOMY_EDITION`].
    pub taxonomy: &'static str,
    /// Thresholds applied.
    pub thresholds: PlacementThresholds,
    /// Level 2.1, intensive outpatient.
    pub is_iop: bool,
    /// Weekly clinical hours band of the level for the age group.
    pub weekly_hours: Option<WeeklyHoursBand>,
    /// Suggested track, when IOP.
    pub track: Option<Track>,
    /// Every input that drove or informs the decision.
    pub reasons: Vec<Reason>,
}

/// Inputs whose risk is medical: a level they set is lowered only by the
/// medical director.
pub const MEDICAL_INPUTS: [&str; 5] = [
    "dimensions.d1_withdrawal",
    "dimensions.d2_biomedical",
    "withdrawal.ciwa_ar",
    "withdrawal.cows",
    "suitability.needs_detox",
];

impl Recommendation {
    /// Whether withdrawal or biomedical risk set the level (a determining
    /// reason of [`MEDICAL_INPUTS`]).
    pub fn medically_driven(&self) -> bool {
        self.reasons.iter().any(|r| {
            r.role == Role::Determining
                && r.indicates == Some(self.level)
                && MEDICAL_INPUTS.contains(&r.input)
        })
    }
}

/// A clinician's choice of another level, kept with the recommendation it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementOverride {
    /// The original recommendation, unchanged.
    pub recommended: Recommendation,
    /// The level chosen instead.
    pub chosen: LevelOfCare,
    /// Why, as a code.
    pub reason: OverrideReason,
    /// Why, trimmed.
    pub justification: String,
    /// Who decided.
    pub clinician_id: String,
}

/// Placement failures; each names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// A field is missing or out of range.
    #[error("{field}: {reason}")]
    InvalidField {
        /// Input path (`dimensions.d3_emotional`, `justification`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The override lowers a level set by withdrawal or biomedical risk, and
    /// the caller is not the medical director.
    #[error(
        "{recommended} was set by withdrawal or biomedical risk; choosing {chosen} below it needs the medical director"
    )]
    NeedsMedicalDirector {
        /// The recommended level.
        recommended: &'static str,
        /// The level chosen.
        chosen: &'static str,
    },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> PlacementError {
    PlacementError::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// Intensity rank; explicit rather than the proto number, because the 4th edition
/// adds levels (2.7) that will get new, higher numbers out of clinical order.
fn intensity(level: LevelOfCare) -> u8 {
    match level {
        LevelOfCare::Unspecified => 0,
        L1 => 1,
        L21 => 2,
        L25 => 3,
        L31 => 4,
        LevelOfCare::LevelOfCare33Residential => 5,
        L35 => 6,
        L37 => 7,
        L4 => 8,
    }
}

fn consequence(level: LevelOfCare) -> &'static str {
    match level {
        L4 => "not IOP: needs medically managed inpatient care (4) first",
        L37 => "not IOP: needs medically monitored withdrawal, residential (3.7) first",
        L31 => "not IOP: clinically managed low-intensity residential (3.1)",
        L35 | LevelOfCare::LevelOfCare33Residential => "not IOP: residential (24-hour) care",
        L25 => "partial hospitalization (2.5): more structure than IOP",
        L21 => "intensive outpatient (2.1)",
        L1 => "outpatient (1)",
        LevelOfCare::Unspecified => "no level",
    }
}

/// Weekly clinical hours band of `level` for `age`, where the level has one.
pub fn weekly_hours_band(level: LevelOfCare, age: AgeGroup) -> Option<WeeklyHoursBand> {
    iop_care::weekly_hours_band(level, age == AgeGroup::Adolescent)
}

/// [`recommend_with`] the default thresholds.
pub fn recommend(input: &PlacementInput) -> Result<Recommendation, PlacementError> {
    recommend_with(input, &PlacementThresholds::default())
}

/// What one rating of a dimension does (a row of the module's table).
fn dimension_rule(dimension: usize, rating: u8, d6: u8) -> Option<(LevelOfCare, &'static str)> {
    Some(match (dimension, rating) {
        (2, 2) => (
            L21,
            "biomedical conditions rated 2: IOP with medical monitoring",
        ),
        (2, 3) => (
            L37,
            "biomedical conditions rated 3: need 24-hour medical monitoring",
        ),
        (2, 4) => (
            L4,
            "biomedical conditions rated 4: need medically managed care",
        ),
        (3, 2) => (
            L21,
            "emotional/behavioural conditions rated 2: a co-occurring capable IOP",
        ),
        (3, 3) => (
            L25,
            "emotional/behavioural conditions rated 3: need daily structure",
        ),
        (3, 4) => (
            L4,
            "emotional/behavioural conditions rated 4: need 24-hour psychiatric care",
        ),
        (4, 2..=4) => (
            L21,
            "readiness rated 2+: motivational work; never above 2.1 on its own",
        ),
        (5, 0 | 1) => (L1, "relapse potential rated 0–1"),
        (5, 2) => (
            L21,
            "relapse potential rated 2: needs IOP's weekly structure",
        ),
        (5, 3) => (L25, "relapse potential rated 3: needs daily structure"),
        (5, 4) if d6 >= 2 => (
            L35,
            "relapse potential rated 4 with a recovery environment rated 2+",
        ),
        (5, 4) => (
            L25,
            "relapse potential rated 4 with a supportive environment",
        ),
        (6, 2) => (
            L21,
            "recovery environment rated 2: IOP, with the environment in the plan",
        ),
        (6, 3) => (
            L31,
            "recovery environment rated 3: low-intensity residential, or IOP from a recovery residence",
        ),
        (6, 4) => (
            L35,
            "recovery environment rated 4: residential, away from it",
        ),
        _ => return None,
    })
}

/// The withdrawal management a scale score indicates under `t`.
fn scale_wm(
    scale: Scale,
    score: u8,
    t: &PlacementThresholds,
    d2: u8,
) -> Option<(Wm, &'static str)> {
    Some(match scale {
        Scale::CiwaAr if score >= t.ciwa_ar_severe && d2 >= 3 => (
            Wm4,
            "CIWA-Ar severe with biomedical complications: medically managed WM",
        ),
        Scale::CiwaAr if score >= t.ciwa_ar_severe => {
            (Wm37, "CIWA-Ar severe: medically monitored 24-hour WM")
        }
        Scale::CiwaAr if score >= t.ciwa_ar_moderate => (
            Wm2,
            "CIWA-Ar moderate: ambulatory WM with extended monitoring",
        ),
        Scale::CiwaAr if score > 0 => (Wm1, "CIWA-Ar mild: ambulatory WM"),
        Scale::Cows if score >= t.cows_severe => (Wm4, "COWS severe: medically managed WM"),
        Scale::Cows if score >= t.cows_moderately_severe => (
            Wm37,
            "COWS moderately severe: medically monitored 24-hour WM",
        ),
        Scale::Cows if score >= t.cows_moderate => (
            Wm2,
            "COWS moderate: ambulatory WM with extended monitoring (outpatient buprenorphine induction)",
        ),
        Scale::Cows if score >= t.cows_mild => (Wm1, "COWS mild: ambulatory WM"),
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Scale {
    CiwaAr,
    Cows,
}

/// The level a withdrawal management needs first, if it needs a 24-hour setting.
fn wm_setting(wm: Wm) -> Option<LevelOfCare> {
    match wm {
        Wm4 => Some(L4),
        Wm37 => Some(L37),
        _ => None,
    }
}

/// Recommends a level of care and withdrawal management: the most intensive
/// level (and WM) any rule indicates wins, and every input indicating it is a
/// determining reason.
pub fn recommend_with(
    input: &PlacementInput,
    t: &PlacementThresholds,
) -> Result<Recommendation, PlacementError> {
    use Role::{Advisory, Risk};
    validate(input)?;
    let (d, s) = (&input.dimensions, &input.suitability);
    let ratings = [
        ("dimensions.d1_withdrawal", d.d1_withdrawal),
        ("dimensions.d2_biomedical", d.d2_biomedical),
        ("dimensions.d3_emotional", d.d3_emotional),
        ("dimensions.d4_readiness", d.d4_readiness),
        ("dimensions.d5_relapse", d.d5_relapse),
        (
            "dimensions.d6_recovery_environment",
            d.d6_recovery_environment,
        ),
    ];
    let mut reasons = Vec::new();
    let mut rule = |input, level: Option<LevelOfCare>, wm: Option<Wm>, why: &str| {
        let mut explanation = why.to_owned();
        if let Some(level) = level {
            explanation = format!("{why}; {}", consequence(level));
        }
        reasons.push(Reason {
            input,
            indicates: level,
            indicates_wm: wm,
            role: Advisory,
            explanation,
        });
    };

    // Withdrawal: D1, the scales and a detox need set the WM; 3.7-WM and 4-WM
    // also set the level, since they need a 24-hour setting first.
    let d1 = match d.d1_withdrawal {
        2 => Some((Wm1, "withdrawal potential rated 2: ambulatory WM")),
        3 => Some((
            Wm37,
            "withdrawal potential rated 3: medically monitored 24-hour WM",
        )),
        4 => Some((Wm4, "withdrawal potential rated 4: medically managed WM")),
        _ => None,
    };
    let scales = [
        (
            "withdrawal.ciwa_ar",
            Scale::CiwaAr,
            input.withdrawal.ciwa_ar,
        ),
        ("withdrawal.cows", Scale::Cows, input.withdrawal.cows),
    ];
    let wm_rules = std::iter::once(("dimensions.d1_withdrawal", d1))
        .chain(scales.map(|(path, scale, score)| {
            (path, score.and_then(|v| scale_wm(scale, v, t, d.d2_biomedical)))
        }))
        .chain(std::iter::once((
            "suitability.needs_detox",
            s.medical.needs_detox.then_some((
                Wm2,
                "needs medically supervised withdrawal: at least ambulatory WM with extended monitoring",
            )),
        )));
    for (path, found) in wm_rules {
        if let Some((wm, why)) = found {
            rule(path, wm_setting(wm), Some(wm), why);
        }
    }
    for (dimension, (path, rating)) in ratings.into_iter().enumerate().skip(1) {
        if let Some((level, why)) = dimension_rule(dimension + 1, rating, d.d6_recovery_environment)
        {
            // D5 at 0–1 is the level-1 floor, stated once below.
            if level != L1 {
                rule(path, Some(level), None, why);
            }
        }
    }
    if s.medical.needs_psychiatric_24h {
        rule(
            "suitability.needs_psychiatric_24h",
            Some(L4),
            None,
            "needs 24/7 psychiatric care",
        );
    }
    if s.home == Home::UnsafeOrTriggersUse {
        rule(
            "suitability.home",
            Some(L35),
            None,
            "home unsafe or triggers use: counts as recovery environment rated 4",
        );
    }
    if ratings.iter().all(|(_, r)| *r <= 1) {
        rule("dimensions", Some(L1), None, "all six dimensions rated 0–1");
    }
    let level = (reasons.iter().filter_map(|r| r.indicates))
        .max_by_key(|l| intensity(*l))
        .unwrap_or(L1);
    let wm = (reasons.iter().filter_map(|r| r.indicates_wm))
        .max()
        .unwrap_or(Wm::None);
    for reason in &mut reasons {
        if reason.indicates == Some(level) || reason.indicates_wm.is_some_and(|w| w == wm) {
            reason.role = Role::Determining;
        }
    }

    let severity = match (s.severity, intensity(level) <= intensity(L21)) {
        (Severity::Severe, true) => (
            Risk,
            "severe disorder placed at 2.1 or below: review the dimension ratings",
        ),
        (Severity::Severe, false) => (Advisory, "severe disorder"),
        (_, _) => (Advisory, "mild to moderate: suits outpatient care"),
    };
    let home = match s.home {
        Home::Stable => "stable and safe: supports outpatient care",
        Home::UnstableButSafe => "unstable but safe: address housing in the plan",
        Home::UnsafeOrTriggersUse => "unsafe or triggers use",
    };
    let (track, commitments) = match s.commitments {
        Commitments::None => (Track::Either, "no work/school commitments: any track"),
        Commitments::Daytime => (Track::Evening, "daytime commitments: evening track"),
        Commitments::Evening => (Track::Day, "evening commitments: day track"),
    };
    let motivation = match s.motivation {
        Motivation::Low => (Risk, "low: risk of dropping out; plan motivational work"),
        Motivation::Moderate | Motivation::High => (Advisory, "sufficient for a self-run schedule"),
    };
    let payment = match s.payment {
        Payment::Insured => (Advisory, "insured: verify benefits and authorize the level"),
        Payment::SelfPayAble => (Advisory, "self-pay: agree the budget before admission"),
        Payment::NoMeansToPay => (Risk, "no means to pay: refer to financial counseling"),
    };
    let transportation = match s.transportation {
        Transportation::Reliable => (Advisory, "reliable"),
        Transportation::Unreliable => (
            Risk,
            "unreliable: plan a back-up; a track choice, not a level",
        ),
        Transportation::None => (
            Risk,
            "none: arrange transport before admission; a track choice, not a level",
        ),
    };
    let (ciwa, cows) = (input.withdrawal.ciwa_ar, input.withdrawal.cows);
    // Each applies only to an input no rule above already explained.
    #[rustfmt::skip]
    let notes = [
        (true, "suitability.severity", severity.0, severity.1),
        (true, "suitability.needs_detox", Advisory, "no medically supervised withdrawal needed"),
        (true, "suitability.needs_psychiatric_24h", Advisory, "no 24/7 psychiatric care needed"),
        (ciwa.is_some(), "withdrawal.ciwa_ar", Advisory, "no withdrawal management indicated"),
        (cows.is_some(), "withdrawal.cows", Advisory, "no withdrawal management indicated"),
        (true, "suitability.home", Advisory, home),
        (true, "suitability.commitments", Advisory, commitments),
        (true, "suitability.motivation", motivation.0, motivation.1),
        (true, "suitability.payment", payment.0, payment.1),
        (true, "suitability.transportation", transportation.0, transportation.1),
        (input.dual_diagnosis, "dual_diagnosis", Advisory, "co-occurring: integrate psychiatric care in the plan"),
    ];
    for (applies, path, role, why) in notes {
        if applies && !reasons.iter().any(|r| r.input == path) {
            reasons.push(Reason {
                input: path,
                indicates: None,
                indicates_wm: None,
                role,
                explanation: why.to_owned(),
            });
        }
    }
    Ok(Recommendation {
        level,
        withdrawal_management: wm,
        rules_version: PLACEMENT_RULES_VERSION,
        taxonomy: TAXONOMY_EDITION,
        thresholds: *t,
        is_iop: level == L21,
        weekly_hours: weekly_hours_band(level, input.age_group),
        track: (level == L21).then_some(track),
        reasons,
    })
}

fn validate(input: &PlacementInput) -> Result<(), PlacementError> {
    let d = &input.dimensions;
    let (w, rating) = (&input.withdrawal, 4); // ASAM dimensions run 0–4
    #[rustfmt::skip]
    let ranges = [
        ("dimensions.d1_withdrawal", Some(d.d1_withdrawal), rating),
        ("dimensions.d2_biomedical", Some(d.d2_biomedical), rating),
        ("dimensions.d3_emotional", Some(d.d3_emotional), rating),
        ("dimensions.d4_readiness", Some(d.d4_readiness), rating),
        ("dimensions.d5_relapse", Some(d.d5_relapse), rating),
        ("dimensions.d6_recovery_environment", Some(d.d6_recovery_environment), rating),
        ("withdrawal.ciwa_ar", w.ciwa_ar, 67),
        ("withdrawal.cows", w.cows, 48),
    ];
    for (field, value, max) in ranges {
        if let Some(v) = value.filter(|v| *v > max) {
            return Err(invalid(field, format!("{v} is outside 0–{max}")));
        }
    }
    Ok(())
}

/// Records a clinician's choice of a level other than the recommended one. A
/// level below a medically driven one ([`Recommendation::medically_driven`])
/// needs `medical_director`.
pub fn override_placement(
    recommended: &Recommendation,
    chosen: LevelOfCare,
    reason: OverrideReason,
    justification: &str,
    clinician_id: &str,
    medical_director: bool,
) -> Result<PlacementOverride, PlacementError> {
    if chosen == LevelOfCare::Unspecified {
        return Err(invalid("chosen", "a level of care is required"));
    }
    if reason == OverrideReason::Unspecified {
        return Err(invalid(
            "reason",
            "say why: patient preference, level not available, payer or clinical judgement",
        ));
    }
    if chosen == recommended.level {
        return Err(invalid("chosen", "is the recommended level"));
    }
    let justification = justification.trim();
    if justification.chars().count() < MIN_JUSTIFICATION_CHARS {
        let reason = format!("at least {MIN_JUSTIFICATION_CHARS} characters required");
        return Err(invalid("justification", reason));
    }
    let clinician_id = clinician_id.trim();
    if clinician_id.is_empty() {
        return Err(invalid("clinician_id", "required"));
    }
    let lower = intensity(chosen) < intensity(recommended.level);
    if lower && recommended.medically_driven() && !medical_director {
        return Err(PlacementError::NeedsMedicalDirector {
            recommended: recommended.level.as_str_name(),
            chosen: chosen.as_str_name(),
        });
    }
    Ok(PlacementOverride {
        recommended: recommended.clone(),
        chosen,
        reason,
        justification: justification.to_owned(),
        clinician_id: clinician_id.to_owned(),
    })
}

#[cfg(test)]
mod tests;
