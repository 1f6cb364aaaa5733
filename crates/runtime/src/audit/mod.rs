//! The audit trail (HIPAA audit controls): one row per read or write of patient
//! data, saying who, which patient, what, when, why (purpose of use), whether
//! it was allowed, under which consent a disclosure was made and in which
//! trace. Each service keeps its own `audit_log` table; a write's audit row
//! commits in the same transaction as the write itself. Rows form a keyed hash
//! chain ([`chain`]) and are append-only (database triggers); [`trail`] reads
//! them back for auditors.

use sea_orm::DbErr;
use sea_orm_migration::prelude::*;
use tonic::{Status, metadata::MetadataMap};

use crate::auth::{Caller, Role};

pub mod chain;
pub mod trail;

pub use chain::{AuditChain, Verification};

/// Metadata key a caller uses to state why it accesses patient data.
pub const PURPOSE_HEADER: &str = "iop-purpose-of-use";

/// Why patient data is accessed (HIPAA/Part 2 purposes of use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Treatment (the default).
    Treatment,
    /// Payment.
    Payment,
    /// Health-care operations.
    Operations,
    /// Audit of the record itself.
    Audit,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 4] = [
        Purpose::Treatment,
        Purpose::Payment,
        Purpose::Operations,
        Purpose::Audit,
    ];

    /// Stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Treatment => "treatment",
            Purpose::Payment => "payment",
            Purpose::Operations => "operations",
            Purpose::Audit => "audit",
        }
    }

    /// The purposes a role serves: intake and clinicians treat, billing is
    /// paid, auditors audit and run operations, admins may state any.
    pub fn served_by(role: Role) -> &'static [Purpose] {
        match role {
            Role::Intake | Role::Clinician | Role::MedicalDirector => &[Purpose::Treatment],
            Role::Billing => &[Purpose::Payment],
            Role::Auditor => &[Purpose::Operations, Purpose::Audit],
            Role::Admin => &Purpose::ALL,
        }
    }

    /// The purpose the `iop-purpose-of-use` header states, if any; a value
    /// that names no purpose is INVALID_ARGUMENT.
    #[allow(
        clippy::result_large_err,
        reason = "tonic::Status is the error type of every handler"
    )]
    pub fn stated(metadata: &MetadataMap) -> Result<Option<Self>, Status> {
        let Some(value) = metadata.get(PURPOSE_HEADER) else {
            return Ok(None);
        };
        Ok(Some(match value.to_str().unwrap_or_default() {
            "treatment" => Purpose::Treatment,
            "payment" => Purpose::Payment,
            "operations" => Purpose::Operations,
            "audit" => Purpose::Audit,
            _ => {
                return Err(Status::invalid_argument(format!(
                    "{PURPOSE_HEADER}: must be treatment, payment, operations or audit"
                )));
            }
        }))
    }

    /// The purpose of a call: the `iop-purpose-of-use` header if the caller's
    /// roles serve it, or, without the header, the first purpose they serve
    /// (treatment, payment, operations, audit, in that order). A purpose the
    /// caller's roles do not serve is refused: a billing token cannot read
    /// through a treatment-only consent by claiming treatment.
    #[allow(
        clippy::result_large_err,
        reason = "tonic::Status is the error type of every handler"
    )]
    pub fn of_call(metadata: &MetadataMap, caller: &Caller) -> Result<Self, Status> {
        let served = |p: &Purpose| {
            Role::ALL
                .iter()
                .any(|r| caller.has_any_role(&[*r]) && Purpose::served_by(*r).contains(p))
        };
        match Self::stated(metadata)? {
            Some(p) if served(&p) => Ok(p),
            Some(_) => Err(Status::permission_denied("permission denied")),
            None => Purpose::ALL
                .into_iter()
                .find(served)
                .ok_or_else(|| Status::permission_denied("permission denied")),
        }
    }
}

/// Whether the access happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Access granted.
    Allowed,
    /// Access refused.
    Denied,
}

impl Outcome {
    /// Stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
        }
    }
}

/// One audited access.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Who.
    pub caller: &'a Caller,
    /// What, as `<service>.<Rpc>`.
    pub action: &'a str,
    /// Which patient, when one is concerned.
    pub patient_id: Option<&'a str>,
    /// The facility the access was made for, when one is named.
    pub facility_id: Option<&'a str>,
    /// Why.
    pub purpose: Purpose,
    /// Allowed or denied.
    pub outcome: Outcome,
    /// The consent a disclosure relied on.
    pub consent_id: Option<&'a str>,
}

/// The `audit_log` table.
#[allow(
    missing_docs,
    reason = "fields are the columns, described on the module"
)]
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub occurred_at: DateTimeUtc,
        pub actor: String,
        pub actor_roles: String,
        pub action: String,
        pub patient_id: Option<String>,
        pub facility_id: Option<String>,
        pub purpose: String,
        pub outcome: String,
        pub sequence: Option<i64>,
        pub prev_hash: Option<String>,
        pub hash: Option<String>,
        pub consent_id: Option<String>,
        pub trace_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Creates `audit_log`; every service's migrator lists it. Identifiers are
/// frozen here, so a later change to the entity cannot rewrite this history.
pub struct CreateAuditLog;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OccurredAt,
    Actor,
    ActorRoles,
    Action,
    PatientId,
    FacilityId,
    Purpose,
    Outcome,
}

