//! Who is calling. Credentials are `scim_…` tokens (the identity provider, one tenant) and
//! `sadm_…` keys (operators and tenant admins). Verification runs argon2 once, then trusts a
//! short-lived cache entry; usage is buffered.
//!
//! Failures are throttled per client address and per credential id, separately, and a valid
//! credential is never refused for anyone's failures: behind a load balancer every client
//! shares one address, and one identity provider with a wrong token must not lock out the
//! others. A throttled client gets 429 for what fails; what it presents is still checked
//! when it names a live credential (argon2 runs for no other id, so a flood of made-up
//! tokens costs no hashing). Every failure is answered no sooner than an argon2
//! verification takes, so the time of an answer does not tell whether an id exists or is
//! in the cache.
//!
//! Verification is single-flight: the requests that find no cache entry for a credential
//! wait for the first one's answer instead of all running argon2 at once. An entry in use is
//! refreshed in the background before it expires (a read of the stored row, no argon2), so a
//! busy credential never falls out of the cache.

pub mod cache;
pub mod hasher;
pub mod throttle;
pub mod token;
pub mod usage;

use std::sync::Arc;

use self::{
    cache::{Lookup, VerifiedCache},
    hasher::SecretHasher,
    throttle::FailureThrottle,
    token::CredentialKind,
    usage::UsageRecorder,
};
use crate::{
    clock::Clock,
    config::Settings,
    error::Error,
    store::{self, Storage},
};

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

/// Verifications of credentials whose ids hash to the same stripe run one at a time;
/// enough stripes that unrelated credentials rarely wait for each other, few enough to be
/// a fixed, small cost.
const FLIGHT_STRIPES: usize = 64;

pub struct Authenticator {
    db: Storage,
    flights: Vec<tokio::sync::Mutex<()>>,
    clock: Arc<Clock>,
    hasher: Arc<SecretHasher>,
    cache: Arc<VerifiedCache>,
    by_address: FailureThrottle,
    by_credential: FailureThrottle,
    usage: UsageRecorder,
}

/// What checking a presented credential found.
enum Checked {
    Valid(String, Principal),
    /// Wrong; with the id it named when that id belongs to a credential.
    Invalid {
        known_id: Option<String>,
    },
}

