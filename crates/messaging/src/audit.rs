//! The audit API every process serves (`iop.audit.v1.AuditService`, auditor
//! and admin roles) over the trails of the services it hosts: entries by
//! patient, actor and time range; a patient's accounting of disclosures; and
//! verification of each trail's hash chain. Every call is itself audited, in
//! every trail it reads, with purpose `audit`.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use iop_proto::audit::v1::{
    self as api, AuditOutcome, ChainVerification, audit_service_server::AuditService,
};
use iop_runtime::{
    audit::{Outcome, Purpose, entity, trail},
    auth::Role,
    grpc::Call,
    ids::{FieldError, PatientId},
    status, wire,
};
use tonic::Status;

use crate::work::{Access, Actor, Ledger};

/// Who may read the trail.
const AUDITORS: &[Role] = &[Role::Auditor, Role::Admin];
/// Error domain of this API.
const DOMAIN: &str = "iop.audit";
/// Page size when none is asked for, and the largest allowed.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 500;
/// Most disclosures one accounting returns (Part 2 keeps 3 years of them).
const MAX_DISCLOSURES: usize = 10_000;

/// The trails of the services a process hosts: one per service, with its
/// ledger (database and chain key). Shared through the host.
#[derive(Clone, Default)]
pub struct AuditTrails(Arc<Mutex<Vec<(&'static str, Ledger)>>>);

impl AuditTrails {
    /// Adds `service`'s trail.
    pub fn add(&self, service: &'static str, ledger: Ledger) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((service, ledger));
    }

    pub(crate) fn all(&self) -> Vec<(&'static str, Ledger)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A refusal of a process-wide API (audit, operations) goes into every trail
/// of the process, like the allowed calls of the audit API.
impl iop_runtime::grpc::RecordRefusal for AuditTrails {
    fn record_refusal<'a>(
        &'a self,
        r: &'a iop_runtime::grpc::Refusal,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            for (_, ledger) in self.all() {
                iop_runtime::grpc::RecordRefusal::record_refusal(&ledger, r).await?;
            }
            Ok(())
        })
    }
}

/// `iop.audit.v1.AuditService` over a process's trails.
#[derive(Clone)]
pub struct AuditApi {
    trails: AuditTrails,
}

fn storage(e: sea_orm::DbErr) -> Status {
    status::storage_failure(DOMAIN, &e)
}

fn invalid(e: FieldError) -> Status {
    status::invalid_argument(DOMAIN, e.field, &e.reason)
}

/// An optional patient id filter.
fn patient_filter(value: &str) -> Result<Option<String>, Status> {
    if value.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        PatientId::parse("patient_id", value)
            .map_err(invalid)?
            .into_string(),
    ))
}

/// Where a walk through the trails stands: per trail, the last sequence sent
/// and the last it will send (the trail's end when the walk began, so the
/// walk ends although every page adds audit rows of its own). Encoded as
/// `service=after:until` pairs, base64url, so callers treat it as opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor(Vec<(String, i64, i64)>);

impl Cursor {
    fn decode(token: &str) -> Result<Option<Self>, Status> {
        let malformed = || invalid(FieldError::new("page_token", "malformed"));
        if token.is_empty() {
            return Ok(None);
        }
        if token.len() > 1024 {
            return Err(invalid(FieldError::new(
                "page_token",
                "must be at most 1024 characters",
            )));
        }
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| malformed())?;
        let text = String::from_utf8(raw).map_err(|_| malformed())?;
        let pairs = text
            .split(',')
            .map(|pair| {
                let (service, range) = pair.split_once('=').ok_or_else(malformed)?;
                let (after, until) = range.split_once(':').ok_or_else(malformed)?;
                Ok((
                    service.to_owned(),
                    after.parse().map_err(|_| malformed())?,
                    until.parse().map_err(|_| malformed())?,
                ))
            })
            .collect::<Result<_, Status>>()?;
        Ok(Some(Self(pairs)))
    }

    fn encode(&self) -> String {
        let text: Vec<String> = self
            .0
            .iter()
            .map(|(s, a, u)| format!("{s}={a}:{u}"))
            .collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.join(","))
    }

    /// The range still to read of `service`'s trail; an unknown trail (the
    /// walk began before it was hosted) is read in full.
    fn range(&self, service: &str) -> Option<(i64, i64)> {
        self.0
            .iter()
            .find(|(s, _, _)| s == service)
            .map(|(_, a, u)| (*a, *u))
    }
}

