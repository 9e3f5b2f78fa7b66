//! Who is calling. Credentials are `scim_…` tokens (the identity provider, one tenant) and
//! `sadm_…` keys (operators and tenant admins). Verification runs argon2 once, then trusts a
//! short-lived cache entry; failures are throttled per client; usage is buffered.

pub mod cache;
pub mod hasher;
pub mod invalidation;
pub mod schemes;
pub mod throttle;
pub mod token;
pub mod usage;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use self::{
    cache::{Lookup, VerifiedCache},
    hasher::SecretHasher,
    throttle::FailureThrottle,
    token::CredentialKind,
    usage::UsageRecorder,
};
use crate::{clock::Clock, config::Settings, error::Error, store};

/// The identity behind a verified credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    ScimTenant { token_id: String, tenant_id: String },
    Operator { key_id: String },
    TenantAdmin { key_id: String, tenant_id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Unauthorized,
    /// Too many failures from this client; retry after this many seconds.
    Throttled {
        retry_after: u64,
    },
    /// The credential store could not be read; says nothing about the credential.
    Unavailable,
}

pub struct Authenticator {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    hasher: Arc<SecretHasher>,
    cache: Arc<VerifiedCache>,
    throttle: FailureThrottle,
    usage: UsageRecorder,
}

impl Authenticator {
    pub async fn start(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        settings: &Settings,
    ) -> Result<Self, Error> {
        let cache = Arc::new(VerifiedCache::new(settings.token_cache_ttl));
        invalidation::spawn_listener(&db, Arc::clone(&cache)).await?;
        Ok(Self {
            db,
            clock,
            hasher: SecretHasher::new(settings.argon2)?,
            cache,
            throttle: FailureThrottle::new(
                settings.auth_failure_limit,
                settings.auth_failure_window,
            ),
            usage: UsageRecorder::default(),
        })
    }

    pub fn hasher(&self) -> &Arc<SecretHasher> {
        &self.hasher
    }

    /// Verifies `presented` as a credential of `kind` for the client at `client`.
    pub async fn authenticate(
        &self,
        kind: CredentialKind,
        presented: &str,
        client: &str,
    ) -> Result<Principal, AuthFailure> {
        let now = self.clock.now();
        if let Some(retry_after) = self.throttle.retry_after(client, now) {
            return Err(AuthFailure::Throttled { retry_after });
        }
        match self.verify(kind, presented).await {
            Ok(Some((id, principal))) => {
                self.usage.note(kind, &id, now);
                Ok(principal)
            }
            Ok(None) => {
                self.reject(client);
                Err(AuthFailure::Unauthorized)
            }
            Err(err) => {
                tracing::error!(error = %err, "credential lookup failed");
                Err(AuthFailure::Unavailable)
            }
        }
    }

    /// Counts a failure a caller decided on after a successful verification (a token of
    /// another tenant, say).
    pub fn reject(&self, client: &str) {
        self.throttle.record_failure(client, self.clock.now());
    }

    async fn verify(
        &self,
        kind: CredentialKind,
        presented: &str,
    ) -> Result<Option<(String, Principal)>, Error> {
        let Some((id, secret)) = token::parse(kind, presented) else {
            return Ok(None);
        };
        let digest = cache::digest(presented);
        let now = self.clock.now();
        match self.cache.lookup(id, &digest, now) {
            Lookup::Hit(principal) => return Ok(Some((id.to_owned(), principal))),
            Lookup::Mismatch => return Ok(None),
            Lookup::Miss => {}
        }
        let generation = self.cache.generation();
        let stored = store::credentials::find(&self.db, kind, id).await?;
        let verified = self
            .hasher
            .verify(
                secret.to_owned(),
                stored.as_ref().map(|s| s.secret_hash.clone()),
            )
            .await;
        let now = self.clock.now();
        let Some(stored) = stored.filter(|s| verified && s.is_live(now)) else {
            return Ok(None);
        };
        let principal = principal_of(kind, id, stored.tenant_id.clone());
        self.cache.insert(
            generation,
            id,
            digest,
            principal.clone(),
            now,
            stored.ends_at(),
        );
        Ok(Some((id.to_owned(), principal)))
    }

    /// Drops cached verifications of these credentials in this process; other replicas learn
    /// of the change through `store::credentials::announce`.
    pub fn forget(&self, ids: &[String]) {
        for id in ids {
            self.cache.evict(id);
        }
    }

    /// Writes buffered `lastUsedAt` values.
    pub async fn flush_usage(&self) -> Result<(), Error> {
        self.usage.flush(&self.db).await
    }
}

fn principal_of(kind: CredentialKind, id: &str, tenant_id: Option<String>) -> Principal {
    let id = id.to_owned();
    match (kind, tenant_id) {
        (CredentialKind::ScimToken, tenant_id) => Principal::ScimTenant {
            token_id: id,
            tenant_id: tenant_id.unwrap_or_default(),
        },
        (CredentialKind::AdminKey, None) => Principal::Operator { key_id: id },
        (CredentialKind::AdminKey, Some(tenant_id)) => Principal::TenantAdmin {
            key_id: id,
            tenant_id,
        },
    }
}
