//! What a drug-test result means for this patient (pure): each drug class
//! tested, read against the classes prescribed on the collection date
//! (clinical's medication events). DOMAIN.md: a positive for a prescribed
//! medication is expected, not a relapse signal; a negative for it can be a
//! diversion (or adherence) signal; buprenorphine without norbuprenorphine,
//! or methadone without EDDP, suggests the parent drug was added to the
//! specimen; 6-acetylmorphine (6-AM) means heroin. Nothing here discharges
//! anyone: an unexpected finding goes to a clinician's review.

use std::collections::BTreeSet;

/// Drug classes of the typical panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Amphetamine.
    Amphetamine,
    /// Methamphetamine.
    Methamphetamine,
    /// Benzodiazepines.
    Benzodiazepine,
    /// Buprenorphine (medication for opioid use disorder).
    Buprenorphine,
    /// Cocaine (benzoylecgonine).
    Cocaine,
    /// Cannabis (THC-COOH).
    Thc,
    /// Methadone (medication for opioid use disorder).
    Methadone,
    /// Opiates (morphine, codeine; 6-AM for heroin).
    Opiate,
    /// Oxycodone.
    Oxycodone,
    /// Fentanyl (and norfentanyl), which opiate screens miss.
    Fentanyl,
    /// MDMA.
    Mdma,
    /// Barbiturates.
    Barbiturate,
    /// Alcohol (EtG/EtS).
    Alcohol,
    /// Xylazine.
    Xylazine,
}

/// An analyte a laboratory reports, and the class it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Analyte {
    /// Parent buprenorphine.
    Buprenorphine,
    /// Its metabolite.
    Norbuprenorphine,
    /// Parent methadone.
    Methadone,
    /// Its metabolite.
    Eddp,
    /// Heroin's specific metabolite.
    SixAcetylmorphine,
    /// Morphine.
    Morphine,
    /// Codeine.
    Codeine,
    /// Fentanyl.
    Fentanyl,
    /// Its metabolite.
    Norfentanyl,
    /// Any other analyte, by its class.
    Other(Class),
}

impl Analyte {
    /// The class it shows.
    pub fn class(self) -> Class {
        match self {
            Analyte::Buprenorphine | Analyte::Norbuprenorphine => Class::Buprenorphine,
            Analyte::Methadone | Analyte::Eddp => Class::Methadone,
            Analyte::SixAcetylmorphine | Analyte::Morphine | Analyte::Codeine => Class::Opiate,
            Analyte::Fentanyl | Analyte::Norfentanyl => Class::Fentanyl,
            Analyte::Other(c) => c,
        }
    }
}

/// What one class of a result means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    /// Not prescribed, not found.
    ExpectedNegative,
    /// Prescribed and found, with its metabolite where it has one.
    ExpectedPositive,
    /// Prescribed and not found: adherence or diversion.
    UnexpectedNegative,
    /// Prescribed, but the parent drug without its metabolite: possibly added
    /// to the specimen (diversion hidden by spiking).
    PossibleAdulteration,
    /// Found and not prescribed.
    UnexpectedPositive,
}

/// One class's reading, with a note a clinician reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The class.
    pub class: Class,
    /// What it means.
    pub finding: Finding,
    /// Why, in a few words (no patient data).
    pub note: &'static str,
}

/// Reads a result: `tested` classes, `measured` analytes (reported at all,
/// found or not), `found` analytes (at or above cut-off), `prescribed`
/// classes on the collection date. One reading per class tested or found,
/// in class order. A missing metabolite counts only where it was measured
/// (a screen reports the class, not its metabolite).
pub fn interpret(
    tested: &BTreeSet<Class>,
    measured: &BTreeSet<Analyte>,
    found: &BTreeSet<Analyte>,
    prescribed: &BTreeSet<Class>,
) -> Vec<Reading> {
    let found_classes: BTreeSet<Class> = found.iter().map(|a| a.class()).collect();
    let classes: BTreeSet<Class> = tested.union(&found_classes).copied().collect();
    classes
        .into_iter()
        .map(|class| {
            let (finding, note) = read(
                class,
                measured,
                found,
                found_classes.contains(&class),
                prescribed,
            );
            Reading {
                class,
                finding,
                note,
            }
        })
        .collect()
}

