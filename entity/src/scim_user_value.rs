//! One value of a user's multi-valued string attribute (`emails`, `phoneNumbers`, …), kept
//! so filters such as `emails[type eq "work" and value co "@x.com"]` run on an index.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_user_value")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub user_id: String,
    pub attribute: String,
    pub value: Option<String>,
    pub value_lc: Option<String>,
    pub display: Option<String>,
    pub type_lc: Option<String>,
    pub is_primary: bool,
}

impl ActiveModelBehavior for ActiveModel {}
