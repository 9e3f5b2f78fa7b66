//! Spellings poem-openapi chooses that clients trip over, put right in one place: it labels
//! JSON `application/json; charset=utf-8` (JSON has no charset parameter, RFC 8259 §11, and
//! generic "is this JSON?" helpers compare the whole value) and writes response header names
//! upper-case in the document (`ETAG`), which generators copy into code.

use poem::{Response, http::header::CONTENT_TYPE};

const JSON_WITH_CHARSET: &str = "application/json; charset=utf-8";
const JSON: &str = "application/json";

/// Response headers as RFC 9110 and RFC 6585 spell them.
const HEADER_NAMES: &[&str] = &["ETag", "Location", "Retry-After", "WWW-Authenticate"];

/// The OpenAPI document with JSON media types and header names spelled canonically.
pub fn spec(raw: &str) -> String {
    let mut spec = raw.replace(&format!("\"{JSON_WITH_CHARSET}\""), &format!("\"{JSON}\""));
    for name in HEADER_NAMES {
        spec = spec.replace(
            &format!("\"{}\": {{", name.to_ascii_uppercase()),
            &format!("\"{name}\": {{"),
        );
    }
    spec
}

/// Labels a JSON response `application/json`, as the document says.
pub fn content_type(response: &mut Response) {
    if response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value == JSON_WITH_CHARSET)
    {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, poem::http::HeaderValue::from_static(JSON));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_spellings() {
        let raw = r#"{"content": {"application/json; charset=utf-8": {}}, "headers": {"ETAG": {}, "WWW-AUTHENTICATE": {}}, "description": "ETAG"}"#;
        assert_eq!(
            spec(raw),
            r#"{"content": {"application/json": {}}, "headers": {"ETag": {}, "WWW-Authenticate": {}}, "description": "ETAG"}"#
        );
    }

    #[test]
    fn response_label() {
        let mut json = Response::builder().content_type(JSON_WITH_CHARSET).finish();
        content_type(&mut json);
        assert_eq!(json.content_type(), Some(JSON));
        let mut scim = Response::builder()
            .content_type("application/scim+json")
            .finish();
        content_type(&mut scim);
        assert_eq!(scim.content_type(), Some("application/scim+json"));
    }
}
