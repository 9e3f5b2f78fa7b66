//! Membership of a user in a group: one row each, so adding or removing a member costs the
//! same in a group of ten or of a hundred thousand.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "group_member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub tenant_id: String,
    /// When the membership began; empty for memberships stored before this was recorded.
    pub added_at: Option<DateTimeUtc>,
    /// The request that began the membership (its provisioning log entry's `requestId`);
    /// empty when it was not made by a SCIM request or its cause was no longer known.
    pub added_by: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
