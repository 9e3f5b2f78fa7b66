//! Carries out the `Cmd`s `update` returns, each in a task of its own that ends in a `Msg`,
//! and runs the one loop that merges key presses, replies, stream entries and ticks, and
//! redraws at most once a frame. Generic over the terminal backend, so the tests drive the
//! same loop against ratatui's `TestBackend`.

use std::{
    future::Future,
    io::Write,
    pin::pin,
    time::{Duration, Instant},
};

use crossterm::event::{Event, KeyEventKind};
use futures_util::{Stream, StreamExt};
use ratatui::{Terminal, backend::Backend};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    api::{ActivityEntry, PermissionPreview},
    app::{
        App, Cmd, Deletion, Msg, TenantDetail, TenantRow,
        connection::RETRY_AFTER,
        log::StreamState,
        permissions::{Change, Model},
    },
    client::{Activity, AdminClient, Error},
    ui,
};

/// Messages waiting for `update`; a full queue slows the log stream down rather than
/// growing without bound.
const QUEUE: usize = 256;
/// Log entries shown when the log opens, before the live ones.
const BACKLOG: u32 = 200;
/// Entries handed to `update` at once when they arrive faster than frames are drawn.
const BATCH: usize = 512;
/// Messages taken at once before the screen gets its turn (keys stay answered under a flood).
const DRAIN: usize = 64;
/// At most this many frames a second, however many entries arrive.
const FRAME: Duration = Duration::from_millis(33);
const TICK: Duration = Duration::from_millis(250);

/// Where copied text goes: the terminal's clipboard (OSC 52) in the binary, a list in tests.
pub type Clipboard = Box<dyn FnMut(&str) + Send>;

pub struct Runtime {
    pub app: App,
    client: Option<AdminClient>,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
    log_task: Option<JoinHandle<()>>,
    clipboard: Clipboard,
    /// Where the admin key is read from before each connection attempt, when it does not
    /// come from the environment: a key written (or replaced) meanwhile is picked up.
    key_file: Option<std::path::PathBuf>,
}

