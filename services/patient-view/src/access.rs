//! Where a patient is known, as the view sees it: the facility of the current
//! episode, of registration (its own and of every record merged into it), and
//! of every event in its timeline. This list, with the patient's consents, is
//! what the shared access rule (`iop_consent::access`) decides on.

/// The facilities where a patient is known, from the view's rows.
pub fn known_at<'a>(
    current_facility: Option<&'a str>,
    registered_at: &'a str,
    merged_registrations: impl IntoIterator<Item = &'a str>,
    timeline_facilities: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut known: Vec<String> = current_facility
        .into_iter()
        .chain(std::iter::once(registered_at))
        .chain(merged_registrations)
        .chain(timeline_facilities)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    known.sort_unstable();
    known.dedup();
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_counts_once_and_blanks_do_not() {
        let known = known_at(
            Some("fresno"),
            "oakland",
            ["sf-mission"],
            ["oakland", "", "fresno"],
        );
        assert_eq!(known, ["fresno", "oakland", "sf-mission"]);
        assert_eq!(known_at(None, "", [], []), Vec::<String>::new());
    }
}
