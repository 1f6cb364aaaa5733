//! Progress notes: individual, crisis and counseling notes, group notes
//! (one call, one note per attendee in their own chart, none naming another),
//! editing while unsigned, signing (locks), addenda (the correction of a
//! locked note), reading, the late list and billing's question whether a day
//! is documented. Counseling notes are their author's alone: another caller
//! is refused as for any record they may not see.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use iop_consent::gate::Intent;
use iop_messaging::work::{Actor, Stream, UnitOfWork};
use iop_proto::{
    clinical::{
        events::v1 as events,
        v1::{self as api, NoteKind},
    },
    scheduling::v1::AttendanceStatus,
};
use iop_runtime::{
    auth::Denied,
    grpc::Call,
    ids::{FacilityId, PatientId},
    wire,
};

use super::{ClinicalApi, MAX_TEXT, Result, convert, plans::uuid_field, text};
use crate::{
    entity::{addendum, note},
    error::ClinicalError,
    notes::{self as rules, Person},
    store::{self, copies, notes},
};

/// A counseling note asked for by someone other than its author.
const NOT_THE_AUTHOR: Denied = Denied {
    why: "counseling notes are readable by their author alone",
    audited: false,
};

/// Attendance statuses of someone who was in the room.
fn present(status: i32) -> bool {
    matches!(
        AttendanceStatus::try_from(status).unwrap_or_default(),
        AttendanceStatus::Attended | AttendanceStatus::Partial | AttendanceStatus::Late
    )
}

