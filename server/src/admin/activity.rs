//! `…/activity`: the provisioning log of a tenant, and of every tenant for operators.
//! Newest first, by cursor, with filters; one entry with its (redacted) bodies.

use chrono::{DateTime, Utc};
use entity::activity_entry;
use futures_util::{StreamExt, stream::BoxStream};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::{EventStream, Json},
};

use super::{
    auth::{AdminAuth, AdminCaller},
    error::{AdminErrors, Listing, Single},
    events::{ChangeEvent, change_event},
    live, validate,
};
use crate::{
    AppState,
    api_tags::ApiTag,
    store::{
        activity::{self, ActivityFilter},
        events,
    },
};

/// What a request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ActivityOperation {
    Create,
    Replace,
    Patch,
    Delete,
    Get,
    List,
    Search,
    Discovery,
    /// The SCIM token was missing, wrong, expired or of another tenant.
    AuthFailed,
    /// Refused before it reached a resource (unknown path, body too large, too many
    /// requests, unsupported media type).
    Rejected,
}

impl ActivityOperation {
    const ALL: [(Self, &'static str); 10] = [
        (Self::Create, "create"),
        (Self::Replace, "replace"),
        (Self::Patch, "patch"),
        (Self::Delete, "delete"),
        (Self::Get, "get"),
        (Self::List, "list"),
        (Self::Search, "search"),
        (Self::Discovery, "discovery"),
        (Self::AuthFailed, "auth_failed"),
        (Self::Rejected, "rejected"),
    ];

    fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(op, _)| *op == self)
            .map_or("rejected", |(_, name)| name)
    }

    fn of(stored: &str) -> Self {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == stored)
            .map_or(Self::Rejected, |(op, _)| *op)
    }
}

/// The identity provider a request came from, by its user agent or its dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum IdentityProvider {
    Entra,
    Okta,
    Onelogin,
    Other,
}

impl IdentityProvider {
    fn as_str(self) -> &'static str {
        match self {
            Self::Entra => "entra",
            Self::Okta => "okta",
            Self::Onelogin => "onelogin",
            Self::Other => "other",
        }
    }

    pub fn of(stored: &str) -> Self {
        [Self::Entra, Self::Okta, Self::Onelogin]
            .into_iter()
            .find(|idp| idp.as_str() == stored)
            .unwrap_or(Self::Other)
    }
}

/// A class of HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum StatusClass {
    #[oai(rename = "2xx")]
    Success,
    #[oai(rename = "4xx")]
    ClientError,
    #[oai(rename = "5xx")]
    ServerError,
}

/// The SCIM resource type a logged request acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum LoggedResourceType {
    User,
    Group,
}

/// One request received under `/scim/…`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ActivityEntry {
    /// Increases with every entry; pass as `cursor` to read older ones.
    pub id: i64,
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// The tenant in the path (absent when the path names none).
    #[oai(skip_serializing_if_is_none)]
    pub tenant_id: Option<String>,
    /// The SCIM token that authenticated the request (its id, never the token).
    #[oai(skip_serializing_if_is_none)]
    pub token_id: Option<String>,
    /// The address the request came from.
    pub client_address: String,
    /// The request's `User-Agent`.
    #[oai(skip_serializing_if_is_none)]
    pub user_agent: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// With secret-looking values replaced.
    #[oai(skip_serializing_if_is_none)]
    pub query: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub resource_type: Option<LoggedResourceType>,
    /// The resource's id: from the path, or the id a create gave it.
    #[oai(skip_serializing_if_is_none)]
    pub resource_id: Option<String>,
    pub operation: ActivityOperation,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The SCIM error's `scimType`, if the answer was one that has it.
    #[oai(skip_serializing_if_is_none)]
    pub scim_type: Option<String>,
    /// From the request's arrival to its answer, in microseconds.
    pub latency_us: u64,
    pub idp: IdentityProvider,
    /// One line: "added 3 members to group Sales", "rejected: …".
    pub summary: String,
    /// Names the request in the change events it caused.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
    /// The identity provider's dialect quirks the request used, which the server
    /// normalised (see the sync health's `quirks`); empty when it used none.
    pub quirks: Vec<String>,
}

/// An entry with its bodies.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ActivityEntryDetail {
    #[oai(flatten)]
    pub entry: ActivityEntry,
    /// The request body as JSON text, secrets replaced with `[redacted]`, cut to the
    /// server's configured size (a cut body ends with `…`); a body that is not JSON is
    /// described, not kept.
    #[oai(skip_serializing_if_is_none)]
    pub request_body: Option<String>,
    /// The response body, kept the same way.
    #[oai(skip_serializing_if_is_none)]
    pub response_body: Option<String>,
    /// The change events the request caused, in commit order (the first 1,000).
    pub change_events: Vec<ChangeEvent>,
}

