//! Domain operations over the database. Every tenant-owned query filters on the tenant id
//! here, so isolation is enforced in one place rather than remembered by callers; every
//! multi-statement change runs in one write transaction.

pub mod abandoned;
pub mod activity;
pub mod admin_keys;
pub mod audit;
pub mod catalog;
pub mod checkpointer;
pub mod chunks;
pub mod coalesce;
pub mod credentials;
pub mod db;
pub mod effective;
pub mod events;
pub mod grant_lookups;
pub mod groups;
pub mod health;
pub mod limits;
pub mod mappings;
pub mod member_changes;
pub mod notify;
pub mod one_trip;
pub mod pages;
pub mod permission_changes;
pub mod preview;
pub mod products;
pub mod rate_limits;
pub mod resources;
pub mod scim_tokens;
pub mod storage;
pub mod sync;
pub mod synced;
pub mod tenants;
#[cfg(test)]
mod test_writes;
pub mod transaction_watch;
pub mod unique;
pub mod user_cache;
pub mod user_creates;
pub mod user_names;
pub mod users;
pub mod writer;

pub use storage::Storage;
