//! One catalog permission of a `custom` permission group.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "permission_group_permission")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub permission_group_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub permission: String,
}

impl ActiveModelBehavior for ActiveModel {}
