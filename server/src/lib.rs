//! The SCIM provisioning server as a library: `app()` assembles every route, so the
//! binary, the integration tests and the benchmarks all run exactly the same thing.

pub mod activity;
pub mod admin;
pub mod anonymous;
pub mod any_case;
pub mod api_tags;
pub mod auth;
pub mod body_limit;
pub mod bootstrap;
pub mod canonical;
pub mod client_address;
pub mod clock;
pub mod config;
pub mod connections;
pub mod duplicate_keys;
pub mod error;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod rate_limit;
pub mod request_json;
pub mod routes;
pub mod scim;
pub mod startup;
pub mod state;
pub mod statuses;
pub mod store;
pub mod tenant_share;
pub mod text;

// glibc's malloc took a sixth of the CPU under load (arena locks, consolidation of every
// request's short-lived buffers) and kept argon2's blocks; jemalloc, on the same bench
// script the same day, served 30-60% more requests within the same peak RSS and returns
// those blocks (`auth::hasher`). Declared in the library so the binary, the tests and the
// benchmarks all run on the allocator production runs on.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{LicenseObject, OpenApi, OpenApiService, ServerObject};

pub use state::AppState;

/// Title and version written into the OpenAPI document. The version moves with the API,
/// not with every build, so the committed `openapi.json` only changes when the API does.
pub const API_TITLE: &str = "SCIM provisioning";
pub const API_VERSION: &str = "1.0.0";

/// Every documented operation: health, the admin API and the SCIM API. The one list of
/// them; the service, the spec and the routes all come from it.
pub fn api() -> impl OpenApi {
    (
        anonymous::Anonymous(ops::OpsApi),
        (
            admin::tenants::TenantsApi,
            admin::whoami::WhoamiApi,
            admin::metrics::MetricsApi,
        ),
        admin::scim_tokens::ScimTokensApi,
        (
            admin::admin_keys::AdminKeysApi,
            admin::operator_keys::OperatorKeysApi,
        ),
        admin::catalog::CatalogApi,
        admin::products::ProductsApi,
        admin::mappings::MappingsApi,
        admin::synced::SyncedApi,
        admin::user_permissions::UserPermissionsApi,
        // What happened: the provisioning log, change events, sync health, the audit.
        (
            admin::activity::ActivityApi,
            admin::events::EventsApi,
            admin::sync::SyncApi,
            admin::audit::AuditApi,
        ),
        scim::discovery::DiscoveryApi,
        scim::users::UsersApi,
        scim::groups::GroupsApi,
        scim::root::RootApi,
    )
}

/// The OpenAPI service. Its one server is `/` (the host that serves the document), so the
/// document is the same on every deployment.
pub fn api_service() -> OpenApiService<impl OpenApi, ()> {
    OpenApiService::new(api(), API_TITLE, API_VERSION)
        .description(
            "Multi-tenant SCIM 2.0 provisioning. Identity providers push users and groups to \
             `/scim/{tenantId}/v2` with a per-tenant SCIM token; operators and tenant admins \
             manage tenants and credentials through `/admin/v1` with an admin key.",
        )
        .server(ServerObject::new("/").description("The server that serves this document"))
        .license(
            LicenseObject::new("Apache-2.0").url("https://www.apache.org/licenses/LICENSE-2.0"),
        )
}

/// The spec document exactly as `GET /openapi.json` serves it and `scim-server openapi` prints it.
pub fn openapi_spec() -> String {
    canonical::spec(&api_service().spec())
}

/// The document's `paths` (each template and its operations), read once: what the `Allow`
/// header and the metrics' route labels are taken from.
pub fn document_paths() -> &'static serde_json::Map<String, serde_json::Value> {
    static PATHS: std::sync::LazyLock<serde_json::Map<String, serde_json::Value>> =
        std::sync::LazyLock::new(|| {
            let spec: serde_json::Value = serde_json::from_str(&openapi_spec()).unwrap_or_default();
            spec["paths"].as_object().cloned().unwrap_or_default()
        });
    &PATHS
}

