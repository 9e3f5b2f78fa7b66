//! Test fixtures: a fresh database per test, the app over it, and shortcuts for the
//! requests most tests start with.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use poem::{
    EndpointExt,
    endpoint::BoxEndpoint,
    http::StatusCode,
    test::{TestClient, TestResponse},
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use server::{
    AppState,
    config::{Argon2Params, Settings},
    startup::{Application, Launch},
    store::{self, storage::StatementObserver},
};

pub const PUBLIC_URL: &str = "https://scim.example.test";

/// SQL statements an app ran, in order.
#[derive(Clone, Default)]
pub struct Statements(pub std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Statements {
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    pub fn any_mentions(&self, table: &str) -> bool {
        self.mentioning(table) > 0
    }

    /// How many statements contain `text`.
    pub fn mentioning(&self, text: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|sql| sql.contains(text))
            .count()
    }
}

/// Generates, for each named `async fn(TestApp)`, a module with one test per backend.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$test($crate::helpers::TestApp::sqlite().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::postgres().await {
                        super::$test(app).await;
                    }
                }
            }
        )*
    };
}

/// Settings for tests: cheap argon2 (hashes still carry real argon2id PHC strings) and a
/// failure limit no ordinary test reaches.
pub fn test_settings() -> Settings {
    Settings {
        public_url: PUBLIC_URL.to_owned(),
        argon2: Argon2Params {
            m_cost: 1024,
            t_cost: 1,
            p_cost: 1,
        },
        auth_failure_limit: 1000,
        // Load tests would spend a tenant's window; `rate_limits.rs` turns it on.
        rate_limit: server::rate_limit::RateLimitSettings {
            requests: 0,
            ..server::rate_limit::RateLimitSettings::default()
        },
        // Every test runs with the provisioning log on, so every SCIM test also proves
        // recording changes no answer.
        activity: server::config::ActivitySettings {
            enabled: true,
            ..server::config::ActivitySettings::default()
        },
        ..Settings::default()
    }
}

pub enum Backing {
    Sqlite(tempfile::TempDir),
    Postgres { url: String },
}

