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
    /// Bumped by every change to the tenant's products, permission groups or the catalog,
    /// so cached copies of them can be checked against it.
    pub permissions_version: i64,
    /// How many users the tenant holds; kept by triggers on `scim_user`.
    pub user_count: i64,
    #[sea_orm(has_many)]
    pub scim_tokens: HasMany<super::scim_token::Entity>,
    #[sea_orm(has_many)]
    pub admin_keys: HasMany<super::admin_key::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
