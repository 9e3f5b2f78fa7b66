//! Cross-replica cache invalidation. Every change that ends a credential (revocation,
//! rotation cut-over) sends `NOTIFY scim_credentials, '<id>'` inside its transaction
//! (`store::credentials::announce`); each PostgreSQL-backed process listens and evicts.
//! If the listening connection drops, notifications may have been missed, so the whole
//! cache is cleared. SQLite is single-process (the server locks its data directory), where
//! the local eviction after commit is enough.

use std::{sync::Arc, time::Duration};

use sea_orm::{DatabaseBackend, DatabaseConnection, sqlx::postgres::PgListener};

use super::cache::VerifiedCache;
use crate::error::Error;

pub const CHANNEL: &str = "scim_credentials";

/// Starts listening (when on PostgreSQL) before returning, so no invalidation sent after
/// this returns can be missed.
pub async fn spawn_listener(
    db: &DatabaseConnection,
    cache: Arc<VerifiedCache>,
) -> Result<(), Error> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let mut listener = PgListener::connect_with(db.get_postgres_connection_pool())
        .await
        .map_err(|err| anyhow::anyhow!("cannot open the invalidation listener: {err}"))?;
    listener
        .listen(CHANNEL)
        .await
        .map_err(|err| anyhow::anyhow!("cannot LISTEN {CHANNEL}: {err}"))?;
    tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    for id in notification.payload().split(',') {
                        cache.evict(id);
                    }
                }
                Ok(None) => {
                    tracing::warn!(
                        "invalidation listener reconnected; clearing the credential cache"
                    );
                    cache.clear();
                }
                Err(err) => {
                    tracing::warn!(error = %err, "invalidation listener failed; clearing the credential cache");
                    cache.clear();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}
