//! The dashboard's state and its transitions (the Elm architecture): key presses, API
//! replies and stream entries arrive as [`Msg`]s; [`App::update`] changes the state and
//! returns the [`Cmd`]s (API calls, clipboard) for the runtime to carry out. `update` does
//! no I/O, so every key path is a plain unit test.

pub mod connection;
pub mod keys;
pub mod log;
pub mod permission_keys;
pub mod permissions;

use crossterm::event::KeyEvent;

pub use self::connection::{Connection, KeySource, Problem};
use self::{
    log::{Detail, LogView, StreamState},
    permissions::{Change, GroupEditor, MappingEditor, Model, Paged, Pending, UserDetail},
};
use crate::{
    api::{
        ActivityDetail, ActivityEntry, Caller, Credential, CutOver, EffectivePermissions,
        IssueToken, IssuedToken, Page, PermissionGroupInput, PermissionPreview, Role, Secret,
        SyncHealth, SyncedGroup, SyncedUser, Tenant,
    },
    client::Error,
};

/// The data behind a screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loadable<T> {
    Loading,
    Loaded(T),
    Failed(String),
}

impl<T> Loadable<T> {
    pub fn loaded(&self) -> Option<&T> {
        match self {
            Self::Loaded(value) => Some(value),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Loadable<U> {
        match self {
            Self::Loading => Loadable::Loading,
            Self::Loaded(value) => Loadable::Loaded(f(value)),
            Self::Failed(err) => Loadable::Failed(err),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Tenants,
    Overview,
    Tokens,
    Log,
    Groups,
    Users,
    Products,
}

impl Screen {
    pub fn title(self) -> &'static str {
        match self {
            Self::Tenants => "Tenants",
            Self::Overview => "Overview",
            Self::Tokens => "Tokens",
            Self::Log => "Live log",
            Self::Groups => "Groups",
            Self::Users => "Users",
            Self::Products => "Products",
        }
    }
}

/// A tenant in the list, with its sync health when the server gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    pub tenant: Tenant,
    pub health: Option<SyncHealth>,
}

/// What the overview and tokens screens show of the open tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDetail {
    pub tenant: Tenant,
    pub health: SyncHealth,
    pub tokens: Vec<Credential>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateMode {
    /// The old token ends when the new one is first used (at most after the overlap).
    OnFirstUse,
    /// The old token ends when the overlap is over.
    AfterOverlap,
    /// The old token ends now.
    Immediately,
}

/// Overlaps offered, in seconds, with their labels.
pub const OVERLAPS: [(u32, &str); 4] = [
    (600, "10 minutes"),
    (3600, "1 hour"),
    (86_400, "1 day"),
    (604_800, "7 days"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotateForm {
    pub mode: RotateMode,
    /// Index into [`OVERLAPS`].
    pub overlap: usize,
}

impl RotateForm {
    pub fn body(self) -> IssueToken {
        let (seconds, _) = OVERLAPS[self.overlap.min(OVERLAPS.len() - 1)];
        let (overlap_seconds, cut_over) = match self.mode {
            RotateMode::OnFirstUse => (seconds, CutOver::OnFirstUse),
            RotateMode::AfterOverlap => (seconds, CutOver::AfterOverlap),
            RotateMode::Immediately => (0, CutOver::AfterOverlap),
        };
        IssueToken {
            name: None,
            overlap_seconds,
            cut_over,
        }
    }
}

/// A dialog over the screen; it takes the keys while open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    CreateTenant {
        name: String,
    },
    /// Deleting needs the tenant's name typed out.
    DeleteTenant {
        id: String,
        name: String,
        typed: String,
    },
    Rotate(RotateForm),
    ConfirmRotate(RotateForm),
    ConfirmRevoke {
        token_id: String,
    },
    /// The new token, shown this once.
    TokenShown {
        issued: IssuedToken,
        copied: bool,
        /// Closing was asked for once without copying; the next close is final.
        warned: bool,
    },
    LogText {
        text: String,
    },
    /// A name filter for the groups or users list.
    Search {
        screen: Screen,
        text: String,
    },
    Mapping(MappingEditor),
    /// An editor with unsaved changes that Esc or `q` would throw away.
    Discard {
        editor: Box<Modal>,
        /// `q` asked: yes quits the dashboard too.
        quit: bool,
    },
    /// A previewed change: who gains and loses what; `y` saves it.
    Preview(Pending),
    CreateProduct {
        name: String,
    },
    PermissionGroup(Box<GroupEditor>),
    ConfirmDelete(Deletion),
}

/// Something of the permission model to delete, once confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    Product {
        id: String,
        name: String,
    },
    PermissionGroup {
        product: String,
        id: String,
        name: String,
    },
}

