//! The SCIM 2.0 protocol surface under `/scim/{tenantId}/v2`.

pub mod admission;
pub mod auth;
pub mod discovery;
pub mod docs;
pub mod error;
pub mod filter;
pub mod groups;
pub mod listing;
pub mod patch;
pub mod payload;
pub mod query;
pub mod resource;
pub mod root;
pub mod schema;
pub mod users;

/// Media type of every SCIM response (RFC 7644 §3.1).
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";
