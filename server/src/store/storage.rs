//! The database as the rest of the server sees it: a pool to read from and one way to
//! write. On SQLite every write goes through the single writer task (`writer.rs`), which
//! commits waiting writes together; on PostgreSQL each write runs in its caller's own
//! transaction, concurrently, except merged writes (`coalesce.rs`), which run a tenant's
//! together in a task of their own. Either way a write that returns `Ok` is committed, and
//! one whose commit failed returns `Error::Unavailable` with nothing of it stored.

use std::{panic::AssertUnwindSafe, sync::Arc};

use futures_util::FutureExt;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, TransactionTrait,
};

use super::{
    abandoned::Canceller,
    checkpointer::Checkpointer,
    db, events,
    grant_lookups::LookupsCache,
    health::StorageHealth,
    limits,
    member_changes::{MemberChanges, member_changes},
    notify::{self, Notifications},
    transaction_watch::TransactionWatch,
    user_cache::UserCache,
    user_creates::{UserCreates, user_creates},
    writer::{Effect, Opener, QueueSettings, WriteFuture, WriteQueue, WriteSlot},
};
use crate::{
    activity::cause,
    config::{StorageSettings, TenantLimits},
    error::Error,
};

/// Called with every SQL statement run, on every connection (tests use it to prove which
/// tables a request touches).
pub type StatementObserver = Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

/// See `Storage::stats`.
#[derive(Debug, Clone, Copy)]
pub struct StorageStats {
    pub queued_writes: usize,
    /// Connections open in the request pool (SQLite: the read pool).
    pub pool_size: u32,
    pub pool_idle: u32,
}

/// A readiness check writes a probe row when no write has committed for this long: a
/// database that refuses writes (a read-only file) shows only when something writes.
const PROBE_WHEN_QUIET: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    reads: DatabaseConnection,
    writes: Writes,
    /// Embedded database in a file only.
    checkpointer: Option<Checkpointer>,
    health: Arc<StorageHealth>,
    notifications: Arc<Notifications>,
    users: Option<UserCache>,
    /// Writes merged into few statements (see `coalesce.rs`).
    user_creates: Arc<UserCreates>,
    member_changes: Arc<MemberChanges>,
    limits: TenantLimits,
    grant_lookups: LookupsCache,
    /// PostgreSQL only (see `abandoned.rs`).
    canceller: Option<Canceller>,
}

/// See `Storage::reserve_write`.
pub(super) enum WritePlace {
    Queued(WriteSlot),
    Pooled(DatabaseConnection),
}

enum Writes {
    /// PostgreSQL: each caller's own transaction (merged writes: see `coalesce.rs`).
    Concurrent(DatabaseConnection),
    /// SQLite: the writer task.
    Queued(WriteQueue),
}

impl Storage {
    /// Connects to `url`, applies pending migrations and, on SQLite, starts the writer.
    pub async fn open(url: &str, settings: &StorageSettings) -> Result<Self, Error> {
        Self::open_observed(url, settings, None).await
    }

