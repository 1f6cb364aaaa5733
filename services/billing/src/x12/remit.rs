//! X12 835 (005010X221A1) health care claim payment: read into payments
//! per claim (CLP) and line (SVC) with their adjustments (CAS), the
//! provider-level adjustments (PLB) and the payment (BPR, TRN), and checked
//! to balance before anything is applied: per line, charge = paid + line
//! adjustments; per claim, charge = paid + claim and line adjustments, and
//! patient responsibility (CLP05) = the PR adjustments; per file, BPR02 =
//! claims paid − provider adjustments. A file that does not balance is
//! refused naming the claim.

use chrono::NaiveDate;

use super::{Parsed, Segment};
use crate::money;

/// An adjustment: group (CO, PR, OA, PI, CR), reason code, cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// Claim adjustment group code.
    pub group: String,
    /// Claim adjustment reason code (e.g. 45, 2, 197, 29).
    pub reason: String,
    /// Amount in cents (positive reduces payment).
    pub cents: i64,
}

impl Adjustment {
    /// `CO-197`.
    pub fn code(&self) -> String {
        format!("{}-{}", self.group, self.reason)
    }
}

/// A service line's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePayment {
    /// The procedure code (SVC01-2).
    pub code: String,
    /// Charge.
    pub charge: i64,
    /// Paid.
    pub paid: i64,
    /// Date of service (DTM*472).
    pub date: Option<NaiveDate>,
    /// Adjustments.
    pub adjustments: Vec<Adjustment>,
}

/// A claim's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPayment {
    /// CLP01: our claim number.
    pub number: String,
    /// CLP02: 1, 2, 3 processed; 4 denied; 22 reversal.
    pub status: String,
    /// CLP03.
    pub charge: i64,
    /// CLP04.
    pub paid: i64,
    /// The PR adjustments' total.
    pub patient_responsibility: i64,
    /// CLP07.
    pub payer_claim_number: String,
    /// Claim-level adjustments.
    pub adjustments: Vec<Adjustment>,
    /// Lines.
    pub lines: Vec<LinePayment>,
}

impl ClaimPayment {
    /// Every adjustment, claim-level then lines'.
    pub fn all_adjustments(&self) -> impl Iterator<Item = &Adjustment> {
        self.adjustments
            .iter()
            .chain(self.lines.iter().flat_map(|l| l.adjustments.iter()))
    }

    /// A reversal of an earlier payment (CLP02 = 22).
    pub fn is_reversal(&self) -> bool {
        self.status == "22"
    }

    /// Denied (CLP02 = 4).
    pub fn is_denied(&self) -> bool {
        self.status == "4"
    }
}

/// What a claim payment does to its claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The claim's status after it.
    pub status: iop_proto::billing::v1::ClaimStatus,
    /// Adjustment codes a biller must act on, with the reason, when any:
    /// every non-patient code of a denial, and CO-197 (no authorization) or
    /// CO-29 (timely filing) anywhere.
    pub work: Option<(String, String)>,
}

/// Codes that always need a biller, even on a paid claim.
const WORK_CODES: [&str; 2] = ["CO-197", "CO-29"];

/// What a denial's reason code means to a biller.
fn meaning(code: &str) -> String {
    match code {
        "CO-197" => "CO-197: precertification/authorization absent".to_owned(),
        "CO-29" => "CO-29: the time limit for filing has expired".to_owned(),
        "CO-16" => "CO-16: the claim lacks information needed to adjudicate it".to_owned(),
        "CO-50" => "CO-50: not deemed a medical necessity by the payer".to_owned(),
        other => other.to_owned(),
    }
}

