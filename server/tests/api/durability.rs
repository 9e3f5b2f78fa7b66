//! A 2xx is a promise: the real binary under write load, killed with SIGKILL or starved of
//! disk space, never loses a write it acknowledged.

use std::{
    path::Path,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    helpers::fresh_postgres_schema,
    process::{Immutable, ServerProcess},
};

const WRITERS: usize = 8;

/// POSTs users named `<prefix>-<writer>-<n>` from `WRITERS` clients until `stop` says so;
/// returns the userNames answered 201 and how many answers were 503.
async fn write_load(
    server: &ServerProcess,
    tenant: &str,
    token: &str,
    prefix: &str,
    padding: usize,
    stop: impl Fn(usize) -> bool + Send + Sync + 'static,
) -> (Vec<String>, usize) {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(0usize));
    let stop = Arc::new(stop);
    let clients: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (http, url, token) = (
                server.http.clone(),
                server.scim_url(tenant, "/Users"),
                token.to_owned(),
            );
            let (acknowledged, refused, stop) = (
                Arc::clone(&acknowledged),
                Arc::clone(&refused),
                Arc::clone(&stop),
            );
            let prefix = prefix.to_owned();
            tokio::spawn(async move {
                for n in 0.. {
                    if stop(*refused.lock().unwrap()) {
                        break;
                    }
                    let name = format!("{prefix}-{writer}-{n}@example.com");
                    let body = json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": name,
                        "title": "x".repeat(padding),
                    });
                    let Ok(resp) = http
                        .post(&url)
                        .bearer_auth(&token)
                        .header("Content-Type", "application/scim+json")
                        .body(body.to_string())
                        .send()
                        .await
                    else {
                        // The server died mid-request: no answer, no promise.
                        break;
                    };
                    match resp.status().as_u16() {
                        201 => acknowledged.lock().unwrap().push(name),
                        503 => {
                            assert!(resp.headers().contains_key("retry-after"));
                            *refused.lock().unwrap() += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        status => panic!("POST /Users answered {status}"),
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let refused = *refused.lock().unwrap();
    (acknowledged, refused)
}

fn assert_all_present(acknowledged: &[String], stored: &[String]) {
    let stored: std::collections::HashSet<&String> = stored.iter().collect();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|name| !stored.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged creates are missing, e.g. {:?}",
        missing.len(),
        acknowledged.len(),
        missing.first()
    );
}

/// Runs `write_load` on `server`, `strike`s 1.5 s in, while the writers are mid-flight, and
/// lets the load run on until the server stops answering or answers 503 over and over;
/// then kills the server. Returns the userNames acknowledged.
async fn struck_under_load(
    server: ServerProcess,
    tenant: &str,
    token: &str,
    prefix: &str,
    strike: impl FnOnce() + Send + 'static,
) -> Vec<String> {
    let striker = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        strike();
    });
    let started = Instant::now();
    let (acknowledged, _) = write_load(&server, tenant, token, prefix, 0, move |refused| {
        refused >= 50 || started.elapsed() > Duration::from_secs(20)
    })
    .await;
    striker.await.unwrap();
    server.kill();
    assert!(
        acknowledged.len() > 50,
        "the load ran ({} acknowledged)",
        acknowledged.len()
    );
    acknowledged
}

