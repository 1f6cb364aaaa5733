#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use super::*;

const CUP: &str = include_str!("../../samples/oru/presumptive_cup.hl7");
const FENTANYL: &str = include_str!("../../samples/oru/definitive_fentanyl.hl7");
const METHADONE: &str = include_str!("../../samples/oru/definitive_methadone.hl7");
const UNKNOWN: &str = include_str!("../../samples/oru/unknown_accession.hl7");
const FILLER_ONLY: &str = include_str!("../../samples/oru/presumptive_filler_only.hl7");

fn at() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 28)
        .unwrap()
        .and_hms_opt(23, 0, 0)
        .unwrap()
}

#[test]
fn a_presumptive_cup_result_parses_with_its_order_and_specimen() {
    let r = parse_oru(CUP).unwrap();
    assert_eq!(r.control_id, "POC0001");
    assert_eq!(r.version, "2.5.1");
    assert_eq!(r.patient_id, "0193a1b2-0000-7000-8000-000000000001");
    assert_eq!(
        (r.placer_order.as_str(), r.filler_order.as_str()),
        ("ACC-1001", "CUP-1001")
    );
    assert_eq!(r.specimen_id, "SPEC-1001");
    assert_eq!(r.test_code, "80306");
    assert_eq!(
        r.collected_at,
        NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_opt(9, 5, 0)
    );
    assert_eq!(r.observations.len(), 4);
    let bup = &r.observations[0];
    assert_eq!(bup.code, "BUPS");
    assert_eq!(bup.value, Value::Text("POSITIVE".into()));
    assert_eq!(
        (bup.cutoff, bup.flag.as_str(), bup.status.as_str()),
        (Some(10.0), "A", "F")
    );
}

#[test]
fn definitive_results_carry_numbers_units_and_cut_offs() {
    let r = parse_oru(FENTANYL).unwrap();
    assert_eq!(
        r.patient_id, "0193a1b2-0000-7000-8000-000000000001",
        "first repetition"
    );
    assert_eq!(r.filler_order, "L-88231");
    let values: Vec<(&str, f64, &str, Option<f64>)> = r
        .observations
        .iter()
        .map(|o| match o.value {
            Value::Number(n) => (o.code.as_str(), n, o.units.as_str(), o.cutoff),
            Value::Text(_) => panic!("NM values are numbers"),
        })
        .collect();
    assert_eq!(
        values,
        [
            ("BUPC", 45.2, "ng/mL", Some(5.0)),
            ("NBUPC", 118.0, "ng/mL", Some(5.0)),
            ("FENTC", 12.5, "ng/mL", Some(1.0)),
            ("NFENTC", 31.0, "ng/mL", Some(1.0)),
        ]
    );
    let m = parse_oru(METHADONE).unwrap();
    assert_eq!(m.observations[1].value, Value::Number(0.0));
    assert_eq!(m.observations[1].flag, "N");
    // A result without our accession still parses: matching queues it.
    let u = parse_oru(UNKNOWN).unwrap();
    assert_eq!(u.placer_order, "ACC-9999");
    assert_eq!(
        u.observations[0].name,
        "6-Acetylmorphine, confirmation, urine"
    );
    let f = parse_oru(FILLER_ONLY).unwrap();
    assert!(f.placer_order.is_empty());
    assert_eq!(f.filler_order, "CUP-2001");
}

#[test]
fn accepted_messages_are_acknowledged_aa_naming_them() {
    for sample in [CUP, FENTANYL, METHADONE, UNKNOWN, FILLER_ONLY] {
        let r = parse_oru(sample).unwrap();
        let a = ack(
            &r.control_id,
            AckCode::Aa,
            None,
            (&r.sending_application, &r.sending_facility),
            at(),
            "ACK-1",
        );
        let segments: Vec<&str> = a.split('\r').filter(|s| !s.is_empty()).collect();
        assert_eq!(segments.len(), 2, "{a}");
        assert!(segments[0].starts_with("MSH|^~\\&|IOP|IOP|"));
        assert!(segments[0].contains("|ACK^R01^ACK|ACK-1|P|2.5.1"));
        assert_eq!(segments[1], format!("MSA|AA|{}|", r.control_id));
    }
}

fn broken(find: &str, replace: &str) -> String {
    assert!(CUP.contains(find), "{find}");
    CUP.replacen(find, replace, 1)
}

