//! What the benchmarks share: a server on a loopback port over a fresh database, and a
//! closed-loop load generator that prints requests/second and latency percentiles.

#![allow(dead_code, reason = "each benchmark uses a different part of it")]

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use poem::{
    Server,
    listener::{Acceptor, Listener, TcpListener},
};
use serde_json::{Value, json};
use server::{AppState, config::Settings, store};

pub struct Running {
    pub base: String,
    pub state: AppState,
    pub operator: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts the app on `127.0.0.1:0` over a fresh embedded database.
pub async fn start(settings: Settings) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let db = store::db::connect(&store::db::sqlite_url(&dir.path().join("scim.db")))
        .await
        .unwrap();
    store::db::migrate(&db).await.unwrap();
    let state = AppState::start(db, settings).await.unwrap();
    let operator = server::bootstrap::create_operator_key(
        &state.db,
        state.auth.hasher(),
        None,
        state.clock.now(),
    )
    .await
    .unwrap();
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    let server = tokio::spawn(Server::new_with_acceptor(acceptor).run(server::app(state.clone())));
    Running {
        base: format!("http://{addr}"),
        state,
        operator,
        http: reqwest::Client::new(),
        _dir: dir,
        server,
    }
}

impl Running {
    /// A new tenant: `(tenant id, SCIM base URL, SCIM token)`.
    pub async fn tenant(&self, name: &str) -> (String, String, String) {
        let tenant: Value = self
            .http
            .post(format!("{}/admin/v1/tenants", self.base))
            .bearer_auth(&self.operator)
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = tenant["id"].as_str().unwrap().to_owned();
        let token: Value = self
            .http
            .post(format!("{}/admin/v1/tenants/{id}/scim-tokens", self.base))
            .bearer_auth(&self.operator)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let scim = format!("{}/scim/{id}/v2", self.base);
        (id, scim, token["token"].as_str().unwrap().to_owned())
    }
}

/// Runs `request(worker, iteration)` from `concurrency` workers for `duration`, asserting
/// each answer succeeded, and prints the figures. Returns requests/second.
pub async fn load<F, Fut>(label: &str, concurrency: usize, duration: Duration, request: F) -> f64
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = reqwest::Response> + Send,
{
    let request = Arc::new(request);
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let request = Arc::clone(&request);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut iteration = 0;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let resp = request(worker, iteration).await;
                    let status = resp.status();
                    let body = resp.bytes().await.unwrap();
                    assert!(
                        status.is_success(),
                        "{status}: {}",
                        String::from_utf8_lossy(&body)
                    );
                    latencies.push(started.elapsed());
                    iteration += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    latencies.sort();
    let rps = latencies.len() as f64 / duration.as_secs_f64();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{label:<58} {rps:>8.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} requests, {concurrency} connections)",
        percentile(0.50).as_secs_f64() * 1e3,
        percentile(0.99).as_secs_f64() * 1e3,
        latencies.len(),
    );
    rps
}
