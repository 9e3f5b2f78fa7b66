//! The admin API's documents, as far as the dashboard reads them. Fields the TUI does not
//! show are left out: serde ignores them, so a newer server does not break an older TUI.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    Operator,
    TenantAdmin,
}

/// `GET /admin/v1/whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    pub key_id: String,
    pub role: Role,
    pub tenant_id: Option<String>,
    pub api_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub scim_url: String,
    pub created_at: DateTime<Utc>,
}

/// A page of any cursor-paged list.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Healthy,
    Warning,
    Failing,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct RequestCounts {
    pub requests: u64,
    pub failures: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct UserCounts {
    pub active: u64,
    pub inactive: u64,
}

/// `…/sync`: how a tenant's provisioning goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncHealth {
    pub tenant_id: String,
    pub tenant_name: String,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub last_request_at: Option<DateTime<Utc>>,
    pub last_successful_write_at: Option<DateTime<Utc>>,
    pub last_hour: RequestCounts,
    pub last_day: RequestCounts,
    pub identity_provider: Option<String>,
    pub users: UserCounts,
    pub groups: u64,
    pub live_tokens: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    Active,
    Rotating,
    Revoked,
    Expired,
}

/// A SCIM token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub id: String,
    pub name: Option<String>,
    pub status: CredentialStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub ends_on_first_use: Option<String>,
}

/// When the previous token stops working after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CutOver {
    AfterOverlap,
    OnFirstUse,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueToken {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub overlap_seconds: u32,
    pub cut_over: CutOver,
}

/// A token just issued: the one time its secret is seen.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub id: String,
    pub token: Secret,
    pub scim_url: String,
}

/// Text that must not reach a log or a panic message: `Debug` shows only that it is there.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text itself, for the one place that shows or copies it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// One request an identity provider sent, as the provisioning log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub tenant_id: Option<String>,
    pub method: String,
    pub path: String,
    pub operation: String,
    pub status: u16,
    pub latency_us: u64,
    pub idp: String,
    pub summary: String,
    pub request_id: Option<String>,
    #[serde(default)]
    pub quirks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub resource_type: String,
    pub resource_id: String,
}

/// An entry with its bodies and the changes it caused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityDetail {
    #[serde(flatten)]
    pub entry: ActivityEntry,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    #[serde(default)]
    pub change_events: Vec<ChangeEvent>,
}

/// The admin API's error body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// What an admin gave a synced group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMapping {
    pub group_id: String,
    pub is_organization_admin: bool,
    pub is_billing_manager: bool,
    pub permission_group_ids: Vec<String>,
    /// 1 is the highest.
    pub priority: u32,
}

/// The body of a mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingInput {
    pub is_organization_admin: bool,
    pub is_billing_manager: bool,
    pub permission_group_ids: Vec<String>,
}

/// A group the identity provider synced.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncedGroup {
    pub id: String,
    pub display_name: String,
    pub member_count: u64,
    pub mapping: Option<GroupMapping>,
}

/// A user the identity provider synced.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncedUser {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub active: bool,
    pub group_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccessType {
    #[default]
    ReadOnly,
    Full,
    Custom,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionGroup {
    pub id: String,
    pub product_id: String,
    pub name: String,
    pub access_type: AccessType,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionGroupInput {
    pub name: String,
    pub access_type: AccessType,
    pub permissions: Vec<String>,
}

/// A permission of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Permission {
    pub name: String,
    pub description: String,
}

/// Who would gain and lose what, if a change were saved.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionPreview {
    pub users_considered: u64,
    pub changes: Vec<UserPermissionChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPermissionChange {
    pub user_name: String,
    pub roles_gained: Vec<String>,
    pub roles_lost: Vec<String>,
    pub products: Vec<ProductPermissionChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductPermissionChange {
    pub product_name: String,
    pub permission_group_before: Option<String>,
    pub permission_group_after: Option<String>,
    pub gained: Vec<String>,
    pub lost: Vec<String>,
}

/// The group a permission comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantSource {
    pub group_id: String,
    pub display_name: String,
    pub priority: u32,
    pub added_by_request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutrankedGrant {
    pub display_name: String,
    pub priority: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductPermissions {
    pub product_name: String,
    pub permission_group_name: Option<String>,
    pub permissions: Vec<String>,
    pub granted_by: GrantSource,
    pub outranked: Vec<OutrankedGrant>,
}

/// What a user may do, and why.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectivePermissions {
    pub user_id: String,
    pub user_name: String,
    pub active: bool,
    pub is_organization_admin: bool,
    pub is_billing_manager: bool,
    pub organization_admin_via: Vec<GrantSource>,
    pub billing_manager_via: Vec<GrantSource>,
    pub products: Vec<ProductPermissions>,
    pub reason: Option<String>,
}
