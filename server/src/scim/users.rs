//! `/scim/{tenantId}/v2/Users` (RFC 7644 §3): list and filter, create, read, replace, delete.

use poem::web::Data;
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path, Query},
};
use serde_json::{Map, Value, json};

use super::{
    docs::{self, Documented},
    error::{Change, Creation, Listing, Lookup, Removal, ScimErrorResponse, ScimErrors, Search},
    listing::{ListRequest, SearchRequest, SortOrder, list_response},
    patch,
    payload::ScimJson,
    query::ResourceKind,
    resource::{self, Meta, Projection},
    schema,
};
use crate::{AppState, any_case::AnyCase, api_tags::ApiTag, scim::auth::ScimAuth, store};

#[derive(ApiResponse)]
pub enum ListUsersResponse {
    /// A `ListResponse` of users.
    #[oai(status = 200)]
    Ok(ScimJson<Documented<docs::UserList>>),
}

#[derive(ApiResponse)]
pub enum CreateUserResponse {
    /// The user was created.
    #[oai(status = 201)]
    Created(
        ScimJson<Documented<docs::User>>,
        /// URL of the new user.
        #[oai(header = "Location")]
        String,
        /// Version of the user.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum UserResponse {
    /// The user.
    #[oai(status = 200)]
    Ok(
        ScimJson<Documented<docs::User>>,
        /// Version of the user.
        #[oai(header = "ETag")]
        String,
    ),
    /// `If-None-Match` named the current version.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum ChangedUserResponse {
    /// The user as it is now.
    #[oai(status = 200)]
    Ok(
        ScimJson<Documented<docs::User>>,
        /// Version of the user.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum DeleteUserResponse {
    /// The user and its memberships are gone.
    #[oai(status = 204)]
    Deleted,
}

pub struct UsersApi;

/// A rendered user: its attributes, `id`, `schemas`, `groups` (when given) and `meta`.
pub fn render(
    state: &AppState,
    row: &entity::scim_user::Model,
    groups: Option<&[(String, String)]>,
) -> Result<Map<String, Value>, crate::error::Error> {
    Ok(render_stored(
        state,
        row,
        store::users::user_attributes(row)?,
        groups,
    ))
}

/// `render` of a user whose stored attributes (`row.data`) are at hand as `attrs`.
fn render_stored(
    state: &AppState,
    row: &entity::scim_user::Model,
    attrs: Map<String, Value>,
    groups: Option<&[(String, String)]>,
) -> Map<String, Value> {
    let base = state.scim_url(&row.tenant_id);
    let mut schemas = vec![json!(schema::USER_SCHEMA)];
    if attrs.contains_key(schema::ENTERPRISE_USER_SCHEMA) {
        schemas.push(json!(schema::ENTERPRISE_USER_SCHEMA));
    }
    let mut out = Map::new();
    out.insert("schemas".to_owned(), Value::Array(schemas));
    out.insert("id".to_owned(), json!(row.id));
    out.extend(attrs);
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        let groups: Vec<Value> = groups
            .iter()
            .map(|(id, display)| json!({ "value": id, "$ref": format!("{base}/Groups/{id}"), "display": display, "type": "direct" }))
            .collect();
        out.insert("groups".to_owned(), Value::Array(groups));
    }
    out.insert(
        "meta".to_owned(),
        resource::meta_json(&Meta {
            resource_type: "User",
            created: row.created_at,
            last_modified: row.last_modified,
            location: format!("{base}/Users/{}", row.id),
            version: row.version,
        }),
    );
    out
}

fn render_cached(
    state: &AppState,
    user: &store::user_cache::CachedUser,
    projection: &Projection,
) -> Result<Value, ScimErrorResponse> {
    let groups = projection
        .includes("groups")
        .then_some(user.groups.as_slice());
    Ok(Value::Object(
        projection.apply(render(state, &user.row, groups)?),
    ))
}

async fn render_one(
    state: &AppState,
    row: &entity::scim_user::Model,
    projection: &Projection,
) -> Result<Value, ScimErrorResponse> {
    let groups = if projection.includes("groups") {
        store::users::groups_of(
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
        groups.as_deref(),
    )?)))
}

/// The value of a filter that is exactly `userName eq "…"`: the existence check identity
/// providers send before every create, answered without compiling SQL (and from the user
/// cache where there is one).
fn user_name_equality(filter: &str) -> Option<String> {
    use super::filter::{AttrExp, CompValue, CompareOp, Filter};
    match super::filter::parse(filter).ok()? {
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(value)))
            if path.sub_attr.is_none()
                && path.name.eq_ignore_ascii_case("userName")
                && path
                    .uri
                    .as_deref()
                    .is_none_or(|uri| uri.eq_ignore_ascii_case(schema::USER_SCHEMA)) =>
        {
            Some(value)
        }
        _ => None,
    }
}

