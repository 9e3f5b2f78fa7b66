//! What Microsoft Entra ID sends, against the real release binary on a loopback port over
//! a fresh embedded database: an initial cycle (10,000 users, then 1,000 groups each filled
//! with 100 members by "Add" PATCHes of 10, a group's PATCHes running concurrently, 8
//! requests in flight), then an incremental cycle (existence checks, attribute updates,
//! deactivations, member removals). Prints per phase: time, requests/second, p50/p99,
//! errors, and the server's peak RSS; first a reference line (an authenticated
//! `ServiceProviderConfig` rate) that says how fast the machine runs today.
//!
//! `cargo bench -p server --bench entra_cycle`; `ENTRA_USERS`, `ENTRA_GROUPS` and
//! `ENTRA_IN_FLIGHT` scale it; `DATABASE_URL` runs it against PostgreSQL instead;
//! `SCIM_SERVER_BIN` runs another build of the server (a profiling one, an older one).

#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

mod common;

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ADSCIM_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const MEMBERS_PER_GROUP: usize = 100;
const MEMBERS_PER_PATCH: usize = 10;
/// Requests of the machine's reference measurement.
const REFERENCE_REQUESTS: usize = 20_000;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
    pid: u32,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start(http: &reqwest::Client) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let binary = std::env::var("SCIM_SERVER_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_scim-server").to_owned());
        let mut command = Command::new(binary);
        command
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                // The cycle runs far faster than Entra does; the per-tenant limit would
                // refuse most of it.
                "--rate-limit-requests",
                "0",
                "--data-dir",
            ])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        if let Ok(url) = std::env::var("DATABASE_URL") {
            command.arg("--database-url").arg(url);
        }
        let child = command.spawn().unwrap();
        let pid = child.id();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..300 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            pid,
            base,
            _dir: dir,
        }
    }

    /// Peak resident memory so far, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }

    async fn tenant(&self, http: &reqwest::Client) -> (String, String) {
        let key = std::fs::read_to_string(self._dir.path().join("operator.key")).unwrap();
        let (_, scim, token) = common::create_tenant(http, &self.base, key.trim(), "Contoso").await;
        (scim, token)
    }
}

/// The SCIM client Entra is: its headers, its bodies.
#[derive(Clone)]
struct Entra {
    http: reqwest::Client,
    scim: Arc<str>,
    token: Arc<str>,
    stats: Arc<Mutex<Stats>>,
}

#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

impl Entra {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.scim))
            .bearer_auth(&*self.token)
            .header("Accept", "application/scim+json");
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/scim+json; charset=utf-8")
                .body(body.to_string());
        }
        let started = Instant::now();
        let outcome = request.send().await;
        let (ok, value, detail) = match outcome {
            Ok(resp) => {
                let status = resp.status();
                let bytes = resp.bytes().await.unwrap_or_default();
                let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                (
                    status.is_success(),
                    value,
                    format!(
                        "{method} {path}: {status} {}",
                        String::from_utf8_lossy(&bytes)
                    ),
                )
            }
            Err(err) => (false, Value::Null, format!("{method} {path}: {err}")),
        };
        let mut stats = self.stats.lock().unwrap();
        stats.latencies.push(started.elapsed());
        if !ok {
            stats.errors += 1;
            stats.first_error.get_or_insert(detail);
        }
        value
    }

    fn quoted(value: &str) -> String {
        // Entra form-encodes the filter: spaces as '+', quotes as %22.
        format!("%22{}%22", value.replace('@', "%40"))
    }
}

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs `tasks` with `in_flight` of them at a time, in order, and prints the phase.
async fn phase(name: &str, entra: &Entra, server: &Server, in_flight: usize, tasks: Vec<Task>) {
    *entra.stats.lock().unwrap() = Stats::default();
    let queue = Arc::new(Mutex::new(VecDeque::from(tasks)));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move {
                loop {
                    let next = queue.lock().unwrap().pop_front();
                    let Some(task) = next else { break };
                    task.await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    let mut stats = entra.stats.lock().unwrap();
    stats.latencies.sort();
    let n = stats.latencies.len().max(1);
    let pct = |p: f64| {
        stats
            .latencies
            .get(((n as f64 * p) as usize).min(n - 1))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "{name:<38} {:>7.2} s {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>7.2} ms   {:>6} requests   {} errors   peak RSS {:.0} MiB",
        elapsed.as_secs_f64(),
        stats.latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        stats.latencies.len(),
        stats.errors,
        server.peak_rss_mib(),
    );
    if let Some(first) = &stats.first_error {
        println!("    first error: {first}");
    }
}

fn user_body(n: usize) -> Value {
    let user_name = format!("user{n}@contoso.example");
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": format!("{:08x}-0000-4000-8000-{n:012x}", n),
        "userName": user_name,
        "active": "True",
        "displayName": format!("User {n}"),
        "name": { "givenName": "User", "familyName": format!("{n}"), "formatted": format!("User {n}") },
        "emails": [{ "primary": true, "type": "work", "value": user_name }],
        "title": "Engineer",
        "roles": [],
        "meta": { "resourceType": "User" },
        ENTERPRISE: { "department": "R&D", "employeeNumber": format!("{n}") },
    })
}

