//! `/admin/v1/tenants/{tenantId}/products` and their `permission-groups`: what synced groups
//! can be given. Tenant admins manage their own tenant's.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{
    auth::AdminAuth,
    error::{AdminErrors, Listing, Removal, Single, Writing},
    json_body::AdminJson,
    validate,
};
use crate::text::{Identifier, Name, Text};
use crate::{
    AppState,
    api_tags::ApiTag,
    store::{
        self,
        products::{AccessType, GroupSpec},
    },
};

/// A product of a tenant.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct Product {
    /// Server-assigned id.
    pub id: String,
    /// Unique in the tenant regardless of case.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A page of products.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ProductList {
    /// Oldest first.
    pub items: Vec<Product>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// Body of `POST …/products` and `PUT …/products/{productId}`.
#[derive(Debug, Clone, Object)]
pub struct ProductInput {
    /// 1 to 200 characters after trimming, unique in the tenant regardless of case.
    pub name: Text<Name>,
}

/// A permission group of a product.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PermissionGroup {
    /// Server-assigned id.
    pub id: String,
    /// The product it belongs to.
    pub product_id: String,
    /// Unique in the product regardless of case.
    pub name: String,
    // What it grants.
    pub access_type: AccessType,
    /// The permissions it grants now, in name order: for `full` every catalog permission,
    /// for `readOnly` the catalog's `read` ones, for `custom` those it lists.
    pub permissions: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A page of permission groups.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PermissionGroupList {
    /// Oldest first.
    pub items: Vec<PermissionGroup>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// Body of `POST …/permission-groups` and `PUT …/permission-groups/{permissionGroupId}`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PermissionGroupInput {
    /// 1 to 200 characters after trimming, unique in the product regardless of case.
    pub name: Text<Name>,
    // What it grants.
    pub access_type: AccessType,
    /// For `custom` only: catalog permission names (unknown ones are a 400 naming them).
    pub permissions: Option<Vec<Text<Identifier>>>,
}

