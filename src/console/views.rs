//! What the console's pages show, decided without I/O: the access view's filters, sort and
//! pages, the users-per-role chart. The CSV files are `crate::export`'s.

use std::fmt::Write as _;

use serde::Deserialize;

use crate::bridge::site::access::AccessEntry;

/// Rows per page.
pub const PAGE_SIZE: usize = 100;

/// The access view's query (`?q=&role=&managed=&active=&sort=&page=`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AccessQuery {
    /// Part of the user name or full name, any case.
    pub q: String,
    /// The site role now, exactly (empty: any).
    pub role: String,
    /// `yes`, `no` or empty (any).
    pub managed: String,
    /// `yes`, `no` or empty (any).
    pub active: String,
    /// `name` (default), `role`, `login` (newest first).
    pub sort: String,
    /// 1-based.
    pub page: usize,
}

fn yes_no(filter: &str, value: bool) -> bool {
    match filter {
        "yes" => value,
        "no" => !value,
        _ => true,
    }
}

impl AccessQuery {
    /// Whether `e` passes the filters.
    pub fn matches(&self, e: &AccessEntry) -> bool {
        let q = self.q.trim().to_lowercase();
        (q.is_empty()
            || e.user_name.to_lowercase().contains(&q)
            || e.full_name.to_lowercase().contains(&q))
            && (self.role.is_empty() || e.site_role == self.role)
            && yes_no(&self.managed, e.managed)
            && yes_no(&self.active, e.active)
    }

    /// The entries that pass, sorted (every page: the CSV has exactly these rows).
    pub fn select<'a>(&self, entries: &'a [AccessEntry]) -> Vec<&'a AccessEntry> {
        let mut rows: Vec<&AccessEntry> = entries.iter().filter(|e| self.matches(e)).collect();
        match self.sort.as_str() {
            "role" => rows.sort_by(|a, b| {
                a.site_role
                    .cmp(&b.site_role)
                    .then_with(|| a.user_name.cmp(&b.user_name))
            }),
            "login" => rows.sort_by(|a, b| b.last_login.cmp(&a.last_login)),
            _ => {} // by user name already
        }
        rows
    }

    /// The page asked for (1-based, clamped) and how many pages there are.
    pub fn page_of<'a>(
        &self,
        rows: &'a [&'a AccessEntry],
    ) -> (&'a [&'a AccessEntry], usize, usize) {
        let pages = rows.len().div_ceil(PAGE_SIZE).max(1);
        let page = self.page.clamp(1, pages);
        let start = (page - 1) * PAGE_SIZE;
        let end = (start + PAGE_SIZE).min(rows.len());
        (&rows[start..end], page, pages)
    }

    /// The query string of this query on another page (or, `format`, of the CSV).
    pub fn link(&self, page: usize) -> String {
        serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("role", self.role.as_str()),
            ("managed", self.managed.as_str()),
            ("active", self.active.as_str()),
            ("sort", self.sort.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default()
    }
}

/// The pages of a list: which one this is, how many, and the links to the others and to the
/// CSV of the same filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    /// 1-based.
    pub page: usize,
    /// At least 1.
    pub pages: usize,
    /// Query string of the page before.
    pub prev: String,
    /// Query string of the page after.
    pub next: String,
    /// Query string of the CSV (the same filters).
    pub csv: String,
}

impl Pager {
    /// Page `page` of `pages`, with `link` making the query string of a page.
    pub fn new(page: usize, pages: usize, link: impl Fn(usize) -> String) -> Pager {
        Pager {
            page,
            pages,
            prev: link(page.saturating_sub(1).max(1)),
            next: link((page + 1).min(pages)),
            csv: link(1),
        }
    }
}