impl ClinicalApi {
    pub(super) async fn write_note(
        &self,
        call: &Call,
        req: api::WriteNoteRequest,
    ) -> Result<api::WriteNoteResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        let kind = NoteKind::try_from(req.kind).unwrap_or_default();
        match kind {
            NoteKind::Unspecified => return Err(ClinicalError::invalid("kind", "is required")),
            NoteKind::Group => {
                return Err(ClinicalError::invalid(
                    "kind",
                    "group notes are written for the whole session with WriteGroupNote",
                ));
            }
            _ => {}
        }
        let body = text("text", &req.text, MAX_TEXT)?;
        let service_date = wire::required_date("service_date", req.service_date.as_ref())?;
        let session_id = if req.session_id.is_empty() {
            String::new()
        } else {
            uuid_field("session_id", &req.session_id)?
        };
        let allowed = self
            .authorize(
                call,
                "clinical.WriteNote",
                &patient_id,
                Intent::Write {
                    facility: facility.as_str(),
                },
            )
            .await?;
        let tz = store::time_zone(self.ledger.conn(), facility.as_str()).await?;
        let now = Utc::now();
        if service_date > iop_care::calendar::local(now, tz).date() {
            return Err(ClinicalError::invalid(
                "service_date",
                "cannot be after today at the facility",
            ));
        }
        let pid = allowed.access.patient_id;
        let row = note::Model {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id: pid.clone(),
            facility_id: facility.as_str().to_owned(),
            kind: kind as i32,
            session_id,
            service_date,
            shared_summary: String::new(),
            body,
            author: call.caller.subject().to_owned(),
            written_at: now,
            due_at: self.due_at(kind, service_date, tz),
            signed_at: None,
            signed_by: None,
        };
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.WriteNote"))
            .await?;
        notes::insert(work.txn(), row.clone()).await?;
        work.audit(Some(&pid), Some(facility.as_str()));
        work.commit().await?;
        Ok(api::WriteNoteResponse {
            note: Some(convert::note(&row, &[])),
        })
    }

    fn due_at(
        &self,
        kind: NoteKind,
        day: chrono::NaiveDate,
        tz: chrono_tz::Tz,
    ) -> chrono::DateTime<Utc> {
        rules::due_at(
            kind,
            day,
            tz,
            self.settings.note_business_days,
            &self.settings.holidays,
        )
    }

    /// The note `id`, once the caller may act on its patient (`write_at` the
    /// note's facility for a change); counseling notes only for their author.
    async fn owned_note(
        &self,
        call: &Call,
        action: &'static str,
        id: &str,
        write: bool,
    ) -> Result<note::Model> {
        let id = uuid_field("note_id", id)?;
        let found = notes::note(self.ledger.conn(), &id)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        let write_at = write.then_some(found.facility_id.as_str());
        self.authorize_owned(call, action, &found.patient_id, write_at)
            .await?;
        if found.kind == NoteKind::Counseling as i32 && found.author != call.caller.subject() {
            return Err(NOT_THE_AUTHOR.into());
        }
        Ok(found)
    }

    /// The unsigned note `id` to change, read again under its patient's lock
    /// in the unit of work `action` commits in; a signed one is locked.
    async fn unsigned_note(
        &self,
        call: &Call,
        action: &'static str,
        id: &str,
    ) -> Result<(UnitOfWork, note::Model)> {
        let found = self.owned_note(call, action, id, true).await?;
        let mut work = self.ledger.command(Actor::of(call, action)).await?;
        work.lock(Stream::patient(&found.patient_id)).await?;
        let row = notes::note(work.txn(), &found.id)
            .await?
            .ok_or(Denied::UNKNOWN_REFERENCE)?;
        if row.signed_at.is_some() {
            return Err(ClinicalError::NoteLocked { note_id: row.id });
        }
        Ok((work, row))
    }

    pub(super) async fn update_note(
        &self,
        call: &Call,
        req: api::UpdateNoteRequest,
    ) -> Result<api::UpdateNoteResponse> {
        let body = text("text", &req.text, MAX_TEXT)?;
        let (mut work, mut row) = self
            .unsigned_note(call, "clinical.UpdateNote", &req.note_id)
            .await?;
        if row.kind == NoteKind::Group as i32 {
            check_group_part(work.txn(), &row, &body).await?;
        }
        row.body = body;
        notes::save(work.txn(), row.clone()).await?;
        work.audit(Some(&row.patient_id), Some(&row.facility_id));
        work.commit().await?;
        Ok(api::UpdateNoteResponse {
            note: Some(convert::note(&row, &[])),
        })
    }

    pub(super) async fn write_group_note(
        &self,
        call: &Call,
        req: api::WriteGroupNoteRequest,
    ) -> Result<api::WriteGroupNoteResponse> {
        let session_id = uuid_field("session_id", &req.session_id)?;
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility.as_str())?;
        let summary = text("shared_summary", &req.shared_summary, MAX_TEXT)?;
        let most = self.settings.max_group_note_parts;
        if req.parts.is_empty() || req.parts.len() > most {
            return Err(ClinicalError::invalid(
                "parts",
                format!("must hold 1 to {most} attendees"),
            ));
        }
        let db = self.ledger.conn();
        let attended: Vec<_> = copies::attendance_of(db, &session_id)
            .await?
            .into_iter()
            .filter(|a| present(a.status) && a.facility_id == facility.as_str())
            .collect();
        let Some(first) = attended.first() else {
            return Err(ClinicalError::NoAttendance { session_id });
        };
        let facility = facility.into_string();
        let service_date = first.service_date;
        // Each part, for one attendee who was present, each attendee once.
        let mut parts = BTreeMap::new();
        for p in &req.parts {
            let pid = PatientId::parse("parts.patient_id", &p.patient_id)?;
            let body = text("parts.text", &p.text, MAX_TEXT)?;
            if !attended.iter().any(|a| a.patient_id == pid.as_str()) {
                return Err(ClinicalError::invalid(
                    "parts.patient_id",
                    format!("patient {pid} was not recorded present at session {session_id}"),
                ));
            }
            if parts.insert(pid.clone(), body).is_some() {
                return Err(ClinicalError::invalid(
                    "parts.patient_id",
                    format!("patient {pid} has two parts"),
                ));
            }
        }
        if let Some(missing) = attended
            .iter()
            .find(|a| !parts.keys().any(|k| k.as_str() == a.patient_id))
        {
            return Err(ClinicalError::invalid(
                "parts",
                format!(
                    "attendee {} has no part: every attendee present gets a note",
                    missing.patient_id
                ),
            ));
        }
        for pid in parts.keys() {
            self.authorize(
                call,
                "clinical.WriteGroupNote",
                pid,
                Intent::Write {
                    facility: &facility,
                },
            )
            .await?;
        }
        let ids: Vec<String> = parts.keys().map(|p| p.as_str().to_owned()).collect();
        let people = people(db, &ids).await?;
        // No text names another attendee: the summary no one, a part no one
        // but its own patient.
        if people.values().any(|p| rules::mentions(&summary, p)) {
            return Err(ClinicalError::invalid(
                "shared_summary",
                "names or identifies an attendee; the shared summary is filed in every attendee's chart",
            ));
        }
        for (i, (pid, body)) in parts.iter().enumerate() {
            if people
                .iter()
                .any(|(other, p)| other != pid.as_str() && rules::mentions(body, p))
            {
                return Err(ClinicalError::invalid(
                    "parts.text",
                    format!(
                        "part {} (patient {pid}) names or identifies another attendee",
                        i + 1
                    ),
                ));
            }
        }
        let tz = store::time_zone(db, &facility).await?;
        let now = Utc::now();
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.WriteGroupNote"))
            .await?;
        if notes::session_has(work.txn(), &session_id, NoteKind::Group as i32).await? {
            return Err(ClinicalError::GroupNoteExists { session_id });
        }
        let mut written = Vec::new();
        for (pid, body) in parts {
            let row = note::Model {
                id: uuid::Uuid::now_v7().to_string(),
                patient_id: pid.as_str().to_owned(),
                facility_id: facility.clone(),
                kind: NoteKind::Group as i32,
                session_id: session_id.clone(),
                service_date,
                shared_summary: summary.clone(),
                body,
                author: call.caller.subject().to_owned(),
                written_at: now,
                due_at: self.due_at(NoteKind::Group, service_date, tz),
                signed_at: None,
                signed_by: None,
            };
            notes::insert(work.txn(), row.clone()).await?;
            work.audit(Some(pid.as_str()), Some(&facility));
            written.push(convert::note(&row, &[]));
        }
        work.commit().await?;
        Ok(api::WriteGroupNoteResponse { notes: written })
    }

    pub(super) async fn sign_note(
        &self,
        call: &Call,
        req: api::SignNoteRequest,
    ) -> Result<api::SignNoteResponse> {
        let (mut work, mut row) = self
            .unsigned_note(call, "clinical.SignNote", &req.note_id)
            .await?;
        if row.author != call.caller.subject() {
            return Err(ClinicalError::NotAuthor { note_id: row.id });
        }
        let now = Utc::now();
        row.signed_at = Some(now);
        row.signed_by = Some(call.caller.subject().to_owned());
        notes::save(work.txn(), row.clone()).await?;
        let event = events::NoteSigned {
            patient_id: row.patient_id.clone(),
            note_id: row.id.clone(),
            facility_id: row.facility_id.clone(),
            kind: row.kind,
            service_date: Some(wire::date(row.service_date)),
            session_id: row.session_id.clone(),
            signed_at: Some(wire::timestamp(now)),
            late: now > row.due_at,
        };
        work.emit(Stream::patient(&row.patient_id), &event).await?;
        work.audit(Some(&row.patient_id), Some(&row.facility_id));
        work.commit().await?;
        let addenda = notes::addenda(self.ledger.conn(), vec![row.id.clone()]).await?;
        Ok(api::SignNoteResponse {
            note: Some(convert::note(&row, &addenda)),
        })
    }

    pub(super) async fn add_addendum(
        &self,
        call: &Call,
        req: api::AddAddendumRequest,
    ) -> Result<api::AddAddendumResponse> {
        let body = text("text", &req.text, MAX_TEXT)?;
        let found = self
            .owned_note(call, "clinical.AddAddendum", &req.note_id, true)
            .await?;
        if found.signed_at.is_none() {
            return Err(ClinicalError::NoteNotSigned { note_id: found.id });
        }
        if found.kind == NoteKind::Group as i32 {
            check_group_part(self.ledger.conn(), &found, &body).await?;
        }
        let now = Utc::now();
        let row = addendum::Model {
            id: uuid::Uuid::now_v7().to_string(),
            note_id: found.id.clone(),
            body,
            author: call.caller.subject().to_owned(),
            written_at: now,
        };
        let mut work = self
            .ledger
            .command(Actor::of(call, "clinical.AddAddendum"))
            .await?;
        notes::insert_addendum(work.txn(), row.clone()).await?;
        let event = events::AddendumAdded {
            patient_id: found.patient_id.clone(),
            note_id: found.id.clone(),
            addendum_id: row.id.clone(),
            occurred_at: Some(wire::timestamp(now)),
        };
        work.emit(Stream::patient(&found.patient_id), &event)
            .await?;
        work.audit(Some(&found.patient_id), Some(&found.facility_id));
        work.commit().await?;
        let addenda = notes::addenda(self.ledger.conn(), vec![found.id.clone()]).await?;
        Ok(api::AddAddendumResponse {
            note: Some(convert::note(&found, &addenda)),
        })
    }

    pub(super) async fn get_note(
        &self,
        call: &Call,
        req: api::GetNoteRequest,
    ) -> Result<api::GetNoteResponse> {
        let found = self
            .owned_note(call, "clinical.GetNote", &req.note_id, false)
            .await?;
        let addenda = notes::addenda(self.ledger.conn(), vec![found.id.clone()]).await?;
        Ok(api::GetNoteResponse {
            note: Some(convert::note(&found, &addenda)),
        })
    }

    pub(super) async fn list_notes(
        &self,
        call: &Call,
        req: api::ListNotesRequest,
    ) -> Result<api::ListNotesResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let allowed = self
            .authorize(call, "clinical.ListNotes", &patient_id, Intent::Read)
            .await?;
        let db = self.ledger.conn();
        let rows: Vec<note::Model> = notes::of_patient(db, &allowed.access.patient_id)
            .await?
            .into_iter()
            .filter(|n| n.kind != NoteKind::Counseling as i32 || n.author == call.caller.subject())
            .collect();
        let addenda = notes::addenda(db, rows.iter().map(|n| n.id.clone()).collect()).await?;
        Ok(api::ListNotesResponse {
            notes: rows.iter().map(|n| convert::note(n, &addenda)).collect(),
        })
    }

    pub(super) async fn list_late_notes(
        &self,
        call: &Call,
        req: api::ListLateNotesRequest,
    ) -> Result<api::ListLateNotesResponse> {
        let facility = FacilityId::parse("facility_id", &req.facility_id)?;
        call.caller.require_facility(facility.as_str())?;
        let at = wire::instant(req.as_of.as_ref()).unwrap_or_else(Utc::now);
        let rows = notes::late_at(self.ledger.conn(), facility.as_str(), at).await?;
        Ok(api::ListLateNotesResponse {
            notes: rows
                .iter()
                .map(|n| api::LateNote {
                    note_id: n.id.clone(),
                    patient_id: n.patient_id.clone(),
                    kind: n.kind,
                    service_date: Some(wire::date(n.service_date)),
                    author: n.author.clone(),
                    due_at: Some(wire::timestamp(n.due_at)),
                })
                .collect(),
        })
    }

    pub(super) async fn get_documentation(
        &self,
        call: &Call,
        req: api::GetDocumentationRequest,
    ) -> Result<api::GetDocumentationResponse> {
        let patient_id = PatientId::parse("patient_id", &req.patient_id)?;
        let day = wire::required_date("service_date", req.service_date.as_ref())?;
        let allowed = self
            .authorize(call, "clinical.GetDocumentation", &patient_id, Intent::Read)
            .await?;
        let rows = notes::of_day(self.ledger.conn(), &allowed.access.patient_id, day).await?;
        let documenting = rows
            .iter()
            .filter(|n| n.kind != NoteKind::Counseling as i32);
        let (signed, unsigned): (Vec<_>, Vec<_>) = documenting.partition(|n| n.signed_at.is_some());
        Ok(api::GetDocumentationResponse {
            signed_note: !signed.is_empty(),
            unsigned_notes: u32::try_from(unsigned.len()).unwrap_or(u32::MAX),
        })
    }
}