    pub async fn open_observed(
        url: &str,
        settings: &StorageSettings,
        observer: Option<StatementObserver>,
    ) -> Result<Self, Error> {
        let observe = |connection| observed(connection, observer.as_ref());
        let health = Arc::new(StorageHealth::default());
        if db::is_postgres_url(url) {
            db::probe_postgres(url).await?;
            let migrations = db::connect_postgres_for_migrations(url).await?;
            db::migrate(&migrations).await?;
            migrations.close().await?;
            let pool = observe(db::connect_postgres(url, settings).await?);
            let storage = Self::assemble(
                pool.clone(),
                Writes::Concurrent(pool),
                None,
                health,
                None,
                settings.limits,
                Some(Canceller::new(url)?),
            );
            storage.inner.notifications.listen(storage.reads()).await?;
            return Ok(storage);
        }
        if !db::is_sqlite_url(url) {
            return Err(Error::Invalid(
                "the database URL must start with sqlite: or postgres://".to_owned(),
            ));
        }
        db::create_private_sqlite_file(url)?;
        let watch = Arc::new(TransactionWatch::default());
        let opener: Opener = {
            let url = url.to_owned();
            let settings = settings.clone();
            let observer = observer.clone();
            let watch = Arc::clone(&watch);
            Arc::new(move || {
                let url = url.clone();
                let settings = settings.clone();
                let observer = observer.clone();
                let watch = Arc::clone(&watch);
                Box::pin(async move {
                    let connection = db::connect_sqlite_watched(
                        &url,
                        &settings,
                        db::SqliteRole::Writer,
                        Some(watch),
                    )
                    .await?;
                    Ok(observed(connection, observer.as_ref()))
                })
            })
        };
        let writer = opener().await?;
        db::migrate(&writer).await?;
        // On a new database its first connection opened before the tables existed.
        let guarded = async {
            let mut connection = writer.get_sqlite_connection_pool().acquire().await?;
            limits::guard_users(&mut connection, settings.limits.users).await
        };
        guarded.await.map_err(|err| {
            Error::Internal(anyhow::anyhow!("guarding the tenants' user limit: {err}"))
        })?;
        // Every connection to an in-memory database is a database of its own, so reads
        // share the writer's one connection there (and there is no WAL to checkpoint).
        let (reads, checkpointer) = if db::is_sqlite_memory_url(url) {
            (writer.clone(), None)
        } else {
            let reads = observe(db::connect_sqlite(url, settings, db::SqliteRole::Reader).await?);
            let checkpoints =
                observe(db::connect_sqlite(url, settings, db::SqliteRole::Writer).await?);
            (reads, Some(Checkpointer::start(checkpoints)))
        };
        let queue = WriteQueue::start(
            writer,
            opener,
            watch,
            QueueSettings {
                capacity: settings.write_queue_capacity,
                max_batch: settings.max_write_batch,
                hold_between_batches: !db::is_sqlite_memory_url(url),
            },
            Arc::clone(&health),
            checkpointer.as_ref().map(Checkpointer::committed),
        )
        .await?;
        let users =
            (settings.user_cache_entries > 0).then(|| UserCache::new(settings.user_cache_entries));
        Ok(Self::assemble(
            reads,
            Writes::Queued(queue),
            checkpointer,
            health,
            users,
            settings.limits,
            None,
        ))
    }

    fn assemble(
        reads: DatabaseConnection,
        writes: Writes,
        checkpointer: Option<Checkpointer>,
        health: Arc<StorageHealth>,
        users: Option<UserCache>,
        limits: TenantLimits,
        canceller: Option<Canceller>,
    ) -> Self {
        let user_creates = Arc::new(user_creates());
        let member_changes = Arc::new(member_changes());
        Self {
            inner: Arc::new(Inner {
                reads,
                writes,
                checkpointer,
                health,
                notifications: Arc::default(),
                user_creates,
                member_changes,
                users,
                limits,
                grant_lookups: LookupsCache::default(),
                canceller,
            }),
        }
    }

    /// What each tenant may hold.
    pub fn limits(&self) -> TenantLimits {
        self.inner.limits
    }

    pub fn user_creates(&self) -> &Arc<UserCreates> {
        &self.inner.user_creates
    }

    /// Whether merged writes (`coalesce.rs`) go in one lane per tenant: where they run side
    /// by side (PostgreSQL) rather than one at a time in the writer.
    pub(super) fn merges_per_tenant(&self) -> bool {
        matches!(self.inner.writes, Writes::Concurrent(_))
    }

    pub fn member_changes(&self) -> &Arc<MemberChanges> {
        &self.inner.member_changes
    }

    /// The cache of users, where there is one (see `user_cache.rs`).
    pub fn user_cache(&self) -> Option<&UserCache> {
        self.inner.users.as_ref()
    }

    /// What this process keeps of each tenant's products and catalog (see
    /// `grant_lookups.rs`).
    pub fn grant_lookups(&self) -> &LookupsCache {
        &self.inner.grant_lookups
    }

    /// What stops a PostgreSQL statement nobody waits for (see `abandoned.rs`).
    pub fn canceller(&self) -> Option<&Canceller> {
        self.inner.canceller.as_ref()
    }

    /// The pool for reads. On SQLite its connections never write.
    pub fn reads(&self) -> &DatabaseConnection {
        &self.inner.reads
    }

    /// Where committed changes are announced to in-memory state (see `notify.rs`).
    pub fn notifications(&self) -> &Arc<Notifications> {
        &self.inner.notifications
    }

