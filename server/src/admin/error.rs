//! Errors of the admin API: always `{"code", "message"}` JSON with a stable `code`.
//! Handlers return `AdminError`; `render_poem_error` covers what fails before a handler
//! runs (unknown route, wrong method, unreadable body, missing credentials).

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{ApiResponse, Enum, Object, payload::Json};

use crate::{auth::AuthFailure, error::Error};

const DATABASE_FAILED: &str =
    "the database could not serve the request; nothing was changed; retry later";

/// Machine-readable error codes; new codes may be added, existing ones never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request does not fit the documented schema (malformed JSON, wrong types, missing
    /// fields, a value outside its documented range).
    BadRequest,
    /// No valid admin key was presented.
    Unauthorized,
    /// The key is valid but may not act on this resource.
    Forbidden,
    /// The resource does not exist.
    NotFound,
    /// The method is not supported on this path.
    MethodNotAllowed,
    /// The body's media type is not accepted.
    UnsupportedMediaType,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body did not arrive in time.
    RequestTimeout,
    /// The request conflicts with existing state (a duplicate name, a permission in use).
    Conflict,
    /// The request names something that does not exist here or cannot be combined
    /// (unknown permission names, a permission group of another product).
    InvalidReference,
    /// A value fits the documented schema but breaks a rule of the server's (a blank name,
    /// a page cursor this API did not issue).
    ValidationFailed,
    /// The tenant holds as many of something as it may (mapped groups).
    LimitReached,
    /// Too many failed authentications from this client.
    RateLimited,
    /// Events after this cursor were deleted by retention, or the cursor is beyond every
    /// event of the tenant (another database's): read the current state again, then go on
    /// from `resumeAfter`.
    CursorExpired,
    /// An unexpected failure; `message` carries an incident id for the server log.
    Internal,
    /// A dependency (the database) is unavailable; retry later.
    Unavailable,
}

/// Body of every admin API error.
#[derive(Debug, Clone, Object)]
pub struct ApiError {
    // Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// With `cursor_expired` only: where to go on from, the tenant's newest event when the
    /// cursor was refused (or, if none is kept, the newest deleted). Keep it, read the
    /// current state again, then go on after it (`after`, or `Last-Event-ID`): what changed
    /// while the state was read comes again, nothing is missed.
    #[oai(rename = "resumeAfter", skip_serializing_if_is_none)]
    pub resume_after: Option<i64>,
}