fn read(
    class: Class,
    measured: &BTreeSet<Analyte>,
    found: &BTreeSet<Analyte>,
    present: bool,
    prescribed: &BTreeSet<Class>,
) -> (Finding, &'static str) {
    let has = |a: Analyte| found.contains(&a);
    let missing = |a: Analyte| measured.contains(&a) && !found.contains(&a);
    match (present, prescribed.contains(&class)) {
        (false, false) => (Finding::ExpectedNegative, "not found, not prescribed"),
        (false, true) => (
            Finding::UnexpectedNegative,
            "prescribed but not found: adherence or diversion",
        ),
        (true, false) if class == Class::Opiate && has(Analyte::SixAcetylmorphine) => {
            (Finding::UnexpectedPositive, "6-acetylmorphine: heroin use")
        }
        (true, false) => (Finding::UnexpectedPositive, "found, not prescribed"),
        (true, true) => match class {
            Class::Buprenorphine if missing(Analyte::Norbuprenorphine) => (
                Finding::PossibleAdulteration,
                "buprenorphine without norbuprenorphine: possibly added to the specimen",
            ),
            Class::Methadone if missing(Analyte::Eddp) => (
                Finding::PossibleAdulteration,
                "methadone without EDDP: possibly added to the specimen",
            ),
            _ => (Finding::ExpectedPositive, "prescribed and found"),
        },
    }
}

/// The classes a screen's laboratory confirmation asks for: every class it
/// found positive, and fentanyl when the screen did not measure it (opiate
/// screens miss it); none when nothing was positive.
pub fn to_confirm(measured: &BTreeSet<Analyte>, found: &BTreeSet<Analyte>) -> BTreeSet<Class> {
    let mut classes: BTreeSet<Class> = found.iter().map(|a| a.class()).collect();
    if !classes.is_empty() && !measured.iter().any(|a| a.class() == Class::Fentanyl) {
        classes.insert(Class::Fentanyl);
    }
    classes
}

