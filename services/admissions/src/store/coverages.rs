//! Coverage records.

use iop_proto::common::v1::Coverage;
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};

use crate::{entity::coverage, error::AdmissionsError};

/// The patient's coverages, latest first.
pub async fn of_patient<C: ConnectionTrait>(
    db: &C,
    patient_id: &str,
) -> Result<Vec<Coverage>, AdmissionsError> {
    coverage::Entity::find()
        .filter(coverage::Column::PatientId.eq(patient_id))
        .order_by_desc(coverage::Column::RecordedAt)
        .all(db)
        .await?
        .iter()
        .map(|c| {
            Coverage::decode(c.coverage.as_slice())
                .map_err(|_| super::corrupt(format!("coverage {}", c.id)))
        })
        .collect()
}

/// Inserts a coverage.
pub async fn insert<C: ConnectionTrait>(db: &C, row: coverage::ActiveModel) -> Result<(), DbErr> {
    row.insert(db).await?;
    Ok(())
}

/// Moves every coverage of `from` to `to` (a merge).
pub async fn move_all<C: ConnectionTrait>(db: &C, from: &str, to: &str) -> Result<(), DbErr> {
    coverage::Entity::update_many()
        .col_expr(coverage::Column::PatientId, Expr::value(to))
        .filter(coverage::Column::PatientId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}
