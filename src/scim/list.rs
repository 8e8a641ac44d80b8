//! Query parameters, `POST .search` bodies, paging and the ListResponse (RFC 7644 sections
//! 3.4.2 and 3.4.3).

use serde_json::{json, Value};

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::{self, Filter};
use crate::scim::json::{check_message_schema, get_ci, split_list};
use crate::scim::projection::Projection;
use crate::scim::schema::{ResourceKind, SchemaRegistry};
use crate::scim::stored::Shared;
use crate::scim::urn;

/// A list request, parsed and with paging resolved, but with the filter not yet checked against
/// a resource type (a root `.search` spans several).
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// The parsed filter.
    pub filter: Option<Filter>,
    /// 1-based index of the first result.
    pub start_index: usize,
    /// Most results to return (0: only `totalResults`).
    pub count: usize,
    /// The attribute selection.
    pub projection: Projection,
}

/// Raw list parameters, from a query string or a SearchRequest body.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// `filter`
    pub filter: Option<String>,
    /// `startIndex`
    pub start_index: Option<i64>,
    /// `count`
    pub count: Option<i64>,
    /// `attributes`
    pub attributes: Vec<String>,
    /// `excludedAttributes`
    pub excluded: Vec<String>,
}

fn parse_int(name: &str, v: &str) -> ScimResult<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::InvalidValue(format!("'{name}' must be an integer, not '{v}'")))
}

impl ListParams {
    /// From decoded query pairs. Names are matched case-insensitively; unknown parameters (such
    /// as Entra's `aadOptscim062020`) are ignored (checklist 34).
    pub fn from_query(pairs: &[(String, String)]) -> ScimResult<Self> {
        let mut p = ListParams::default();
        for (k, v) in pairs {
            match k.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(v.clone()),
                "startindex" => p.start_index = Some(parse_int("startIndex", v)?),
                "count" => p.count = Some(parse_int("count", v)?),
                "attributes" => p.attributes.extend(split_list(v)),
                "excludedattributes" => p.excluded.extend(split_list(v)),
                _ => {}
            }
        }
        Ok(p)
    }

    /// From a SearchRequest body (RFC 7644 section 3.4.3).
    pub fn from_search_body(body: &Value) -> ScimResult<Self> {
        if !body.is_object() {
            return Err(ScimError::InvalidSyntax(
                "a search body must be a JSON object (a SearchRequest)".into(),
            ));
        }
        check_message_schema(body, urn::SEARCH_REQUEST, "search")?;
        let strings = |key: &str| -> ScimResult<Vec<String>> {
            match get_ci(body, key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_string).ok_or_else(|| {
                            ScimError::InvalidSyntax(format!("\"{key}\" must list strings"))
                        })
                    })
                    .collect(),
                Some(Value::String(s)) => Ok(split_list(s)),
                Some(_) => Err(ScimError::InvalidSyntax(format!(
                    "\"{key}\" must be an array of attribute paths"
                ))),
            }
        };
        let int = |key: &str| -> ScimResult<Option<i64>> {
            match get_ci(body, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                    ScimError::InvalidValue(format!("\"{key}\" must be an integer"))
                }),
                Some(Value::String(s)) => parse_int(key, s).map(Some),
                Some(_) => Err(ScimError::InvalidValue(format!(
                    "\"{key}\" must be an integer"
                ))),
            }
        };
        let filter = match get_ci(body, "filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ScimError::InvalidFilter(
                    "\"filter\" must be a string".into(),
                ))
            }
        };
        Ok(ListParams {
            filter,
            start_index: int("startIndex")?,
            count: int("count")?,
            attributes: strings("attributes")?,
            excluded: strings("excludedAttributes")?,
        })
    }

    /// Parse the filter and resolve paging: `startIndex` below 1 is 1, a negative `count` is 0,
    /// no `count` or one above `max_results` is `max_results` (RFC 7644 section 3.4.2.4).
    pub fn resolve(self, max_results: usize) -> ScimResult<ListQuery> {
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(filter::parse(text)?),
        };
        let start_index = self.start_index.unwrap_or(1).max(1);
        let count = match self.count {
            None => max_results,
            Some(c) => usize::try_from(c.max(0)).unwrap_or(0).min(max_results),
        };
        Ok(ListQuery {
            filter,
            start_index: usize::try_from(start_index).unwrap_or(usize::MAX),
            count,
            projection: Projection::from_lists(self.attributes, self.excluded)?,
        })
    }
}

/// One page of a list request.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// Every match, not just this page.
    pub total: usize,
    /// This page's resources, in canonical form.
    pub resources: Vec<Shared>,
}

impl ListQuery {
    /// The zero-based range of `total` results this page covers.
    pub fn page_range(&self, total: usize) -> std::ops::Range<usize> {
        let start = (self.start_index - 1).min(total);
        let end = start.saturating_add(self.count).min(total);
        start..end
    }

    /// The page of `all` (every match, in order) this query asks for.
    pub fn page_of(&self, all: Vec<Shared>) -> ListPage {
        let total = all.len();
        let range = self.page_range(total);
        ListPage {
            total,
            resources: all
                .into_iter()
                .skip(range.start)
                .take(range.len())
                .collect(),
        }
    }
}

