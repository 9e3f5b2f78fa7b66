//! What the benchmarks share: a server on a loopback port over a fresh database, and a
//! closed-loop load generator that prints requests/second and latency percentiles.

#![allow(dead_code, reason = "each benchmark uses a different part of it")]

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use entity::{group_member, scim_group, scim_user};
use sea_orm::{EntityTrait, Set};
use serde_json::{Value, json};
use server::{
    AppState,
    config::Settings,
    startup::{Application, Launch},
    store,
};

pub struct Running {
    pub base: String,
    pub state: AppState,
    pub operator: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.abort();
    }
}

/// Starts the app on `127.0.0.1:0` over a fresh embedded database.
pub async fn start(settings: Settings) -> Running {
    start_on(None, settings).await
}

/// Starts the app on `127.0.0.1:0` over `database_url`, or a fresh embedded database.
/// Without the per-tenant rate limit: every bench loads one tenant as fast as it can.
pub async fn start_on(database_url: Option<String>, mut settings: Settings) -> Running {
    settings.rate_limit.requests = 0;
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(Launch {
        database_url: database_url
            .unwrap_or_else(|| store::db::sqlite_url(&dir.path().join("scim.db"))),
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        settings,
        observer: None,
    })
    .await
    .unwrap();
    let operator = std::fs::read_to_string(dir.path().join("operator.key"))
        .unwrap()
        .trim()
        .to_owned();
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running {
        base,
        state,
        operator,
        http: reqwest::Client::new(),
        _dir: dir,
        stop: Some(stop),
        server,
    }
}

impl Running {
    /// A new tenant: `(tenant id, SCIM base URL, SCIM token)`.
    pub async fn tenant(&self, name: &str) -> (String, String, String) {
        create_tenant(&self.http, &self.base, &self.operator, name).await
    }
}

/// A new tenant and its SCIM token, through the admin API of the server at `base`:
/// `(tenant id, SCIM base URL, SCIM token)`.
pub async fn create_tenant(
    http: &reqwest::Client,
    base: &str,
    operator: &str,
    name: &str,
) -> (String, String, String) {
    let tenant: Value = http
        .post(format!("{base}/admin/v1/tenants"))
        .bearer_auth(operator)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = tenant["id"].as_str().unwrap().to_owned();
    let token: Value = http
        .post(format!("{base}/admin/v1/tenants/{id}/scim-tokens"))
        .bearer_auth(operator)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scim = format!("{base}/scim/{id}/v2");
    (id, scim, token["token"].as_str().unwrap().to_owned())
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

const SEED_CHUNK: usize = 1000;

/// Inserts `count` users named `<prefix><n>` straight into the store; returns their ids.
pub async fn seed_users(
    db: &server::store::Storage,
    tenant: &str,
    prefix: &str,
    count: usize,
) -> Vec<String> {
    let now = Utc::now();
    let mut ids = Vec::with_capacity(count);
    for start in (0..count).step_by(SEED_CHUNK) {
        let rows: Vec<_> = (start..(start + SEED_CHUNK).min(count))
            .map(|n| {
                let id = uuid::Uuid::now_v7().to_string();
                ids.push(id.clone());
                let name = format!("{prefix}{n}@example.com");
                scim_user::ActiveModel {
                    id: Set(id),
                    tenant_id: Set(tenant.to_owned()),
                    user_name_lc: Set(name.clone()),
                    data: Set(json!({ "userName": name, "active": true }).to_string()),
                    user_name: Set(name),
                    external_id: Set(None),
                    display_name: Set(None),
                    display_name_lc: Set(None),
                    active: Set(true),
                    version: Set(1),
                    created_at: Set(now),
                    last_modified: Set(now),
                }
            })
            .collect();
        db.write(move |txn| {
            Box::pin(async move {
                scim_user::Entity::insert_many(rows).exec(txn).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    }
    ids
}

pub async fn seed_group(
    db: &server::store::Storage,
    tenant: &str,
    name: &str,
    members: &[String],
) -> String {
    let now = Utc::now();
    let id = uuid::Uuid::now_v7().to_string();
    let group = scim_group::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(tenant.to_owned()),
        display_name: Set(name.to_owned()),
        display_name_lc: Set(name.to_lowercase()),
        external_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        last_modified: Set(now),
    };
    let rows: Vec<_> = members
        .iter()
        .map(|user| group_member::ActiveModel {
            group_id: Set(id.clone()),
            user_id: Set(user.clone()),
            tenant_id: Set(tenant.to_owned()),
            added_at: Set(Some(now)),
            added_by: Set(None),
        })
        .collect();
    db.write(move |txn| {
        Box::pin(async move {
            scim_group::Entity::insert(group).exec(txn).await?;
            for chunk in rows.chunks(SEED_CHUNK) {
                group_member::Entity::insert_many(chunk.to_vec())
                    .exec(txn)
                    .await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    id
}

/// Loads `paths` (taken in turn) on the server at `base` with the external `wrk` (2 threads,
/// 32 connections, 10 s after a 3 s warm-up, like `../shared/bench/bench.sh`) and prints the
/// figures. The in-process generator above shares the 2 cores and the runtime with the
/// server; `wrk` measures the server alone. Skipped with a line saying so when `wrk` is not
/// installed.
pub async fn wrk(label: &str, base: &str, paths: Vec<String>, bearer: &str) {
    let script = wrk_script(&paths, bearer);
    let base = base.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paths.lua");
        std::fs::write(&file, script).unwrap();
        let run = |duration: &str| {
            std::process::Command::new("wrk")
                .args(["-t2", "-c32", "-d", duration, "-s"])
                .arg(&file)
                .arg(&base)
                .output()
        };
        run("3s").and_then(|_| run("10s"))
    })
    .await
    .unwrap();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            println!("{label:<58} skipped: wrk not runnable ({error})");
            return;
        }
    };
    assert!(
        output.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let figures: Vec<f64> = stdout
        .lines()
        .find_map(|line| line.strip_prefix("FIGURES "))
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let [requests, non_2xx, socket_errors, micros, p50, p99]: [f64; 6] =
        figures.try_into().unwrap();
    println!(
        "{label:<58} {:>8.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({requests} requests, 32 connections, wrk; {non_2xx} non-2xx, {socket_errors} socket errors)",
        requests / (micros / 1e6),
        p50 / 1e3,
        p99 / 1e3,
    );
}

fn wrk_script(paths: &[String], bearer: &str) -> String {
    let list: Vec<String> = paths.iter().map(|p| format!("{p:?}")).collect();
    format!(
        r#"local paths = {{ {} }}
local headers = {{ ["Authorization"] = "Bearer {bearer}" }}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FIGURES %d %d %d %d %d %d\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"#,
        list.join(", ")
    )
}