impl ClaimPayment {
    /// CLP02 1-3 pay, 4 (or nothing paid and nothing the patient's) denies,
    /// 22 reverses; denials and CO-197/CO-29 go to a biller with the reason.
    pub fn outcome(&self) -> Outcome {
        use iop_proto::billing::v1::ClaimStatus;
        let denied = self.is_denied()
            || (!self.is_reversal() && self.paid == 0 && self.patient_responsibility == 0);
        let status = if self.is_reversal() {
            ClaimStatus::Reversed
        } else if denied {
            ClaimStatus::Denied
        } else {
            ClaimStatus::Paid
        };
        let codes: Vec<String> = self
            .all_adjustments()
            .map(Adjustment::code)
            .filter(|c| !c.starts_with("PR-"))
            .filter(|c| denied || WORK_CODES.contains(&c.as_str()))
            .collect();
        let work = match codes.first() {
            Some(first) => Some((
                first.clone(),
                codes
                    .iter()
                    .map(|c| meaning(c))
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
            None if denied => Some((
                "DENIED".to_owned(),
                "denied without a reason code".to_owned(),
            )),
            None => None,
        };
        Outcome { status, work }
    }
}

/// A provider-level adjustment (PLB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAdjustment {
    /// Reason code (e.g. WO, L6, FB).
    pub reason: String,
    /// Its reference.
    pub reference: String,
    /// Cents; positive reduces the payment.
    pub cents: i64,
}

/// A payment as an 835 states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remittance {
    /// The payer's id: N1*PR N104, else REF*2U, else TRN03.
    pub payer_id: String,
    /// TRN02: the check or EFT trace number.
    pub trace: String,
    /// BPR02.
    pub paid: i64,
    /// N1*PE N104: the payee's NPI.
    pub payee_npi: String,
    /// Claims.
    pub claims: Vec<ClaimPayment>,
    /// PLB adjustments.
    pub provider_adjustments: Vec<ProviderAdjustment>,
}

fn el(s: &Segment, i: usize) -> &str {
    s.get(i).map(String::as_str).unwrap_or_default()
}

/// An element that is kept or published, at most `max` characters (its
/// X12 maximum): a payer's file cannot put an arbitrary string into a row
/// or an event.
fn bounded(s: &Segment, i: usize, max: usize) -> Result<&str, String> {
    let v = el(s, i);
    if v.chars().count() > max {
        return Err(format!(
            "{}{i:02} is longer than {max} characters",
            el(s, 0)
        ));
    }
    Ok(v)
}

fn amount(s: &Segment, i: usize, what: &str) -> Result<i64, String> {
    money::from_x12(el(s, i)).ok_or_else(|| {
        format!(
            "{what} ({}{i:02}) {:?} is not an amount",
            el(s, 0),
            el(s, i)
        )
    })
}

fn adjustments(s: &Segment) -> Result<Vec<Adjustment>, String> {
    let group = bounded(s, 1, 2)?.to_owned();
    if !matches!(group.as_str(), "CO" | "PR" | "OA" | "PI" | "CR") {
        return Err(format!("CAS01 {group:?} is not an adjustment group"));
    }
    let mut out = Vec::new();
    for i in (2..s.len()).step_by(3) {
        if el(s, i).is_empty() {
            continue;
        }
        out.push(Adjustment {
            group: group.clone(),
            reason: bounded(s, i, 5)?.to_owned(),
            cents: amount(s, i + 1, "adjustment amount")?,
        });
    }
    Ok(out)
}

