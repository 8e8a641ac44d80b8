//! Reading an emulated request: query parameters, paging and filters with Tableau's error
//! codes, `tsRequest` bodies and site roles.

use actix_web::{web, HttpRequest};

use super::state::{api_error, ApiError};
use crate::tableau::model::{ApiVersion, Pagination};
use crate::tableau::site_role::SiteRole;
use crate::tableau::xml::{self, Element};

pub(super) fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

pub(super) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `pageSize` (1..=1000, default 100) and `pageNumber` (from 1), with Tableau's codes.
pub(super) fn paging(pairs: &[(String, String)]) -> Result<(usize, usize), ApiError> {
    let size = match param(pairs, "pageSize") {
        None => 100,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 1000 => {
                return Err(api_error(
                    403,
                    "403014",
                    "Page Size Limit Exceeded",
                    format!("The page size {n} exceeds the limit of 1000"),
                ))
            }
            Ok(n) if n > 0 => n,
            _ => {
                return Err(api_error(
                    400,
                    "400007",
                    "Bad Request",
                    format!("Invalid page size '{s}'"),
                ))
            }
        },
    };
    let number = match param(pairs, "pageNumber") {
        None => 1,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(api_error(
                    400,
                    "400006",
                    "Bad Request",
                    format!("Invalid page number '{s}'"),
                ))
            }
        },
    };
    Ok((number, size))
}

pub(super) fn page<T>(
    items: Vec<T>,
    number: usize,
    size: usize,
) -> Result<(Vec<T>, Pagination), ApiError> {
    let total = items.len();
    let start = (number - 1).saturating_mul(size);
    if number > 1 && start >= total {
        return Err(api_error(
            400,
            "400006",
            "Bad Request",
            format!("Page {number} is past the end: there are {total} items"),
        ));
    }
    let pagination = Pagination {
        page_number: u32::try_from(number).unwrap_or(u32::MAX),
        page_size: u32::try_from(size).unwrap_or(u32::MAX),
        total_available: u64::try_from(total).unwrap_or(u64::MAX),
    };
    Ok((
        items.into_iter().skip(start).take(size).collect(),
        pagination,
    ))
}

/// Split a `filter` on the commas that separate expressions, not those inside `[...]`.
pub(super) fn split_filters(f: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in f.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&f[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&f[start..]);
    out
}