pub struct TestApp {
    pub state: AppState,
    pub client: TestClient<BoxEndpoint<'static>>,
    pub operator_key: String,
    pub database: Backing,
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(test_settings()).await
    }

    /// On SQLite, with nothing written but what the test asks for: no provisioning log,
    /// whose entries go through the writer's queue too (see `abandon`).
    pub async fn sqlite_quiet() -> Self {
        let mut settings = test_settings();
        settings.activity.enabled = false;
        Self::sqlite_with(settings).await
    }

    pub async fn sqlite_with(settings: Settings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = store::db::sqlite_url(&dir.path().join("scim.db"));
        Self::build(&url, Backing::Sqlite(dir), settings).await
    }

    /// `None` when `SCIM_TEST_POSTGRES_URL` is not set.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_with(test_settings()).await
    }

    pub async fn postgres_with(settings: Settings) -> Option<Self> {
        let url = fresh_postgres_schema().await?;
        Some(Self::build(&url, Backing::Postgres { url: url.clone() }, settings).await)
    }

    /// On PostgreSQL, in a database of its own rather than a schema of the shared one:
    /// `NOTIFY` reaches every listener of a database, so only here can a test tell that a
    /// notice came from its own app and not from another test running beside it.
    pub async fn postgres_alone() -> Option<Self> {
        let url = fresh_postgres_database().await?;
        Some(
            Self::build(
                &url,
                Backing::Postgres { url: url.clone() },
                test_settings(),
            )
            .await,
        )
    }

    async fn build(url: &str, database: Backing, settings: Settings) -> Self {
        Self::boot(url, database, settings, None).await
    }

    /// Like `sqlite()`/`postgres()`, with every SQL statement the app runs recorded.
    pub async fn recording(postgres: bool) -> Option<(Self, Statements)> {
        let (url, backing) = if postgres {
            let url = fresh_postgres_schema().await?;
            (url.clone(), Backing::Postgres { url })
        } else {
            let dir = tempfile::tempdir().unwrap();
            (
                store::db::sqlite_url(&dir.path().join("scim.db")),
                Backing::Sqlite(dir),
            )
        };
        let statements = Statements::default();
        let sink = statements.clone();
        let observer: StatementObserver =
            std::sync::Arc::new(move |info: &sea_orm::metric::Info<'_>| {
                sink.0.lock().unwrap().push(info.statement.sql.clone())
            });
        let app = Self::boot(&url, backing, test_settings(), Some(observer)).await;
        Some((app, statements))
    }

    /// Another app (a "replica") over this app's database and settings, with its own caches.
    pub async fn replica(&self) -> Self {
        let Backing::Postgres { url } = &self.database else {
            panic!("replicas share PostgreSQL");
        };
        let mut app = Self::boot(
            url,
            Backing::Postgres { url: url.clone() },
            (*self.state.settings).clone(),
            None,
        )
        .await;
        app.operator_key = self.operator_key.clone();
        app
    }

    /// Boots the app the way the binary does (`startup::Application`), then drives it
    /// in-process rather than over its listener.
    async fn boot(
        url: &str,
        database: Backing,
        settings: Settings,
        observer: Option<StatementObserver>,
    ) -> Self {
        // The bootstrap key file goes beside, not into, the database directory, which
        // tests scan for plain credentials.
        let keys = tempfile::tempdir().unwrap();
        let data_dir = keys.path().to_owned();
        let app = Application::build(Launch {
            database_url: url.to_owned(),
            bind: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.clone(),
            settings,
            observer,
        })
        .await
        .unwrap();
        let state = app.state().clone();
        // The first start writes the bootstrap operator key; a replica finds one and
        // writes none (its caller copies the first app's).
        let operator_key = std::fs::read_to_string(data_dir.join("operator.key"))
            .map(|key| key.trim().to_owned())
            .unwrap_or_default();
        let client = TestClient::new(server::app(state.clone()).boxed());
        Self {
            state,
            client,
            operator_key,
            database,
        }
    }

    /// A connection of its own that may write, around the app's writer (for schema tests).
    pub async fn raw_connection(&self) -> DatabaseConnection {
        match &self.database {
            Backing::Sqlite(_) => store::db::connect_sqlite(
                &store::db::sqlite_url(&self.sqlite_file().unwrap()),
                &self.state.settings.storage,
                store::db::SqliteRole::Writer,
            )
            .await
            .unwrap(),
            Backing::Postgres { url } => {
                store::db::connect_postgres(url, &self.state.settings.storage)
                    .await
                    .unwrap()
            }
        }
    }

    /// The embedded database's file.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match &self.database {
            Backing::Sqlite(dir) => Some(dir.path().join("scim.db")),
            Backing::Postgres { .. } => None,
        }
    }

    /// Whether `needle` is stored anywhere a user's data goes: the user rows and their
    /// indexed values on every backend, and on SQLite any byte of the database files.
    pub async fn raw_dump_contains(&self, needle: &str) -> bool {
        if let Some(file) = self.sqlite_file() {
            for path in [file.clone(), file.with_extension("db-wal")] {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
                {
                    return true;
                }
            }
        }
        let pattern = format!("%{needle}%");
        let db = self.raw_connection().await;
        let backend = db.get_database_backend();
        let mut found = false;
        for sql in [
            "SELECT COUNT(*) AS n FROM scim_user WHERE data LIKE $1",
            "SELECT COUNT(*) AS n FROM scim_user_value WHERE value LIKE $1 OR display LIKE $1",
        ] {
            let statement =
                sea_orm::Statement::from_sql_and_values(backend, sql, [pattern.clone().into()]);
            let row = db.query_one_raw(statement).await.unwrap().unwrap();
            found |= row.try_get::<i64>("", "n").unwrap() > 0;
        }
        found
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.database, Backing::Postgres { .. })
    }

    pub fn advance(&self, seconds: i64) {
        self.state.clock.advance(chrono::Duration::seconds(seconds));
    }

    pub async fn create_tenant(&self, name: &str) -> Value {
        let resp = self
            .client
            .post("/admin/v1/tenants")
            .header("Authorization", format!("Bearer {}", self.operator_key))
            .body_json(&json!({ "name": name }))
            .send()
            .await;
        resp.assert_status(StatusCode::CREATED);
        json_of(resp).await
    }

    pub async fn tenant_id(&self, name: &str) -> String {
        self.create_tenant(name).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Issues a SCIM token with `body` and returns the whole answer.
    pub async fn issue_token(&self, tenant_id: &str, body: Value) -> Value {
        let resp = self
            .client
            .post(format!("/admin/v1/tenants/{tenant_id}/scim-tokens"))
            .header("Authorization", format!("Bearer {}", self.operator_key))
            .body_json(&body)
            .send()
            .await;
        resp.assert_status(StatusCode::CREATED);
        json_of(resp).await
    }

    /// Issues a SCIM token and returns its plain value.
    pub async fn token(&self, tenant_id: &str) -> String {
        self.issue_token(tenant_id, json!({})).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn tenant_admin_key(&self, tenant_id: &str) -> String {
        let resp = self
            .client
            .post(format!("/admin/v1/tenants/{tenant_id}/admin-keys"))
            .header("Authorization", format!("Bearer {}", self.operator_key))
            .body_json(&json!({}))
            .send()
            .await;
        resp.assert_status(StatusCode::CREATED);
        json_of(resp).await["key"].as_str().unwrap().to_owned()
    }

    /// A new product of the tenant; its id.
    pub async fn create_product(&self, tenant_id: &str, name: &str) -> String {
        let resp = self
            .admin_post(
                &self.operator_key,
                &format!("/admin/v1/tenants/{tenant_id}/products"),
                json!({ "name": name }),
            )
            .await;
        resp.assert_status(StatusCode::CREATED);
        json_of(resp).await["id"].as_str().unwrap().to_owned()
    }

    /// A new permission group of the product; its id.
    pub async fn create_permission_group(
        &self,
        tenant_id: &str,
        product_id: &str,
        body: Value,
    ) -> String {
        let resp = self
            .admin_post(
                &self.operator_key,
                &format!("/admin/v1/tenants/{tenant_id}/products/{product_id}/permission-groups"),
                body,
            )
            .await;
        resp.assert_status(StatusCode::CREATED);
        json_of(resp).await["id"].as_str().unwrap().to_owned()
    }

    pub async fn admin_get(&self, key: &str, path: &str) -> TestResponse {
        self.client
            .get(path)
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
    }

    pub async fn admin_post(&self, key: &str, path: &str, body: Value) -> TestResponse {
        self.client
            .post(path)
            .header("Authorization", format!("Bearer {key}"))
            .body_json(&body)
            .send()
            .await
    }

    pub async fn admin_put(&self, key: &str, path: &str, body: Value) -> TestResponse {
        self.client
            .put(path)
            .header("Authorization", format!("Bearer {key}"))
            .body_json(&body)
            .send()
            .await
    }

    pub async fn admin_delete(&self, key: &str, path: &str) -> TestResponse {
        self.client
            .delete(path)
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
    }

    /// `GET /scim/{tenant}/v2/ServiceProviderConfig` with `token`.
    pub async fn spc(&self, tenant_id: &str, token: &str) -> TestResponse {
        self.client
            .get(format!("/scim/{tenant_id}/v2/ServiceProviderConfig"))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
    }

    pub async fn spc_status(&self, tenant_id: &str, token: &str) -> StatusCode {
        self.spc(tenant_id, token).await.0.status()
    }

    pub async fn tokens(&self, tenant_id: &str) -> Vec<Value> {
        let resp = self
            .admin_get(
                &self.operator_key,
                &format!("/admin/v1/tenants/{tenant_id}/scim-tokens"),
            )
            .await;
        resp.assert_status_is_ok();
        json_of(resp).await["items"].as_array().unwrap().clone()
    }
}

pub async fn json_of(resp: TestResponse) -> Value {
    resp.0.into_body().into_json().await.unwrap()
}

/// Asserts a SCIM error answer: status, media type, schema and the status string.
pub async fn assert_scim_error(resp: TestResponse, status: StatusCode) -> Value {
    resp.assert_status(status);
    resp.assert_content_type("application/scim+json");
    let body = json_of(resp).await;
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], json!(status.as_u16().to_string()));
    body
}

