//! A SCIM group of a tenant. Its members are rows of `group_member`.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_group")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub display_name_lc: String,
    pub external_id: Option<String>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub last_modified: DateTimeUtc,
    #[sea_orm(belongs_to, from = "tenant_id", to = "id")]
    pub tenant: HasOne<super::tenant::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
