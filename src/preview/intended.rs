//! A CSV of the intended state, as an administrator exports it from a spreadsheet: one row a
//! user (`userName`, and any of `active`, `displayName`, `email`, `role`, `groups`, the last
//! `;`-separated), turned into the SCIM requests an IdP would send to reach it. Users the file
//! names are created or updated with the columns given; users tableau-scim manages that it
//! does not name are deactivated; each group the file names gets exactly the members that
//! name it (created when missing). Groups it never names are left as they are. Pure: the
//! current state comes in, the requests go out.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::transcript::{ScimRequest, TranscriptError, MAX_REQUESTS};

/// The columns a file may have (case-insensitive); any other is refused, never ignored.
pub const COLUMNS: [&str; 6] = [
    "userName",
    "active",
    "displayName",
    "email",
    "role",
    "groups",
];

/// One row: a user as they should be. `None`: the column is absent (left as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// The user name (required).
    pub user_name: String,
    /// Active.
    pub active: Option<bool>,
    /// Display name.
    pub display_name: Option<String>,
    /// Work email.
    pub email: Option<String>,
    /// The role value the tenant's mapping knows.
    pub role: Option<String>,
    /// The groups' display names.
    pub groups: Option<Vec<String>>,
}

/// A user of the site as the bridge shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// SCIM id.
    pub id: String,
    /// Active.
    pub active: bool,
    /// Provisioned through tableau-scim (the store has them): only such a user is
    /// deactivated for being absent from the file, never the site's own accounts.
    pub managed: bool,
}

/// A managed group as the bridge shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentGroup {
    /// SCIM id.
    pub id: String,
    /// Members' SCIM ids.
    pub members: BTreeSet<String>,
}

fn bad(line: usize, problem: impl Into<String>) -> TranscriptError {
    TranscriptError::Bad {
        line,
        problem: problem.into(),
    }
}

fn cell(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// Read the file: a header naming [`COLUMNS`] (with `userName`), then one row a user. A cell
/// left empty is the column left as it is for that user; `active` is `true` or `false`.
pub fn parse_csv(text: &str) -> Result<Vec<Row>, TranscriptError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let mut at = BTreeMap::new();
    for (i, h) in header.iter().enumerate() {
        let Some(known) = COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(h)) else {
            return Err(bad(
                1,
                format!("unknown column '{h}' (the columns: {})", COLUMNS.join(", ")),
            ));
        };
        if at.insert(*known, i).is_some() {
            return Err(bad(1, format!("the column '{known}' is given twice")));
        }
    }
    let Some(&name_at) = at.get("userName") else {
        return Err(bad(1, "the header needs a userName column"));
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut seen = BTreeSet::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        if rows.len() == MAX_REQUESTS {
            return Err(TranscriptError::TooLong);
        }
        let get = |c: &str| at.get(c).and_then(|&i| record.get(i)).and_then(cell);
        let Some(user_name) = record.get(name_at).and_then(cell) else {
            return Err(bad(line, "userName is empty"));
        };
        if !seen.insert(user_name.to_lowercase()) {
            return Err(bad(line, format!("{user_name} is named twice")));
        }
        let active = match get("active").map(|a| a.to_ascii_lowercase()) {
            None => None,
            Some(a) if a == "true" => Some(true),
            Some(a) if a == "false" => Some(false),
            Some(a) => return Err(bad(line, format!("active is '{a}', not true or false"))),
        };
        let groups = at.get("groups").map(|&i| {
            record
                .get(i)
                .unwrap_or("")
                .split(';')
                .filter_map(cell)
                .collect::<Vec<_>>()
        });
        rows.push(Row {
            user_name,
            active,
            display_name: get("displayName"),
            email: get("email"),
            role: get("role"),
            groups,
        });
    }
    if rows.is_empty() {
        return Err(TranscriptError::Empty);
    }
    Ok(rows)
}

