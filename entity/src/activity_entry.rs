//! One request received under `/scim/…`, rejected ones too: who sent it, what it did, how
//! it ended, and its bodies (redacted and cut) for the provisioning log.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_entry")]
pub struct Model {
    /// Monotonic per database: the log's cursor.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// The tenant in the path, when the path names one (it may not exist).
    pub tenant_id: Option<String>,
    /// The SCIM token that authenticated the request (its id, never the token).
    pub token_id: Option<String>,
    pub client_address: String,
    pub user_agent: Option<String>,
    pub method: String,
    pub path: String,
    /// Redacted.
    pub query: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub operation: String,
    pub status: i32,
    pub scim_type: Option<String>,
    pub latency_us: i64,
    pub idp: String,
    pub summary: String,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    /// Names the request in the change events it caused.
    pub request_id: Option<String>,
    /// The dialect quirks the request used, comma-separated (see `activity::classify`).
    pub quirks: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
