//! What SCIM users and groups share in storage: list pages, sort keys, versions (and the
//! weak ETags that name them), and which multi-valued attributes are kept as indexed rows.

use serde_json::{Map, Value};

use crate::error::Error;

/// Multi-valued string attributes whose values live in `scim_user_value`, indexed. (Photos
/// and certificates, long values rarely filtered on, stay in the JSON document.)
pub const VALUE_TABLE_ATTRIBUTES: &[&str] =
    &["emails", "phoneNumbers", "ims", "entitlements", "roles"];

/// A page request, already validated.
#[derive(Debug, Clone)]
pub struct Page {
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
    pub sort: Option<(Sort, bool)>,
}

/// Attributes a list may be sorted by (each has an index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Id,
    ExternalId,
    /// `userName` for users, `displayName` for groups.
    Name,
    DisplayName,
    Created,
    LastModified,
}

/// The weak ETag of a resource version.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` / `If-None-Match` header value names `version` (or is `*`).
pub fn etag_matches(header: &str, version: i64) -> bool {
    let current = etag(version);
    header.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag == current || tag.strip_prefix("W/").unwrap_or(tag) == &current[2..]
    })
}

/// Fails with `PreconditionFailed` unless `if_match` (when given) names the current version.
pub fn check_version(if_match: Option<&str>, version: i64) -> Result<(), Error> {
    match if_match {
        Some(tags) if !etag_matches(tags, version) => Err(Error::PreconditionFailed(etag(version))),
        _ => Ok(()),
    }
}

/// A string attribute of a normalised document.
pub fn text(attrs: &Map<String, Value>, name: &str) -> Option<String> {
    attrs.get(name).and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags() {
        assert_eq!(etag(3), "W/\"3\"");
        assert!(etag_matches("W/\"3\"", 3));
        assert!(etag_matches("\"3\"", 3));
        assert!(etag_matches("W/\"1\", W/\"3\"", 3));
        assert!(etag_matches("*", 3));
        assert!(!etag_matches("W/\"2\"", 3));
    }
}
