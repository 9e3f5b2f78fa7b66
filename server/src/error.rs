//! The domain error every store and service function returns. The HTTP surfaces translate
//! it: `admin::error` into `{code, message}` bodies, `scim::error` into SCIM error documents.

use sea_orm::DbErr;

/// Retry-After for requests the database failed to serve (a full disk, an I/O error):
/// long enough for a transient problem or an operator's fix, short enough for an identity
/// provider's retry.
pub const DATABASE_RETRY_SECS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{kind} {id} was not found")]
    NotFound { kind: &'static str, id: String },
    /// A write referred to a row deleted meanwhile (its tenant, a group's member): the
    /// foreign key refused it, and nothing was stored.
    #[error(
        "what this request refers to no longer exists (its tenant was deleted, or a resource it names)"
    )]
    Gone,
    #[error("{0}")]
    Conflict(String),
    /// The request was well-formed but a value is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A SCIM filter that cannot be parsed or names an attribute we cannot filter on.
    #[error("{0}")]
    InvalidFilter(String),
    /// The request names something that does not exist here or cannot be combined (an
    /// unknown permission, a permission group of another product).
    #[error("{0}")]
    BadReference(String),
    /// A request body that is not the expected shape (not an object, say).
    #[error("{0}")]
    InvalidSyntax(String),
    /// A PATCH path that cannot be parsed or cannot be operated on.
    #[error("{0}")]
    InvalidPath(String),
    /// A PATCH path whose filter matched nothing to operate on.
    #[error("{0}")]
    NoTarget(String),
    /// An attempt to change an immutable attribute.
    #[error("{0}")]
    Mutability(String),
    /// `If-Match` names a version other than the current one.
    #[error("If-Match names another version: the resource is now at version {0}")]
    PreconditionFailed(String),
    /// Storage cannot take the request now (the write queue is full, the disk is full, an
    /// I/O error): nothing was changed, and the client should retry after `retry_after`
    /// seconds.
    #[error("{reason}")]
    Unavailable { reason: String, retry_after: u64 },
    /// The tenant holds as many users, groups or mapped groups as it may; nothing was
    /// created.
    #[error("{0}")]
    LimitReached(String),
    /// A database error; answered like `Unavailable`, since it says nothing about the request.
    #[error("database error: {0}")]
    Db(DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(detail)) => {
                // Expected when a deletion races a write; a bug otherwise, so it is logged.
                tracing::warn!(%detail, "a write referred to a row that is gone");
                Self::Gone
            }
            _ => Self::Db(err),
        }
    }
}

impl Error {
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
        }
    }

    pub fn unavailable(reason: impl Into<String>, retry_after: u64) -> Self {
        Self::Unavailable {
            reason: reason.into(),
            retry_after,
        }
    }

    /// What the database itself answered, when the error is its answer.
    fn database_error(&self) -> Option<&(dyn sea_orm::sqlx::error::DatabaseError + 'static)> {
        match self {
            Self::Db(
                DbErr::Exec(sea_orm::RuntimeErr::SqlxError(err))
                | DbErr::Query(sea_orm::RuntimeErr::SqlxError(err)),
            ) => err.as_database_error(),
            _ => None,
        }
    }

    /// Why no write can succeed, when the database said so: PostgreSQL in a read-only
    /// session (a standby after a failover, `default_transaction_read_only`), out of disk or
    /// failing I/O.
    pub fn storage_refuses_writes(&self) -> Option<String> {
        const REFUSING: &[&str] = &["25006", "53100", "58030"];
        let database = self.database_error()?;
        database
            .code()
            .is_some_and(|code| REFUSING.contains(&code.as_ref()))
            .then(|| format!("writes fail: {}", database.message()))
    }

    /// A constraint SQLite refused (`SQLITE_CONSTRAINT`, any of its extended codes): the
    /// data's doing, not the storage's, even where SQLite rolled the whole transaction
    /// back for it (`OR ROLLBACK`, `RAISE(ROLLBACK, …)`).
    pub fn is_sqlite_constraint(&self) -> bool {
        const SQLITE_CONSTRAINT: i32 = 19;
        self.database_error()
            .filter(|database| {
                database
                    .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                    .is_some()
            })
            .and_then(|sqlite| sqlite.code())
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_CONSTRAINT)
    }

    /// A commit that failed: nothing of the write was stored.
    pub fn commit_failed() -> Self {
        Self::unavailable(
            "storage failed to commit the write; nothing was stored",
            DATABASE_RETRY_SECS,
        )
    }

    /// A unique-constraint violation becomes `Conflict(message)`; anything else stays a database error.
    pub fn conflict_on_unique(err: DbErr, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(message.into()),
            _ => Self::from(err),
        }
    }
}

/// Logs an unexpected failure with its whole cause chain under a fresh request id and returns
/// the id, which is all the client gets to see.
pub fn log_internal(err: &(dyn std::error::Error + 'static)) -> String {
    let incident = uuid::Uuid::new_v4().simple().to_string();
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(incident = %incident, error = %chain, "request failed");
    incident
}
