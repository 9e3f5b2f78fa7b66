//! A SCIM user of a tenant. `data` is the whole resource as JSON; the other columns repeat
//! what uniqueness, filters and sorting need, indexed.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_user")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub user_name: String,
    pub user_name_lc: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display_name_lc: Option<String>,
    pub active: bool,
    #[sea_orm(column_type = "Text")]
    pub data: String,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub last_modified: DateTimeUtc,
    #[sea_orm(belongs_to, from = "tenant_id", to = "id")]
    pub tenant: HasOne<super::tenant::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
