// A client developer's flow through the TypeScript types generated from openapi.json
// (openapi-typescript) and openapi-fetch. Compiled with `tsc --strict`; run by CI as
// `node dist/flow.js BASE_URL OPERATOR_KEY_FILE`.
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];

const [baseArgument, keyFile] = process.argv.slice(2);
if (!baseArgument || !keyFile) {
  throw new Error("usage: flow.js BASE_URL OPERATOR_KEY_FILE");
}
const baseUrl: string = baseArgument;
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

function check(condition: boolean, what: string, detail?: unknown): asserts condition {
  if (!condition) {
    throw new Error(`${what}: ${JSON.stringify(detail)}`);
  }
}

/** The body of a successful answer, after checking its status. */
function ok<T>(answer: { data?: T; error?: unknown; response: Response }, status: number): T {
  check(answer.response.status === status, `expected ${status}, got ${answer.response.status}`, answer.error);
  check(answer.data !== undefined, "no body", answer.error);
  return answer.data;
}

/** The error body of a failed answer, after checking its status. */
function failed<E>(answer: { data?: unknown; error?: E; response: Response }, status: number): E {
  check(answer.response.status === status, `expected ${status}, got ${answer.response.status}`, answer.data);
  check(answer.error !== undefined, "no error body");
  return answer.error;
}

