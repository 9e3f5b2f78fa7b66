//! An entry of the deployment's permission catalog: a permission name the host product
//! understands. `access` is `read` or `write`; a `readOnly` permission group holds the
//! `read` ones.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "permission")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub access: String,
    pub description: String,
}

impl ActiveModelBehavior for ActiveModel {}
