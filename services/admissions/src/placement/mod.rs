//! Level-of-care placement: from an assessment (the six ASAM dimensions, the
//! program's IOP suitability factors, withdrawal scale scores) to a recommended
//! ASAM level of care, with every input that drove or informs it named in a
//! reason, and the clinician override that may replace it. Pure and versioned: a
//! recommendation records the rules version, taxonomy edition and thresholds it
//! was made with, so it can be audited later. Changing a rule means a new
//! [`PLACEMENT_RULES_VERSION`], never an edit in place.
//!
//! Rules, most intensive first; the most intensive level any input indicates
//! wins: detox need, CIWA-Ar or COWS at the inpatient threshold, D1 = 4, D2 = 4,
//! 24/7 psychiatric need or D3 = 4 → 4; CIWA-Ar or COWS in the monitored range or
//! D1 = 3 → 3.7; unsafe home or D6 ≥ 3 → 3.5; severe, D5 ≥ 3 or D3 = 3 → 2.5;
//! otherwise 2.1, except all dimensions 0 with mild severity → 1.

use iop_proto::common::v1::LevelOfCare::{
    self, LevelOfCare1Outpatient as L1, LevelOfCare4Inpatient as L4,
    LevelOfCare21IntensiveOutpatient as L21, LevelOfCare25PartialHospitalization as L25,
    LevelOfCare35Residential as L35, LevelOfCare37Residential as L37,
};
pub use iop_proto::common::v1::OverrideReason;

use iop_runtime::ids::FieldError;

/// Version of the rules below; recorded on every recommendation.
pub const PLACEMENT_RULES_VERSION: &str = "asam3-iop-v1";
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

/// Withdrawal scale cut-offs. The defaults are common protocol values; payers and
/// states set their own, so they are configuration. The dimension-to-level mapping
/// is the ASAM matrix itself and changes only with [`PLACEMENT_RULES_VERSION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacementThresholds {
    /// CIWA-Ar at or above → medically managed inpatient (4). Default 20.
    pub ciwa_ar_inpatient: u8,
    /// CIWA-Ar at or above, below inpatient → monitored withdrawal (3.7). Default 10.
    pub ciwa_ar_monitored: u8,
    /// COWS at or above → medically managed inpatient (4). Default 25.
    pub cows_inpatient: u8,
    /// COWS at or above, below inpatient → monitored withdrawal (3.7). Default 13.
    pub cows_monitored: u8,
}

impl Default for PlacementThresholds {
    fn default() -> Self {
        Self {
            ciwa_ar_inpatient: 20,
            ciwa_ar_monitored: 10,
            cows_inpatient: 25,
            cows_monitored: 13,
        }
    }
}

/// What a reason did to the placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Placed the patient at the recommended level.
    Determining,
    /// Informs the plan; did not set the level (it may indicate a lower one).
    Advisory,
    /// Advisory, and a risk to engagement the plan should address.
    Risk,
}

/// One input and what it meant for the placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Stable path of the input (`suitability.home`, `withdrawal.ciwa_ar`).
    pub input: &'static str,
    /// The level this input alone indicates, if any.
    pub indicates: Option<LevelOfCare>,
    /// Whether it determined the level.
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
}

