//! Query parameters shared by every SCIM list (RFC 7644 §3.4.2): paging, sorting, and the
//! `ListResponse` envelope.

use poem_openapi::{Enum, Object};
use sea_orm::sea_query::Expr;
use serde_json::{Value, json};

use super::{
    filter,
    query::{Compiler, ResourceKind},
    resource::Projection,
};
use crate::{
    any_case::AnyCase,
    config::Settings,
    error::Error,
    store::resources::{Page, Sort},
    text::Text,
};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The direction of a sorted list (RFC 7644 §3.4.2.3); read in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
#[oai(rename = "ScimSortOrder", rename_all = "lowercase")]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

/// Body of `POST …/.search` (RFC 7644 §3.4.3).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SearchRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`.
    pub schemas: Option<Vec<Text>>,
    /// A SCIM filter expression.
    pub filter: Option<Text>,
    /// 1-based index of the first result.
    pub start_index: Option<i64>,
    /// Page size.
    pub count: Option<i64>,
    /// Attribute to sort by.
    pub sort_by: Option<Text>,
    // The direction when `sortBy` is given; ascending by default.
    pub sort_order: Option<AnyCase<SortOrder>>,
    /// Attributes to return.
    pub attributes: Option<Vec<Text>>,
    /// Attributes not to return.
    pub excluded_attributes: Option<Vec<Text>>,
}

/// A list query, from URL parameters or a `SearchRequest` body.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub sort_by: Option<String>,
    pub sort_order: Option<SortOrder>,
    pub projection: Projection,
}

impl ListRequest {
    /// The query a `SearchRequest` body asks for. Its members are not SCIM attributes, so
    /// `null` is not "unassigned" here: the document lists none as nullable.
    pub fn from_search(body: Value) -> Result<Self, Error> {
        crate::request_json::without_nulls::<SearchRequest>(body)
            .map(Self::from)
            .map_err(Error::InvalidSyntax)
    }
}

impl From<SearchRequest> for ListRequest {
    fn from(search: SearchRequest) -> Self {
        let joined = |names: Option<Vec<Text>>| {
            names.map(|names| {
                names
                    .iter()
                    .map(|name| &**name)
                    .collect::<Vec<_>>()
                    .join(",")
            })
        };
        Self {
            projection: Projection::new(
                joined(search.attributes).as_deref(),
                joined(search.excluded_attributes).as_deref(),
            ),
            filter: search.filter.map(Text::into_inner),
            start_index: search.start_index,
            count: search.count,
            sort_by: search.sort_by.map(Text::into_inner),
            sort_order: search.sort_order.map(|order| order.0),
        }
    }
}

impl ListRequest {
    /// The page to read, validated.
    pub fn page(&self, state: &crate::AppState, kind: ResourceKind) -> Result<Page, Error> {
        page(
            &state.settings,
            kind,
            self.start_index,
            self.count,
            self.sort_by.as_deref(),
            self.sort_order,
        )
    }

    /// The page to read and the filter as an SQL condition.
    pub fn plan(
        &self,
        state: &crate::AppState,
        kind: ResourceKind,
    ) -> Result<(Page, Option<Expr>), Error> {
        let page = self.page(state, kind)?;
        let condition = self
            .filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(|f| Compiler::new(state.db.backend(), kind).compile(&filter::parse(f)?))
            .transpose()?;
        Ok((page, condition))
    }
}

/// `startIndex` below 1 counts as 1; `count` defaults to the configured page size, is capped
/// at the maximum, and 0 (or less) asks for `totalResults` only.
pub fn page(
    settings: &Settings,
    kind: ResourceKind,
    start_index: Option<i64>,
    count: Option<i64>,
    sort_by: Option<&str>,
    sort_order: Option<SortOrder>,
) -> Result<Page, Error> {
    let start_index = u64::try_from(start_index.unwrap_or(1).max(1)).unwrap_or(1);
    let count = match count {
        None => settings.default_page_size,
        Some(count) => u64::try_from(count.max(0))
            .unwrap_or(0)
            .min(settings.max_page_size),
    };
    let sort = sort_by
        .map(|name| {
            let sort = sort_attribute(kind, name)?;
            let descending = sort_order.unwrap_or_default() == SortOrder::Descending;
            Ok::<_, Error>((sort, descending))
        })
        .transpose()?;
    Ok(Page {
        start_index,
        count,
        sort,
    })
}

fn sort_attribute(kind: ResourceKind, name: &str) -> Result<Sort, Error> {
    let name = name.trim().to_ascii_lowercase();
    let core = match kind {
        ResourceKind::User => "urn:ietf:params:scim:schemas:core:2.0:user:",
        ResourceKind::Group => "urn:ietf:params:scim:schemas:core:2.0:group:",
    };
    let name = name.strip_prefix(core).unwrap_or(&name);
    Ok(match (kind, name) {
        (_, "id") => Sort::Id,
        (_, "externalid") => Sort::ExternalId,
        (_, "meta.created") => Sort::Created,
        (_, "meta.lastmodified") => Sort::LastModified,
        (ResourceKind::User, "username") | (ResourceKind::Group, "displayname") => Sort::Name,
        (ResourceKind::User, "displayname") => Sort::DisplayName,
        _ => {
            return Err(Error::Invalid(format!(
                "cannot sort by {name:?}; sortBy takes id, externalId, meta.created, meta.lastModified, {}",
                match kind {
                    ResourceKind::User => "userName or displayName",
                    ResourceKind::Group => "or displayName",
                }
            )));
        }
    })
}

pub fn list_response(total: u64, page: &Page, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": page.start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_edges() {
        let settings = Settings {
            default_page_size: 50,
            max_page_size: 200,
            ..Settings::default()
        };
        let p =
            |start, count| page(&settings, ResourceKind::User, start, count, None, None).unwrap();
        assert_eq!((p(None, None).start_index, p(None, None).count), (1, 50));
        assert_eq!(p(Some(0), Some(10)).start_index, 1);
        assert_eq!(p(Some(-5), Some(10)).start_index, 1);
        assert_eq!(p(Some(3), Some(1000)).count, 200);
        assert_eq!(p(None, Some(0)).count, 0);
        assert_eq!(p(None, Some(-1)).count, 0);
    }

    #[test]
    fn sorting() {
        let settings = Settings::default();
        let sort =
            |kind, by, order| page(&settings, kind, None, None, Some(by), order).map(|p| p.sort);
        assert_eq!(
            sort(ResourceKind::User, "UserName", None).unwrap(),
            Some((Sort::Name, false))
        );
        assert_eq!(
            sort(
                ResourceKind::Group,
                "displayName",
                Some(SortOrder::Descending)
            )
            .unwrap(),
            Some((Sort::Name, true))
        );
        assert_eq!(
            sort(ResourceKind::User, "meta.lastModified", None).unwrap(),
            Some((Sort::LastModified, false))
        );
        assert!(sort(ResourceKind::User, "title", None).is_err());
    }
}
