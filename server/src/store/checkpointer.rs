//! WAL checkpoints off the write path. By default SQLite checkpoints inside the commit
//! that takes the WAL past 1,000 pages: that commit (and every write of its batch) waits
//! while pages are copied into the database file and it is synced, 15–300 ms on this
//! disk under load, which was the whole tail of write latency. Here a connection of its
//! own checkpoints shortly after writes commit; `PASSIVE` never blocks the writer or the
//! readers. The writer still checkpoints in its commit past a threshold (`db.rs`): SQLite
//! starts the WAL over only in a write transaction begun after a checkpoint that left
//! nothing behind, and while writes keep coming the writer begins each one right after its
//! previous commit (`writer.rs`), before any other connection could have checkpointed it;
//! a checkpoint inside that commit comes just in time. The threshold is far above what the
//! writer adds between two of these checkpoints, so that checkpoint only copies what came
//! since the last one. (If a read still holds an older snapshot then, that checkpoint
//! leaves some behind, and each next commit tries again until one completes.)

use std::{sync::Arc, time::Duration};

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::{sync::Notify, task::JoinHandle};

/// Gathers the commits of this long into one checkpoint. It bounds what the writer's own
/// checkpoint has left to copy: with the threshold at 10,000 pages, POST with 32
/// connections had p99 at 14.2–15.3 ms with a pause of 100 ms, 9.7–10.6 ms with this one.
const PAUSE: Duration = Duration::from_millis(25);

pub struct Checkpointer {
    committed: Arc<Notify>,
    stop: Arc<Notify>,
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub fn start(connection: DatabaseConnection) -> Self {
        let committed = Arc::new(Notify::new());
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(run(connection, Arc::clone(&committed), Arc::clone(&stop)));
        Self {
            committed,
            stop,
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }

    /// Where the writer says that it committed.
    pub fn committed(&self) -> Arc<Notify> {
        Arc::clone(&self.committed)
    }

    /// Checkpoints what is left and stops.
    pub async fn close(&self) {
        self.stop.notify_one();
        if let Some(task) = self.task.lock().await.take()
            && let Err(err) = task.await
        {
            tracing::error!(error = %err, "the checkpointer failed");
        }
    }
}

async fn run(connection: DatabaseConnection, committed: Arc<Notify>, stop: Arc<Notify>) {
    loop {
        let stopping = tokio::select! {
            biased;
            () = stop.notified() => true,
            () = committed.notified() => false,
        };
        if !stopping {
            tokio::time::sleep(PAUSE).await;
        }
        if let Err(err) = connection
            .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await
        {
            // The writer's own threshold still bounds the WAL.
            tracing::warn!(error = %err, "WAL checkpoint failed");
        }
        if stopping {
            break;
        }
    }
    if let Err(err) = connection.close().await {
        tracing::warn!(error = %err, "closing the checkpoint connection failed");
    }
}
