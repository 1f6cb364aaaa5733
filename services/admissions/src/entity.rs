//! Admissions tables: `patients` (the master record, whose `version` is the
//! patient's event sequence) and `episodes`.

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
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