function client(token: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

const admin = client(readFileSync(keyFile, "utf8").trim());

// Admin API.
const name = `acme-${Math.random().toString(16).slice(2, 10)}`;
const created = await admin.POST("/admin/v1/tenants", { body: { name } });
const tenant: Schemas["Tenant"] = ok(created, 201);
check(created.response.headers.get("content-type") === "application/json", "plain JSON media type");
check(
  created.response.headers.get("location") === `${baseUrl}/admin/v1/tenants/${tenant.id}`,
  "absolute Location",
  created.response.headers.get("location"),
);
const tenantPath = { params: { path: { tenantId: tenant.id } } };
const first: Schemas["IssuedScimToken"] = ok(
  await admin.POST("/admin/v1/tenants/{tenantId}/scim-tokens", { ...tenantPath, body: {} }),
  201,
);
const rotated = ok(
  await admin.POST("/admin/v1/tenants/{tenantId}/scim-tokens", {
    ...tenantPath,
    body: { name: "Entra ID", overlapSeconds: 60 },
  }),
  201,
);
check(rotated.token !== first.token, "rotation issues a new token");
const tokens: Schemas["CredentialList"] = ok(await admin.GET("/admin/v1/tenants/{tenantId}/scim-tokens", tenantPath), 200);
check(tokens.items.length === 2, "two live tokens", tokens);
const key = ok(
  await admin.POST("/admin/v1/tenants/{tenantId}/admin-keys", { ...tenantPath, body: { name: "tenant admins" } }),
  201,
);
ok(await client(key.key).GET("/admin/v1/tenants/{tenantId}", tenantPath), 200);
const missing: Schemas["ApiError"] = failed(
  await admin.GET("/admin/v1/tenants/{tenantId}", { params: { path: { tenantId: crypto.randomUUID() } } }),
  404,
);
check(typeof missing.code === "string" && missing.message.length > 0, "ApiError", missing);
failed(await admin.POST("/admin/v1/tenants", { body: { name: "" } }), 422);

// Permissions: the catalog, a product, a custom permission group.
const catalog: Schemas["PermissionList"] = ok(await admin.GET("/admin/v1/permission-catalog", {}), 200);
check(catalog.items.some((p) => p.name === "canCreateOrUpdateConfig"), "catalog", catalog);
const product: Schemas["Product"] = ok(
  await admin.POST("/admin/v1/tenants/{tenantId}/products", { ...tenantPath, body: { name: "Main" } }),
  201,
);
const productPath = { params: { path: { tenantId: tenant.id, productId: product.id } } };
const developers: Schemas["PermissionGroup"] = ok(
  await admin.POST("/admin/v1/tenants/{tenantId}/products/{productId}/permission-groups", {
    ...productPath,
    body: { name: "Developers", accessType: "custom", permissions: ["canCreateOrUpdateConfig"] },
  }),
  201,
);
check(developers.permissions.join() === "canCreateOrUpdateConfig", "custom group", developers);
const refused: Schemas["ApiError"] = failed(
  await admin.POST("/admin/v1/tenants/{tenantId}/products/{productId}/permission-groups", {
    ...productPath,
    body: { name: "Flyers", accessType: "custom", permissions: ["canFly"] },
  }),
  400,
);
check(refused.code === "invalid_reference", "unknown permission", refused);

// SCIM, with the rotated token: discovery first, as an identity provider does.
const scim = client(rotated.token);
const types: Schemas["ScimResourceTypeList"] = ok(
  await scim.GET("/scim/{tenantId}/v2/ResourceTypes", tenantPath),
  200,
);
check(types.Resources.map((t) => t.id).sort().join() === "Group,User", "resource types", types);
const userSchema: Schemas["ScimSchema"] = ok(
  await scim.GET("/scim/{tenantId}/v2/Schemas/{id}", {
    params: { path: { tenantId: tenant.id, id: "urn:ietf:params:scim:schemas:core:2.0:User" } },
  }),
  200,
);
const uniqueness: Schemas["ScimUniqueness"] | undefined = userSchema.attributes.find(
  (a) => a.name === "userName",
)?.uniqueness;
check(uniqueness === "server", "userName is unique", userSchema);
const user: Schemas["ScimUser"] = ok(
  await scim.POST("/scim/{tenantId}/v2/Users", {
    ...tenantPath,
    body: {
      userName: "ada@example.org",
      name: { givenName: "Ada", familyName: "Lovelace" },
      emails: [{ value: "ada@example.org", type: "work", primary: true }],
      active: true,
    },
  }),
  201,
);
check(user.id !== undefined, "a created user has an id", user);
const userPath = { params: { path: { tenantId: tenant.id, id: user.id } } };
const read = ok(await scim.GET("/scim/{tenantId}/v2/Users/{id}", userPath), 200);
check(read.userName === "ada@example.org", "read back", read);
const found: Schemas["ScimUserList"] = ok(
  await scim.GET("/scim/{tenantId}/v2/Users", {
    params: { path: { tenantId: tenant.id }, query: { filter: 'userName eq "ADA@example.org"' } },
  }),
  200,
);
check(found.totalResults === 1 && found.Resources[0]?.id === user.id, "filter", found);
const sorted = ok(
  await scim.GET("/scim/{tenantId}/v2/Users", {
    params: { path: { tenantId: tenant.id }, query: { sortBy: "userName", sortOrder: "descending" } },
  }),
  200,
);
check(sorted.Resources.length === 1, "sorted list", sorted);
const deactivated = ok(
  await scim.PATCH("/scim/{tenantId}/v2/Users/{id}", {
    ...userPath,
    body: { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "active", value: false }] },
  }),
  200,
);
check(deactivated.active === false, "deactivated", deactivated);
const group: Schemas["ScimGroup"] = ok(
  await scim.POST("/scim/{tenantId}/v2/Groups", { ...tenantPath, body: { displayName: "Sales" } }),
  201,
);
check(group.id !== undefined, "a created group has an id", group);
const added = await scim.PATCH("/scim/{tenantId}/v2/Groups/{id}", {
  params: { path: { tenantId: tenant.id, id: group.id } },
  body: { schemas: [PATCH_OP], Operations: [{ op: "add", path: "members", value: [{ value: user.id }] }] },
});
check(added.response.status === 204, "member added", added.error);
const preview = ok(
  await admin.PUT("/admin/v1/tenants/{tenantId}/groups/{groupId}/mapping", {
    params: { path: { tenantId: tenant.id, groupId: group.id }, query: { dryRun: true } },
    body: { permissionGroupIds: [developers.id] },
  }),
  200,
);
check("dryRun" in preview && preview.dryRun && preview.changes.length === 0, "a dry run previews", preview);
const mapped = ok(
  await admin.PUT("/admin/v1/tenants/{tenantId}/groups/{groupId}/mapping", {
    params: { path: { tenantId: tenant.id, groupId: group.id } },
    body: { permissionGroupIds: [developers.id] },
  }),
  200,
);
check("priority" in mapped && mapped.priority === 1, "the group is mapped first", mapped);
const effective: Schemas["EffectivePermissions"] = ok(
  await admin.GET("/admin/v1/tenants/{tenantId}/users/{userId}/permissions", {
    params: { path: { tenantId: tenant.id, userId: user.id } },
  }),
  200,
);
check(effective.reason === "inactive", "a deactivated user holds nothing", effective);
const groups: Schemas["ScimGroupList"] = ok(
  await scim.GET("/scim/{tenantId}/v2/Groups", {
    params: { path: { tenantId: tenant.id }, query: { excludedAttributes: "members" } },
  }),
  200,
);
check(groups.totalResults === 1 && groups.Resources[0]?.members === undefined, "groups without members", groups);
const duplicate: Schemas["ScimError"] = failed(
  await scim.POST("/scim/{tenantId}/v2/Users", { ...tenantPath, body: { userName: "Ada@Example.org" } }),
  409,
);
check(duplicate.scimType === "uniqueness", "409 uniqueness", duplicate);
failed(
  await scim.GET("/scim/{tenantId}/v2/Users", { params: { path: { tenantId: tenant.id }, query: { filter: "userName eq" } } }),
  400,
);
const deleted = await scim.DELETE("/scim/{tenantId}/v2/Users/{id}", userPath);
check(deleted.response.status === 204, "user deleted");
failed(await scim.GET("/scim/{tenantId}/v2/Users/{id}", userPath), 404);
console.log("typescript client flow: ok");
