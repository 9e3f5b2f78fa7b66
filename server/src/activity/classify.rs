//! What a SCIM request was, read from its method, path, status and bodies: the resource
//! it names, the operation, the identity provider that sent it and a one-line summary an
//! admin can scan ("added 3 members to group Sales", "rejected: userName already exists").

use serde::Deserialize;
use serde_json::Value;

/// What the recorder reads of a response body: only the members a summary names, so the
/// rest of the body is skipped rather than built into a tree.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub id: Option<String>,
    pub user_name: Option<String>,
    pub display_name: Option<String>,
    pub detail: Option<String>,
    pub scim_type: Option<String>,
    pub total_results: Option<u64>,
}

impl Answer {
    /// The members read from `raw`; none when it is not a JSON object of that shape.
    pub fn read(raw: &[u8]) -> Self {
        serde_json::from_slice(raw).unwrap_or_default()
    }
}

/// What a group PATCH changed, told by its handler: the group's name, and how many members
/// really joined and left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersChanged {
    pub group_name: String,
    pub joined: usize,
    pub left: usize,
}

/// One request and its answer, as the recorder saw them.
pub struct Exchange<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub user_agent: Option<&'a str>,
    pub request: Option<&'a Value>,
    pub response: &'a Answer,
    /// Told by a group PATCH that succeeded.
    pub members_changed: Option<&'a MembersChanged>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Classified {
    pub resource_type: Option<&'static str>,
    pub resource_id: Option<String>,
    pub operation: &'static str,
    pub idp: &'static str,
    pub summary: String,
    /// The dialect quirks the request used (normalised by the SCIM layer), by kind.
    pub quirks: Vec<&'static str>,
}

/// The Entra dialect's quirks in a request body (see `entra-dialect.md`), each kind once:
/// `capitalized_op` (`Add`, `Replace`, `Remove`), `string_boolean` (`active` as `"True"` /
/// `"False"`), `attribute_paths_as_keys` (an op without `path` whose value's keys are paths
/// like `name.givenName`), `remove_members_by_value` (`Remove` of `members` listing values),
/// `explicit_nulls` (members sent as `null`), `microsoft_group_schema` (Entra's extra group
/// schema URI).
pub fn quirks(request: Option<&Value>) -> Vec<&'static str> {
    let Some(body) = request else {
        return Vec::new();
    };
    let is_string_boolean = |value: &Value| {
        value.as_str().is_some_and(|text| {
            text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false")
        })
    };
    let mut found = Vec::new();
    let mut note = |kind: &'static str, present: bool| {
        if present && !found.contains(&kind) {
            found.push(kind);
        }
    };
    for op in operations(request) {
        let name = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op.get("path").and_then(Value::as_str);
        let value = op.get("value");
        note("capitalized_op", name.starts_with(char::is_uppercase));
        note(
            "string_boolean",
            (path == Some("active") && value.is_some_and(is_string_boolean))
                || value
                    .and_then(|value| value.get("active"))
                    .is_some_and(is_string_boolean),
        );
        note(
            "attribute_paths_as_keys",
            path.is_none()
                && value.and_then(Value::as_object).is_some_and(|members| {
                    members
                        .keys()
                        .any(|key| key.contains(['.', '[']) || key.starts_with("urn:"))
                }),
        );
        note(
            "remove_members_by_value",
            name.eq_ignore_ascii_case("remove")
                && path == Some("members")
                && value.is_some_and(Value::is_array),
        );
    }
    note(
        "string_boolean",
        body.get("active").is_some_and(is_string_boolean),
    );
    note(
        "explicit_nulls",
        body.as_object()
            .is_some_and(|members| members.values().any(Value::is_null)),
    );
    note(
        "microsoft_group_schema",
        body.get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|schemas| {
                schemas.iter().any(|schema| {
                    schema
                        .as_str()
                        .is_some_and(|uri| uri.starts_with("http://schemas.microsoft.com/"))
                })
            }),
    );
    found
}

