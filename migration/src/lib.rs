//! The schema, as an ordered list of migrations. Applied migrations are never edited;
//! later changes come as new files. Migrations define tables with their own identifiers
//! rather than `entity` types, so changing an entity cannot rewrite history.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_tenants_and_credentials;
mod m20261128_000002_create_users_and_groups;
mod m20261129_000003_create_storage_probe;
mod m20261129_000004_create_permissions;
mod m20261129_000005_add_member_since;
mod m20261129_000006_add_permissions_version;
mod m20261129_000007_count_users_per_tenant;
mod m20261129_000008_create_activity;
mod m20261202_000009_create_change_events;
mod m20261202_000010_add_token_cut_over;
mod m20261203_000011_create_rate_limit_windows;
mod m20261207_000012_member_added_by;
mod m20261207_000013_create_change_event_trims;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_tenants_and_credentials::Migration),
            Box::new(m20261128_000002_create_users_and_groups::Migration),
            Box::new(m20261129_000003_create_storage_probe::Migration),
            Box::new(m20261129_000004_create_permissions::Migration),
            Box::new(m20261129_000005_add_member_since::Migration),
            Box::new(m20261129_000006_add_permissions_version::Migration),
            Box::new(m20261129_000007_count_users_per_tenant::Migration),
            Box::new(m20261129_000008_create_activity::Migration),
            Box::new(m20261202_000009_create_change_events::Migration),
            Box::new(m20261202_000010_add_token_cut_over::Migration),
            Box::new(m20261203_000011_create_rate_limit_windows::Migration),
            Box::new(m20261207_000012_member_added_by::Migration),
            Box::new(m20261207_000013_create_change_event_trims::Migration),
        ]
    }
}