/// A one-line message in the footer until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// A quarter second passed: spinners, periodic refresh.
    Tick,
    /// Time to try connecting again (after the failure of attempt number `.0`).
    Retry(u64),
    /// No admin key to connect with (yet: a server's first start writes one).
    KeyMissing,
    Connected(Result<Caller, Error>),
    Tenants(Result<Vec<TenantRow>, Error>),
    TenantCreated(Result<Tenant, Error>),
    /// The deleted tenant's id and name.
    TenantDeleted(Result<(String, String), Error>),
    Detail {
        tenant: String,
        result: Result<TenantDetail, Error>,
    },
    TokenIssued {
        tenant: String,
        result: Result<IssuedToken, Error>,
    },
    TokenRevoked {
        tenant: String,
        result: Result<String, Error>,
    },
    LogArrived {
        generation: u64,
        entries: Vec<ActivityEntry>,
        /// Entries the stream sent that this dashboard could not read (skipped).
        unreadable: usize,
    },
    LogStream {
        generation: u64,
        state: StreamState,
    },
    Entry {
        id: i64,
        result: Result<ActivityDetail, Error>,
    },
    /// The entry of a request looked up by its id (a jump from a user's grant).
    RequestEntry {
        request_id: String,
        result: Result<Option<ActivityDetail>, Error>,
    },
    /// The page asked for by request number `request`.
    Groups {
        request: u64,
        result: Result<Page<SyncedGroup>, Error>,
    },
    Users {
        request: u64,
        result: Result<Page<SyncedUser>, Error>,
    },
    Model {
        tenant: String,
        result: Result<Model, Error>,
    },
    Previewed {
        tenant: String,
        change: Change,
        result: Result<PermissionPreview, Error>,
    },
    /// A change to the permission model was saved (or failed); the text says which.
    Saved(Result<String, Error>),
    UserPermissions {
        user: String,
        result: Result<EffectivePermissions, Error>,
    },
}

/// Work for the runtime; each ends in a `Msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Connect,
    /// Sends `Msg::Retry` with this attempt number after a pause.
    RetryLater(u64),
    LoadTenants,
    CreateTenant(String),
    DeleteTenant {
        id: String,
        name: String,
    },
    LoadDetail(String),
    IssueToken {
        tenant: String,
        body: IssueToken,
    },
    RevokeToken {
        tenant: String,
        token: String,
    },
    /// Replaces the current log stream: the newest entries, then live.
    FollowLog {
        tenant: Option<String>,
        generation: u64,
    },
    LoadEntry {
        tenant: String,
        id: i64,
    },
    FindRequest {
        tenant: String,
        request_id: String,
    },
    /// A page of synced groups (the first when `cursor` is `None`); the answer carries
    /// `request`, so an answer to an older request is recognised and dropped.
    LoadGroups {
        tenant: String,
        search: String,
        cursor: Option<String>,
        request: u64,
    },
    LoadUsers {
        tenant: String,
        search: String,
        cursor: Option<String>,
        request: u64,
    },
    LoadModel(String),
    LoadUserPermissions {
        tenant: String,
        user: String,
    },
    /// Asks the server what `change` would do (`dryRun`).
    Preview {
        tenant: String,
        change: Change,
    },
    Apply {
        tenant: String,
        change: Change,
    },
    CreateProduct {
        tenant: String,
        name: String,
    },
    SavePermissionGroup {
        tenant: String,
        product: String,
        id: Option<String>,
        input: PermissionGroupInput,
    },
    Delete {
        tenant: String,
        what: Deletion,
    },
    /// Puts text on the terminal's clipboard (OSC 52).
    Copy(Secret),
}

/// Data the periodic refresh reloads; one request of each kind at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refresh {
    Tenants,
    Detail,
    Model,
}

impl Cmd {
    fn refresh(&self) -> Option<Refresh> {
        match self {
            Self::LoadTenants => Some(Refresh::Tenants),
            Self::LoadDetail(_) => Some(Refresh::Detail),
            Self::LoadModel(_) => Some(Refresh::Model),
            _ => None,
        }
    }
}

