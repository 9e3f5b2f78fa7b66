//! Sections of the OpenAPI document.

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ApiTag {
    /// Liveness and readiness probes, and metrics.
    Operations,
    /// Customer organizations. Operator keys see all; a tenant-admin key sees its own.
    Tenants,
    /// Bearer tokens the identity provider uses on the tenant's SCIM URL.
    ScimTokens,
    /// Keys for the admin API: operator keys, and tenant-admin keys (operator only).
    AdminKeys,
    /// The permission catalog, products and their permission groups: what synced groups
    /// can be given.
    Permissions,
    /// The provisioning log: every request an identity provider sent, redacted.
    Activity,
    /// Change events: what SCIM writes changed, in commit order, for the host product.
    Events,
    /// SCIM 2.0 service discovery (RFC 7644 §4).
    ScimDiscovery,
    /// SCIM 2.0 Users (RFC 7643 §4.1, RFC 7644 §3).
    ScimUsers,
    /// SCIM 2.0 Groups (RFC 7643 §4.2, RFC 7644 §3).
    ScimGroups,
}
