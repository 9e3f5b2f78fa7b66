//! What one SCIM write changed (`user.created`, `group.member_added`, …), written in the
//! write's transaction, for the host product to follow in commit order.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_event")]
pub struct Model {
    /// Increases in commit order within a tenant: the feed's cursor.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub at: DateTimeUtc,
    pub kind: String,
    pub resource_type: String,
    pub resource_id: String,
    /// The user of a membership event.
    pub subject_id: Option<String>,
    /// The request that caused it (`activity_entry.request_id`).
    pub request_id: Option<String>,
    /// JSON: what changed.
    pub data: String,
}

impl ActiveModelBehavior for ActiveModel {}
