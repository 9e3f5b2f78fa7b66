//! What the store's unit tests share to drive the writer: a statement as a write, a held
//! writer that writes queue behind, and a condition awaited.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseTransaction};
use tokio::sync::oneshot;

use super::{Storage, writer::WriteFuture};
use crate::error::Error;

/// A write that runs `sql`.
pub fn execute(
    sql: &'static str,
) -> impl for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, ()> + Send + 'static {
    move |txn| {
        Box::pin(async move {
            txn.execute_unprepared(sql).await?;
            Ok(())
        })
    }
}

/// Waits until `condition` holds; panics if it never does.
pub async fn until(mut condition: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the condition never held");
}

/// A write that keeps the writer busy until `finish`, so that jobs queue behind it.
pub struct Busy {
    release: oneshot::Sender<()>,
    write: tokio::task::JoinHandle<Result<(), Error>>,
}

impl Busy {
    pub async fn finish(self) {
        self.release.send(()).expect("the busy write waits");
        self.write.await.expect("no panic").expect("written");
    }
}

/// Holds `storage`'s writer in a write until `finish`.
pub async fn busy_writer(storage: &Storage) -> Busy {
    let (started, running) = oneshot::channel::<()>();
    let (release, gate) = oneshot::channel::<()>();
    let write = tokio::spawn({
        let storage = storage.clone();
        async move {
            storage
                .write(move |_| {
                    Box::pin(async move {
                        let _ = started.send(());
                        let _ = gate.await;
                        Ok(())
                    })
                })
                .await
        }
    });
    running.await.expect("the busy write runs");
    Busy { release, write }
}
