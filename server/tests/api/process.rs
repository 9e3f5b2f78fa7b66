//! The real `scim-server` binary as a child process: started on a free port over a data
//! directory or a PostgreSQL URL, driven over HTTP, killed with SIGKILL.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
    /// Where the server's log goes (`RUST_LOG` as `start_logged` was given, else `warn`).
    log: tempfile::NamedTempFile,
}

/// The binary under test; `SCIM_TEST_SERVER_BIN` points the same tests at another build
/// (to compare with an older release).
fn binary() -> PathBuf {
    std::env::var_os("SCIM_TEST_SERVER_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_scim-server")),
        PathBuf::from,
    )
}

/// The bootstrap operator key a server wrote into `data_dir` on its first start.
pub fn operator_key(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("operator.key"))
        .unwrap()
        .trim()
        .to_owned()
}

/// The server's metrics at `base`, read with the bootstrap operator key from `data_dir`.
pub async fn scrape_metrics(http: &reqwest::Client, base: &str, data_dir: &Path) -> String {
    http.get(format!("{base}/admin/v1/metrics"))
        .bearer_auth(operator_key(data_dir))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `scim-server serve` on `port` over `data_dir` (and `database_url` when given), logging
/// at `level`, with `args` after.
fn serve_command(
    port: u16,
    data_dir: &Path,
    database_url: Option<&str>,
    args: &[&str],
    level: &str,
) -> Command {
    let mut command = Command::new(binary());
    command
        .arg("serve")
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", level)
        .env_remove("DATABASE_URL");
    if let Some(url) = database_url {
        command.arg("--database-url").arg(url);
    }
    command.args(args);
    command
}

impl ServerProcess {
    /// Starts the server over `data_dir` (and `database_url` when given) and waits until
    /// it answers.
    pub async fn start(data_dir: &Path, database_url: Option<&str>) -> Self {
        Self::start_with(data_dir, database_url, &[]).await
    }

    /// `start`, with more arguments for `serve`.
    pub async fn start_with(data_dir: &Path, database_url: Option<&str>, args: &[&str]) -> Self {
        Self::start_logged(data_dir, database_url, args, "warn").await
    }

    /// `start_with`, logging at `level` (a `RUST_LOG` value).
    pub async fn start_logged(
        data_dir: &Path,
        database_url: Option<&str>,
        args: &[&str],
        level: &str,
    ) -> Self {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut command = serve_command(port, data_dir, database_url, args, level);
        command
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap());
        Self::spawned(command, port, log).await
    }

    /// Starts the server over `data_dir` with the variables `env`, logging at `info` into a
    /// pipe that is held open and never read: once it is full, every write to it would
    /// block. (`log` then holds standard output only.)
    pub async fn start_with_unread_stderr(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut command = serve_command(port, data_dir, None, &[], "info");
        command
            .envs(env.iter().copied())
            .stdout(log.reopen().unwrap())
            .stderr(Stdio::piped());
        Self::spawned(command, port, log).await
    }

    /// Spawns `command` (a server on `port`) and waits until it answers.
    async fn spawned(mut command: Command, port: u16, log: tempfile::NamedTempFile) -> Self {
        let child = command.spawn().expect("the server binary starts");
        let server = Self {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(resp) = server
                .http
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                && resp.status().is_success()
            {
                return server;
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, and waits for the clean shutdown to finish; returns everything it logged.
    pub fn stop(mut self) -> String {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let exited = self.child.wait().unwrap();
        assert!(exited.success(), "the server exits cleanly: {exited}");
        self.log()
    }

    /// SIGKILL (if it still runs): no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        self.child.wait().unwrap();
    }

    /// A tenant and its SCIM token, through the admin API with the bootstrap operator key.
    pub async fn tenant(&self, data_dir: &Path, name: &str) -> (String, String) {
        let key = operator_key(data_dir);
        let tenant: Value = self
            .http
            .post(format!("{}/admin/v1/tenants", self.base))
            .bearer_auth(&key)
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
            .bearer_auth(&key)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (id, token["token"].as_str().unwrap().to_owned())
    }

    pub fn scim_url(&self, tenant: &str, path: &str) -> String {
        format!("{}/scim/{tenant}/v2{path}", self.base)
    }

    /// `/readyz`: its status, and the reason it gives when there is one.
    pub async fn readiness(&self) -> (u16, Option<String>) {
        let ready = self
            .http
            .get(format!("{}/readyz", self.base))
            .send()
            .await
            .unwrap();
        let status = ready.status().as_u16();
        let reason = ready
            .json::<Value>()
            .await
            .ok()
            .and_then(|body| body["reason"].as_str().map(str::to_owned));
        (status, reason)
    }

    /// POST /Users with just a userName, as Entra sends it.
    pub async fn create_user(
        &self,
        tenant: &str,
        token: &str,
        user_name: &str,
    ) -> reqwest::Response {
        self.http
            .post(self.scim_url(tenant, "/Users"))
            .bearer_auth(token)
            .header("Content-Type", "application/scim+json")
            .body(json!({ "userName": user_name }).to_string())
            .send()
            .await
            .unwrap()
    }

    /// Every userName of the tenant, read page by page.
    pub async fn user_names(&self, tenant: &str, token: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut start = 1;
        loop {
            let page: Value = self
                .http
                .get(self.scim_url(
                    tenant,
                    &format!("/Users?startIndex={start}&count=1000&attributes=userName"),
                ))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let resources = page["Resources"].as_array().cloned().unwrap_or_default();
            if resources.is_empty() {
                return names;
            }
            start += resources.len();
            names.extend(
                resources
                    .iter()
                    .map(|r| r["userName"].as_str().unwrap().to_owned()),
            );
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Files made immutable (`chattr +i`, which binds root too, as tests run here; file modes
/// do not) until dropped. Writes through descriptors already open fail with `EPERM` too.
pub struct Immutable(Vec<PathBuf>);

impl Immutable {
    pub fn set(files: &[PathBuf]) -> Self {
        let guard = Self(files.to_vec());
        let immutable = Command::new("chattr")
            .arg("+i")
            .args(files)
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            immutable,
            "chattr +i needs root and a filesystem with attributes (ext4, xfs, btrfs)"
        );
        guard
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").args(&self.0).status();
    }
}
