//! `/admin/v1/permission-catalog`: the permission names permission groups may hold. Every
//! admin key reads it; operators add and remove entries.

use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{
    auth::AdminAuth,
    error::{AdminErrors, Creation, Listing, Removal},
    json_body::AdminJson,
    validate,
};
use crate::text::{Identifier, Name, Text};
use crate::{
    AppState,
    api_tags::ApiTag,
    store::{self, audit::Actor, catalog::Access},
};

/// A permission the host product understands.
#[derive(Debug, Clone, Object)]
pub struct Permission {
    /// The name, e.g. `canManageMembers`; case matters.
    pub name: String,
    // Whether it only lets its holder look or also change things.
    pub access: Access,
    /// What it allows.
    pub description: String,
}

/// A page of the catalog.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PermissionList {
    /// In name order.
    pub items: Vec<Permission>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// Body of `POST /admin/v1/permission-catalog`.
#[derive(Debug, Clone, Object)]
pub struct CreatePermission {
    /// 1 to 100 ASCII letters and digits, starting with a letter.
    pub name: Text<Identifier>,
    // Whether it only lets its holder look or also change things.
    pub access: Access,
    /// What it allows, 1 to 200 characters.
    pub description: Text<Name>,
}

#[derive(ApiResponse)]
pub enum CreatePermissionResponse {
    /// The permission was added to the catalog.
    #[oai(status = 201)]
    Created(Json<Permission>),
}

#[derive(ApiResponse)]
pub enum ListPermissionsResponse {
    /// The catalog.
    #[oai(status = 200)]
    Ok(Json<PermissionList>),
}

#[derive(ApiResponse)]
pub enum DeletePermissionResponse {
    /// The permission is no longer in the catalog.
    #[oai(status = 204)]
    Deleted,
}

fn to_api(row: entity::permission::Model) -> Permission {
    Permission {
        access: Access::of(&row.access),
        name: row.name,
        description: row.description,
    }
}

/// A catalog name: what host products test for, so kept to identifier characters.
fn permission_name(value: &str) -> Result<String, super::error::AdminError> {
    let valid = (1..=100).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(value.to_owned())
    } else {
        Err(super::error::AdminError::invalid(
            "name must be 1 to 100 ASCII letters and digits, starting with a letter",
        ))
    }
}

pub struct CatalogApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::Permissions")]
impl CatalogApi {
    /// List the permission catalog
    ///
    /// Any admin key. `readOnly` permission groups hold the `read` permissions, `full` ones
    /// every permission, `custom` ones those they list.
    #[oai(
        path = "/permission-catalog",
        method = "get",
        operation_id = "admin_list_permissions"
    )]
    async fn list_permissions(
        &self,
        state: Data<&AppState>,
        _auth: AdminAuth,
        /// Most permissions in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<ListPermissionsResponse, AdminErrors<Listing>> {
        let limit = validate::page_limit(limit.0)?;
        let (rows, next_cursor) =
            store::catalog::list(state.db.reads(), cursor.as_deref(), limit).await?;
        Ok(ListPermissionsResponse::Ok(Json(PermissionList {
            items: rows.into_iter().map(to_api).collect(),
            next_cursor,
        })))
    }

    /// Add a permission to the catalog
    ///
    /// Operator only.
    #[oai(
        path = "/permission-catalog",
        method = "post",
        operation_id = "admin_create_permission"
    )]
    async fn create_permission(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        body: AdminJson<CreatePermission>,
    ) -> Result<CreatePermissionResponse, AdminErrors<Creation>> {
        auth.0.require_operator()?;
        let name = permission_name(&body.name)?;
        let description = validate::name("description", &body.description)?;
        let actor = auth.0.actor(state.clock.now());
        let row = store::catalog::create(&state.db, actor, name, body.access, description).await?;
        Ok(CreatePermissionResponse::Created(Json(to_api(row))))
    }

    /// Remove a permission from the catalog
    ///
    /// Operator only. A permission some permission group holds cannot be removed (409
    /// naming the groups).
    #[oai(
        path = "/permission-catalog/:name",
        method = "delete",
        operation_id = "admin_delete_permission"
    )]
    async fn delete_permission(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The permission's name.
        name: Path<String>,
    ) -> Result<DeletePermissionResponse, AdminErrors<Removal>> {
        auth.0.require_operator()?;
        let actor: Actor = auth.0.actor(state.clock.now());
        store::catalog::delete(&state.db, actor, name.0).await?;
        Ok(DeletePermissionResponse::Deleted)
    }
}