impl MigrationName for CreateAuditLog {
    fn name(&self) -> &str {
        "m20261128_000001_create_audit_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAuditLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AuditLog::Id)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLog::Actor).string().not_null())
                    .col(ColumnDef::new(AuditLog::ActorRoles).string().not_null())
                    .col(ColumnDef::new(AuditLog::Action).string().not_null())
                    .col(ColumnDef::new(AuditLog::PatientId).string())
                    .col(ColumnDef::new(AuditLog::FacilityId).string())
                    .col(ColumnDef::new(AuditLog::Purpose).string().not_null())
                    .col(ColumnDef::new(AuditLog::Outcome).string().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_patient")
                    .table(AuditLog::Table)
                    .col(AuditLog::PatientId)
                    .col(AuditLog::OccurredAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}

/// Turns `audit_log` into a chain: each row's place (`sequence`), the hash of
/// the row before it and its own keyed hash; the consent a disclosure relied
/// on and the trace of the call; the `audit_chain` head (one row: the last
/// sequence and hash); and triggers that refuse deleting a row or changing a
/// sealed one, so the service's own code and database user cannot do it by
/// accident (whoever can drop a trigger still can, and the chain shows it).
/// Rows written before this migration are sealed at start-up
/// ([`AuditChain::seal`]).
pub struct ChainAuditLog;

#[derive(DeriveIden)]
enum Chained {
    #[sea_orm(iden = "audit_log")]
    Table,
    Sequence,
    PrevHash,
    Hash,
    ConsentId,
    TraceId,
}

#[derive(DeriveIden)]
enum AuditChainHead {
    #[sea_orm(iden = "audit_chain")]
    Table,
    Id,
    Sequence,
    Hash,
}

impl MigrationName for ChainAuditLog {
    fn name(&self) -> &str {
        "m20261129_000001_chain_audit_log"
    }
}

const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_sealed BEFORE UPDATE ON audit_log \
     WHEN OLD.hash IS NOT NULL BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
];

const POSTGRES_TRIGGERS: &[&str] = &[
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN IF TG_OP = 'DELETE' OR OLD.hash IS NOT NULL THEN \
     RAISE EXCEPTION 'audit_log is append-only'; END IF; RETURN NEW; END $$",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log \
     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
];

#[async_trait::async_trait]
impl MigrationTrait for ChainAuditLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use crate::schema::{add_columns, big_int, create_tables, index, optional_text, text};
        add_columns(
            manager,
            Chained::Table,
            vec![
                ColumnDef::new(Chained::Sequence).big_integer().to_owned(),
                optional_text(Chained::PrevHash),
                optional_text(Chained::Hash),
                optional_text(Chained::ConsentId),
                optional_text(Chained::TraceId),
            ],
        )
        .await?;
        index(
            manager,
            "audit_log_sequence",
            Chained::Table,
            vec![Chained::Sequence.into_iden()],
            true,
        )
        .await?;
        index(
            manager,
            "audit_log_actor",
            Chained::Table,
            vec![
                Alias::new("actor").into_iden(),
                Alias::new("occurred_at").into_iden(),
            ],
            false,
        )
        .await?;
        create_tables(
            manager,
            vec![
                Table::create()
                    .table(AuditChainHead::Table)
                    .col(
                        ColumnDef::new(AuditChainHead::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(big_int(AuditChainHead::Sequence))
                    .col(text(AuditChainHead::Hash))
                    .to_owned(),
            ],
        )
        .await?;
        let db = manager.get_connection();
        db.execute_unprepared("INSERT INTO audit_chain (id, sequence, hash) VALUES (1, 0, '')")
            .await?;
        let triggers = match manager.get_database_backend() {
            sea_orm::DbBackend::Postgres => POSTGRES_TRIGGERS,
            _ => SQLITE_TRIGGERS,
        };
        for sql in triggers {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        crate::schema::forward_only(self.name())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use tonic::Code;

    use super::*;

    fn with(header: Option<&str>) -> MetadataMap {
        let mut m = MetadataMap::new();
        if let Some(h) = header {
            m.insert(PURPOSE_HEADER, h.parse().unwrap());
        }
        m
    }

    #[test]
    fn the_purpose_is_one_the_callers_roles_serve() {
        let billing = Caller::new("b", &[Role::Billing], &["oakland"]);
        let nurse = Caller::new("n", &[Role::Intake], &["oakland"]);
        let auditor = Caller::new("a", &[Role::Auditor], &["*"]);
        let both = Caller::new("x", &[Role::Billing, Role::Clinician], &["oakland"]);
        // Without the header: the role's own purpose, not treatment for everyone.
        assert_eq!(
            Purpose::of_call(&with(None), &billing).unwrap(),
            Purpose::Payment
        );
        assert_eq!(
            Purpose::of_call(&with(None), &nurse).unwrap(),
            Purpose::Treatment
        );
        assert_eq!(
            Purpose::of_call(&with(None), &auditor).unwrap(),
            Purpose::Operations
        );
        assert_eq!(
            Purpose::of_call(&with(Some("audit")), &auditor).unwrap(),
            Purpose::Audit
        );
        assert_eq!(
            Purpose::of_call(&with(Some("payment")), &both).unwrap(),
            Purpose::Payment
        );
        // Claiming a purpose the role does not serve is refused, uniformly.
        let e = Purpose::of_call(&with(Some("treatment")), &billing).unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (Code::PermissionDenied, "permission denied")
        );
        let e = Purpose::of_call(&with(Some("payment")), &nurse).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
        let e = Purpose::of_call(&with(Some("care")), &nurse).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
    }
}
