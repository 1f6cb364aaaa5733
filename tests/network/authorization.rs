//! The authorization matrix: one table ([`RULES`]) states, for every RPC that
//! reads or changes one patient's record, whether it reads or writes and which
//! roles may call it; [`expected`] states the access rule over it. The test
//! calls every RPC as every role, acting for Fresno, on a patient in every
//! relation to Fresno, and compares each answer with the rule — and checks that
//! every refusal for the patient's sake reads "permission denied" and is in the
//! trail. The table documents the rule:
//!
//! | relation of the patient to the caller's facility | read | write |
//! |---|---|---|
//! | registered there | yes | yes |
//! | linked there (`LinkPatientToFacility`) | yes | yes |
//! | an episode there (here: transferred in) | yes | yes |
//! | a consent naming it, for treatment | intake, clinician, admin | no |
//! | a consent naming it, for payment | billing | no |
//! | none | no | no |
//! | a merged-away id whose survivor is known there | yes (the survivor) | FAILED_PRECONDITION (change the survivor) |
//! | an id that names nobody | no | no |
//!
//! A role the RPC does not admit is refused before anything is read (logged,
//! not audited: no patient is touched). Scheduling's patient reads apply the
//! same rule (`iop_consent::access`) and are covered in its own tests.

use std::collections::BTreeMap;

