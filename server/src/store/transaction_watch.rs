//! What the write connection's hooks and the writer share. SQLite may roll a transaction
//! back on its own (a full disk, an I/O error, `RAISE(ROLLBACK)`); the statements a write
//! sends after that run outside any transaction, and a `SAVEPOINT` there opens one of its
//! own that its `RELEASE` commits. So a write that retries after a failure (the merged
//! writes fall back to one by one) would store rows that its batch then answers as not
//! stored. The watch closes that for every write at once: once a batch's transaction was
//! rolled back, no commit goes through on the connection until the batch ends.

use std::sync::atomic::{AtomicU64, Ordering};

/// `batch_began_at` between batches.
const NO_BATCH: u64 = u64::MAX;

pub struct TransactionWatch {
    rollbacks: AtomicU64,
    /// `rollbacks` when the running batch began.
    batch_began_at: AtomicU64,
}

impl Default for TransactionWatch {
    fn default() -> Self {
        Self {
            rollbacks: AtomicU64::new(0),
            batch_began_at: AtomicU64::new(NO_BATCH),
        }
    }
}

impl TransactionWatch {
    /// The connection's rollback hook: a whole transaction was rolled back (a savepoint's
    /// `ROLLBACK TO` does not count).
    pub fn rolled_back(&self) {
        self.rollbacks.fetch_add(1, Ordering::SeqCst);
    }

    /// The connection's commit hook: `false` turns the commit into a rollback.
    pub fn may_commit(&self) -> bool {
        let began_at = self.batch_began_at.load(Ordering::SeqCst);
        began_at == NO_BATCH || self.rollbacks.load(Ordering::SeqCst) == began_at
    }

    /// Watches a batch until the returned guard is dropped.
    pub fn batch(&self) -> BatchWatch<'_> {
        self.batch_began_at
            .store(self.rollbacks.load(Ordering::SeqCst), Ordering::SeqCst);
        BatchWatch { watch: self }
    }
}

pub struct BatchWatch<'w> {
    watch: &'w TransactionWatch,
}

impl BatchWatch<'_> {
    /// Whether the batch's transaction is still open: not rolled back since it began.
    pub fn still_open(&self) -> bool {
        self.watch.may_commit()
    }
}

impl Drop for BatchWatch<'_> {
    fn drop(&mut self) {
        self.watch.batch_began_at.store(NO_BATCH, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::{ConnectionTrait, TransactionTrait};

    use super::*;
    use crate::{
        config::StorageSettings,
        store::{Storage, test_writes::execute},
    };

    /// On an in-memory database readers share the write connection: a reader's rollback
    /// while a write waits for the connection is no loss of the write's batch.
    #[tokio::test]
    async fn a_readers_rollback_before_the_batch_began_is_no_loss() {
        let storage = Storage::open("sqlite::memory:", &StorageSettings::default())
            .await
            .unwrap();
        let read = storage.reads().begin().await.unwrap();
        read.execute_unprepared("SELECT 1").await.unwrap();
        let write = tokio::spawn({
            let storage = storage.clone();
            async move { storage.write(execute("CREATE TABLE probe (x)")).await }
        });
        // The writer waits for the connection the read holds.
        tokio::time::sleep(Duration::from_millis(100)).await;
        read.rollback().await.unwrap();
        write.await.unwrap().expect("the write commits");
        storage
            .reads()
            .execute_unprepared("SELECT x FROM probe")
            .await
            .expect("the table was stored");
    }

    #[test]
    fn commits_are_refused_only_after_a_rollback_inside_a_batch() {
        let watch = TransactionWatch::default();
        watch.rolled_back();
        assert!(watch.may_commit(), "between batches");
        {
            let batch = watch.batch();
            assert!(batch.still_open() && watch.may_commit());
            watch.rolled_back();
            assert!(!batch.still_open() && !watch.may_commit());
        }
        assert!(watch.may_commit(), "the batch ended");
        let batch = watch.batch();
        assert!(batch.still_open(), "a new batch starts open");
    }
}