#[derive(Debug, ApiResponse)]
pub enum AdminError {
    /// The request does not fit the documented schema: a body that is not JSON, a field or
    /// parameter of the wrong type, missing, or outside its documented range.
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// Missing, malformed, unknown, revoked or expired admin key.
    #[oai(status = 401)]
    Unauthorized(
        Json<ApiError>,
        /// Always `Bearer`.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The key may not act on this resource (a tenant-admin key outside its tenant, or an
    /// operator-only operation).
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// The resource does not exist.
    #[oai(status = 404)]
    NotFound(Json<ApiError>),
    /// The request conflicts with existing state.
    #[oai(status = 409)]
    Conflict(Json<ApiError>),
    /// Something the request relies on is no longer kept (events after a cursor).
    #[oai(status = 410)]
    Gone(Json<ApiError>),
    /// The request fits the documented schema, but a value breaks a rule of the server's
    /// (an empty or blank name, a page cursor this API did not issue).
    #[oai(status = 422)]
    Unprocessable(Json<ApiError>),
    /// The body is larger than the server accepts.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ApiError>),
    /// The body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ApiError>),
    /// Too many failed authentications from this client.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ApiError>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// Unexpected failure; the message carries an incident id.
    #[oai(status = 500)]
    Internal(Json<ApiError>),
    /// Storage cannot take the request now (a full disk, the database unreachable);
    /// nothing was changed. Retry after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(
        Json<ApiError>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

crate::status_sets! {
    /// Creating a top-level resource (a tenant, a catalog permission).
    Creation = [400, 401, 403, 409, 413, 415, 422, 429, 500, 503];
    /// Creating or replacing a resource below a tenant.
    Writing = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503];
    /// Replacing something that always exists once its parent does (the priority order).
    Replacing = [400, 401, 403, 404, 413, 415, 429, 500, 503];
    /// Creating or replacing a group's mapping (409: the tenant's mapped-group limit).
    Mapping = [400, 401, 403, 404, 409, 413, 415, 429, 500, 503];
    /// Removing a resource that may still be in use.
    Removal = [400, 401, 403, 404, 409, 429, 500, 503];
    /// Issuing a credential of a tenant.
    Issuing = [400, 401, 403, 404, 413, 415, 422, 429, 500, 503];
    /// Listing by cursor.
    Listing = [400, 401, 403, 404, 422, 429, 500, 503];
    /// Following a feed from a cursor, which retention may have passed or which may be
    /// beyond every event (410).
    Following = [400, 401, 403, 404, 410, 422, 429, 500, 503];
    /// Finding one resource by query parameters.
    Finding = [400, 401, 403, 404, 422, 429, 500, 503];
    /// Reading or removing one resource (400: a path or query the server cannot read, a
    /// control character in it, say).
    Single = [400, 401, 403, 404, 429, 500, 503];
    /// Reading what the caller's own key is.
    Own = [400, 401, 403, 429, 500, 503];
}

/// The errors of one kind of admin operation.
pub type AdminErrors<S> = crate::statuses::Only<AdminError, S>;

impl<S> From<Error> for AdminErrors<S> {
    fn from(err: Error) -> Self {
        AdminError::from(err).into()
    }
}

fn body(code: ErrorCode, message: impl Into<String>) -> Json<ApiError> {
    Json(ApiError {
        code,
        message: message.into(),
        resume_after: None,
    })
}

impl AdminError {
    pub fn unauthorized() -> Self {
        Self::Unauthorized(
            body(
                ErrorCode::Unauthorized,
                "a valid admin key is required (Authorization: Bearer sadm_…)",
            ),
            "Bearer".to_owned(),
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(body(ErrorCode::Forbidden, message))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Unprocessable(body(ErrorCode::ValidationFailed, message))
    }

    pub fn cursor_expired(message: impl Into<String>, resume_after: i64) -> Self {
        let mut body = body(ErrorCode::CursorExpired, message);
        body.resume_after = Some(resume_after);
        Self::Gone(body)
    }

    pub fn unavailable(message: impl Into<String>, retry_after: u64) -> Self {
        Self::Unavailable(body(ErrorCode::Unavailable, message), retry_after)
    }

    fn internal(err: &(dyn std::error::Error + 'static)) -> Self {
        let incident = crate::error::log_internal(err);
        Self::Internal(body(
            ErrorCode::Internal,
            format!("internal error (incident {incident})"),
        ))
    }
}

impl From<Error> for AdminError {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound { .. } | Error::Gone => {
                Self::NotFound(body(ErrorCode::NotFound, err.to_string()))
            }
            Error::Conflict(message) => Self::Conflict(body(ErrorCode::Conflict, message)),
            Error::LimitReached(message) => Self::Conflict(body(ErrorCode::LimitReached, message)),
            Error::BadReference(message) => {
                Self::BadRequest(body(ErrorCode::InvalidReference, message))
            }
            Error::Invalid(message)
            | Error::InvalidFilter(message)
            | Error::InvalidSyntax(message)
            | Error::Mutability(message)
            | Error::InvalidPath(message)
            | Error::NoTarget(message) => Self::invalid(message),
            Error::PreconditionFailed(_) => {
                Self::Conflict(body(ErrorCode::Conflict, err.to_string()))
            }
            Error::Unavailable {
                reason,
                retry_after,
            } => Self::unavailable(reason, retry_after),
            Error::Db(_) => {
                tracing::error!(error = %err, "database request failed");
                Self::unavailable(DATABASE_FAILED, crate::error::DATABASE_RETRY_SECS)
            }
            Error::Internal(_) => Self::internal(&err),
        }
    }
}

impl From<AuthFailure> for AdminError {
    fn from(failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Unauthorized => Self::unauthorized(),
            AuthFailure::Throttled { retry_after } => Self::TooManyRequests(
                body(
                    ErrorCode::RateLimited,
                    "too many failed authentications; slow down",
                ),
                retry_after,
            ),
            AuthFailure::Unavailable => {
                Self::unavailable(DATABASE_FAILED, crate::error::DATABASE_RETRY_SECS)
            }
        }
    }
}

/// The admin-API body for an error raised outside a handler.
pub fn render_poem_error(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let error = match status {
        StatusCode::UNAUTHORIZED => AdminError::unauthorized(),
        StatusCode::NOT_FOUND => AdminError::NotFound(body(ErrorCode::NotFound, "no such route")),
        StatusCode::METHOD_NOT_ALLOWED => {
            return (
                status,
                body(
                    ErrorCode::MethodNotAllowed,
                    "method not allowed on this path",
                ),
            )
                .into_response();
        }
        StatusCode::REQUEST_TIMEOUT => {
            return (status, body(ErrorCode::RequestTimeout, err.to_string())).into_response();
        }
        StatusCode::PAYLOAD_TOO_LARGE => AdminError::PayloadTooLarge(body(
            ErrorCode::PayloadTooLarge,
            "the request body is too large",
        )),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AdminError::UnsupportedMediaType(body(
            ErrorCode::UnsupportedMediaType,
            "send application/json",
        )),
        status if status.is_client_error() => {
            AdminError::BadRequest(body(ErrorCode::BadRequest, err.to_string()))
        }
        _ => AdminError::internal(&err),
    };
    error.into_response()
}