use iop_proto::{
    admissions::v1::{
        CheckDisclosureRequest, Demographics, GetDemographicHistoryRequest, GetPatientRequest,
        LinkPatientToFacilityRequest, ListConsentsRequest, MergePatientsRequest,
        RecordConsentRequest, RecordCoverageRequest, TransferPatientRequest,
        UpdateDemographicsRequest,
    },
    common::v1::{
        ConsentInformation, ConsentPurpose, Coverage, Date, DisclosurePurpose, LinkReason, Program,
        SubscriberRelationship,
    },
    patientview::v1::GetPatientViewRequest,
};
use iop_runtime::auth::Role;
use iop_testkit::{
    Backend, TestNetwork, admit, audit_rows, authed, consent_to, iop_assessment, register,
    registration,
};
use tonic::{Code, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// One RPC on one patient's record.
struct Rule {
    /// `<service>.<Rpc>`, as the trail names it.
    rpc: &'static str,
    kind: Kind,
    /// The roles its service's role table admits.
    roles: &'static [Role],
}

const READERS: &[Role] = &[Role::Intake, Role::Clinician, Role::Billing, Role::Admin];
const INTAKE: &[Role] = &[Role::Intake, Role::Admin];
const CARE_TEAM: &[Role] = &[Role::Intake, Role::Clinician, Role::Admin];
const COVERAGE: &[Role] = &[Role::Intake, Role::Billing, Role::Admin];

/// The table.
const RULES: &[Rule] = &[
    Rule {
        rpc: "admissions.GetPatient",
        kind: Kind::Read,
        roles: READERS,
    },
    Rule {
        rpc: "admissions.ListConsents",
        kind: Kind::Read,
        roles: READERS,
    },
    Rule {
        rpc: "admissions.CheckDisclosure",
        kind: Kind::Read,
        roles: READERS,
    },
    Rule {
        rpc: "admissions.GetDemographicHistory",
        kind: Kind::Read,
        roles: INTAKE,
    },
    Rule {
        rpc: "patientview.GetPatientView",
        kind: Kind::Read,
        roles: READERS,
    },
    Rule {
        rpc: "admissions.UpdateDemographics",
        kind: Kind::Write,
        roles: INTAKE,
    },
    Rule {
        rpc: "admissions.RecordConsent",
        kind: Kind::Write,
        roles: CARE_TEAM,
    },
    Rule {
        rpc: "admissions.RecordCoverage",
        kind: Kind::Write,
        roles: COVERAGE,
    },
    Rule {
        rpc: "admissions.RecordAssessment",
        kind: Kind::Write,
        roles: CARE_TEAM,
    },
];

const ROLES: [Role; 5] = [
    Role::Intake,
    Role::Clinician,
    Role::Billing,
    Role::Admin,
    Role::Auditor,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Relation {
    Registered,
    Linked,
    Episode,
    ConsentTreatment,
    ConsentPayment,
    None,
    MergedAway,
    Nobody,
    /// Set-up only: the record the merged-away one lives on in.
    Survivor,
}

const RELATIONS: [Relation; 8] = [
    Relation::Registered,
    Relation::Linked,
    Relation::Episode,
    Relation::ConsentTreatment,
    Relation::ConsentPayment,
    Relation::None,
    Relation::MergedAway,
    Relation::Nobody,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    /// The role may not call the RPC.
    RoleDenied,
    /// The access rule refuses: audited.
    Denied,
    /// Authorised, but the record was merged away: change the survivor.
    Merged,
}

/// The purpose a role's calls carry when they state none.
fn treats(role: Role) -> bool {
    matches!(role, Role::Intake | Role::Clinician | Role::Admin)
}

/// The access rule.
fn expected(rule: &Rule, role: Role, relation: Relation) -> Outcome {
    if !rule.roles.contains(&role) {
        return Outcome::RoleDenied;
    }
    let known = matches!(
        relation,
        Relation::Registered | Relation::Linked | Relation::Episode | Relation::MergedAway
    );
    match (rule.kind, relation) {
        (Kind::Write, Relation::MergedAway) => Outcome::Merged,
        (_, _) if known => Outcome::Allowed,
        (Kind::Read, Relation::ConsentTreatment) if treats(role) => Outcome::Allowed,
        (Kind::Read, Relation::ConsentPayment) if role == Role::Billing => Outcome::Allowed,
        _ => Outcome::Denied,
    }
}

fn day(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// Calls `rpc` on `pid` with `token`.
async fn call(net: &TestNetwork, rpc: &str, token: &str, pid: &str) -> Result<(), Status> {
    let mut admissions = net.admissions().await;
    let id = || pid.to_owned();
    match rpc {
        "admissions.GetPatient" => admissions
            .get_patient(authed(GetPatientRequest { patient_id: id() }, token))
            .await
            .map(drop),
        "admissions.ListConsents" => admissions
            .list_consents(authed(ListConsentsRequest { patient_id: id() }, token))
            .await
            .map(drop),
        "admissions.CheckDisclosure" => admissions
            .check_disclosure(authed(
                CheckDisclosureRequest {
                    patient_id: id(),
                    recipient_id: "san-diego".into(),
                    purpose: Some(ConsentPurpose {
                        purpose: DisclosurePurpose::Treatment as i32,
                        description: String::new(),
                    }),
                    information: ConsentInformation::Attendance as i32,
                    at: Some(iop_runtime::wire::timestamp(chrono::Utc::now())),
                    ..Default::default()
                },
                token,
            ))
            .await
            .map(drop),
        "admissions.GetDemographicHistory" => admissions
            .get_demographic_history(authed(
                GetDemographicHistoryRequest { patient_id: id() },
                token,
            ))
            .await
            .map(drop),
        "patientview.GetPatientView" => net
            .view()
            .await
            .get_patient_view(authed(
                GetPatientViewRequest {
                    patient_id: id(),
                    consistency_token: String::new(),
                },
                token,
            ))
            .await
            .map(drop),
        "admissions.UpdateDemographics" => {
            let r = registration("Matrix", "Person", "fresno");
            admissions
                .update_demographics(authed(
                    UpdateDemographicsRequest {
                        patient_id: id(),
                        demographics: Some(Demographics {
                            legal_name: r.legal_name,
                            date_of_birth: r.date_of_birth,
                            sex: r.sex,
                            ..Default::default()
                        }),
                        reason: "typo at registration".into(),
                    },
                    token,
                ))
                .await
                .map(drop)
        }
        "admissions.RecordConsent" => admissions
            .record_consent(authed(
                RecordConsentRequest {
                    consent: Some(consent_to(pid, "san-diego")),
                },
                token,
            ))
            .await
            .map(drop),
        "admissions.RecordCoverage" => admissions
            .record_coverage(authed(
                RecordCoverageRequest {
                    coverage: Some(Coverage {
                        patient_id: id(),
                        payer_id: "60054".into(),
                        payer_name: "Aetna".into(),
                        member_id: "W123456".into(),
                        subscriber_relationship: SubscriberRelationship::Self_ as i32,
                        effective_from: day(2026, 11, 1),
                        ..Default::default()
                    }),
                },
                token,
            ))
            .await
            .map(drop),
        "admissions.RecordAssessment" => {
            iop_testkit::assess(&mut admissions, token, pid, "fresno", iop_assessment())
                .await
                .map(drop)
        }
        other => panic!("no call for {other}"),
    }
}

/// Registers `given` at `facility`; returns its id and token.
async fn patient(net: &TestNetwork, token: &str, given: &str, facility: &str) -> (String, String) {
    register(
        &mut net.admissions().await,
        token,
        registration(given, "Matrix", facility),
    )
    .await
    .unwrap()
}

/// Sets up a patient in every relation to Fresno; returns their ids and the
/// token of each one's last write.
async fn relations(net: &TestNetwork) -> BTreeMap<Relation, (String, String)> {
    let oakland = net.token(&[Role::Intake, Role::Clinician], &["oakland"]);
    let fresno = net.token(&[Role::Intake], &["fresno"]);
    let mut admissions = net.admissions().await;
    let mut out = BTreeMap::new();

    out.insert(
        Relation::Registered,
        patient(net, &fresno, "Regina", "fresno").await,
    );

    let (linked, _) = patient(net, &oakland, "Lina", "oakland").await;
    let token = admissions
        .link_patient_to_facility(authed(
            LinkPatientToFacilityRequest {
                patient_id: linked.clone(),
                facility_id: "fresno".into(),
                reason: LinkReason::Referral as i32,
                note: "referred by the Oakland team".into(),
                ..Default::default()
            },
            &fresno,
        ))
        .await
        .unwrap()
        .into_inner()
        .consistency_token;
    out.insert(Relation::Linked, (linked, token));

    let (moved, _) = patient(net, &oakland, "Eve", "oakland").await;
    admit(
        &mut admissions,
        &oakland,
        &moved,
        "oakland",
        Program::IopDay,
    )
    .await
    .unwrap();
    let token = admissions
        .transfer_patient(authed(
            TransferPatientRequest {
                patient_id: moved.clone(),
                to_facility_id: "fresno".into(),
                ..Default::default()
            },
            &oakland,
        ))
        .await
        .unwrap()
        .into_inner()
        .consistency_token;
    out.insert(Relation::Episode, (moved, token));

    for (relation, given, purpose) in [
        (
            Relation::ConsentTreatment,
            "Tessa",
            DisclosurePurpose::Treatment,
        ),
        (Relation::ConsentPayment, "Paz", DisclosurePurpose::Payment),
    ] {
        let (pid, _) = patient(net, &oakland, given, "oakland").await;
        let mut consent = consent_to(&pid, "fresno");
        consent.purposes = vec![ConsentPurpose {
            purpose: purpose as i32,
            description: String::new(),
        }];
        let token = admissions
            .record_consent(authed(
                RecordConsentRequest {
                    consent: Some(consent),
                },
                &oakland,
            ))
            .await
            .unwrap()
            .into_inner()
            .consistency_token;
        out.insert(relation, (pid, token));
    }

    out.insert(
        Relation::None,
        patient(net, &oakland, "Nora", "oakland").await,
    );

    let (survivor, _) = patient(net, &fresno, "Sam", "fresno").await;
    let (duplicate, _) = patient(net, &fresno, "Samuel", "fresno").await;
    let token = admissions
        .merge_patients(authed(
            MergePatientsRequest {
                survivor_id: survivor.clone(),
                merged_away_id: duplicate.clone(),
                reason: "same person registered twice".into(),
            },
            &fresno,
        ))
        .await
        .unwrap()
        .into_inner()
        .consistency_token;
    // The merge's token names the survivor: what the view is synced on.
    out.insert(Relation::MergedAway, (duplicate, String::new()));
    out.insert(Relation::Survivor, (survivor, token));
    out.insert(
        Relation::Nobody,
        (uuid::Uuid::now_v7().to_string(), String::new()),
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_every_role_every_relation_follows_the_rule() {
    let net = TestNetwork::start(Backend::Sqlite).await;
    let patients = relations(&net).await;
    // The view has applied every setup write before the matrix reads it.
    let everyone = net.token(&[Role::Admin], &["*"]);
    for (relation, (pid, token)) in &patients {
        if !token.is_empty() {
            let mut view = net.view().await;
            iop_testkit::read_view(
                &mut view,
                &everyone,
                pid,
                token,
                std::time::Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|e| panic!("{relation:?}: {e:?}"));
        }
    }

    let mut wrong = Vec::new();
    let mut checked = 0;
    for rule in RULES {
        let service = if rule.rpc.starts_with("patientview.") {
            "patient-view"
        } else {
            "admissions"
        };
        let url = net.database_url(service).to_owned();
        for role in ROLES {
            let token = net.token(&[role], &["fresno"]);
            for relation in RELATIONS {
                let pid = &patients[&relation].0;
                let want = expected(rule, role, relation);
                let denials = audit_rows(&url, pid, Some(rule.rpc), "denied").await;
                let got = call(&net, rule.rpc, &token, pid).await;
                let seen = match &got {
                    Ok(()) => Outcome::Allowed,
                    Err(s) if s.code() == Code::FailedPrecondition => Outcome::Merged,
                    Err(s) if s.code() == Code::PermissionDenied => {
                        if s.message() != "permission denied" {
                            wrong.push(format!(
                                "{} as {role:?} on {relation:?}: refusal says {:?}",
                                rule.rpc,
                                s.message()
                            ));
                        }
                        let audited = audit_rows(&url, pid, Some(rule.rpc), "denied").await;
                        if audited == denials + 1 {
                            Outcome::Denied
                        } else {
                            Outcome::RoleDenied
                        }
                    }
                    Err(s) => {
                        wrong.push(format!(
                            "{} as {role:?} on {relation:?}: {:?} {}",
                            rule.rpc,
                            s.code(),
                            s.message()
                        ));
                        continue;
                    }
                };
                checked += 1;
                if seen != want {
                    wrong.push(format!(
                        "{} as {role:?} on {relation:?}: expected {want:?}, got {seen:?}",
                        rule.rpc
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells off the rule:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(checked, RULES.len() * ROLES.len() * RELATIONS.len());
    net.stop().await;
}