async fn search(
    state: &AppState,
    tenant_id: &str,
    request: &ListRequest,
) -> Result<Value, ScimErrorResponse> {
    let projection = &request.projection;
    if let Some(user_name) = request.filter.as_deref().and_then(user_name_equality) {
        let page = request.page(state, ResourceKind::User)?;
        let found = store::users::find_by_user_name(
            &state.db,
            tenant_id,
            &user_name,
            projection.includes("groups"),
        )
        .await?;
        let total = u64::from(found.is_some());
        let resources = found
            .filter(|_| page.count > 0 && page.start_index <= total)
            .map(|user| render_cached(state, &user, projection))
            .transpose()?
            .into_iter()
            .collect();
        return Ok(list_response(total, &page, resources));
    }
    let (page, condition) = request.plan(state, ResourceKind::User)?;
    let (total, rows, mut groups) = store::abandoned::read(&state.db, async |txn| {
        let (total, rows) = store::users::list(txn, tenant_id, condition, &page).await?;
        let groups = if projection.includes("groups") {
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            store::users::groups_of(txn, tenant_id, &ids).await?
        } else {
            Default::default()
        };
        Ok((total, rows, groups))
    })
    .await?;
    let resources = rows
        .iter()
        .map(|row| {
            Ok(Value::Object(projection.apply(render(
                state,
                row,
                groups.remove(&row.id).as_deref(),
            )?)))
        })
        .collect::<Result<Vec<_>, ScimErrorResponse>>()?;
    Ok(list_response(total, &page, resources))
}

fn etag_of(row: &entity::scim_user::Model) -> String {
    store::resources::etag(row.version)
}