/// The segments after `/scim/{tenant}/v2`, if the path has that shape.
fn scim_segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix("/scim/")?;
    let (_, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("v2")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some(rest.split('/').filter(|s| !s.is_empty()).collect())
}

fn resource_type(segment: &str) -> Option<&'static str> {
    match segment {
        "Users" => Some("User"),
        "Groups" => Some("Group"),
        _ => None,
    }
}

const DISCOVERY: [&str; 3] = ["ServiceProviderConfig", "Schemas", "ResourceTypes"];

/// `(operation, resource type, resource id in the path)`.
fn operation(
    method: &str,
    segments: &[&str],
) -> (&'static str, Option<&'static str>, Option<String>) {
    match (method, segments) {
        ("GET", [first, ..]) if DISCOVERY.contains(first) => ("discovery", None, None),
        ("POST", [".search"]) => ("search", None, None),
        ("POST", [kind, ".search"]) => ("search", resource_type(kind), None),
        (_, [kind, ..]) if resource_type(kind).is_none() => ("rejected", None, None),
        ("GET", [kind]) => ("list", resource_type(kind), None),
        ("POST", [kind]) => ("create", resource_type(kind), None),
        (method, [kind, id]) => {
            let operation = match method {
                "GET" => "get",
                "PUT" => "replace",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "rejected",
            };
            (operation, resource_type(kind), Some((*id).to_owned()))
        }
        _ => ("rejected", None, None),
    }
}

/// The identity provider: from the user agent, else from the dialect only Entra speaks
/// (capitalised PATCH ops, booleans as strings).
fn idp(user_agent: Option<&str>, request: Option<&Value>) -> &'static str {
    let agent = user_agent.unwrap_or_default().to_ascii_lowercase();
    if agent.contains("okta") {
        return "okta";
    }
    if agent.contains("onelogin") {
        return "onelogin";
    }
    if ["azure", "microsoft", "entra"]
        .iter()
        .any(|name| agent.contains(name))
    {
        return "entra";
    }
    let entra_ops = operations(request).any(|op| {
        op.get("op")
            .and_then(Value::as_str)
            .is_some_and(|name| name.starts_with(char::is_uppercase))
    });
    let string_active = request
        .and_then(|body| body.get("active"))
        .and_then(Value::as_str)
        .is_some_and(|text| text == "True" || text == "False");
    if entra_ops || string_active {
        "entra"
    } else {
        "other"
    }
}

