//! SCIM error documents (RFC 7644 §3.12): `application/scim+json`, `status` as a string,
//! `scimType` where the RFC names one. Nothing here says whether a tenant exists.

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{ApiResponse, Enum, Object, payload::Json};

use crate::{auth::AuthFailure, error::Error};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

const DATABASE_FAILED: &str =
    "the database could not serve the request; nothing was changed; retry later";

/// RFC 7644 §3.12 `scimType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "camelCase")]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

/// A SCIM error response body.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ScimError {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    pub schemas: Vec<String>,
    /// The HTTP status code, as a string.
    pub status: String,
    // The SCIM detail error keyword, for 400 and 409 responses where RFC 7644 defines one.
    #[oai(skip_serializing_if_is_none)]
    pub scim_type: Option<ScimType>,
    /// Human-readable explanation.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
}

#[derive(Debug, ApiResponse)]
pub enum ScimErrorResponse {
    /// The request is malformed or a value is invalid (see `scimType`).
    #[oai(status = 400, content_type = "application/scim+json")]
    BadRequest(Json<ScimError>),
    /// Missing, malformed, unknown, revoked or expired SCIM token, or a token of another tenant.
    #[oai(status = 401, content_type = "application/scim+json")]
    Unauthorized(
        Json<ScimError>,
        /// Always `Bearer`.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The tenant holds as many users or groups as it may; nothing was created. `detail`
    /// names the limit.
    #[oai(status = 403, content_type = "application/scim+json")]
    Forbidden(Json<ScimError>),
    /// The resource does not exist.
    #[oai(status = 404, content_type = "application/scim+json")]
    NotFound(Json<ScimError>),
    /// The request conflicts with an existing resource (`scimType: uniqueness`).
    #[oai(status = 409, content_type = "application/scim+json")]
    Conflict(Json<ScimError>),
    /// `If-Match` names a version other than the resource's current one.
    #[oai(status = 412, content_type = "application/scim+json")]
    PreconditionFailed(Json<ScimError>),
    /// The body is larger than the server accepts.
    #[oai(status = 413, content_type = "application/scim+json")]
    PayloadTooLarge(Json<ScimError>),
    /// The body is neither `application/scim+json` nor `application/json`.
    #[oai(status = 415, content_type = "application/scim+json")]
    UnsupportedMediaType(Json<ScimError>),
    /// Too many failed authentications from this client, the tenant has as many requests
    /// in progress as it may, or it has made as many requests as it may in the current
    /// window (`X-Rate-Limit-Limit`, `-Remaining` and `-Reset`, on every counted answer,
    /// tell where it stands). Retry after `Retry-After` seconds.
    #[oai(status = 429, content_type = "application/scim+json")]
    TooManyRequests(
        Json<ScimError>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// Unexpected failure; `detail` carries an incident id.
    #[oai(status = 500, content_type = "application/scim+json")]
    Internal(Json<ScimError>),
    /// Storage cannot take the request now (too many writes waiting, a full disk, the
    /// database unreachable); nothing was changed. Retry after `Retry-After` seconds.
    #[oai(status = 503, content_type = "application/scim+json")]
    Unavailable(
        Json<ScimError>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

crate::status_sets! {
    /// Reading one resource.
    Lookup = [400, 401, 404, 429, 500, 503];
    /// Listing or filtering resources.
    Listing = [400, 401, 429, 500, 503];
    /// `POST /.search`: a listing with a body.
    Search = [400, 401, 413, 415, 429, 500, 503];
    /// Creating a resource (404: the tenant was deleted while the create ran).
    Creation = [400, 401, 403, 404, 409, 413, 415, 429, 500, 503];
    /// Replacing or patching a resource.
    Change = [400, 401, 404, 409, 412, 413, 415, 429, 500, 503];
    /// Deleting a resource.
    Removal = [400, 401, 404, 412, 429, 500, 503];
    /// Reading a discovery list (400: a control character in the URL).
    Discovery = [400, 401, 429, 500, 503];
    /// Reading one discovery document.
    DiscoveryLookup = [400, 401, 404, 429, 500, 503];
}

/// The errors of one kind of SCIM operation.
pub type ScimErrors<S> = crate::statuses::Only<ScimErrorResponse, S>;

impl<S> From<Error> for ScimErrors<S> {
    fn from(err: Error) -> Self {
        ScimErrorResponse::from(err).into()
    }
}

pub fn body(
    status: StatusCode,
    scim_type: Option<ScimType>,
    detail: impl Into<String>,
) -> Json<ScimError> {
    Json(ScimError {
        schemas: vec![ERROR_SCHEMA.to_owned()],
        status: status.as_u16().to_string(),
        scim_type,
        detail: Some(detail.into()),
    })
}

impl ScimErrorResponse {
    pub fn unauthorized() -> Self {
        Self::Unauthorized(
            body(
                StatusCode::UNAUTHORIZED,
                None,
                "a valid SCIM token for this tenant is required (Authorization: Bearer scim_…)",
            ),
            "Bearer".to_owned(),
        )
    }

    pub fn unavailable(detail: impl Into<String>, retry_after: u64) -> Self {
        Self::Unavailable(
            body(StatusCode::SERVICE_UNAVAILABLE, None, detail),
            retry_after,
        )
    }

    fn internal(err: &(dyn std::error::Error + 'static)) -> Self {
        let incident = crate::error::log_internal(err);
        Self::Internal(body(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            format!("internal error (incident {incident})"),
        ))
    }
}

impl From<Error> for ScimErrorResponse {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound { .. } | Error::Gone => {
                Self::NotFound(body(StatusCode::NOT_FOUND, None, err.to_string()))
            }
            Error::Conflict(detail) => Self::Conflict(body(
                StatusCode::CONFLICT,
                Some(ScimType::Uniqueness),
                detail,
            )),
            Error::LimitReached(detail) => {
                Self::Forbidden(body(StatusCode::FORBIDDEN, None, detail))
            }
            Error::InvalidFilter(detail) => Self::BadRequest(body(
                StatusCode::BAD_REQUEST,
                Some(ScimType::InvalidFilter),
                detail,
            )),
            Error::InvalidSyntax(detail) => Self::BadRequest(body(
                StatusCode::BAD_REQUEST,
                Some(ScimType::InvalidSyntax),
                detail,
            )),
            Error::InvalidPath(detail) => Self::BadRequest(body(
                StatusCode::BAD_REQUEST,
                Some(ScimType::InvalidPath),
                detail,
            )),
            Error::NoTarget(detail) => Self::BadRequest(body(
                StatusCode::BAD_REQUEST,
                Some(ScimType::NoTarget),
                detail,
            )),
            Error::Mutability(detail) => Self::BadRequest(body(
                StatusCode::BAD_REQUEST,
                Some(ScimType::Mutability),
                detail,
            )),
            Error::PreconditionFailed(_) => Self::PreconditionFailed(body(
                StatusCode::PRECONDITION_FAILED,
                None,
                err.to_string(),
            )),
            Error::Invalid(detail) | Error::BadReference(detail) => Self::BadRequest(body(
                StatusCode::BAD_REQUEST,
                Some(ScimType::InvalidValue),
                detail,
            )),
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

impl From<AuthFailure> for ScimErrorResponse {
    fn from(failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Unauthorized => Self::unauthorized(),
            AuthFailure::Throttled { retry_after } => Self::TooManyRequests(
                body(
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
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

impl ScimErrorResponse {
    /// The tenant's request limit for the current window is spent.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self::TooManyRequests(
            body(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                "this tenant has made as many requests as it may in the current window; retry after Retry-After seconds",
            ),
            retry_after,
        )
    }
}

impl ScimErrorResponse {
    /// The tenant has as many requests in progress as it may, and none finished in time.
    pub fn busy() -> Self {
        Self::TooManyRequests(
            body(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                "this tenant has as many requests in progress as it may; retry after Retry-After seconds",
            ),
            BUSY_RETRY_SECS,
        )
    }
}

/// Retry-After when a tenant's share is taken: its requests in progress finish in moments.
const BUSY_RETRY_SECS: u64 = 1;

/// The SCIM body for an error raised outside a handler: unknown paths (404), unsupported
/// methods (405), unreadable bodies (400 `invalidSyntax`), missing credentials (401).
pub fn render_poem_error(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let (scim_type, detail) = match status {
        StatusCode::UNAUTHORIZED => return ScimErrorResponse::unauthorized().into_response(),
        StatusCode::NOT_FOUND => (None, "no such SCIM endpoint".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => {
            (None, "method not supported on this endpoint".to_owned())
        }
        StatusCode::REQUEST_TIMEOUT => (None, err.to_string()),
        StatusCode::PAYLOAD_TOO_LARGE => {
            return ScimErrorResponse::PayloadTooLarge(body(
                status,
                None,
                "the request body is too large",
            ))
            .into_response();
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            return ScimErrorResponse::UnsupportedMediaType(body(
                status,
                None,
                "send application/scim+json or application/json",
            ))
            .into_response();
        }
        status if status.is_client_error() => (Some(ScimType::InvalidSyntax), err.to_string()),
        _ => return ScimErrorResponse::internal(&err).into_response(),
    };
    let mut response = (status, body(status, scim_type, detail)).into_response();
    response.headers_mut().insert(
        poem::http::header::CONTENT_TYPE,
        poem::http::HeaderValue::from_static("application/scim+json"),
    );
    response
}