/// Ticks between refreshes of the screen's data (5 s).
const REFRESH_TICKS: u64 = 20;

#[derive(Debug, Clone)]
pub struct App {
    pub server_url: String,
    pub key_source: KeySource,
    pub connection: Connection,
    pub screen: Screen,
    pub tenants: Loadable<Vec<TenantRow>>,
    pub tenant_cursor: usize,
    /// Shows only tenants whose name contains this (any case).
    pub tenant_filter: String,
    /// The tenant opened (always the own one for a tenant-admin key).
    pub tenant: Option<Tenant>,
    pub detail: Loadable<TenantDetail>,
    pub token_cursor: usize,
    pub log: LogView,
    pub groups: Paged<SyncedGroup>,
    pub users: Paged<SyncedUser>,
    pub model: Loadable<Model>,
    pub product_cursor: usize,
    /// The user whose permissions the users screen shows.
    pub user_detail: Option<Loadable<UserDetail>>,
    pub modal: Option<Modal>,
    pub notice: Option<Notice>,
    /// A change on its way to the server, for the spinner.
    pub pending: Option<&'static str>,
    pub show_help: bool,
    pub quitting: bool,
    /// `q` was pressed once while a change was on its way; the next `q` quits.
    pub quit_asked: bool,
    /// Printed to standard output after the terminal is restored.
    pub print_on_exit: Option<String>,
    pub ticks: u64,
    /// The API could not be reached on the last refresh.
    pub disconnected: bool,
    /// Connection attempts so far; a retry timer of an earlier attempt is ignored.
    pub attempt: u64,
    /// Page requests so far; numbers the answers of the paged lists.
    pub page_requests: u64,
    /// Reloads on their way, by kind, which the periodic refresh does not ask for again.
    pub in_flight: std::collections::BTreeMap<Refresh, usize>,
    /// The dialog a submitted change came from, reopened with its input if the change
    /// fails or its preview is declined.
    pub reopen: Option<Modal>,
    /// The admin key of the last session, to tell a reconnect from a new sign-in.
    pub signed_in_as: Option<String>,
}

impl App {
    pub fn new(server_url: String, key_source: KeySource) -> Self {
        Self {
            server_url,
            key_source,
            connection: Connection::Connecting,
            screen: Screen::Tenants,
            tenants: Loadable::Loading,
            tenant_cursor: 0,
            tenant_filter: String::new(),
            tenant: None,
            detail: Loadable::Loading,
            token_cursor: 0,
            log: LogView::new(),
            groups: Paged::default(),
            users: Paged::default(),
            model: Loadable::Loading,
            product_cursor: 0,
            user_detail: None,
            modal: None,
            notice: None,
            pending: None,
            show_help: false,
            quitting: false,
            quit_asked: false,
            print_on_exit: None,
            ticks: 0,
            disconnected: false,
            attempt: 0,
            page_requests: 0,
            in_flight: std::collections::BTreeMap::new(),
            reopen: None,
            signed_in_as: None,
        }
    }

    /// Connects (again): the runtime reads the key anew each time.
    pub fn start(&mut self) -> Vec<Cmd> {
        self.attempt += 1;
        self.connection = Connection::Connecting;
        vec![Cmd::Connect]
    }

    pub fn caller(&self) -> Option<&Caller> {
        match &self.connection {
            Connection::Ready(caller) => Some(caller),
            _ => None,
        }
    }

    pub fn is_operator(&self) -> bool {
        self.caller().is_some_and(|c| c.role == Role::Operator)
    }