fn entry(service: &str, m: entity::Model) -> api::AuditEntry {
    api::AuditEntry {
        service: service.to_owned(),
        sequence: m.sequence.unwrap_or_default(),
        entry_id: m.id,
        occurred_at: Some(wire::timestamp(m.occurred_at)),
        actor: m.actor,
        actor_roles: m.actor_roles,
        action: m.action,
        patient_id: m.patient_id.unwrap_or_default(),
        facility_id: m.facility_id.unwrap_or_default(),
        purpose: m.purpose,
        outcome: if m.outcome == Outcome::Denied.as_str() {
            AuditOutcome::Denied
        } else {
            AuditOutcome::Allowed
        } as i32,
        consent_id: m.consent_id.unwrap_or_default(),
        trace_id: m.trace_id.unwrap_or_default(),
    }
}

/// The time range of a request, checked.
fn range(
    from: Option<&prost_types::Timestamp>,
    to: Option<&prost_types::Timestamp>,
) -> Result<trail::Filter, Status> {
    let from_at = wire::instant(from);
    let to_at = wire::instant(to);
    if from.is_some() && from_at.is_none() {
        return Err(invalid(FieldError::new("from", "not a valid instant")));
    }
    if to.is_some() && to_at.is_none() {
        return Err(invalid(FieldError::new("to", "not a valid instant")));
    }
    if let (Some(f), Some(t)) = (from_at, to_at)
        && f >= t
    {
        return Err(invalid(FieldError::new("to", "must be after `from`")));
    }
    Ok(trail::Filter {
        from: from_at,
        to: to_at,
        ..trail::Filter::default()
    })
}

impl AuditApi {
    /// The API over `trails`.
    pub fn new(trails: AuditTrails) -> Self {
        Self { trails }
    }

    /// Audits a read of the trails themselves, in each trail read.
    async fn audited(
        &self,
        call: &Call,
        action: &'static str,
        patient_id: Option<&str>,
    ) -> Result<Vec<(&'static str, Ledger)>, Status> {
        let actor = Actor {
            caller: call.caller.clone(),
            purpose: Purpose::Audit,
            action,
        };
        let trails = self.trails.all();
        for (_, ledger) in &trails {
            ledger
                .record_access(&actor, &[Access::allowed(patient_id, None)])
                .await
                .map_err(storage)?;
        }
        Ok(trails)
    }

    async fn list_audit_entries(
        &self,
        call: &Call,
        req: api::ListAuditEntriesRequest,
    ) -> Result<api::ListAuditEntriesResponse, Status> {
        let mut filter = range(req.from.as_ref(), req.to.as_ref())?;
        filter.patient_id = patient_filter(&req.patient_id)?;
        if req.actor.chars().count() > 256 {
            return Err(invalid(FieldError::new(
                "actor",
                "must be at most 256 characters",
            )));
        }
        filter.actor = (!req.actor.is_empty()).then(|| req.actor.clone());
        let page = match req.page_size {
            0 => DEFAULT_PAGE,
            n if n <= MAX_PAGE => n,
            _ => {
                return Err(invalid(FieldError::new("page_size", "must be at most 500")));
            }
        } as usize;
        let cursor = Cursor::decode(&req.page_token)?;
        // A walk ends where the trails ended when it began: taken before this
        // call writes its own audit rows.
        let mut ranges = Vec::new();
        for (service, ledger) in self.trails.all() {
            let range = match cursor.as_ref().and_then(|c| c.range(service)) {
                Some(r) => r,
                None => (
                    0,
                    trail::last_sequence(ledger.conn()).await.map_err(storage)?,
                ),
            };
            ranges.push((service, range));
        }
        let trails = self
            .audited(call, "audit.ListAuditEntries", filter.patient_id.as_deref())
            .await?;
        // One page from each trail (one more than fits, to know whether more
        // follow), merged by time while keeping each trail in chain order, so
        // what a page sends of a trail is a prefix and its cursor can move past it.
        let mut queues = Vec::new();
        let mut next = Vec::new();
        for (service, ledger) in &trails {
            let Some(&(_, range)) = ranges.iter().find(|(s, _)| s == service) else {
                continue;
            };
            let rows = trail::entries(ledger.conn(), &filter, range, page as u64 + 1)
                .await
                .map_err(storage)?;
            queues.push((*service, std::collections::VecDeque::from(rows)));
            next.push(((*service).to_owned(), range.0, range.1));
        }
        let mut entries = Vec::new();
        while entries.len() < page {
            let Some(i) = (0..queues.len())
                .filter(|&i| !queues[i].1.is_empty())
                .min_by_key(|&i| (queues[i].1[0].occurred_at, queues[i].0))
            else {
                break;
            };
            let (service, queue) = &mut queues[i];
            if let Some(row) = queue.pop_front() {
                next[i].1 = row.sequence.unwrap_or_default();
                entries.push(entry(service, row));
            }
        }
        let more = queues.iter().any(|(_, q)| !q.is_empty());
        Ok(api::ListAuditEntriesResponse {
            entries,
            next_page_token: if more {
                Cursor(next).encode()
            } else {
                String::new()
            },
        })
    }