#[derive(ApiResponse)]
pub enum CreateProductResponse {
    /// The product was created.
    #[oai(status = 201)]
    Created(
        Json<Product>,
        /// Absolute URL of the new product.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum ProductResponse {
    /// The product.
    #[oai(status = 200)]
    Ok(Json<Product>),
}

#[derive(ApiResponse)]
pub enum ListProductsResponse {
    /// The tenant's products.
    #[oai(status = 200)]
    Ok(Json<ProductList>),
}

#[derive(ApiResponse)]
pub enum DeletedResponse {
    /// It is gone, with everything that hung off it.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
pub enum CreatePermissionGroupResponse {
    /// The permission group was created.
    #[oai(status = 201)]
    Created(
        Json<PermissionGroup>,
        /// Absolute URL of the new permission group.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum PermissionGroupResponse {
    /// The permission group.
    #[oai(status = 200)]
    Ok(Json<PermissionGroup>),
}

#[derive(ApiResponse)]
pub enum ListPermissionGroupsResponse {
    /// The product's permission groups.
    #[oai(status = 200)]
    Ok(Json<PermissionGroupList>),
}

fn product_to_api(row: entity::product::Model) -> Product {
    Product {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
    }
}

fn group_to_api(group: store::products::PermissionGroup) -> PermissionGroup {
    PermissionGroup {
        access_type: AccessType::of(&group.row.access_type),
        id: group.row.id,
        product_id: group.row.product_id,
        name: group.row.name,
        permissions: group.permissions,
        created_at: group.row.created_at,
    }
}

fn group_spec(input: &PermissionGroupInput) -> Result<GroupSpec, super::error::AdminError> {
    Ok(GroupSpec {
        name: validate::name("name", &input.name)?,
        access_type: input.access_type,
        permissions: input
            .permissions
            .iter()
            .flatten()
            .map(|permission| permission.0.clone())
            .collect::<BTreeSet<_>>(),
    })
}

fn products_url(state: &AppState, tenant_id: &str) -> String {
    format!(
        "{}/admin/v1/tenants/{tenant_id}/products",
        state.settings.public_url
    )
}

pub struct ProductsApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "ApiTag::Permissions")]
impl ProductsApi {
    /// Create a product
    #[oai(
        path = "/:tenantId/products",
        method = "post",
        operation_id = "admin_create_product"
    )]
    async fn create_product(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        body: AdminJson<ProductInput>,
    ) -> Result<CreateProductResponse, AdminErrors<Writing>> {
        auth.0.require_tenant(&tenant_id)?;
        let name = validate::name("name", &body.name)?;
        let actor = auth.0.actor(state.clock.now());
        let row = store::products::create(&state.db, actor, &tenant_id, name).await?;
        let location = format!("{}/{}", products_url(&state, &tenant_id), row.id);
        Ok(CreateProductResponse::Created(
            Json(product_to_api(row)),
            location,
        ))
    }

    /// List products
    #[oai(
        path = "/:tenantId/products",
        method = "get",
        operation_id = "admin_list_products"
    )]
    async fn list_products(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// Most products in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<ListProductsResponse, AdminErrors<Listing>> {
        auth.0.require_tenant(&tenant_id)?;
        let limit = validate::page_limit(limit.0)?;
        let (rows, next_cursor) =
            store::products::list(state.db.reads(), &tenant_id, cursor.as_deref(), limit).await?;
        Ok(ListProductsResponse::Ok(Json(ProductList {
            items: rows.into_iter().map(product_to_api).collect(),
            next_cursor,
        })))
    }

    /// Get a product
    #[oai(
        path = "/:tenantId/products/:productId",
        method = "get",
        operation_id = "admin_get_product"
    )]
    async fn get_product(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The product's id.
        #[oai(name = "productId")]
        product_id: Path<String>,
    ) -> Result<ProductResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let row = store::products::get(state.db.reads(), &tenant_id, &product_id).await?;
        Ok(ProductResponse::Ok(Json(product_to_api(row))))
    }

    /// Rename a product
    #[oai(
        path = "/:tenantId/products/:productId",
        method = "put",
        operation_id = "admin_replace_product"
    )]
    async fn replace_product(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The product's id.
        #[oai(name = "productId")]
        product_id: Path<String>,
        body: AdminJson<ProductInput>,
    ) -> Result<ProductResponse, AdminErrors<Writing>> {
        auth.0.require_tenant(&tenant_id)?;
        let name = validate::name("name", &body.name)?;
        let actor = auth.0.actor(state.clock.now());
        let row = store::products::rename(&state.db, actor, &tenant_id, &product_id, name).await?;
        Ok(ProductResponse::Ok(Json(product_to_api(row))))
    }

    /// Delete a product
    ///
    /// Removes its permission groups too, and takes them out of every group mapping.
    #[oai(
        path = "/:tenantId/products/:productId",
        method = "delete",
        operation_id = "admin_delete_product"
    )]
    async fn delete_product(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The product's id.
        #[oai(name = "productId")]
        product_id: Path<String>,
    ) -> Result<DeletedResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let actor = auth.0.actor(state.clock.now());
        store::products::delete(&state.db, actor, &tenant_id, &product_id).await?;
        Ok(DeletedResponse::Deleted)
    }

    /// Create a permission group
    #[oai(
        path = "/:tenantId/products/:productId/permission-groups",
        method = "post",
        operation_id = "admin_create_permission_group"
    )]
    async fn create_permission_group(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The product's id.
        #[oai(name = "productId")]
        product_id: Path<String>,
        body: AdminJson<PermissionGroupInput>,
    ) -> Result<CreatePermissionGroupResponse, AdminErrors<Writing>> {
        auth.0.require_tenant(&tenant_id)?;
        let spec = group_spec(&body)?;
        let actor = auth.0.actor(state.clock.now());
        let group =
            store::products::create_group(&state.db, actor, &tenant_id, &product_id, spec).await?;
        let location = format!(
            "{}/{}/permission-groups/{}",
            products_url(&state, &tenant_id),
            product_id.0,
            group.row.id
        );
        Ok(CreatePermissionGroupResponse::Created(
            Json(group_to_api(group)),
            location,
        ))
    }

    /// List permission groups
    #[oai(
        path = "/:tenantId/products/:productId/permission-groups",
        method = "get",
        operation_id = "admin_list_permission_groups"
    )]
    async fn list_permission_groups(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The product's id.
        #[oai(name = "productId")]
        product_id: Path<String>,
        /// Most permission groups in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<ListPermissionGroupsResponse, AdminErrors<Listing>> {
        auth.0.require_tenant(&tenant_id)?;
        let limit = validate::page_limit(limit.0)?;
        let (groups, next_cursor) = store::products::list_groups(
            state.db.reads(),
            &tenant_id,
            &product_id,
            cursor.as_deref(),
            limit,
        )
        .await?;
        Ok(ListPermissionGroupsResponse::Ok(Json(
            PermissionGroupList {
                items: groups.into_iter().map(group_to_api).collect(),
                next_cursor,
            },
        )))
    }

    /// Get a permission group
    #[oai(
        path = "/:tenantId/products/:productId/permission-groups/:permissionGroupId",
        method = "get",
        operation_id = "admin_get_permission_group"
    )]
    async fn get_permission_group(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The product's id.
        #[oai(name = "productId")]
        product_id: Path<String>,
        /// The permission group's id.
        #[oai(name = "permissionGroupId")]
        permission_group_id: Path<String>,
    ) -> Result<PermissionGroupResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let group = store::products::get_group(
            state.db.reads(),
            &tenant_id,
            &product_id,
            &permission_group_id,
        )
        .await?;
        Ok(PermissionGroupResponse::Ok(Json(group_to_api(group))))
    }

    /// Replace a permission group
    ///
    /// Name, access type and permissions are all replaced.
    #[oai(
        path = "/:tenantId/products/:productId/permission-groups/:permissionGroupId",
        method = "put",
        operation_id = "admin_replace_permission_group"
    )]
    async fn replace_permission_group(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The product's id.
        #[oai(name = "productId")]
        product_id: Path<String>,
        /// The permission group's id.
        #[oai(name = "permissionGroupId")]
        permission_group_id: Path<String>,
        body: AdminJson<PermissionGroupInput>,
    ) -> Result<PermissionGroupResponse, AdminErrors<Writing>> {
        auth.0.require_tenant(&tenant_id)?;
        let spec = group_spec(&body)?;
        let actor = auth.0.actor(state.clock.now());
        let group = store::products::replace_group(
            &state.db,
            actor,
            &tenant_id,
            &product_id,
            &permission_group_id,
            spec,
        )
        .await?;
        Ok(PermissionGroupResponse::Ok(Json(group_to_api(group))))
    }

    /// Delete a permission group
    ///
    /// If group mappings use it, 409 naming those groups, unless `force=true`, which also
    /// takes it out of those mappings.
    #[oai(
        path = "/:tenantId/products/:productId/permission-groups/:permissionGroupId",
        method = "delete",
        operation_id = "admin_delete_permission_group"
    )]
    async fn delete_permission_group(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The product's id.
        #[oai(name = "productId")]
        product_id: Path<String>,
        /// The permission group's id.
        #[oai(name = "permissionGroupId")]
        permission_group_id: Path<String>,
        /// Also take it out of the group mappings that use it.
        force: Query<Option<bool>>,
    ) -> Result<DeletedResponse, AdminErrors<Removal>> {
        auth.0.require_tenant(&tenant_id)?;
        let actor = auth.0.actor(state.clock.now());
        store::products::delete_group(
            &state.db,
            actor,
            &tenant_id,
            &product_id,
            &permission_group_id,
            force.0.unwrap_or(false),
        )
        .await?;
        Ok(DeletedResponse::Deleted)
    }
}