/// Whether a request at `ver` may filter with `cieq`: from [`ApiVersion::CIEQ`] (**assumed**,
/// see there), unless the emulator plays a Tableau without it (`no_cieq`).
pub(super) fn knows_cieq(ver: ApiVersion, no_cieq: bool) -> bool {
    ver >= ApiVersion::CIEQ && !no_cieq
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters: Tableau's
/// wildcard in filter values ("Wildcard searches for characters using starts with, ends with,
/// and contains-based searches are supported starting in Tableau Cloud May 2023 and Tableau
/// Server 2022.1.14", the REST filtering page as quoted in tableauserverclient issue #1431;
/// the syntax `name:eq:mark*`, `name:eq:*-ample`, `name:eq:mark*ex*` from Tableau's MCP server,
/// `src/tools/web/genericFilterDescription.ts`). Applied at every version here: the emulated
/// versions are all later.
pub(super) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Apply Tableau filters (`name:eq:x`, `name:cieq:x`, `name:in:[a,b]`, `name:has:x`,
/// `siteRole:eq:Viewer`) to items, given how to read a field. `eq` is case-sensitive ("Field
/// names, operator names, and values are case-sensitive", Tableau's MCP server), `cieq` not;
/// both take `*` as a wildcard ([`wildcard_match`]). `cieq` where this Tableau does not know it
/// ([`knows_cieq`]) is 400065, the code of a filter key the version does not know
/// (tableauserverclient issue #753).
pub(super) fn filter<T>(
    items: Vec<T>,
    pairs: &[(String, String)],
    cieq: bool,
    field: impl Fn(&T, &str) -> Option<String>,
) -> Result<Vec<T>, ApiError> {
    let Some(f) = param(pairs, "filter") else {
        return Ok(items);
    };
    let mut items = items;
    for expr in split_filters(f) {
        let mut parts = expr.splitn(3, ':');
        let (Some(name), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(api_error(
                400,
                "400065",
                "Bad Request",
                format!("Invalid filter expression '{expr}': expected field:operator:value"),
            ));
        };
        if !matches!(name, "name" | "siteRole" | "domainName") {
            return Err(api_error(
                400,
                "400065",
                "Bad Request",
                format!("Filtering on '{name}' is not supported"),
            ));
        }
        let test: Box<dyn Fn(&str) -> bool> = match op {
            "eq" => {
                let v = value.to_string();
                Box::new(move |x| wildcard_match(&v, x))
            }
            "cieq" if !cieq => {
                return Err(api_error(
                    400,
                    "400065",
                    "Bad Request",
                    "The filter query contains a key which is not recognized for this api version.",
                ));
            }
            "cieq" => {
                let v = value.to_lowercase();
                Box::new(move |x| wildcard_match(&v, &x.to_lowercase()))
            }
            "has" => {
                let v = value.to_lowercase();
                Box::new(move |x| x.to_lowercase().contains(&v))
            }
            "in" => {
                let inner = value.trim_start_matches('[').trim_end_matches(']');
                let set: Vec<String> = inner.split(',').map(str::to_string).collect();
                Box::new(move |x| set.iter().any(|s| s == x))
            }
            other => {
                return Err(api_error(
                    400,
                    "400065",
                    "Bad Request",
                    format!("Filter operator '{other}' is not supported on {name}"),
                ));
            }
        };
        items.retain(|i| field(i, name).is_some_and(|v| test(&v)));
    }
    Ok(items)
}

pub(super) fn sort_desc(pairs: &[(String, String)]) -> bool {
    param(pairs, "sort").is_some_and(|s| s.split(',').any(|x| x == "name:desc"))
}

/// Tableau's answer to a body it cannot take: every observed "Payload is either malformed or
/// incomplete" carries 400003 (tableauserverclient issues #990 on Tableau Cloud, #636, #820,
/// #1137 on Tableau Server 2022.1.7), although the 2020 error table lists 400000 for a bad body.
pub(super) fn malformed(detail: impl Into<String>) -> ApiError {
    api_error(400, "400003", "Bad Request", detail)
}

/// The detail of [`malformed`], as Tableau words it.
pub(super) const MALFORMED: &str = "Payload is either malformed or incomplete";

pub(super) fn body_root(body: &web::Bytes) -> Result<Element, ApiError> {
    let malformed = || malformed(MALFORMED);
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    let root = xml::parse(text).map_err(|_| malformed())?;
    if root.name != "tsRequest" {
        return Err(malformed());
    }
    Ok(root)
}

/// The `<name>` element of a `tsRequest` body.
pub(super) fn body_element(body: &web::Bytes, name: &str) -> Result<Element, ApiError> {
    let root = body_root(body)?;
    root.child(name).cloned().ok_or_else(|| {
        api_error(
            400,
            "400000",
            "Bad Request",
            format!("No <{name}> in the request"),
        )
    })
}

pub(super) fn role_attr(e: &Element, attr: &str) -> Result<Option<SiteRole>, ApiError> {
    match e.attr(attr) {
        None => Ok(None),
        Some(r) => r.parse::<SiteRole>().map(Some).map_err(|_| {
            api_error(
                400,
                "400013",
                "Invalid site role",
                format!("'{r}' is not a valid site role"),
            )
        }),
    }
}

/// Refuse an attribute the method does not know at this version. Tableau's request schemas
/// are closed: older servers refused the attributes newer ones added with "Payload is either
/// malformed or incomplete" (tableauserverclient issue #740), which comes with 400003
/// ([`malformed`]). That a current server refuses every attribute outside its documented body
/// is assumed from it.
pub(super) fn only_attributes(e: &Element, allowed: &[&str]) -> Result<(), ApiError> {
    match e.attrs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some((k, _)) => Err(malformed(format!(
            "{MALFORMED}: <{}> has no attribute '{k}' here",
            e.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn a_star_is_any_run_of_characters() {
        for (pattern, text, hit) in [
            ("mark*", "markus", true),
            ("mark*", "mar", false),
            ("*-ample", "ex-ample", true),
            ("mark*ex*", "mark-and-rex-2", true),
            ("a*c@example.com", "abc@example.com", true),
            ("a*c@example.com", "a*c@example.com", true),
            ("a*c@example.com", "abd@example.com", false),
            ("ab*ba", "aba", false),
            ("*", "", true),
            ("exact", "exact", true),
            ("exact", "Exact", false),
        ] {
            assert_eq!(wildcard_match(pattern, text), hit, "{pattern} ~ {text}");
        }
    }
}