#[tokio::main]
async fn main() {
    let users = setting("ENTRA_USERS", 10_000);
    let groups = setting("ENTRA_GROUPS", 1_000);
    let in_flight = setting("ENTRA_IN_FLIGHT", 8);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(in_flight * 2)
        .build()
        .unwrap();
    let server = Server::start(&http).await;
    let (scim, token) = server.tenant(&http).await;
    let entra = Entra {
        http,
        scim: scim.into(),
        token: token.into(),
        stats: Arc::default(),
    };
    println!(
        "# Entra cycle: {users} users, {groups} groups x {MEMBERS_PER_GROUP} members, {in_flight} requests in flight, {}",
        if std::env::var("DATABASE_URL").is_ok() {
            "PostgreSQL"
        } else {
            "embedded SQLite"
        }
    );
    let user_ids: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec![String::new(); users]));
    let group_ids: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec![String::new(); groups]));

    // The same build runs about twice as fast on some days as on others here: this line
    // says how fast the machine is today, so that figures of two days can be compared.
    let tasks = (0..REFERENCE_REQUESTS)
        .map(|_| {
            let entra = entra.clone();
            Box::pin(async move {
                entra
                    .send(reqwest::Method::GET, "/ServiceProviderConfig", None)
                    .await;
            }) as Task
        })
        .collect();
    phase(
        "reference: GET /ServiceProviderConfig",
        &entra,
        &server,
        in_flight,
        tasks,
    )
    .await;

    let cycle = Instant::now();

    // Users: an existence check by the matching attribute, then the create.
    let tasks = (0..users)
        .map(|n| {
            let (entra, ids) = (entra.clone(), Arc::clone(&user_ids));
            Box::pin(async move {
                let name = format!("user{n}@contoso.example");
                entra
                    .send(
                        reqwest::Method::GET,
                        &format!("/Users?filter=userName+eq+{}", Entra::quoted(&name)),
                        None,
                    )
                    .await;
                let created = entra
                    .send(reqwest::Method::POST, "/Users", Some(user_body(n)))
                    .await;
                ids.lock().unwrap()[n] = created["id"].as_str().unwrap_or_default().to_owned();
            }) as Task
        })
        .collect();
    phase(
        "initial: users (filter + POST)",
        &entra,
        &server,
        in_flight,
        tasks,
    )
    .await;

    // Groups: an existence check without members, the create without members.
    let tasks = (0..groups)
        .map(|g| {
            let (entra, ids) = (entra.clone(), Arc::clone(&group_ids));
            Box::pin(async move {
                let name = format!("Group {g}");
                entra
                    .send(
                        reqwest::Method::GET,
                        &format!(
                            "/Groups?excludedAttributes=members&filter=displayName+eq+{}",
                            Entra::quoted(&name).replace(' ', "+")
                        ),
                        None,
                    )
                    .await;
                let body = json!({
                    "schemas": [GROUP_SCHEMA, ADSCIM_GROUP],
                    "externalId": format!("group-{g}"),
                    "displayName": name,
                    "members": [],
                });
                let created = entra
                    .send(reqwest::Method::POST, "/Groups", Some(body))
                    .await;
                ids.lock().unwrap()[g] = created["id"].as_str().unwrap_or_default().to_owned();
            }) as Task
        })
        .collect();
    phase(
        "initial: groups (filter + POST)",
        &entra,
        &server,
        in_flight,
        tasks,
    )
    .await;

    // Members: each group's ten PATCHes queued together, so they run concurrently.
    let user_list = user_ids.lock().unwrap().clone();
    let group_list = group_ids.lock().unwrap().clone();
    let mut tasks: Vec<Task> = Vec::new();
    for (g, group) in group_list.iter().enumerate() {
        for chunk in 0..MEMBERS_PER_GROUP / MEMBERS_PER_PATCH {
            let members: Vec<Value> = (0..MEMBERS_PER_PATCH)
                .map(|m| {
                    let index = (g * MEMBERS_PER_GROUP + chunk * MEMBERS_PER_PATCH + m) % users;
                    json!({ "value": user_list[index], "$ref": null })
                })
                .collect();
            let body = json!({
                "schemas": [PATCH_OP],
                "Operations": [{ "op": "Add", "path": "members", "value": members }],
            });
            let (entra, path) = (entra.clone(), format!("/Groups/{group}"));
            tasks.push(Box::pin(async move {
                entra.send(reqwest::Method::PATCH, &path, Some(body)).await;
            }));
        }
    }
    phase(
        "initial: members (PATCH Add x10)",
        &entra,
        &server,
        in_flight,
        tasks,
    )
    .await;
    println!(
        "{:<38} {:>7.2} s",
        "initial cycle",
        cycle.elapsed().as_secs_f64()
    );

    // Incremental: every user checked again, a tenth updated (Entra's path-less Replace),
    // a fiftieth deactivated, a tenth of the groups losing five members.
    let incremental = Instant::now();
    let tasks = (0..users)
        .map(|n| {
            let entra = entra.clone();
            let id = user_list[n].clone();
            Box::pin(async move {
                let name = format!("user{n}@contoso.example");
                entra
                    .send(
                        reqwest::Method::GET,
                        &format!("/Users?filter=userName+eq+{}", Entra::quoted(&name)),
                        None,
                    )
                    .await;
                let operations = if n % 50 == 0 {
                    json!([{ "op": "Replace", "path": "active", "value": "False" }])
                } else if n % 10 == 0 {
                    json!([{ "op": "Replace", "value": {
                        "title": "Senior Engineer",
                        "name.familyName": format!("{n}-renamed"),
                        "emails[type eq \"work\"].value": format!("user{n}@fabrikam.example"),
                        format!("{ENTERPRISE}:department"): "Platform",
                    } }])
                } else {
                    return;
                };
                entra
                    .send(
                        reqwest::Method::PATCH,
                        &format!("/Users/{id}"),
                        Some(json!({ "schemas": [PATCH_OP], "Operations": operations })),
                    )
                    .await;
            }) as Task
        })
        .collect();
    phase(
        "incremental: users (filter + PATCH)",
        &entra,
        &server,
        in_flight,
        tasks,
    )
    .await;
    let tasks = group_list
        .iter()
        .enumerate()
        .filter(|(g, _)| g % 10 == 0)
        .map(|(g, group)| {
            let members: Vec<Value> = (0..5)
                .map(|m| json!({ "value": user_list[(g * MEMBERS_PER_GROUP + m) % users] }))
                .collect();
            let body = json!({
                "schemas": [PATCH_OP],
                "Operations": [{ "op": "Remove", "path": "members", "value": members }],
            });
            let (entra, path) = (entra.clone(), format!("/Groups/{group}"));
            Box::pin(async move {
                entra.send(reqwest::Method::PATCH, &path, Some(body)).await;
            }) as Task
        })
        .collect();
    phase(
        "incremental: groups (PATCH Remove)",
        &entra,
        &server,
        in_flight,
        tasks,
    )
    .await;
    println!(
        "{:<38} {:>7.2} s",
        "incremental cycle",
        incremental.elapsed().as_secs_f64()
    );
    println!("{:<38} {:.0} MiB", "server peak RSS", server.peak_rss_mib());
}
