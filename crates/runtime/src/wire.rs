//! Conversions between the domain's time types (chrono) and the wire types of the
//! contracts (`iop.common.v1.Date`, `google.protobuf.Timestamp`), shared by every
//! service so each converts dates the same way.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use iop_proto::common::v1::Date;

use crate::ids::FieldError;

/// A calendar date on the wire.
pub fn date(d: NaiveDate) -> Date {
    Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// A wire date as (year, month, day), for validation that names the field.
pub fn date_parts(d: Option<&Date>) -> Option<(i32, i32, i32)> {
    d.map(|d| (d.year, d.month, d.day))
}

/// A wire date as a calendar date, if it is one.
pub fn naive_date(d: Option<&Date>) -> Option<NaiveDate> {
    let d = d?;
    NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).ok()?,
        u32::try_from(d.day).ok()?,
    )
}

/// A request's optional date `field`: absent is `None`, an impossible date
/// (31 February) names the field.
pub fn optional_date(
    field: &'static str,
    d: Option<&Date>,
) -> Result<Option<NaiveDate>, FieldError> {
    match d {
        None => Ok(None),
        Some(d) => naive_date(Some(d))
            .map(Some)
            .ok_or_else(|| FieldError::new(field, "is not a calendar date")),
    }
}

/// A request's required date `field`.
pub fn required_date(field: &'static str, d: Option<&Date>) -> Result<NaiveDate, FieldError> {
    optional_date(field, d)?.ok_or_else(|| FieldError::required(field))
}

/// An instant on the wire.
pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A wire instant as a chrono one, if it is in range.
pub fn instant(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_reject_impossible_ones() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap_or_default();
        assert_eq!(naive_date(Some(&date(d))), Some(d));
        assert_eq!(
            naive_date(Some(&Date {
                year: 2023,
                month: 2,
                day: 29
            })),
            None
        );
        assert_eq!(
            naive_date(Some(&Date {
                year: 2023,
                month: -1,
                day: 1
            })),
            None
        );
        assert_eq!(date_parts(Some(&date(d))), Some((2024, 2, 29)));
    }

    #[test]
    fn timestamps_keep_nanoseconds() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap_or_default();
        let w = timestamp(t);
        assert_eq!((w.seconds, w.nanos), (1_700_000_000, 123_456_789));
        assert_eq!(instant(Some(&w)), Some(t));
        assert_eq!(instant(None), None);
    }
}