impl From<PlacementError> for FieldError {
    fn from(e: PlacementError) -> Self {
        let PlacementError::InvalidField { field, reason } = e;
        FieldError { field, reason }
    }
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
        LevelOfCare::LevelOfCare31Residential => 4,
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
        L35 | LevelOfCare::LevelOfCare31Residential | LevelOfCare::LevelOfCare33Residential => {
            "not IOP: residential (24-hour) care"
        }
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

/// Recommends a level of care: the most intensive level any input indicates wins,
/// and every input indicating it is a determining reason.
pub fn recommend_with(
    input: &PlacementInput,
    t: &PlacementThresholds,
) -> Result<Recommendation, PlacementError> {
    use Role::{Advisory, Risk};
    validate(input)?;
    let (d, s) = (&input.dimensions, &input.suitability);
    // `None` orders below every score, so an unscored scale never triggers.
    let (ciwa, cows) = (input.withdrawal.ciwa_ar, input.withdrawal.cows);
    let ciwa_37 = Some(t.ciwa_ar_monitored)..Some(t.ciwa_ar_inpatient);
    let cows_37 = Some(t.cows_monitored)..Some(t.cows_inpatient);
    let outpatient = *d == Dimensions::default() && s.severity == Severity::Mild;
    let moderate = s.severity != Severity::Severe && !outpatient;
    // One rule a line, as in the module doc.
    #[rustfmt::skip]
    let rules = [
        ("suitability.needs_detox", s.medical.needs_detox, L4, "needs medically managed withdrawal (detox)"),
        ("withdrawal.ciwa_ar", ciwa >= Some(t.ciwa_ar_inpatient), L4, "CIWA-Ar at the inpatient threshold"),
        ("withdrawal.cows", cows >= Some(t.cows_inpatient), L4, "COWS at the inpatient threshold"),
        ("dimensions.d1_withdrawal", d.d1_withdrawal == 4, L4, "withdrawal potential rated 4"),
        ("dimensions.d2_biomedical", d.d2_biomedical == 4, L4, "biomedical conditions rated 4"),
        ("suitability.needs_psychiatric_24h", s.medical.needs_psychiatric_24h, L4, "needs 24/7 psychiatric care"),
        ("dimensions.d3_emotional", d.d3_emotional == 4, L4, "emotional/behavioral conditions rated 4"),
        ("withdrawal.ciwa_ar", ciwa_37.contains(&ciwa), L37, "CIWA-Ar in the monitored-withdrawal range"),
        ("withdrawal.cows", cows_37.contains(&cows), L37, "COWS in the monitored-withdrawal range"),
        ("dimensions.d1_withdrawal", d.d1_withdrawal == 3, L37, "withdrawal potential rated 3"),
        ("suitability.home", s.home == Home::UnsafeOrTriggersUse, L35, "home unsafe or triggers use"),
        ("dimensions.d6_recovery_environment", d.d6_recovery_environment >= 3, L35, "recovery environment rated 3+"),
        ("suitability.severity", s.severity == Severity::Severe, L25, "severe disorder"),
        ("dimensions.d5_relapse", d.d5_relapse >= 3, L25, "relapse potential rated 3+"),
        ("dimensions.d3_emotional", d.d3_emotional == 3, L25, "emotional/behavioral conditions rated 3"),
        ("suitability.severity", moderate, L21, "mild to moderate severity suits IOP"),
        ("dimensions", outpatient, L1, "all six dimensions rated 0"),
        ("suitability.severity", outpatient, L1, "mild severity and no dimensional risk"),
    ];
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
        Transportation::Unreliable => (Risk, "unreliable: plan a back-up"),
        Transportation::None => (Risk, "none: arrange transport before admission"),
    };
    // Each applies only to an input no rule above already explained.
    #[rustfmt::skip]
    let notes = [
        (true, "suitability.needs_detox", Advisory, "no medically managed withdrawal needed"),
        (true, "suitability.needs_psychiatric_24h", Advisory, "no 24/7 psychiatric care needed"),
        (ciwa.is_some(), "withdrawal.ciwa_ar", Advisory, "below the monitored-withdrawal threshold"),
        (cows.is_some(), "withdrawal.cows", Advisory, "below the monitored-withdrawal threshold"),
        (true, "suitability.home", Advisory, home),
        (true, "suitability.commitments", Advisory, commitments),
        (true, "suitability.motivation", motivation.0, motivation.1),
        (true, "suitability.payment", payment.0, payment.1),
        (true, "suitability.transportation", transportation.0, transportation.1),
        (d.d4_readiness >= 3, "dimensions.d4_readiness", Risk, "low readiness: add motivational enhancement"),
        (input.dual_diagnosis, "dual_diagnosis", Advisory, "co-occurring: integrate psychiatric care in the plan"),
    ];

    let mut reasons: Vec<Reason> = (rules.into_iter().filter(|rule| rule.1))
        .map(|(input, _, level, why)| Reason {
            input,
            indicates: Some(level),
            role: Advisory,
            explanation: format!("{why}; {}", consequence(level)),
        })
        .collect();
    for (applies, input, role, why) in notes {
        if applies && !reasons.iter().any(|r| r.input == input) {
            let explanation = why.to_owned();
            reasons.push(Reason {
                input,
                indicates: None,
                role,
                explanation,
            });
        }
    }
    // Severity always indicates a level, so the fallback is never taken.
    let level = (reasons.iter().filter_map(|r| r.indicates))
        .max_by_key(|l| intensity(*l))
        .unwrap_or(L21);
    for reason in reasons.iter_mut().filter(|r| r.indicates == Some(level)) {
        reason.role = Role::Determining;
    }
    Ok(Recommendation {
        level,
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

/// Records a clinician's choice of a level other than the recommended one.
pub fn override_placement(
    recommended: &Recommendation,
    chosen: LevelOfCare,
    reason: OverrideReason,
    justification: &str,
    clinician_id: &str,
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