/// Asserts an admin-API error answer and returns its body.
pub async fn assert_admin_error(resp: TestResponse, status: StatusCode, code: &str) -> Value {
    resp.assert_status(status);
    resp.assert_content_type("application/json");
    let body = json_of(resp).await;
    assert_eq!(body["code"], json!(code), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// What a test makes on the test server to have to itself: a database or a schema.
#[derive(Clone, Copy)]
enum Own {
    Database,
    Schema,
}

impl Own {
    fn listing(self) -> &'static str {
        match self {
            Self::Database => "SELECT datname FROM pg_database WHERE datname LIKE 'scimtest\\_%'",
            Self::Schema => "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scimtest\\_%'",
        }
    }

    fn create(self, name: &str) -> String {
        match self {
            Self::Database => format!("CREATE DATABASE \"{name}\""),
            Self::Schema => format!("CREATE SCHEMA \"{name}\""),
        }
    }

    fn drop(self, name: &str) -> String {
        match self {
            Self::Database => format!("DROP DATABASE IF EXISTS \"{name}\""),
            Self::Schema => format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"),
        }
    }
}

/// Makes a fresh `own` on the test server, named `scimtest_<seconds>_…`, after dropping
/// those tests made over an hour ago and left behind; the server's URL and the name.
async fn fresh(own: Own) -> Option<(String, String)> {
    let base = std::env::var("SCIM_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let admin = Database::connect(&base).await.unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let stale: Vec<String> = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            own.listing().to_owned(),
        ))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
        .filter(|name| {
            name.split('_')
                .nth(1)
                .and_then(|ts| ts.parse::<u64>().ok())
                .is_some_and(|ts| ts + 3600 < now)
        })
        .collect();
    for name in stale {
        let _ = admin.execute_unprepared(&own.drop(&name)).await;
    }
    let name = format!("scimtest_{now}_{}", uuid::Uuid::new_v4().simple());
    admin.execute_unprepared(&own.create(&name)).await.unwrap();
    admin.close().await.unwrap();
    Some((base, name))
}

