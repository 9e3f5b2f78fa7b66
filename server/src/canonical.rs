//! Spellings poem-openapi chooses that clients trip over, put right in one place: it labels
//! JSON `application/json; charset=utf-8` (JSON has no charset parameter, RFC 8259 §11, and
//! generic "is this JSON?" helpers compare the whole value) and writes response header names
//! upper-case in the document (`ETAG`), which generators copy into code. It also states
//! what the server checks before any route: no path or query parameter holds a control
//! character (`lib::has_control_characters`).

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
    text_parameters_without_controls(&spec)
}

/// A string with no C0 control character and no DEL, as JSON Schema writes it.
const NO_CONTROLS: &str = r#""pattern": "^[^\\u0000-\\u001F\\u007F]*$""#;

/// Adds `NO_CONTROLS` to every plain string parameter in a path or a query. poem-openapi
/// writes each as `"schema": {` / `"type": "string"` / `},` / `"in": …`, one per line.
fn text_parameters_without_controls(spec: &str) -> String {
    let lines: Vec<&str> = spec.lines().collect();
    let mut out = String::with_capacity(spec.len() + 4096);
    for (at, line) in lines.iter().enumerate() {
        let next = |n: usize| lines.get(at + n).map_or("", |line| line.trim());
        let plain_text_parameter = line.trim() == r#""type": "string""#
            && lines.get(at.wrapping_sub(1)).map(|line| line.trim()) == Some(r#""schema": {"#)
            && next(1) == "},"
            && (next(2).starts_with(r#""in": "path""#) || next(2).starts_with(r#""in": "query""#));
        if plain_text_parameter {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(line);
            out.push_str(",\n");
            out.push_str(indent);
            out.push_str(NO_CONTROLS);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if !spec.ends_with('\n') {
        out.pop();
    }
    out
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
    fn text_parameters_say_they_hold_no_control_characters() {
        let raw = "{\n  \"schema\": {\n    \"type\": \"string\"\n  },\n  \"in\": \"path\"\n}";
        let with = spec(raw);
        let parsed: serde_json::Value = serde_json::from_str(&with).unwrap();
        assert_eq!(parsed["schema"]["pattern"], "^[^\\u0000-\\u001F\\u007F]*$");
        let header = raw.replace("path", "header");
        assert_eq!(spec(&header), header, "only paths and queries are checked");
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
