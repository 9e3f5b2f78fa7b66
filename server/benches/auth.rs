//! Authenticated `GET /scim/{tenant}/v2/ServiceProviderConfig` over loopback HTTP, with the
//! verified-token cache and without it, plus the cost of one argon2id hash and verify at the
//! production parameters. Run: `cargo bench -p server --bench auth`.

#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use poem::{
    Server,
    listener::{Acceptor, Listener, TcpListener},
};
use serde_json::{Value, json};
use server::{AppState, auth::hasher::SecretHasher, config::Settings, store};

const CONCURRENCY: usize = 16;
const RUN_FOR: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() {
    let settings = Settings::default();
    println!(
        "argon2id parameters: m={} KiB, t={}, p={}",
        settings.argon2.m_cost, settings.argon2.t_cost, settings.argon2.p_cost
    );
    argon2_costs(&settings).await;

    let cached = run("with cache (TTL 60 s)", settings.clone()).await;
    let uncached = run(
        "without cache",
        Settings {
            token_cache_ttl: Duration::ZERO,
            ..settings
        },
    )
    .await;
    println!("cache speed-up: {:.0}x", cached / uncached);
}

async fn argon2_costs(settings: &Settings) {
    let hasher = SecretHasher::new(settings.argon2).unwrap();
    let secret = "x".repeat(40);
    let rounds = 20;
    let started = Instant::now();
    let mut hash = String::new();
    for _ in 0..rounds {
        hash = hasher.hash(secret.clone()).await.unwrap();
    }
    let per_hash = started.elapsed() / rounds;
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(hasher.verify(secret.clone(), Some(hash.clone())).await);
    }
    let per_verify = started.elapsed() / rounds;
    println!(
        "argon2id: hash {:.1} ms, verify {:.1} ms (mean of {rounds})",
        per_hash.as_secs_f64() * 1e3,
        per_verify.as_secs_f64() * 1e3
    );
}

/// Serves a fresh embedded database on a loopback port, loads it for `RUN_FOR` from
/// `CONCURRENCY` keep-alive connections, prints the figures and returns requests/second.
async fn run(label: &str, settings: Settings) -> f64 {
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
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let server = tokio::spawn(Server::new_with_acceptor(acceptor).run(server::app(state)));

    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let tenant: Value = http
        .post(format!("{base}/admin/v1/tenants"))
        .bearer_auth(&operator)
        .json(&json!({ "name": "Bench" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant_id = tenant["id"].as_str().unwrap();
    let token: Value = http
        .post(format!("{base}/admin/v1/tenants/{tenant_id}/scim-tokens"))
        .bearer_auth(&operator)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = Arc::new(token["token"].as_str().unwrap().to_owned());
    let url = Arc::new(format!("{base}/scim/{tenant_id}/v2/ServiceProviderConfig"));

    let deadline = Instant::now() + RUN_FOR;
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (http, url, token) = (http.clone(), Arc::clone(&url), Arc::clone(&token));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let resp = http
                        .get(url.as_str())
                        .bearer_auth(token.as_str())
                        .send()
                        .await
                        .unwrap();
                    assert!(resp.status().is_success(), "{}", resp.status());
                    resp.bytes().await.unwrap();
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    server.abort();
    latencies.sort();
    let rps = latencies.len() as f64 / RUN_FOR.as_secs_f64();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{label}: {rps:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms ({} requests, {CONCURRENCY} connections)",
        percentile(0.50).as_secs_f64() * 1e3,
        percentile(0.99).as_secs_f64() * 1e3,
        latencies.len(),
    );
    rps
}
