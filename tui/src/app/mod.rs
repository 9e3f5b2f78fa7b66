//! The dashboard's state and its transitions (the Elm architecture): key presses, API
//! replies and stream entries arrive as [`Msg`]s; [`App::update`] changes the state and
//! returns the [`Cmd`]s (API calls, clipboard) for the runtime to carry out. `update` does
//! no I/O, so every key path is a plain unit test.

pub mod connection;
pub mod keys;
pub mod log;

use crossterm::event::KeyEvent;

pub use self::connection::{Connection, KeySource, Problem};
use self::log::{Detail, LogView, StreamState};
use crate::{
    api::{
        ActivityDetail, ActivityEntry, Caller, Credential, CutOver, IssueToken, IssuedToken, Role,
        SyncHealth, Tenant,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Tenants,
    Overview,
    Tokens,
    Log,
}

impl Screen {
    pub fn title(self) -> &'static str {
        match self {
            Self::Tenants => "Tenants",
            Self::Overview => "Overview",
            Self::Tokens => "Tokens",
            Self::Log => "Live log",
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
    /// The tenant opened (always the own one for a tenant-admin key).
    pub tenant: Option<Tenant>,
    pub detail: Loadable<TenantDetail>,
    pub token_cursor: usize,
    pub log: LogView,
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
            tenant: None,
            detail: Loadable::Loading,
            token_cursor: 0,
            log: LogView::new(),
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
            ],
            (Some(_), false) => vec![Screen::Overview, Screen::Tokens, Screen::Log],
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
                if let Loadable::Loaded(rows) = &self.tenants {
                    self.tenant_cursor = self.tenant_cursor.min(rows.len().saturating_sub(1));
                }
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
        self.refresh()
    }

    /// Reloads what the current screen shows.
    pub fn refresh(&self) -> Vec<Cmd> {
        match (self.screen, &self.tenant) {
            (Screen::Tenants, _) => vec![Cmd::LoadTenants],
            (Screen::Overview | Screen::Tokens, Some(tenant)) => {
                vec![Cmd::LoadDetail(tenant.id.clone())]
            }
            _ => Vec::new(),
        }
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

    pub fn selected_tenant(&self) -> Option<&TenantRow> {
        self.tenants.loaded()?.get(self.tenant_cursor)
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
