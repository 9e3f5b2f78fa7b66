//! Request bodies in JSON, read the same way on both APIs: which media types count as
//! JSON, and a body that names one member twice in an object refused before it is parsed
//! (serde_json keeps the last, so `{"name": "a", "name": "b"}` would store "b" while a
//! proxy or a log that kept the first saw "a"). Both payload types read their body after
//! the security scheme, so unauthenticated bodies are never buffered for it.
//!
//! Admin bodies refuse `null` for a member they declare: the document lists none as
//! nullable, and a client that sends `null` for "not set" should leave the member out
//! instead. Members a body does not declare are ignored, `null` or not. SCIM resources take
//! `null` as "unassigned" (RFC 7643 §2.5), so SCIM bodies keep it.

use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::{
    error::ParseRequestPayloadError,
    registry::{MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use serde_json::Value;

/// The media type without parameters, lower-case (`application/scim+json; charset=utf-8`
/// is `application/scim+json`).
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The API whose body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Member names exact, `null` refused for declared members.
    Admin,
    /// Member names compared without case (RFC 7643 §2.1), `null` kept.
    Scim,
}

/// Reads the body as `T`, the way `dialect` reads JSON.
pub async fn read<T: ParseFromJSON>(
    request: &Request,
    body: &mut RequestBody,
    dialect: Dialect,
) -> Result<T> {
    let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
    let names_ignore_case = dialect == Dialect::Scim;
    if let Some(member) = crate::duplicate_keys::first_duplicate(&data, names_ignore_case) {
        return Err(ParseRequestPayloadError {
            reason: format!("the body names the member {member} twice in one object"),
        }
        .into());
    }
    let value = serde_json::from_slice(&data).map_err(|err| ParseRequestPayloadError {
        reason: format!("the body is not valid JSON: {err}"),
    })?;
    let parsed = match dialect {
        Dialect::Admin => without_nulls(value),
        Dialect::Scim => T::parse_from_json(Some(value)).map_err(|err| err.into_message()),
    };
    Ok(parsed.map_err(|reason| ParseRequestPayloadError { reason })?)
}

/// `value` as `T`, refusing `null` for a member `T` declares (no member is nullable in the
/// document); the reason, when it is refused, is the client's to read.
pub fn without_nulls<T: ParseFromJSON>(value: Value) -> Result<T, String> {
    if let Some(name) = declared_null::<T>(&value) {
        return Err(format!(
            "{name} must not be null: leave the member out instead"
        ));
    }
    T::parse_from_json(Some(value)).map_err(|err| err.into_message())
}

/// The first member of the object `value` that `T` declares and that is `null`.
fn declared_null<T: Type>(value: &Value) -> Option<&str> {
    let members = value.as_object()?;
    // Reading the schema costs far more than the body: only a `null` makes it needed.
    if !members.values().any(Value::is_null) {
        return None;
    }
    let mut registry = Registry::new();
    T::register(&mut registry);
    let schema = match T::schema_ref() {
        MetaSchemaRef::Inline(schema) => *schema,
        MetaSchemaRef::Reference(name) => registry.schemas.remove(&name)?,
    };
    schema
        .properties
        .iter()
        .map(|(name, _)| *name)
        .find(|name| members.get(*name).is_some_and(Value::is_null))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(poem_openapi::Object)]
    struct Body {
        /// A name.
        name: Option<String>,
        /// A count.
        count: Option<u32>,
    }

    #[test]
    fn only_declared_members_may_not_be_null() {
        assert_eq!(
            declared_null::<Body>(&json!({ "name": "a", "count": 1 })),
            None
        );
        assert_eq!(declared_null::<Body>(&json!({ "unknown": null })), None);
        assert_eq!(
            declared_null::<Body>(&json!({ "name": "a", "count": null })),
            Some("count")
        );
        assert_eq!(declared_null::<Body>(&json!(null)), None);
    }
}
