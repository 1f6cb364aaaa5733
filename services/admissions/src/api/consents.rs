//! Part 2 consent over gRPC: recording (every element checked by
//! `iop_consent`), revocation, the expiry event, listing, and the disclosure
//! question. Each change is an event, so other services keep a local copy and
//! answer the same question with the same rules.

use chrono::{Duration, Utc};
use iop_consent::{Decision, Disclosure, Expiry, REDISCLOSURE_NOTICE, may_disclose};
use iop_proto::admissions::{
    events::v1 as events,
    v1::{
        CheckDisclosureRequest, CheckDisclosureResponse, ListConsentsRequest, ListConsentsResponse,
        RecordConsentExpiryEventRequest, RecordConsentExpiryEventResponse, RecordConsentRequest,
        RecordConsentResponse, RevokeConsentRequest, RevokeConsentResponse,
    },
};
use iop_runtime::{audit::Purpose, auth::Caller, wire};
use prost::Message;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use super::{AdmissionsApi, consent_message, consent_rows, consents_of};
use crate::{entity::consent, error::AdmissionsError};

/// Slack for clocks of facility systems when they date an event "now".
const CLOCK_SKEW: Duration = Duration::minutes(5);

fn invalid(field: &'static str, reason: &str) -> AdmissionsError {
    AdmissionsError::InvalidArgument {
        field,
        reason: reason.to_owned(),
    }
}

impl AdmissionsApi {
    async fn consent_row(&self, consent_id: &str) -> Result<consent::Model, AdmissionsError> {
        let id = uuid::Uuid::parse_str(consent_id)
            .map_err(|_| invalid("consent_id", "must be a UUID"))?
            .to_string();
        consent::Entity::find_by_id(&id)
            .one(self.db.conn())
            .await?
            .ok_or(AdmissionsError::NotFound {
                what: "consent",
                id,
            })
    }

    pub(super) async fn record_consent(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: RecordConsentRequest,
    ) -> Result<RecordConsentResponse, AdmissionsError> {
        const ACTION: &str = "admissions.RecordConsent";
        let submitted = req
            .consent
            .ok_or_else(|| invalid("consent", "is required"))?;
        let id = uuid::Uuid::now_v7().to_string();
        let valid = iop_consent::validate(&id, iop_consent::wire::form(&submitted)?)?;
        if valid.signed_on > Utc::now().date_naive() + chrono::Days::new(1) {
            return Err(invalid("signed_on", "is in the future"));
        }
        let (claim, facility) = self
            .claim_authorized(caller, purpose, ACTION, "patient_id", &valid.patient_id)
            .await?;
        let mut recorded = iop_consent::wire::to_proto(&valid);
        recorded.patient_id = claim.patient.id.clone();
        let now = Utc::now();
        consent::ActiveModel {
            id: Set(id),
            patient_id: Set(claim.patient.id.clone()),
            consent: Set(recorded.encode_to_vec()),
            recorded_at: Set(now),
            recorded_by: Set(caller.subject().to_owned()),
            revoked_at: Set(None),
            expiry_event_at: Set(None),
        }
        .insert(&*claim.txn)
        .await?;
        let event = events::ConsentRecorded {
            consent: Some(recorded.clone()),
            occurred_at: Some(wire::timestamp(now)),
        };
        let consistency_token = self
            .commit_change(caller, purpose, ACTION, claim, &facility, &event)
            .await?;
        Ok(RecordConsentResponse {
            consent: Some(recorded),
            consistency_token,
        })
    }

    pub(super) async fn revoke_consent(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: RevokeConsentRequest,
    ) -> Result<RevokeConsentResponse, AdmissionsError> {
        const ACTION: &str = "admissions.RevokeConsent";
        let row = self.consent_row(&req.consent_id).await?;
        if row.revoked_at.is_some() {
            return Err(AdmissionsError::Precondition(format!(
                "consent {} is already revoked",
                row.id
            )));
        }
        let (claim, facility) = self
            .claim_authorized(caller, purpose, ACTION, "patient_id", &row.patient_id)
            .await?;
        let now = Utc::now();
        let mut changed: consent::ActiveModel = row.clone().into();
        changed.revoked_at = Set(Some(now));
        let changed = changed.update(&*claim.txn).await?;
        let event = events::ConsentRevoked {
            patient_id: changed.patient_id.clone(),
            consent_id: changed.id.clone(),
            revoked_at: Some(wire::timestamp(now)),
        };
        let consistency_token = self
            .commit_change(caller, purpose, ACTION, claim, &facility, &event)
            .await?;
        Ok(RevokeConsentResponse {
            consent: Some(consent_message(&changed)?),
            consistency_token,
        })
    }

