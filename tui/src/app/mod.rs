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
        IssueToken, IssuedToken, Page, PermissionGroupInput, PermissionPreview, Role, SyncHealth,
        SyncedGroup, SyncedUser, Tenant,
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
    /// A previewed change: who gains and loses what; `y` saves it.
    Preview(Pending),
    CreateProduct {
        name: String,
    },
    PermissionGroup(GroupEditor),
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
    /// Time to try connecting again.
    Retry,
    Connected(Result<Caller, Error>),
    Tenants(Result<Vec<TenantRow>, Error>),
    TenantCreated(Result<Tenant, Error>),
    TenantDeleted(Result<String, Error>),
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
    },
    LogStream {
        generation: u64,
        state: StreamState,
    },
    Entry(Result<ActivityDetail, Error>),
    /// The entry of a request looked up by its id (a jump from a user's grant).
    RequestEntry {
        request_id: String,
        result: Result<Option<ActivityDetail>, Error>,
    },
    Groups {
        tenant: String,
        search: String,
        result: Result<Page<SyncedGroup>, Error>,
    },
    Users {
        tenant: String,
        search: String,
        result: Result<Page<SyncedUser>, Error>,
    },
    Model {
        tenant: String,
        result: Result<Model, Error>,
    },
    Previewed {
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
    RetryLater,
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
    /// A page of synced groups (the first when `cursor` is `None`).
    LoadGroups {
        tenant: String,
        search: String,
        cursor: Option<String>,
    },
    LoadUsers {
        tenant: String,
        search: String,
        cursor: Option<String>,
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
    Copy(String),
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
    /// Printed to standard output after the terminal is restored.
    pub print_on_exit: Option<String>,
    pub ticks: u64,
    /// The API could not be reached on the last refresh.
    pub disconnected: bool,
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
            print_on_exit: None,
            ticks: 0,
            disconnected: false,
        }
    }

    /// The first commands: connect, or say why it cannot.
    pub fn start(&mut self) -> Vec<Cmd> {
        if let KeySource::Missing(path) = &self.key_source {
            self.connection = Connection::Failed(Problem::no_key(path));
            return Vec::new();
        }
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
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Tick => self.tick(),
            Msg::Retry => {
                if let Connection::Failed(problem) = &self.connection
                    && problem.retrying
                {
                    self.connection = Connection::Connecting;
                    return vec![Cmd::Connect];
                }
                Vec::new()
            }
            Msg::Connected(result) => self.connected(result),
            Msg::Tenants(result) => {
                self.tenants = self.loaded(result);
                let shown = self.visible_tenants().len();
                self.tenant_cursor = self.tenant_cursor.min(shown.saturating_sub(1));
                Vec::new()
            }
            Msg::TenantCreated(result) => {
                self.pending = None;
                match result {
                    Ok(tenant) => {
                        self.inform(format!("Created tenant {}", tenant.name));
                        vec![Cmd::LoadTenants]
                    }
                    Err(err) => self.fail(&err),
                }
            }
            Msg::TenantDeleted(result) => {
                self.pending = None;
                match result {
                    Ok(name) => {
                        self.inform(format!("Deleted tenant {name}"));
                        vec![Cmd::LoadTenants]
                    }
                    Err(err) => self.fail(&err),
                }
            }
            Msg::Detail { tenant, result } => {
                if self.tenant.as_ref().is_some_and(|t| t.id == tenant) {
                    self.detail = self.loaded(result);
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
                    Ok(issued) => {
                        self.modal = Some(Modal::TokenShown {
                            issued,
                            copied: false,
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
            } => {
                if generation == self.log.generation {
                    self.log.arrive(entries);
                }
                Vec::new()
            }
            Msg::LogStream { generation, state } => {
                if generation == self.log.generation {
                    self.log.stream = state;
                }
                Vec::new()
            }
            Msg::RequestEntry { request_id, result } => {
                if self.log.detail != Some(Detail::Finding(request_id.clone())) {
                    return Vec::new();
                }
                self.log.detail = Some(match result {
                    Ok(Some(detail)) => Detail::Loaded(Box::new(detail)),
                    Ok(None) => Detail::Missing(request_id),
                    Err(err) => Detail::FindFailed(request_id, err.to_string()),
                });
                Vec::new()
            }
            Msg::Groups {
                tenant,
                search,
                result,
            } => {
                if self.is_open(&tenant) && self.groups.search == search {
                    self.paged_arrived(|app| &mut app.groups, result);
                    return self.more_groups();
                }
                Vec::new()
            }
            Msg::Users {
                tenant,
                search,
                result,
            } => {
                if self.is_open(&tenant) && self.users.search == search {
                    self.paged_arrived(|app| &mut app.users, result);
                    return self.more_users();
                }
                Vec::new()
            }
            Msg::Model { tenant, result } => {
                if self.is_open(&tenant) {
                    self.model = self.loaded(result);
                }
                Vec::new()
            }
            Msg::Previewed { change, result } => {
                self.pending = None;
                match result {
                    Ok(preview) => {
                        self.modal = Some(Modal::Preview(Pending { change, preview }));
                        Vec::new()
                    }
                    Err(err) => self.fail(&err),
                }
            }
            Msg::Saved(result) => {
                self.pending = None;
                match result {
                    Ok(text) => {
                        self.inform(text);
                        self.reload_permissions()
                    }
                    Err(err) => self.fail(&err),
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
            Msg::Entry(result) => {
                let wanted = match &self.log.detail {
                    Some(Detail::Loading(id)) => *id,
                    _ => return Vec::new(),
                };
                self.log.detail = Some(match result {
                    Ok(detail) if detail.entry.id == wanted => Detail::Loaded(Box::new(detail)),
                    Ok(_) => return Vec::new(),
                    Err(err) => Detail::Failed(wanted, err.to_string()),
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
                    vec![Cmd::RetryLater]
                } else {
                    Vec::new()
                };
            }
        };
        if let Some(problem) = Problem::version(&caller) {
            self.connection = Connection::Failed(problem);
            return Vec::new();
        }
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
                self.groups.reset(search.clone());
                vec![
                    Cmd::LoadModel(tenant.clone()),
                    Cmd::LoadGroups {
                        tenant,
                        search,
                        cursor: None,
                    },
                ]
            }
            Screen::Users => {
                let search = self.users.search.clone();
                self.users.reset(search.clone());
                self.user_detail = None;
                vec![Cmd::LoadUsers {
                    tenant,
                    search,
                    cursor: None,
                }]
            }
            Screen::Products => vec![Cmd::LoadModel(tenant)],
        }
    }

    /// The periodic refresh: lists that page and scroll keep their place and reload only
    /// on `r`.
    fn periodic_refresh(&mut self) -> Vec<Cmd> {
        match self.screen {
            Screen::Groups | Screen::Users => Vec::new(),
            _ => self.refresh(),
        }
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
                let list = list(self);
                list.loading = false;
                list.error = Some(err.to_string());
            }
        }
    }

    /// The next page of groups, if the cursor is near the end of what is loaded.
    pub(crate) fn more_groups(&mut self) -> Vec<Cmd> {
        let Some(tenant) = &self.tenant else {
            return Vec::new();
        };
        if !self.groups.wants_more() {
            return Vec::new();
        }
        self.groups.loading = true;
        vec![Cmd::LoadGroups {
            tenant: tenant.id.clone(),
            search: self.groups.search.clone(),
            cursor: self.groups.next.clone(),
        }]
    }

    pub(crate) fn more_users(&mut self) -> Vec<Cmd> {
        let Some(tenant) = &self.tenant else {
            return Vec::new();
        };
        if !self.users.wants_more() {
            return Vec::new();
        }
        self.users.loading = true;
        vec![Cmd::LoadUsers {
            tenant: tenant.id.clone(),
            search: self.users.search.clone(),
            cursor: self.users.next.clone(),
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

    fn inform(&mut self, text: String) {
        self.notice = Some(Notice { text, error: false });
    }

    fn fail(&mut self, err: &Error) -> Vec<Cmd> {
        self.notice = Some(Notice {
            text: err.to_string(),
            error: true,
        });
        Vec::new()
    }

    /// Opens `tenant`: its overview, and its log.
    fn open_tenant(&mut self, tenant: Tenant) -> Vec<Cmd> {
        let id = tenant.id.clone();
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
