//! Telling whoever keeps derived state in memory (the credential cache now, the live log
//! later) that stored data changed. A change reaches this process's subscribers as soon as
//! it is committed (`publish_local`) and, on PostgreSQL, every other replica through a
//! `NOTIFY` sent inside the committing transaction. One `LISTEN` connection per process
//! carries every channel; when it drops, notices may have been missed, so every subscriber
//! is told to forget what they could have invalidated.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock, Weak},
    time::Duration,
};

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement,
    sqlx::postgres::PgListener,
};

use crate::error::Error;

/// Credentials that stopped working or changed: the payload is their ids, comma-separated.
pub const CREDENTIALS: &str = "scim_credentials";

/// Provisioning log entries were written: wakes the live streams (no payload).
pub const ACTIVITY: &str = "scim_activity";

/// Change events were committed: wakes the event streams (payload: the tenant's id).
pub const EVENTS: &str = "scim_events";

/// Every channel the listener subscribes to.
const CHANNELS: &[&str] = &[CREDENTIALS, ACTIVITY, EVENTS];

/// Tells every other replica, on `channel`. Call it inside the transaction that makes the
/// change: PostgreSQL delivers the notice only if, and when, that transaction commits.
/// Elsewhere there are no other replicas.
pub async fn send<C: ConnectionTrait>(conn: &C, channel: &str, payload: &str) -> Result<(), DbErr> {
    if conn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    conn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [channel.into(), payload.into()],
    ))
    .await
    .map(|_| ())
}

pub trait Subscriber: Send + Sync {
    fn notified(&self, payload: &str);
    /// Notices may have been missed: drop whatever they could have invalidated.
    fn missed(&self);
}

#[derive(Default)]
pub struct Notifications {
    subscribers: RwLock<HashMap<&'static str, Vec<Arc<dyn Subscriber>>>>,
}

impl Notifications {
    pub fn subscribe(&self, channel: &'static str, subscriber: Arc<dyn Subscriber>) {
        self.subscribers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(channel)
            .or_default()
            .push(subscriber);
    }

    /// Delivers a notice to this process's subscribers, synchronously: call it after the
    /// change is committed and before answering, so the change is seen at once here.
    pub fn publish_local(&self, channel: &str, payload: &str) {
        let subscribers = self
            .subscribers
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for subscriber in subscribers.get(channel).into_iter().flatten() {
            subscriber.notified(payload);
        }
    }

    fn missed(&self) {
        let subscribers = self
            .subscribers
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for subscriber in subscribers.values().flatten() {
            subscriber.missed();
        }
    }

    /// On PostgreSQL, starts listening on every channel before returning, so no notice
    /// sent after this returns can be missed. Elsewhere there are no other replicas.
    pub async fn listen(self: &Arc<Self>, pool: &DatabaseConnection) -> Result<(), Error> {
        if pool.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let mut listener = PgListener::connect_with(pool.get_postgres_connection_pool())
            .await
            .map_err(|err| anyhow::anyhow!("cannot open the notification listener: {err}"))?;
        listener
            .listen_all(CHANNELS.iter().copied())
            .await
            .map_err(|err| anyhow::anyhow!("cannot LISTEN: {err}"))?;
        let notifications: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let received = listener.try_recv().await;
                let Some(notifications) = notifications.upgrade() else {
                    break;
                };
                match received {
                    Ok(Some(notice)) => {
                        notifications.publish_local(notice.channel(), notice.payload());
                    }
                    Ok(None) => {
                        tracing::warn!("notification listener reconnected; dropping cached state");
                        notifications.missed();
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "notification listener failed; dropping cached state");
                        notifications.missed();
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(())
    }
}