fn operations(request: Option<&Value>) -> impl Iterator<Item = &Value> {
    request
        .and_then(|body| body.get("Operations"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn text<'v>(body: Option<&'v Value>, name: &str) -> Option<&'v str> {
    body.and_then(|body| body.get(name)).and_then(Value::as_str)
}

/// How the resource is named in a summary: its name where a body says it, else its id.
fn named(exchange: &Exchange<'_>, kind: Option<&str>, id: Option<&str>) -> String {
    let name = match kind {
        Some("Group") => "displayName",
        _ => "userName",
    };
    let answered = match kind {
        Some("Group") => exchange.response.display_name.as_deref().or_else(|| {
            exchange
                .members_changed
                .map(|changed| changed.group_name.as_str())
        }),
        _ => exchange.response.user_name.as_deref(),
    };
    let shown = answered
        .or_else(|| text(exchange.request, name))
        .or(id)
        .unwrap_or("?");
    let noun = match kind {
        Some("Group") => "group",
        Some(_) => "user",
        None => "resource",
    };
    format!("{noun} {shown}")
}

/// `Some(active)` when a user PATCH or PUT sets `active`.
fn sets_active(request: Option<&Value>) -> Option<bool> {
    let as_bool = |value: &Value| match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.to_ascii_lowercase().parse().ok(),
        _ => None,
    };
    let mut set = request
        .and_then(|body| body.get("active"))
        .and_then(as_bool);
    for op in operations(request) {
        let path = op.get("path").and_then(Value::as_str);
        match (path, op.get("value")) {
            (Some("active"), Some(value)) => set = as_bool(value).or(set),
            (None, Some(Value::Object(members))) => {
                set = members.get("active").and_then(as_bool).or(set);
            }
            _ => {}
        }
    }
    set
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn classify(exchange: &Exchange<'_>) -> Classified {
    let segments = scim_segments(exchange.path);
    let (mut operation, resource_type, path_id) = segments
        .as_deref()
        .map_or(("rejected", None, None), |segments| {
            operation(exchange.method, segments)
        });
    let status = exchange.status;
    if status == 401 {
        operation = "auth_failed";
    } else if matches!(status, 405 | 413 | 415 | 429) {
        operation = "rejected";
    }
    let resource_id = path_id.or_else(|| {
        (operation == "create" && status < 300)
            .then(|| exchange.response.id.clone())
            .flatten()
    });
    let subject = named(exchange, resource_type, resource_id.as_deref());
    let summary = if operation == "auth_failed" {
        "rejected: missing, wrong or expired SCIM token".to_owned()
    } else if status >= 400 {
        let detail = exchange.response.detail.as_deref().unwrap_or("no detail");
        let verdict = if status >= 500 { "failed" } else { "rejected" };
        format!("{verdict}: {detail}")
    } else {
        match operation {
            "create" => format!("created {subject}"),
            "replace" => format!("replaced {subject}"),
            "delete" => format!("deleted {subject}"),
            "get" => format!("read {subject}"),
            "list" | "search" => {
                let what = resource_type.map_or("resources", |kind| {
                    if kind == "Group" { "groups" } else { "users" }
                });
                let found = exchange.response.total_results.unwrap_or(0);
                let verb = if operation == "list" {
                    "listed"
                } else {
                    "searched"
                };
                format!("{verb} {what}: {found} found")
            }
            "patch" if resource_type == Some("Group") => match exchange
                .members_changed
                .map_or((0, 0), |changed| (changed.joined, changed.left))
            {
                (0, 0) => format!("updated {subject}"),
                (added, 0) => format!("added {} to {subject}", plural(added, "member")),
                (0, removed) => {
                    format!("removed {} from {subject}", plural(removed, "member"))
                }
                (added, removed) => format!(
                    "added {} and removed {} in {subject}",
                    plural(added, "member"),
                    plural(removed, "member")
                ),
            },
            "patch" => match sets_active(exchange.request) {
                Some(false) => format!("deactivated {subject}"),
                Some(true) => format!("updated {subject} (active)"),
                None => format!("updated {subject}"),
            },
            "discovery" => format!(
                "read {}",
                segments
                    .as_deref()
                    .and_then(|s| s.first().copied())
                    .unwrap_or("discovery")
            ),
            _ => format!("{operation} {subject}"),
        }
    };
    Classified {
        resource_type,
        resource_id,
        operation,
        idp: idp(exchange.user_agent, exchange.request),
        summary,
        quirks: quirks(exchange.request),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(
        method: &str,
        path: &str,
        status: u16,
        request: Option<Value>,
        response: Option<Value>,
    ) -> Classified {
        classify(&Exchange {
            method,
            path,
            status,
            user_agent: None,
            request: request.as_ref(),
            response: &response
                .map(|body| serde_json::from_value(body).unwrap())
                .unwrap_or_default(),
            members_changed: None,
        })
    }

    /// A group PATCH answered 204, whose handler told what it changed.
    fn group_patch(request: Value, joined: usize, left: usize) -> Classified {
        classify(&Exchange {
            method: "PATCH",
            path: "/scim/t1/v2/Groups/g1",
            status: 204,
            user_agent: None,
            request: Some(&request),
            response: &Answer::default(),
            members_changed: Some(&MembersChanged {
                group_name: "Sales".to_owned(),
                joined,
                left,
            }),
        })
    }

    #[test]
    fn creates_patches_and_failures() {
        let created = run(
            "POST",
            "/scim/t1/v2/Users",
            201,
            Some(json!({ "userName": "ada@contoso.com" })),
            Some(json!({ "id": "u1", "userName": "ada@contoso.com" })),
        );
        assert_eq!(created.operation, "create");
        assert_eq!(created.resource_type, Some("User"));
        assert_eq!(created.resource_id.as_deref(), Some("u1"));
        assert_eq!(created.summary, "created user ada@contoso.com");

        let entra = json!({ "schemas": [], "Operations": [
            { "op": "Add", "path": "members", "value": [{ "value": "a" }, { "value": "b" }, { "value": "c" }] }
        ]});
        // What the PATCH changed, not what it named: one of the three was a member already.
        let added = group_patch(entra.clone(), 2, 0);
        assert_eq!(added.summary, "added 2 members to group Sales");
        assert_eq!(added.idp, "entra", "capitalised ops are Entra's");
        assert_eq!(
            group_patch(entra.clone(), 0, 0).summary,
            "updated group Sales",
            "nobody joined"
        );
        assert_eq!(
            group_patch(entra.clone(), 1, 2).summary,
            "added 1 member and removed 2 members in group Sales"
        );
        let untold = run("PATCH", "/scim/t1/v2/Groups/g1", 204, Some(entra), None);
        assert_eq!(untold.summary, "updated group g1");

        let deactivate =
            json!({ "Operations": [{ "op": "Replace", "path": "active", "value": "False" }] });
        let off = run(
            "PATCH",
            "/scim/t1/v2/Users/u1",
            200,
            Some(deactivate),
            Some(json!({ "userName": "ada@contoso.com" })),
        );
        assert_eq!(off.summary, "deactivated user ada@contoso.com");

        let taken = run(
            "POST",
            "/scim/t1/v2/Users",
            409,
            Some(json!({ "userName": "ada" })),
            Some(json!({ "detail": "userName already exists", "scimType": "uniqueness" })),
        );
        assert_eq!(taken.summary, "rejected: userName already exists");
        assert_eq!(taken.idp, "other");

        let denied = run("GET", "/scim/t1/v2/Users", 401, None, None);
        assert_eq!(denied.operation, "auth_failed");
        let unknown = run("GET", "/scim/t1/v2/Things", 404, None, None);
        assert_eq!(unknown.operation, "rejected");
        let discovery = run("GET", "/scim/t1/v2/ServiceProviderConfig", 200, None, None);
        assert_eq!(discovery.operation, "discovery");
        let listed = run(
            "GET",
            "/scim/t1/v2/Users",
            200,
            None,
            Some(json!({ "totalResults": 2 })),
        );
        assert_eq!(listed.summary, "listed users: 2 found");
    }

    #[test]
    fn entra_quirks_are_named() {
        let patch = json!({ "Operations": [
            { "op": "Replace", "path": "active", "value": "False" },
            { "op": "replace", "value": { "name.givenName": "Ada", "active": "true" } },
            { "op": "Remove", "path": "members", "value": [{ "value": "u1" }] }
        ]});
        assert_eq!(
            quirks(Some(&patch)),
            [
                "capitalized_op",
                "string_boolean",
                "attribute_paths_as_keys",
                "remove_members_by_value"
            ]
        );
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "displayName": "Sales", "externalId": null
        });
        assert_eq!(
            quirks(Some(&group)),
            ["explicit_nulls", "microsoft_group_schema"]
        );
        let plain = json!({ "Operations": [{ "op": "add", "path": "members", "value": [] }] });
        assert_eq!(quirks(Some(&plain)), Vec::<&str>::new());
        assert_eq!(quirks(None), Vec::<&str>::new());
    }

    #[test]
    fn identity_providers_by_user_agent() {
        for (agent, expected) in [
            ("Okta SCIM Client 1.0.0", "okta"),
            ("OneLogin SCIM", "onelogin"),
            ("Microsoft Azure AD SCIM client", "entra"),
            ("curl/8.0", "other"),
        ] {
            assert_eq!(idp(Some(agent), None), expected, "{agent}");
        }
    }
}