/// Assembles the whole HTTP application over `state`.
pub fn app(state: AppState) -> impl Endpoint<Output = Response> {
    let service = api_service();
    let spec = canonical::spec(&service.spec());
    let docs = service.swagger_ui();
    Route::new()
        .at(
            "/openapi.json",
            poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json")
                    .body(spec.clone())
            }),
        )
        .nest("/docs", docs)
        .nest("/", service)
        .around(render_errors)
        .around(scim::admission::around_scim)
        .around(activity::middleware::record)
        .around(metrics::record)
        .around(logging::log_requests)
        .data(state)
}

/// What `--metrics-bind` serves: `/metrics`, without authentication, and nothing else.
pub fn metrics_app(state: AppState) -> impl Endpoint<Output = Response> {
    Route::new().at(
        "/metrics",
        poem::get(poem::endpoint::make_sync(move |_| {
            poem::Response::builder()
                .content_type("text/plain; version=0.0.4")
                .body(metrics::render(&state))
        })),
    )
}

/// Whether the path or query of `uri`, percent-decoded, holds an ASCII control character.
fn has_control_characters(uri: &poem::http::Uri) -> bool {
    let raw = uri.path_and_query().map_or("", |pq| pq.as_str()).as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    raw.iter().enumerate().any(|(at, &b)| {
        b.is_ascii_control()
            || (b == b'%'
                && matches!(
                    (raw.get(at + 1).copied().and_then(hex), raw.get(at + 2).copied().and_then(hex)),
                    (Some(high), Some(low)) if (high * 16 + low) < 0x20 || high * 16 + low == 0x7f
                ))
    })
}

/// A path parameter that does not parse is named as the document names it (`entryId`),
/// not as poem-openapi calls it (`param1`).
fn named_path_parameter(err: poem::Error, path: &str) -> poem::Error {
    let message = err
        .downcast_ref::<poem_openapi::error::ParsePathError>()
        .and_then(|parse| {
            let name = routes::parameter_name(path, parse.name)?;
            Some(format!(
                "the path parameter `{name}` is not valid: {}",
                parse.reason
            ))
        });
    match message {
        Some(message) => poem::Error::from_string(message, poem::http::StatusCode::BAD_REQUEST),
        None => err,
    }
}

/// Turns every error that escapes a handler (unknown route, wrong method, unreadable body,
/// failed authentication) into the error body of the surface it happened on: SCIM clients
/// get SCIM error documents, everyone else the admin API's `{code, message}`.
async fn render_errors<E: Endpoint>(
    ep: std::sync::Arc<E>,
    mut req: Request,
) -> poem::Result<Response> {
    // A clone of the URI shares its bytes: the path is still at hand for a 405's `Allow`.
    let uri = req.uri().clone();
    let path = uri.path();
    let on_scim = path == "/scim" || path.starts_with("/scim/");
    let (max_body, body_timeout) = req.data::<AppState>().map_or(
        (
            config::DEFAULT_MAX_BODY_BYTES,
            connections::ConnectionLimits::default().body_read_timeout,
        ),
        |s| {
            (
                s.settings.max_body_bytes,
                s.settings.connections.body_read_timeout,
            )
        },
    );
    let outcome = if has_control_characters(req.uri()) {
        // A NUL in an id or a filter cannot reach PostgreSQL (SQLite would take it): both
        // backends give the same answer before any SQL runs.
        Err(poem::Error::from_string(
            "the URL must not contain control characters",
            poem::http::StatusCode::BAD_REQUEST,
        ))
    } else {
        match body_limit::apply(&mut req, max_body, body_timeout) {
            Ok(fault) => match ep.call(req).await {
                Err(err) => Err(fault.error().unwrap_or(err)),
                Ok(resp) => Ok(resp.into_response()),
            },
            Err(err) => Err(err),
        }
    };
    let outcome = outcome.map_err(|err| named_path_parameter(err, path));
    let mut resp = match outcome {
        Ok(resp) => resp,
        Err(err) if on_scim => scim::error::render_poem_error(err),
        Err(err) => admin::error::render_poem_error(err),
    };
    if resp.status() == poem::http::StatusCode::METHOD_NOT_ALLOWED
        && let Some(methods) = routes::methods_for(path)
        && let Ok(value) = poem::http::HeaderValue::from_str(&methods)
    {
        resp.headers_mut().insert(poem::http::header::ALLOW, value);
    }
    canonical::content_type(&mut resp);
    Ok(resp)
}