fn patch(ops: Vec<Value>) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// The user requests that reach the rows from `current` (the site's users by lower-cased user
/// name): a POST for a user not there, a PATCH of the given columns for one who is, and a
/// deactivation for an active managed user no row names.
pub fn user_requests(rows: &[Row], current: &BTreeMap<String, CurrentUser>) -> Vec<ScimRequest> {
    let mut out = Vec::new();
    let named: BTreeSet<String> = rows.iter().map(|r| r.user_name.to_lowercase()).collect();
    for r in rows {
        match current.get(&r.user_name.to_lowercase()) {
            None => {
                let mut body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": r.user_name,
                    "active": r.active.unwrap_or(true),
                });
                if let Some(d) = &r.display_name {
                    body["displayName"] = json!(d);
                }
                if let Some(e) = &r.email {
                    body["emails"] = json!([{"value": e, "type": "work", "primary": true}]);
                }
                if let Some(role) = &r.role {
                    body["roles"] = json!([{"value": role, "primary": true}]);
                }
                out.push(ScimRequest {
                    method: "POST".into(),
                    path: "/Users".into(),
                    body: Some(body),
                });
            }
            Some(u) => {
                let mut ops = Vec::new();
                if let Some(a) = r.active {
                    ops.push(json!({"op": "replace", "path": "active", "value": a}));
                }
                if let Some(d) = &r.display_name {
                    ops.push(json!({"op": "replace", "path": "displayName", "value": d}));
                }
                if let Some(e) = &r.email {
                    ops.push(json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": e}));
                }
                if let Some(role) = &r.role {
                    ops.push(json!({"op": "replace", "path": "roles", "value": [{"value": role, "primary": true}]}));
                }
                if !ops.is_empty() {
                    out.push(ScimRequest {
                        method: "PATCH".into(),
                        path: format!("/Users/{}", u.id),
                        body: Some(patch(ops)),
                    });
                }
            }
        }
    }
    for (name, u) in current {
        if u.active && u.managed && !named.contains(name) {
            out.push(ScimRequest {
                method: "PATCH".into(),
                path: format!("/Users/{}", u.id),
                body: Some(patch(vec![
                    json!({"op": "replace", "path": "active", "value": false}),
                ])),
            });
        }
    }
    out
}

