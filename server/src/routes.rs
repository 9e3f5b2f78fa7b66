//! What the OpenAPI document says of the server's routes, read once from the same document
//! the server serves, so it cannot disagree with them: the `Allow` header of a 405 answer
//! (RFC 9110 §15.5.6 says it must be there), and the document's spelling of a route and of
//! its parameters, which poem-openapi calls `:param0`, `:param1`, ….

use std::{collections::HashMap, sync::LazyLock};

/// One segment of a path template.
enum Segment {
    Fixed(String),
    Parameter(String),
}

/// A path template of the document, split on `/`, and its methods.
struct Route {
    template: &'static str,
    segments: Vec<Segment>,
    methods: Vec<String>,
}

impl Route {
    /// The template as poem-openapi routes it: each `{name}` becomes `:param<n>`.
    fn routed(&self) -> String {
        let mut parameters = 0;
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Fixed(fixed) => fixed.clone(),
                Segment::Parameter(_) => {
                    parameters += 1;
                    format!(":param{}", parameters - 1)
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

static ROUTES: LazyLock<Vec<Route>> = LazyLock::new(|| {
    crate::document_paths()
        .iter()
        .map(|(template, operations)| Route {
            template: template.as_str(),
            segments: template
                .split('/')
                .map(|segment| match segment.strip_prefix('{') {
                    Some(name) => Segment::Parameter(name.trim_end_matches('}').to_owned()),
                    None => Segment::Fixed(segment.to_owned()),
                })
                .collect(),
            methods: operations
                .as_object()
                .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                .unwrap_or_default(),
        })
        .collect()
});

/// The templates that `path` matches, as the router chooses: a fixed segment wins over a
/// parameter, so `/Users/.search` is the search operation's path, not `/Users/{id}` with
/// the id ".search".
fn routes_of(path: &str) -> Vec<&'static Route> {
    let segments: Vec<&str> = path.split('/').collect();
    let matching: Vec<&Route> = ROUTES
        .iter()
        .filter(|route| {
            route.segments.len() == segments.len()
                && route
                    .segments
                    .iter()
                    .zip(&segments)
                    .all(|(segment, given)| match segment {
                        Segment::Fixed(fixed) => fixed == given,
                        Segment::Parameter(_) => true,
                    })
        })
        .collect();
    let fixed = |route: &Route| {
        route
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Fixed(_)))
            .count()
    };
    let Some(most_specific) = matching.iter().map(|route| fixed(route)).max() else {
        return Vec::new();
    };
    matching
        .into_iter()
        .filter(|route| fixed(route) == most_specific)
        .collect()
}

/// The methods `path` answers, as an `Allow` value (`None` for a path no operation has).
pub fn methods_for(path: &str) -> Option<String> {
    let mut methods: Vec<&str> = routes_of(path)
        .into_iter()
        .flat_map(|route| route.methods.iter().map(String::as_str))
        .collect();
    methods.sort_unstable();
    methods.dedup();
    (!methods.is_empty()).then(|| methods.join(", "))
}

/// The document's name for the path parameter poem-openapi calls `generated` (`param1`).
pub fn parameter_name(path: &str, generated: &str) -> Option<&'static str> {
    let index: usize = generated.strip_prefix("param")?.parse().ok()?;
    routes_of(path)
        .first()?
        .segments
        .iter()
        .filter_map(|segment| match segment {
            Segment::Parameter(name) => Some(name.as_str()),
            Segment::Fixed(_) => None,
        })
        .nth(index)
}

/// The document's spelling of a route poem-openapi matched (`/scim/:param0/v2/Users/:param1`
/// is `/scim/{tenantId}/v2/Users/{id}`), which dashboards and the README use. A route the
/// document does not list keeps poem's spelling.
pub fn label_of(pattern: &str) -> &str {
    static LABELS: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
        ROUTES
            .iter()
            .map(|route| (route.routed(), route.template))
            .collect()
    });
    LABELS.get(pattern).copied().unwrap_or(pattern)
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

    #[test]
    fn routes_are_labelled_as_the_document_spells_them() {
        assert_eq!(
            label_of("/scim/:param0/v2/Users/:param1"),
            "/scim/{tenantId}/v2/Users/{id}"
        );
        assert_eq!(
            label_of("/admin/v1/tenants/:param0/products/:param1"),
            "/admin/v1/tenants/{tenantId}/products/{productId}"
        );
        assert_eq!(label_of("/healthz"), "/healthz");
        assert_eq!(label_of("/not/in/the/document"), "/not/in/the/document");
    }
}
