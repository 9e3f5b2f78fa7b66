//! A server of our own on a loopback port (embedded SQLite in a temporary directory, which
//! survives restarts), and the dashboard's runtime with a recording clipboard.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{Terminal, backend::TestBackend};
use serde_json::{Value, json};
use server::{
    config::{Argon2Params, Settings},
    startup::{Application, Launch},
};
use tokio::{sync::oneshot, task::JoinHandle};
use tui::{
    app::{App, KeySource, Msg},
    client::AdminClient,
    runtime::Runtime,
    ui,
};

pub struct Server {
    pub dir: tempfile::TempDir,
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut server = Self {
            dir,
            port: 0,
            stop: None,
            task: None,
        };
        server.boot(0).await;
        server
    }

    async fn boot(&mut self, port: u16) {
        let bind: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let settings = Settings {
            public_url: "http://127.0.0.1".to_owned(),
            argon2: Argon2Params {
                m_cost: 1024,
                t_cost: 1,
                p_cost: 1,
            },
            ..Settings::default()
        };
        let database_url = server::store::db::sqlite_url(&self.dir.path().join("scim.db"));
        // The port may take a moment to be free again after a stop.
        let deadline = Instant::now() + Duration::from_secs(10);
        let app = loop {
            match Application::build(Launch {
                database_url: database_url.clone(),
                bind,
                data_dir: self.dir.path().to_owned(),
                settings: settings.clone(),
                observer: None,
            })
            .await
            {
                Ok(app) => break app,
                Err(err) if Instant::now() < deadline => {
                    eprintln!("server not up yet: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("the server did not start: {err}"),
            }
        };
        self.port = app.port();
        let (stop, stopped) = oneshot::channel();
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(async move {
            app.run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        }));
    }

    /// Stops the server cleanly (streams end, the log is flushed) and starts it again on
    /// the same port and database.
    pub async fn restart(&mut self) {
        self.stop_now().await;
        self.boot(self.port).await;
    }

    pub async fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("operator.key")
    }

    pub fn operator_key(&self) -> String {
        std::fs::read_to_string(self.key_file())
            .unwrap()
            .trim()
            .to_owned()
    }

    pub fn client(&self) -> AdminClient {
        AdminClient::new(&self.url(), &self.operator_key()).unwrap()
    }

    /// A tenant and a first SCIM token, made through the API; returns (tenant id, token).
    pub async fn tenant_with_token(&self, name: &str) -> (String, String) {
        let http = reqwest::Client::new();
        let tenant: Value = http
            .post(format!("{}/admin/v1/tenants", self.url()))
            .bearer_auth(self.operator_key())
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = tenant["id"].as_str().unwrap().to_owned();
        let token: Value = http
            .post(format!("{}/admin/v1/tenants/{id}/scim-tokens", self.url()))
            .bearer_auth(self.operator_key())
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (id, token["token"].as_str().unwrap().to_owned())
    }

    /// The status of an authenticated SCIM discovery request with `token`.
    pub async fn scim_status(&self, tenant: &str, token: &str) -> u16 {
        reqwest::Client::new()
            .get(format!(
                "{}/scim/{tenant}/v2/ServiceProviderConfig",
                self.url()
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// A SCIM request with `token`; the answer's body.
    pub async fn scim(
        &self,
        tenant: &str,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Value {
        reqwest::Client::new()
            .request(method, format!("{}/scim/{tenant}/v2{path}", self.url()))
            .bearer_auth(token)
            .header("Content-Type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            // 204: no body.
            .unwrap_or(Value::Null)
    }

    /// An admin request with the operator key; the answer's body.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url()))
            .bearer_auth(self.operator_key())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    pub async fn create_user(&self, tenant: &str, token: &str, user_name: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/scim/{tenant}/v2/Users", self.url()))
            .bearer_auth(token)
            .header("Content-Type", "application/scim+json")
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "active": true
            }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// The dashboard's runtime, as the binary runs it but with keys pressed by the test.
pub struct Dashboard {
    pub runtime: Runtime,
    pub copied: Arc<Mutex<Vec<String>>>,
}

impl Dashboard {
    pub fn connect(server: &Server) -> Self {
        Self::connect_with(server.url(), &server.operator_key(), &server.key_file())
    }

    pub fn connect_with(url: String, key: &str, key_file: &Path) -> Self {
        let copied = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&copied);
        let app = App::new(url.clone(), KeySource::File(key_file.to_owned()));
        let client = AdminClient::new(&url, key).unwrap();
        let mut runtime = Runtime::new(
            app,
            Some(client),
            Box::new(move |text| sink.lock().unwrap().push(text.to_owned())),
        );
        runtime.start();
        Self { runtime, copied }
    }

    pub fn app(&self) -> &App {
        &self.runtime.app
    }

    pub fn press(&mut self, code: KeyCode) {
        self.runtime
            .dispatch(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    pub fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    /// Handles replies until `done` holds (ten seconds at most), ticking as the binary
    /// does so refreshes happen too.
    pub async fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last_tick = Instant::now();
        while !done(self.app()) {
            assert!(
                Instant::now() < deadline,
                "never: {what}\n{}",
                self.screen()
            );
            if let Some(msg) = self.runtime.next_msg(Duration::from_millis(50)).await {
                self.runtime.dispatch(msg);
            }
            if last_tick.elapsed() >= Duration::from_millis(250) {
                self.runtime.dispatch(Msg::Tick);
                last_tick = Instant::now();
            }
        }
    }

    pub fn screen(&self) -> String {
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        terminal.draw(|frame| ui::view(self.app(), frame)).unwrap();
        terminal.backend().to_string()
    }
}
