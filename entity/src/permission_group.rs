//! A permission group of a product: `readOnly`, `full`, or `custom` with the permissions in
//! `permission_group_permission`.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "permission_group")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub product_id: String,
    pub name: String,
    /// `name` lower-cased; unique per product.
    pub name_lc: String,
    pub access_type: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
