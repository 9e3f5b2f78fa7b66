//! What the server writes to its own log: no credential (also when a client sends one in
//! the query string), no filter value, no database password, no colour codes in a file;
//! and the database it creates is readable by its owner only.

use std::{os::unix::fs::PermissionsExt, process::Command};

use crate::process::{Immutable, ServerProcess, operator_key, scrape_metrics};

#[tokio::test]
async fn the_log_keeps_out_queries_credentials_and_colours() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = ServerProcess::start_logged(data, None, &[], "info").await;
    let (tenant, token) = server.tenant(data, "Acme").await;
    let key = operator_key(data);
    // Some clients send the credential as a query parameter; a filter names a person.
    let url = format!(
        "{}?access_token={token}&filter=userName%20eq%20%22grace%40acme.test%22",
        server.scim_url(&tenant, "/Users")
    );
    let listed = server
        .http
        .get(url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let log = server.stop();
    assert!(
        log.contains(&format!("/scim/{tenant}/v2/Users")),
        "the request's path is logged: {log}"
    );
    for private in [token.as_str(), key.as_str(), "acme.test", "access_token"] {
        assert!(
            !log.contains(private),
            "{private} in the server log:\n{log}"
        );
    }
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file:\n{log}"
    );
    let mode = |name: &str| {
        std::fs::metadata(data.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("scim.db"), 0o600, "the database is its owner's only");
    if data.join("scim.db-wal").exists() {
        assert_eq!(mode("scim.db-wal"), 0o600);
    }
}

/// A standard error that stops taking lines (a full pipe, a stalled log collector) costs
/// log lines, counted, and holds up no request.
#[tokio::test]
async fn a_stderr_nobody_reads_holds_up_no_request() {
    let dir = tempfile::tempdir().unwrap();
    // Not the flag: an older build, which would refuse it, fails the test as it should.
    let server =
        ServerProcess::start_with_unread_stderr(dir.path(), &[("SCIM_LOG_BUFFER_LINES", "16")])
            .await;
    let (http, base) = (&server.http, &server.base);
    // A line per request, over 100 bytes each: several times what the pipe holds.
    for n in 0..2000 {
        let answer = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap_or_else(|err| panic!("request {n} was not answered: {err}"));
        assert!(
            answer.status().is_success(),
            "request {n}: {}",
            answer.status()
        );
    }
    let metrics = scrape_metrics(http, base, dir.path()).await;
    let dropped: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("scim_log_lines_dropped_total "))
        .expect("the counter is exported")
        .parse()
        .unwrap();
    assert!(dropped > 1000, "{dropped} lines dropped");
}

#[test]
fn a_database_url_that_fails_is_reported_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = failed_start(
        dir.path(),
        &[
            "migrate",
            "--database-url",
            "postgres://scim:hunter2pw@host:notaport/db",
        ],
    );
    assert!(stderr.contains("cannot be parsed"), "{stderr}");
    assert!(
        stderr.contains("postgres://scim:[redacted]@host"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2pw"), "{stderr}");
}

#[test]
fn an_unreachable_postgres_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stderr = failed_start(
        dir.path(),
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &format!("postgres://scim:hunter2pw@127.0.0.1:{closed_port}/db"),
        ],
    );
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains("pool timed out"), "{stderr}");
    assert!(!stderr.contains("hunter2pw"), "{stderr}");
}

/// Runs the binary with `args` over `data_dir`, expects it to fail, and returns its stderr.
fn failed_start(data_dir: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_scim-server"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A database that can be read but not written is refused at start with the reason,
/// rather than served with every write failing. The file is made immutable (`chattr +i`,
/// which binds root too, as tests run here; file modes do not).
#[tokio::test]
async fn a_database_that_takes_no_writes_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = ServerProcess::start(data, None).await;
    server.tenant(data, "Acme").await;
    server.stop();
    let file = data.join("scim.db");
    let _guard = Immutable::set(&[file]);
    let stderr = failed_start(data, &["serve", "--bind", "127.0.0.1:0"]);
    assert!(stderr.contains("does not take writes"), "{stderr}");
    assert!(stderr.contains("readonly"), "{stderr}");
}

/// The argon2 cost of new hashes comes from the flags (the bootstrap operator key is the
/// first hash written); a cost argon2 cannot run is refused at start with the reason.
#[tokio::test]
async fn argon2_costs_come_from_the_flags() {
    use sea_orm::ConnectionTrait;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = ServerProcess::start_with(
        data,
        None,
        &["--argon2-memory-kib", "8192", "--argon2-passes", "4"],
    )
    .await;
    server.tenant(data, "Acme").await;
    server.stop();
    let db = sea_orm::Database::connect(server::store::db::sqlite_url(&data.join("scim.db")))
        .await
        .unwrap();
    let hashes: Vec<String> = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT secret_hash FROM admin_key UNION ALL SELECT secret_hash FROM scim_token",
        ))
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert_eq!(hashes.len(), 2, "{hashes:?}");
    for hash in hashes {
        assert!(hash.starts_with("$argon2id$v=19$m=8192,t=4,p=1$"), "{hash}");
    }

    let other = tempfile::tempdir().unwrap();
    let stderr = failed_start(
        other.path(),
        &["serve", "--bind", "127.0.0.1:0", "--argon2-memory-kib", "1"],
    );
    assert!(stderr.contains("argon2"), "{stderr}");
}
