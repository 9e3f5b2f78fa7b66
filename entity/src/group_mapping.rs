//! What a synced group gives its members: organization admin, billing manager, and (in
//! `group_mapping_permission_group`) at most one permission group per product. `priority`
//! orders a tenant's mappings, lowest first; only the order matters.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "group_mapping")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_id: String,
    pub tenant_id: String,
    pub is_organization_admin: bool,
    pub is_billing_manager: bool,
    pub priority: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
