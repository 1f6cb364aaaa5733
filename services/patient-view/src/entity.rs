//! Patient-view tables: `patient_views` (one folded row per patient),
//! `view_positions` (per patient and source, the sequence applied so far: what
//! consistency tokens are checked against), `timeline` (each applied event) and
//! `view_consents` (the local copy of each patient's Part 2 consents, which the
//! access rule reads) and `view_attendance` (clinical minutes of each patient's
//! latest week with attendance).

#![allow(
    missing_docs,
    reason = "fields are the columns, described on the module"
)]

pub mod view {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "patient_views")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub patient_id: String,
        pub mrn: String,
        pub given_name: String,
        pub middle_name: String,
        pub family_name: String,
        pub preferred_name: String,
        pub date_of_birth: Option<Date>,
        pub registered_facility_id: String,
        /// CareStatus value.
        pub status: i32,
        pub episode_id: Option<String>,
        pub facility_id: Option<String>,
        pub program: i32,
        pub level_of_care: i32,
        pub admitted_on: Option<Date>,
        pub updated_at: DateTimeUtc,
        /// The survivor, once this record was merged into it.
        pub merged_into: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod position {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "view_positions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub patient_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub source: String,
        pub sequence: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod timeline {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "timeline")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub position: i64,
        #[sea_orm(unique)]
        pub event_id: String,
        pub patient_id: String,
        pub event_type: String,
        pub occurred_at: DateTimeUtc,
        pub facility_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod consent {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "view_consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub consent_id: String,
        pub patient_id: String,
        /// `iop.common.v1.Consent`, encoded, with its revocation and expiry event.
        pub consent: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod attendance {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "view_attendance")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub patient_id: String,
        /// Monday of the week, facility time.
        pub week_start: Date,
        /// The facility's time zone, to tell which week is "this week".
        pub time_zone: String,
        pub minutes: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
