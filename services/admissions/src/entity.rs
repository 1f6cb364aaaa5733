//! Admissions tables: `patients` (the master record, whose `version` is the
//! patient's event sequence), `episodes`, `demographic_versions` (every recorded
//! version of a patient's demographics), `facilities` and `facility_programs`
//! (the registry), `assessments` (screenings with their placement), `consents`
//! and `coverages`. Records whose shape is a contract (assessment input and
//! recommendation, consent, coverage, demographics) are stored as their protobuf
//! encoding beside the columns that are queried.

#![allow(
    missing_docs,
    reason = "fields are the columns, described on the module"
)]

pub mod patient {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "patients")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        #[sea_orm(unique)]
        pub mrn: String,
        pub given_name: String,
        pub middle_name: String,
        pub family_name: String,
        pub preferred_name: String,
        pub date_of_birth: Date,
        pub sex: i32,
        pub gender_identity: String,
        pub phone: String,
        pub email: String,
        /// Last four SSN digits, or empty; only for duplicate detection.
        pub ssn_last4: String,
        pub registered_facility_id: String,
        /// Sequence number of the patient's last event.
        pub version: i64,
        #[sea_orm(unique)]
        pub request_id: Option<String>,
        pub registered_at: DateTimeUtc,
        pub address_line1: String,
        pub address_line2: String,
        pub address_city: String,
        pub address_state: String,
        pub address_postal_code: String,
        pub emergency_name: String,
        pub emergency_relationship: String,
        pub emergency_phone: String,
        /// The survivor, once this record was merged into it.
        pub merged_into: Option<String>,
        pub merged_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod episode {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "episodes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub patient_id: String,
        pub facility_id: String,
        pub program: i32,
        pub level_of_care: i32,
        pub admitted_on: Date,
        /// `active` or `discharged`.
        pub status: String,
        pub discharge_reason: Option<i32>,
        pub discharged_on: Option<Date>,
        /// Sequence number of the PatientAdmitted event that opened it.
        pub sequence: i64,
        #[sea_orm(unique)]
        pub request_id: Option<String>,
        pub created_at: DateTimeUtc,
        /// The assessment whose placement admitted the patient.
        pub assessment_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod demographic_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "demographic_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub patient_id: String,
        /// The patient's event sequence that recorded it.
        pub version: i64,
        /// `iop.admissions.v1.Demographics`, encoded.
        pub demographics: Vec<u8>,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
        pub reason: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod facility {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "facilities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub city: String,
        pub time_zone: String,
        pub version: i64,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod facility_program {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "facility_programs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub facility_id: String,
        /// Program value.
        #[sea_orm(primary_key, auto_increment = false)]
        pub program: i32,
        pub capacity: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod assessment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assessments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub patient_id: String,
        pub facility_id: String,
        /// `iop.common.v1.AssessmentInput`, encoded.
        pub input: Vec<u8>,
        /// `iop.common.v1.PlacementRecommendation`, encoded.
        pub recommendation: Vec<u8>,
        pub recommended_level: i32,
        pub rules_version: String,
        pub age_group: i32,
        pub assessed_by: String,
        pub assessed_at: DateTimeUtc,
        pub override_level: Option<i32>,
        pub override_justification: Option<String>,
        pub overridden_by: Option<String>,
        pub overridden_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod consent {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The patient (the survivor, after a merge).
        pub patient_id: String,
        /// `iop.common.v1.Consent`, encoded, as signed (without revocation).
        pub consent: Vec<u8>,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
        pub revoked_at: Option<DateTimeUtc>,
        pub expiry_event_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod coverage {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "coverages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub patient_id: String,
        /// `iop.common.v1.Coverage`, encoded.
        pub coverage: Vec<u8>,
        pub recorded_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