impl Authenticator {
    pub async fn start(db: Storage, clock: Arc<Clock>, settings: &Settings) -> Result<Self, Error> {
        let cache = Arc::new(VerifiedCache::new(
            settings.token_cache_ttl,
            settings.token_cache_entries,
        ));
        db.notifications()
            .subscribe(store::notify::CREDENTIALS, Arc::clone(&cache) as _);
        Ok(Self {
            db,
            flights: (0..FLIGHT_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            clock,
            hasher: SecretHasher::new(settings.argon2, settings.argon2_concurrency)?,
            cache,
            by_address: FailureThrottle::new(
                settings.auth_failure_limit,
                settings.auth_failure_window,
            ),
            by_credential: FailureThrottle::new(
                settings.auth_failure_limit,
                settings.auth_failure_window,
            ),
            usage: UsageRecorder::default(),
        })
    }

    pub fn hasher(&self) -> &Arc<SecretHasher> {
        &self.hasher
    }

    /// Credentials held verified in memory.
    pub fn cached_credentials(&self) -> usize {
        self.cache.entries()
    }

    /// Verifies `presented` as a credential of `kind` for the client at `client`.
    pub async fn authenticate(
        self: &Arc<Self>,
        kind: CredentialKind,
        presented: &str,
        client: &str,
    ) -> Result<Principal, AuthFailure> {
        let started = tokio::time::Instant::now();
        let now = self.clock.now();
        let parsed = token::parse(kind, presented);
        let blocked = self
            .by_address
            .retry_after(client, now)
            .max(parsed.and_then(|(id, _)| self.by_credential.retry_after(id, now)));
        let checked = match parsed {
            Some((id, secret)) => {
                self.verify(kind, presented, id, secret, blocked.is_some())
                    .await
            }
            None => Ok(Checked::Invalid { known_id: None }),
        };
        let outcome = match &checked {
            Ok(Checked::Valid(..)) => "ok",
            Ok(Checked::Invalid { .. }) if blocked.is_some() => "throttled",
            Ok(Checked::Invalid { .. }) => "failed",
            Err(_) => "unavailable",
        };
        crate::metrics::authenticated(
            match kind {
                CredentialKind::ScimToken => "scim",
                CredentialKind::AdminKey => "admin",
            },
            outcome,
        );
        match checked {
            Ok(Checked::Valid(id, principal)) => {
                self.usage.note(kind, &id, now);
                Ok(principal)
            }
            Ok(Checked::Invalid { known_id }) => {
                let now = self.clock.now();
                self.by_address.record_failure(client, now);
                // Only ids of credentials are counted: made-up ones cannot be guessed at,
                // and counting them would let a flood of them grow the table.
                if let Some(id) = known_id {
                    self.by_credential.record_failure(&id, now);
                }
                tokio::time::sleep_until(started + self.hasher.typical_run()).await;
                Err(blocked.map_or(AuthFailure::Unauthorized, |retry_after| {
                    AuthFailure::Throttled { retry_after }
                }))
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
        self.by_address.record_failure(client, self.clock.now());
    }

    /// Checks `presented`, which parsed as `id` and `secret`. `live_ids_only`: run argon2
    /// only for an id that names a live credential (for a throttled client).
    async fn verify(
        self: &Arc<Self>,
        kind: CredentialKind,
        presented: &str,
        id: &str,
        secret: &str,
        live_ids_only: bool,
    ) -> Result<Checked, Error> {
        let digest = cache::digest(presented);
        let cached = self.cached(kind, id, &digest);
        crate::metrics::token_cache_lookup(cached.is_some());
        if let Some(known) = cached {
            return Ok(known);
        }
        let _flight = self.flight(id).lock().await;
        // Whoever held the flight before us may have answered our question.
        if let Some(known) = self.cached(kind, id, &digest) {
            return Ok(known);
        }
        let generation = self.cache.generation();
        let stored = store::credentials::find(self.db.reads(), kind, id).await?;
        let known_id = stored.as_ref().map(|_| id.to_owned());
        if live_ids_only && !stored.as_ref().is_some_and(|s| s.is_live(self.clock.now())) {
            return Ok(Checked::Invalid { known_id });
        }
        let verified = self
            .hasher
            .verify(
                secret.to_owned(),
                stored.as_ref().map(|s| s.secret_hash.clone()),
            )
            .await;
        let now = self.clock.now();
        let Some(stored) = stored.filter(|s| verified && s.is_live(now)) else {
            return Ok(Checked::Invalid { known_id });
        };
        let principal = principal_of(kind, id, stored.tenant_id.clone());
        if stored.ends_on_first_use.is_some() {
            // The previous token ends before this first request is answered, so a caller
            // who sees it succeed can rely on the old one being gone. If that write fails,
            // the entry stays out of the cache and the next request tries again.
            if let Err(err) = store::scim_tokens::cut_over(&self.db, id, now).await {
                tracing::warn!(error = %err, token = id, "could not end the replaced SCIM token");
                return Ok(Checked::Valid(id.to_owned(), principal));
            }
        }
        self.cache.insert(
            generation,
            id,
            digest,
            cache::digest(&stored.secret_hash),
            principal.clone(),
            now,
            stored.ends_at(),
        );
        Ok(Checked::Valid(id.to_owned(), principal))
    }

    /// The cache's answer, if it has one; starts a refresh when the entry is due.
    fn cached(
        self: &Arc<Self>,
        kind: CredentialKind,
        id: &str,
        digest: &cache::ValueDigest,
    ) -> Option<Checked> {
        match self.cache.lookup(id, digest, self.clock.now()) {
            Lookup::Hit { principal, refresh } => {
                if let Some(refresh) = refresh {
                    self.spawn_refresh(kind, id.to_owned(), refresh);
                }
                Some(Checked::Valid(id.to_owned(), principal))
            }
            Lookup::Mismatch => Some(Checked::Invalid {
                known_id: Some(id.to_owned()),
            }),
            Lookup::Miss => None,
        }
    }

    /// Re-reads the credential and renews its entry if the row still holds the verified
    /// hash and still works; evicts it otherwise. One refresh per credential at a time:
    /// if the credential's flight is busy, someone is already verifying it.
    fn spawn_refresh(self: &Arc<Self>, kind: CredentialKind, id: String, refresh: cache::Refresh) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let Ok(_flight) = this.flight(&id).try_lock() else {
                return;
            };
            match store::credentials::find(this.db.reads(), kind, &id).await {
                Ok(Some(stored))
                    if stored.is_live(this.clock.now())
                        && cache::digest(&stored.secret_hash) == refresh.stored_hash =>
                {
                    this.cache
                        .renew(&id, refresh, this.clock.now(), stored.ends_at());
                }
                Ok(_) => this.cache.evict(&id),
                // The entry stays until its TTL; the next hit tries again.
                Err(err) => tracing::warn!(error = %err, "could not refresh a cached credential"),
            }
        });
    }

    fn flight(&self, id: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(id);
        let stripe = usize::try_from(hash % FLIGHT_STRIPES as u64).unwrap_or_default();
        &self.flights[stripe]
    }

    /// Writes buffered `lastUsedAt` values.
    pub async fn flush_usage(&self) -> Result<(), Error> {
        self.usage.flush(&self.db).await
    }
}

/// A new credential and the argon2 hash to store for it; the plain value is shown once.
pub async fn issue_credential(
    hasher: &Arc<SecretHasher>,
    kind: CredentialKind,
) -> Result<(token::Issued, String), Error> {
    let issued = token::issue(kind);
    let hash = hasher.hash(issued.secret.clone()).await?;
    Ok((issued, hash))
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
