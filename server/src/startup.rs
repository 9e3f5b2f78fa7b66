//! Booting and stopping the server, in one place for the binary, the tests and the
//! benchmarks: `Application::build` opens the database, starts the background work, makes
//! sure an operator key exists and binds the listener (port 0 picks a free one);
//! `run_until_stopped` serves until a signal, then lets in-flight requests finish, commits
//! every queued write and records credential usage.

use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use futures_util::FutureExt;
use tokio::net::TcpListener;

use crate::{
    AppState, bootstrap,
    config::Settings,
    connections,
    error::Error,
    store::{Storage, storage::StatementObserver},
};

/// What `build` needs beyond the runtime settings.
#[derive(Clone)]
pub struct Launch {
    pub database_url: String,
    pub bind: SocketAddr,
    /// Where the bootstrap operator key is written on first start.
    pub data_dir: PathBuf,
    pub settings: Settings,
    /// Sees every SQL statement (tests use it to prove what a request reads).
    pub observer: Option<StatementObserver>,
}

pub struct Application {
    state: AppState,
    listener: TcpListener,
    port: u16,
    /// `--metrics-bind`'s listener.
    metrics: Option<TcpListener>,
}

/// How long requests already being served get to finish after a stop signal.
const GRACE: Duration = Duration::from_secs(30);

impl Application {
    pub async fn build(launch: Launch) -> Result<Self, Error> {
        let storage = Storage::open_observed(
            &launch.database_url,
            &launch.settings.storage,
            launch.observer,
        )
        .await?;
        // A database that can be read but not written (a read-only file, a full disk, a
        // read-only PostgreSQL standby) would answer every write 503: say so now instead.
        if let Err(err) = storage.check().await {
            storage.close().await;
            return Err(anyhow::anyhow!(
                "the database does not take writes ({err}); check that the data directory and \
                 its files are writable and the disk has room, or that PostgreSQL accepts writes"
            )
            .into());
        }
        let state = AppState::start(storage, launch.settings).await?;
        if let Some(path) = bootstrap::ensure_operator_key(
            &state.db,
            state.auth.hasher(),
            &launch.data_dir,
            state.clock.now(),
        )
        .await?
        {
            tracing::info!(path = %path.display(), "created the first operator key; it is in this file");
        }
        let (listener, port) = listen(launch.bind).await?;
        tracing::info!(addr = %SocketAddr::new(launch.bind.ip(), port), "listening");
        let metrics = match state.settings.metrics_bind {
            Some(bind) => {
                let (listener, port) = listen(bind).await?;
                tracing::info!(addr = %SocketAddr::new(bind.ip(), port), "serving metrics at /metrics");
                Some(listener)
            }
            None => None,
        };
        Ok(Self {
            state,
            listener,
            port,
            metrics,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` completes, then shuts down cleanly.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<(), Error> {
        let Self {
            state,
            listener,
            metrics,
            ..
        } = self;
        let feeds = Arc::clone(&state.feeds);
        let stop = async move {
            stop.await;
            // Live streams never end by themselves; the graceful shutdown waits for them.
            feeds.close();
        }
        .boxed()
        .shared();
        let limits = state.settings.connections;
        let api = connections::serve(
            listener,
            crate::app(state.clone()),
            limits,
            stop.clone(),
            GRACE,
        );
        match metrics {
            Some(listener) => {
                let metrics = connections::serve(
                    listener,
                    crate::metrics_app(state.clone()),
                    limits,
                    stop,
                    GRACE,
                );
                tokio::join!(api, metrics);
            }
            None => api.await,
        }
        shutdown(&state).await;
        Ok(())
    }
}

async fn listen(bind: SocketAddr) -> Result<(TcpListener, u16), Error> {
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {bind}: {err}"))?;
    let port = listener
        .local_addr()
        .map_err(|err| anyhow::anyhow!("the listener has no TCP address: {err}"))?
        .port();
    Ok((listener, port))
}

/// After the last request: queue the buffered credential usage and the provisioning log's
/// last entries, then close the writer,
/// which commits everything queued before it stops.
pub async fn shutdown(state: &AppState) {
    if let Err(err) = state.auth.flush_usage().await {
        tracing::warn!(error = %err, "could not record credential usage at shutdown");
    }
    state.activity.close().await;
    state.db.close().await;
}