async fn killed_under_load(data_dir: &Path, database_url: Option<&str>) {
    let server = ServerProcess::start(data_dir, database_url).await;
    let (tenant, token) = server.tenant(data_dir, "Acme").await;
    let pid = server.pid();
    let acknowledged = struck_under_load(server, &tenant, &token, "k", move || {
        Command::new("kill")
            .arg("-9")
            .arg(pid.to_string())
            .status()
            .unwrap();
    })
    .await;
    let restarted = ServerProcess::start(data_dir, database_url).await;
    let stored = restarted.user_names(&tenant, &token).await;
    assert_all_present(&acknowledged, &stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_write_load_loses_no_acknowledged_write_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    killed_under_load(dir.path(), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_write_load_loses_no_acknowledged_write_postgres() {
    let Some(url) = fresh_postgres_schema().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    killed_under_load(dir.path(), Some(&url)).await;
}

/// Says why a test that needs root could not run, and stops it; fails it instead where
/// `SCIM_TEST_REQUIRE_MOUNTS` is set (CI sets it), so that there a test skipped for want of
/// a mount cannot pass for one that ran.
fn cannot_run(why: &str) {
    assert!(
        std::env::var_os("SCIM_TEST_REQUIRE_MOUNTS").is_none(),
        "{why}, and SCIM_TEST_REQUIRE_MOUNTS asks for it"
    );
    eprintln!("{why}");
}

/// A small tmpfs as the data directory (mounting needs root; CI runs as root). Without
/// the privilege the test says so and stops (`cannot_run`): the injected commit failures
/// in `writes.rs` cover the same code path everywhere.
struct SmallFilesystem {
    dir: tempfile::TempDir,
}

impl SmallFilesystem {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            cannot_run("cannot mount a tmpfs here (not root?): the full-disk test did not run");
            return None;
        }
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallFilesystem {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_503_and_loses_nothing_acknowledged() {
    let Some(fs) = SmallFilesystem::mount("6m") else {
        return;
    };
    let data = fs.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let server = ServerProcess::start(&data, None).await;
    let (tenant, token) = server.tenant(&data, "Acme").await;
    // Room to give back later, so writes can resume.
    let ballast = fs.path().join("ballast");
    std::fs::write(&ballast, vec![0u8; 1024 * 1024]).unwrap();
    let started = Instant::now();
    let (acknowledged, refused) = write_load(&server, &tenant, &token, "f", 1500, move |refused| {
        refused >= 200 || started.elapsed() > Duration::from_secs(60)
    })
    .await;
    assert!(
        refused > 0,
        "the disk filled up ({} writes acknowledged)",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty());

    // Every acknowledged write is readable now ...
    let stored = server.user_names(&tenant, &token).await;
    assert_all_present(&acknowledged, &stored);
    // Readiness probes with a write of its own: it says why while writes fail (the WAL may
    // also have found room again after a checkpoint, then it is ready).
    match server.readiness().await {
        (503, reason) => assert!(reason.is_some_and(|r| !r.is_empty())),
        (status, _) => assert_eq!(status, 200),
    }

    // ... writes come back by themselves once there is room again ...
    std::fs::remove_file(&ballast).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let resumed = loop {
        let resp = server
            .create_user(&tenant, &token, "after-space-returned@example.com")
            .await;
        if resp.status().as_u16() == 201 {
            break true;
        }
        assert_eq!(resp.status().as_u16(), 503);
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(resumed, "writes resume once space is back");
    assert_eq!(server.readiness().await.0, 200);

    // ... and everything acknowledged survives a SIGKILL and a restart.
    server.kill();
    let restarted = ServerProcess::start(&data, None).await;
    let mut stored = restarted.user_names(&tenant, &token).await;
    assert_all_present(&acknowledged, &stored);
    stored.retain(|name| name == "after-space-returned@example.com");
    assert_eq!(stored.len(), 1);
}

/// A database that stops taking writes while the server runs makes the server not ready,
/// with the reason, and every write a 503 with `Retry-After` that stores nothing; reads go
/// on. Once the database takes writes again, so does the server, by itself. `stop` and
/// `resume` (run in that order) take the writes away and give them back. Returns how many
/// writes were answered 503 until readiness said so (the last one included).
async fn writes_stop_and_resume(
    server: &ServerProcess,
    tenant: &str,
    token: &str,
    stop: impl std::future::Future<Output = ()>,
    resume: impl std::future::Future<Output = ()>,
) -> usize {
    assert_eq!(server.readiness().await.0, 200);
    let created = server.create_user(tenant, token, "before").await;
    assert_eq!(created.status().as_u16(), 201);

    stop.await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut attempt = 0;
    let reason = loop {
        attempt += 1;
        let (ready, reason) = server.readiness().await;
        let created = server
            .create_user(tenant, token, &format!("during-{attempt}"))
            .await;
        let status = created.status().as_u16();
        assert_eq!(
            status, 503,
            "a write that cannot be stored answered {status}"
        );
        assert!(created.headers().contains_key("retry-after"));
        let body: Value = created.json().await.unwrap();
        assert_eq!(body["status"], "503", "{body}");
        if ready == 503 {
            break reason;
        }
        assert_eq!(ready, 200);
        assert!(
            Instant::now() < deadline,
            "readiness never reported the failing writes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        reason.is_some_and(|r| r.contains("write")),
        "a reason is given"
    );
    assert_eq!(server.user_names(tenant, token).await, ["before"]);

    resume.await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let created = server.create_user(tenant, token, "after").await;
        if created.status().as_u16() == 201 {
            break;
        }
        assert_eq!(created.status().as_u16(), 503);
        assert!(Instant::now() < deadline, "writes never resumed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(server.readiness().await.0, 200);
    let mut stored = server.user_names(tenant, token).await;
    stored.sort();
    assert_eq!(stored, ["after", "before"]);
    attempt
}

/// SQLite: the database files turn immutable under the running server (every write fails
/// with an I/O error, as on a failing disk).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_stops_taking_writes_makes_the_server_not_ready_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = ServerProcess::start(data, None).await;
    let (tenant, token) = server.tenant(data, "Acme").await;
    let files = [data.join("scim.db"), data.join("scim.db-wal")];
    let guard = Mutex::new(None);
    writes_stop_and_resume(
        &server,
        &tenant,
        &token,
        async {
            *guard.lock().unwrap() = Some(Immutable::set(&files));
        },
        async {
            guard.lock().unwrap().take();
        },
    )
    .await;
}

/// PostgreSQL: the server's role turns read-only (as when a failover leaves it talking to
/// a standby) and its sessions are ended, so the pool reconnects into read-only sessions.
/// Creating the role and ending its sessions needs a superuser, and the new role logs in
/// without a password: CI's PostgreSQL trusts loopback connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_stops_taking_writes_makes_the_server_not_ready_postgres() {
    use sea_orm::ConnectionTrait;

    let Some(url) = fresh_postgres_schema().await else {
        return;
    };
    let admin = sea_orm::Database::connect(&url).await.unwrap();
    let run = |sql: String| {
        let admin = admin.clone();
        async move {
            admin.execute_unprepared(&sql).await.unwrap();
        }
    };
    // Roles are the cluster's: ones that a failed run left behind go after an hour.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let roles = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'scimtest\\_role\\_%'".to_owned(),
        ))
        .await
        .unwrap();
    for name in roles
        .into_iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
    {
        let born = name.split('_').nth(2).and_then(|at| at.parse::<u64>().ok());
        if born.is_some_and(|at| at + 3600 < now) {
            let _ = admin
                .execute_unprepared(&format!(
                    "DROP OWNED BY \"{name}\" CASCADE; DROP ROLE \"{name}\""
                ))
                .await;
        }
    }
    let role = format!("scimtest_role_{now}_{}", uuid::Uuid::new_v4().simple());
    let schema = url.rsplit("search_path%3D").next().unwrap().to_owned();
    run(format!("CREATE ROLE \"{role}\" LOGIN")).await;
    run(format!("ALTER SCHEMA \"{schema}\" OWNER TO \"{role}\"")).await;
    let mut role_url = reqwest::Url::parse(&url).unwrap();
    role_url.set_username(&role).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = ServerProcess::start(data, Some(role_url.as_str())).await;
    let (tenant, token) = server.tenant(data, "Acme").await;
    // Waits (up to 5 s each) until the sessions are gone, so no later write meets one.
    let end_sessions = format!(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = '{role}'"
    );
    let answered = writes_stop_and_resume(
        &server,
        &tenant,
        &token,
        async {
            run(format!(
                "ALTER ROLE \"{role}\" SET default_transaction_read_only = on"
            ))
            .await;
            run(end_sessions.clone()).await;
        },
        async {
            run(format!(
                "ALTER ROLE \"{role}\" RESET default_transaction_read_only"
            ))
            .await;
            run(end_sessions.clone()).await;
        },
    )
    .await;
    // PostgreSQL refuses the first write in a read-only session, and readiness hears of it
    // then, not at its next probe of a quiet database (10 s after the last write, some 20
    // attempts here). The first write may also meet a pooled session that was ended.
    assert!(
        answered <= 3,
        "{answered} writes were answered 503 until readiness said so"
    );
    server.kill();
    run(format!("DROP SCHEMA \"{schema}\" CASCADE")).await;
    run(format!("DROP ROLE \"{role}\"")).await;
}

/// A loop-mounted ext4 file system whose power can be cut (`cut_power`): shut down without
/// flushing its journal or its dirty pages (`EXT4_IOC_SHUTDOWN`, `NOLOGFLUSH`), so once
/// mounted again it holds what was synced to the loop device before the cut and nothing
/// else. (A disk's own write cache is not part of it: this shows that acknowledged writes
/// were synced, not what a disk does with a sync.) Mounting needs root (CI runs as root) and the ioctl is sent by `python3`
/// (this crate allows no `unsafe`); without either the test says so and stops (`cannot_run`).
struct PowerCut {
    image: tempfile::NamedTempFile,
    dir: tempfile::TempDir,
}

impl PowerCut {
    fn mount() -> Option<Self> {
        let image = tempfile::NamedTempFile::new().unwrap();
        image.as_file().set_len(256 * 1024 * 1024).unwrap();
        let made = Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "4096"])
            .arg(image.path())
            .status()
            .is_ok_and(|status| status.success());
        let cut = Self {
            image,
            dir: tempfile::tempdir().unwrap(),
        };
        let python = Command::new("python3")
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !(made && python && cut.mount_again()) {
            cannot_run(
                "cannot make and mount a loop file system here (not root, or no mkfs.ext4 or python3?): the power-cut test did not run",
            );
            return None;
        }
        Some(cut)
    }

    fn mount_again(&self) -> bool {
        Command::new("mount")
            .args(["-o", "loop"])
            .arg(self.image.path())
            .arg(self.dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Unmounts what the cut left and mounts it again, as after the power came back.
    fn restore(&self) {
        let unmounted = Command::new("umount").arg(self.path()).status().unwrap();
        assert!(unmounted.success(), "the file system unmounts");
        assert!(self.mount_again(), "the file system mounts again");
    }
}

/// Appends two blocks to `canary`, never synced, and at once cuts the power of the file
/// system mounted at `root`: from then on every write to it fails, and what was not synced
/// is lost. One process does both, so no write-back can come between them, and closes the
/// canary only after the cut (a close may start its write-back).
fn cut_power(root: &Path, canary: &Path) {
    // EXT4_IOC_SHUTDOWN (`_IOR('X', 125, __u32)`) with EXT4_GOING_FLAGS_NOLOGFLUSH (2).
    const SHUTDOWN: &str = "import fcntl, os, struct, sys\n\
        canary = open(sys.argv[2], 'ab', buffering=0)\n\
        canary.write(b'u' * 8192)\n\
        fd = os.open(sys.argv[1], os.O_RDONLY)\n\
        fcntl.ioctl(fd, 0x8004587D, struct.pack('I', 2))\n";
    let status = Command::new("python3")
        .args(["-c", SHUTDOWN])
        .arg(root)
        .arg(canary)
        .status()
        .unwrap();
    assert!(status.success(), "the file system shuts down");
}

impl Drop for PowerCut {
    fn drop(&mut self) {
        // Not mounted when mounting failed: nothing to say then.
        let _ = Command::new("umount")
            .arg(self.dir.path())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The machine loses power under write load: every create acknowledged before the cut is
/// there once the power is back. What a file took just before the cut, and never synced,
/// is gone: the cut loses what was not synced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_under_write_load_loses_no_acknowledged_write() {
    let Some(power) = PowerCut::mount() else {
        return;
    };
    let data = power.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let canary = power.path().join("canary");
    // Whole blocks: a write into a block already on disk goes with the next journal
    // commit (another file's sync), one into a new block (allocated on write-back) does not.
    let synced = vec![b's'; 4096];
    let file = std::fs::File::create(&canary).unwrap();
    std::io::Write::write_all(&mut &file, &synced).unwrap();
    file.sync_all().unwrap();
    drop(file);
    std::fs::File::open(power.path())
        .unwrap()
        .sync_all()
        .unwrap();
    // Pinned: the environment could ask for less.
    let durable = ["--durability", "full"];
    let server = ServerProcess::start_with(&data, None, &durable).await;
    let (tenant, token) = server.tenant(&data, "Acme").await;
    let (root, canary_path) = (power.path().to_owned(), canary.clone());
    let acknowledged = struck_under_load(server, &tenant, &token, "p", move || {
        cut_power(&root, &canary_path);
    })
    .await;
    power.restore();
    assert_eq!(
        std::fs::read(&canary).unwrap(),
        synced,
        "the cut loses what was not synced"
    );
    let restarted = ServerProcess::start_with(&data, None, &durable).await;
    let stored = restarted.user_names(&tenant, &token).await;
    assert_all_present(&acknowledged, &stored);
}
