//! Command line and environment: every setting has a flag and an environment variable,
//! and the defaults run a single embedded-SQLite server on loopback.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    client_address::{self, TrustedProxies},
    connections::ConnectionLimits,
    rate_limit::RateLimitSettings,
};

#[derive(Debug, Parser)]
#[command(
    name = "scim-server",
    version,
    about = "Multi-tenant SCIM 2.0 provisioning server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once at start; boxing would only complicate the flags"
)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Print the OpenAPI document the server serves at `/openapi.json`.
    Openapi,
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage admin keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an operator key (sees every tenant) and print it once.
    CreateOperator {
        #[command(flatten)]
        database: DatabaseArgs,
        /// A label to recognise the key by later.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Directory for the embedded database and the bootstrap operator key.
    #[arg(long, env = "SCIM_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; defaults to the SQLite file `<data dir>/scim.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| crate::store::db::sqlite_url(&self.data_dir.join("scim.db")))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on.
    #[arg(long, env = "SCIM_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Externally visible base URL, used to build each tenant's SCIM URL. Defaults to `http://<bind>`.
    #[arg(long, env = "SCIM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Log output format.
    #[arg(long, env = "SCIM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log lines held while standard error is slow to take them; past this, lines are
    /// dropped (and counted) rather than holding up requests.
    #[arg(long, env = "SCIM_LOG_BUFFER_LINES", default_value_t = crate::logging::DEFAULT_BUFFER_LINES)]
    pub log_buffer_lines: usize,
    /// How long a verified credential is trusted without re-running argon2 (0 disables the cache).
    #[arg(long, env = "SCIM_TOKEN_CACHE_TTL_SECS", default_value_t = 60)]
    pub token_cache_ttl_secs: u64,
    /// Most credentials kept verified in memory at once.
    #[arg(long, env = "SCIM_TOKEN_CACHE_ENTRIES", default_value_t = 10_000)]
    pub token_cache_entries: usize,
    /// argon2 runs that may go on at once; each holds `--argon2-memory-kib` of memory while
    /// it runs.
    #[arg(long, env = "SCIM_ARGON2_CONCURRENCY", default_value_t = 1)]
    pub argon2_concurrency: usize,
    /// argon2id memory cost of new hashes, in KiB (hashes already stored keep their own).
    #[arg(long, env = "SCIM_ARGON2_MEMORY_KIB", default_value_t = Argon2Params::default().m_cost)]
    pub argon2_memory_kib: u32,
    /// argon2id passes of new hashes (hashes already stored keep their own).
    #[arg(long, env = "SCIM_ARGON2_PASSES", default_value_t = Argon2Params::default().t_cost)]
    pub argon2_passes: u32,
    /// Failed authentications per window, per client address and per credential id,
    /// before what fails from that address or on that id is answered 429.
    #[arg(long, env = "SCIM_AUTH_FAILURE_LIMIT", default_value_t = 20)]
    pub auth_failure_limit: u32,
    /// Length of the failed-authentication window, in seconds.
    #[arg(long, env = "SCIM_AUTH_FAILURE_WINDOW_SECS", default_value_t = 60)]
    pub auth_failure_window_secs: u64,
    /// Load balancers and proxies (addresses or networks like `10.0.0.0/8`, comma
    /// separated) whose `X-Forwarded-For` header names the client; nobody's by default.
    #[arg(long, env = "SCIM_TRUSTED_PROXIES", value_delimiter = ',', value_parser = client_address::parse_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Also serve the metrics, without authentication, at `/metrics` on this address (for
    /// a monitoring network only); on the main port they need an operator key
    /// (`/admin/v1/metrics`).
    #[arg(long, env = "SCIM_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// SCIM requests each tenant may make per rate-limit window, over all replicas;
    /// past it requests are answered 429 with `Retry-After`. 0 means no limit.
    #[arg(long, env = "SCIM_RATE_LIMIT_REQUESTS", default_value_t = RateLimitSettings::default().requests)]
    pub rate_limit_requests: u64,
    /// SCIM requests of one tenant served at once; more wait for a turn, 10 s at most,
    /// then get 429. By default three quarters of the PostgreSQL pool, 64 on SQLite.
    #[arg(long, env = "SCIM_TENANT_CONCURRENCY")]
    pub tenant_concurrency: Option<usize>,
    /// Length of the rate-limit window, in seconds.
    #[arg(long, env = "SCIM_RATE_LIMIT_WINDOW_SECS", default_value_t = RateLimitSettings::default().window.as_secs())]
    pub rate_limit_window_secs: u64,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SCIM_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: u64,
    /// Record every SCIM request in the provisioning log (`…/activity`); `false` turns it
    /// off (the README gives what recording costs).
    #[arg(long, env = "SCIM_ACTIVITY_LOG", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub activity_log: bool,
    /// Days the provisioning log keeps an entry.
    #[arg(long, env = "SCIM_ACTIVITY_RETENTION_DAYS", default_value_t = 30)]
    pub activity_retention_days: u32,
    /// Days the change events feed keeps an event.
    #[arg(long, env = "SCIM_EVENTS_RETENTION_DAYS", default_value_t = 30)]
    pub events_retention_days: u32,
    /// Most provisioning log entries kept, the newest; older ones are deleted with those
    /// past their retention (about 1,150 bytes each on disk). 0: no bound but the days.
    #[arg(long, env = "SCIM_ACTIVITY_MAX_ENTRIES", default_value_t = ActivitySettings::default().max_entries)]
    pub activity_max_entries: u64,
    /// Most change events kept, the newest of all tenants; older ones are deleted with those
    /// past their retention (about 400 bytes each on disk), and a consumer still behind them
    /// is told (410). 0: no bound but the days.
    #[arg(long, env = "SCIM_EVENTS_MAX_ENTRIES", default_value_t = ActivitySettings::default().events_max_entries)]
    pub events_max_entries: u64,
    /// Minutes without any request from a tenant's identity provider after which its sync
    /// health warns (Entra runs a cycle about every 40 minutes).
    #[arg(long, env = "SCIM_SILENCE_MINUTES", default_value_t = 120)]
    pub silence_minutes: u32,
    /// Provisioning log entries waiting to be written at most; past that new entries are
    /// dropped (and counted), never slowing SCIM down.
    #[arg(long, env = "SCIM_ACTIVITY_QUEUE", default_value_t = ActivitySettings::default().queue_capacity)]
    pub activity_queue: usize,
    /// Bytes of each request and response body the provisioning log keeps (after redaction).
    #[arg(long, env = "SCIM_ACTIVITY_BODY_BYTES", default_value_t = ActivitySettings::default().body_bytes)]
    pub activity_body_bytes: usize,
    /// SCIM list page size when the client sends no `count`.
    #[arg(long, env = "SCIM_DEFAULT_PAGE_SIZE", default_value_t = 100)]
    pub default_page_size: u64,
    /// Largest SCIM list page; announced in ServiceProviderConfig as `filter.maxResults`.
    #[arg(long, env = "SCIM_MAX_PAGE_SIZE", default_value_t = 1000)]
    pub max_page_size: u64,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub connections: ConnectionArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Connections served at once; past it new connections wait in the kernel's backlog
    /// until one closes. Defaults to 1,024, or less when the process's file-descriptor
    /// limit would not leave room for the database and the log.
    #[arg(long, env = "SCIM_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a connection may stay open with no request in flight; also the longest a
    /// request may go with no byte in or out (live streams send a keep-alive every 15 s).
    #[arg(long, env = "SCIM_IDLE_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().idle_timeout.as_secs())]
    pub idle_timeout_secs: u64,
    /// Seconds a client has to send a request's head (method, URL, headers) once it has
    /// sent its first byte; past it the connection is closed.
    #[arg(long, env = "SCIM_HEADER_READ_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().header_read_timeout.as_secs())]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body, counted from its head; past it
    /// the request is answered 408.
    #[arg(long, env = "SCIM_BODY_READ_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().body_read_timeout.as_secs())]
    pub body_read_timeout_secs: u64,
    /// Largest request head (request line and headers), in bytes; a larger one is
    /// answered 431.
    #[arg(long, env = "SCIM_MAX_HEADER_BYTES", default_value_t = ConnectionLimits::default().max_header_bytes)]
    pub max_header_bytes: usize,
}