/// A number with thousands separators (`12,345`).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Users per site role as a horizontal bar chart (SVG, drawn here: no script). Labels are
/// escaped.
pub fn role_chart(counts: &[(String, u64)]) -> String {
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let row_h = 26;
    let height = row_h * counts.len().max(1) + 8;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Users per site role\" width=\"520\" height=\"{height}\" viewBox=\"0 0 520 {height}\">"
    );
    for (i, (label, n)) in counts.iter().enumerate() {
        let y = i * row_h + 4;
        let w = (*n as f64 / max as f64 * 260.0)
            .round()
            .max(if *n > 0 { 2.0 } else { 0.0 });
        let label = escape(label);
        let _ = write!(
            svg,
            "<text x=\"190\" y=\"{}\" text-anchor=\"end\" font-size=\"13\" fill=\"#1f2933\">{label}</text><rect x=\"200\" y=\"{y}\" width=\"{w}\" height=\"18\" rx=\"3\" fill=\"#2563eb\"/><text x=\"{}\" y=\"{}\" font-size=\"13\" fill=\"#1f2933\">{}</text>",
            y + 14,
            200.0 + w + 6.0,
            y + 14,
            thousands(*n)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{access_csv, field, formula_like};

    fn entry(name: &str, role: &str, managed: bool, active: bool, login: &str) -> AccessEntry {
        AccessEntry {
            id: format!("id-{name}"),
            user_name: name.into(),
            full_name: format!("Full {name}"),
            site_role: role.into(),
            asserted_role: String::new(),
            managed,
            active,
            last_login: login.into(),
            provisioned: String::new(),
            groups: vec!["Sales".into(), "Ops, EU".into()],
            role_source: "the IdP".into(),
        }
    }

    #[test]
    fn filters_sort_and_pages_agree_with_the_csv() {
        let mut all: Vec<AccessEntry> = (0..250)
            .map(|i| {
                entry(
                    &format!("u{i:03}@x.com"),
                    if i % 2 == 0 { "Viewer" } else { "Creator" },
                    i % 5 != 0,
                    true,
                    "",
                )
            })
            .collect();
        all.push(entry("=cmd@x.com", "Explorer", false, false, "2026-01-01"));
        let q = AccessQuery {
            role: "Viewer".into(),
            managed: "yes".into(),
            ..AccessQuery::default()
        };
        let rows = q.select(&all);
        assert_eq!(rows.len(), 100, "125 Viewers, a fifth unmanaged");
        let (page, n, pages) = AccessQuery {
            page: 9,
            ..q.clone()
        }
        .page_of(&rows);
        assert_eq!((page.len(), n, pages), (100, 1, 1));
        let csv = access_csv(&rows);
        assert_eq!(
            csv.lines().count(),
            101,
            "a header and exactly the filtered rows"
        );
        assert!(
            csv.contains("\"Sales; Ops, EU\""),
            "a field with a comma is quoted"
        );
        let search = AccessQuery {
            q: "CMD".into(),
            ..AccessQuery::default()
        };
        let found = search.select(&all);
        assert_eq!(found.len(), 1);
        assert!(
            access_csv(&found).contains("'=cmd@x.com"),
            "a formula is defused"
        );
        for (value, defused) in [
            ("  =1+1", true),
            ("\t=cmd", true),
            ("\r=cmd", true),
            (" -2", true),
            ("@SUM(A1)", true),
            ("ann@example.com", false),
            ("Ann - Lee", false),
        ] {
            assert_eq!(formula_like(value), defused, "{value:?}");
            let mut out = String::new();
            field(&mut out, value);
            assert_eq!(
                out.trim_start_matches('"').starts_with('\''),
                defused,
                "{value:?}: {out}"
            );
        }
        let paged = AccessQuery {
            page: 3,
            ..AccessQuery::default()
        };
        let everyone = paged.select(&all);
        let (p3, n, pages) = paged.page_of(&everyone);
        assert_eq!((p3.len(), n, pages), (51, 3, 3));
        let by_login = AccessQuery {
            sort: "login".into(),
            ..AccessQuery::default()
        }
        .select(&all);
        assert_eq!(by_login[0].user_name, "=cmd@x.com", "newest sign-in first");
        assert!(paged.link(2).contains("page=2"));
        let pager = Pager::new(3, 3, |p| paged.link(p));
        assert!(pager.prev.contains("page=2") && pager.next.contains("page=3"));
    }

    #[test]
    fn numbers_and_the_chart() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        let svg = role_chart(&[("Creator".into(), 10), ("<b>".into(), 5)]);
        assert!(svg.starts_with("<svg") && svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(
            svg.contains("width=\"260\""),
            "the largest bar is full width"
        );
    }
}