    pub(super) async fn consent_expiry_event(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: RecordConsentExpiryEventRequest,
    ) -> Result<RecordConsentExpiryEventResponse, AdmissionsError> {
        const ACTION: &str = "admissions.RecordConsentExpiryEvent";
        let row = self.consent_row(&req.consent_id).await?;
        let current = iop_consent::wire::consent(&consent_message(&row)?)?;
        if !matches!(current.expiry, Expiry::Event(_)) {
            return Err(AdmissionsError::Precondition(format!(
                "consent {} expires on a date, not an event",
                row.id
            )));
        }
        if row.expiry_event_at.is_some() {
            return Err(AdmissionsError::Precondition(format!(
                "consent {} already expired",
                row.id
            )));
        }
        let now = Utc::now();
        let at = match req.occurred_at.as_ref() {
            None => now,
            Some(t) => wire::instant(Some(t))
                .ok_or_else(|| invalid("occurred_at", "is not a valid instant"))?,
        };
        if at > now + CLOCK_SKEW {
            return Err(invalid("occurred_at", "is in the future"));
        }
        let (claim, facility) = self
            .claim_authorized(caller, purpose, ACTION, "patient_id", &row.patient_id)
            .await?;
        let mut changed: consent::ActiveModel = row.clone().into();
        changed.expiry_event_at = Set(Some(at));
        let changed = changed.update(&*claim.txn).await?;
        let event = events::ConsentExpired {
            patient_id: changed.patient_id.clone(),
            consent_id: changed.id.clone(),
            expiry_event_at: Some(wire::timestamp(at)),
        };
        let consistency_token = self
            .commit_change(caller, purpose, ACTION, claim, &facility, &event)
            .await?;
        Ok(RecordConsentExpiryEventResponse {
            consent: Some(consent_message(&changed)?),
            consistency_token,
        })
    }

    pub(super) async fn list_consents(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: ListConsentsRequest,
    ) -> Result<ListConsentsResponse, AdmissionsError> {
        let p = self.resolve("patient_id", &req.patient_id).await?;
        self.authorize_read(caller, purpose, "admissions.ListConsents", &p)
            .await?;
        Ok(ListConsentsResponse {
            consents: consent_rows(self.db.conn(), &p.id)
                .await?
                .iter()
                .map(consent_message)
                .collect::<Result<_, _>>()?,
        })
    }

    pub(super) async fn check_disclosure(
        &self,
        caller: &Caller,
        purpose: Purpose,
        req: CheckDisclosureRequest,
    ) -> Result<CheckDisclosureResponse, AdmissionsError> {
        let recipient_id = req.recipient_id.trim();
        if recipient_id.is_empty() {
            return Err(invalid("recipient_id", "is required"));
        }
        let recipient_class = match req.recipient_class {
            0 => None,
            v => Some(
                iop_consent::wire::recipient_class(v)
                    .ok_or_else(|| invalid("recipient_class", "is not a known class"))?,
            ),
        };
        let asked_purpose = req
            .purpose
            .as_ref()
            .and_then(iop_consent::wire::purpose)
            .ok_or_else(|| invalid("purpose", "is required"))?;
        let information = iop_consent::wire::information(req.information)
            .ok_or_else(|| invalid("information", "is required"))?;
        let at = match req.at.as_ref() {
            None => Utc::now(),
            Some(t) => {
                wire::instant(Some(t)).ok_or_else(|| invalid("at", "is not a valid instant"))?
            }
        };
        let p = self.resolve("patient_id", &req.patient_id).await?;
        self.authorize_read(caller, purpose, "admissions.CheckDisclosure", &p)
            .await?;
        let consents = consents_of(self.db.conn(), &p.id).await?;
        let decision = may_disclose(
            &consents,
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