impl Runtime {
    /// `client` is `None` when there is no key to connect with.
    pub fn new(app: App, client: Option<AdminClient>, clipboard: Clipboard) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            app,
            client,
            tx,
            rx,
            log_task: None,
            clipboard,
            key_file: None,
        }
    }

    /// Reads the admin key from `file` before each connection attempt.
    #[must_use]
    pub fn reading_key_from(mut self, file: std::path::PathBuf) -> Self {
        self.key_file = Some(file);
        self
    }

    /// A connection attempt: with the key as it is now, or the news that there is none.
    fn connect(&mut self) {
        if let Some(file) = &self.key_file {
            self.client = match read_key_file(file) {
                Some(key) => match AdminClient::new(&self.app.server_url, &key) {
                    Ok(client) => Some(client),
                    Err(err) => {
                        self.spawn(async move { Msg::Connected(Err(err)) });
                        return;
                    }
                },
                None => None,
            };
        }
        match self.client.clone() {
            Some(client) => self.spawn(async move { Msg::Connected(client.whoami().await) }),
            None => self.spawn(async { Msg::KeyMissing }),
        }
    }

    /// Starts the app (connecting).
    pub fn start(&mut self) {
        let cmds = self.app.start();
        self.run_all(cmds);
    }

    /// Hands `msg` to `update` and carries out what it asks.
    pub fn dispatch(&mut self, msg: Msg) {
        let cmds = self.app.update(msg);
        self.run_all(cmds);
    }

    fn run_all(&mut self, cmds: Vec<Cmd>) {
        for cmd in cmds {
            self.run(cmd);
        }
    }

    /// The next message from a task, if one comes within `wait`.
    pub async fn next_msg(&mut self, wait: Duration) -> Option<Msg> {
        tokio::time::timeout(wait, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Runs until the app quits: terminal events from `events`, replies from tasks.
    pub async fn run_loop<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        events: impl Stream<Item = std::io::Result<Event>>,
    ) -> Result<(), B::Error> {
        let mut events = pin!(events);
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut dirty = true;
        let mut drawn_at: Option<Instant> = None;
        self.start();
        while !self.app.quitting {
            if dirty && drawn_at.is_none_or(|at| at.elapsed() >= FRAME) {
                terminal.draw(|frame| ui::view(&self.app, frame))?;
                drawn_at = Some(Instant::now());
                dirty = false;
            }
            let frame_due = async {
                match drawn_at {
                    Some(at) if dirty => tokio::time::sleep_until((at + FRAME).into()).await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                        self.dispatch(Msg::Key(key));
                        dirty = true;
                        // A key is answered at once, not at the next frame.
                        drawn_at = None;
                    }
                    Some(Ok(Event::Resize(..))) => {
                        dirty = true;
                        drawn_at = None;
                    }
                    Some(Ok(_)) => {}
                    // The terminal is gone: nothing more can be shown or typed.
                    Some(Err(_)) | None => self.app.quitting = true,
                },
                Some(msg) = self.rx.recv() => {
                    self.dispatch(msg);
                    // What is already waiting goes in before the next frame, up to a bound
                    // so that keys and frames still get their turn.
                    for _ in 0..DRAIN {
                        let Ok(msg) = self.rx.try_recv() else { break };
                        self.dispatch(msg);
                    }
                    dirty = true;
                }
                _ = ticks.tick() => {
                    self.dispatch(Msg::Tick);
                    dirty = true;
                }
                () = frame_due => {}
            }
        }
        Ok(())
    }

    fn spawn(&self, work: impl Future<Output = Msg> + Send + 'static) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            // The app may have quit meanwhile; then nobody wants the answer.
            let _ = tx.send(work.await).await;
        });
    }

    fn run(&mut self, cmd: Cmd) {
        // What needs no API client first.
        let cmd = match cmd {
            Cmd::Copy(text) => return (self.clipboard)(text.expose()),
            Cmd::RetryLater(attempt) => {
                return self.spawn(async move {
                    tokio::time::sleep(RETRY_AFTER).await;
                    Msg::Retry(attempt)
                });
            }
            Cmd::Connect => return self.connect(),
            cmd => cmd,
        };
        let Some(client) = self.client.clone() else {
            return;
        };
        match cmd {
            Cmd::LoadTenants => {
                let own = self.app.caller().and_then(|c| c.tenant_id.clone());
                self.spawn(async move { Msg::Tenants(tenant_rows(&client, own).await) });
            }
            Cmd::CreateTenant(name) => {
                self.spawn(async move { Msg::TenantCreated(client.create_tenant(&name).await) })
            }
            Cmd::DeleteTenant { id, name } => self.spawn(async move {
                Msg::TenantDeleted(client.delete_tenant(&id).await.map(|()| (id, name)))
            }),
            Cmd::LoadDetail(tenant) => self.spawn(async move {
                let result = tenant_detail(&client, &tenant).await;
                Msg::Detail { tenant, result }
            }),
            Cmd::IssueToken { tenant, body } => self.spawn(async move {
                let result = client.issue_token(&tenant, &body).await;
                Msg::TokenIssued { tenant, result }
            }),
            Cmd::RevokeToken { tenant, token } => self.spawn(async move {
                let result = client.revoke_token(&tenant, &token).await.map(|()| token);
                Msg::TokenRevoked { tenant, result }
            }),
            Cmd::LoadEntry { tenant, id } => self.spawn(async move {
                let result = client.activity_entry(&tenant, id).await;
                Msg::Entry { id, result }
            }),
            Cmd::FollowLog { tenant, generation } => {
                if let Some(task) = self.log_task.take() {
                    task.abort();
                }
                let tx = self.tx.clone();
                self.log_task = Some(tokio::spawn(follow(client, tenant, generation, tx)));
            }
            Cmd::FindRequest { tenant, request_id } => self.spawn(async move {
                let result = client.request_entry(&tenant, &request_id).await;
                Msg::RequestEntry { request_id, result }
            }),
            Cmd::LoadGroups {
                tenant,
                search,
                cursor,
                request,
            } => self.spawn(async move {
                let result = client
                    .synced_groups(&tenant, &search, cursor.as_deref())
                    .await;
                Msg::Groups { request, result }
            }),
            Cmd::LoadUsers {
                tenant,
                search,
                cursor,
                request,
            } => self.spawn(async move {
                let result = client
                    .synced_users(&tenant, &search, cursor.as_deref())
                    .await;
                Msg::Users { request, result }
            }),
            Cmd::LoadModel(tenant) => self.spawn(async move {
                let result = permission_model(&client, &tenant).await;
                Msg::Model { tenant, result }
            }),
            Cmd::LoadUserPermissions { tenant, user } => self.spawn(async move {
                let result = client.user_permissions(&tenant, &user).await;
                Msg::UserPermissions { user, result }
            }),
            Cmd::Preview { tenant, change } => self.spawn(async move {
                let (change, result) = match preview(&client, &tenant, change).await {
                    Ok((change, preview)) => (change, Ok(preview)),
                    Err((change, err)) => (change, Err(err)),
                };
                Msg::Previewed {
                    tenant,
                    change,
                    result,
                }
            }),
            Cmd::Apply { tenant, change } => {
                self.spawn(async move { Msg::Saved(apply(&client, &tenant, change).await) });
            }
            Cmd::CreateProduct { tenant, name } => self.spawn(async move {
                Msg::Saved(
                    client
                        .create_product(&tenant, &name)
                        .await
                        .map(|p| format!("Created product {}", p.name)),
                )
            }),
            Cmd::SavePermissionGroup {
                tenant,
                product,
                id,
                input,
            } => self.spawn(async move {
                let saved = match &id {
                    Some(id) => {
                        client
                            .replace_permission_group(&tenant, &product, id, &input)
                            .await
                    }
                    None => {
                        client
                            .create_permission_group(&tenant, &product, &input)
                            .await
                    }
                };
                Msg::Saved(saved.map(|g| format!("Saved permission group {}", g.name)))
            }),
            Cmd::Delete { tenant, what } => self.spawn(async move {
                let done = match &what {
                    Deletion::Product { id, name } => client
                        .delete_product(&tenant, id)
                        .await
                        .map(|()| format!("Deleted product {name}")),
                    Deletion::PermissionGroup { product, id, name } => client
                        .delete_permission_group(&tenant, product, id)
                        .await
                        .map(|()| format!("Deleted permission group {name}")),
                };
                Msg::Saved(done)
            }),
            // Carried out above.
            Cmd::Copy(_) | Cmd::RetryLater(_) | Cmd::Connect => {}
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(task) = self.log_task.take() {
            task.abort();
        }
    }
}

