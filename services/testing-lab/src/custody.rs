//! The chain of custody of a specimen (pure): every hand-off is from the
//! person who holds it, no earlier than the step before, with the seal
//! intact. Any break — a broken seal, a hand-off from someone who did not
//! hold it (a gap), a time before the previous step — makes the specimen
//! worthless as evidence: it is rejected and never interpreted.

use chrono::{DateTime, Utc};

/// Why the chain broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    /// The seal was found broken.
    #[error("seal broken at the hand-off from {from} to {to}")]
    SealBroken {
        /// Who handed it over.
        from: String,
        /// Who received it.
        to: String,
    },
    /// Handed over by someone who did not hold it.
    #[error("custody gap: {from} handed it over but {holder} held it")]
    Gap {
        /// Who held it.
        holder: String,
        /// Who claims to hand it over.
        from: String,
    },
    /// Before the previous step.
    #[error("custody gap: a hand-off at {at} is before the previous step at {since}")]
    OutOfOrder {
        /// When the hand-off says it happened.
        at: DateTime<Utc>,
        /// When the previous step happened.
        since: DateTime<Utc>,
    },
}

/// Checks a hand-off `from` → `to` at `at` of a specimen `holder` has held
/// since `since`.
pub fn hand_off(
    (holder, since): (&str, DateTime<Utc>),
    (from, to): (&str, &str),
    at: DateTime<Utc>,
    seal_intact: bool,
) -> Result<(), Break> {
    if !seal_intact {
        return Err(Break::SealBroken {
            from: from.to_owned(),
            to: to.to_owned(),
        });
    }
    if from != holder {
        return Err(Break::Gap {
            holder: holder.to_owned(),
            from: from.to_owned(),
        });
    }
    if at < since {
        return Err(Break::OutOfOrder { at, since });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::Duration;

    use super::*;

    #[test]
    fn every_break_is_named() {
        let t = Utc::now();
        let later = t + Duration::minutes(10);
        assert_eq!(
            hand_off(
                ("collector-1", t),
                ("collector-1", "courier-7"),
                later,
                true
            ),
            Ok(())
        );
        assert!(matches!(
            hand_off(
                ("collector-1", t),
                ("collector-1", "courier-7"),
                later,
                false
            ),
            Err(Break::SealBroken { .. })
        ));
        let gap = hand_off(("courier-7", t), ("collector-1", "lab-3"), later, true).unwrap_err();
        assert_eq!(
            gap.to_string(),
            "custody gap: collector-1 handed it over but courier-7 held it"
        );
        assert!(matches!(
            hand_off(
                ("collector-1", later),
                ("collector-1", "courier-7"),
                t,
                true
            ),
            Err(Break::OutOfOrder { .. })
        ));
    }
}