#[test]
fn malformed_messages_are_refused_naming_segment_and_field() {
    let cases = [
        // Not a result: rejected.
        (
            broken("ORU^R01^ORU_R01", "ADT^A01^ADT_A01"),
            "MSH",
            1,
            9,
            AckCode::Ar,
            200,
        ),
        (broken("|2.5.1", "|3.0"), "MSH", 1, 12, AckCode::Ar, 203),
        // Content errors: AE.
        (broken("|POC0001|", "||"), "MSH", 1, 10, AckCode::Ae, 101),
        (
            broken(
                "PID|1||0193a1b2-0000-7000-8000-000000000001^^^IOP^PI|",
                "PID|1|||",
            ),
            "PID",
            1,
            3,
            AckCode::Ae,
            101,
        ),
        (
            broken("OBR|1|ACC-1001|CUP-1001|", "OBR|1|||"),
            "OBR",
            1,
            2,
            AckCode::Ae,
            101,
        ),
        (
            broken("|||20261127090500-0800", "|||yesterday"),
            "OBR",
            1,
            7,
            AckCode::Ae,
            102,
        ),
        (
            broken("OBX|2|ST|OPIS", "OBX|2|NM|OPIS"),
            "OBX",
            2,
            5,
            AckCode::Ae,
            102,
        ),
    ];
    for (text, segment, position, field, code, hl7) in cases {
        let e = parse_oru(&text).unwrap_err();
        assert_eq!(
            (e.segment.as_str(), e.position, e.field, e.ack, e.code),
            (segment, position, field, code, hl7),
            "{e}"
        );
        // The acknowledgement says where.
        let a = ack(
            &control_id(&text).unwrap_or_default(),
            e.ack,
            Some(&e),
            ("POCREADER", "IOP-OAKLAND"),
            at(),
            "ACK-2",
        );
        assert!(a.contains(&format!("MSA|{}|", e.ack.as_str())), "{a}");
        assert!(
            a.contains(&format!("ERR||{segment}^{position}^{field}|{hl7}^")),
            "{a}"
        );
    }
    // Not HL7 at all.
    let e = parse_oru("hello").unwrap_err();
    assert_eq!((e.segment.as_str(), e.ack), ("MSH", AckCode::Ar));
    assert_eq!(control_id("hello"), None);
    // Only a header.
    let header = CUP.split('\r').next().unwrap();
    assert_eq!(parse_oru(header).unwrap_err().reason, "no PID segment");
}

#[test]
fn escapes_are_decoded_and_written() {
    let d = Delimiters {
        field: '|',
        component: '^',
        repetition: '~',
        escape: '\\',
        subcomponent: '&',
    };
    assert_eq!(
        unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", d),
        "a|b^c&d~e\\f"
    );
    assert_eq!(unescape("open\\Xend", d), "open\\Xend");
    let e = Hl7Error {
        segment: "OBX".into(),
        position: 1,
        field: 5,
        reason: "a|b^c".into(),
        ack: AckCode::Ae,
        code: 102,
    };
    let a = ack("X1", AckCode::Ae, Some(&e), ("A", "B"), at(), "ACK-3");
    assert!(a.contains("a\\F\\b\\S\\c"), "{a}");
    // Line feeds between segments are accepted as well as carriage returns.
    let lf = CUP.replace('\r', "\n");
    assert_eq!(parse_oru(&lf).unwrap().observations.len(), 4);
}

/// The facts `samples/oru/expected.json` lists, which `scripts/check-hl7.py`
/// also checks with hl7apy: both parsers must read every sample the same.
#[test]
fn this_parser_agrees_with_the_table_hl7apy_is_checked_against() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/oru");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/expected.json")).unwrap())
            .unwrap();
    let table = expected.as_object().unwrap();
    assert_eq!(table.len(), 5);
    for (file, want) in table {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        let r = parse_oru(&text).unwrap();
        let observations: Vec<serde_json::Value> = r
            .observations
            .iter()
            .map(|o| {
                let value = match &o.value {
                    // As sent: the table holds the text of OBX-5.
                    Value::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
                    Value::Number(n) => n.to_string(),
                    Value::Text(t) => t.clone(),
                };
                serde_json::json!([o.code, value])
            })
            .collect();
        let got = serde_json::json!({
            "control_id": r.control_id,
            "patient_id": r.patient_id,
            "placer_order": r.placer_order,
            "filler_order": r.filler_order,
            "observations": observations,
        });
        assert_eq!(&got, want, "{file}");
    }
}

#[test]
fn a_network_cut_off_decides_alone_else_the_laboratory_s() {
    let o = |value: Value, cutoff: Option<f64>, flag: &str| Observation {
        code: "FENTC".into(),
        name: String::new(),
        value,
        units: "ng/mL".into(),
        cutoff,
        flag: flag.into(),
        status: "F".into(),
    };
    // The laboratory's cut-off and flag.
    assert!(detected(&o(Value::Number(1.5), Some(1.0), ""), None));
    assert!(!detected(&o(Value::Number(0.5), Some(1.0), "N"), None));
    assert!(detected(&o(Value::Number(0.5), None, "A"), None));
    // Ours replaces it: 1.5 ng/mL is below a 2 ng/mL cut-off, flag or not.
    assert!(!detected(&o(Value::Number(1.5), Some(1.0), "A"), Some(2.0)));
    assert!(detected(&o(Value::Number(2.0), Some(5.0), "N"), Some(2.0)));
    assert!(detected(&o(Value::Text("Positive".into()), None, ""), None));
    assert!(!detected(
        &o(Value::Text("NEGATIVE".into()), None, "N"),
        None
    ));
}