impl ConnectionArgs {
    pub fn limits(&self) -> ConnectionLimits {
        let second = |secs: u64| Duration::from_secs(secs.max(1));
        ConnectionLimits {
            max_connections: self
                .max_connections
                .unwrap_or_else(default_max_connections)
                .max(1),
            idle_timeout: second(self.idle_timeout_secs),
            header_read_timeout: second(self.header_read_timeout_secs),
            body_read_timeout: second(self.body_read_timeout_secs),
            max_header_bytes: self.max_header_bytes,
        }
    }
}

/// 1,024, or what the soft file-descriptor limit leaves after 64 for the database files,
/// its connections and the log (the limit is 256 on some machines).
fn default_max_connections() -> usize {
    const RESERVED: usize = 64;
    let soft_limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3))
                .and_then(|soft| soft.parse::<usize>().ok())
        });
    let default = ConnectionLimits::default().max_connections;
    soft_limit.map_or(default, |limit| {
        default.min(limit.saturating_sub(RESERVED).max(16))
    })
}

#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// What an acknowledged SQLite write survives: `full` (also power loss; one fsync per
    /// committed batch) or `normal` (a crash of the process, not of the machine).
    #[arg(long, env = "SCIM_DURABILITY", value_enum, default_value_t = Durability::Full)]
    pub durability: Durability,
    /// Writes that may wait for the SQLite writer; beyond it writes are answered 503 with
    /// Retry-After.
    #[arg(long, env = "SCIM_WRITE_QUEUE", default_value_t = 1024)]
    pub write_queue: usize,
    /// Most writes the SQLite writer commits together.
    #[arg(long, env = "SCIM_WRITE_BATCH", default_value_t = 256)]
    pub write_batch: usize,
    /// SQLite connections for reads.
    #[arg(long, env = "SCIM_SQLITE_READ_CONNECTIONS", default_value_t = 4)]
    pub sqlite_read_connections: u32,
    /// SQLite page cache per connection, in KiB.
    #[arg(long, env = "SCIM_SQLITE_CACHE_KIB", default_value_t = 1024)]
    pub sqlite_cache_kib: u32,
    /// PostgreSQL pool size.
    #[arg(long, env = "SCIM_POSTGRES_CONNECTIONS", default_value_t = 16)]
    pub postgres_connections: u32,
    /// Seconds after which a statement is cancelled (its request gets 503): on PostgreSQL
    /// each statement, on SQLite each read; 0 sets none (for a pooler that refuses startup
    /// options, such as PgBouncer).
    #[arg(long, env = "SCIM_STATEMENT_TIMEOUT_SECS", default_value_t = StorageSettings::default().statement_timeout.as_secs())]
    pub statement_timeout_secs: u64,
    /// Users (with their groups) kept in memory for reads by id and `userName eq` filters;
    /// embedded SQLite only, 0 turns it off.
    #[arg(long, env = "SCIM_USER_CACHE_ENTRIES", default_value_t = 10_000)]
    pub user_cache_entries: usize,
    /// Most users a tenant's identity provider may create; past it SCIM creates get 403.
    #[arg(long, env = "SCIM_MAX_USERS_PER_TENANT", default_value_t = TenantLimits::default().users)]
    pub max_users_per_tenant: u64,
    /// Most groups a tenant's identity provider may create; past it SCIM creates get 403.
    #[arg(long, env = "SCIM_MAX_GROUPS_PER_TENANT", default_value_t = TenantLimits::default().groups)]
    pub max_groups_per_tenant: u64,
    /// Most groups of a tenant that may be mapped to permissions; past it a mapping is 409.
    #[arg(long, env = "SCIM_MAX_MAPPED_GROUPS_PER_TENANT", default_value_t = TenantLimits::default().mapped_groups)]
    pub max_mapped_groups_per_tenant: u64,
}

