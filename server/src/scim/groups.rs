//! `/scim/{tenantId}/v2/Groups` (RFC 7644 §3): list and filter, create, read, replace,
//! patch, delete. Members are read only when the response shows them.

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path, Query},
};
use serde_json::{Map, Value, json};

use super::{
    docs::{self, Documented},
    error::{Change, Creation, Listing, Lookup, Removal, ScimErrors, Search},
    listing::{ListRequest, SearchRequest, SortOrder, list_response},
    patch,
    payload::ScimJson,
    query::ResourceKind,
    resource::{self, Meta, Projection},
    schema,
};
use crate::{
    AppState,
    activity::{classify::MembersChanged, middleware::Attribution},
    any_case::AnyCase,
    api_tags::ApiTag,
    error::Error,
    scim::auth::ScimAuth,
    store,
};

#[derive(ApiResponse)]
pub enum ListGroupsResponse {
    /// A `ListResponse` of groups.
    #[oai(status = 200)]
    Ok(ScimJson<Documented<docs::GroupList>>),
}

#[derive(ApiResponse)]
pub enum CreateGroupResponse {
    /// The group was created.
    #[oai(status = 201)]
    Created(
        ScimJson<Documented<docs::Group>>,
        /// URL of the new group.
        #[oai(header = "Location")]
        String,
        /// Version of the group.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum GroupResponse {
    /// The group.
    #[oai(status = 200)]
    Ok(
        ScimJson<Documented<docs::Group>>,
        /// Version of the group.
        #[oai(header = "ETag")]
        String,
    ),
    /// `If-None-Match` named the current version.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum ReplacedGroupResponse {
    /// The group as it is now.
    #[oai(status = 200)]
    Ok(
        ScimJson<Documented<docs::Group>>,
        /// Version of the group.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum PatchGroupResponse {
    /// The group, when the request asked for attributes back.
    #[oai(status = 200)]
    Ok(
        ScimJson<Documented<docs::Group>>,
        /// Version of the group.
        #[oai(header = "ETag")]
        String,
    ),
    /// The group was changed.
    #[oai(status = 204)]
    Patched(
        /// Version of the group.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum DeleteGroupResponse {
    /// The group and its memberships are gone.
    #[oai(status = 204)]
    Deleted,
}

/// A rendered group. Members carry `value`, `$ref` and `type`, no `display`: reading even
/// a large group touches only its membership rows.
pub fn render(
    state: &AppState,
    row: &entity::scim_group::Model,
    members: Option<&[String]>,
) -> Map<String, Value> {
    let base = state.scim_url(&row.tenant_id);
    let mut out = Map::new();
    out.insert("schemas".to_owned(), json!([schema::GROUP_SCHEMA]));
    out.insert("id".to_owned(), json!(row.id));
    out.insert("displayName".to_owned(), json!(row.display_name));
    if let Some(external_id) = &row.external_id {
        out.insert("externalId".to_owned(), json!(external_id));
    }
    if let Some(members) = members.filter(|m| !m.is_empty()) {
        let members: Vec<Value> = members
            .iter()
            .map(|id| json!({ "value": id, "$ref": format!("{base}/Users/{id}"), "type": "User" }))
            .collect();
        out.insert("members".to_owned(), Value::Array(members));
    }
    out.insert(
        "meta".to_owned(),
        resource::meta_json(&Meta {
            resource_type: "Group",
            created: row.created_at,
            last_modified: row.last_modified,
            location: format!("{base}/Groups/{}", row.id),
            version: row.version,
        }),
    );
    out
}

pub async fn render_one(
    state: &AppState,
    row: &entity::scim_group::Model,
    projection: &Projection,
) -> Result<Value, Error> {
    let members = if projection.includes("members") {
        store::groups::members_of(
            state.db.reads(),
            &row.tenant_id,
            std::slice::from_ref(&row.id),
        )
        .await?
        .remove(&row.id)
    } else {
        None
    };
    Ok(Value::Object(projection.apply(render(
        state,
        row,
        members.as_deref(),
    ))))
}

async fn search(state: &AppState, tenant_id: &str, request: &ListRequest) -> Result<Value, Error> {
    let (page, condition) = request.plan(state, ResourceKind::Group)?;
    let projection = &request.projection;
    let (total, rows, mut members) = store::abandoned::read(&state.db, async |txn| {
        let (total, rows) = store::groups::list(txn, tenant_id, condition, &page).await?;
        let members = if projection.includes("members") {
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            store::groups::members_of(txn, tenant_id, &ids).await?
        } else {
            Default::default()
        };
        Ok((total, rows, members))
    })
    .await?;
    let resources = rows
        .iter()
        .map(|row| {
            Value::Object(projection.apply(render(state, row, members.remove(&row.id).as_deref())))
        })
        .collect();
    Ok(list_response(total, &page, resources))
}

pub struct GroupsApi;

#[OpenApi(prefix_path = "/scim", tag = "ApiTag::ScimGroups")]
impl GroupsApi {
    /// List groups
    ///
    /// Filtered, paged and sorted like users. Entra reads groups with
    /// `excludedAttributes=members`, which never touches membership rows.
    #[oai(
        path = "/:tenantId/v2/Groups",
        method = "get",
        operation_id = "scim_list_groups"
    )]
    #[expect(
        clippy::too_many_arguments,
        reason = "one per query parameter of RFC 7644 §3.4.2"
    )]
    async fn list_groups(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// A SCIM filter, e.g. `displayName eq "Sales"`.
        filter: Query<Option<String>>,
        /// 1-based index of the first result (values below 1 count as 1).
        #[oai(name = "startIndex")]
        start_index: Query<Option<i64>>,
        /// Page size; capped at the announced `filter.maxResults`.
        count: Query<Option<i64>>,
        /// `displayName`, `externalId`, `id`, `meta.created` or `meta.lastModified`.
        #[oai(name = "sortBy")]
        sort_by: Query<Option<String>>,
        /// The direction when `sortBy` is given; ascending by default.
        #[oai(name = "sortOrder")]
        sort_order: Query<Option<AnyCase<SortOrder>>>,
        /// Comma-separated attributes to return.
        attributes: Query<Option<String>>,
        /// Comma-separated attributes not to return.
        #[oai(name = "excludedAttributes")]
        excluded_attributes: Query<Option<String>>,
    ) -> Result<ListGroupsResponse, ScimErrors<Listing>> {
        let request = ListRequest {
            filter: filter.0,
            start_index: start_index.0,
            count: count.0,
            sort_by: sort_by.0,
            sort_order: sort_order.0.map(|order| order.0),
            projection: Projection::new(attributes.as_deref(), excluded_attributes.as_deref()),
        };
        let body = search(&state, &auth.0.tenant_id, &request).await?;
        Ok(ListGroupsResponse::Ok(ScimJson(Documented::new(body))))
    }

    /// Search groups
    ///
    /// The same query as `GET /Groups`, with the parameters in the body (RFC 7644 §3.4.3).
    #[oai(
        path = "/:tenantId/v2/Groups/.search",
        method = "post",
        operation_id = "scim_search_groups"
    )]
    async fn search_groups(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        body: ScimJson<Documented<SearchRequest>>,
    ) -> Result<ListGroupsResponse, ScimErrors<Search>> {
        let body = search(
            &state,
            &auth.0.tenant_id,
            &ListRequest::from_search(body.0.value)?,
        )
        .await?;
        Ok(ListGroupsResponse::Ok(ScimJson(Documented::new(body))))
    }

    /// Create a group
    ///
    /// `displayName` is required and unique per tenant regardless of case (409
    /// `uniqueness`). Every member must be a user of this tenant (else 400 `invalidValue`).
    #[oai(
        path = "/:tenantId/v2/Groups",
        method = "post",
        operation_id = "scim_create_group"
    )]
    async fn create_group(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        body: ScimJson<Documented<docs::GroupRequest>>,
    ) -> Result<CreateGroupResponse, ScimErrors<Creation>> {
        let input = resource::normalize_group(&body.0.value)?;
        let row = store::groups::create(
            &state.db,
            &auth.0.tenant_id,
            &input.attributes,
            input.members,
            state.clock.now(),
        )
        .await?;
        let location = format!("{}/Groups/{}", state.scim_url(&row.tenant_id), row.id);
        let body = render_one(&state, &row, &Projection::default()).await?;
        Ok(CreateGroupResponse::Created(
            ScimJson(Documented::new(body)),
            location,
            store::resources::etag(row.version),
        ))
    }

    /// Get a group
    #[oai(
        path = "/:tenantId/v2/Groups/:id",
        method = "get",
        operation_id = "scim_get_group"
    )]
    #[expect(
        clippy::too_many_arguments,
        reason = "path, projection and conditional headers"
    )]
    async fn get_group(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// The group's id.
        id: Path<String>,
        /// Comma-separated attributes to return.
        attributes: Query<Option<String>>,
        /// Comma-separated attributes not to return.
        #[oai(name = "excludedAttributes")]
        excluded_attributes: Query<Option<String>>,
        /// Answer 304 if the group still has this version.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> Result<GroupResponse, ScimErrors<Lookup>> {
        let row = store::groups::get(state.db.reads(), &auth.0.tenant_id, &id).await?;
        if if_none_match
            .as_deref()
            .is_some_and(|tags| store::resources::etag_matches(tags, row.version))
        {
            return Ok(GroupResponse::NotModified);
        }
        let projection = Projection::new(attributes.as_deref(), excluded_attributes.as_deref());
        let body = render_one(&state, &row, &projection).await?;
        Ok(GroupResponse::Ok(
            ScimJson(Documented::new(body)),
            store::resources::etag(row.version),
        ))
    }

    /// Replace a group
    ///
    /// The body replaces the group's attributes and its whole member list.
    #[oai(
        path = "/:tenantId/v2/Groups/:id",
        method = "put",
        operation_id = "scim_replace_group"
    )]
    async fn replace_group(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// The group's id.
        id: Path<String>,
        /// Replace only if the group still has this version (else 412).
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: ScimJson<Documented<docs::GroupRequest>>,
    ) -> Result<ReplacedGroupResponse, ScimErrors<Change>> {
        let input = resource::normalize_group(&body.0.value)?;
        let row = store::groups::replace(
            &state.db,
            &auth.0.tenant_id,
            &id,
            input.attributes,
            input.members,
            if_match.as_deref(),
            state.clock.now(),
        )
        .await?;
        let body = render_one(&state, &row, &Projection::default()).await?;
        Ok(ReplacedGroupResponse::Ok(
            ScimJson(Documented::new(body)),
            store::resources::etag(row.version),
        ))
    }

    /// Patch a group
    ///
    /// Adds, removes or replaces members and attributes, atomically. Members are added as
    /// `{"op":"Add","path":"members","value":[{"value":"<user id>"}]}` (re-adding is not an
    /// error) and removed as a value list or as `members[value eq "<user id>"]`. Every added
    /// member must be a user of this tenant (else 400 `invalidValue`, nothing changes).
    /// Answers 204, or 200 with the group when `attributes`/`excludedAttributes` is given.
    #[oai(
        path = "/:tenantId/v2/Groups/:id",
        method = "patch",
        operation_id = "scim_patch_group"
    )]
    #[expect(
        clippy::too_many_arguments,
        reason = "path, projection and conditional headers"
    )]
    async fn patch_group(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// The group's id.
        id: Path<String>,
        /// Comma-separated attributes to return (asks for a 200 with the group).
        attributes: Query<Option<String>>,
        /// Comma-separated attributes not to return (asks for a 200 with the group).
        #[oai(name = "excludedAttributes")]
        excluded_attributes: Query<Option<String>>,
        /// Patch only if the group still has this version (else 412).
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: ScimJson<Documented<docs::PatchRequest>>,
        request: &Request,
    ) -> Result<PatchGroupResponse, ScimErrors<Change>> {
        let ops = patch::without_own_id(patch::parse_request(&body.0.value)?, &id)?;
        let (tenant_id, now) = (&auth.0.tenant_id, state.clock.now());
        let patched = match patch::membership_change(&ops) {
            Some(change) if if_match.is_none() => {
                let (add, remove) = (change.add, change.remove);
                store::groups::change_members(&state.db, tenant_id, &id, add, remove, now).await?
            }
            _ => {
                store::groups::apply(&state.db, tenant_id, &id, if_match.as_deref(), now, {
                    move |current| patch::group_change(current, &ops)
                })
                .await?
            }
        };
        if let Some(attribution) = request.data::<Attribution>() {
            attribution.set_members_changed(MembersChanged {
                group_name: patched.group.display_name.clone(),
                joined: patched.joined,
                left: patched.left,
            });
        }
        let row = patched.group;
        let etag = store::resources::etag(row.version);
        if attributes.is_none() && excluded_attributes.is_none() {
            return Ok(PatchGroupResponse::Patched(etag));
        }
        let projection = Projection::new(attributes.as_deref(), excluded_attributes.as_deref());
        let body = render_one(&state, &row, &projection).await?;
        Ok(PatchGroupResponse::Ok(
            ScimJson(Documented::new(body)),
            etag,
        ))
    }

    /// Delete a group
    ///
    /// Removes the group and its memberships; the users stay.
    #[oai(
        path = "/:tenantId/v2/Groups/:id",
        method = "delete",
        operation_id = "scim_delete_group"
    )]
    async fn delete_group(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// The group's id.
        id: Path<String>,
        /// Delete only if the group still has this version (else 412).
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<DeleteGroupResponse, ScimErrors<Removal>> {
        let now = state.clock.now();
        store::groups::delete(&state.db, &auth.0.tenant_id, &id, if_match.as_deref(), now).await?;
        Ok(DeleteGroupResponse::Deleted)
    }
}
