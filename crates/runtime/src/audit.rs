//! The audit trail (HIPAA audit controls): one row per read or write of patient
//! data, saying who, which patient, what, when, why (purpose of use) and whether
//! it was allowed. Each service keeps its own `audit_log` table; a write's audit
//! row commits in the same transaction as the write itself.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use sea_orm_migration::prelude::*;
use tonic::{Status, metadata::MetadataMap};

use crate::auth::Caller;

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
    /// Stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Treatment => "treatment",
            Purpose::Payment => "payment",
            Purpose::Operations => "operations",
            Purpose::Audit => "audit",
        }
    }

    /// Reads the purpose from request metadata; absent means treatment.
    #[allow(
        clippy::result_large_err,
        reason = "tonic::Status is the error type of every handler"
    )]
    pub fn from_metadata(metadata: &MetadataMap) -> Result<Self, Status> {
        let Some(value) = metadata.get(PURPOSE_HEADER) else {
            return Ok(Purpose::Treatment);
        };
        match value.to_str().unwrap_or_default() {
            "treatment" => Ok(Purpose::Treatment),
            "payment" => Ok(Purpose::Payment),
            "operations" => Ok(Purpose::Operations),
            "audit" => Ok(Purpose::Audit),
            _ => Err(Status::invalid_argument(format!(
                "{PURPOSE_HEADER}: must be treatment, payment, operations or audit"
            ))),
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
}

/// Writes `entry` through `db`. Only the unit of work (`iop_messaging::work`)
/// calls this, so an audit row always commits with what it records.
pub async fn insert<C: ConnectionTrait>(db: &C, entry: AuditEntry<'_>) -> Result<(), DbErr> {
    entity::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        occurred_at: Set(chrono::Utc::now()),
        actor: Set(entry.caller.subject().to_owned()),
        actor_roles: Set(entry.caller.roles_label()),
        action: Set(entry.action.to_owned()),
        patient_id: Set(entry.patient_id.map(str::to_owned)),
        facility_id: Set(entry.facility_id.map(str::to_owned)),
        purpose: Set(entry.purpose.as_str().to_owned()),
        outcome: Set(match entry.outcome {
            Outcome::Allowed => "allowed".to_owned(),
            Outcome::Denied => "denied".to_owned(),
        }),
    }
    .insert(db)
    .await
    .map(|_| ())
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