impl StorageArgs {
    pub fn settings(&self) -> StorageSettings {
        StorageSettings {
            durability: self.durability,
            write_queue_capacity: self.write_queue.max(1),
            max_write_batch: self.write_batch.max(1),
            sqlite_read_connections: self.sqlite_read_connections.max(1),
            sqlite_cache_kib: self.sqlite_cache_kib,
            postgres_connections: self.postgres_connections.max(2),
            statement_timeout: Duration::from_secs(self.statement_timeout_secs),
            user_cache_entries: self.user_cache_entries,
            limits: TenantLimits {
                users: self.max_users_per_tenant,
                groups: self.max_groups_per_tenant,
                mapped_groups: self.max_mapped_groups_per_tenant,
            },
        }
    }
}

/// What one tenant may hold (ConfigCat's limits by default): a runaway identity provider
/// or a mistaken assignment cannot fill the database for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantLimits {
    pub users: u64,
    pub groups: u64,
    pub mapped_groups: u64,
}

impl Default for TenantLimits {
    fn default() -> Self {
        Self {
            users: 10_000,
            groups: 1_000,
            mapped_groups: 500,
        }
    }
}

/// What an acknowledged write survives on SQLite (PostgreSQL follows its own settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Durability {
    /// `synchronous=FULL`: a crash of the process or of the machine (power loss).
    Full,
    /// `synchronous=NORMAL`: a crash of the process; the last commits before a power loss
    /// may be lost.
    Normal,
}