/// A page of the log, newest first.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ActivityPage {
    /// Newest first.
    pub items: Vec<ActivityEntry>,
    /// Pass as `cursor` for older entries; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum ActivityPageResponse {
    /// Entries, newest first.
    #[oai(status = 200)]
    Ok(Json<ActivityPage>),
}

#[derive(ApiResponse)]
pub enum ActivityEntryResponse {
    /// The entry with its bodies.
    #[oai(status = 200)]
    Ok(Json<ActivityEntryDetail>),
}

fn entry(row: &activity_entry::Model) -> ActivityEntry {
    ActivityEntry {
        id: row.id,
        at: row.at,
        tenant_id: row.tenant_id.clone(),
        token_id: row.token_id.clone(),
        client_address: row.client_address.clone(),
        user_agent: row.user_agent.clone(),
        method: row.method.clone(),
        path: row.path.clone(),
        query: row.query.clone(),
        resource_type: row.resource_type.as_deref().and_then(|kind| match kind {
            "User" => Some(LoggedResourceType::User),
            "Group" => Some(LoggedResourceType::Group),
            _ => None,
        }),
        resource_id: row.resource_id.clone(),
        operation: ActivityOperation::of(&row.operation),
        status: u16::try_from(row.status).unwrap_or_default(),
        scim_type: row.scim_type.clone(),
        latency_us: u64::try_from(row.latency_us).unwrap_or_default(),
        idp: IdentityProvider::of(&row.idp),
        summary: row.summary.clone(),
        request_id: row.request_id.clone(),
        quirks: row
            .quirks
            .as_deref()
            .map(|kinds| kinds.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}

/// The filters both lists take.
#[expect(clippy::too_many_arguments, reason = "one per query parameter")]
fn filter(
    tenant_id: Option<String>,
    operation: Option<ActivityOperation>,
    status_class: Option<StatusClass>,
    resource_type: Option<LoggedResourceType>,
    resource_id: Option<String>,
    idp: Option<IdentityProvider>,
    text: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> ActivityFilter {
    ActivityFilter {
        tenant_id,
        operation: operation.map(|op| op.as_str().to_owned()),
        status_class: status_class.map(|class| match class {
            StatusClass::Success => 2,
            StatusClass::ClientError => 4,
            StatusClass::ServerError => 5,
        }),
        resource_type: resource_type.map(|kind| match kind {
            LoggedResourceType::User => "User".to_owned(),
            LoggedResourceType::Group => "Group".to_owned(),
        }),
        resource_id,
        idp: idp.map(|idp| idp.as_str().to_owned()),
        text: text.filter(|text| !text.is_empty()),
        since,
        until,
        request_id: None,
    }
}

#[derive(ApiResponse)]
pub enum ActivityStreamResponse {
    /// Server-Sent Events, oldest first: one `activity` event per entry, whose data is the
    /// entry and whose `id` is the entry's id. A comment line every 15 seconds keeps the
    /// connection open. Reconnect with that id as `Last-Event-ID` to go on where it ended.
    #[oai(status = 200)]
    Ok(EventStream<BoxStream<'static, ActivityEntry>>),
}

/// A stream of the entries `filter` wants, after the one the client names (else after
/// the newest).
async fn stream(
    state: &AppState,
    caller: &AdminCaller,
    filter: ActivityFilter,
    header: Option<i64>,
    query: Option<i64>,
) -> Result<ActivityStreamResponse, AdminErrors<Listing>> {
    let cursor = match live::resume_after(header, query) {
        Some(last) => last,
        None => activity::newest_id(state.db.reads()).await?,
    };
    let db = state.db.clone();
    let fetch = live::while_key_works(state, caller.key_id.clone(), move |cursor| {
        let db = db.clone();
        let filter = filter.clone();
        async move {
            activity::after(db.reads(), &filter, cursor, live::BATCH)
                .await
                .map(Some)
        }
    });
    let rows = state
        .feeds
        .activity
        .follow(cursor, fetch, |row: &activity_entry::Model| row.id);
    let entries = rows.map(|row| entry(&row));
    Ok(ActivityStreamResponse::Ok(live::events(
        entries,
        "activity",
        |entry| entry.id,
    )))
}

async fn page(
    state: &AppState,
    filter: &ActivityFilter,
    limit: Option<u32>,
    after: Option<&str>,
) -> Result<ActivityPageResponse, AdminErrors<Listing>> {
    let limit = validate::page_limit(limit)?;
    let (rows, next_cursor) =
        activity::list(state.db.reads(), filter, validate::id_cursor(after)?, limit).await?;
    Ok(ActivityPageResponse::Ok(Json(ActivityPage {
        items: rows.iter().map(entry).collect(),
        next_cursor,
    })))
}

pub struct ActivityApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::Activity")]
impl ActivityApi {
    /// List a tenant's provisioning log
    ///
    /// Every request its identity provider sent under `/scim/{tenantId}/v2`, rejected ones
    /// too, newest first. Recording is asynchronous: an entry appears within moments of its
    /// answer.
    #[oai(
        path = "/tenants/:tenantId/activity",
        method = "get",
        operation_id = "admin_list_tenant_activity"
    )]
    #[expect(clippy::too_many_arguments, reason = "one per query parameter")]
    async fn list_tenant_activity(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// Only this operation.
        operation: Query<Option<ActivityOperation>>,
        /// Only answers of this status class.
        #[oai(name = "statusClass")]
        status_class: Query<Option<StatusClass>>,
        /// Only requests on this resource type.
        #[oai(name = "resourceType")]
        resource_type: Query<Option<LoggedResourceType>>,
        /// Only requests on this resource.
        #[oai(name = "resourceId")]
        resource_id: Query<Option<String>>,
        /// Only requests from this identity provider.
        idp: Query<Option<IdentityProvider>>,
        /// Only entries whose summary contains this, without case.
        text: Query<Option<String>>,
        /// Only entries at or after this time.
        since: Query<Option<DateTime<Utc>>>,
        /// Only entries before this time.
        until: Query<Option<DateTime<Utc>>>,
        /// Only the entry of this request (the `requestId` a change event or a permission's
        /// causal trace names).
        #[oai(name = "requestId")]
        request_id: Query<Option<String>>,
        /// Most entries in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<ActivityPageResponse, AdminErrors<Listing>> {
        auth.0.require_tenant(&tenant_id)?;
        let filter = filter(
            Some(tenant_id.0),
            operation.0,
            status_class.0,
            resource_type.0,
            resource_id.0,
            idp.0,
            text.0,
            since.0,
            until.0,
        );
        let filter = ActivityFilter {
            request_id: request_id.0,
            ..filter
        };
        page(&state, &filter, limit.0, cursor.as_deref()).await
    }

    /// Get an entry of a tenant's provisioning log
    ///
    /// With the request and response bodies, secrets replaced.
    #[oai(
        path = "/tenants/:tenantId/activity/:entryId",
        method = "get",
        operation_id = "admin_get_tenant_activity"
    )]
    async fn get_tenant_activity(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The entry's id.
        #[oai(name = "entryId")]
        entry_id: Path<i64>,
    ) -> Result<ActivityEntryResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let row = activity::get(state.db.reads(), Some(&tenant_id), entry_id.0).await?;
        let caused = match &row.request_id {
            Some(request_id) => events::caused_by(state.db.reads(), &tenant_id, request_id).await?,
            None => Vec::new(),
        };
        Ok(ActivityEntryResponse::Ok(Json(ActivityEntryDetail {
            entry: entry(&row),
            request_body: row.request_body,
            response_body: row.response_body,
            change_events: caused.into_iter().filter_map(change_event).collect(),
        })))
    }

    /// List every tenant's provisioning log
    ///
    /// For operators: the same as a tenant's, across tenants, with requests that named no
    /// tenant or an unknown one.
    #[oai(
        path = "/activity",
        method = "get",
        operation_id = "admin_list_activity"
    )]
    #[expect(clippy::too_many_arguments, reason = "one per query parameter")]
    async fn list_activity(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// Only this tenant's entries.
        #[oai(name = "tenantId")]
        tenant_id: Query<Option<String>>,
        /// Only this operation.
        operation: Query<Option<ActivityOperation>>,
        /// Only answers of this status class.
        #[oai(name = "statusClass")]
        status_class: Query<Option<StatusClass>>,
        /// Only requests on this resource type.
        #[oai(name = "resourceType")]
        resource_type: Query<Option<LoggedResourceType>>,
        /// Only requests on this resource.
        #[oai(name = "resourceId")]
        resource_id: Query<Option<String>>,
        /// Only requests from this identity provider.
        idp: Query<Option<IdentityProvider>>,
        /// Only entries whose summary contains this, without case.
        text: Query<Option<String>>,
        /// Only entries at or after this time.
        since: Query<Option<DateTime<Utc>>>,
        /// Only entries before this time.
        until: Query<Option<DateTime<Utc>>>,
        /// Only the entry of this request (the `requestId` a change event or a permission's
        /// causal trace names).
        #[oai(name = "requestId")]
        request_id: Query<Option<String>>,
        /// Most entries in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<ActivityPageResponse, AdminErrors<Listing>> {
        auth.0.require_operator()?;
        let filter = filter(
            tenant_id.0,
            operation.0,
            status_class.0,
            resource_type.0,
            resource_id.0,
            idp.0,
            text.0,
            since.0,
            until.0,
        );
        let filter = ActivityFilter {
            request_id: request_id.0,
            ..filter
        };
        page(&state, &filter, limit.0, cursor.as_deref()).await
    }

    /// Follow a tenant's provisioning log live
    ///
    /// Server-Sent Events: each entry as it is recorded, with the filters of the list.
    /// With `Last-Event-ID` (header, or `lastEventId`), first every entry after that one
    /// still stored, then live, with no gap and no duplicate; without, only what comes
    /// next. Ends when the server shuts down or the admin key that opened it stops working
    /// (revoked, expired, its tenant deleted); reconnect with the last id received.
    #[oai(
        path = "/tenants/:tenantId/activity/stream",
        method = "get",
        operation_id = "admin_stream_tenant_activity"
    )]
    #[expect(clippy::too_many_arguments, reason = "one per query parameter")]
    async fn stream_tenant_activity(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// Only this operation.
        operation: Query<Option<ActivityOperation>>,
        /// Only answers of this status class.
        #[oai(name = "statusClass")]
        status_class: Query<Option<StatusClass>>,
        /// Only requests on this resource type.
        #[oai(name = "resourceType")]
        resource_type: Query<Option<LoggedResourceType>>,
        /// Only requests on this resource.
        #[oai(name = "resourceId")]
        resource_id: Query<Option<String>>,
        /// Only requests from this identity provider.
        idp: Query<Option<IdentityProvider>>,
        /// Only entries whose summary contains this, without case.
        text: Query<Option<String>>,
        /// The id of the last entry received: the stream starts after it.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<i64>>,
        /// The same as the `Last-Event-ID` header, for clients that cannot set headers;
        /// the header wins.
        #[oai(name = "lastEventId")]
        last_event_id_query: Query<Option<i64>>,
    ) -> Result<ActivityStreamResponse, AdminErrors<Listing>> {
        auth.0.require_tenant(&tenant_id)?;
        let filter = filter(
            Some(tenant_id.0),
            operation.0,
            status_class.0,
            resource_type.0,
            resource_id.0,
            idp.0,
            text.0,
            None,
            None,
        );
        stream(
            &state,
            &auth.0,
            filter,
            last_event_id.0,
            last_event_id_query.0,
        )
        .await
    }

    /// Follow every tenant's provisioning log live
    ///
    /// For operators: the tenant stream across tenants, with requests that named no tenant
    /// or an unknown one.
    #[oai(
        path = "/activity/stream",
        method = "get",
        operation_id = "admin_stream_activity"
    )]
    #[expect(clippy::too_many_arguments, reason = "one per query parameter")]
    async fn stream_activity(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// Only this tenant's entries.
        #[oai(name = "tenantId")]
        tenant_id: Query<Option<String>>,
        /// Only this operation.
        operation: Query<Option<ActivityOperation>>,
        /// Only answers of this status class.
        #[oai(name = "statusClass")]
        status_class: Query<Option<StatusClass>>,
        /// Only requests on this resource type.
        #[oai(name = "resourceType")]
        resource_type: Query<Option<LoggedResourceType>>,
        /// Only requests on this resource.
        #[oai(name = "resourceId")]
        resource_id: Query<Option<String>>,
        /// Only requests from this identity provider.
        idp: Query<Option<IdentityProvider>>,
        /// Only entries whose summary contains this, without case.
        text: Query<Option<String>>,
        /// The id of the last entry received: the stream starts after it.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<i64>>,
        /// The same as the `Last-Event-ID` header, for clients that cannot set headers;
        /// the header wins.
        #[oai(name = "lastEventId")]
        last_event_id_query: Query<Option<i64>>,
    ) -> Result<ActivityStreamResponse, AdminErrors<Listing>> {
        auth.0.require_operator()?;
        let filter = filter(
            tenant_id.0,
            operation.0,
            status_class.0,
            resource_type.0,
            resource_id.0,
            idp.0,
            text.0,
            None,
            None,
        );
        stream(
            &state,
            &auth.0,
            filter,
            last_event_id.0,
            last_event_id_query.0,
        )
        .await
    }
}
