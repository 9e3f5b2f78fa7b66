//! SCIM resources as JSON: normalising what clients send (canonical attribute names, types
//! coerced the way Entra needs, read-only and unknown attributes dropped, nulls removed) and
//! rendering what we return (`schemas`, `id`, `meta`, and the `attributes` /
//! `excludedAttributes` projection of RFC 7644 §3.9).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::schema::{self, AttrDef, AttrType, Mutability, SchemaDef};
use crate::error::Error;

/// Normalises a User body. The result holds core attributes by canonical name and, when any
/// is present, the enterprise extension under its schema URI.
pub fn normalize_user(input: &Value) -> Result<Map<String, Value>, Error> {
    let object = input
        .as_object()
        .ok_or_else(|| Error::InvalidSyntax("a User must be a JSON object".to_owned()))?;
    let mut out = Map::new();
    let mut enterprise = Map::new();
    for (key, value) in object {
        if let Some(rest) = strip_urn(key, schema::USER_SCHEMA) {
            put(&schema::USER, rest, value, &mut out)?;
        } else if key.eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA) {
            if let Some(extension) = value.as_object() {
                for (key, value) in extension {
                    put(&schema::ENTERPRISE_USER, key, value, &mut enterprise)?;
                }
            } else if !value.is_null() {
                return Err(Error::Invalid(format!(
                    "{} must be an object",
                    schema::ENTERPRISE_USER_SCHEMA
                )));
            }
        } else if let Some(rest) = strip_urn(key, schema::ENTERPRISE_USER_SCHEMA) {
            put(&schema::ENTERPRISE_USER, rest, value, &mut enterprise)?;
        } else if key.eq_ignore_ascii_case("externalId") {
            put_external_id(value, &mut out)?;
        } else {
            put(&schema::USER, key, value, &mut out)?;
        }
    }
    if !enterprise.is_empty() {
        out.insert(
            schema::ENTERPRISE_USER_SCHEMA.to_owned(),
            Value::Object(enterprise),
        );
    }
    require_string(&out, "userName")?;
    check_indexed_lengths(&out, &["userName", "displayName", "externalId"])?;
    for attribute in crate::store::resources::VALUE_TABLE_ATTRIBUTES {
        for item in out
            .get(*attribute)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for field in ["value", "type"] {
                if item
                    .get(field)
                    .and_then(Value::as_str)
                    .is_some_and(too_long_to_index)
                {
                    return Err(too_long(&format!("{attribute}.{field}")));
                }
            }
        }
    }
    Ok(out)
}

/// Longest value kept in an index, in characters: at most 2,000 bytes in UTF-8, and
/// PostgreSQL refuses btree entries much above 2.7 KB. Counted in characters, as JSON
/// Schema's `maxLength` counts, so the document states the limit exactly; far above any
/// userName or e-mail address (254).
pub const MAX_INDEXED_CHARS: usize = 500;

/// Most values a multi-valued attribute of a User may hold (`emails`, `phoneNumbers`,
/// `addresses`, …): far above what any identity provider sends, far below what one SQL
/// statement can bind.
pub const MAX_VALUES: usize = 100;

/// Most members one Group request may name (a POST or PUT, or one PATCH operation).
pub const MAX_MEMBERS_PER_REQUEST: usize = 10_000;

/// Refuses text that holds a control character other than tab, line feed and carriage
/// return: NUL cannot be stored in PostgreSQL and would be stored by SQLite, and the
/// others only ever arrive by mistake or malice. Both backends answer the same 400.
pub fn check_text(name: &str, text: &str) -> Result<(), Error> {
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(Error::Invalid(format!(
            "{name} must not contain control characters"
        )));
    }
    Ok(())
}

fn too_long_to_index(text: &str) -> bool {
    // Bytes bound characters from above: most texts are decided without counting.
    text.len() > MAX_INDEXED_CHARS && text.chars().count() > MAX_INDEXED_CHARS
}