/// Reads an 835, then checks it balances.
pub fn read(parsed: &Parsed) -> Result<Remittance, String> {
    let mut r = Remittance {
        payer_id: String::new(),
        trace: String::new(),
        paid: 0,
        payee_npi: String::new(),
        claims: Vec::new(),
        provider_adjustments: Vec::new(),
    };
    let mut trn03 = String::new();
    let mut ref_2u = String::new();
    let mut in_line = false;
    let mut saw_bpr = false;
    let mut transaction = String::new();
    for s in &parsed.segments {
        match el(s, 0) {
            "ST" => transaction = el(s, 1).to_owned(),
            "BPR" => {
                r.paid = amount(s, 2, "total paid")?;
                saw_bpr = true;
            }
            "TRN" => {
                r.trace = bounded(s, 2, 50)?.to_owned();
                trn03 = bounded(s, 3, 10)?.to_owned();
            }
            "REF" if el(s, 1) == "2U" && r.claims.is_empty() => {
                ref_2u = bounded(s, 2, 50)?.to_owned();
            }
            "N1" if el(s, 1) == "PR" => r.payer_id = bounded(s, 4, 80)?.to_owned(),
            "N1" if el(s, 1) == "PE" => r.payee_npi = bounded(s, 4, 80)?.to_owned(),
            "CLP" => {
                in_line = false;
                if el(s, 1).is_empty() {
                    return Err(format!("CLP01 is empty in claim {}", r.claims.len() + 1));
                }
                r.claims.push(ClaimPayment {
                    number: bounded(s, 1, 38)?.to_owned(),
                    status: bounded(s, 2, 2)?.to_owned(),
                    charge: amount(s, 3, "claim charge")?,
                    paid: amount(s, 4, "claim paid")?,
                    patient_responsibility: if el(s, 5).is_empty() {
                        0
                    } else {
                        amount(s, 5, "patient responsibility")?
                    },
                    payer_claim_number: bounded(s, 7, 50)?.to_owned(),
                    adjustments: Vec::new(),
                    lines: Vec::new(),
                });
            }
            "SVC" => {
                let claim = r
                    .claims
                    .last_mut()
                    .ok_or_else(|| "SVC before any CLP".to_owned())?;
                let code = parsed
                    .components(el(s, 1))
                    .get(1)
                    .map(|c| (*c).to_owned())
                    .unwrap_or_default();
                claim.lines.push(LinePayment {
                    code,
                    charge: amount(s, 2, "line charge")?,
                    paid: amount(s, 3, "line paid")?,
                    date: None,
                    adjustments: Vec::new(),
                });
                in_line = true;
            }
            "DTM" if in_line && el(s, 1) == "472" => {
                if let Some(line) = r.claims.last_mut().and_then(|c| c.lines.last_mut()) {
                    line.date = NaiveDate::parse_from_str(el(s, 2), "%Y%m%d").ok();
                }
            }
            "CAS" => {
                let adj = adjustments(s)?;
                let claim = r
                    .claims
                    .last_mut()
                    .ok_or_else(|| "CAS before any CLP".to_owned())?;
                match claim.lines.last_mut().filter(|_| in_line) {
                    Some(line) => line.adjustments.extend(adj),
                    None => claim.adjustments.extend(adj),
                }
            }
            "PLB" => {
                in_line = false;
                for i in (3..s.len()).step_by(2) {
                    if el(s, i).is_empty() {
                        continue;
                    }
                    let parts = parsed.components(el(s, i));
                    let part = |k: usize, max: usize| -> Result<String, String> {
                        let v = parts.get(k).copied().unwrap_or_default();
                        if v.chars().count() > max {
                            return Err(format!("PLB{i:02} is longer than X12 allows"));
                        }
                        Ok(v.to_owned())
                    };
                    r.provider_adjustments.push(ProviderAdjustment {
                        reason: part(0, 2)?,
                        reference: part(1, 50)?,
                        cents: amount(s, i + 1, "provider adjustment")?,
                    });
                }
            }
            _ => {}
        }
    }
    if transaction != "835" {
        return Err(format!(
            "the file is a {transaction:?} transaction, not an 835"
        ));
    }
    if !saw_bpr || r.trace.is_empty() {
        return Err("the 835 has no BPR or TRN (payment and trace number)".into());
    }
    if r.payer_id.is_empty() {
        r.payer_id = if ref_2u.is_empty() { trn03 } else { ref_2u };
    }
    for c in &mut r.claims {
        c.patient_responsibility = check_claim(c)?;
    }
    let claims_paid: i64 = r.claims.iter().map(|c| c.paid).sum();
    let plb: i64 = r.provider_adjustments.iter().map(|p| p.cents).sum();
    if claims_paid - plb != r.paid {
        return Err(format!(
            "BPR02 {} is not the claims paid {} less provider adjustments {}",
            money::to_x12(r.paid),
            money::to_x12(claims_paid),
            money::to_x12(plb)
        ));
    }
    Ok(r)
}

