//! The local copy of every patient's Part 2 consents that a context keeps from
//! admissions' consent events, so it answers "may this be disclosed, to whom"
//! with the same rules ([`crate::access`], [`crate::may_disclose`]) and without
//! calling admissions. Any service adds [`CreateConsentReplica`] to its
//! migrations and feeds the consent events (and merges) to [`record`],
//! [`revoke`], [`expire`] and [`merge`] inside its consumer's unit of work;
//! [`route`] registers all of it on a router for a service that needs nothing
//! more.
//!
//! Events of a merged-away record may arrive after the merge (they travel on
//! another partition): the replica remembers merges and files them under the
//! survivor.

use iop_messaging::{consumer::ApplyError, router::Router};
use iop_proto::{
    admissions::events::v1::{ConsentExpired, ConsentRecorded, ConsentRevoked},
    common::v1 as pb,
};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};
use sea_orm_migration::prelude::*;

use crate::Consent;

/// The tables of the replica.
#[allow(
    missing_docs,
    reason = "fields are the columns, described on the module"
)]
pub mod entity {
    /// One consent as last described by admissions.
    pub mod consent {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "consent_replica")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub consent_id: String,
            /// The patient it is filed under (the survivor, after a merge).
            pub patient_id: String,
            /// `iop.common.v1.Consent`, encoded, with its revocation and expiry event.
            pub consent: Vec<u8>,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// A merged-away patient id and its survivor.
    pub mod merge {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "consent_replica_merges")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub merged_away_id: String,
            pub survivor_id: String,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }
}

use entity::{consent, merge as merges};

fn permanent(what: &str) -> ApplyError {
    ApplyError::Permanent(what.to_owned())
}

/// The patient consents of `patient_id` are filed under: its survivor, if merged.
pub(crate) async fn owner<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<String, DbErr> {
    Ok(merges::Entity::find_by_id(patient_id)
        .one(db)
        .await?
        .map_or_else(|| patient_id.to_owned(), |m| m.survivor_id))
}

/// Keeps (or replaces) the copy of a recorded consent.
pub async fn record<C: ConnectionTrait>(db: &C, e: &ConsentRecorded) -> Result<(), ApplyError> {
    let c = e
        .consent
        .as_ref()
        .ok_or_else(|| permanent("ConsentRecorded without a consent"))?;
    if c.consent_id.is_empty() || c.patient_id.is_empty() {
        return Err(permanent("ConsentRecorded without consent or patient id"));
    }
    let row = consent::ActiveModel {
        consent_id: Set(c.consent_id.clone()),
        patient_id: Set(owner(db, &c.patient_id).await?),
        consent: Set(c.encode_to_vec()),
    };
    // A replay of the same consent (after a merge re-keyed it) keeps one row.
    if consent::Entity::find_by_id(&c.consent_id)
        .one(db)
        .await?
        .is_some()
    {
        row.update(db).await?;
    } else {
        row.insert(db).await?;
    }
    Ok(())
}

/// Stamps a kept consent; a consent this copy never saw (its recording was
/// dead-lettered) has nothing to stamp.
async fn stamp<C: ConnectionTrait>(
    db: &C,
    consent_id: &str,
    change: impl FnOnce(&mut pb::Consent),
) -> Result<(), ApplyError> {
    let Some(row) = consent::Entity::find_by_id(consent_id).one(db).await? else {
        return Ok(());
    };
    let mut c = pb::Consent::decode(row.consent.as_slice())
        .map_err(|e| ApplyError::Permanent(format!("stored consent {consent_id}: {e}")))?;
    change(&mut c);
    let mut row: consent::ActiveModel = row.into();
    row.consent = Set(c.encode_to_vec());
    row.update(db).await?;
    Ok(())
}

/// Records a revocation.
pub async fn revoke<C: ConnectionTrait>(db: &C, e: &ConsentRevoked) -> Result<(), ApplyError> {
    let at = e.revoked_at;
    stamp(db, &e.consent_id, |c| c.revoked_at = at).await
}

/// Records the expiry event of a consent that expires on one.
pub async fn expire<C: ConnectionTrait>(db: &C, e: &ConsentExpired) -> Result<(), ApplyError> {
    let at = e.expiry_event_at;
    stamp(db, &e.consent_id, |c| c.expiry_event_at = at).await
}

/// Files the merged-away record's consents under the survivor, now and later
/// (a service that keeps [`crate::known`] too calls its `merge` beside this).
pub async fn merge<C: ConnectionTrait>(
    db: &C,
    survivor_id: &str,
    merged_away_id: &str,
) -> Result<(), DbErr> {
    if merges::Entity::find_by_id(merged_away_id)
        .one(db)
        .await?
        .is_none()
    {
        merges::ActiveModel {
            merged_away_id: Set(merged_away_id.to_owned()),
            survivor_id: Set(survivor_id.to_owned()),
        }
        .insert(db)
        .await?;
    }
    // Records merged into the merged-away one follow it (one hop, always).
    merges::Entity::update_many()
        .col_expr(merges::Column::SurvivorId, Expr::value(survivor_id))
        .filter(merges::Column::SurvivorId.eq(merged_away_id))
        .exec(db)
        .await?;
    consent::Entity::update_many()
        .col_expr(consent::Column::PatientId, Expr::value(survivor_id))
        .filter(consent::Column::PatientId.eq(merged_away_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The consents kept for `patient_id`, as the rules see them. A stored copy
/// that no longer validates grants nothing and is skipped (and logged).
pub async fn consents_of<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<Consent>, DbErr> {
    let rows = consent::Entity::find()
        .filter(consent::Column::PatientId.eq(patient_id))
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let parsed = pb::Consent::decode(row.consent.as_slice())
                .map_err(|e| e.to_string())
                .and_then(|c| crate::wire::consent(&c).map_err(|e| e.to_string()));
            match parsed {
                Ok(c) => Some(c),
                Err(reason) => {
                    tracing::warn!(consent_id = %row.consent_id, %reason, "kept consent ignored");
                    None
                }
            }
        })
        .collect())
}

/// Registers the consent events on `router` for a service that keeps the
/// replica and nothing else from them (merges stay the service's own handler,
/// which calls [`merge`]).
pub fn route<S: Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .on::<ConsentRecorded>(|_, work, e, _| {
            Box::pin(async move { record(work.txn(), &e).await })
        })
        .on::<ConsentRevoked>(|_, work, e, _| Box::pin(async move { revoke(work.txn(), &e).await }))
        .on::<ConsentExpired>(|_, work, e, _| Box::pin(async move { expire(work.txn(), &e).await }))
}

/// Creates the replica's tables (identifiers frozen here).
pub struct CreateConsentReplica;

#[derive(DeriveIden)]
enum ConsentReplica {
    Table,
    ConsentId,
    PatientId,
    Consent,
}

#[derive(DeriveIden)]
enum ConsentReplicaMerges {
    Table,
    MergedAwayId,
    SurvivorId,
}

impl MigrationName for CreateConsentReplica {
    fn name(&self) -> &str {
        "m20261128_000600_create_consent_replica"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateConsentReplica {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConsentReplica::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ConsentReplica::ConsentId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ConsentReplica::PatientId)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConsentReplica::Consent).binary().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_consent_replica_patient")
                    .table(ConsentReplica::Table)
                    .col(ConsentReplica::PatientId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConsentReplicaMerges::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ConsentReplicaMerges::MergedAwayId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ConsentReplicaMerges::SurvivorId)
                            .string()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConsentReplicaMerges::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ConsentReplica::Table).to_owned())
            .await
    }
}