/// A database of its own on the server of `SCIM_TEST_POSTGRES_URL` (its role needs
/// `CREATEDB`), and its URL.
pub async fn fresh_postgres_database() -> Option<String> {
    let (base, name) = fresh(Own::Database).await?;
    let mut url = reqwest::Url::parse(&base).unwrap();
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// A schema of its own in the database of `SCIM_TEST_POSTGRES_URL`, and a URL whose
/// connections use it.
pub async fn fresh_postgres_schema() -> Option<String> {
    let (base, schema) = fresh(Own::Schema).await?;
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!(
        "{base}{separator}options=-c%20search_path%3D{schema}"
    ))
}

/// Requests to one tenant's SCIM endpoint with its token, sent the way Entra sends them.
pub struct Scim<'a> {
    pub app: &'a TestApp,
    pub tenant: String,
    pub token: String,
}

impl TestApp {
    /// A new tenant and a SCIM client for it.
    pub async fn scim(&self, name: &str) -> Scim<'_> {
        let tenant = self.tenant_id(name).await;
        let token = self.token(&tenant).await;
        Scim {
            app: self,
            tenant,
            token,
        }
    }
}

impl Scim<'_> {
    pub fn url(&self, path: &str) -> String {
        format!("/scim/{}/v2{path}", self.tenant)
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.app
            .client
            .get(self.url(path))
            .header("Authorization", format!("Bearer {}", self.token))
            .send()
            .await
    }

    pub async fn send(&self, method: &str, path: &str, body: &Value) -> TestResponse {
        self.app
            .client
            .request(method.parse().unwrap(), self.url(path))
            .header("Authorization", format!("Bearer {}", self.token))
            .content_type("application/scim+json; charset=utf-8")
            .body(body.to_string())
            .send()
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.send("POST", path, body).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.app
            .client
            .delete(self.url(path))
            .header("Authorization", format!("Bearer {}", self.token))
            .send()
            .await
    }

    /// Creates a user with `body` and returns it.
    pub async fn create_user(&self, body: Value) -> Value {
        let resp = self.post("/Users", &body).await;
        resp.assert_status(StatusCode::CREATED);
        json_of(resp).await
    }

    /// Creates a user named `name` and returns its id.
    pub async fn user_id(&self, name: &str) -> String {
        self.create_user(user(name)).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a group named `name` and returns its id.
    pub async fn group_id(&self, name: &str) -> String {
        let body = json!({ "schemas": [GROUP_SCHEMA], "displayName": name });
        self.create_group(body).await
    }

    /// Creates a group with `body` and returns its id.
    pub async fn create_group(&self, body: Value) -> String {
        let resp = self.post("/Groups", &body).await;
        resp.assert_status(StatusCode::CREATED);
        json_of(resp).await["id"].as_str().unwrap().to_owned()
    }

    /// The group's member ids, sorted.
    pub async fn member_ids(&self, group: &str) -> Vec<String> {
        let body = json_of(self.get(&format!("/Groups/{group}")).await).await;
        let mut ids: Vec<String> = body["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// The `id`s of a list answer, in order.
    pub async fn ids(&self, path: &str) -> Vec<String> {
        let resp = self.get(path).await;
        let status = resp.0.status();
        let body = json_of(resp).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A `PatchOp` request carrying `operations`.
pub fn ops(operations: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations })
}

/// `userName` as a minimal user body.
pub fn user(name: &str) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name })
}

