//! Part 2 consent over gRPC: recording (every element checked by
//! `iop_consent`), revocation, the expiry event, listing, and the disclosure
//! question. Each change is an event, so other services keep a local copy
//! (`iop_consent::replica`) and answer the same question with the same rules.

use chrono::{Duration, Utc};
use iop_consent::{Decision, Disclosure, Expiry, REDISCLOSURE_NOTICE, may_disclose};
use iop_messaging::work::{Stream, UnitOfWork};
use iop_proto::admissions::{
    events::v1 as events,
    v1::{
        CheckDisclosureRequest, CheckDisclosureResponse, ListConsentsRequest, ListConsentsResponse,
        RecordConsentExpiryEventRequest, RecordConsentExpiryEventResponse, RecordConsentRequest,
        RecordConsentResponse, RevokeConsentRequest, RevokeConsentResponse,
    },
};
use iop_runtime::{
    grpc::Call,
    ids::{ConsentId, FieldError},
    wire,
};
use prost::Message;
use sea_orm::Set;

use super::AdmissionsApi;
use crate::{entity::consent, error::AdmissionsError, store::consents};

/// Slack for clocks of facility systems when they date an event "now".
const CLOCK_SKEW: Duration = Duration::minutes(5);

impl AdmissionsApi {
    /// The consent `consent_id` names, for `action`. One that does not exist
    /// is the same audited PERMISSION_DENIED as a patient the caller may not
    /// change (NOT_FOUND only for a caller acting for every facility); its
    /// state is said only after the access rule allowed the change.
    async fn consent_row(
        &self,
        call: &Call,
        action: &'static str,
        consent_id: &str,
    ) -> Result<consent::Model, AdmissionsError> {
        let id = ConsentId::parse("consent_id", consent_id)?;
        match consents::find(self.ledger.conn(), id.as_str()).await? {
            Some(row) => Ok(row),
            None if call.caller.acts_for(iop_runtime::auth::ALL_FACILITIES) => {
                Err(AdmissionsError::NotFound {
                    what: "consent",
                    id: id.into_string(),
                })
            }
            None => {
                self.ledger
                    .record_access(
                        &iop_messaging::work::Actor::of(call, action),
                        &[iop_messaging::work::Access::denied(None, None)],
                    )
                    .await?;
                Err(iop_runtime::auth::Denied::PATIENT_NOT_VISIBLE.into())
            }
        }
    }

    /// The consent `consent_id` names, claimed for a change by `action`: the
    /// access rule decided on its patient ([`Self::consent_row`],
    /// [`Self::change`]), the patient's stream locked, and the row read again
    /// under that lock. Returns the unit of work, the patient, the facility
    /// the change is made for and the row.
    async fn claim_consent(
        &self,
        call: &Call,
        action: &'static str,
        consent_id: &str,
    ) -> Result<(UnitOfWork, super::Claimed, String, consent::Model), AdmissionsError> {
        let row = self.consent_row(call, action, consent_id).await?;
        let (work, claimed, facility) = self
            .change(call, action, "patient_id", &row.patient_id)
            .await?;
        // Read again under the patient's lock: the state is said only now.
        let row =
            consents::find(work.txn(), &row.id)
                .await?
                .ok_or_else(|| AdmissionsError::Corrupt {
                    what: format!("consent {} vanished", row.id),
                })?;
        Ok((work, claimed, facility, row))
    }

    pub(super) async fn record_consent(
        &self,
        call: &Call,
        req: RecordConsentRequest,
    ) -> Result<RecordConsentResponse, AdmissionsError> {
        let submitted = req.consent.ok_or_else(|| FieldError::required("consent"))?;
        let id = ConsentId::generate();
        let mut valid = iop_consent::validate(id.as_str(), iop_consent::wire::form(&submitted)?)?;
        let (mut work, claimed, facility) = self
            .change(
                call,
                "admissions.RecordConsent",
                "patient_id",
                &valid.patient_id,
            )
            .await?;
        // Its days are the recording facility's days.
        valid.zone = super::zone_of(work.txn(), &facility).await?;
        if valid.signed_on > Utc::now().with_timezone(&valid.zone).date_naive() {
            return Err(AdmissionsError::invalid("signed_on", "is in the future"));
        }
        let mut recorded = iop_consent::wire::to_proto(&valid);
        recorded.patient_id = claimed.patient.id.clone();
        let now = Utc::now();
        consents::insert(
            work.txn(),
            consent::ActiveModel {
                id: Set(id.into_string()),
                patient_id: Set(claimed.patient.id.clone()),
                consent: Set(recorded.encode_to_vec()),
                recorded_at: Set(now),
                recorded_by: Set(call.caller.subject().to_owned()),
                revoked_at: Set(None),
                expiry_event_at: Set(None),
            },
        )
        .await?;
        let event = events::ConsentRecorded {
            consent: Some(recorded.clone()),
            occurred_at: Some(wire::timestamp(now)),
        };
        let sequence = work
            .emit(Stream::patient(&claimed.patient.id), &event)
            .await?;
        work.audit(Some(&claimed.patient.id), Some(&facility));
        work.commit().await?;
        Ok(RecordConsentResponse {
            consent: Some(recorded),
            consistency_token: self.token(&claimed.patient.id, sequence),
        })
    }

