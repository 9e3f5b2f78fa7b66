//! The `Allow` header of a 405 answer (RFC 9110 §15.5.6 says it must be there): the methods
//! the OpenAPI document lists for the path, read once from the same document the server
//! serves, so it cannot disagree with the routes.

use std::sync::LazyLock;

/// Path templates (split on `/`, `None` for a `{parameter}`) and their methods.
struct Operations(Vec<(Vec<Option<String>>, Vec<String>)>);

static OPERATIONS: LazyLock<Operations> = LazyLock::new(|| {
    Operations(
        crate::document_paths()
            .iter()
            .map(|(template, operations)| {
                let segments = template
                    .split('/')
                    .map(|segment| (!segment.starts_with('{')).then(|| segment.to_owned()))
                    .collect();
                let methods = operations
                    .as_object()
                    .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                (segments, methods)
            })
            .collect(),
    )
});

/// The methods `path` answers, as an `Allow` value (`None` for a path no operation has).
/// Like the router, a fixed segment wins over a parameter: `/Users/.search` is the search
/// operation's path, not `/Users/{id}` with the id ".search".
pub fn methods_for(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let matching: Vec<_> = OPERATIONS
        .0
        .iter()
        .filter(|(template, _)| {
            template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(fixed, given)| fixed.as_deref().is_none_or(|f| f == *given))
        })
        .collect();
    let fixed = |template: &[Option<String>]| template.iter().filter(|s| s.is_some()).count();
    let most_specific = matching.iter().map(|(template, _)| fixed(template)).max()?;
    let mut methods: Vec<&str> = matching
        .iter()
        .filter(|(template, _)| fixed(template) == most_specific)
        .flat_map(|(_, methods)| methods.iter().map(String::as_str))
        .collect();
    methods.sort_unstable();
    methods.dedup();
    (!methods.is_empty()).then(|| methods.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_come_from_the_spec() {
        assert_eq!(
            methods_for("/scim/t1/v2/Users/u1").as_deref(),
            Some("DELETE, GET, PATCH, PUT")
        );
        assert_eq!(
            methods_for("/scim/t1/v2/Users").as_deref(),
            Some("GET, POST")
        );
        assert_eq!(
            methods_for("/admin/v1/tenants").as_deref(),
            Some("GET, POST")
        );
        assert_eq!(
            methods_for("/scim/t1/v2/Users/.search").as_deref(),
            Some("POST")
        );
        assert_eq!(methods_for("/nowhere"), None);
    }
}