/// How the database is opened and written; see `StorageArgs` for each setting.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub durability: Durability,
    pub write_queue_capacity: usize,
    pub max_write_batch: usize,
    pub sqlite_read_connections: u32,
    pub sqlite_cache_kib: u32,
    pub postgres_connections: u32,
    pub statement_timeout: Duration,
    pub user_cache_entries: usize,
    pub limits: TenantLimits,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            write_queue_capacity: 1024,
            max_write_batch: 256,
            sqlite_read_connections: 4,
            sqlite_cache_kib: 1024,
            postgres_connections: 16,
            statement_timeout: Duration::from_secs(30),
            user_cache_entries: 10_000,
            limits: TenantLimits::default(),
        }
    }
}

impl ServeArgs {
    pub fn settings(&self) -> Settings {
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind));
        Settings {
            public_url: public_url.trim_end_matches('/').to_owned(),
            token_cache_ttl: Duration::from_secs(self.token_cache_ttl_secs),
            token_cache_entries: self.token_cache_entries.max(1),
            argon2: Argon2Params {
                m_cost: self.argon2_memory_kib,
                t_cost: self.argon2_passes,
                ..Argon2Params::default()
            },
            argon2_concurrency: self.argon2_concurrency.max(1),
            auth_failure_limit: self.auth_failure_limit,
            auth_failure_window: Duration::from_secs(self.auth_failure_window_secs),
            max_body_bytes: self.max_body_bytes,
            default_page_size: self.default_page_size.min(self.max_page_size),
            max_page_size: self.max_page_size.max(1),
            storage: self.storage.settings(),
            connections: self.connections.limits(),
            metrics_bind: self.metrics_bind,
            tenant_concurrency: self.tenant_concurrency,
            rate_limit: RateLimitSettings {
                requests: self.rate_limit_requests,
                window: Duration::from_secs(self.rate_limit_window_secs.max(1)),
                ..RateLimitSettings::default()
            },
            trusted_proxies: TrustedProxies::new(self.trusted_proxies.clone()),
            activity: ActivitySettings {
                enabled: self.activity_log,
                queue_capacity: self.activity_queue.max(1),
                body_bytes: self.activity_body_bytes,
                retention: Duration::from_secs(u64::from(self.activity_retention_days) * DAY),
                max_entries: self.activity_max_entries,
                events_retention: Duration::from_secs(u64::from(self.events_retention_days) * DAY),
                events_max_entries: self.events_max_entries,
                silence: Duration::from_secs(u64::from(self.silence_minutes) * 60),
                ..ActivitySettings::default()
            },
            ..Settings::default()
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Runtime settings the application reads; built from flags by the binary and in code by tests.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL without a trailing slash.
    pub public_url: String,
    pub argon2: Argon2Params,
    pub token_cache_ttl: Duration,
    pub token_cache_entries: usize,
    /// argon2 runs at once; see `ServeArgs::argon2_concurrency`.
    pub argon2_concurrency: usize,
    pub auth_failure_limit: u32,
    pub auth_failure_window: Duration,
    /// How often buffered `lastUsedAt` values are written back.
    pub usage_flush_interval: Duration,
    /// Largest request body accepted.
    pub max_body_bytes: u64,
    /// SCIM list page size when the client sends no `count`.
    pub default_page_size: u64,
    /// Largest SCIM list page (`count` above it is lowered to it); announced as
    /// `filter.maxResults`.
    pub max_page_size: u64,
    pub storage: StorageSettings,
    pub activity: ActivitySettings,
    pub connections: ConnectionLimits,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Per-tenant request limits on the SCIM API.
    pub rate_limit: RateLimitSettings,
    /// Where unauthenticated `/metrics` is served, if anywhere.
    pub metrics_bind: Option<SocketAddr>,
    /// SCIM requests of one tenant served at once (`None`: from the pool size).
    pub tenant_concurrency: Option<usize>,
    /// How long a request waits for a turn in its tenant's share.
    pub tenant_wait: Duration,
}

