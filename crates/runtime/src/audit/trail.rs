//! Reading a service's audit trail back: entries by patient, actor and time
//! range, in chain order, a page at a time; and the accounting of disclosures
//! (42 CFR Part 2): the allowed accesses made under a consent.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Outcome, entity};

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this patient.
    pub patient_id: Option<String>,
    /// Only this actor (token subject).
    pub actor: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// Only allowed accesses made under a consent (disclosures).
    pub disclosures_only: bool,
}

/// The sequence of the trail's last row (0 when empty): where a walk through
/// the trail that starts now ends, so rows its own reads add are not in it.
pub async fn last_sequence<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    Ok(entity::Entity::find()
        .filter(entity::Column::Sequence.is_not_null())
        .order_by_desc(entity::Column::Sequence)
        .one(db)
        .await?
        .and_then(|m| m.sequence)
        .unwrap_or(0))
}

/// Up to `limit` entries matching `filter` with a sequence in `(after, until]`,
/// in chain order.
pub async fn entries<C: ConnectionTrait>(
    db: &C,
    filter: &Filter,
    (after, until): (i64, i64),
    limit: u64,
) -> Result<Vec<entity::Model>, DbErr> {
    let mut q = entity::Entity::find()
        .filter(entity::Column::Sequence.gt(after))
        .filter(entity::Column::Sequence.lte(until));
    if let Some(p) = &filter.patient_id {
        q = q.filter(entity::Column::PatientId.eq(p.as_str()));
    }
    if let Some(a) = &filter.actor {
        q = q.filter(entity::Column::Actor.eq(a.as_str()));
    }
    if let Some(from) = filter.from {
        q = q.filter(entity::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(entity::Column::OccurredAt.lt(to));
    }
    if filter.disclosures_only {
        q = q
            .filter(entity::Column::ConsentId.is_not_null())
            .filter(entity::Column::Outcome.eq(Outcome::Allowed.as_str()));
    }
    q.order_by_asc(entity::Column::Sequence)
        .limit(limit)
        .all(db)
        .await
}
