//! What SCIM tokens and admin keys have in common: lookup for verification, lifecycle
//! status, batched `last_used_at`, and the invalidation notice other replicas listen for.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::{admin_key, scim_token};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr,
};

use super::notify::CREDENTIALS;
use super::unique::SelectUnique;
use crate::error::Error;

/// The two kinds of credential: SCIM tokens (one tenant's identity provider) and admin keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    ScimToken,
    AdminKey,
}

/// The parts of a credential row verification needs.
#[derive(Debug, Clone)]
pub struct StoredCredential {
    /// `None` for operator keys.
    pub tenant_id: Option<String>,
    pub secret_hash: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The previous SCIM token this one ends on its first use, while it has not.
    pub ends_on_first_use: Option<String>,
}

/// When a credential that expires at `expires_at` and is revoked at `revoked_at` stops
/// working, if it ever does.
pub fn ends_at(
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match (expires_at, revoked_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl StoredCredential {
    /// When the credential stops working, if it ever does.
    pub fn ends_at(&self) -> Option<DateTime<Utc>> {
        ends_at(self.expires_at, self.revoked_at)
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.ends_at().is_none_or(|end| now < end)
    }
}

/// Lifecycle of a credential at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    /// Superseded by a newer token; works until its `revoked_at`.
    Rotating,
    Revoked,
    Expired,
}

pub fn status(
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
) -> Status {
    match (revoked_at, expires_at) {
        (Some(revoked), _) if revoked <= now => Status::Revoked,
        (_, Some(expires)) if expires <= now => Status::Expired,
        (Some(_), _) => Status::Rotating,
        (None, _) => Status::Active,
    }
}

pub async fn find(
    db: &impl ConnectionTrait,
    kind: CredentialKind,
    id: &str,
) -> Result<Option<StoredCredential>, Error> {
    Ok(match kind {
        CredentialKind::ScimToken => scim_token::Entity::find_by_id(id.to_owned())
            .unique(db)
            .await?
            .map(|row| StoredCredential {
                tenant_id: Some(row.tenant_id),
                secret_hash: row.secret_hash,
                expires_at: row.expires_at,
                revoked_at: row.revoked_at,
                ends_on_first_use: row.ends_on_first_use,
            }),
        CredentialKind::AdminKey => admin_key::Entity::find_by_id(id.to_owned())
            .unique(db)
            .await?
            .map(|row| StoredCredential {
                tenant_id: row.tenant_id,
                secret_hash: row.secret_hash,
                expires_at: row.expires_at,
                revoked_at: row.revoked_at,
                ends_on_first_use: None,
            }),
    })
}

/// Moves `last_used_at` forward (never back: another replica may have a later value).
pub async fn record_last_used(
    db: &super::Storage,
    rows: Vec<(CredentialKind, String, DateTime<Utc>)>,
) -> Result<(), Error> {
    db.write(move |txn| Box::pin(async move { record_last_used_in(txn, &rows).await }))
        .await
}

async fn record_last_used_in(
    txn: &impl ConnectionTrait,
    rows: &[(CredentialKind, String, DateTime<Utc>)],
) -> Result<(), Error> {
    for (kind, id, at) in rows {
        match kind {
            CredentialKind::ScimToken => {
                scim_token::Entity::update_many()
                    .col_expr(scim_token::Column::LastUsedAt, Expr::value(*at))
                    .filter(scim_token::Column::Id.eq(id))
                    .filter(
                        Condition::any()
                            .add(scim_token::Column::LastUsedAt.is_null())
                            .add(scim_token::Column::LastUsedAt.lt(*at)),
                    )
                    .exec(txn)
                    .await?;
            }
            CredentialKind::AdminKey => {
                admin_key::Entity::update_many()
                    .col_expr(admin_key::Column::LastUsedAt, Expr::value(*at))
                    .filter(admin_key::Column::Id.eq(id))
                    .filter(
                        Condition::any()
                            .add(admin_key::Column::LastUsedAt.is_null())
                            .add(admin_key::Column::LastUsedAt.lt(*at)),
                    )
                    .exec(txn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// What tells this process that the credentials a write ended (named by `ids_of` from its
/// result) ended, once that write has committed (`Storage::write_then`): in the writer's
/// task, so that a caller who has gone away cannot leave them trusted. (Other replicas
/// hear of it from `announce`.)
pub fn ending<T>(
    db: &super::Storage,
    ids_of: impl FnOnce(&T) -> Vec<String> + Send + 'static,
) -> impl FnOnce(&Result<T, Error>) + Send + 'static {
    let notifications = Arc::clone(db.notifications());
    move |outcome| {
        if let Ok(value) = outcome {
            let ids = ids_of(value);
            if !ids.is_empty() {
                notifications.publish_local(CREDENTIALS, &ids.join(","));
            }
        }
    }
}

/// Tells every other replica that these credentials changed. Call it inside the
/// transaction that changes them: PostgreSQL delivers the notice only if, and when, that
/// transaction commits.
pub async fn announce<C: ConnectionTrait>(conn: &C, ids: &[String]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    super::notify::send(conn, CREDENTIALS, &ids.join(",")).await
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn status_follows_the_clock() {
        let now = Utc::now();
        let past = Some(now - Duration::seconds(1));
        let future = Some(now + Duration::seconds(1));
        assert_eq!(status(now, None, None), Status::Active);
        assert_eq!(status(now, future, None), Status::Active);
        assert_eq!(status(now, past, None), Status::Expired);
        assert_eq!(status(now, None, future), Status::Rotating);
        assert_eq!(status(now, None, past), Status::Revoked);
        assert_eq!(status(now, past, past), Status::Revoked);
        assert_eq!(status(now, None, Some(now)), Status::Revoked);
    }

    #[test]
    fn ends_at_is_the_earlier_end() {
        let now = Utc::now();
        let soon = now + Duration::seconds(5);
        let later = now + Duration::seconds(50);
        let cred = |expires_at, revoked_at| StoredCredential {
            tenant_id: None,
            secret_hash: String::new(),
            expires_at,
            revoked_at,
            ends_on_first_use: None,
        };
        assert_eq!(cred(Some(later), Some(soon)).ends_at(), Some(soon));
        assert_eq!(cred(Some(soon), None).ends_at(), Some(soon));
        assert!(cred(None, None).is_live(later));
        assert!(!cred(None, Some(soon)).is_live(soon));
    }
}
