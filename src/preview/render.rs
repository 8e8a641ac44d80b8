//! A preview for a person: each request, the calls it would make, then the impact.

use std::fmt::Write;

use super::impact::Impact;
use super::play::{Outcome, Preview};

/// Names listed in a line of the impact before "and N more" (the JSON form lists all).
const NAMES_SHOWN: usize = 20;

fn names(v: &[String]) -> String {
    let mut s = v
        .iter()
        .take(NAMES_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if v.len() > NAMES_SHOWN {
        let _ = write!(s, " and {} more", v.len() - NAMES_SHOWN);
    }
    s
}

/// The preview as text.
pub fn text(p: &Preview) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Preview of tenant {}: {} requests played on a copy of the site; nothing was changed \
         in Tableau or in the store.\n",
        p.tenant,
        p.played.len()
    );
    for (i, r) in p.played.iter().enumerate() {
        let what = match r.outcome {
            Outcome::Done => String::new(),
            Outcome::Held => " HELD".into(),
            Outcome::Refused => " REFUSED".into(),
        };
        let _ = writeln!(
            out,
            "{}. {} {} -> {}{what}",
            i + 1,
            r.method,
            r.path,
            r.status
        );
        if let Some(d) = &r.detail {
            let _ = writeln!(out, "   {d}");
        }
        for c in &r.calls {
            let _ = writeln!(out, "     {} {} -> {}", c.method, c.call, c.status);
        }
    }
    if p.calls_not_listed > 0 {
        let _ = writeln!(
            out,
            "({} more calls, past the log's bound)",
            p.calls_not_listed
        );
    }
    let changes = p.changes().len();
    let reads: usize = p.played.iter().map(|r| r.calls.len()).sum::<usize>() - changes;
    let _ = writeln!(
        out,
        "\nTableau calls: {changes} changes, {reads} reads and sign-ins."
    );
    let held = p
        .played
        .iter()
        .filter(|r| r.outcome == Outcome::Held)
        .count();
    if held > 0 {
        let _ = writeln!(
            out,
            "The breaker would hold {held} requests (the window starting empty); \
             --no-breaker shows them applied."
        );
    }
    impact_text(&p.impact, &mut out);
    out
}

fn impact_text(i: &Impact, out: &mut String) {
    let _ = writeln!(out, "\nImpact:");
    let mut line = |label: &str, v: &[String]| {
        if !v.is_empty() {
            let _ = writeln!(out, "  {label} ({}): {}", v.len(), names(v));
        }
    };
    line("users added", &i.added);
    line("users removed", &i.removed);
    line("site administrators demoted", &i.admins_demoted);
    line("administrators made", &i.admins_made);
    line("content owners affected", &i.content_owners_affected);
    line("groups created", &i.groups_created);
    line("groups deleted", &i.groups_deleted);
    let changes: Vec<String> = i
        .role_changes
        .iter()
        .map(|c| format!("{} {} -> {}", c.user, c.from, c.to))
        .collect();
    line("role changes", &changes);
    for s in &i.seats {
        let change = if s.after < s.before {
            format!("{} freed", s.before - s.after)
        } else {
            format!("{} taken", s.after - s.before)
        };
        let _ = writeln!(
            out,
            "  {} seats: {} -> {} ({change})",
            s.tier, s.before, s.after
        );
    }
    if i.memberships_added + i.memberships_removed > 0 {
        let _ = writeln!(
            out,
            "  group memberships: {} added, {} removed",
            i.memberships_added, i.memberships_removed
        );
    }
    if *i == Impact::default() {
        let _ = writeln!(out, "  nothing in Tableau would change");
    }
}
