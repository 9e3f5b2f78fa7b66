//! The admin API under `/admin/v1`: JSON with camelCase fields, bearer admin keys, errors
//! as `{code, message}`. One file per resource; handlers check access, validate, call one
//! `store` function and shape the answer.

pub mod activity;
pub mod admin_keys;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod credentials;
pub mod direct_json;
pub mod error;
pub mod events;
pub mod json_body;
pub mod live;
pub mod mappings;
pub mod metrics;
pub mod operator_keys;
pub mod previews;
pub mod products;
pub mod scim_tokens;
pub mod sync;
pub mod synced;
pub mod tenants;
pub mod user_permissions;
pub mod validate;
pub mod whoami;
