//! The newest change event of a tenant that retention deleted: cursors older than it have
//! a gap behind them.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_event_trim")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    pub trimmed_through: i64,
}

impl ActiveModelBehavior for ActiveModel {}
