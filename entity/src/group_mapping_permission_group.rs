//! The permission group a mapped group gives for one product.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "group_mapping_permission_group")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_id: String,
    pub permission_group_id: String,
    pub tenant_id: String,
}

impl ActiveModelBehavior for ActiveModel {}
