//! Merges: the duplicate's episodes, assessments, consents and coverages move
//! to the survivor in one unit of work, the duplicate stops taking changes, and
//! one `PatientsMerged` goes out on the survivor's stream (ordered before the
//! survivor's later events). Both streams are locked, in id order so two
//! merges of the same pair cannot deadlock; the duplicate's stream simply ends.

use chrono::Utc;
use iop_messaging::work::{Actor, Stream};
use iop_proto::admissions::{
    events::v1 as events,
    v1::{MergePatientsRequest, MergePatientsResponse},
};
use iop_runtime::{
    grpc::Call,
    ids::{self, PatientId},
    wire,
};

use super::{AdmissionsApi, claim};
use crate::{
    error::AdmissionsError,
    events::merged_episode,
    store::{assessments, consents, coverages, episodes, patients},
};

const ACTION: &str = "admissions.MergePatients";

impl AdmissionsApi {
    pub(super) async fn merge(
        &self,
        call: &Call,
        req: MergePatientsRequest,
    ) -> Result<MergePatientsResponse, AdmissionsError> {
        let why = ids::reason("reason", &req.reason, 500)?;
        let merged_id = PatientId::parse("merged_away_id", &req.merged_away_id)?;
        let survivor_id = PatientId::parse("survivor_id", &req.survivor_id)?;
        if merged_id == survivor_id {
            return Err(AdmissionsError::invalid(
                "merged_away_id",
                "is the survivor",
            ));
        }
        // The caller must be allowed to change both records (a consent or a
        // break-glass grant lets a facility read, never merge).
        self.authorize_write(call, ACTION, &merged_id, None).await?;
        let (_, facility) = self
            .authorize_write(call, ACTION, &survivor_id, None)
            .await?;

        let mut work = self.ledger.command(Actor::of(call, ACTION)).await?;
        let (first, second) = if merged_id < survivor_id {
            (&merged_id, &survivor_id)
        } else {
            (&survivor_id, &merged_id)
        };
        work.lock(Stream::patient(first.as_str())).await?;
        work.lock(Stream::patient(second.as_str())).await?;
        let gone = claim(&mut work, merged_id.as_str()).await?;
        let kept = claim(&mut work, survivor_id.as_str()).await?;
        if let (Some(a), Some(b)) = (&kept.active, &gone.active) {
            return Err(AdmissionsError::BothAdmitted {
                survivor_episode: a.id.clone(),
                merged_episode: b.id.clone(),
            });
        }
        let (from, to) = (merged_id.as_str(), survivor_id.as_str());
        let moved = episodes::ids_of(work.txn(), from).await?;
        episodes::move_all(work.txn(), from, to).await?;
        assessments::move_all(work.txn(), from, to).await?;
        consents::move_all(work.txn(), from, to).await?;
        coverages::move_all(work.txn(), from, to).await?;
        patients::mark_merged(work.txn(), from, to).await?;
        // The survivor is the candidate from now on; the merged-away record
        // leaves the match index.
        patients::index_for_matching(work.txn(), from, None).await?;
        let active = kept.active.as_ref().or(gone.active.as_ref());
        let event = events::PatientsMerged {
            survivor_id: to.to_owned(),
            merged_away_id: from.to_owned(),
            merged_away_mrn: gone.patient.mrn.clone(),
            moved_episode_ids: moved,
            active_episode: active.map(merged_episode),
            reason: why,
            occurred_at: Some(wire::timestamp(Utc::now())),
        };
        let sequence = work.emit(Stream::patient(to), &event).await?;
        // The merged-away record's audit row too: its data now lives in the survivor.
        work.audit(Some(from), Some(&facility));
        work.audit(Some(to), Some(&facility));
        work.commit().await?;
        tracing::info!(survivor_id = %to, merged_away_id = %from, "patients merged");
        Ok(MergePatientsResponse {
            survivor: Some(self.patient_message(&kept.patient).await?),
            consistency_token: self.token(to, sequence),
        })
    }
}