    async fn account_disclosures(
        &self,
        call: &Call,
        req: api::AccountDisclosuresRequest,
    ) -> Result<api::AccountDisclosuresResponse, Status> {
        let mut filter = range(req.from.as_ref(), req.to.as_ref())?;
        filter.patient_id = Some(
            patient_filter(&req.patient_id)?
                .ok_or_else(|| invalid(FieldError::required("patient_id")))?,
        );
        filter.disclosures_only = true;
        let trails = self
            .audited(
                call,
                "audit.AccountDisclosures",
                filter.patient_id.as_deref(),
            )
            .await?;
        let mut disclosures = Vec::new();
        for (service, ledger) in &trails {
            let mut after = 0;
            while disclosures.len() < MAX_DISCLOSURES {
                let rows = trail::entries(ledger.conn(), &filter, (after, i64::MAX), 1000)
                    .await
                    .map_err(storage)?;
                let Some(last) = rows.last() else { break };
                after = last.sequence.unwrap_or_default();
                disclosures.extend(rows.into_iter().map(|r| entry(service, r)));
            }
        }
        disclosures.sort_by(|a, b| {
            let key = |e: &api::AuditEntry| {
                (
                    e.occurred_at.as_ref().map(|t| (t.seconds, t.nanos)),
                    e.service.clone(),
                    e.sequence,
                )
            };
            key(a).cmp(&key(b))
        });
        disclosures.truncate(MAX_DISCLOSURES);
        Ok(api::AccountDisclosuresResponse { disclosures })
    }

    async fn verify_audit_chain(
        &self,
        call: &Call,
        _req: api::VerifyAuditChainRequest,
    ) -> Result<api::VerifyAuditChainResponse, Status> {
        let trails = self.audited(call, "audit.VerifyAuditChain", None).await?;
        let mut out = Vec::new();
        for (service, ledger) in &trails {
            let v = ledger
                .chain()
                .verify(ledger.conn())
                .await
                .map_err(storage)?;
            iop_runtime::metrics::observe_audit_verification(service, v.intact(), v.rows);
            out.push(verification(service, &v));
        }
        Ok(api::VerifyAuditChainResponse { trails: out })
    }
}

/// Verifies every trail of the process each `every`, from one `every`
/// after start, until `shutdown`: the outcome goes to the metrics, and a
/// break is logged as an ERROR naming the service and the first broken
/// sequence (never the row's content).
pub async fn verify_periodically(
    trails: AuditTrails,
    every: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        for (service, ledger) in trails.all() {
            match ledger.chain().verify(ledger.conn()).await {
                Ok(v) => {
                    iop_runtime::metrics::observe_audit_verification(service, v.intact(), v.rows);
                    if let Some(broken) = &v.broken {
                        tracing::error!(
                            service = %service,
                            sequence = broken.sequence,
                            "audit chain broken: a row was changed, removed or added outside the chain"
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(service = %service, error = %e, "audit chain not verified")
                }
            }
        }
    }
}

/// The wire form of a verification.
pub fn verification(service: &str, v: &iop_runtime::audit::Verification) -> ChainVerification {
    ChainVerification {
        service: service.to_owned(),
        rows: v.rows,
        intact: v.intact(),
        first_broken_sequence: v.broken.as_ref().map_or(0, |b| b.sequence),
        first_broken_entry_id: v
            .broken
            .as_ref()
            .and_then(|b| b.entry_id.clone())
            .unwrap_or_default(),
        reason: v
            .broken
            .as_ref()
            .map(|b| b.reason.clone())
            .unwrap_or_default(),
    }
}

iop_runtime::grpc_service! {
    AuditApi => AuditService as "audit" audited by trails {
        list_audit_entries(api::ListAuditEntriesRequest) -> api::ListAuditEntriesResponse, AUDITORS => list_audit_entries;
        account_disclosures(api::AccountDisclosuresRequest) -> api::AccountDisclosuresResponse, AUDITORS => account_disclosures;
        verify_audit_chain(api::VerifyAuditChainRequest) -> api::VerifyAuditChainResponse, AUDITORS => verify_audit_chain;
    }
}