/// The people of `ids` a note must not name, by patient id.
async fn people<C: sea_orm::ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<BTreeMap<String, Person>> {
    let known = copies::patients(db, ids.to_vec()).await?;
    Ok(ids
        .iter()
        .map(|id| {
            let p = known.iter().find(|p| &p.patient_id == id);
            let person = Person {
                patient_id: id.clone(),
                mrn: p.map(|p| p.mrn.clone()).unwrap_or_default(),
                names: p
                    .map(|p| {
                        [&p.given, &p.middle, &p.family, &p.preferred]
                            .into_iter()
                            .filter(|n| !n.is_empty())
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            (id.clone(), person)
        })
        .collect())
}

/// A new text of one attendee's group note names no other attendee of the
/// session.
async fn check_group_part<C: sea_orm::ConnectionTrait>(
    db: &C,
    n: &note::Model,
    body: &str,
) -> Result<()> {
    let others: BTreeSet<String> = copies::attendance_of(db, &n.session_id)
        .await?
        .into_iter()
        .map(|a| a.patient_id)
        .filter(|p| *p != n.patient_id)
        .collect();
    let others: Vec<String> = others.into_iter().collect();
    if people(db, &others)
        .await?
        .values()
        .any(|p| rules::mentions(body, p))
    {
        return Err(ClinicalError::invalid(
            "text",
            "names or identifies another attendee of the group session",
        ));
    }
    Ok(())
}