    pub(super) async fn revoke_consent(
        &self,
        call: &Call,
        req: RevokeConsentRequest,
    ) -> Result<RevokeConsentResponse, AdmissionsError> {
        const ACTION: &str = "admissions.RevokeConsent";
        let (mut work, claimed, facility, row) =
            self.claim_consent(call, ACTION, &req.consent_id).await?;
        if row.revoked_at.is_some() {
            return Err(AdmissionsError::WrongState {
                why: format!("consent {} is already revoked", row.id),
            });
        }
        let now = Utc::now();
        let mut changed: consent::ActiveModel = row.into();
        changed.revoked_at = Set(Some(now));
        let changed = consents::update(work.txn(), changed).await?;
        let event = events::ConsentRevoked {
            patient_id: changed.patient_id.clone(),
            consent_id: changed.id.clone(),
            revoked_at: Some(wire::timestamp(now)),
        };
        let sequence = work
            .emit(Stream::patient(&claimed.patient.id), &event)
            .await?;
        work.audit(Some(&claimed.patient.id), Some(&facility));
        work.commit().await?;
        Ok(RevokeConsentResponse {
            consent: Some(consents::message(&changed)?),
            consistency_token: self.token(&claimed.patient.id, sequence),
        })
    }

    pub(super) async fn consent_expiry_event(
        &self,
        call: &Call,
        req: RecordConsentExpiryEventRequest,
    ) -> Result<RecordConsentExpiryEventResponse, AdmissionsError> {
        const ACTION: &str = "admissions.RecordConsentExpiryEvent";
        let now = Utc::now();
        let at = match req.occurred_at.as_ref() {
            None => now,
            Some(t) => wire::instant(Some(t))
                .ok_or_else(|| FieldError::new("occurred_at", "is not a valid instant"))?,
        };
        if at > now + CLOCK_SKEW {
            return Err(AdmissionsError::invalid("occurred_at", "is in the future"));
        }
        let (mut work, claimed, facility, row) =
            self.claim_consent(call, ACTION, &req.consent_id).await?;
        let current = iop_consent::wire::consent(&consents::message(&row)?)?;
        if !matches!(current.expiry, Expiry::Event(_)) {
            return Err(AdmissionsError::WrongState {
                why: format!("consent {} expires on a date, not an event", row.id),
            });
        }
        if row.expiry_event_at.is_some() {
            return Err(AdmissionsError::WrongState {
                why: format!("consent {} already expired", row.id),
            });
        }
        let mut changed: consent::ActiveModel = row.into();
        changed.expiry_event_at = Set(Some(at));
        let changed = consents::update(work.txn(), changed).await?;
        let event = events::ConsentExpired {
            patient_id: changed.patient_id.clone(),
            consent_id: changed.id.clone(),
            expiry_event_at: Some(wire::timestamp(at)),
        };
        let sequence = work
            .emit(Stream::patient(&claimed.patient.id), &event)
            .await?;
        work.audit(Some(&claimed.patient.id), Some(&facility));
        work.commit().await?;
        Ok(RecordConsentExpiryEventResponse {
            consent: Some(consents::message(&changed)?),
            consistency_token: self.token(&claimed.patient.id, sequence),
        })
    }

    pub(super) async fn list_consents(
        &self,
        call: &Call,
        req: ListConsentsRequest,
    ) -> Result<ListConsentsResponse, AdmissionsError> {
        let p = self
            .read(
                call,
                "admissions.ListConsents",
                "patient_id",
                &req.patient_id,
            )
            .await?;
        Ok(ListConsentsResponse {
            consents: consents::of_patient(self.ledger.conn(), &p.id)
                .await?
                .iter()
                .map(consents::message)
                .collect::<Result<_, _>>()?,
        })
    }

    pub(super) async fn check_disclosure(
        &self,
        call: &Call,
        req: CheckDisclosureRequest,
    ) -> Result<CheckDisclosureResponse, AdmissionsError> {
        let recipient_id = req.recipient_id.trim();
        if recipient_id.is_empty() {
            return Err(FieldError::required("recipient_id").into());
        }
        let recipient_class = match req.recipient_class {
            0 => None,
            v => Some(
                iop_consent::wire::recipient_class(v)
                    .ok_or_else(|| FieldError::new("recipient_class", "is not a known class"))?,
            ),
        };
        let asked_purpose = req
            .purpose
            .as_ref()
            .and_then(iop_consent::wire::purpose)
            .ok_or_else(|| FieldError::required("purpose"))?;
        let information = iop_consent::wire::information(req.information)
            .ok_or_else(|| FieldError::required("information"))?;
        let at = match req.at.as_ref() {
            None => Utc::now(),
            Some(t) => wire::instant(Some(t))
                .ok_or_else(|| FieldError::new("at", "is not a valid instant"))?,
        };
        let p = self
            .read(
                call,
                "admissions.CheckDisclosure",
                "patient_id",
                &req.patient_id,
            )
            .await?;
        let rules = consents::rules_of(self.ledger.conn(), &p.id).await?;
        let decision = may_disclose(
            &rules,
            &Disclosure {
                recipient_id,
                recipient_class,
                purpose: &asked_purpose,
                information,
                at,
            },
        );
        Ok(match decision {
            Decision::Permitted { consent_id } => CheckDisclosureResponse {
                permitted: true,
                consent_id,
                redisclosure_notice: REDISCLOSURE_NOTICE.to_owned(),
            },
            Decision::Denied => CheckDisclosureResponse::default(),
        })
    }
}