fn too_long(name: &str) -> Error {
    Error::Invalid(format!(
        "{name} must be at most {MAX_INDEXED_CHARS} characters"
    ))
}

fn check_indexed_lengths(object: &Map<String, Value>, names: &[&str]) -> Result<(), Error> {
    for name in names {
        if object
            .get(*name)
            .and_then(Value::as_str)
            .is_some_and(too_long_to_index)
        {
            return Err(too_long(name));
        }
    }
    Ok(())
}

/// A normalised Group: its attributes and, separately, the member ids it names.
pub struct GroupInput {
    pub attributes: Map<String, Value>,
    pub members: Vec<String>,
}

pub fn normalize_group(input: &Value) -> Result<GroupInput, Error> {
    let object = input
        .as_object()
        .ok_or_else(|| Error::InvalidSyntax("a Group must be a JSON object".to_owned()))?;
    let mut attributes = Map::new();
    let mut members = Vec::new();
    for (key, value) in object {
        let key = strip_urn(key, schema::GROUP_SCHEMA).unwrap_or(key);
        if key.eq_ignore_ascii_case("members") {
            members = match value {
                Value::Null => Vec::new(),
                Value::Array(items) => member_ids(items)?,
                _ => return Err(Error::Invalid("members must be an array".to_owned())),
            };
        } else if key.eq_ignore_ascii_case("externalId") {
            put_external_id(value, &mut attributes)?;
        } else {
            put(&schema::GROUP, key, value, &mut attributes)?;
        }
    }
    require_string(&attributes, "displayName")?;
    check_indexed_lengths(&attributes, &["displayName", "externalId"])?;
    Ok(GroupInput {
        attributes,
        members,
    })
}

/// The `value`s of member objects, each a non-empty string, at most
/// [`MAX_MEMBERS_PER_REQUEST`] of them.
pub fn member_ids(members: &[Value]) -> Result<Vec<String>, Error> {
    if members.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(Error::Invalid(format!(
            "one request may name at most {MAX_MEMBERS_PER_REQUEST} members; send more in \
             further PATCH requests"
        )));
    }
    members
        .iter()
        .map(|member| match member.get("value") {
            Some(Value::String(id)) if !id.trim().is_empty() => {
                check_text("members.value", id)?;
                Ok(id.clone())
            }
            _ => Err(Error::Invalid(
                "every member needs a \"value\" with the user's id".to_owned(),
            )),
        })
        .collect()
}

fn strip_urn<'k>(key: &'k str, urn: &str) -> Option<&'k str> {
    let prefix = key.get(..urn.len())?;
    let rest = key.get(urn.len()..)?.strip_prefix(':')?;
    prefix.eq_ignore_ascii_case(urn).then_some(rest)
}

fn require_string(object: &Map<String, Value>, name: &str) -> Result<(), Error> {
    match object.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        _ => Err(Error::Invalid(format!("{name} is required"))),
    }
}

fn put_external_id(value: &Value, out: &mut Map<String, Value>) -> Result<(), Error> {
    match value {
        Value::Null => Ok(()),
        // Blank like any other string attribute: no value.
        Value::String(id) if id.trim().is_empty() => Ok(()),
        Value::String(id) => {
            check_text("externalId", id)?;
            out.insert("externalId".to_owned(), Value::String(id.clone()));
            Ok(())
        }
        _ => Err(Error::Invalid("externalId must be a string".to_owned())),
    }
}

/// Puts attribute `key` of `schema` into `out` if we know it and clients may write it.
fn put(
    schema: &SchemaDef,
    key: &str,
    value: &Value,
    out: &mut Map<String, Value>,
) -> Result<(), Error> {
    let Some(def) = schema.attribute(key) else {
        return Ok(());
    };
    if def.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    if let Some(value) = coerce(def, value)? {
        out.insert(def.name.to_owned(), value);
    } else {
        out.remove(def.name);
    }
    Ok(())
}

