//! The random draw of who gives a specimen on a day (pure, reproducible):
//! among the patients with a session at the facility that day, each is
//! selected with probability `rate` (parts per million), independently, by a
//! hash of the draw's seed, the facility, the day and the patient id. The
//! seed is drawn from the operating system when the draw is made and stored
//! with its inputs, so anyone can run it again and get the same selection
//! (an audit of fairness), while nobody can predict it before the seed
//! exists. The hash is SplitMix64 over FNV-1a: both are published, fixed
//! algorithms (a library's generator may change between versions; a stored
//! draw must replay forever). A draw is made for a day and released no
//! earlier than that day begins at the facility ([`releasable`]): no advance
//! notice.

use chrono::NaiveDate;

/// Everything a draw depends on: stored with it, enough to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The facility.
    pub facility_id: String,
    /// The facility-local day drawn for.
    pub day: NaiveDate,
    /// The seed (from the operating system when drawn).
    pub seed: u64,
    /// Probability of selection, parts per million (250 000 = 25 %).
    pub rate_ppm: u32,
    /// Patients with a session at the facility that day (any order, duplicates ignored).
    pub eligible: Vec<String>,
}

/// The patients selected, in id order.
pub fn draw(inputs: &Inputs) -> Vec<String> {
    let mut eligible = inputs.eligible.clone();
    eligible.sort_unstable();
    eligible.dedup();
    eligible
        .into_iter()
        .filter(|p| chance(inputs, p) < u64::from(inputs.rate_ppm.min(1_000_000)))
        .collect()
}

/// The patient's number in 0..1 000 000 for this draw.
fn chance(inputs: &Inputs, patient_id: &str) -> u64 {
    let mut h = fnv1a(0xcbf2_9ce4_8422_2325, inputs.facility_id.as_bytes());
    h = fnv1a(h, &[0]);
    h = fnv1a(h, inputs.day.to_string().as_bytes());
    h = fnv1a(h, &[0]);
    h = fnv1a(h, patient_id.as_bytes());
    splitmix64(inputs.seed ^ h) % 1_000_000
}

/// FNV-1a, 64 bits, continuing from `h`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64's output function (Steele, Lea, Flood 2014).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whether the draw for `day` may be published (or told to anyone) when it
/// is `today` at the facility: from the day itself on, never before.
pub fn releasable(day: NaiveDate, today: NaiveDate) -> bool {
    today >= day
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn inputs(seed: u64, day: NaiveDate, eligible: Vec<String>) -> Inputs {
        Inputs {
            facility_id: "oakland".into(),
            day,
            seed,
            rate_ppm: 250_000,
            eligible,
        }
    }

    fn patients(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("0190a0b1-0000-7000-8000-{i:012}"))
            .collect()
    }

    #[test]
    fn the_same_seed_and_inputs_give_the_same_selection() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let a = draw(&inputs(42, day, patients(60)));
        let mut shuffled = patients(60);
        shuffled.reverse();
        shuffled.push(shuffled[0].clone());
        assert_eq!(
            draw(&inputs(42, day, shuffled)),
            a,
            "order and duplicates do not matter"
        );
        assert_ne!(
            draw(&inputs(43, day, patients(60))),
            a,
            "another seed, another draw"
        );
        // Only patients scheduled that day can be selected.
        let eligible = patients(60);
        assert!(a.iter().all(|p| eligible.contains(p)));
        assert!(draw(&inputs(42, day, Vec::new())).is_empty());
    }

    #[test]
    fn over_eight_weeks_the_realised_rate_is_within_three_points_of_the_rate() {
        // 60 patients scheduled five days a week for eight weeks, at 25 %:
        // 2,400 draws, whose standard deviation is 0.9 points.
        let start = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let mut selected = 0usize;
        let mut drawn = 0usize;
        for week in 0..8u64 {
            for weekday in 0..5u64 {
                let day = start + chrono::Days::new(week * 7 + weekday);
                let seed = 0x5eed_u64.wrapping_mul(week * 7 + weekday + 1);
                selected += draw(&inputs(seed, day, patients(60))).len();
                drawn += 60;
            }
        }
        let rate = selected as f64 / drawn as f64;
        assert!((rate - 0.25).abs() <= 0.03, "realised {rate:.3}");
        // The extremes.
        let day = start;
        let mut all = inputs(1, day, patients(10));
        all.rate_ppm = 1_000_000;
        assert_eq!(draw(&all).len(), 10);
        all.rate_ppm = 0;
        assert!(draw(&all).is_empty());
    }

    #[test]
    fn a_draw_is_not_released_before_its_day() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert!(!releasable(day, day.pred_opt().unwrap()));
        assert!(releasable(day, day));
    }
}
