//! What the provisioning log costs: SCIM creates and member adds with recording off and on
//! in one run; reads with a queue too small for them (entries dropped, SCIM latency
//! unchanged); and the size of an entry on disk. Run: `cargo bench -p server --bench activity`.

#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use server::config::Settings;

const CONCURRENCY: usize = 16;
const RUN_FOR: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() {
    let mut figures = Vec::new();
    for recording in [false, true] {
        let settings = unlimited(server::config::ActivitySettings {
            enabled: recording,
            ..Default::default()
        });
        figures.push(writes(recording, settings).await);
    }
    let [off, on] = [figures[0], figures[1]];
    println!(
        "recording on costs: creates {:+.1}%, member adds {:+.1}%",
        (on.0 / off.0 - 1.0) * 100.0,
        (on.1 / off.1 - 1.0) * 100.0
    );
    flooded().await;
}

/// Settings without the per-tenant user limit, which a bench passes in seconds.
fn unlimited(activity: server::config::ActivitySettings) -> Settings {
    let mut settings = Settings {
        activity,
        ..Settings::default()
    };
    settings.storage.limits.users = u64::MAX;
    settings
}

/// Creates (POST /Users, Entra's body) then member adds (PATCH, one member each).
async fn writes(recording: bool, settings: Settings) -> (f64, f64) {
    let server = common::start(settings).await;
    let (tenant, scim, token) = server.tenant("Bench").await;
    let label = if recording { "on" } else { "off" };
    let http = server.http.clone();
    let users = Arc::new(format!("{scim}/Users"));
    let (auth, url) = (token.clone(), Arc::clone(&users));
    let creates = common::load(
        &format!("POST /Users, log {label}"),
        CONCURRENCY,
        RUN_FOR,
        move |worker, n| {
            let (http, url, token) = (http.clone(), Arc::clone(&url), auth.clone());
            async move {
                http.post(url.as_str())
                    .bearer_auth(token)
                    .header("Content-Type", "application/scim+json")
                    .body(entra_user(&format!("w{worker}n{n}@contoso.com")).to_string())
                    .send()
                    .await
                    .unwrap()
            }
        },
    )
    .await;
    let members = Arc::new(common::seed_users(&server.state.db, &tenant, "m", 100_000).await);
    let group = common::seed_group(&server.state.db, &tenant, "Sales", &[]).await;
    let url = Arc::new(format!("{scim}/Groups/{group}"));
    let next = Arc::new(AtomicUsize::new(0));
    let http = server.http.clone();
    let adds = common::load(
        &format!("PATCH /Groups add 1 member, log {label}"),
        CONCURRENCY,
        RUN_FOR,
        move |_, _| {
            let (http, url, token) = (http.clone(), Arc::clone(&url), token.clone());
            let member = members[next.fetch_add(1, Ordering::Relaxed) % members.len()].clone();
            async move {
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{ "op": "Add", "path": "members", "value": [{ "value": member }] }]
                });
                http.patch(url.as_str())
                    .bearer_auth(token)
                    .header("Content-Type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap()
            }
        },
    )
    .await;
    if recording {
        server.state.activity.close().await;
        entry_size(&server).await;
    }
    (creates, adds)
}

fn entra_user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": name, "userName": name, "active": true, "displayName": "Bench User",
        "emails": [{ "primary": true, "type": "work", "value": name }],
        "name": { "formatted": "Bench User", "familyName": "User", "givenName": "Bench" },
        "title": "Engineer",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "R&D" }
    })
}

/// Bytes the log's table and indexes take per entry (SQLite's `dbstat`).
async fn entry_size(server: &common::Running) {
    let db = server.state.db.reads();
    let one = |sql: &str| Statement::from_string(db.get_database_backend(), sql.to_owned());
    let entries: i64 = db
        .query_one_raw(one("SELECT COUNT(*) AS n FROM activity_entry"))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap();
    let stored = db
        .query_one_raw(one(
            "SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name LIKE '%activity_entry%'",
        ))
        .await;
    match stored {
        Ok(Some(row)) => {
            let bytes: i64 = row.try_get("", "bytes").unwrap();
            println!(
                "log size: {entries} entries, {:.1} MiB with indexes, {} bytes per entry",
                bytes as f64 / 1048576.0,
                bytes / entries.max(1)
            );
        }
        _ => println!("log size: {entries} entries (dbstat unavailable)"),
    }
}

/// GETs, the fastest requests, with a queue of 64 entries: the log drops what it cannot
/// take and the requests do not wait for it.
async fn flooded() {
    for queue in [10_000, 64] {
        let settings = unlimited(server::config::ActivitySettings {
            queue_capacity: queue,
            ..Default::default()
        });
        let server = common::start(settings).await;
        let (tenant, scim, token) = server.tenant("Bench").await;
        let id = common::seed_users(&server.state.db, &tenant, "g", 1).await[0].clone();
        let url = Arc::new(format!("{scim}/Users/{id}"));
        let http = server.http.clone();
        common::load(
            &format!("GET /Users/{{id}}, log queue {queue}"),
            CONCURRENCY,
            RUN_FOR,
            move |_, _| {
                let (http, url, token) = (http.clone(), Arc::clone(&url), token.clone());
                async move {
                    http.get(url.as_str())
                        .bearer_auth(token)
                        .send()
                        .await
                        .unwrap()
                }
            },
        )
        .await;
        println!("  entries dropped: {}", server.state.activity.dropped());
    }
}