/// The tenants with their health; the list is shown without health when only that fails.
async fn tenant_rows(client: &AdminClient, own: Option<String>) -> Result<Vec<TenantRow>, Error> {
    let (tenants, health) = match &own {
        Some(own) => {
            let (tenant, health) = tokio::join!(client.tenant(own), client.sync_health(own));
            (tenant.map(|t| vec![t]), health.map(|h| vec![h]))
        }
        None => tokio::join!(client.tenants(), client.sync_health_all()),
    };
    let (tenants, health) = (tenants?, health.unwrap_or_default());
    let mut health: std::collections::HashMap<_, _> = health
        .into_iter()
        .map(|h| (h.tenant_id.clone(), h))
        .collect();
    Ok(tenants
        .into_iter()
        .map(|tenant| TenantRow {
            health: health.remove(&tenant.id),
            tenant,
        })
        .collect())
}

async fn permission_model(client: &AdminClient, tenant: &str) -> Result<Model, Error> {
    let (products, catalog) = tokio::join!(client.products(tenant), client.catalog());
    let products = products?;
    let groups = futures_util::future::try_join_all(
        products
            .iter()
            .map(|product| client.permission_groups(tenant, &product.id)),
    )
    .await?;
    Ok(Model {
        products: products.into_iter().zip(groups).collect(),
        catalog: catalog?,
    })
}

