//! A customer organization: everything else a tenant owns hangs off this row.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// `name` lower-cased; unique, so two tenants cannot be told apart only by case.
    #[sea_orm(unique)]
    pub name_lc: String,
    pub created_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub scim_tokens: HasMany<super::scim_token::Entity>,
    #[sea_orm(has_many)]
    pub admin_keys: HasMany<super::admin_key::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
