//! Authenticated `GET /scim/{tenant}/v2/ServiceProviderConfig` over loopback HTTP, with the
//! verified-token cache and without it, plus the cost of one argon2id hash and verify at the
//! production parameters. Run: `cargo bench -p server --bench auth`.

#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use server::{auth::hasher::SecretHasher, config::Settings};

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

    let cached = run(
        "ServiceProviderConfig, token cache on (TTL 60 s)",
        settings.clone(),
    )
    .await;
    let uncached = run(
        "ServiceProviderConfig, token cache off",
        Settings {
            token_cache_ttl: Duration::ZERO,
            ..settings
        },
    )
    .await;
    println!("cache speed-up: {:.0}x", cached / uncached);
}

async fn argon2_costs(settings: &Settings) {
    let hasher = SecretHasher::new(settings.argon2, 1).unwrap();
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

async fn run(label: &str, settings: Settings) -> f64 {
    let server = common::start(settings).await;
    let (_, scim, token) = server.tenant("Bench").await;
    let url = Arc::new(format!("{scim}/ServiceProviderConfig"));
    let http = server.http.clone();
    common::load(label, CONCURRENCY, RUN_FOR, move |_, _| {
        let (http, url, token) = (http.clone(), Arc::clone(&url), token.clone());
        async move {
            http.get(url.as_str())
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    })
    .await
}