/// What `change` would do; a move is first turned into the whole new order.
async fn preview(
    client: &AdminClient,
    tenant: &str,
    change: Change,
) -> Result<(Change, PermissionPreview), (Change, Error)> {
    let change = match change {
        Change::Move { group, by } => {
            let mut order = match client.group_priority(tenant).await {
                Ok(order) => order,
                Err(err) => return Err((Change::Move { group, by }, err)),
            };
            if let Some(at) = order.iter().position(|id| *id == group) {
                let to = at.saturating_add_signed(by).min(order.len() - 1);
                let moved = order.remove(at);
                order.insert(to, moved);
            }
            Change::Priority { order }
        }
        other => other,
    };
    let result = match &change {
        Change::Map { group, input } => client.preview_mapping(tenant, group, input).await,
        Change::Unmap { group } => client.preview_unmap(tenant, group).await,
        Change::Priority { order } => client.preview_priority(tenant, order).await,
        // Turned into an order above; never sent as such.
        Change::Move { .. } => Err(Error::Decode("an unresolved move".to_owned())),
    };
    match result {
        Ok(preview) => Ok((change, preview)),
        Err(err) => Err((change, err)),
    }
}

async fn apply(client: &AdminClient, tenant: &str, change: Change) -> Result<String, Error> {
    match change {
        Change::Map { group, input } => client
            .put_mapping(tenant, &group, &input)
            .await
            .map(|m| format!("Saved the mapping (priority {})", m.priority)),
        Change::Unmap { group } => client
            .unmap(tenant, &group)
            .await
            .map(|()| "Unmapped the group".to_owned()),
        Change::Priority { order } => client
            .put_priority(tenant, &order)
            .await
            .map(|()| "Saved the priority order".to_owned()),
        Change::Move { group, by } => {
            let (change, _) = preview(client, tenant, Change::Move { group, by })
                .await
                .map_err(|(_, err)| err)?;
            Box::pin(apply(client, tenant, change)).await
        }
    }
}

async fn tenant_detail(client: &AdminClient, tenant: &str) -> Result<TenantDetail, Error> {
    let (record, health, tokens) = tokio::join!(
        client.tenant(tenant),
        client.sync_health(tenant),
        client.tokens(tenant)
    );
    Ok(TenantDetail {
        tenant: record?,
        health: health?,
        tokens: tokens?,
    })
}

/// The newest entries, then the live ones, for as long as the log is open: after a lost
/// connection it connects again with the last id it saw, so nothing is missed or repeated.
/// A refusal (the key revoked, the tenant deleted) ends it: retrying cannot help.
async fn follow(
    client: AdminClient,
    tenant: Option<String>,
    generation: u64,
    tx: mpsc::Sender<Msg>,
) {
    let send = |msg: Msg| {
        let tx = tx.clone();
        async move { tx.send(msg).await.is_ok() }
    };
    let state = |state: StreamState| Msg::LogStream { generation, state };
    let arrived = |entries: Vec<ActivityEntry>, unreadable: usize| Msg::LogArrived {
        generation,
        entries,
        unreadable,
    };
    let mut backoff = Backoff::default();
    let mut after = loop {
        match client.activity(tenant.as_deref(), BACKLOG).await {
            Ok(backlog) => {
                let after = backlog.iter().filter_map(Activity::id).max().unwrap_or(0);
                let (entries, unreadable) = readable(backlog.into_iter().rev());
                if !send(arrived(entries, unreadable)).await {
                    return;
                }
                break after;
            }
            Err(err) if is_final(&err) => {
                let _ = send(state(StreamState::Stopped(err))).await;
                return;
            }
            Err(err) => {
                if !send(state(StreamState::Reconnecting(err.to_string()))).await {
                    return;
                }
                backoff.wait().await;
            }
        }
    };
    loop {
        let reason = match client.follow_activity(tenant.as_deref(), Some(after)).await {
            Ok(stream) => {
                if !send(state(StreamState::Live)).await {
                    return;
                }
                backoff = Backoff::default();
                let mut batches = pin!(stream.ready_chunks(BATCH));
                loop {
                    let Some(batch) = batches.next().await else {
                        break "the server closed the stream".to_owned();
                    };
                    let mut events = Vec::with_capacity(batch.len());
                    let mut failure = None;
                    for item in batch {
                        match item {
                            Ok(event) => {
                                after = event.id().unwrap_or(after).max(after);
                                events.push(event);
                            }
                            Err(err) => failure = Some(err.to_string()),
                        }
                    }
                    let (entries, unreadable) = readable(events);
                    if (!entries.is_empty() || unreadable > 0)
                        && !send(arrived(entries, unreadable)).await
                    {
                        return;
                    }
                    if let Some(failure) = failure {
                        break failure;
                    }
                }
            }
            Err(err) if is_final(&err) => {
                let _ = send(state(StreamState::Stopped(err))).await;
                return;
            }
            Err(err) => err.to_string(),
        };
        if !send(state(StreamState::Reconnecting(reason))).await {
            return;
        }
        backoff.wait().await;
    }
}

