//! What the admin API shows of a SCIM token or admin key: everything but its secret.

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};

use crate::{
    AppState,
    store::credentials::{self, Status},
};

/// Writes the credential usage counted so far, so that a listing's `lastUsedAt` is up to
/// date (if that fails, it is only older).
pub async fn record_usage(state: &AppState) {
    if let Err(err) = state.auth.flush_usage().await {
        tracing::warn!(error = %err, "could not record credential usage");
    }
}

/// Where a credential is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CredentialStatus {
    /// Works.
    Active,
    /// Superseded by a newer token; works until `revokedAt`.
    Rotating,
    /// Stopped working at `revokedAt`.
    Revoked,
    /// Stopped working at `expiresAt`.
    Expired,
}

impl From<Status> for CredentialStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Active => Self::Active,
            Status::Rotating => Self::Rotating,
            Status::Revoked => Self::Revoked,
            Status::Expired => Self::Expired,
        }
    }
}

/// A SCIM token or admin key, without its secret.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CredentialInfo {
    /// Server-assigned id, the `<id>` part of the credential.
    pub id: String,
    /// The label given at creation.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    // Where the credential is in its life.
    pub status: CredentialStatus,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it expires, if it does.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it stopped, or (while `rotating`) will stop, working.
    #[oai(skip_serializing_if_is_none)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Last successful use. Each replica records uses in batches, so another replica's
    /// latest uses may show up to a minute late.
    #[oai(skip_serializing_if_is_none)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The previous SCIM token this one will end when it first authenticates a request
    /// (a rotation with `cutOver: onFirstUse` that has not cut over yet).
    #[oai(skip_serializing_if_is_none)]
    pub ends_on_first_use: Option<String>,
}

/// A page of a tenant's SCIM tokens or admin keys.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CredentialList {
    /// Newest first.
    pub items: Vec<CredentialInfo>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

impl CredentialInfo {
    pub fn of_scim_token(now: DateTime<Utc>, row: entity::scim_token::Model) -> Self {
        Self {
            status: credentials::status(now, row.expires_at, row.revoked_at).into(),
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
            ends_on_first_use: row.ends_on_first_use,
        }
    }

    pub fn of_admin_key(now: DateTime<Utc>, row: entity::admin_key::Model) -> Self {
        Self {
            status: credentials::status(now, row.expires_at, row.revoked_at).into(),
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
            ends_on_first_use: None,
        }
    }
}

impl CredentialList {
    /// A page of admin keys, as `store::admin_keys` lists them.
    pub fn of_admin_keys(
        now: DateTime<Utc>,
        (rows, next_cursor): (Vec<entity::admin_key::Model>, Option<String>),
    ) -> Self {
        Self {
            items: rows
                .into_iter()
                .map(|row| CredentialInfo::of_admin_key(now, row))
                .collect(),
            next_cursor,
        }
    }
}
