//! The provisioning log live, as Server-Sent Events: what was missed replayed from the
//! database after `Last-Event-ID`, then every new entry, with no gap and no duplicate;
//! across replicas and across a restart of the real binary.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use poem::{http::StatusCode, web::sse::Event};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, json_of},
    process::{ServerProcess, operator_key},
};

on_every_backend!(replays_then_follows_live, filters_apply_to_streams);

/// Every id in a tenant's log, oldest first, once it holds at least `count`.
async fn ids_in_log(app: &TestApp, tenant: &str, count: usize) -> Vec<i64> {
    for _ in 0..100 {
        let resp = app
            .admin_get(
                &app.operator_key,
                &format!("/admin/v1/tenants/{tenant}/activity?limit=1000"),
            )
            .await;
        let mut ids: Vec<i64> = json_of(resp).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect();
        if ids.len() >= count {
            ids.reverse();
            return ids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the log never held {count} entries");
}

/// The next `n` entries of a stream, as (SSE id, entry), within a few seconds.
async fn take(events: &mut (impl Stream<Item = Event> + Unpin), n: usize) -> Vec<(i64, Value)> {
    let mut taken = Vec::new();
    while taken.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("an event within 5 s")
            .expect("the stream goes on");
        if let Event::Message { id, event, data } = event {
            assert_eq!(event, "activity");
            let entry: Value = serde_json::from_str(&data).unwrap();
            let id: i64 = id.parse().unwrap();
            assert_eq!(entry["id"], json!(id), "the event id is the entry id");
            taken.push((id, entry));
        }
    }
    taken
}

async fn open(
    app: &TestApp,
    path: &str,
    last_event_id: Option<i64>,
) -> impl Stream<Item = Event> + Unpin + use<> {
    let mut request = app
        .client
        .get(path)
        .header("Authorization", format!("Bearer {}", app.operator_key));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let resp = request.send().await;
    resp.assert_status_is_ok();
    resp.sse_stream()
}

async fn replays_then_follows_live(app: TestApp) {
    let scim = app.scim("Acme").await;
    for _ in 0..3 {
        scim.get("/Users").await.assert_status_is_ok();
    }
    let before = ids_in_log(&app, &scim.tenant, 3).await;
    let path = format!("/admin/v1/tenants/{}/activity/stream", scim.tenant);

    // From the start (`lastEventId=0`): the three stored, then two made while following.
    let mut events = open(&app, &format!("{path}?lastEventId=0"), None).await;
    let replayed = take(&mut events, 3).await;
    assert_eq!(
        replayed.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        before
    );
    assert_eq!(replayed[0].1["operation"], "list");
    scim.get("/Users/nobody")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    scim.get("/Groups").await.assert_status_is_ok();
    let live = take(&mut events, 2).await;
    let all = ids_in_log(&app, &scim.tenant, 5).await;
    let streamed: Vec<i64> = replayed.iter().chain(&live).map(|(id, _)| *id).collect();
    assert_eq!(streamed, all, "every entry once, in order");
    assert_eq!(live[0].1["status"], 404);

    // A reconnect after the second entry gets the rest, the header beating the query.
    let mut resumed = open(&app, &format!("{path}?lastEventId=0"), Some(all[1])).await;
    let rest = take(&mut resumed, 3).await;
    assert_eq!(
        rest.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        all[2..].to_vec()
    );

    // Without an id, only what comes next.
    let mut fresh = open(&app, &path, None).await;
    scim.get("/ServiceProviderConfig")
        .await
        .assert_status_is_ok();
    let next = take(&mut fresh, 1).await;
    assert_eq!(next[0].1["operation"], "discovery");
    assert!(next[0].0 > *all.last().unwrap());

    // A tenant admin follows only its tenant; the operator form is for operators.
    let key = app.tenant_admin_key(&scim.tenant).await;
    app.admin_get(&key, "/admin/v1/activity/stream")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let other = app.tenant_id("Globex").await;
    app.admin_get(&key, &format!("/admin/v1/tenants/{other}/activity/stream"))
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

async fn filters_apply_to_streams(app: TestApp) {
    let scim = app.scim("Acme").await;
    let other = app.scim("Globex").await;
    let mut errors = open(
        &app,
        &format!(
            "/admin/v1/activity/stream?statusClass=4xx&tenantId={}",
            scim.tenant
        ),
        None,
    )
    .await;
    other
        .get("/Users/nobody")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    scim.get("/Users").await.assert_status_is_ok();
    scim.get("/Users/nobody")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let got = take(&mut errors, 1).await;
    assert_eq!(got[0].1["status"], 404);
    assert_eq!(got[0].1["tenantId"], json!(scim.tenant));
}

/// On PostgreSQL a stream on one replica receives what another records, woken by its
/// notice rather than by the stream's slow safety poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_replica_receives_what_another_records() {
    // A database of its own: in the shared one, another test's notice could pass for the
    // one this test waits for.
    let Some(app) = TestApp::postgres_alone().await else {
        return;
    };
    let replica = app.replica().await;
    let scim = app.scim("Acme").await;
    let mut events = open(
        &replica,
        &format!("/admin/v1/tenants/{}/activity/stream", scim.tenant),
        None,
    )
    .await;
    let woken = replica.state.feeds.activity.generation();
    scim.get("/Users").await.assert_status_is_ok();
    let got = take(&mut events, 1).await;
    assert_eq!(got[0].1["operation"], "list");
    assert!(
        replica.state.feeds.activity.generation() > woken,
        "the replica was told, not only polling"
    );
}

/// The SSE events of a real server's response, read as they arrive.
struct SseReader {
    resp: reqwest::Response,
    buffer: String,
}

impl SseReader {
    async fn open(server: &ServerProcess, key: &str, path: &str, last: Option<i64>) -> Self {
        let mut request = server
            .http
            .get(format!("{}{path}", server.base))
            .bearer_auth(key)
            .timeout(Duration::from_secs(600));
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last.to_string());
        }
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        Self {
            resp,
            buffer: String::new(),
        }
    }

    /// The id of the next event (comments skipped), or `None` when the stream ends.
    async fn next_id(&mut self) -> Option<i64> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                if let Some(id) = frame.lines().find_map(|line| line.strip_prefix("id: ")) {
                    return Some(id.parse().unwrap());
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.resp.chunk())
                .await
                .expect("the stream goes on within 10 s")
                .ok()??;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// The real binary, stopped cleanly with entries not yet streamed: after a restart, a