    /// The screens Tab moves between, in order.
    pub fn screens(&self) -> Vec<Screen> {
        match (&self.tenant, self.is_operator()) {
            (None, _) => vec![Screen::Tenants, Screen::Log],
            (Some(_), true) => vec![
                Screen::Tenants,
                Screen::Overview,
                Screen::Tokens,
                Screen::Log,
                Screen::Groups,
                Screen::Users,
                Screen::Products,
            ],
            (Some(_), false) => vec![
                Screen::Overview,
                Screen::Tokens,
                Screen::Log,
                Screen::Groups,
                Screen::Users,
                Screen::Products,
            ],
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        let cmds = self.handle(msg);
        for cmd in &cmds {
            if let Some(kind) = cmd.refresh() {
                *self.in_flight.entry(kind).or_default() += 1;
            }
        }
        cmds
    }

    fn answered(&mut self, kind: Refresh) {
        if let Some(count) = self.in_flight.get_mut(&kind) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.in_flight.remove(&kind);
            }
        }
    }

    /// A submitted change failed: its dialog comes back with what was typed.
    fn failed_change(&mut self, err: &Error) -> Vec<Cmd> {
        self.fail(err);
        let reopen = self.reopen.take();
        if self.modal.is_none() && matches!(self.connection, Connection::Ready(_)) {
            self.modal = reopen;
        }
        Vec::new()
    }

    fn handle(&mut self, msg: Msg) -> Vec<Cmd> {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Tick => self.tick(),
            Msg::Retry(attempt) => {
                if attempt == self.attempt
                    && let Connection::Failed(problem) = &self.connection
                    && problem.retrying
                {
                    return self.start();
                }
                Vec::new()
            }
            Msg::Connected(result) => self.connected(result),
            Msg::KeyMissing => {
                let path = match &self.key_source {
                    KeySource::File(path) | KeySource::Missing(path) => path.clone(),
                    KeySource::Env => "data/operator.key".into(),
                };
                self.connection = Connection::Failed(Problem::no_key(&path));
                vec![Cmd::RetryLater(self.attempt)]
            }
            Msg::Tenants(result) => {
                self.answered(Refresh::Tenants);
                let tenants = std::mem::replace(&mut self.tenants, Loadable::Loading);
                self.tenants = self.reloaded(tenants, result);
                let shown = self.visible_tenants().len();
                self.tenant_cursor = self.tenant_cursor.min(shown.saturating_sub(1));
                Vec::new()
            }
            Msg::TenantCreated(result) => {
                self.pending = None;
                match result {
                    Ok(tenant) => {
                        self.reopen = None;
                        self.inform(format!("Created tenant {}", tenant.name));
                        vec![Cmd::LoadTenants]
                    }
                    Err(err) => self.failed_change(&err),
                }
            }
            Msg::TenantDeleted(result) => {
                self.pending = None;
                match result {
                    Ok((id, name)) => {
                        self.inform(format!("Deleted tenant {name}"));
                        if self.is_open(&id) {
                            return self.close_tenant();
                        }
                        vec![Cmd::LoadTenants]
                    }
                    Err(err) => self.fail(&err),
                }
            }
            Msg::Detail { tenant, result } => {
                self.answered(Refresh::Detail);
                if self.is_open(&tenant) {
                    let detail = std::mem::replace(&mut self.detail, Loadable::Loading);
                    self.detail = self.reloaded(detail, result);
                    if let Loadable::Loaded(detail) = &self.detail {
                        self.token_cursor =
                            self.token_cursor.min(detail.tokens.len().saturating_sub(1));
                        self.tenant = Some(detail.tenant.clone());
                    }
                }
                Vec::new()
            }
            Msg::TokenIssued { tenant, result } => {
                self.pending = None;
                match result {
                    // Shown whatever else is on screen: it is the only time it can be.
                    Ok(issued) => {
                        self.modal = Some(Modal::TokenShown {
                            issued,
                            copied: false,
                            warned: false,
                        });
                        vec![Cmd::LoadDetail(tenant)]
                    }
                    Err(err) => self.fail(&err),
                }
            }
            Msg::TokenRevoked { tenant, result } => {
                self.pending = None;
                match result {
                    Ok(token) => {
                        self.inform(format!("Revoked token {token}"));
                        vec![Cmd::LoadDetail(tenant)]
                    }
                    Err(err) => self.fail(&err),
                }
            }
            Msg::LogArrived {
                generation,
                entries,
                unreadable,
            } => {
                if generation == self.log.generation {
                    self.log.unreadable = self.log.unreadable.saturating_add(unreadable);
                    self.log.arrive(entries);
                }
                Vec::new()
            }
            Msg::LogStream { generation, state } => {
                if generation != self.log.generation {
                    return Vec::new();
                }
                let refused = match &state {
                    StreamState::Stopped(err) if err.status() == Some(401) => Some(err.clone()),
                    _ => None,
                };
                self.log.stream = state;
                if let Some(err) = refused {
                    self.refused(&err);
                }
                Vec::new()
            }
            Msg::RequestEntry { request_id, result } => {
                if self.log.detail != Some(Detail::Finding(request_id.clone())) {
                    return Vec::new();
                }
                // The entry is in the buffer now or never (the stream brings only newer
                // ones): stop looking for it.
                self.log.select_wanted();
                self.log.wanted_request = None;
                self.log.detail = Some(match result {
                    Ok(Some(detail)) => Detail::Loaded(Box::new(detail)),
                    Ok(None) => Detail::Missing(request_id),
                    Err(err) => {
                        self.refused(&err);
                        Detail::FindFailed(request_id, err.to_string())
                    }
                });
                Vec::new()
            }
            Msg::Groups { request, result } => {
                if self.groups.awaits(request) {
                    self.paged_arrived(|app| &mut app.groups, result);
                    return self.more_groups();
                }
                Vec::new()
            }
            Msg::Users { request, result } => {
                if self.users.awaits(request) {
                    self.paged_arrived(|app| &mut app.users, result);
                    return self.more_users();
                }
                Vec::new()
            }
            Msg::Model { tenant, result } => {
                self.answered(Refresh::Model);
                if self.is_open(&tenant) {
                    let model = std::mem::replace(&mut self.model, Loadable::Loading);
                    self.model = self.reloaded(model, result);
                    let rows = self.model.loaded().map_or(0, |m| m.rows().len());
                    self.product_cursor = self.product_cursor.min(rows.saturating_sub(1));
                }
                Vec::new()
            }
            Msg::Previewed {
                tenant,
                change,
                result,
            } => {
                self.pending = None;
                if !self.is_open(&tenant) {
                    self.reopen = None;
                    self.inform("A preview came for a tenant no longer open; dropped".into());
                    return Vec::new();
                }
                match result {
                    Ok(_) if self.modal.is_some() => {
                        self.reopen = None;
                        self.inform("The preview came while a dialog was open; ask again".into());
                        Vec::new()
                    }
                    Ok(preview) => {
                        self.modal = Some(Modal::Preview(Pending { change, preview }));
                        Vec::new()
                    }
                    Err(err) => self.failed_change(&err),
                }
            }
            Msg::Saved(result) => {
                self.pending = None;
                match result {
                    Ok(text) => {
                        self.reopen = None;
                        self.inform(text);
                        self.reload_permissions()
                    }
                    Err(err) => self.failed_change(&err),
                }
            }
            Msg::UserPermissions { user, result } => {
                let wanted = self.users.selected().is_some_and(|u| u.id == user);
                if wanted && self.user_detail.is_some() {
                    self.user_detail = Some(self.loaded(result).map(|permissions| UserDetail {
                        permissions,
                        grant: 0,
                    }));
                }
                Vec::new()
            }
            Msg::Entry { id, result } => {
                if self.log.detail != Some(Detail::Loading(id)) {
                    return Vec::new();
                }
                self.log.detail = Some(match result {
                    Ok(detail) => Detail::Loaded(Box::new(detail)),
                    Err(err) => {
                        self.refused(&err);
                        Detail::Failed(id, err.to_string())
                    }
                });
                Vec::new()
            }
        }
    }

    fn connected(&mut self, result: Result<Caller, Error>) -> Vec<Cmd> {
        let caller = match result {
            Ok(caller) => caller,
            Err(err) => {
                let problem = Problem::of(&err, &self.server_url, &self.key_source);
                let retrying = problem.retrying;
                self.connection = Connection::Failed(problem);
                return if retrying {
                    vec![Cmd::RetryLater(self.attempt)]
                } else {
                    Vec::new()
                };
            }
        };
        if let Some(problem) = Problem::version(&caller) {
            self.connection = Connection::Failed(problem);
            return Vec::new();
        }
        if self
            .signed_in_as
            .as_ref()
            .is_some_and(|before| *before != caller.key_id)
        {
            // Another key (the key file was replaced): nothing of the last session's
            // data, dialogs or changes belongs to this one.
            *self = Self {
                print_on_exit: self.print_on_exit.take(),
                ticks: self.ticks,
                attempt: self.attempt,
                page_requests: self.page_requests,
                ..Self::new(self.server_url.clone(), self.key_source.clone())
            };
        }
        self.signed_in_as = Some(caller.key_id.clone());
        // Answers lost with the last connection are not waited for.
        self.in_flight.clear();
        let own_tenant = caller.tenant_id.clone();
        self.connection = Connection::Ready(caller);
        self.disconnected = false;
        let mut cmds = vec![Cmd::LoadTenants];
        if let Some(tenant) = own_tenant {
            // A tenant admin's dashboard is its tenant's; the tenant list holds only it.
            self.screen = Screen::Overview;
            self.tenant = Some(Tenant {
                id: tenant.clone(),
                name: tenant.clone(),
                scim_url: String::new(),
                created_at: chrono::DateTime::UNIX_EPOCH,
            });
            cmds.push(Cmd::LoadDetail(tenant));
        }
        cmds.push(self.follow_log());
        cmds
    }

    fn tick(&mut self) -> Vec<Cmd> {
        self.ticks += 1;
        if self.caller().is_none() || !self.ticks.is_multiple_of(REFRESH_TICKS) {
            return Vec::new();
        }
        self.periodic_refresh()
    }

    /// Reloads what the current screen shows.
    pub fn refresh(&mut self) -> Vec<Cmd> {
        let Some(tenant) = self.tenant.as_ref().map(|t| t.id.clone()) else {
            return match self.screen {
                Screen::Tenants => vec![Cmd::LoadTenants],
                _ => Vec::new(),
            };
        };
        match self.screen {
            Screen::Tenants => vec![Cmd::LoadTenants],
            Screen::Overview | Screen::Tokens => vec![Cmd::LoadDetail(tenant)],
            Screen::Log => Vec::new(),
            Screen::Groups => {
                let search = self.groups.search.clone();
                let mut cmds = vec![Cmd::LoadModel(tenant)];
                cmds.extend(self.search_groups(search));
                cmds
            }
            Screen::Users => {
                let search = self.users.search.clone();
                self.search_users(search)
            }
            Screen::Products => vec![Cmd::LoadModel(tenant)],
        }
    }

    /// The periodic refresh: lists that page and scroll keep their place and reload only
    /// on `r`.
    fn periodic_refresh(&mut self) -> Vec<Cmd> {
        if matches!(self.screen, Screen::Groups | Screen::Users) {
            return Vec::new();
        }
        let mut cmds = self.refresh();
        cmds.retain(|cmd| {
            cmd.refresh()
                .is_none_or(|kind| !self.in_flight.contains_key(&kind))
        });
        cmds
    }

    /// After a change was saved: what shows the permission model again.
    fn reload_permissions(&mut self) -> Vec<Cmd> {
        match self.screen {
            Screen::Groups | Screen::Products => self.refresh(),
            _ => Vec::new(),
        }
    }

    fn is_open(&self, tenant: &str) -> bool {
        self.tenant.as_ref().is_some_and(|t| t.id == tenant)
    }

    fn paged_arrived<T>(
        &mut self,
        list: impl Fn(&mut Self) -> &mut Paged<T>,
        result: Result<Page<T>, Error>,
    ) {
        match result {
            Ok(page) => {
                self.disconnected = false;
                let list = list(self);
                list.items.extend(page.items);
                list.next = page.next_cursor;
                list.loading = false;
                list.error = None;
            }
            Err(err) => {
                self.disconnected = matches!(err, Error::Unreachable(_));
                self.refused(&err);
                let list = list(self);
                list.loading = false;
                list.error = Some(err.to_string());
            }
        }
    }

    /// A number for the next page request; only its answer is taken.
    fn next_page_request(&mut self) -> u64 {
        self.page_requests += 1;
        self.page_requests
    }

    /// The groups list from its first page, for `search`.
    pub(crate) fn search_groups(&mut self, search: String) -> Vec<Cmd> {
        self.groups.reset(search);
        self.more_groups()
    }

    pub(crate) fn search_users(&mut self, search: String) -> Vec<Cmd> {
        self.users.reset(search);
        self.user_detail = None;
        self.more_users()
    }

    /// The next page of groups, if the cursor is near the end of what is loaded.
    pub(crate) fn more_groups(&mut self) -> Vec<Cmd> {
        let Some(tenant) = self.tenant.as_ref().map(|t| t.id.clone()) else {
            return Vec::new();
        };
        if !self.groups.wants_more() {
            return Vec::new();
        }
        let request = self.next_page_request();
        let groups = &mut self.groups;
        groups.ask(request);
        vec![Cmd::LoadGroups {
            tenant,
            search: groups.search.clone(),
            cursor: groups.next.clone(),
            request,
        }]
    }

    pub(crate) fn more_users(&mut self) -> Vec<Cmd> {
        let Some(tenant) = self.tenant.as_ref().map(|t| t.id.clone()) else {
            return Vec::new();
        };
        if !self.users.wants_more() {
            return Vec::new();
        }
        let request = self.next_page_request();
        let users = &mut self.users;
        users.ask(request);
        vec![Cmd::LoadUsers {
            tenant,
            search: users.search.clone(),
            cursor: users.next.clone(),
            request,
        }]
    }

    /// Follows the log of the open tenant (or every tenant) from a fresh buffer.
    fn follow_log(&mut self) -> Cmd {
        let tenant = self.tenant.as_ref().map(|t| t.id.clone());
        let generation = self.log.restart(tenant.clone());
        Cmd::FollowLog { tenant, generation }
    }

    /// Keeps a loaded value, and says what failed in the footer.
    fn loaded<T>(&mut self, result: Result<T, Error>) -> Loadable<T> {
        match result {
            Ok(value) => {
                self.disconnected = false;
                Loadable::Loaded(value)
            }
            Err(err) => {
                self.disconnected = matches!(err, Error::Unreachable(_));
                let _ = self.fail(&err);
                Loadable::Failed(err.to_string())
            }
        }
    }

    /// Like [`Self::loaded`], but a failed reload keeps what was shown before (the footer
    /// says it is stale).
    fn reloaded<T>(&mut self, before: Loadable<T>, result: Result<T, Error>) -> Loadable<T> {
        match (self.loaded(result), before) {
            (Loadable::Failed(_), before @ Loadable::Loaded(_)) => before,
            (now, _) => now,
        }
    }

    fn inform(&mut self, text: String) {
        self.notice = Some(Notice { text, error: false });
    }

    fn fail(&mut self, err: &Error) -> Vec<Cmd> {
        self.notice = Some(Notice {
            text: err.to_string(),
            error: true,
        });
        self.refused(err);
        Vec::new()
    }

    /// A key the server no longer takes (revoked, expired) ends the session: the
    /// connection screen says so, and `r` tries again.
    fn refused(&mut self, err: &Error) {
        // A token shown once stays until it is closed; the next refusal ends the session.
        let token_shown = matches!(self.modal, Some(Modal::TokenShown { .. }));
        if err.status() == Some(401)
            && !token_shown
            && matches!(self.connection, Connection::Ready(_))
        {
            self.connection =
                Connection::Failed(Problem::of(err, &self.server_url, &self.key_source));
            self.pending = None;
        }
    }

    /// Opens `tenant`: its overview, and its log.
    fn open_tenant(&mut self, tenant: Tenant) -> Vec<Cmd> {
        let id = tenant.id.clone();
        self.reopen = None;
        self.tenant = Some(tenant);
        self.detail = Loadable::Loading;
        self.token_cursor = 0;
        self.groups = Paged::default();
        self.users = Paged::default();
        self.model = Loadable::Loading;
        self.product_cursor = 0;
        self.user_detail = None;
        self.screen = Screen::Overview;
        vec![Cmd::LoadDetail(id), self.follow_log()]
    }

    /// Back to the tenant list and every tenant's log (operators only).
    fn close_tenant(&mut self) -> Vec<Cmd> {
        if !self.is_operator() || self.tenant.is_none() {
            return Vec::new();
        }
        self.tenant = None;
        self.reopen = None;
        self.screen = Screen::Tenants;
        vec![Cmd::LoadTenants, self.follow_log()]
    }

    /// The tenants the list shows: all, or those the filter names.
    pub fn visible_tenants(&self) -> Vec<&TenantRow> {
        let needle = self.tenant_filter.to_lowercase();
        self.tenants
            .loaded()
            .map(|rows| {
                rows.iter()
                    .filter(|row| {
                        needle.is_empty() || row.tenant.name.to_lowercase().contains(&needle)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn selected_tenant(&self) -> Option<&TenantRow> {
        self.visible_tenants().get(self.tenant_cursor).copied()
    }

    pub fn selected_token(&self) -> Option<&Credential> {
        self.detail.loaded()?.tokens.get(self.token_cursor)
    }

    fn issue(&mut self, form: RotateForm) -> Vec<Cmd> {
        let Some(tenant) = &self.tenant else {
            return Vec::new();
        };
        self.pending = Some("Issuing a new token");
        vec![Cmd::IssueToken {
            tenant: tenant.id.clone(),
            body: form.body(),
        }]
    }
}

#[cfg(test)]
pub mod tests;
