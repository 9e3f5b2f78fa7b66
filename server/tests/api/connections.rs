//! What a connection may cost the server: the real binary with small timeouts and a small
//! connection cap, driven by raw TCP clients that stall the way a slowloris attack does.
//! No assertion on wall-clock time beyond "closed before the test's own deadline".

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{Instant, timeout},
};

use crate::process::{ServerProcess, operator_key, scrape_metrics};

/// Far beyond every timeout configured here: a test fails rather than hangs.
const PATIENCE: Duration = Duration::from_secs(20);

async fn connect(server: &ServerProcess) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// A connection whose receive buffer is small, so that what it does not read soon backs
/// up to the server.
async fn connect_with_small_buffer(server: &ServerProcess) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .connect(server.base.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap()
}

/// Reads until the server closes the connection; what it sent before closing.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

/// Reads one response whose head says `Content-Length`, leaving the connection open.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        line.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|n| n.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if received.len() >= end + 4 + length {
                    return text;
                }
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed mid-response: {text}");
            received.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("a response in time")
}

fn body_of(response: &str) -> Value {
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {response}"))
}

#[tokio::test]
async fn a_request_head_sent_slowly_is_cut_off_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::start_with(dir.path(), None, &["--header-read-timeout-secs", "1"]).await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(&server).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    // One more byte now and then does not buy more time: the head has a deadline.
    for stream in &mut slow {
        stream.write_all(b"a").await.unwrap();
    }
    for stream in &mut slow {
        let answer = read_until_closed(stream).await;
        assert!(!answer.contains("200 OK"), "{answer}");
    }
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(dir.path(), None, &["--idle-timeout-secs", "1"]).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_response(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Watching the answer still lets hyper announce its length.
    assert!(answer.contains("content-length: "), "{answer}");
    assert_eq!(read_until_closed(&mut stream).await, "");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_on_both_apis() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::start_with(dir.path(), None, &["--body-read-timeout-secs", "1"]).await;
    let (tenant, token) = server.tenant(dir.path(), "Acme").await;
    let key = operator_key(dir.path());
    let requests = [
        format!(
            "POST /admin/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":"
        ),
        format!(
            "POST /scim/{tenant}/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"userName\":"
        ),
    ];
    let mut answers = Vec::new();
    for request in requests {
        let mut stream = connect(&server).await;
        stream.write_all(request.as_bytes()).await.unwrap();
        answers.push(read_response(&mut stream).await);
    }
    assert!(answers[0].starts_with("HTTP/1.1 408"), "{}", answers[0]);
    assert_eq!(body_of(&answers[0])["code"], "request_timeout");
    assert!(answers[1].starts_with("HTTP/1.1 408"), "{}", answers[1]);
    let scim = body_of(&answers[1]);
    assert_eq!(scim["status"], "408");
    assert!(scim.get("scimType").is_none(), "{scim}");
    // Nothing was half-written.
    assert!(server.user_names(&tenant, &token).await.is_empty());
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(
        dir.path(),
        None,
        &["--max-connections", "2", "--header-read-timeout-secs", "1"],
    )
    .await;
    // The readiness probe's pooled connection may hold a slot too: then one stall waits
    // in the backlog as well, and is cut off once it has a slot, before the third is
    // served.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&server).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        stalled.push(stream);
    }
    let waiting = {
        let mut stream = connect(&server).await;
        tokio::spawn(async move {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let answer = read_response(&mut stream).await;
            (answer, Instant::now())
        })
    };
    let mut closed_at = Vec::new();
    for stream in &mut stalled {
        read_until_closed(stream).await;
        closed_at.push(Instant::now());
    }
    let (answer, answered_at) = waiting.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        closed_at.iter().any(|closed| *closed <= answered_at),
        "the third connection was served while both slots were held"
    );
}

#[tokio::test]
async fn an_oversized_request_head_is_answered_431() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), None).await;
    let mut stream = connect(&server).await;
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(head.as_bytes()).await;
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let resp = server
        .http
        .get(format!("{}/healthz", server.base))
        .header("X-Fine", "a".repeat(4_000))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
}

/// A client that asks and never reads the answer: once the answer has stalled for the
/// idle timeout the connection is closed, rather than holding its slot and the answer for
/// ever. 40 pipelined copies of the spec (17 MB) outgrow every socket buffer between them.
/// (hyper takes each whole body before writing it, so this stall is timed as idle; a
/// stream that never ends is timed by its last byte in or out.)
#[tokio::test]
async fn an_answer_nobody_reads_does_not_hold_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(dir.path(), None, &["--idle-timeout-secs", "1"]).await;
    let spec_len = server
        .http
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    let mut stream = connect_with_small_buffer(&server).await;
    let requests = "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(40);
    stream.write_all(requests.as_bytes()).await.unwrap();
    // Long enough for the stall to outlast the idle timeout.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = read_until_closed(&mut stream).await;
    assert!(
        received.len() < 40 * spec_len,
        "all {} bytes were sent: the stalled connection was kept",
        received.len()
    );
}

