//! Bearer tokens the identity provider presents on the tenant's SCIM URL.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_token")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub name: Option<String>,
    /// argon2id PHC string of the secret part; the plain token is never stored.
    pub secret_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    /// When the token stops (or stopped) working; may lie in the future during a rotation overlap.
    pub revoked_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    /// The previous token this one ends when it first authenticates a request (rotation
    /// "on first use"); cleared once it has.
    pub ends_on_first_use: Option<String>,
    #[sea_orm(belongs_to, from = "tenant_id", to = "id")]
    pub tenant: HasOne<super::tenant::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