#[OpenApi(prefix_path = "/scim", tag = "ApiTag::ScimUsers")]
impl UsersApi {
    /// List users
    ///
    /// Filtered (`filter`, RFC 7644 §3.4.2.2), paged (`startIndex`, `count`) and sorted
    /// (`sortBy`, `sortOrder`). `count=0` returns only `totalResults`.
    #[oai(
        path = "/:tenantId/v2/Users",
        method = "get",
        operation_id = "scim_list_users"
    )]
    #[expect(
        clippy::too_many_arguments,
        reason = "one per query parameter of RFC 7644 §3.4.2"
    )]
    async fn list_users(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// A SCIM filter, e.g. `userName eq "bjensen"`.
        filter: Query<Option<String>>,
        /// 1-based index of the first result (values below 1 count as 1).
        #[oai(name = "startIndex")]
        start_index: Query<Option<i64>>,
        /// Page size; capped at the announced `filter.maxResults`.
        count: Query<Option<i64>>,
        /// `userName`, `displayName`, `externalId`, `id`, `meta.created` or `meta.lastModified`.
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
    ) -> Result<ListUsersResponse, ScimErrors<Listing>> {
        let request = ListRequest {
            filter: filter.0,
            start_index: start_index.0,
            count: count.0,
            sort_by: sort_by.0,
            sort_order: sort_order.0.map(|order| order.0),
            projection: Projection::new(attributes.as_deref(), excluded_attributes.as_deref()),
        };
        let body = search(&state, &auth.0.tenant_id, &request).await?;
        Ok(ListUsersResponse::Ok(ScimJson(Documented::new(body))))
    }

    /// Search users
    ///
    /// The same query as `GET /Users`, with the parameters in the body (RFC 7644 §3.4.3).
    #[oai(
        path = "/:tenantId/v2/Users/.search",
        method = "post",
        operation_id = "scim_search_users"
    )]
    async fn search_users(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        body: ScimJson<Documented<SearchRequest>>,
    ) -> Result<ListUsersResponse, ScimErrors<Search>> {
        let body = search(
            &state,
            &auth.0.tenant_id,
            &ListRequest::from_search(body.0.value)?,
        )
        .await?;
        Ok(ListUsersResponse::Ok(ScimJson(Documented::new(body))))
    }

    /// Create a user
    ///
    /// `userName` is required and unique per tenant regardless of case (409 `uniqueness`).
    /// Unknown attributes are ignored; read-only ones (`id`, `meta`, `groups`) too.
    #[oai(
        path = "/:tenantId/v2/Users",
        method = "post",
        operation_id = "scim_create_user"
    )]
    async fn create_user(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        body: ScimJson<Documented<docs::UserRequest>>,
    ) -> Result<CreateUserResponse, ScimErrors<Creation>> {
        let attrs = resource::normalize_user(&body.0.value)?;
        let row =
            store::users::create(&state.db, &auth.0.tenant_id, &attrs, state.clock.now()).await?;
        let location = format!("{}/Users/{}", state.scim_url(&row.tenant_id), row.id);
        let etag = etag_of(&row);
        // What was stored is `attrs`: no need to parse it back.
        let body = render_stored(&state, &row, attrs, None);
        Ok(CreateUserResponse::Created(
            ScimJson(Documented::new(Value::Object(body))),
            location,
            etag,
        ))
    }

    /// Get a user
    #[oai(
        path = "/:tenantId/v2/Users/:id",
        method = "get",
        operation_id = "scim_get_user"
    )]
    #[expect(
        clippy::too_many_arguments,
        reason = "path, projection and conditional headers"
    )]
    async fn get_user(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// The user's id.
        id: Path<String>,
        /// Comma-separated attributes to return.
        attributes: Query<Option<String>>,
        /// Comma-separated attributes not to return.
        #[oai(name = "excludedAttributes")]
        excluded_attributes: Query<Option<String>>,
        /// Answer 304 if the user still has this version.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> Result<UserResponse, ScimErrors<Lookup>> {
        let projection = Projection::new(attributes.as_deref(), excluded_attributes.as_deref());
        let user = store::users::fetch(
            &state.db,
            &auth.0.tenant_id,
            &id,
            projection.includes("groups"),
        )
        .await?;
        if if_none_match
            .as_deref()
            .is_some_and(|tags| store::resources::etag_matches(tags, user.row.version))
        {
            return Ok(UserResponse::NotModified);
        }
        let body = render_cached(&state, &user, &projection)?;
        Ok(UserResponse::Ok(
            ScimJson(Documented::new(body)),
            etag_of(&user.row),
        ))
    }

    /// Replace a user
    ///
    /// The body replaces every writable attribute; what it omits is cleared.
    #[oai(
        path = "/:tenantId/v2/Users/:id",
        method = "put",
        operation_id = "scim_replace_user"
    )]
    async fn replace_user(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// The user's id.
        id: Path<String>,
        /// Replace only if the user still has this version (else 412).
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: ScimJson<Documented<docs::UserRequest>>,
    ) -> Result<ChangedUserResponse, ScimErrors<Change>> {
        let attrs = resource::normalize_user(&body.0.value)?;
        let row = store::users::replace(
            &state.db,
            &auth.0.tenant_id,
            &id,
            attrs,
            if_match.as_deref(),
            state.clock.now(),
        )
        .await?;
        let body = render_one(&state, &row, &Projection::default()).await?;
        Ok(ChangedUserResponse::Ok(
            ScimJson(Documented::new(body)),
            etag_of(&row),
        ))
    }

    /// Patch a user
    ///
    /// RFC 7644 §3.5.2 operations, atomically: if one fails, nothing changes. Accepts
    /// Entra's dialect (op names in any case, `"True"`/`"False"`, path-less objects whose
    /// keys are paths, `emails[type eq "work"].value` on users without a work email).
    #[oai(
        path = "/:tenantId/v2/Users/:id",
        method = "patch",
        operation_id = "scim_patch_user"
    )]
    async fn patch_user(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// The user's id.
        id: Path<String>,
        /// Patch only if the user still has this version (else 412).
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: ScimJson<Documented<docs::PatchRequest>>,
    ) -> Result<ChangedUserResponse, ScimErrors<Change>> {
        let ops = patch::without_own_id(patch::parse_request(&body.0.value)?, &id)?;
        let row = store::users::modify(
            &state.db,
            &auth.0.tenant_id,
            &id,
            if_match.as_deref(),
            state.clock.now(),
            move |attrs| patch::apply_to_user(attrs, &ops),
        )
        .await?;
        let body = render_one(&state, &row, &Projection::default()).await?;
        Ok(ChangedUserResponse::Ok(
            ScimJson(Documented::new(body)),
            etag_of(&row),
        ))
    }

    /// Delete a user
    ///
    /// Removes the user and its group memberships. Deactivate with `active: false` instead
    /// to keep it readable.
    #[oai(
        path = "/:tenantId/v2/Users/:id",
        method = "delete",
        operation_id = "scim_delete_user"
    )]
    async fn delete_user(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// The user's id.
        id: Path<String>,
        /// Delete only if the user still has this version (else 412).
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<DeleteUserResponse, ScimErrors<Removal>> {
        let now = state.clock.now();
        store::users::delete(&state.db, &auth.0.tenant_id, &id, if_match.as_deref(), now).await?;
        Ok(DeleteUserResponse::Deleted)
    }
}
