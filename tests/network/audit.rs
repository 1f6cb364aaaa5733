//! The audit trail as an auditor uses it, on SQLite and PostgreSQL: a
//! patient's trail through `iop.audit.v1.AuditService` (allowed and denied
//! entries, from every service, a page at a time), the accounting of
//! disclosures with the consent each relied on, and tampering found — a row
//! edited in the database is named by `VerifyAuditChain` and by
//! `iop verify-audit`, which exits 1.

use std::{collections::BTreeSet, process::Command, time::Duration};

use iop_proto::{
    admissions::v1::{GetPatientRequest, RecordConsentRequest},
    audit::v1::{
        AuditEntry, AuditOutcome, ListAuditEntriesRequest, VerifyAuditChainRequest,
        audit_service_client::AuditServiceClient,
    },
};
use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, authed, consent_to, read_view, register, registration};
use rstest::rstest;
use sea_orm::{ConnectionTrait, DbBackend};
use tonic::Code;

const WITHIN: Duration = Duration::from_secs(10);

/// Every entry about `patient_id`, walking pages of `page_size`.
async fn whole_trail(
    audit: &mut AuditServiceClient<tonic::transport::Channel>,
    token: &str,
    patient_id: &str,
    page_size: u32,
) -> Vec<AuditEntry> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    for _ in 0..10_000 {
        let page = audit
            .list_audit_entries(authed(
                ListAuditEntriesRequest {
                    patient_id: patient_id.into(),
                    page_size,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.entries.len() <= page_size as usize);
        all.extend(page.entries);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
    panic!("the walk through the trail did not end");
}

/// Runs `iop <args>` with `service`'s database and the network's chain key;
/// returns success and what it printed.
fn iop(net: &TestNetwork, service: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iop"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IOP__DATABASE__URL", net.database_url(service))
        .env(
            "IOP__AUDIT__CHAIN_KEY",
            net.settings.audit.chain_key.expose(),
        )
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_read_the_trail_account_disclosures_and_find_tampering(#[case] backend: Backend) {
    let net = TestNetwork::start(backend).await;
    let oakland = net.token(&[Role::Intake], &["oakland"]);
    let fresno = net.token(&[Role::Clinician], &["fresno"]);
    let auditor = net.token(&[Role::Auditor], &["*"]);
    let mut admissions = net.admissions().await;
    let mut view = net.view().await;
    let mut audit = AuditServiceClient::new(net.channel().await);
    let get = |pid: &str| GetPatientRequest {
        patient_id: pid.into(),
    };

    let (pid, _) = register(
        &mut admissions,
        &oakland,
        registration("Noor", "Haddad", "oakland"),
    )
    .await
    .unwrap();
    // Fresno has no business with the patient yet: denied, and audited.
    let denied = admissions
        .get_patient(authed(get(&pid), &fresno))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // Then the patient consents to Fresno: its reads are disclosures.
    let consented = admissions
        .record_consent(authed(
            RecordConsentRequest {
                consent: Some(consent_to(&pid, "fresno")),
            },
            &oakland,
        ))
        .await
        .unwrap()
        .into_inner();
    let consent_id = consented.consent.unwrap().consent_id;
    admissions
        .get_patient(authed(get(&pid), &fresno))
        .await
        .unwrap();
    read_view(
        &mut view,
        &fresno,
        &pid,
        &consented.consistency_token,
        WITHIN,
    )
    .await
    .unwrap();

    // Only auditors and admins read the trail.
    let refused = audit
        .list_audit_entries(authed(
            ListAuditEntriesRequest {
                patient_id: pid.clone(),
                ..Default::default()
            },
            &oakland,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let bad = audit
        .list_audit_entries(authed(
            ListAuditEntriesRequest {
                page_size: 501,
                ..Default::default()
            },
            &auditor,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().starts_with("page_size"), "{}", bad.message());

    let trail = whole_trail(&mut audit, &auditor, &pid, 500).await;
    let paged = whole_trail(&mut audit, &auditor, &pid, 2).await;
    let ids = |t: &[AuditEntry]| t.iter().map(|e| e.entry_id.clone()).collect::<Vec<_>>();
    // The paged walk saw what the single page saw (plus the auditor's own reads
    // of the trail, which are audited too), each entry once.
    let paged_ids = ids(&paged);
    assert_eq!(
        paged_ids.iter().collect::<BTreeSet<_>>().len(),
        paged_ids.len()
    );
    for id in ids(&trail) {
        assert!(
            paged_ids.contains(&id),
            "entry {id} missing from the paged walk"
        );
    }
    assert!(trail.iter().all(|e| e.patient_id == pid));
    let fresno_denied = trail
        .iter()
        .find(|e| e.action == "admissions.GetPatient" && e.outcome == AuditOutcome::Denied as i32)
        .expect("the denied read is in the trail");
    assert_eq!(fresno_denied.service, "admissions");
    assert!(fresno_denied.consent_id.is_empty());
    let fresno_read = trail
        .iter()
        .find(|e| e.action == "admissions.GetPatient" && e.outcome == AuditOutcome::Allowed as i32)
        .expect("the allowed read is in the trail");
    assert_eq!(
        (
            fresno_read.facility_id.as_str(),
            fresno_read.consent_id.as_str()
        ),
        ("fresno", consent_id.as_str())
    );
    assert_eq!(fresno_read.purpose, "treatment");
    let view_read = trail
        .iter()
        .find(|e| e.service == "patient-view" && e.action == "patientview.GetPatientView")
        .expect("the view's read is in the trail");
    assert_eq!(view_read.consent_id, consent_id);
    assert!(
        trail
            .iter()
            .any(|e| e.action == "admissions.RecordConsent" && e.facility_id == "oakland")
    );
    // Reading the trail is audited: the first walk's reads are in the second,
    // and a walk does not see its own (it ends where the trails ended when it began).
    assert!(
        !trail
            .iter()
            .any(|e| e.action == "audit.ListAuditEntries"
                && e.outcome == AuditOutcome::Allowed as i32),
        "{trail:?}"
    );
    // The intake worker's refused attempt is in every trail of the process,
    // on the patient it asked about.
    let refusals: BTreeSet<_> = trail
        .iter()
        .filter(|e| {
            e.action == "audit.ListAuditEntries"
                && e.outcome == AuditOutcome::Denied as i32
                && e.actor_roles == "intake"
        })
        .map(|e| e.service.as_str())
        .collect();
    let every_service: BTreeSet<&str> = iop_registry::names().into_iter().collect();
    assert_eq!(refusals, every_service);
    let audit_reads: Vec<_> = paged
        .iter()
        .filter(|e| {
            e.action == "audit.ListAuditEntries" && e.outcome == AuditOutcome::Allowed as i32
        })
        .collect();
    assert_eq!(
        audit_reads.len(),
        iop_registry::SERVICES.len(),
        "one row per trail read: {audit_reads:?}"
    );
    assert!(
        audit_reads
            .iter()
            .all(|e| e.purpose == "audit" && e.actor_roles == "auditor")
    );

    // The accounting of disclosures: Fresno's reads under the consent, nothing else.
    let disclosures = iop_testkit::account_disclosures(&net, &auditor, &pid).await;
    let services: BTreeSet<&str> = disclosures.iter().map(|d| d.service.as_str()).collect();
    assert_eq!(services, BTreeSet::from(["admissions", "patient-view"]));
    assert!(
        disclosures
            .iter()
            .all(|d| d.consent_id == consent_id && d.facility_id == "fresno")
    );

    // Every trail verifies; then a row is edited behind the service's back.
    let verified = audit
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &auditor))
        .await
        .unwrap()
        .into_inner()
        .trails;
    assert_eq!(verified.len(), iop_registry::SERVICES.len());
    assert!(
        verified.iter().all(|t| t.intact && t.rows > 0),
        "{verified:?}"
    );
    let (ok, said) = iop(
        &net,
        "admissions",
        &["verify-audit", "--service", "admissions"],
    );
    assert!(ok, "{said}");
    assert!(said.contains("audit trail intact"), "{said}");

    let db = sea_orm::Database::connect(net.database_url("admissions"))
        .await
        .unwrap();
    let edit = format!(
        "UPDATE audit_log SET facility_id = 'sacramento' WHERE id = '{}'",
        fresno_read.entry_id
    );
    let refused = db.execute_unprepared(&edit).await.unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    // Someone with the rights to drop the trigger can still edit; the chain shows it.
    let drop = match db.get_database_backend() {
        DbBackend::Postgres => "DROP TRIGGER audit_log_append_only ON audit_log",
        _ => "DROP TRIGGER audit_log_sealed",
    };
    db.execute_unprepared(drop).await.unwrap();
    db.execute_unprepared(&edit).await.unwrap();

    let verified = audit
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &auditor))
        .await
        .unwrap()
        .into_inner()
        .trails;
    let admissions_trail = verified.iter().find(|t| t.service == "admissions").unwrap();
    assert!(!admissions_trail.intact);
    assert_eq!(admissions_trail.first_broken_sequence, fresno_read.sequence);
    assert_eq!(admissions_trail.first_broken_entry_id, fresno_read.entry_id);
    assert!(
        verified
            .iter()
            .filter(|t| t.service != "admissions")
            .all(|t| t.intact)
    );
    let (ok, said) = iop(
        &net,
        "admissions",
        &["verify-audit", "--service", "admissions"],
    );
    assert!(!ok, "verify-audit exits 1 on a broken trail: {said}");
    assert!(
        said.contains(&format!("broken at row {}", fresno_read.sequence)),
        "{said}"
    );
    // The operator's view of the outbox: nothing parked on a healthy network.
    let (ok, said) = iop(
        &net,
        "admissions",
        &["outbox", "--service", "admissions", "parked"],
    );
    assert!(
        ok && said.starts_with("admissions: 0 parked row(s)"),
        "{said}"
    );
    db.close().await.unwrap();
    net.stop().await;
}
