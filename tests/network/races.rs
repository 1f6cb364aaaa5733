//! Admissions commands racing on PostgreSQL, as two replicas would run them:
//! a merge and a discharge of the merged-away record sent at the same moment
//! leave admissions and the view agreeing on whether the survivor is in care,
//! whichever wins.

use std::time::Duration;

use iop_proto::{
    admissions::v1::{DischargePatientRequest, GetPatientRequest, MergePatientsRequest},
    common::v1::{DischargeReason, Program},
};
use iop_runtime::auth::Role;
use iop_testkit::{Backend, TestNetwork, admit, authed, read_view, register, registration};
use tonic::Code;

const WITHIN: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_merge_racing_a_discharge_leaves_one_consistent_story() {
    let net = TestNetwork::start(Backend::Postgres).await;
    let staff = net.token(&[Role::Intake, Role::Clinician], &["oakland"]);
    let mut admissions = net.admissions().await;
    let (mut merged_first, mut discharged_first) = (0, 0);
    for round in 0..8 {
        let given = ["Ana", "Ben", "Cai", "Dee", "Eli", "Fox", "Gil", "Hua"][round];
        let (survivor, _) = register(
            &mut admissions,
            &staff,
            registration(given, "Race", "oakland"),
        )
        .await
        .unwrap();
        let (duplicate, _) = register(
            &mut admissions,
            &staff,
            registration(given, "Racer", "oakland"),
        )
        .await
        .unwrap();
        admit(
            &mut admissions,
            &staff,
            &duplicate,
            "oakland",
            Program::IopDay,
        )
        .await
        .unwrap();
        let merge = {
            let mut c = net.admissions().await;
            let request = authed(
                MergePatientsRequest {
                    survivor_id: survivor.clone(),
                    merged_away_id: duplicate.clone(),
                    reason: "same person registered twice".into(),
                },
                &staff,
            );
            tokio::spawn(async move { c.merge_patients(request).await })
        };
        let discharge = {
            let mut c = net.admissions().await;
            let request = authed(
                DischargePatientRequest {
                    patient_id: duplicate.clone(),
                    reason: DischargeReason::Completed as i32,
                    ..Default::default()
                },
                &staff,
            );
            tokio::spawn(async move { c.discharge_patient(request).await })
        };
        let merged = merge
            .await
            .unwrap()
            .expect("the merge always succeeds")
            .into_inner();
        let discharged = discharge.await.unwrap();
        let mut view = net.view().await;
        match &discharged {
            Ok(d) => {
                discharged_first += 1;
                read_view(
                    &mut view,
                    &staff,
                    &duplicate,
                    &d.get_ref().consistency_token,
                    WITHIN,
                )
                .await
                .unwrap();
            }
            Err(e) => {
                merged_first += 1;
                assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
            }
        }
        let seen = read_view(
            &mut view,
            &staff,
            &survivor,
            &merged.consistency_token,
            WITHIN,
        )
        .await
        .unwrap();
        let record = admissions
            .get_patient(authed(
                GetPatientRequest {
                    patient_id: survivor.clone(),
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner()
            .patient
            .unwrap();
        // Whoever won: in care in admissions exactly when in care in the view,
        // with the same episode.
        assert_eq!(
            record.active_episode.as_ref().map(|e| e.episode_id.clone()),
            seen.current_episode.as_ref().map(|e| e.episode_id.clone()),
            "round {round}: admissions and the view disagree (discharge {})",
            if discharged.is_ok() { "won" } else { "lost" }
        );
        // The merged-away id reads as the survivor in both.
        let via_duplicate = read_view(&mut view, &staff, &duplicate, "", WITHIN)
            .await
            .unwrap();
        assert_eq!(via_duplicate.patient_id, survivor);
    }
    assert_eq!(merged_first + discharged_first, 8);
    net.stop().await;
}