/// How the provisioning log records (see `activity`).
#[derive(Debug, Clone)]
pub struct ActivitySettings {
    pub enabled: bool,
    pub queue_capacity: usize,
    pub body_bytes: usize,
    /// Entries written per insert.
    pub batch: usize,
    /// How long log entries are kept.
    pub retention: Duration,
    /// Most log entries kept (the newest); 0 for no bound.
    pub max_entries: u64,
    /// How long change events are kept.
    pub events_retention: Duration,
    /// Most change events kept (the newest); 0 for no bound.
    pub events_max_entries: u64,
    /// How often old entries and events are deleted.
    pub retention_interval: Duration,
    /// No request from an identity provider for this long makes its tenant's sync health warn.
    pub silence: Duration,
}

const DAY: u64 = 24 * 3600;

impl Default for ActivitySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            queue_capacity: 10_000,
            body_bytes: 8 * 1024,
            batch: 256,
            retention: Duration::from_secs(30 * DAY),
            max_entries: 1_000_000,
            events_retention: Duration::from_secs(30 * DAY),
            events_max_entries: 1_000_000,
            retention_interval: Duration::from_secs(600),
            silence: Duration::from_secs(120 * 60),
        }
    }
}

/// 2 MiB: far above any admin request or SCIM resource Entra sends.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 2 * 1024 * 1024;

impl Default for Settings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".to_owned(),
            argon2: Argon2Params::default(),
            token_cache_ttl: Duration::from_secs(60),
            token_cache_entries: 10_000,
            argon2_concurrency: 1,
            auth_failure_limit: 20,
            auth_failure_window: Duration::from_secs(60),
            usage_flush_interval: Duration::from_secs(30),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            default_page_size: 100,
            max_page_size: 1000,
            storage: StorageSettings::default(),
            activity: ActivitySettings::default(),
            connections: ConnectionLimits::default(),
            trusted_proxies: TrustedProxies::default(),
            rate_limit: RateLimitSettings::default(),
            metrics_bind: None,
            tenant_concurrency: None,
            tenant_wait: Duration::from_secs(10),
        }
    }
}

/// argon2id cost parameters for new hashes (existing hashes carry their own in the PHC string).
#[derive(Debug, Clone, Copy)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl Default for Argon2Params {
    /// 12 MiB, 3 passes, 1 lane: one of the argon2id settings OWASP's Password Storage Cheat
    /// Sheet lists as equal in defence to its first one (19 MiB, 2 passes), trading memory for
    /// a pass at about the same time per run. Each run's block adds to the process's peak
    /// RSS while it runs, so the smaller block keeps a server verifying a credential within
    /// its memory budget (60 MiB through the bench script).
    fn default() -> Self {
        Self {
            m_cost: 12 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}
