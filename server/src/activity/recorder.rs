//! The queue between requests and the log's table. `record` never waits: past the queue's
//! capacity an entry is dropped and counted. One task takes whatever is queued (up to a
//! batch) and inserts it in one statement; on shutdown it writes everything queued before
//! it stops.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use chrono::{DateTime, Utc};
use entity::activity_entry;
use sea_orm::{EntityTrait, Set};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{config::ActivitySettings, store::Storage};

/// One entry as the middleware hands it over.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub at: DateTime<Utc>,
    pub tenant_id: Option<String>,
    pub token_id: Option<String>,
    pub client_address: String,
    pub user_agent: Option<String>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub operation: String,
    pub status: u16,
    pub scim_type: Option<String>,
    pub latency_us: u64,
    pub idp: String,
    pub summary: String,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
}

impl NewEntry {
    fn into_row(self) -> activity_entry::ActiveModel {
        activity_entry::ActiveModel {
            at: Set(self.at),
            tenant_id: Set(self.tenant_id),
            token_id: Set(self.token_id),
            client_address: Set(self.client_address),
            user_agent: Set(self.user_agent),
            method: Set(self.method),
            path: Set(self.path),
            query: Set(self.query),
            resource_type: Set(self.resource_type),
            resource_id: Set(self.resource_id),
            operation: Set(self.operation),
            status: Set(i32::from(self.status)),
            scim_type: Set(self.scim_type),
            latency_us: Set(i64::try_from(self.latency_us).unwrap_or(i64::MAX)),
            idp: Set(self.idp),
            summary: Set(self.summary),
            request_body: Set(self.request_body),
            response_body: Set(self.response_body),
            ..Default::default()
        }
    }
}

pub struct Recorder {
    queue: Mutex<Option<mpsc::Sender<NewEntry>>>,
    dropped: Arc<AtomicU64>,
    writer: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    body_bytes: usize,
    enabled: bool,
}

impl Recorder {
    pub fn start(storage: Storage, settings: &ActivitySettings) -> Self {
        let (queue, entries) = mpsc::channel(settings.queue_capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = tokio::spawn(write(
            storage,
            entries,
            settings.batch.max(1),
            Arc::clone(&dropped),
        ));
        Self {
            queue: Mutex::new(Some(queue)),
            dropped,
            writer: tokio::sync::Mutex::new(Some(writer)),
            body_bytes: settings.body_bytes,
            enabled: settings.enabled,
        }
    }

    /// Whether requests are recorded at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Bytes of each body kept.
    pub fn body_bytes(&self) -> usize {
        self.body_bytes
    }

    /// Queues `entry`, or drops it if the queue is full (or closed).
    pub fn record(&self, entry: NewEntry) {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let queued = queue
            .as_ref()
            .is_some_and(|queue| queue.try_send(entry).is_ok());
        if !queued {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "the provisioning log's queue is full; entries dropped"
                );
            }
        }
    }

    /// Entries dropped since start (queue full, or their insert failed).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops taking entries and returns once everything queued is written.
    pub async fn close(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = self.writer.lock().await.take()
            && let Err(err) = writer.await
        {
            tracing::error!(error = %err, "the provisioning log's writer failed");
        }
    }
}

async fn write(
    storage: Storage,
    mut entries: mpsc::Receiver<NewEntry>,
    batch: usize,
    dropped: Arc<AtomicU64>,
) {
    let mut taken = Vec::with_capacity(batch);
    while entries.recv_many(&mut taken, batch).await > 0 {
        let rows: Vec<_> = taken.drain(..).map(NewEntry::into_row).collect();
        let count = rows.len() as u64;
        let written = storage
            .write(move |txn| {
                Box::pin(async move {
                    activity_entry::Entity::insert_many(rows)
                        .exec_without_returning(txn)
                        .await?;
                    Ok(())
                })
            })
            .await;
        if let Err(err) = written {
            dropped.fetch_add(count, Ordering::Relaxed);
            tracing::warn!(error = %err, count, "provisioning log entries could not be written");
        }
    }
}
