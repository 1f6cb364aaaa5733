//! The rest of the admissions domain: contact details and merges on patients,
//! the placement on episodes, demographic history, the facility registry,
//! assessments, consents and coverages.

use iop_runtime::schema::{
    add_columns, big_int, blob, create_tables, forward_only, index, instant, int, key,
    optional_instant, optional_int, optional_text, text,
};
use sea_orm_migration::prelude::*;

/// The migration (named after this file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Patients {
    Table,
    AddressLine1,
    AddressLine2,
    AddressCity,
    AddressState,
    AddressPostalCode,
    EmergencyName,
    EmergencyRelationship,
    EmergencyPhone,
    MergedInto,
    MergedAt,
}

#[derive(DeriveIden)]
enum Episodes {
    Table,
    AssessmentId,
    FacilityId,
    Program,
    Status,
}

#[derive(DeriveIden)]
enum DemographicVersions {
    Table,
    Id,
    PatientId,
    Version,
    Demographics,
    RecordedAt,
    RecordedBy,
    Reason,
}

#[derive(DeriveIden)]
enum Facilities {
    Table,
    Id,
    Name,
    City,
    TimeZone,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FacilityPrograms {
    Table,
    FacilityId,
    Program,
    Capacity,
}

#[derive(DeriveIden)]
enum Assessments {
    Table,
    Id,
    PatientId,
    FacilityId,
    Input,
    Recommendation,
    RecommendedLevel,
    RulesVersion,
    AgeGroup,
    AssessedBy,
    AssessedAt,
    OverrideLevel,
    OverrideJustification,
    OverriddenBy,
    OverriddenAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    PatientId,
    Consent,
    RecordedAt,
    RecordedBy,
    RevokedAt,
    ExpiryEventAt,
}

#[derive(DeriveIden)]
enum Coverages {
    Table,
    Id,
    PatientId,
    Coverage,
    RecordedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Patients as P;
        let mut contact: Vec<ColumnDef> = [
            P::AddressLine1,
            P::AddressLine2,
            P::AddressCity,
            P::AddressState,
            P::AddressPostalCode,
            P::EmergencyName,
            P::EmergencyRelationship,
            P::EmergencyPhone,
        ]
        .into_iter()
        .map(|c| text(c).default("").to_owned())
        .collect();
        contact.push(optional_text(P::MergedInto));
        contact.push(optional_instant(P::MergedAt));
        add_columns(manager, P::Table, contact).await?;
        add_columns(
            manager,
            Episodes::Table,
            vec![optional_text(Episodes::AssessmentId)],
        )
        .await?;

        use Assessments as A;
        use Consents as C;
        use Coverages as V;
        use DemographicVersions as D;
        use Facilities as F;
        use FacilityPrograms as FP;
        let tables = [
            Table::create()
                .table(D::Table)
                .col(key(D::Id))
                .col(text(D::PatientId))
                .col(big_int(D::Version))
                .col(blob(D::Demographics))
                .col(instant(D::RecordedAt))
                .col(text(D::RecordedBy))
                .col(text(D::Reason))
                .to_owned(),
            Table::create()
                .table(F::Table)
                .col(key(F::Id))
                .col(text(F::Name))
                .col(text(F::City))
                .col(text(F::TimeZone))
                .col(big_int(F::Version))
                .col(instant(F::UpdatedAt))
                .to_owned(),
            Table::create()
                .table(FP::Table)
                .col(text(FP::FacilityId))
                .col(int(FP::Program))
                .col(int(FP::Capacity))
                .primary_key(Index::create().col(FP::FacilityId).col(FP::Program))
                .to_owned(),
            Table::create()
                .table(A::Table)
                .col(key(A::Id))
                .col(text(A::PatientId))
                .col(text(A::FacilityId))
                .col(blob(A::Input))
                .col(blob(A::Recommendation))
                .col(int(A::RecommendedLevel))
                .col(text(A::RulesVersion))
                .col(int(A::AgeGroup))
                .col(text(A::AssessedBy))
                .col(instant(A::AssessedAt))
                .col(optional_int(A::OverrideLevel))
                .col(optional_text(A::OverrideJustification))
                .col(optional_text(A::OverriddenBy))
                .col(optional_instant(A::OverriddenAt))
                .to_owned(),
            Table::create()
                .table(C::Table)
                .col(key(C::Id))
                .col(text(C::PatientId))
                .col(blob(C::Consent))
                .col(instant(C::RecordedAt))
                .col(text(C::RecordedBy))
                .col(optional_instant(C::RevokedAt))
                .col(optional_instant(C::ExpiryEventAt))
                .to_owned(),
            Table::create()
                .table(V::Table)
                .col(key(V::Id))
                .col(text(V::PatientId))
                .col(blob(V::Coverage))
                .col(instant(V::RecordedAt))
                .to_owned(),
        ];
        create_tables(manager, tables.to_vec()).await?;
        let indexes: [(&str, DynIden, Vec<DynIden>); 6] = [
            (
                "ix_demographic_versions_patient",
                D::Table.into_iden(),
                vec![D::PatientId.into_iden()],
            ),
            (
                "ix_assessments_patient",
                A::Table.into_iden(),
                vec![A::PatientId.into_iden()],
            ),
            (
                "ix_consents_patient",
                C::Table.into_iden(),
                vec![C::PatientId.into_iden()],
            ),
            (
                "ix_coverages_patient",
                V::Table.into_iden(),
                vec![V::PatientId.into_iden()],
            ),
            (
                "ix_patients_merged_into",
                P::Table.into_iden(),
                vec![P::MergedInto.into_iden()],
            ),
            // Capacity is counted over active episodes of a facility's program.
            (
                "ix_episodes_facility_program_status",
                Episodes::Table.into_iden(),
                vec![
                    Episodes::FacilityId.into_iden(),
                    Episodes::Program.into_iden(),
                    Episodes::Status.into_iden(),
                ],
            ),
        ];
        for (name, table, columns) in indexes {
            index(manager, name, table, columns, false).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping these would destroy patient records.
        forward_only(self.name())
    }
}