/// Holds the SQLite writer inside a batch until the returned sender fires, so that the
/// writes submitted meanwhile queue up and are committed together in the next batch.
pub async fn hold_the_writer(
    db: &server::store::Storage,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (holding, held) = tokio::sync::oneshot::channel::<()>();
    let db = db.clone();
    let task = tokio::spawn(async move {
        db.write(move |_txn| {
            Box::pin(async move {
                let _ = holding.send(());
                let _ = released.await;
                Ok(())
            })
        })
        .await
        .unwrap();
    });
    held.await.unwrap();
    (release, task)
}

/// Sends `request` while the writer is held, drops it (its client goes away) once it waits
/// in the writer's queue, then lets the writer go on; returns once the abandoned write's
/// batch has ended. The app must write nothing else meanwhile (`TestApp::sqlite_quiet`).
pub async fn abandon(app: &TestApp, request: impl std::future::Future<Output = TestResponse>) {
    let db = &app.state.db;
    let (release, holder) = hold_the_writer(db).await;
    {
        let mut request = std::pin::pin!(request);
        let queued = async {
            while db.stats().queued_writes == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::select! {
            _ = &mut request => panic!("answered while the writer was held"),
            () = queued => {}
        }
    }
    release.send(()).unwrap();
    holder.await.unwrap();
    // Answered only once every write queued before it has been through the writer.
    db.write(|_| Box::pin(async { Ok(()) })).await.unwrap();
}