/// `value` as attribute `def` holds it, `None` when it amounts to no value.
pub fn coerce(def: &AttrDef, value: &Value) -> Result<Option<Value>, Error> {
    if value.is_null() {
        return Ok(None);
    }
    if !def.multi_valued {
        return coerce_single(def, value);
    }
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    if items.len() > MAX_VALUES {
        return Err(Error::Invalid(format!(
            "{} may hold at most {MAX_VALUES} values",
            def.name
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        // `"emails": ["a@example.com"]` means the values.
        let item = match (item, def.sub("value")) {
            (Value::String(_), Some(_)) => &json!({ "value": item }),
            _ => item,
        };
        if let Some(item) = coerce_single(def, item)? {
            out.push(item);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn coerce_single(def: &AttrDef, value: &Value) -> Result<Option<Value>, Error> {
    let wrong = || Error::Invalid(format!("{} must be {}", def.name, expected(def)));
    Ok(match (def.ty, value) {
        (_, Value::Null) => None,
        // A blank is no value: OneLogin renders template fields left empty as "" or " ".
        (AttrType::String | AttrType::Reference, Value::String(s)) if s.trim().is_empty() => None,
        (AttrType::String | AttrType::Reference, Value::String(s)) => {
            check_text(def.name, s)?;
            Some(Value::String(s.clone()))
        }
        (AttrType::DateTime, Value::String(s)) => {
            DateTime::parse_from_rfc3339(s).map_err(|_| wrong())?;
            Some(Value::String(s.clone()))
        }
        (AttrType::Boolean, Value::Bool(b)) => Some(Value::Bool(*b)),
        // Entra sends booleans as "True"/"False".
        (AttrType::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => return Err(wrong()),
        },
        // Entra sends a manager as the bare id: read as `{"value": id}`, checked the same.
        (AttrType::Complex, Value::String(s))
            if def.sub("value").is_some() && !def.multi_valued =>
        {
            return coerce_single(def, &json!({ "value": s }));
        }
        (AttrType::Complex, Value::Object(fields)) => {
            let mut out = Map::new();
            for (key, value) in fields {
                let Some(sub) = def.sub(key) else { continue };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(value) = coerce_single(sub, value)? {
                    out.insert(sub.name.to_owned(), value);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        _ => return Err(wrong()),
    })
}

fn expected(def: &AttrDef) -> &'static str {
    match def.ty {
        AttrType::String | AttrType::Reference => "a string",
        AttrType::Boolean => "a boolean",
        AttrType::DateTime => "an RFC 3339 date-time string",
        AttrType::Complex => "an object",
    }
}

/// `meta` of a resource, and the weak ETag its version gives.
pub struct Meta<'a> {
    pub resource_type: &'a str,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub location: String,
    pub version: i64,
}

pub fn meta_json(meta: &Meta<'_>) -> Value {
    json!({
        "resourceType": meta.resource_type,
        "created": meta.created.to_rfc3339_opts(SecondsFormat::Millis, true),
        "lastModified": meta.last_modified.to_rfc3339_opts(SecondsFormat::Millis, true),
        "location": meta.location,
        "version": crate::store::resources::etag(meta.version),
    })
}

/// Which attributes a response carries (RFC 7644 §3.9).
#[derive(Debug, Clone, Default)]
pub struct Projection {
    attributes: Vec<String>,
    excluded: Vec<String>,
}

impl Projection {
    /// From the comma-separated `attributes` and `excludedAttributes` parameters. Names may
    /// carry a schema URI and a sub-attribute; comparison ignores case.
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        let split = |list: Option<&str>| -> Vec<String> {
            list.unwrap_or_default()
                .split(',')
                .map(|name| normalize_name(name.trim()))
                .filter(|name| !name.is_empty())
                .collect()
        };
        Self {
            attributes: split(attributes),
            excluded: split(excluded),
        }
    }

    /// Whether top-level attribute `name` (canonical, no URI) is returned at all; lets
    /// callers skip reading what will not be shown (members, groups).
    pub fn includes(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let named = |list: &[String]| {
            list.iter().any(|a| {
                a == &name
                    || a.strip_prefix(&name)
                        .is_some_and(|rest| rest.starts_with('.'))
            })
        };
        if !self.attributes.is_empty() {
            return named(&self.attributes);
        }
        !self.excluded.iter().any(|a| a == &name)
    }

    /// Applies the projection to a rendered resource. `schemas`, `id` and `meta`'s
    /// always-returned parts stay.
    pub fn apply(&self, mut resource: Map<String, Value>) -> Map<String, Value> {
        const ALWAYS: &[&str] = &["schemas", "id"];
        if !self.attributes.is_empty() {
            let mut kept = Map::new();
            for (key, value) in resource {
                let lower = key.to_ascii_lowercase();
                if ALWAYS.contains(&key.as_str()) {
                    kept.insert(key, value);
                    continue;
                }
                let wanted: Vec<&str> = self
                    .attributes
                    .iter()
                    .filter_map(|a| {
                        if *a == lower {
                            Some("")
                        } else {
                            a.strip_prefix(&lower)
                                .and_then(|rest| rest.strip_prefix('.'))
                        }
                    })
                    .collect();
                if wanted.contains(&"") {
                    kept.insert(key, value);
                } else if !wanted.is_empty()
                    && let Some(value) = keep_sub(value, &wanted)
                {
                    kept.insert(key, value);
                }
            }
            resource = kept;
        }
        for excluded in &self.excluded {
            let (top, sub) = excluded.split_once('.').unwrap_or((excluded, ""));
            let Some(key) = resource
                .keys()
                .find(|k| k.eq_ignore_ascii_case(top))
                .cloned()
            else {
                continue;
            };
            if ALWAYS.contains(&key.as_str()) {
                continue;
            }
            if sub.is_empty() {
                resource.remove(&key);
            } else if let Some(value) = resource.get_mut(&key) {
                drop_sub(value, sub);
            }
        }
        resource
    }
}

/// `urn:…:User:name.givenName` → `name.givenname`; extension attributes keep their URI.
fn normalize_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for core in [schema::USER_SCHEMA, schema::GROUP_SCHEMA] {
        if let Some(rest) = lower.strip_prefix(&format!("{}:", core.to_ascii_lowercase())) {
            return rest.to_owned();
        }
    }
    let enterprise = schema::ENTERPRISE_USER_SCHEMA.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix(&format!("{enterprise}:")) {
        return format!("{enterprise}.{rest}");
    }
    lower
}

fn keep_sub(value: Value, wanted: &[&str]) -> Option<Value> {
    let keep_fields = |object: Map<String, Value>| -> Map<String, Value> {
        object
            .into_iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                wanted
                    .iter()
                    .any(|w| *w == k || w.strip_prefix(&k).is_some_and(|r| r.starts_with('.')))
            })
            .collect()
    };
    match value {
        Value::Object(object) => {
            let kept = keep_fields(object);
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .into_iter()
                .filter_map(|item| match item {
                    Value::Object(object) => {
                        let kept = keep_fields(object);
                        (!kept.is_empty()).then_some(Value::Object(kept))
                    }
                    _ => None,
                })
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

fn drop_sub(value: &mut Value, sub: &str) {
    match value {
        Value::Object(object) => {
            if let Some(key) = object.keys().find(|k| k.eq_ignore_ascii_case(sub)).cloned() {
                object.remove(&key);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| drop_sub(item, sub)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_are_no_value() {
        let out = normalize_user(&json!({
            "userName": "ada", "title": "", "nickName": "  ", "externalId": "\u{b} \u{2006}",
            "addresses": [{ "locality": "", "country": "GB" }, { "region": " " }]
        }))
        .unwrap();
        assert!(out.get("title").is_none() && out.get("nickName").is_none());
        assert!(out.get("externalId").is_none());
        // A manager sent as the bare id (Entra) is text like any other.
        let manager = |id: &str| {
            normalize_user(&json!({
                "userName": "ada",
                schema::ENTERPRISE_USER_SCHEMA: { "manager": id }
            }))
        };
        assert!(
            manager(" ")
                .unwrap()
                .get(schema::ENTERPRISE_USER_SCHEMA)
                .is_none()
        );
        assert!(matches!(manager("\u{1b}[31m"), Err(Error::Invalid(_))));
        assert_eq!(
            manager("m1").unwrap()[schema::ENTERPRISE_USER_SCHEMA]["manager"],
            json!({ "value": "m1" })
        );
        assert!(member_ids(&[json!({ "value": " " })]).is_err());
        assert_eq!(out["addresses"], json!([{ "country": "GB" }]));
        assert!(normalize_user(&json!({ "userName": " " })).is_err());
    }

    /// Indexed text is counted in characters, as the document's `maxLength` counts.
    #[test]
    fn indexed_text_is_at_most_500_characters() {
        let longest = "😀".repeat(MAX_INDEXED_CHARS);
        let user = |name: &str, email: &str| {
            normalize_user(&json!({ "userName": name, "emails": [{ "value": email }] }))
        };
        assert!(
            user(&longest, &longest).is_ok(),
            "2,000 bytes, 500 characters"
        );
        let over = "a".repeat(MAX_INDEXED_CHARS + 1);
        assert!(matches!(user(&over, "a@b"), Err(Error::Invalid(m)) if m.contains("userName")));
        assert!(matches!(user("ada", &over), Err(Error::Invalid(m)) if m.contains("emails.value")));
        let group = normalize_group(&json!({ "displayName": "x", "externalId": over }));
        assert!(matches!(group, Err(Error::Invalid(m)) if m.contains("externalId")));
        let photo = "b".repeat(4 * MAX_INDEXED_CHARS);
        assert!(
            normalize_user(&json!({ "userName": "ada", "x509Certificates": [{ "value": photo }] }))
                .is_ok(),
            "attributes that are not indexed are not bounded"
        );
    }

    #[test]
    fn entra_user_create_is_normalised() {
        let body = json!({
            "schemas": [schema::USER_SCHEMA, schema::ENTERPRISE_USER_SCHEMA],
            "externalId": "0a1b",
            "UserName": "Test_User_ab6490ee@contoso.com",
            "active": "True",
            "displayName": "Test User",
            "emails": [{ "Primary": "true", "type": "work", "value": "t@contoso.com" }],
            "meta": { "resourceType": "User" },
            "name": { "familyName": "User", "givenName": "Test", "middleName": null },
            "roles": [],
            "title": null,
            "id": "client-chosen",
            "groups": [{ "value": "g" }],
            "favoriteColor": "blue",
            schema::ENTERPRISE_USER_SCHEMA: { "employeeNumber": "42", "manager": { "value": "m1", "displayName": "Boss" } }
        });
        let user = normalize_user(&body).unwrap();
        assert_eq!(
            Value::Object(user),
            json!({
                "externalId": "0a1b",
                "userName": "Test_User_ab6490ee@contoso.com",
                "active": true,
                "displayName": "Test User",
                "emails": [{ "primary": true, "type": "work", "value": "t@contoso.com" }],
                "name": { "familyName": "User", "givenName": "Test" },
                schema::ENTERPRISE_USER_SCHEMA: { "employeeNumber": "42", "manager": { "value": "m1" } }
            })
        );
    }

    #[test]
    fn wrong_types_and_missing_required_are_invalid_value() {
        for body in [
            json!({}),
            json!({ "userName": "" }),
            json!({ "userName": 7 }),
            json!({ "userName": "a", "active": "maybe" }),
            json!({ "userName": "a", "name": "Bob" }),
            json!({ "userName": "a", "emails": [{ "value": 5 }] }),
            json!({ "userName": "a", "externalId": 5 }),
        ] {
            assert!(
                matches!(normalize_user(&body), Err(Error::Invalid(_))),
                "{body}"
            );
        }
        assert!(matches!(
            normalize_user(&json!([])),
            Err(Error::InvalidSyntax(_))
        ));
    }

    #[test]
    fn control_characters_and_too_many_values_are_invalid_value() {
        let many: Vec<Value> = (0..=MAX_VALUES)
            .map(|n| json!({ "value": format!("u{n}@example.com") }))
            .collect();
        for body in [
            json!({ "userName": "a\u{0}b" }),
            json!({ "userName": "a", "displayName": "x\u{1b}[31m" }),
            json!({ "userName": "a", "externalId": "e\u{0}" }),
            json!({ "userName": "a", "emails": [{ "value": "a\u{0}@example.com" }] }),
            json!({ "userName": "a", "emails": many }),
        ] {
            assert!(
                matches!(normalize_user(&body), Err(Error::Invalid(_))),
                "{body}"
            );
        }
        let address = json!({ "userName": "a", "addresses": [{ "formatted": "1 Main St\nSpringfield\tUS" }] });
        assert!(
            normalize_user(&address).is_ok(),
            "line breaks and tabs are text"
        );
        let fine: Vec<Value> = many.into_iter().take(MAX_VALUES).collect();
        assert!(normalize_user(&json!({ "userName": "a", "emails": fine })).is_ok());
        let members: Vec<Value> = (0..=MAX_MEMBERS_PER_REQUEST)
            .map(|n| json!({ "value": n.to_string() }))
            .collect();
        assert!(matches!(
            normalize_group(&json!({ "displayName": "g", "members": members })),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            normalize_group(&json!({ "displayName": "g", "members": [{ "value": "\u{0}" }] })),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn groups_keep_members_apart() {
        let group = normalize_group(&json!({
            "schemas": [schema::GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "displayName": "Sales",
            "members": [{ "value": "u1", "$ref": null }, { "value": "u2", "display": "B" }]
        }))
        .unwrap();
        assert_eq!(group.members, vec!["u1", "u2"]);
        assert_eq!(
            Value::Object(group.attributes),
            json!({ "displayName": "Sales" })
        );
        assert!(
            normalize_group(&json!({ "displayName": "x", "members": [{ "display": "no id" }] }))
                .is_err()
        );
    }

    #[test]
    fn projection() {
        let resource = json!({
            "schemas": ["s"], "id": "1", "userName": "u",
            "name": { "givenName": "G", "familyName": "F" },
            "emails": [{ "value": "a", "type": "work" }],
            "meta": { "resourceType": "User" }
        });
        let Value::Object(resource) = resource else {
            unreachable!()
        };
        let only = Projection::new(Some("userName,name.givenName,emails.value"), None)
            .apply(resource.clone());
        assert_eq!(
            Value::Object(only),
            json!({ "schemas": ["s"], "id": "1", "userName": "u", "name": { "givenName": "G" }, "emails": [{ "value": "a" }] })
        );
        let without = Projection::new(None, Some("emails,name.familyName,id")).apply(resource);
        assert_eq!(
            Value::Object(without),
            json!({ "schemas": ["s"], "id": "1", "userName": "u", "name": { "givenName": "G" }, "meta": { "resourceType": "User" } })
        );
        assert!(!Projection::new(None, Some("members")).includes("members"));
        assert!(!Projection::new(Some("id"), None).includes("members"));
        assert!(Projection::new(Some("members.value"), None).includes("members"));
        assert!(Projection::new(None, None).includes("members"));
    }
}
