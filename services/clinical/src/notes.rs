//! The rules of progress notes (pure): when a note is due, whether it is
//! late, and whether a text names or identifies another attendee of a group
//! session. A group note is the shared summary plus each attendee's own part,
//! filed in that attendee's chart; neither may carry another attendee's name
//! (any word of the legal or preferred name), MRN or patient id. Names are
//! compared as whole words in
//! the normal form of `iop_care::names` (case and accents folded), so
//! "María" matches "maria" and "Ann" does not match "Annual"; a name of one
//! letter is not looked for. The check errs on the side of refusing: a
//! given name that is also a word ("Will", "Hope") is refused too, and the
//! clinician rephrases.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use iop_care::{calendar, names::normalise};
use iop_proto::clinical::v1::NoteKind;

/// Who must not be named in someone else's note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Patient id.
    pub patient_id: String,
    /// Medical record number, if known.
    pub mrn: String,
    /// Legal given and family names, preferred name (empty when unknown).
    pub names: Vec<String>,
}

/// The words of `text`, each in normal form; a possessive also as its
/// stem ("Majo's" is "majos" and "majo"), an apostrophe inside a name kept
/// ("O'Brien" is "obrien").
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in text.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’') {
        let stem = token
            .strip_suffix("'s")
            .or_else(|| token.strip_suffix("’s"))
            .or_else(|| token.strip_suffix("'S"));
        for w in std::iter::once(token).chain(stem) {
            let w = normalise(w);
            if !w.is_empty() {
                out.push(w);
            }
        }
    }
    out
}

/// Whether `text` names or identifies `person`: any word of a name of
/// theirs as a whole word ("María" of "María José"), their MRN or their id.
pub fn mentions(text: &str, person: &Person) -> bool {
    let lower = text.to_lowercase();
    let ids = [&person.patient_id, &person.mrn];
    if ids
        .iter()
        .any(|id| id.len() >= 4 && lower.contains(&id.to_lowercase()))
    {
        return true;
    }
    let ws = words(text);
    person
        .names
        .iter()
        .flat_map(|name| words(name))
        .filter(|part| part.chars().count() >= 2)
        .any(|part| ws.contains(&part))
}

/// The instant by which a note of `kind` for `service_date` must be signed,
/// at a facility in `tz`: the end of the `business_days`th business day after
/// the service; a crisis note by the end of the day after it (clinical knows
/// the service's day, not its hour, so this is the latest a 24-hour deadline
/// can fall).
pub fn due_at(
    kind: NoteKind,
    service_date: NaiveDate,
    tz: Tz,
    business_days: u32,
    holidays: &[NaiveDate],
) -> DateTime<Utc> {
    let last_day = match kind {
        NoteKind::Crisis => service_date.succ_opt().unwrap_or(service_date),
        _ => calendar::business_days_after(service_date, business_days, holidays),
    };
    calendar::end_of_day(last_day, tz)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn maria() -> Person {
        Person {
            patient_id: "0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
            mrn: "MRN-20410".into(),
            names: vec!["María José".into(), "Núñez".into(), "Majo".into()],
        }
    }

    #[test]
    fn finds_names_ids_and_mrns_as_people_write_them() {
        let p = maria();
        for text in [
            "Shared: NUNEZ spoke first.",
            "maria josé was quiet",
            "Majo's homework",
            "ref 0190A0B1-2C3D-7E4F-8A9B-0C1D2E3F4A5B",
            "see mrn-20410",
            "María alone is enough to identify her",
        ] {
            assert!(mentions(text, &p), "{text}");
        }
        for text in [
            "The group discussed triggers and coping.",
            "Majority agreed",
            "",
        ] {
            assert!(!mentions(text, &p), "{text}");
        }
    }

    #[test]
    fn a_note_is_due_three_business_days_after_the_service() {
        let la = chrono_tz::America::Los_Angeles;
        let friday = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let due = due_at(NoteKind::Group, friday, la, 3, &[]);
        // Friday + Mon, Tue, Wed: due by the end of Wednesday 2 December.
        assert_eq!(
            calendar::local(due, la),
            NaiveDate::from_ymd_opt(2026, 12, 3)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        );
        let crisis = due_at(NoteKind::Crisis, friday, la, 3, &[]);
        assert_eq!(
            calendar::local(crisis, la).date(),
            NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
        );
    }
}