    /// What the metrics report of the database's use.
    pub fn stats(&self) -> StorageStats {
        let reads = &self.inner.reads;
        let (pool_size, pool_idle) = match self.backend() {
            DatabaseBackend::Postgres => {
                let pool = reads.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = reads.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        StorageStats {
            queued_writes: match &self.inner.writes {
                Writes::Queued(queue) => queue.queued(),
                Writes::Concurrent(_) => 0,
            },
            pool_size,
            pool_idle: u32::try_from(pool_idle).unwrap_or(u32::MAX),
        }
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.inner.reads.get_database_backend()
    }

    /// Runs `work` in a write transaction and returns its result once it is committed.
    /// If `work` fails, nothing it did is kept; if the commit fails, the answer is
    /// `Error::Unavailable` and nothing is kept either.
    pub async fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
    {
        self.write_then(work, |_| {}).await
    }

    /// `write`, and `settled` once the write has ended (committed or not), before the
    /// caller is answered; not when the write was refused before it ran (a full queue, the
    /// writer stopping). On the embedded database `settled` runs in the writer's task, so
    /// also when the caller has gone away meanwhile (its client left): what must follow a
    /// commit, like evicting cached copies of what it changed, cannot be skipped. It must not
    /// block: every write waits behind it. (With PostgreSQL it runs in the caller's task: a
    /// caller that goes away before its commit takes its transaction with it, no user is
    /// cached, and credentials that end are announced inside their transaction.) A write
    /// that inserts or renames a user must tell `users::named` here.
    pub async fn write_then<T, F>(
        &self,
        work: F,
        settled: impl FnOnce(&Result<T, Error>) + Send + 'static,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
    {
        self.run_then(Effect::Writes, work, settled).await
    }

    /// `write_then` for work that stores nothing (see `Effect::ReadsOnly`) but must see
    /// every write acknowledged before it and none after: its success neither tells
    /// readiness that writes work again nor wakes the event streams.
    pub async fn read_then<T, F>(
        &self,
        work: F,
        settled: impl FnOnce(&Result<T, Error>) + Send + 'static,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
    {
        self.run_then(Effect::ReadsOnly, work, settled).await
    }

    async fn run_then<T, F>(
        &self,
        effect: Effect,
        work: F,
        settled: impl FnOnce(&Result<T, Error>) + Send + 'static,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
    {
        // The request this write is for goes with it to the writer, for its change events.
        let touched = events::Touched::default();
        let work = noting(touched.clone(), on_behalf_of(cause::current(), work));
        let settled = self.announcing(effect, touched, settled);
        match &self.inner.writes {
            Writes::Queued(queue) => queue.write(effect, work, settled).await,
            Writes::Concurrent(pool) => {
                let written = self.write_concurrently(pool, effect, work).await;
                settled(&written);
                written
            }
        }
    }

    /// `settled`, then `waking` the event streams if something was stored. Hooks first: a
    /// stream woken by the change must not find a cache without it.
    fn announcing<T>(
        &self,
        effect: Effect,
        touched: events::Touched,
        settled: impl FnOnce(&Result<T, Error>) + Send + 'static,
    ) -> impl FnOnce(&Result<T, Error>) + Send + 'static {
        let wake = self.waking(touched);
        move |outcome| {
            settled(outcome);
            wake(outcome.is_ok() && effect == Effect::Writes);
        }
    }

    /// What tells the event streams of the tenants whose events a write stored (`touched`)
    /// that it committed.
    fn waking(&self, touched: events::Touched) -> impl FnOnce(bool) + Send + 'static {
        let notifications = Arc::clone(self.notifications());
        move |committed| {
            if committed {
                for tenant_id in touched.take() {
                    notifications.publish_local(notify::EVENTS, &tenant_id);
                }
            }
        }
    }

    /// Where a merged write (`coalesce.rs`) will run: a place in the writer's queue on the
    /// embedded database, a transaction of its own on PostgreSQL. Not for use outside
    /// `store`: a place held across an `.await` keeps the queue open, and `close` waiting
    /// for it.
    pub(super) fn reserve_write(&self) -> Result<WritePlace, Error> {
        match &self.inner.writes {
            Writes::Queued(queue) => queue.reserve().map(WritePlace::Queued),
            Writes::Concurrent(pool) => Ok(WritePlace::Pooled(pool.clone())),
        }
    }

    /// `write` in a reserved place, for a merged write: `then` gets the outcome once the
    /// write has ended, in the writer's task on the embedded database, in a task of its own
    /// on PostgreSQL (the write no longer depends on the request that started it). On no
    /// request's behalf, as each merged write names its own request.
    pub(super) fn write_in<T, F>(
        &self,
        place: WritePlace,
        work: F,
        then: impl FnOnce(Result<T, Error>) + Send + 'static,
    ) where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
    {
        let touched = events::Touched::default();
        let work = noting(touched.clone(), work);
        let wake = self.waking(touched);
        let then = move |outcome: Result<T, Error>| {
            let committed = outcome.is_ok();
            then(outcome);
            wake(committed);
        };
        match place {
            WritePlace::Queued(slot) => slot.send(work, then),
            WritePlace::Pooled(pool) => {
                let storage = self.clone();
                // `then` must be told even if the work panics: a merged write's lane waits
                // for it (`coalesce.rs`).
                tokio::spawn(async move {
                    let written =
                        AssertUnwindSafe(storage.write_concurrently(&pool, Effect::Writes, work))
                            .catch_unwind()
                            .await
                            .unwrap_or_else(|_| {
                                Err(Error::Internal(anyhow::anyhow!("a write panicked")))
                            });
                    then(written);
                });
            }
        }
    }

    /// Runs `work` where a write would run, then takes back everything it did: a preview
    /// of a change, computed by the very code that makes it, against the state it would
    /// meet.
    pub async fn rehearse<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
    {
        let postgres = self.backend() == DatabaseBackend::Postgres;
        self.read_then(
            move |txn| {
                Box::pin(async move {
                    // One snapshot for the whole rehearsal, so what others commit meanwhile
                    // cannot pass for its effect (SQLite's single writer gives that already).
                    if postgres {
                        txn.execute_unprepared("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                            .await?;
                    }
                    let rehearsal = txn.begin().await?;
                    let outcome = work(&rehearsal).await;
                    rehearsal.rollback().await?;
                    outcome
                })
            },
            |_| {},
        )
        .await
    }

    async fn write_concurrently<T, F>(
        &self,
        pool: &DatabaseConnection,
        effect: Effect,
        work: F,
    ) -> Result<T, Error>
    where
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T>,
    {
        let txn = pool.begin().await?;
        let value = match work(&txn).await {
            Ok(value) => value,
            Err(err) => {
                // A database that refuses every write says so to the first one, not at
                // commit: readiness hears of it now rather than at its next probe.
                if let Some(reason) = err.storage_refuses_writes() {
                    self.inner.health.failed(&reason);
                }
                return Err(err);
            }
        };
        if effect == Effect::ReadsOnly {
            txn.rollback().await?;
            return Ok(value);
        }
        match txn.commit().await {
            Ok(()) => {
                self.inner.health.succeeded();
                Ok(value)
            }
            Err(err) => {
                tracing::error!(error = %err, "commit failed; nothing of the write was stored");
                self.inner.health.failed(&err.to_string());
                Err(Error::commit_failed())
            }
        }
    }

    /// Whether the database answers and, after a failed write, takes writes again.
    pub async fn check(&self) -> Result<(), Error> {
        db::ping(self.reads()).await?;
        let health = &self.inner.health;
        if health.problem().is_some() || health.quiet_for(PROBE_WHEN_QUIET) {
            tracing::debug!("probing whether writes work");
            let probed = self
                .write(|txn| {
                    Box::pin(async move {
                        txn.execute_unprepared(
                            "INSERT INTO storage_probe (id, written_at) VALUES (1, CURRENT_TIMESTAMP) \
                             ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .await;
            if let Err(err) = probed {
                let reason = format!("writes fail: {err}");
                health.failed(&reason);
                return Err(Error::unavailable(
                    reason,
                    crate::error::DATABASE_RETRY_SECS,
                ));
            }
        }
        Ok(())
    }

    /// Why writes are failing, while they are.
    pub fn write_problem(&self) -> Option<String> {
        self.inner.health.problem()
    }

    /// Stops taking writes and waits until every queued write has been committed (or
    /// answered as failed). Reads keep working.
    pub async fn close(&self) {
        if let Writes::Queued(queue) = &self.inner.writes {
            queue.close().await;
        }
        if let Some(checkpointer) = &self.inner.checkpointer {
            checkpointer.close().await;
        }
    }
}

/// `connection`, reporting every statement to `observer` when there is one.
fn observed(
    mut connection: DatabaseConnection,
    observer: Option<&StatementObserver>,
) -> DatabaseConnection {
    if let Some(observer) = observer {
        let observer = Arc::clone(observer);
        connection.set_metric_callback(move |info| observer(info));
    }
    connection
}

/// `work`, run on behalf of request `request` wherever the writer runs it.
fn on_behalf_of<T, F>(
    request: Option<String>,
    work: F,
) -> impl for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static
where
    T: Send + 'static,
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
{
    move |txn| Box::pin(cause::within(request, work(txn)))
}

/// `work`, noting in `touched` the tenants it stores change events of.
fn noting<T, F>(
    touched: events::Touched,
    work: F,
) -> impl for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static
where
    T: Send + 'static,
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> WriteFuture<'t, T> + Send + 'static,
{
    move |txn| Box::pin(async move { touched.noting(work(txn)).await })
}
