//! `…/events`: the change events of a tenant, for the host product: what each SCIM write
//! changed, in commit order, by cursor and live.

use chrono::{DateTime, Utc};
use entity::change_event;
use futures_util::{StreamExt, stream::BoxStream};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::{EventStream, Json},
};

use super::{
    auth::AdminAuth,
    error::{AdminError, AdminErrors, Following},
    live, validate,
};
use crate::{AppState, api_tags::ApiTag, store::events};

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ChangeEventType {
    #[oai(rename = "user.created")]
    UserCreated,
    /// Anything but `active` changed.
    #[oai(rename = "user.updated")]
    UserUpdated,
    #[oai(rename = "user.deactivated")]
    UserDeactivated,
    #[oai(rename = "user.reactivated")]
    UserReactivated,
    /// Its memberships ended with it (no `group.member_removed` is sent for them).
    #[oai(rename = "user.deleted")]
    UserDeleted,
    /// Its first members follow as `group.member_added`.
    #[oai(rename = "group.created")]
    GroupCreated,
    /// Its `displayName` or `externalId` changed.
    #[oai(rename = "group.updated")]
    GroupUpdated,
    /// Its memberships and mapping ended with it (no `group.member_removed` is sent).
    #[oai(rename = "group.deleted")]
    GroupDeleted,
    #[oai(rename = "group.member_added")]
    GroupMemberAdded,
    #[oai(rename = "group.member_removed")]
    GroupMemberRemoved,
    /// What the user may do changed (a membership of a mapped group, the group deleted,
    /// the user deactivated, reactivated or deleted); `data` has `before` and `after`.
    #[oai(rename = "user.permissions_changed")]
    UserPermissionsChanged,
}

impl ChangeEventType {
    const ALL: [(Self, &'static str); 11] = [
        (Self::UserCreated, "user.created"),
        (Self::UserUpdated, "user.updated"),
        (Self::UserDeactivated, "user.deactivated"),
        (Self::UserReactivated, "user.reactivated"),
        (Self::UserDeleted, "user.deleted"),
        (Self::GroupCreated, "group.created"),
        (Self::GroupUpdated, "group.updated"),
        (Self::GroupDeleted, "group.deleted"),
        (Self::GroupMemberAdded, "group.member_added"),
        (Self::GroupMemberRemoved, "group.member_removed"),
        (Self::UserPermissionsChanged, "user.permissions_changed"),
    ];

    fn of(stored: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == stored)
            .map(|(kind, _)| *kind)
    }
}

/// The SCIM resource type an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ChangedResourceType {
    User,
    Group,
}

/// One change a SCIM write made, committed with it.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ChangeEvent {
    /// Increases in commit order within the tenant: pass as `after` (or `Last-Event-ID`)
    /// to read what follows.
    pub id: i64,
    /// When the write that made it was received.
    pub at: DateTime<Utc>,
    // What changed.
    #[oai(rename = "type")]
    pub kind: ChangeEventType,
    pub resource_type: ChangedResourceType,
    /// The user's or group's SCIM id.
    pub resource_id: String,
    /// The request that caused it: the `requestId` of its provisioning log entry.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
    /// For users: `userName`, `externalId`, `displayName`, `active` after the change (before
    /// it for `user.deleted`). For groups: `displayName`, `externalId`. For memberships:
    /// `userId`. For `user.permissions_changed`: `before` and `after`, each with
    /// `isOrganizationAdmin`, `isBillingManager` and `products` (by product id:
    /// `productName`, `permissionGroupId`, `permissions`).
    pub data: serde_json::Value,
}

pub fn change_event(row: change_event::Model) -> Option<ChangeEvent> {
    Some(ChangeEvent {
        id: row.id,
        at: row.at,
        kind: ChangeEventType::of(&row.kind)?,
        resource_type: match row.resource_type.as_str() {
            "User" => ChangedResourceType::User,
            _ => ChangedResourceType::Group,
        },
        resource_id: row.resource_id,
        request_id: row.request_id,
        data: serde_json::from_str(&row.data).unwrap_or_default(),
    })
}

/// Change events in commit order.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ChangeEventPage {
    /// Oldest first.
    pub items: Vec<ChangeEvent>,
    /// Pass as `after` for what follows: the last item's id, or the `after` given when
    /// there is nothing new yet. Always present: a consumer stores it and asks again.
    pub next_cursor: i64,
}

#[derive(ApiResponse)]
pub enum ChangeEventPageResponse {
    /// Events after the cursor, oldest first.
    #[oai(status = 200)]
    Ok(Json<ChangeEventPage>),
}