/// The entries of `events` that could be read, and how many could not.
fn readable(events: impl IntoIterator<Item = Activity>) -> (Vec<ActivityEntry>, usize) {
    let mut unreadable = 0;
    let entries = events
        .into_iter()
        .filter_map(|event| match event {
            Activity::Entry(entry) => Some(entry),
            Activity::Unreadable { .. } => {
                unreadable += 1;
                None
            }
        })
        .collect();
    (entries, unreadable)
}

/// Answers that trying again will not change: the key refused or without rights, the
/// tenant gone.
fn is_final(err: &Error) -> bool {
    matches!(err.status(), Some(401 | 403 | 404))
}

/// Half a second, doubling to five.
struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self(Duration::from_millis(500))
    }
}

impl Backoff {
    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
    }
}

/// The admin key in `file`, if it holds one.
pub fn read_key_file(file: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(file)
        .ok()
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty())
}

/// The OSC 52 sequence that asks the terminal to put `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// The binary's clipboard: OSC 52 written straight to the terminal.
pub fn terminal_clipboard() -> Clipboard {
    Box::new(|text| {
        let mut out = std::io::stdout();
        // A terminal that ignores OSC 52 shows nothing; there is nothing to report.
        let _ = out.write_all(osc52(text).as_bytes());
        let _ = out.flush();
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::{canned, entry_json, event_stream};

    #[test]
    fn osc52_wraps_base64() {
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
    }

    fn json_answer(status: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// Runs the follower against `answers` until it has sent `count` messages.
    async fn follow_against(answers: Vec<String>, count: usize) -> (Vec<Msg>, Vec<String>) {
        let (base, mut heads) = canned(answers).await;
        let client = AdminClient::new(&base, "sadm_x").unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(follow(client, Some("t1".into()), 1, tx));
        let mut msgs = Vec::new();
        while msgs.len() < count {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(msg)) => msgs.push(msg),
                _ => break,
            }
        }
        task.abort();
        let mut requests = Vec::new();
        while let Ok(head) = heads.try_recv() {
            requests.push(head);
        }
        (msgs, requests)
    }

    #[tokio::test]
    async fn unreadable_entries_are_counted_and_never_asked_for_again() {
        // Newest first: the newest entry of the backlog is one this client cannot read.
        let backlog = format!(
            r#"{{"items":[{{"id":2,"shape":"new"}},{}]}}"#,
            entry_json(1)
        );
        let bad = "event: activity\nid: 3\ndata: {\"id\": \"?\"}\n\n";
        let (msgs, requests) = follow_against(
            vec![
                json_answer("200 OK", &backlog),
                event_stream(bad),
                event_stream(""),
            ],
            6,
        )
        .await;
        let arrived: Vec<_> = msgs
            .iter()
            .filter_map(|m| match m {
                Msg::LogArrived {
                    entries,
                    unreadable,
                    ..
                } => Some((
                    entries.iter().map(|e| e.id).collect::<Vec<_>>(),
                    *unreadable,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(arrived, vec![(vec![1], 1), (vec![], 1)], "{msgs:?}");
        let resumed = |at: usize| {
            requests
                .get(at)
                .unwrap_or_else(|| panic!("request {at}: {requests:?}"))
                .to_lowercase()
        };
        assert!(resumed(1).contains("last-event-id: 2"), "{}", resumed(1));
        assert!(resumed(2).contains("last-event-id: 3"), "{}", resumed(2));
    }

    #[tokio::test]
    async fn a_refused_key_stops_the_follower() {
        let refused = json_answer("401 Unauthorized", r#"{"code":"x","message":"no"}"#);
        let (msgs, requests) = follow_against(vec![refused.clone(), refused], 2).await;
        assert!(
            matches!(
                msgs.as_slice(),
                [Msg::LogStream { state: StreamState::Stopped(err), .. }] if err.status() == Some(401)
            ),
            "{msgs:?}"
        );
        assert_eq!(requests.len(), 1, "not retried");
    }
}
