"""A client developer's flow through the Python client generated from openapi.json.

Usage: python_flow.py BASE_URL OPERATOR_KEY_FILE

Every response, errors included, must parse into the generated types: the calls use
`raise_on_unexpected_status`, and each answer is checked to be the documented model.
"""
import sys
import uuid

from scim_provisioning_client import AuthenticatedClient, Client
from scim_provisioning_client.api.admin_keys import admin_create_admin_key, admin_list_admin_keys
from scim_provisioning_client.api.operations import healthz
from scim_provisioning_client.api.permissions import (
    admin_create_permission_group,
    admin_create_product,
    admin_get_user_permissions,
    admin_list_permissions,
    admin_put_group_mapping,
)
from scim_provisioning_client.api.scim_discovery import scim_get_schema, scim_list_resource_types
from scim_provisioning_client.api.scim_groups import (
    scim_create_group,
    scim_delete_group,
    scim_list_groups,
    scim_patch_group,
)
from scim_provisioning_client.api.scim_tokens import admin_create_scim_token, admin_list_scim_tokens
from scim_provisioning_client.api.scim_users import (
    scim_create_user,
    scim_delete_user,
    scim_get_user,
    scim_list_users,
    scim_patch_user,
)
from scim_provisioning_client.api.tenants import admin_create_tenant, admin_get_tenant
from scim_provisioning_client.models import (
    AccessType,
    ApiError,
    CreateAdminKey,
    CreateScimToken,
    CreateTenant,
    CredentialList,
    EffectivePermissions,
    GroupMapping,
    GroupMappingInput,
    Health,
    IssuedAdminKey,
    IssuedScimToken,
    NoPermissionReason,
    PermissionPreview,
    PermissionGroup,
    PermissionGroupInput,
    PermissionList,
    Product,
    ProductInput,
    ScimError,
    ScimGroup,
    ScimGroupList,
    ScimGroupRequest,
    ScimMultiValue,
    ScimName,
    ScimPatchOperation,
    ScimPatchRequest,
    ScimReference,
    ScimResourceTypeList,
    ScimSchema,
    ScimSortOrder,
    ScimUniqueness,
    ScimUser,
    ScimUserList,
    ScimUserRequest,
    Tenant,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def expect(response, status, model):
    """The parsed body of `response`, after checking its status and type."""
    assert response.status_code == status, (response.status_code, response.content)
    if model is None:
        return None
    assert isinstance(response.parsed, model), (model, response.parsed, response.content)
    return response.parsed


def patch_request(op: str, path: str, value) -> ScimPatchRequest:
    return ScimPatchRequest(schemas=[PATCH_OP], operations=[ScimPatchOperation(op=op, path=path, value=value)])


def main(base_url: str, key_file: str) -> None:
    with open(key_file, encoding="utf-8") as f:
        operator_key = f.read().strip()
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    admin = AuthenticatedClient(base_url=base_url, token=operator_key, raise_on_unexpected_status=True)

    expect(healthz.sync_detailed(client=anonymous), 200, Health)

    # Admin API: a tenant, its SCIM token issued with nothing, rotated, listed; an admin key.
    name = f"acme-{uuid.uuid4().hex[:8]}"
    created = admin_create_tenant.sync_detailed(client=admin, body=CreateTenant(name=name))
    tenant = expect(created, 201, Tenant)
    assert created.headers["content-type"] == "application/json", created.headers
    assert created.headers["location"] == f"{base_url}/admin/v1/tenants/{tenant.id}", created.headers
    first = expect(
        admin_create_scim_token.sync_detailed(tenant.id, client=admin, body=CreateScimToken()),
        201,
        IssuedScimToken,
    )
    rotated = expect(
        admin_create_scim_token.sync_detailed(
            tenant.id, client=admin, body=CreateScimToken(name="Entra ID", overlap_seconds=60)
        ),
        201,
        IssuedScimToken,
    )
    assert rotated.token != first.token
    tokens = expect(admin_list_scim_tokens.sync_detailed(tenant.id, client=admin), 200, CredentialList)
    assert {t.id for t in tokens.items} == {first.id, rotated.id}, tokens
    key = expect(
        admin_create_admin_key.sync_detailed(tenant.id, client=admin, body=CreateAdminKey(name="tenant admins")),
        201,
        IssuedAdminKey,
    )
    tenant_admin = AuthenticatedClient(base_url=base_url, token=key.key, raise_on_unexpected_status=True)
    expect(admin_get_tenant.sync_detailed(tenant.id, client=tenant_admin), 200, Tenant)
    expect(admin_list_admin_keys.sync_detailed(tenant.id, client=admin), 200, CredentialList)

    # Permissions: the catalog, a product, a custom permission group.
    catalog = expect(admin_list_permissions.sync_detailed(client=admin), 200, PermissionList)
    assert any(p.name == "canCreateOrUpdateConfig" for p in catalog.items), catalog
    product = expect(admin_create_product.sync_detailed(tenant.id, client=admin, body=ProductInput(name="Main")), 201, Product)
    developers = PermissionGroupInput(
        name="Developers", access_type=AccessType.CUSTOM, permissions=["canCreateOrUpdateConfig"]
    )
    developers_group = expect(
        admin_create_permission_group.sync_detailed(tenant.id, product.id, client=admin, body=developers),
        201,
        PermissionGroup,
    )
    assert developers_group.permissions == ["canCreateOrUpdateConfig"], developers_group
    unknown = PermissionGroupInput(name="Flyers", access_type=AccessType.CUSTOM, permissions=["canFly"])
    refused = expect(
        admin_create_permission_group.sync_detailed(tenant.id, product.id, client=admin, body=unknown),
        400,
        ApiError,
    )
    assert "canFly" in refused.message, refused

    # Admin API errors parse as ApiError.
    expect(admin_get_tenant.sync_detailed(str(uuid.uuid4()), client=admin), 404, ApiError)
    expect(admin_create_tenant.sync_detailed(client=admin, body=CreateTenant(name="")), 422, ApiError)
    wrong = AuthenticatedClient(base_url=base_url, token="sadm_x_y", raise_on_unexpected_status=True)
    expect(admin_get_tenant.sync_detailed(tenant.id, client=wrong), 401, ApiError)

    # SCIM, with the rotated token: discovery first, as an identity provider does.
    scim = AuthenticatedClient(base_url=base_url, token=rotated.token, raise_on_unexpected_status=True)
    types = expect(scim_list_resource_types.sync_detailed(tenant.id, client=scim), 200, ScimResourceTypeList)
    assert {t.id for t in types.resources} == {"User", "Group"}, types
    user_schema = expect(
        scim_get_schema.sync_detailed(tenant.id, "urn:ietf:params:scim:schemas:core:2.0:User", client=scim),
        200,
        ScimSchema,
    )
    user_name = next(a for a in user_schema.attributes if a.name == "userName")
    assert user_name.uniqueness == ScimUniqueness.SERVER, user_name
    user = expect(
        scim_create_user.sync_detailed(
            tenant.id,
            client=scim,
            body=ScimUserRequest(
                user_name="ada@example.org",
                name=ScimName(given_name="Ada", family_name="Lovelace"),
                emails=[ScimMultiValue(value="ada@example.org", type_="work", primary=True)],
                active=True,
            ),
        ),
        201,
        ScimUser,
    )
    assert user.id and user.meta and user.meta.version, user
    got = expect(scim_get_user.sync_detailed(tenant.id, user.id, client=scim), 200, ScimUser)
    assert got.user_name == "ada@example.org"
    found = expect(
        scim_list_users.sync_detailed(tenant.id, client=scim, filter_='userName eq "ADA@example.org"'),
        200,
        ScimUserList,
    )
    assert found.total_results == 1 and found.resources[0].id == user.id, found
    projected = expect(
        scim_list_users.sync_detailed(tenant.id, client=scim, attributes="displayName"),
        200,
        ScimUserList,
    )
    assert projected.resources[0].id == user.id, projected
    sorted_users = expect(
        scim_list_users.sync_detailed(
            tenant.id, client=scim, sort_by="userName", sort_order=ScimSortOrder.DESCENDING
        ),
        200,
        ScimUserList,
    )
    assert [u.id for u in sorted_users.resources] == [user.id], sorted_users
    deactivated = expect(
        scim_patch_user.sync_detailed(
            tenant.id,
            user.id,
            client=scim,
            body=patch_request("replace", "active", False),
        ),
        200,
        ScimUser,
    )
    assert deactivated.active is False

    group = expect(
        scim_create_group.sync_detailed(tenant.id, client=scim, body=ScimGroupRequest(display_name="Sales")),
        201,
        ScimGroup,
    )
    expect(
        scim_patch_group.sync_detailed(
            tenant.id,
            group.id,
            client=scim,
            body=patch_request("add", "members", [ScimReference(value=user.id).to_dict()]),
        ),
        204,
        None,
    )
    groups = expect(
        scim_list_groups.sync_detailed(tenant.id, client=scim, excluded_attributes="members"),
        200,
        ScimGroupList,
    )
    assert groups.total_results == 1 and not groups.resources[0].members, groups

    # A dry run previews (nothing changes for a deactivated member) and writes nothing.
    preview = expect(
        admin_put_group_mapping.sync_detailed(
            tenant.id,
            group.id,
            client=admin,
            body=GroupMappingInput(permission_group_ids=[developers_group.id]),
            dry_run=True,
        ),
        200,
        PermissionPreview,
    )
    assert preview.dry_run and preview.changes == [], preview

    # The synced group mapped; the (deactivated) member's effective permissions say why none.
    mapped = expect(
        admin_put_group_mapping.sync_detailed(
            tenant.id, group.id, client=admin, body=GroupMappingInput(permission_group_ids=[developers_group.id])
        ),
        200,
        GroupMapping,
    )
    assert mapped.priority == 1 and mapped.permission_group_ids == [developers_group.id], mapped
    effective = expect(
        admin_get_user_permissions.sync_detailed(tenant.id, user.id, client=admin), 200, EffectivePermissions
    )
    assert effective.reason == NoPermissionReason.INACTIVE and effective.products == [], effective

    # SCIM errors parse as ScimError.
    duplicate = expect(
        scim_create_user.sync_detailed(tenant.id, client=scim, body=ScimUserRequest(user_name="Ada@Example.org")),
        409,
        ScimError,
    )
    assert str(duplicate.scim_type) == "uniqueness", duplicate
    expect(scim_list_users.sync_detailed(tenant.id, client=scim, filter_="userName eq"), 400, ScimError)
    expect(scim_get_user.sync_detailed(tenant.id, str(uuid.uuid4()), client=scim), 404, ScimError)

    expect(scim_delete_user.sync_detailed(tenant.id, user.id, client=scim), 204, None)
    expect(scim_delete_group.sync_detailed(tenant.id, group.id, client=scim), 204, None)
    expect(scim_get_user.sync_detailed(tenant.id, user.id, client=scim), 404, ScimError)
    print("python client flow: ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
