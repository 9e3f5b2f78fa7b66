//! Live streams over tables read by increasing id (the provisioning log, the change
//! events). A stream never trusts a notice's content: a notice only wakes it, and it then
//! reads from the database everything after the last id it sent. So it has no gap and no
//! duplicate whatever notices are lost or repeated, as long as ids become visible in
//! increasing order (the writers make sure of that). Notices come from this process once
//! a write commits and, on PostgreSQL, from every other replica (`store::notify`).

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use futures_util::{Stream, stream};
use tokio::sync::watch;

use crate::{error::Error, store::notify::Subscriber};

/// How often a stream reads again with no notice: a safety net for a notice that never
/// came, not the way entries normally arrive.
const POLL: Duration = Duration::from_secs(2);

/// After a failed read, how long a stream waits before reading again.
const RETRY: Duration = Duration::from_secs(1);

/// Wakes the streams of one table. Closed at shutdown, which ends them.
pub struct Wakeups {
    tx: watch::Sender<Wake>,
    /// Per key (a tenant), the streams that follow only its rows (`follow_key`): a notice
    /// naming another key leaves them asleep, so that a write costs one read per stream of
    /// its tenant, not one per stream of every tenant. Keys nobody follows any more are
    /// dropped as they are met.
    keyed: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// The streams of every key's rows (`follow`), which every notice wakes.
    any: watch::Sender<u64>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Wake {
    generation: u64,
    closed: bool,
}

impl Default for Wakeups {
    fn default() -> Self {
        Self {
            tx: watch::Sender::new(Wake::default()),
            keyed: Mutex::default(),
            any: watch::Sender::new(0),
        }
    }
}

impl Wakeups {
    /// Wakes every stream, those following one key too.
    pub fn wake(&self) {
        self.tx
            .send_modify(|wake| wake.generation = wake.generation.wrapping_add(1));
    }

    /// Wakes the streams following `key`, and those following every key.
    pub fn wake_key(&self, key: &str) {
        bump(&self.any);
        let mut keyed = self.keyed();
        if let Some(tx) = keyed.get(key) {
            if tx.receiver_count() == 0 {
                keyed.remove(key);
            } else {
                bump(tx);
            }
        }
    }

    /// How many times the streams following `key` were woken, by a notice naming it.
    pub fn generation_of(&self, key: &str) -> u64 {
        self.keyed().get(key).map_or(0, |tx| *tx.borrow())
    }

