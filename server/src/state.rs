//! Everything a request handler needs, cheap to clone: the database, the authenticator,
//! the clock and the settings.

use std::sync::Arc;

use crate::{
    activity::{Recorder, live::Feeds, retention},
    auth::Authenticator,
    clock::Clock,
    config::Settings,
    error::Error,
    rate_limit::RateLimiter,
    store::{Storage, notify},
    tenant_share::TenantShare,
};

/// On SQLite, writes wait in the writer's queue and reads are quick: the share only keeps
/// one tenant's flood from filling every worker.
const SQLITE_TENANT_CONCURRENCY: usize = 64;

#[derive(Clone)]
pub struct AppState {
    pub db: Storage,
    pub auth: Arc<Authenticator>,
    pub clock: Arc<Clock>,
    pub settings: Arc<Settings>,
    /// The provisioning log's queue.
    pub activity: Arc<Recorder>,
    /// Wakes the live streams.
    pub feeds: Arc<Feeds>,
    pub rate_limits: Arc<RateLimiter>,
    /// How many SCIM requests of one tenant run at once.
    pub tenant_share: Arc<TenantShare>,
}

impl AppState {
    /// Builds the state over a migrated database and starts its background work (the
    /// cross-replica invalidation listener and the periodic `lastUsedAt` flush).
    pub async fn start(db: Storage, settings: Settings) -> Result<Self, Error> {
        let clock = Arc::new(Clock::default());
        let auth = Arc::new(Authenticator::start(db.clone(), Arc::clone(&clock), &settings).await?);
        let flusher = Arc::downgrade(&auth);
        let interval = settings.usage_flush_interval;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(auth) = flusher.upgrade() else { break };
                if let Err(err) = auth.flush_usage().await {
                    tracing::warn!(error = %err, "could not record credential usage");
                }
            }
        });
        let activity = Arc::new(Recorder::start(db.clone(), &settings.activity));
        let feeds = Arc::new(Feeds::default());
        db.notifications()
            .subscribe(notify::ACTIVITY, Arc::clone(&feeds.activity) as _);
        db.notifications()
            .subscribe(notify::EVENTS, Arc::clone(&feeds.events) as _);
        let rate_limits = Arc::new(RateLimiter::new(settings.rate_limit));
        RateLimiter::start_syncing(&rate_limits, db.clone(), Arc::clone(&clock));
        let share = settings
            .tenant_concurrency
            .unwrap_or_else(|| match db.backend() {
                sea_orm::DatabaseBackend::Postgres => {
                    (settings.storage.postgres_connections as usize * 3 / 4).max(1)
                }
                _ => SQLITE_TENANT_CONCURRENCY,
            });
        let tenant_share = Arc::new(TenantShare::new(share, settings.tenant_wait));
        let state = Self {
            db,
            rate_limits,
            tenant_share,
            activity,
            feeds,
            auth,
            clock,
            settings: Arc::new(settings),
        };
        retention::start(&state, state.settings.activity.retention_interval);
        Ok(state)
    }

    /// The state of the app serving `req`.
    pub fn of(req: &poem::Request) -> poem::Result<&Self> {
        req.data::<Self>().ok_or_else(|| {
            poem::Error::from_string(
                "application state missing",
                poem::http::StatusCode::INTERNAL_SERVER_ERROR,
            )
        })
    }

    /// The URL an identity provider is configured with for this tenant ("Tenant URL" in Entra).
    pub fn scim_url(&self, tenant_id: &str) -> String {
        format!("{}/scim/{tenant_id}/v2", self.settings.public_url)
    }
}

/// The address failed authentications are counted against and the provisioning log
/// records (see `client_address`).
pub fn client_address(req: &poem::Request) -> String {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(std::net::SocketAddr::ip);
    req.data::<AppState>()
        .map_or(&crate::client_address::NO_PROXIES, |state| {
            &state.settings.trusted_proxies
        })
        .client_of(peer, req.headers())
}