#[derive(ApiResponse)]
pub enum ChangeEventStreamResponse {
    /// Server-Sent Events in commit order: one `change` event per change event, whose data
    /// is the event and whose `id` is its id. A comment line every 15 seconds keeps the
    /// connection open. Reconnect with that id as `Last-Event-ID` to go on where it ended.
    #[oai(status = 200)]
    Ok(EventStream<BoxStream<'static, ChangeEvent>>),
}

pub struct EventsApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::Events")]
impl EventsApi {
    /// Read a tenant's change events
    ///
    /// What SCIM writes changed (users created, updated, deactivated, reactivated,
    /// deleted; groups created, updated, deleted; members added and removed), each written
    /// in the same transaction as its change, so none is lost or invented, and read in
    /// commit order: store `nextCursor` and ask again with it as `after`. A first read asks
    /// `after=0`; once retention has deleted events of the tenant that is answered 410
    /// `cursor_expired` like an old cursor: keep its `resumeAfter`, read the users and their
    /// permissions, then page on from it.
    #[oai(
        path = "/tenants/:tenantId/events",
        method = "get",
        operation_id = "admin_list_change_events"
    )]
    async fn list_events(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// Only events after this id (default 0: from the start). A cursor retention has
        /// passed, 0 included once it deleted any of the tenant's events, is answered 410;
        /// so is one beyond the tenant's newest event (no answer gave it).
        after: Query<Option<i64>>,
        /// Most events in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
    ) -> Result<ChangeEventPageResponse, AdminErrors<Following>> {
        auth.0.require_tenant(&tenant_id)?;
        let limit = validate::page_limit(limit.0)?;
        let after = after.0.unwrap_or(0);
        let rows = events::after(state.db.reads(), &tenant_id, after, limit).await?;
        not_passed_by_retention(&state, &tenant_id, after).await?;
        if rows.is_empty() {
            not_ahead_of_the_feed(&state, &tenant_id, after).await?;
        }
        let next_cursor = rows.last().map_or(after, |row| row.id);
        Ok(ChangeEventPageResponse::Ok(Json(ChangeEventPage {
            items: rows.into_iter().filter_map(change_event).collect(),
            next_cursor,
        })))
    }

    /// Follow a tenant's change events live
    ///
    /// Server-Sent Events: each change event as it is committed. With `Last-Event-ID`
    /// (header, or `lastEventId`), first every event after that one, then live, with no
    /// gap and no duplicate; without, only what comes next. A cursor retention has passed,
    /// or one beyond the tenant's newest event, is answered 410 `cursor_expired`, as by the
    /// page. Ends when the server shuts down,
    /// when retention passes a replay while it runs, or when the admin key that opened it
    /// stops working (revoked, expired, its tenant deleted); reconnect with the last id
    /// received.
    #[oai(
        path = "/tenants/:tenantId/events/stream",
        method = "get",
        operation_id = "admin_stream_change_events"
    )]
    async fn stream_events(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The id of the last event received: the stream starts after it.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<i64>>,
        /// The same as the `Last-Event-ID` header, for clients that cannot set headers;
        /// the header wins.
        #[oai(name = "lastEventId")]
        last_event_id_query: Query<Option<i64>>,
    ) -> Result<ChangeEventStreamResponse, AdminErrors<Following>> {
        auth.0.require_tenant(&tenant_id)?;
        let tenant_id = tenant_id.0;
        let cursor = match live::resume_after(last_event_id.0, last_event_id_query.0) {
            Some(last) => {
                not_passed_by_retention(&state, &tenant_id, last).await?;
                not_ahead_of_the_feed(&state, &tenant_id, last).await?;
                last
            }
            None => events::now_cursor(state.db.reads(), &tenant_id).await?,
        };
        let db = state.db.clone();
        let of_tenant = tenant_id.clone();
        let fetch = live::while_key_works(&state, auth.0.key_id.clone(), move |cursor| {
            let db = db.clone();
            let tenant_id = of_tenant.clone();
            async move {
                let rows = events::after(db.reads(), &tenant_id, cursor, live::BATCH).await?;
                // A replay at the edge of retention can be passed while it runs.
                let passed = events::passed_by_retention(db.reads(), &tenant_id, cursor).await?;
                Ok((!passed).then_some(rows))
            }
        });
        let rows = state.feeds.events.follow_key(
            &tenant_id,
            cursor,
            fetch,
            |row: &change_event::Model| row.id,
        );
        let changes = rows.filter_map(|row| std::future::ready(change_event(row)));
        Ok(ChangeEventStreamResponse::Ok(live::events(
            changes,
            "change",
            |event| event.id,
        )))
    }
}

/// 410 when retention deleted events of the tenant after `cursor`: going on from it would
/// skip them silently, and the host product would keep acting on what they changed (a
/// permission a user lost). The page checks after its read, and the stream after each of
/// its reads too (`fetch`), so that a retention run in between shows.
async fn not_passed_by_retention(
    state: &AppState,
    tenant_id: &str,
    cursor: i64,
) -> Result<(), AdminErrors<Following>> {
    let db = state.db.reads();
    if !events::passed_by_retention(db, tenant_id, cursor).await? {
        return Ok(());
    }
    let newest = events::now_cursor(db, tenant_id).await?;
    Err(AdminError::cursor_expired(
        format!(
            "events after {cursor} were deleted by retention (--events-retention-days): \
             keep resumeAfter ({newest}), read the current state again (users and their \
             permissions), then go on after it"
        ),
        newest,
    )
    .into())
}

/// 410 when `cursor` is beyond every event the tenant has had: no answer of this server
/// gave it, so it comes from another database (one restored from an older backup, or a new
/// one). Following from it would skip every event until the ids grow past it.
async fn not_ahead_of_the_feed(
    state: &AppState,
    tenant_id: &str,
    cursor: i64,
) -> Result<(), AdminErrors<Following>> {
    let newest = events::now_cursor(state.db.reads(), tenant_id).await?;
    if cursor <= newest {
        return Ok(());
    }
    Err(AdminError::cursor_expired(
        format!(
            "no event of this tenant has the id {cursor}: the newest is {newest} (was the \
             database restored from an older backup, or replaced?): keep resumeAfter \
             ({newest}), read the current state again (users and their permissions), then \
             go on after it"
        ),
        newest,
    )
    .into())
}