/// stream resumed with `Last-Event-ID` gets exactly the entries after it, those recorded
/// before the restart and those after, in order. The clean stop also ends open streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_across_a_restart_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = ServerProcess::start_with(data, None, &["--activity-log"]).await;
    let (tenant, token) = server.tenant(data, "Acme").await;
    let key = operator_key(data);
    let path = format!("/admin/v1/tenants/{tenant}/activity/stream");
    let mut stream = SseReader::open(&server, &key, &format!("{path}?lastEventId=0"), None).await;
    let get = |server: &ServerProcess| {
        server
            .http
            .get(server.scim_url(&tenant, "/Users"))
            .bearer_auth(&token)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(get(&server).await.unwrap().status(), 200);
    }
    let mut seen = vec![stream.next_id().await.unwrap()];
    for _ in 0..4 {
        assert_eq!(get(&server).await.unwrap().status(), 200);
    }
    server.stop();
    while let Some(id) = stream.next_id().await {
        seen.push(id);
    }

    let server = ServerProcess::start_with(data, None, &["--activity-log"]).await;
    for _ in 0..2 {
        assert_eq!(get(&server).await.unwrap().status(), 200);
    }
    let last_seen = *seen.last().unwrap();
    let mut resumed = SseReader::open(&server, &key, &path, Some(last_seen)).await;
    // The log is written behind the answers: read it until the last two are in.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let stored = loop {
        let listed: Value = server
            .http
            .get(format!(
                "{}/admin/v1/tenants/{tenant}/activity?limit=1000",
                server.base
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut stored: Vec<i64> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect();
        stored.reverse();
        if stored.len() >= 9 || std::time::Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(stored.len(), 9, "7 before the restart, 2 after: {stored:?}");
    while seen.len() < stored.len() {
        seen.push(resumed.next_id().await.unwrap());
    }
    assert_eq!(seen, stored, "no gap, no duplicate");
}

/// Two real server processes on one PostgreSQL database: a stream on one receives, live,
/// what the other records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_live_log() {
    let Some(url) = crate::helpers::fresh_postgres_schema().await else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = ServerProcess::start_with(dir_a.path(), Some(&url), &[]).await;
    let b = ServerProcess::start_with(dir_b.path(), Some(&url), &[]).await;
    let (tenant, token) = a.tenant(dir_a.path(), "Acme").await;
    let key = operator_key(dir_a.path());
    let path = format!("/admin/v1/tenants/{tenant}/activity/stream");
    let mut on_b = SseReader::open(&b, &key, &path, None).await;
    for _ in 0..3 {
        let resp = a
            .http
            .get(a.scim_url(&tenant, "/Users"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(on_b.next_id().await.unwrap());
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

/// Secrets sent in a header or a body stay out of the server's own log, at debug level too
/// (the store and the API are checked in `activity.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_the_server_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = ServerProcess::start_logged(data, None, &[], "debug").await;
    let (tenant, token) = server.tenant(data, "Acme").await;
    let key = operator_key(data);
    let password = "hunter2-Secret";
    let created = server
        .http
        .post(server.scim_url(&tenant, "/Users"))
        .bearer_auth(&token)
        .header("Content-Type", "application/scim+json")
        .body(json!({ "userName": "ada@acme.test", "password": password }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let wrong = "scim_0000_not-a-real-token-at-all";
    let denied = server
        .http
        .get(server.scim_url(&tenant, "/Users"))
        .bearer_auth(wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    let log = server.stop();
    assert!(log.contains("/Users"), "the requests were logged: {log}");
    for secret in [token.as_str(), key.as_str(), password, wrong] {
        assert!(!log.contains(secret), "{secret} in the server log");
    }
}