    fn keyed(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<u64>>> {
        self.keyed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many times the streams were woken: tells a test a notice arrived.
    pub fn generation(&self) -> u64 {
        self.tx.borrow().generation
    }

    /// Ends every stream (server shutdown), now and for streams opened later.
    pub fn close(&self) {
        self.tx.send_modify(|wake| wake.closed = true);
    }

    /// Follows the table after `cursor`: `fetch(cursor)` returns the rows after it in
    /// increasing id order (a bounded batch), or `None` when the stream cannot go on from
    /// there (retention deleted rows after it): the stream ends, and the client's reconnect
    /// learns why. `id` names a row's id.
    pub fn follow<T, F, Fut>(
        &self,
        cursor: i64,
        fetch: F,
        id: fn(&T) -> i64,
    ) -> impl Stream<Item = T> + Send + 'static
    where
        T: Send + 'static,
        F: Fn(i64) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Option<Vec<T>>, Error>> + Send,
    {
        self.follow_from(self.any.subscribe(), cursor, fetch, id)
    }

    /// `follow` for a stream of `key`'s rows only: woken by notices naming `key` (and by
    /// those naming none), not by those of other keys.
    pub fn follow_key<T, F, Fut>(
        &self,
        key: &str,
        cursor: i64,
        fetch: F,
        id: fn(&T) -> i64,
    ) -> impl Stream<Item = T> + Send + 'static
    where
        T: Send + 'static,
        F: Fn(i64) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Option<Vec<T>>, Error>> + Send,
    {
        let keyed = {
            let mut keyed = self.keyed();
            keyed.retain(|_, tx| tx.receiver_count() > 0);
            keyed
                .entry(key.to_owned())
                .or_insert_with(|| watch::Sender::new(0))
                .subscribe()
        };
        self.follow_from(keyed, cursor, fetch, id)
    }

    fn follow_from<T, F, Fut>(
        &self,
        keyed: watch::Receiver<u64>,
        cursor: i64,
        fetch: F,
        id: fn(&T) -> i64,
    ) -> impl Stream<Item = T> + Send + 'static
    where
        T: Send + 'static,
        F: Fn(i64) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Option<Vec<T>>, Error>> + Send,
    {
        let follower = Follower {
            wakes: self.tx.subscribe(),
            keyed,
            cursor,
            pending: VecDeque::new(),
            fetch,
            id,
        };
        stream::unfold(follower, |mut follower| async move {
            let next = follower.next().await?;
            Some((next, follower))
        })
    }
}

impl Subscriber for Wakeups {
    /// A notice naming a key (a tenant) wakes its streams; one naming none wakes all.
    fn notified(&self, payload: &str) {
        if payload.is_empty() {
            self.wake();
        } else {
            self.wake_key(payload);
        }
    }

    fn missed(&self) {
        self.wake();
    }
}

struct Follower<T, F> {
    wakes: watch::Receiver<Wake>,
    /// The wakes of the rows it follows: one key's, or every key's.
    keyed: watch::Receiver<u64>,
    cursor: i64,
    pending: VecDeque<T>,
    fetch: F,
    id: fn(&T) -> i64,
}

impl<T, F, Fut> Follower<T, F>
where
    F: Fn(i64) -> Fut,
    Fut: Future<Output = Result<Option<Vec<T>>, Error>>,
{
    async fn next(&mut self) -> Option<T> {
        loop {
            if let Some(row) = self.pending.pop_front() {
                return Some(row);
            }
            // Marked seen before reading, so a notice during the read wakes the wait below.
            if self.wakes.borrow_and_update().closed {
                return None;
            }
            self.keyed.borrow_and_update();
            let pause = match (self.fetch)(self.cursor).await {
                Ok(None) => return None,
                Ok(Some(rows)) => {
                    if let Some(last) = rows.last() {
                        self.cursor = (self.id)(last);
                        self.pending.extend(rows);
                        continue;
                    }
                    POLL
                }
                Err(err) => {
                    tracing::warn!(error = %err, "a live stream could not read; retrying");
                    RETRY
                }
            };
            tokio::select! {
                changed = self.wakes.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                changed = self.keyed.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

fn bump(generation: &watch::Sender<u64>) {
    generation.send_modify(|generation| *generation = generation.wrapping_add(1));
}

/// The wakeups of every live table, shared by the app.
#[derive(Default)]
pub struct Feeds {
    /// The provisioning log.
    pub activity: Arc<Wakeups>,
    /// The change events.
    pub events: Arc<Wakeups>,
}

impl Feeds {
    pub fn close(&self) {
        self.activity.close();
        self.events.close();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures_util::StreamExt;

    use super::*;

    /// A table whose rows are ids; reads return what is after the cursor, three at most.
    fn table(
        rows: Arc<Mutex<Vec<i64>>>,
    ) -> impl Fn(i64) -> std::future::Ready<Result<Option<Vec<i64>>, Error>> {
        move |cursor| {
            let rows = rows.lock().unwrap();
            std::future::ready(Ok(Some(
                rows.iter()
                    .copied()
                    .filter(|id| *id > cursor)
                    .take(3)
                    .collect(),
            )))
        }
    }

    #[tokio::test]
    async fn replays_then_follows_without_gaps_or_duplicates() {
        let wakeups = Wakeups::default();
        let rows = Arc::new(Mutex::new((1..=7).collect::<Vec<_>>()));
        let mut stream = Box::pin(wakeups.follow(2, table(Arc::clone(&rows)), |id| *id));
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(stream.next().await.unwrap());
        }
        assert_eq!(seen, [3, 4, 5, 6, 7]);
        rows.lock().unwrap().extend([8, 9]);
        wakeups.wake();
        let woken = tokio::time::timeout(POLL / 2, stream.next()).await;
        assert_eq!(woken.unwrap(), Some(8), "a wake is enough, no poll needed");
        assert_eq!(stream.next().await, Some(9));
        wakeups.close();
        assert_eq!(stream.next().await, None, "closing ends the stream");
    }

    /// A stream of one key sleeps through notices naming other keys; its own key's, one
    /// naming none, and closing reach it. A stream of every key wakes for any key.
    #[tokio::test]
    async fn a_stream_of_one_key_wakes_for_its_key_only() {
        let wakeups = Wakeups::default();
        let rows = Arc::new(Mutex::new(vec![1]));
        let mut acme = Box::pin(wakeups.follow_key("acme", 1, table(Arc::clone(&rows)), |id| *id));
        let mut every = Box::pin(wakeups.follow(1, table(Arc::clone(&rows)), |id| *id));
        let asleep = tokio::time::timeout(POLL / 4, acme.next()).await;
        assert!(asleep.is_err(), "nothing new: {asleep:?}");

        rows.lock().unwrap().push(2);
        wakeups.notified("globex");
        let asleep = tokio::time::timeout(POLL / 4, acme.next()).await;
        assert!(asleep.is_err(), "another key's notice: {asleep:?}");
        let woken = tokio::time::timeout(POLL / 4, every.next()).await;
        assert_eq!(woken.unwrap(), Some(2), "every key's stream wakes");

        wakeups.notified("acme");
        let woken = tokio::time::timeout(POLL / 4, acme.next()).await;
        assert_eq!(woken.unwrap(), Some(2), "its own key's notice");
        assert_eq!(wakeups.generation_of("acme"), 1);
        assert_eq!(wakeups.generation_of("globex"), 0, "nobody follows globex");

        rows.lock().unwrap().push(3);
        wakeups.notified("");
        let woken = tokio::time::timeout(POLL / 4, acme.next()).await;
        assert_eq!(woken.unwrap(), Some(3), "a notice naming no key");
        wakeups.close();
        assert_eq!(acme.next().await, None, "closing ends it");

        drop((acme, every));
        wakeups.notified("acme");
        assert!(
            wakeups.keyed().is_empty(),
            "a key nobody follows is dropped"
        );
    }
}
