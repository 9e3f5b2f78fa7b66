//! Request bodies in JSON, read the same way on both APIs: which media types count as
//! JSON, and a body that names one member twice in an object refused before it is parsed
//! (serde_json keeps the last, so `{"name": "a", "name": "b"}` would store "b" while a
//! proxy or a log that kept the first saw "a"). Both payload types read their body after
//! the security scheme, so unauthenticated bodies are never buffered for it.

use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::{error::ParseRequestPayloadError, types::ParseFromJSON};

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

/// Reads the body as `T`. With `names_ignore_case`, members whose names differ only in
/// case count as the same member (SCIM attribute names, RFC 7643 §2.1).
pub async fn read<T: ParseFromJSON>(
    request: &Request,
    body: &mut RequestBody,
    names_ignore_case: bool,
) -> Result<T> {
    let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
    if let Some(member) = crate::duplicate_keys::first_duplicate(&data, names_ignore_case) {
        return Err(ParseRequestPayloadError {
            reason: format!("the body names the member {member} twice in one object"),
        }
        .into());
    }
    let value = serde_json::from_slice(&data).map_err(|err| ParseRequestPayloadError {
        reason: format!("the body is not valid JSON: {err}"),
    })?;
    Ok(
        T::parse_from_json(Some(value)).map_err(|err| ParseRequestPayloadError {
            reason: err.into_message(),
        })?,
    )
}
