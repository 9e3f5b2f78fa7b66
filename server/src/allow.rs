//! What the OpenAPI document says of a request path, read once from the same document the
//! server serves, so it cannot disagree with the routes: the `Allow` header of a 405 answer
//! (RFC 9110 §15.5.6 says it must be there), and the names of the path's parameters, which
//! poem-openapi's own errors call `param0`, `param1`, ….

use std::sync::LazyLock;

/// One segment of a path template.
enum Segment {
    Fixed(String),
    Parameter(String),
}

/// Path templates (split on `/`) and their methods.
struct Operations(Vec<(Vec<Segment>, Vec<String>)>);

static OPERATIONS: LazyLock<Operations> = LazyLock::new(|| {
    Operations(
        crate::document_paths()
            .iter()
            .map(|(template, operations)| {
                let segments = template
                    .split('/')
                    .map(|segment| match segment.strip_prefix('{') {
                        Some(name) => Segment::Parameter(name.trim_end_matches('}').to_owned()),
                        None => Segment::Fixed(segment.to_owned()),
                    })
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

/// The templates that `path` matches, as the router chooses: a fixed segment wins over a
/// parameter, so `/Users/.search` is the search operation's path, not `/Users/{id}` with
/// the id ".search".
fn routes_of(path: &str) -> Vec<&'static (Vec<Segment>, Vec<String>)> {
    let segments: Vec<&str> = path.split('/').collect();
    let matching: Vec<_> = OPERATIONS
        .0
        .iter()
        .filter(|(template, _)| {
            template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(segment, given)| match segment {
                        Segment::Fixed(fixed) => fixed == given,
                        Segment::Parameter(_) => true,
                    })
        })
        .collect();
    let fixed = |template: &[Segment]| {
        template
            .iter()
            .filter(|s| matches!(s, Segment::Fixed(_)))
            .count()
    };
    let Some(most_specific) = matching.iter().map(|(template, _)| fixed(template)).max() else {
        return Vec::new();
    };
    matching
        .into_iter()
        .filter(|(template, _)| fixed(template) == most_specific)
        .collect()
}

/// The methods `path` answers, as an `Allow` value (`None` for a path no operation has).
pub fn methods_for(path: &str) -> Option<String> {
    let mut methods: Vec<&str> = routes_of(path)
        .into_iter()
        .flat_map(|(_, methods)| methods.iter().map(String::as_str))
        .collect();
    methods.sort_unstable();
    methods.dedup();
    (!methods.is_empty()).then(|| methods.join(", "))
}

/// The document's name for the path parameter poem-openapi calls `generated` (`param1`).
pub fn parameter_name(path: &str, generated: &str) -> Option<&'static str> {
    let index: usize = generated.strip_prefix("param")?.parse().ok()?;
    let routes = routes_of(path);
    let (template, _) = routes.first()?;
    template
        .iter()
        .filter_map(|segment| match segment {
            Segment::Parameter(name) => Some(name.as_str()),
            Segment::Fixed(_) => None,
        })
        .nth(index)
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

    #[test]
    fn parameters_are_named_as_the_document_names_them() {
        let path = "/admin/v1/tenants/t1/activity/abc";
        assert_eq!(parameter_name(path, "param0"), Some("tenantId"));
        assert_eq!(parameter_name(path, "param1"), Some("entryId"));
        assert_eq!(parameter_name(path, "param2"), None);
        assert_eq!(parameter_name(path, "entryId"), None);
        assert_eq!(parameter_name("/nowhere/1", "param0"), None);
    }
}