/// A live stream never ends, so only the bytes that move can say whether its client is
/// still there. Two operators follow the log while a tenant keeps writing: the one who
/// reads keeps its stream past the idle timeout, the one who stopped reading loses it once
/// every buffer between them is full (hyper's, about 400 KB, and the sockets') and nothing
/// moved for the idle timeout. Each entry carries a 16 KB user agent, so the stream
/// outgrows those buffers within seconds.
#[tokio::test]
async fn a_stream_nobody_reads_does_not_hold_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(
        dir.path(),
        None,
        &["--idle-timeout-secs", "2", "--rate-limit-requests", "0"],
    )
    .await;
    let (tenant, token) = server.tenant(dir.path(), "Acme").await;
    let key = operator_key(dir.path());
    let follow = format!(
        "GET /admin/v1/activity/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
    );
    let open_stream = || async {
        let mut stream = connect_with_small_buffer(&server).await;
        stream.write_all(follow.as_bytes()).await.unwrap();
        stream
    };
    let mut reader = open_stream().await;
    let mut unread = open_stream().await;

    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (http, url, token, writing) = (
            server.http.clone(),
            server.scim_url(&tenant, "/Users"),
            token.clone(),
            Arc::clone(&writing),
        );
        tokio::spawn(async move {
            let user_agent = "x".repeat(16 * 1024);
            let mut n = 0;
            while writing.load(Ordering::SeqCst) {
                n += 1;
                let resp = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("Content-Type", "application/scim+json")
                    .header("User-Agent", &user_agent)
                    .body(json!({ "userName": format!("user{n}@example.com") }).to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201);
            }
            n
        })
    };
    let read = tokio::spawn(async move {
        let mut received = 0_usize;
        let mut buf = [0u8; 4096];
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            match timeout(Duration::from_secs(1), reader.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return (received, false),
                Ok(Ok(n)) => received += n,
                Err(_) => {}
            }
        }
        (received, true)
    });
    // Long enough to fill the buffers and then stall past the idle timeout, with room for a
    // slow machine.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let unread = read_until_closed(&mut unread).await;
    let (read, still_open) = read.await.unwrap();
    writing.store(false, Ordering::SeqCst);
    let written = writer.await.unwrap();
    assert!(
        still_open,
        "the stream that was read was closed after {read} bytes ({written} users written)"
    );
    assert!(
        unread.len() < read,
        "the unread stream got {} bytes, no fewer than the read one ({read})",
        unread.len()
    );
}

/// A client that gives up on a slow search takes its query with it: the server stops
/// waiting for the answer, and PostgreSQL stops computing it, rather than both going on
/// until the statement timeout while a pool connection is held. The search is made slow
/// by a lock the test holds on the users' table, far longer than the test waits.
#[tokio::test]
async fn a_query_whose_client_went_away_is_cancelled_postgres() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let Some(url) = crate::helpers::fresh_postgres_schema().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::start_with(dir.path(), Some(&url), &["--statement-timeout-secs", "600"])
            .await;
    let (tenant, token) = server.tenant(dir.path(), "Acme").await;
    assert_eq!(
        server
            .create_user(&tenant, &token, "ada@acme.test")
            .await
            .status(),
        201
    );
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let waiting = || {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT count(*) FROM pg_locks \
                     WHERE relation = 'scim_user'::regclass AND NOT granted"
                        .to_owned(),
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    let lock = db.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE scim_user IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let mut client = connect(&server).await;
    let request = format!(
        "GET /scim/{tenant}/v2/Users?filter=userName%20sw%20%22ada%22 HTTP/1.1\r\n\
         Host: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    client.write_all(request.as_bytes()).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    while waiting().await == 0 {
        assert!(
            Instant::now() < deadline,
            "the search never reached the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(client);
    let deadline = Instant::now() + PATIENCE;
    while waiting().await > 0 {
        assert!(
            Instant::now() < deadline,
            "the query of a client that went away still waits for the lock"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lock.rollback().await.unwrap();
    let metrics = scrape_metrics(&server.http, &server.base, dir.path()).await;
    assert!(
        metrics
            .lines()
            .any(|line| line == "scim_reads_abandoned_total 1"),
        "{metrics}"
    );

    let users: Value = server
        .http
        .get(server.scim_url(&tenant, "/Users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["totalResults"], 1, "{users}");
}
