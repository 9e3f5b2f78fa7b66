//! Request bodies in JSON, read the same way on both APIs: which media types count as
//! JSON, and a body that names one member twice in an object refused before it is parsed
//! (serde_json keeps the last, so `{"name": "a", "name": "b"}` would store "b" while a
//! proxy or a log that kept the first saw "a"). Both payload types read their body after
//! the security scheme, so unauthenticated bodies are never buffered for it.
//!
//! Admin bodies refuse `null` anywhere: the document lists no member as nullable, and a
//! client that sends `null` for "not set" should leave the member out instead. SCIM
//! resources take `null` as "unassigned" (RFC 7643 §2.5), so SCIM bodies keep it.

use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::{error::ParseRequestPayloadError, types::ParseFromJSON};
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
    /// Member names exact, `null` refused.
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
    if dialect == Dialect::Admin
        && let Some(at) = first_null(&value)
    {
        return Err(ParseRequestPayloadError {
            reason: null_message(&at),
        }
        .into());
    }
    Ok(
        T::parse_from_json(Some(value)).map_err(|err| ParseRequestPayloadError {
            reason: err.into_message(),
        })?,
    )
}

/// Where the first `null` in `value` is (`sortBy`, `members[2].value`; empty for the whole
/// value), if there is one.
pub fn first_null(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some(String::new()),
        Value::Array(items) => items.iter().enumerate().find_map(|(at, item)| {
            first_null(item).map(|inner| format!("[{at}]{}", dotted(&inner)))
        }),
        Value::Object(members) => members.iter().find_map(|(name, member)| {
            first_null(member).map(|inner| format!("{name}{}", dotted(&inner)))
        }),
        _ => None,
    }
}

fn dotted(inner: &str) -> String {
    if inner.is_empty() || inner.starts_with('[') {
        inner.to_owned()
    } else {
        format!(".{inner}")
    }
}

/// What a client hears when a body holds `null` at `at`.
pub fn null_message(at: &str) -> String {
    if at.is_empty() {
        "the body must not be null".to_owned()
    } else {
        format!("{at} must not be null: leave the member out instead")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nulls_are_found_where_they_are() {
        assert_eq!(first_null(&json!({"a": 1, "b": [true, "x"]})), None);
        assert_eq!(first_null(&json!(null)), Some(String::new()));
        assert_eq!(
            first_null(&json!({"sortBy": null})).as_deref(),
            Some("sortBy")
        );
        assert_eq!(
            first_null(&json!({"members": [{"value": "1"}, {"value": null}]})).as_deref(),
            Some("members[1].value")
        );
        assert_eq!(first_null(&json!([[1, null]])).as_deref(), Some("[0][1]"));
    }
}
