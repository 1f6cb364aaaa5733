//! Scheduling tables: `facilities` (time zones, copied from admissions' events),
//! `enrollments` (one per episode, opened by PatientAdmitted), `patient_streams`
//! (each patient's event sequence in this context), `tracks`, `sessions` (times
//! stored as UTC instants beside the facility-local date and minutes),
//! `track_members`, `bookings` (with the session's times, for overlap checks),
//! `attendance` and `weekly_evaluations`.

#![allow(
    missing_docs,
    reason = "fields are the columns, described on the module"
)]

macro_rules! table {
    ($module:ident, $name:tt, { $($field:tt)* }) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = $name)]
            pub struct Model {
                $($field)*
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

table!(facility, "facilities", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub time_zone: String,
    pub version: i64,
});

table!(enrollment, "enrollments", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub episode_id: String,
    pub patient_id: String,
    pub facility_id: String,
    pub program: i32,
    pub level_of_care: i32,
    pub age_group: i32,
    pub admitted_on: Date,
    pub active: bool,
    pub discharged_on: Option<Date>,
    pub created_at: DateTimeUtc,
});

table!(patient_stream, "patient_streams", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    pub version: i64,
});

table!(track, "tracks", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub facility_id: String,
    pub name: String,
    pub program: i32,
    /// ISO weekday numbers (1 = Monday), comma-separated.
    pub weekdays: String,
    /// Minutes after local midnight.
    pub start_minute: i32,
    pub end_minute: i32,
    pub session_type: i32,
    pub capacity: i32,
    pub facilitator_id: String,
    pub room: String,
    pub created_at: DateTimeUtc,
});

table!(session, "sessions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub facility_id: String,
    pub track_id: Option<String>,
    pub session_type: i32,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub local_date: Date,
    pub local_start_minute: i32,
    pub local_end_minute: i32,
    pub facilitator_id: String,
    pub room: String,
    pub capacity: i32,
});

table!(track_member, "track_members", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub track_id: String,
    pub joined_at: DateTimeUtc,
});

table!(booking, "bookings", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub session_id: String,
    pub facility_id: String,
    /// `booked` or `cancelled`.
    pub status: String,
    pub cancel_reason: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
});

table!(attendance, "attendance", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    pub status: i32,
    pub minutes: i32,
    pub clinical: bool,
    pub local_date: Date,
    pub checked_in_at: Option<DateTimeUtc>,
    pub checked_out_at: Option<DateTimeUtc>,
    pub recorded_at: DateTimeUtc,
    pub recorded_by: String,
});

table!(weekly_evaluation, "weekly_evaluations", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub week_start: Date,
    pub facility_id: String,
    pub minutes: i32,
    pub compliance: i32,
    pub evaluated_at: DateTimeUtc,
});
