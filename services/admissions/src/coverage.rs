//! What a valid coverage is: self-pay, or a payer, member and subscriber, with
//! the dates it is in effect (billing verifies eligibility from it). Pure.

use chrono::NaiveDate;
use iop_proto::common::v1::{Coverage, SubscriberRelationship};

use iop_runtime::ids::FieldError;

use crate::contact::text;

/// A coverage that passed validation (ids are the caller's to set).
pub fn coverage(c: Option<&Coverage>) -> Result<Coverage, FieldError> {
    let c = c.ok_or_else(|| FieldError::new("coverage", "is required"))?;
    let from: NaiveDate =
        iop_runtime::wire::required_date("coverage.effective_from", c.effective_from.as_ref())?;
    let to = iop_runtime::wire::optional_date("coverage.effective_to", c.effective_to.as_ref())?;
    if to.is_some_and(|to| to < from) {
        return Err(FieldError::new(
            "coverage.effective_to",
            "is before effective_from",
        ));
    }
    let mut out = Coverage {
        coverage_id: String::new(),
        patient_id: c.patient_id.clone(),
        self_pay: c.self_pay,
        effective_from: Some(iop_runtime::wire::date(from)),
        effective_to: to.map(iop_runtime::wire::date),
        ..Default::default()
    };
    if c.self_pay {
        let payer_fields = [
            &c.payer_id,
            &c.payer_name,
            &c.plan_name,
            &c.member_id,
            &c.group_number,
        ];
        if payer_fields.iter().any(|f| !f.trim().is_empty()) {
            return Err(FieldError::new(
                "coverage.self_pay",
                "self-pay has no payer, plan or member",
            ));
        }
        return Ok(out);
    }
    out.payer_id = text("coverage.payer_id", &c.payer_id, true)?;
    out.payer_name = text("coverage.payer_name", &c.payer_name, true)?;
    out.plan_name = text("coverage.plan_name", &c.plan_name, false)?;
    out.member_id = text("coverage.member_id", &c.member_id, true)?;
    out.group_number = text("coverage.group_number", &c.group_number, false)?;
    let relationship = SubscriberRelationship::try_from(c.subscriber_relationship)
        .ok()
        .filter(|r| *r != SubscriberRelationship::Unspecified)
        .ok_or_else(|| FieldError::new("coverage.subscriber_relationship", "is required"))?;
    out.subscriber_relationship = relationship as i32;
    out.subscriber_name = text(
        "coverage.subscriber_name",
        &c.subscriber_name,
        relationship != SubscriberRelationship::Self_,
    )?;
    out.subscriber_address.clone_from(&c.subscriber_address);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use iop_proto::common::v1::Date;

    use super::*;

    #[test]
    fn coverage_is_self_pay_or_names_payer_and_member() {
        let day = |d| {
            Some(Date {
                year: 2026,
                month: 11,
                day: d,
            })
        };
        let insured = Coverage {
            payer_id: "60054".into(),
            payer_name: "Aetna".into(),
            member_id: "W123".into(),
            subscriber_relationship: SubscriberRelationship::Self_ as i32,
            effective_from: day(1),
            ..Default::default()
        };
        assert_eq!(coverage(Some(&insured)).unwrap().member_id, "W123");
        let spouse = Coverage {
            subscriber_relationship: SubscriberRelationship::Spouse as i32,
            ..insured.clone()
        };
        assert_eq!(
            coverage(Some(&spouse)).unwrap_err().field,
            "coverage.subscriber_name"
        );
        let backwards = Coverage {
            effective_to: Some(Date {
                year: 2026,
                month: 10,
                day: 1,
            }),
            ..insured.clone()
        };
        assert_eq!(
            coverage(Some(&backwards)).unwrap_err().field,
            "coverage.effective_to"
        );
        let muddled = Coverage {
            self_pay: true,
            ..insured
        };
        assert_eq!(
            coverage(Some(&muddled)).unwrap_err().field,
            "coverage.self_pay"
        );
        let self_pay = Coverage {
            self_pay: true,
            effective_from: day(3),
            ..Default::default()
        };
        assert!(coverage(Some(&self_pay)).unwrap().self_pay);
    }
}
