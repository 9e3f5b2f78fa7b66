//! The single integration-test binary: every test drives `server::app()` in-process.
//! Storage tests run on SQLite and, when `SCIM_TEST_POSTGRES_URL` is set, on PostgreSQL
//! too (a fresh schema per test).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

#[macro_use]
mod helpers;

mod activity;
mod activity_stream;
mod admin_keys;
mod audit;
mod bootstrap;
mod change_events;
mod connections;
mod durability;
mod group_mappings;
mod hostile_input;
mod metrics;
mod okta;
mod onelogin;
mod openapi;
mod ops;
mod permission_groups;
mod permissions_property;
mod process;
mod rate_limits;
mod read_cache;
mod replicas;
mod schema;
mod scim_discovery;
mod scim_gate;
mod scim_groups;
mod scim_patch;
mod scim_tokens;
mod scim_users;
mod secrets;
mod server_log;
mod sync_health;
mod synced_lists;
mod tenant_limits;
mod tenants;
mod throttling;
mod user_permissions;
mod verification;
mod writes;