/// The result's overall finding: the most concerning of its readings
/// (an unexpected positive over a possible adulteration over an unexpected
/// negative over an expected positive); expected negative when none.
pub fn overall(readings: &[Reading]) -> Finding {
    readings
        .iter()
        .map(|r| r.finding)
        .max()
        .unwrap_or(Finding::ExpectedNegative)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use Analyte as A;
    use Class as C;

    fn set<T: Ord + Copy>(items: &[T]) -> BTreeSet<T> {
        items.iter().copied().collect()
    }

    const PANEL: &[Class] = &[
        C::Buprenorphine,
        C::Methadone,
        C::Opiate,
        C::Fentanyl,
        C::Benzodiazepine,
        C::Cocaine,
    ];

    #[rstest]
    #[case::buprenorphine_with_its_metabolite(
        &[A::Buprenorphine, A::Norbuprenorphine], &[C::Buprenorphine],
        C::Buprenorphine, Finding::ExpectedPositive)]
    #[case::buprenorphine_without_its_metabolite(
        &[A::Buprenorphine], &[C::Buprenorphine],
        C::Buprenorphine, Finding::PossibleAdulteration)]
    #[case::buprenorphine_prescribed_and_absent(
        &[], &[C::Buprenorphine],
        C::Buprenorphine, Finding::UnexpectedNegative)]
    #[case::methadone_without_eddp(
        &[A::Methadone], &[C::Methadone],
        C::Methadone, Finding::PossibleAdulteration)]
    #[case::methadone_with_eddp(
        &[A::Methadone, A::Eddp], &[C::Methadone],
        C::Methadone, Finding::ExpectedPositive)]
    #[case::fentanyl_unprescribed(
        &[A::Fentanyl, A::Norfentanyl], &[C::Buprenorphine],
        C::Fentanyl, Finding::UnexpectedPositive)]
    #[case::benzodiazepine_prescribed(
        &[A::Other(C::Benzodiazepine)], &[C::Benzodiazepine],
        C::Benzodiazepine, Finding::ExpectedPositive)]
    #[case::heroin(
        &[A::SixAcetylmorphine, A::Morphine], &[],
        C::Opiate, Finding::UnexpectedPositive)]
    #[case::nothing_found_nothing_prescribed(
        &[], &[], C::Cocaine, Finding::ExpectedNegative)]
    fn the_interpretation_table(
        #[case] found: &[Analyte],
        #[case] prescribed: &[Class],
        #[case] class: Class,
        #[case] want: Finding,
    ) {
        // A confirmation measures the parents and their metabolites.
        let measured = set(&[A::Buprenorphine, A::Norbuprenorphine, A::Methadone, A::Eddp]);
        let measured: BTreeSet<Analyte> = measured.union(&set(found)).copied().collect();
        let readings = interpret(&set(PANEL), &measured, &set(found), &set(prescribed));
        let r = readings
            .iter()
            .find(|r| r.class == class)
            .unwrap_or_else(|| {
                panic!("no reading for {class:?}");
            });
        assert_eq!(r.finding, want, "{class:?}: {}", r.note);
    }

    #[test]
    fn a_positive_screen_is_confirmed_with_fentanyl_when_it_missed_it() {
        let cup = set(&[A::Buprenorphine, A::Morphine, A::Other(C::Cocaine)]);
        assert_eq!(
            to_confirm(&cup, &set(&[A::Buprenorphine])),
            set(&[C::Buprenorphine, C::Fentanyl])
        );
        let with_fentanyl = set(&[A::Fentanyl, A::Other(C::Cocaine)]);
        assert_eq!(
            to_confirm(&with_fentanyl, &set(&[A::Other(C::Cocaine)])),
            set(&[C::Cocaine])
        );
        assert!(
            to_confirm(&cup, &set(&[])).is_empty(),
            "a negative screen is not confirmed"
        );
    }

    #[test]
    fn a_screen_positive_for_prescribed_buprenorphine_is_expected() {
        // A screen reports the class; its metabolite was never measured.
        let screen = set(&[A::Buprenorphine]);
        let readings = interpret(
            &set(&[C::Buprenorphine]),
            &screen,
            &screen,
            &set(&[C::Buprenorphine]),
        );
        assert_eq!(readings[0].finding, Finding::ExpectedPositive);
    }

    #[test]
    fn heroin_is_named_and_the_worst_finding_wins() {
        let found = set(&[A::SixAcetylmorphine, A::Buprenorphine, A::Norbuprenorphine]);
        let readings = interpret(&set(PANEL), &found, &found, &set(&[C::Buprenorphine]));
        let opiate = readings.iter().find(|r| r.class == C::Opiate);
        assert!(opiate.is_some_and(|r| r.note.contains("heroin")));
        assert_eq!(overall(&readings), Finding::UnexpectedPositive);
        // A class found but not on the panel is still read.
        let xylazine = set(&[A::Other(C::Xylazine)]);
        let off_panel = interpret(&set(&[C::Cocaine]), &xylazine, &xylazine, &set(&[]));
        assert!(
            off_panel
                .iter()
                .any(|r| r.class == C::Xylazine && r.finding == Finding::UnexpectedPositive)
        );
        assert_eq!(overall(&[]), Finding::ExpectedNegative);
        let benzo = set(&[A::Other(C::Benzodiazepine)]);
        let only_expected = interpret(
            &set(&[C::Benzodiazepine]),
            &benzo,
            &benzo,
            &set(&[C::Benzodiazepine]),
        );
        assert_eq!(overall(&only_expected), Finding::ExpectedPositive);
    }
}
