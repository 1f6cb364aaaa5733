//! Versioned schema of the projector's database: the shared tables first,
//! then its own. Migrations are append-only.

mod m20261215_000100_create_subjects_and_episodes;

iop_messaging::migrator!(m20261215_000100_create_subjects_and_episodes::Migration);