/// Checks a claim balances; returns its patient responsibility.
fn check_claim(c: &ClaimPayment) -> Result<i64, String> {
    for (i, l) in c.lines.iter().enumerate() {
        let adjusted: i64 = l.adjustments.iter().map(|a| a.cents).sum();
        if l.charge != l.paid + adjusted {
            return Err(format!(
                "claim {}: line {} ({}) does not balance: charge {} != paid {} + adjustments {}",
                c.number,
                i + 1,
                l.code,
                money::to_x12(l.charge),
                money::to_x12(l.paid),
                money::to_x12(adjusted)
            ));
        }
    }
    let adjusted: i64 = c.all_adjustments().map(|a| a.cents).sum();
    if c.charge != c.paid + adjusted {
        return Err(format!(
            "claim {} does not balance: charge {} != paid {} + adjustments {}",
            c.number,
            money::to_x12(c.charge),
            money::to_x12(c.paid),
            money::to_x12(adjusted)
        ));
    }
    let pr: i64 = c
        .all_adjustments()
        .filter(|a| a.group == "PR")
        .map(|a| a.cents)
        .sum();
    if c.patient_responsibility != 0 && c.patient_responsibility != pr {
        return Err(format!(
            "claim {}: CLP05 {} is not its PR adjustments {}",
            c.number,
            money::to_x12(c.patient_responsibility),
            money::to_x12(pr)
        ));
    }
    Ok(pr)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::x12::parse;

    const ISA: &str = "ISA*00*          *00*          *ZZ*99PHP          *ZZ*IOPNET         *261201*1200*^*00501*000000007*0*T*:~\nGS*HP*99PHP*IOPNET*20261201*1200*7*X*005010X221A1~\n";

    fn file(body: &[&str]) -> String {
        let mut segments = vec!["ST*835*0001"];
        segments.extend_from_slice(body);
        let count = segments.len() + 1;
        let mut out = ISA.to_owned();
        for s in segments {
            out.push_str(s);
            out.push_str("~\n");
        }
        out.push_str(&format!("SE*{count}*0001~\nGE*1*7~\nIEA*1*000000007~\n"));
        out
    }

    #[test]
    fn coinsurance_and_a_plb_balance() {
        let text = file(&[
            "BPR*I*390*C*ACH*CCP*01*111000025*DA*123456*1512345678**01*999888777*DA*98765*20261201",
            "TRN*1*EFT0001*1512345678",
            "N1*PR*PACIFIC HEALTH PLAN*XV*99PHP",
            "N1*PE*IOP NETWORK OAKLAND*XX*1543218774",
            "LX*1",
            "CLP*C000000002*1*500*400*100*12*PHP-77",
            "SVC*HC:H0015*250*200**1",
            "DTM*472*20261102",
            "CAS*PR*2*50",
            "SVC*HC:H0015*250*200**1",
            "DTM*472*20261103",
            "CAS*PR*2*50",
            "PLB*1543218774*20261231*L6:INT01*-15*WO:REC01*25",
        ]);
        let r = read(&parse(&text).unwrap()).unwrap();
        assert_eq!(
            (r.payer_id.as_str(), r.trace.as_str(), r.paid),
            ("99PHP", "EFT0001", 39_000)
        );
        let c = &r.claims[0];
        assert_eq!(
            (c.charge, c.paid, c.patient_responsibility),
            (50_000, 40_000, 10_000)
        );
        assert_eq!(c.lines[1].date, NaiveDate::from_ymd_opt(2026, 11, 3));
        assert_eq!(c.lines[0].adjustments[0].code(), "PR-2");
        assert_eq!(r.provider_adjustments.len(), 2);
        assert_eq!(r.provider_adjustments[1].cents, 2_500);
    }

    fn payment(status: &str, paid: i64, adjustments: &[(&str, &str, i64)]) -> ClaimPayment {
        let adjustments: Vec<Adjustment> = adjustments
            .iter()
            .map(|(g, r, c)| Adjustment {
                group: (*g).into(),
                reason: (*r).into(),
                cents: *c,
            })
            .collect();
        let pr = adjustments
            .iter()
            .filter(|a| a.group == "PR")
            .map(|a| a.cents)
            .sum();
        ClaimPayment {
            number: "C1".into(),
            status: status.into(),
            charge: 25_000,
            paid,
            patient_responsibility: pr,
            payer_claim_number: String::new(),
            adjustments,
            lines: vec![],
        }
    }

    #[test]
    fn a_payment_pays_denies_or_reverses_and_names_what_a_biller_must_do() {
        use iop_proto::billing::v1::ClaimStatus;
        let paid = payment("1", 20_000, &[("CO", "45", 5_000)]).outcome();
        assert_eq!((paid.status, paid.work), (ClaimStatus::Paid, None));
        let coinsurance = payment("1", 20_000, &[("PR", "2", 5_000)]).outcome();
        assert_eq!(
            (coinsurance.status, coinsurance.work),
            (ClaimStatus::Paid, None)
        );
        let denied = payment("4", 0, &[("CO", "197", 25_000)]).outcome();
        assert_eq!(denied.status, ClaimStatus::Denied);
        let (code, why) = denied.work.unwrap();
        assert_eq!(code, "CO-197");
        assert!(why.contains("authorization"), "{why}");
        let nothing = payment("1", 0, &[("CO", "29", 25_000)]).outcome();
        assert_eq!(
            nothing.status,
            ClaimStatus::Denied,
            "paid nothing, owed nothing"
        );
        assert_eq!(nothing.work.unwrap().0, "CO-29");
        let partly = payment("1", 10_000, &[("CO", "197", 15_000)]).outcome();
        assert_eq!(
            (partly.status, partly.work.unwrap().0.as_str()),
            (ClaimStatus::Paid, "CO-197")
        );
        let bare = payment("4", 0, &[]).outcome();
        assert_eq!(bare.work.unwrap().0, "DENIED");
        let reversed = payment("22", -25_000, &[]).outcome();
        assert_eq!(
            (reversed.status, reversed.work),
            (ClaimStatus::Reversed, None)
        );
    }

    #[test]
    fn a_value_longer_than_x12_allows_is_refused() {
        let text = file(&[
            "BPR*I*0*C*ACH",
            &format!("TRN*1*{}*1512345678", "9".repeat(60)),
        ]);
        let e = read(&parse(&text).unwrap()).unwrap_err();
        assert!(e.contains("TRN02"), "{e}");
    }

    #[test]
    fn an_unbalanced_claim_is_named() {
        let text = file(&[
            "BPR*I*200*C*ACH*CCP*01*111000025*DA*123456*1512345678**01*999888777*DA*98765*20261201",
            "TRN*1*EFT0002*1512345678",
            "N1*PR*PACIFIC HEALTH PLAN*XV*99PHP",
            "N1*PE*IOP NETWORK OAKLAND*XX*1543218774",
            "CLP*C000000009*1*250*200**12*PHP-78",
            "CAS*CO*45*20",
        ]);
        let e = read(&parse(&text).unwrap()).unwrap_err();
        assert!(e.contains("claim C000000009 does not balance"), "{e}");
        let wrong_total = file(&[
            "BPR*I*999*C*ACH",
            "TRN*1*EFT0003*1512345678",
            "CLP*C1*1*250*250**12",
        ]);
        assert!(
            read(&parse(&wrong_total).unwrap())
                .unwrap_err()
                .contains("BPR02")
        );
    }
}
