//! Between the contract's messages and the rules' types, one function each.

use std::collections::BTreeSet;

use iop_proto::{
    clinical::v1::MedicationClass,
    lab::v1::{Analyte as WireAnalyte, DrugClass, Finding as WireFinding},
};

use crate::interpretation::{Analyte, Class, Finding};

/// A wire class as the rules' class.
pub fn class(c: DrugClass) -> Option<Class> {
    Some(match c {
        DrugClass::Amphetamine => Class::Amphetamine,
        DrugClass::Methamphetamine => Class::Methamphetamine,
        DrugClass::Benzodiazepine => Class::Benzodiazepine,
        DrugClass::Buprenorphine => Class::Buprenorphine,
        DrugClass::Cocaine => Class::Cocaine,
        DrugClass::Thc => Class::Thc,
        DrugClass::Methadone => Class::Methadone,
        DrugClass::Opiate => Class::Opiate,
        DrugClass::Oxycodone => Class::Oxycodone,
        DrugClass::Fentanyl => Class::Fentanyl,
        DrugClass::Mdma => Class::Mdma,
        DrugClass::Barbiturate => Class::Barbiturate,
        DrugClass::Alcohol => Class::Alcohol,
        DrugClass::Xylazine => Class::Xylazine,
        DrugClass::Unspecified => return None,
    })
}

/// The rules' class on the wire.
pub fn wire_class(c: Class) -> DrugClass {
    match c {
        Class::Amphetamine => DrugClass::Amphetamine,
        Class::Methamphetamine => DrugClass::Methamphetamine,
        Class::Benzodiazepine => DrugClass::Benzodiazepine,
        Class::Buprenorphine => DrugClass::Buprenorphine,
        Class::Cocaine => DrugClass::Cocaine,
        Class::Thc => DrugClass::Thc,
        Class::Methadone => DrugClass::Methadone,
        Class::Opiate => DrugClass::Opiate,
        Class::Oxycodone => DrugClass::Oxycodone,
        Class::Fentanyl => DrugClass::Fentanyl,
        Class::Mdma => DrugClass::Mdma,
        Class::Barbiturate => DrugClass::Barbiturate,
        Class::Alcohol => DrugClass::Alcohol,
        Class::Xylazine => DrugClass::Xylazine,
    }
}

/// A wire analyte (with its class for `OTHER`) as the rules' analyte.
pub fn analyte(a: WireAnalyte, c: DrugClass) -> Option<Analyte> {
    Some(match a {
        WireAnalyte::Buprenorphine => Analyte::Buprenorphine,
        WireAnalyte::Norbuprenorphine => Analyte::Norbuprenorphine,
        WireAnalyte::Methadone => Analyte::Methadone,
        WireAnalyte::Eddp => Analyte::Eddp,
        WireAnalyte::SixAcetylmorphine => Analyte::SixAcetylmorphine,
        WireAnalyte::Morphine => Analyte::Morphine,
        WireAnalyte::Codeine => Analyte::Codeine,
        WireAnalyte::Fentanyl => Analyte::Fentanyl,
        WireAnalyte::Norfentanyl => Analyte::Norfentanyl,
        WireAnalyte::Other => Analyte::Other(class(c)?),
        WireAnalyte::Unspecified => return None,
    })
}

/// A finding on the wire.
pub fn finding(f: Finding) -> WireFinding {
    match f {
        Finding::ExpectedNegative => WireFinding::ExpectedNegative,
        Finding::ExpectedPositive => WireFinding::ExpectedPositive,
        Finding::UnexpectedNegative => WireFinding::UnexpectedNegative,
        Finding::PossibleAdulteration => WireFinding::PossibleAdulteration,
        Finding::UnexpectedPositive => WireFinding::UnexpectedPositive,
    }
}

/// The drug classes a prescribed medication shows on a panel (naltrexone,
/// acamprosate and disulfiram show on none; an opioid analgesic as opiates
/// and oxycodone, since the prescription does not say which).
pub fn shows(m: MedicationClass) -> &'static [Class] {
    match m {
        MedicationClass::Buprenorphine => &[Class::Buprenorphine],
        MedicationClass::Methadone => &[Class::Methadone],
        MedicationClass::Benzodiazepine => &[Class::Benzodiazepine],
        MedicationClass::Stimulant => &[Class::Amphetamine],
        MedicationClass::OpioidAnalgesic => &[Class::Opiate, Class::Oxycodone],
        MedicationClass::Naltrexone
        | MedicationClass::Acamprosate
        | MedicationClass::Disulfiram
        | MedicationClass::Other
        | MedicationClass::Unspecified => &[],
    }
}

/// The classes of stored medication class values.
pub fn prescribed(classes: &[i32]) -> BTreeSet<Class> {
    classes
        .iter()
        .flat_map(|c| shows(MedicationClass::try_from(*c).unwrap_or_default()))
        .copied()
        .collect()
}

/// A stored comma-separated list of wire classes.
pub fn panel(stored: &str) -> Vec<DrugClass> {
    stored
        .split(',')
        .filter_map(|c| c.parse::<i32>().ok())
        .filter_map(|c| DrugClass::try_from(c).ok())
        .collect()
}
