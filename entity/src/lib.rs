//! sea-orm models, one file per table. No logic lives here: domain rules are in
//! `server::store`, and the tables themselves are defined by the `migration` crate.

pub mod admin_key;
pub mod group_member;
pub mod scim_group;
pub mod scim_token;
pub mod scim_user;
pub mod scim_user_value;
pub mod tenant;
