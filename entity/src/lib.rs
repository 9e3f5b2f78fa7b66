//! sea-orm models, one file per table. No logic lives here: domain rules are in
//! `server::store`, and the tables themselves are defined by the `migration` crate.

pub mod activity_entry;
pub mod admin_key;
pub mod audit_event;
pub mod change_event;
pub mod change_event_trim;
pub mod group_mapping;
pub mod group_mapping_permission_group;
pub mod group_member;
pub mod permission;
pub mod permission_group;
pub mod permission_group_permission;
pub mod product;
pub mod scim_group;
pub mod scim_token;
pub mod scim_user;
pub mod scim_user_value;
pub mod tenant;