/// The group requests that give each group the rows name exactly its rows' users, once the
/// users are there (`ids`: SCIM id by lower-cased user name): a POST for a group not there,
/// a PATCH adding and removing members for one that is. Rows without a `groups` column leave
/// their user's groups as they are.
pub fn group_requests(
    rows: &[Row],
    ids: &BTreeMap<String, String>,
    current: &BTreeMap<String, CurrentGroup>,
) -> Vec<ScimRequest> {
    let mut wanted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut kept: BTreeSet<&str> = BTreeSet::new();
    for r in rows {
        let Some(id) = ids.get(&r.user_name.to_lowercase()) else {
            continue;
        };
        match &r.groups {
            Some(groups) => {
                for g in groups {
                    wanted.entry(g.as_str()).or_default().insert(id.as_str());
                }
            }
            None => {
                kept.insert(id.as_str());
            }
        }
    }
    let members =
        |set: &BTreeSet<&str>| -> Vec<Value> { set.iter().map(|m| json!({"value": m})).collect() };
    let mut out = Vec::new();
    for (name, want) in wanted {
        match current.get(name) {
            None => out.push(ScimRequest {
                method: "POST".into(),
                path: "/Groups".into(),
                body: Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": name,
                    "members": members(&want),
                })),
            }),
            Some(g) => {
                let now: BTreeSet<&str> = g.members.iter().map(String::as_str).collect();
                let add: BTreeSet<&str> = want.difference(&now).copied().collect();
                let remove: BTreeSet<&str> = now
                    .difference(&want)
                    .filter(|m| !kept.contains(*m))
                    .copied()
                    .collect();
                let mut ops = Vec::new();
                if !add.is_empty() {
                    ops.push(json!({"op": "add", "path": "members", "value": members(&add)}));
                }
                if !remove.is_empty() {
                    ops.push(json!({"op": "remove", "path": "members", "value": members(&remove)}));
                }
                if !ops.is_empty() {
                    out.push(ScimRequest {
                        method: "PATCH".into(),
                        path: format!("/Groups/{}", g.id),
                        body: Some(patch(ops)),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_reads_with_quoted_cells_empty_cells_and_any_case_headers() {
        let t =
            "UserName,active,role,groups\nann@x.com,true,creator,\"Sales; Ops\"\nbob@x.com,,,\n";
        let rows = parse_csv(t).unwrap_or_default();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].groups,
            Some(vec!["Sales".to_string(), "Ops".to_string()])
        );
        assert_eq!((rows[1].active, rows[1].role.clone()), (None, None));
        assert_eq!(
            rows[1].groups,
            Some(vec![]),
            "an empty groups cell: in no group"
        );
    }

    #[test]
    fn an_unknown_column_a_bad_flag_or_a_repeated_user_is_refused_with_its_line() {
        assert!(matches!(
            parse_csv("userName,manager\na,b\n"),
            Err(TranscriptError::Bad { line: 1, .. })
        ));
        assert!(matches!(
            parse_csv("role\ncreator\n"),
            Err(TranscriptError::Bad { line: 1, .. })
        ));
        assert!(matches!(
            parse_csv("userName,active\na,yes\n"),
            Err(TranscriptError::Bad { line: 2, .. })
        ));
        assert!(matches!(
            parse_csv("userName\na\nA\n"),
            Err(TranscriptError::Bad { line: 3, .. })
        ));
        assert!(matches!(
            parse_csv("userName,role\na\n"),
            Err(TranscriptError::Bad { line: 2, .. })
        ));
        assert_eq!(parse_csv("userName\n"), Err(TranscriptError::Empty));
    }

    fn current() -> BTreeMap<String, CurrentUser> {
        [
            ("ann@x.com", "1", true, true),
            ("bob@x.com", "2", true, true),
            ("cy@x.com", "3", false, true),
            ("admin@x.com", "9", true, false),
        ]
        .into_iter()
        .map(|(n, id, active, managed)| {
            (
                n.to_string(),
                CurrentUser {
                    id: id.into(),
                    active,
                    managed,
                },
            )
        })
        .collect()
    }

    #[test]
    fn users_are_created_updated_and_the_unnamed_active_ones_deactivated() {
        let rows =
            parse_csv("userName,role\nANN@x.com,explorer\neve@x.com,viewer\n").unwrap_or_default();
        let r = user_requests(&rows, &current());
        let shape: Vec<(&str, &str)> = r
            .iter()
            .map(|q| (q.method.as_str(), q.path.as_str()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("PATCH", "/Users/1"),
                ("POST", "/Users"),
                ("PATCH", "/Users/2")
            ]
        );
        assert_eq!(
            r[1].body.as_ref().map(|b| b["roles"][0]["value"].clone()),
            Some(json!("viewer"))
        );
        assert_eq!(
            r[2].body
                .as_ref()
                .map(|b| b["Operations"][0]["value"].clone()),
            Some(json!(false)),
            "bob is deactivated; cy, already inactive, and the unmanaged admin are left"
        );
    }

    #[test]
    fn named_groups_get_exactly_their_rows_and_users_without_a_groups_cell_stay() {
        let rows = vec![
            Row {
                user_name: "ann@x.com".into(),
                groups: Some(vec!["Sales".into(), "New".into()]),
                ..Row::default()
            },
            Row {
                user_name: "bob@x.com".into(),
                groups: Some(vec![]),
                ..Row::default()
            },
            Row {
                user_name: "dan@x.com".into(),
                ..Row::default()
            },
        ];
        let ids: BTreeMap<String, String> =
            [("ann@x.com", "1"), ("bob@x.com", "2"), ("dan@x.com", "4")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        let groups: BTreeMap<String, CurrentGroup> = [
            (
                "Sales".to_string(),
                CurrentGroup {
                    id: "g1".into(),
                    members: ["2".to_string(), "4".to_string()].into(),
                },
            ),
            (
                "Other".to_string(),
                CurrentGroup {
                    id: "g2".into(),
                    members: ["2".to_string()].into(),
                },
            ),
        ]
        .into();
        let r = group_requests(&rows, &ids, &groups);
        assert_eq!(r.len(), 2, "Other is never named: left as it is");
        assert_eq!(
            (r[0].method.as_str(), r[0].path.as_str()),
            ("POST", "/Groups")
        );
        assert_eq!(
            r[0].body.as_ref().map(|b| b["members"].clone()),
            Some(json!([{"value": "1"}]))
        );
        let ops = r[1]
            .body
            .as_ref()
            .map(|b| b["Operations"].clone())
            .unwrap_or_default();
        assert_eq!(
            ops,
            json!([{"op": "add", "path": "members", "value": [{"value": "1"}]},
                   {"op": "remove", "path": "members", "value": [{"value": "2"}]}]),
            "dan has no groups cell, so stays in Sales"
        );
    }
}