/// A ListResponse. `Resources` is always present, `[]` when empty.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [urn::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The same ListResponse as [`list_response`], written from its resources' JSON text (their
/// kept default renderings), so a page of cached resources is not built and printed again.
pub fn list_response_json<S: AsRef<str>>(
    total: usize,
    start_index: usize,
    resources: &[S],
) -> String {
    let body: usize = resources.iter().map(|r| r.as_ref().len() + 1).sum();
    let mut out = String::with_capacity(body + 160);
    out.push_str("{\"schemas\":[\"");
    out.push_str(urn::LIST_RESPONSE);
    out.push_str("\"],\"totalResults\":");
    out.push_str(&total.to_string());
    out.push_str(",\"startIndex\":");
    out.push_str(&start_index.to_string());
    out.push_str(",\"itemsPerPage\":");
    out.push_str(&resources.len().to_string());
    out.push_str(",\"Resources\":[");
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r.as_ref());
    }
    out.push_str("]}");
    out
}

/// The resource types a `POST /.search` covers (RFC 7644 section 3.4.3): every type, Users
/// first, or only those whose schema the filter fits; none fitting is the first type's
/// refusal of the filter.
pub fn search_kinds(query: &ListQuery, registry: &SchemaRegistry) -> ScimResult<Vec<ResourceKind>> {
    let mut kinds = Vec::new();
    let mut first_error = None;
    for kind in ResourceKind::ALL {
        match &query.filter {
            Some(f) => match f.validate(&registry.resource(kind)) {
                Ok(()) => kinds.push(kind),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            },
            None => kinds.push(kind),
        }
    }
    if kinds.is_empty() {
        return Err(first_error.unwrap_or_else(|| {
            ScimError::InvalidFilter("the filter matches no resource type".into())
        }));
    }
    Ok(kinds)
}

/// One page over several resource types listed one after another: for each type, given its
/// number of matches (`totals`, in order), the `(start_index, count)` of its part of the page
/// `wanted` (0-based positions over all types), or `None` when the page holds none of it.
pub fn slices_of_page(
    wanted: std::ops::Range<usize>,
    totals: &[usize],
) -> Vec<Option<(usize, usize)>> {
    let mut offset = 0;
    totals
        .iter()
        .map(|&kind_total| {
            let lo = wanted.start.max(offset);
            let hi = wanted.end.min(offset + kind_total);
            let slice = (lo < hi).then(|| (lo - offset + 1, hi - lo));
            offset += kind_total;
            slice
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::stored::Stored;

    fn query(start_index: i64, count: Option<i64>) -> ListQuery {
        let params = ListParams {
            start_index: Some(start_index),
            count,
            ..ListParams::default()
        };
        match params.resolve(5) {
            Ok(q) => q,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn paging_clamps_to_the_server_maximum_and_the_matches() {
        let all: Vec<Shared> = (0..7).map(|i| Stored::new(json!(i))).collect();
        let page = query(1, None).page_of(all.clone());
        assert_eq!(
            (page.total, page.resources.len()),
            (7, 5),
            "count defaults to the maximum"
        );
        let page = query(6, Some(10)).page_of(all.clone());
        let values: Vec<&Value> = page.resources.iter().map(|r| r.value()).collect();
        assert_eq!(values, vec![&json!(5), &json!(6)]);
        let page = query(0, Some(-3)).page_of(all.clone());
        assert_eq!(
            (page.total, page.resources.len()),
            (7, 0),
            "count=0: totals only"
        );
        let page = query(50, Some(2)).page_of(all);
        assert_eq!(
            (page.total, page.resources.len()),
            (7, 0),
            "past the end: empty"
        );
    }

    #[test]
    fn a_list_written_from_kept_renderings_is_the_list_built() {
        let users = [json!({"id": "1", "userName": "a"}), json!({"id": "2"})];
        for n in 0..=2 {
            let texts: Vec<String> = users[..n].iter().map(Value::to_string).collect();
            let written: Value = match serde_json::from_str(&list_response_json(9, 3, &texts)) {
                Ok(v) => v,
                Err(e) => panic!("not JSON: {e}"),
            };
            assert_eq!(written, list_response(9, 3, users[..n].to_vec()));
        }
    }

    #[test]
    fn a_page_over_two_types_takes_each_its_slice() {
        // 3 users then 4 groups; pages of 2 from startIndex 1, 3 and 4, and past the end.
        assert_eq!(slices_of_page(0..2, &[3, 4]), vec![Some((1, 2)), None]);
        assert_eq!(
            slices_of_page(2..4, &[3, 4]),
            vec![Some((3, 1)), Some((1, 1))]
        );
        assert_eq!(slices_of_page(3..5, &[3, 4]), vec![None, Some((1, 2))]);
        assert_eq!(slices_of_page(7..7, &[3, 4]), vec![None, None]);
        assert_eq!(slices_of_page(0..10, &[0, 4]), vec![None, Some((1, 4))]);
    }

    #[test]
    fn a_search_covers_the_types_its_filter_fits() {
        let registry = SchemaRegistry::builtin();
        let q = |f: &str| {
            ListParams {
                filter: Some(f.into()),
                ..ListParams::default()
            }
            .resolve(100)
        };
        let kinds = |f: &str| q(f).and_then(|q| search_kinds(&q, registry));
        assert_eq!(
            kinds("userName eq \"a\"").ok(),
            Some(vec![ResourceKind::User])
        );
        assert_eq!(
            kinds("displayName eq \"a\"").ok(),
            Some(ResourceKind::ALL.to_vec())
        );
        assert!(kinds("nosuch eq \"a\"").is_err());
    }
}
