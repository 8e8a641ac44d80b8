//! The calls the emulated site received, one line each, in the order they were answered: what
//! `tableau-scim preview` prints, and what a test compares with a real run. Off unless asked
//! for ([`SiteState::start_call_log`]): the benchmarks pay nothing for it.

use serde::Serialize;

use super::SiteState;
use crate::tableau::xml;

/// The most calls a log keeps; past it, calls are counted in [`CallLog::dropped`]. A preview
/// of a transcript larger than this says so rather than print part of it as the whole.
pub const MAX_LOGGED: usize = 200_000;

/// One call: its method, and its path, query and body with every id written as the name of
/// what it stands for (`PUT /users/{ann@example.com} user.siteRole=Viewer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedCall {
    /// HTTP method.
    pub method: String,
    /// Path below the site, query and body attributes, ids as names.
    pub call: String,
    /// The status the emulator answered.
    pub status: u16,
}

impl LoggedCall {
    /// Whether the call changes the site (sign-in and sign-out do not).
    pub fn is_change(&self) -> bool {
        self.method != "GET" && !self.call.starts_with("/auth/")
    }
}

/// The log and what did not fit in it.
#[derive(Debug, Default)]
pub struct CallLog {
    /// The calls, in the order they were answered.
    pub calls: Vec<LoggedCall>,
    /// Calls past [`MAX_LOGGED`].
    pub dropped: u64,
}

impl SiteState {
    /// Log every call from now on (a log already started is emptied).
    pub fn start_call_log(&mut self) {
        self.call_log = Some(CallLog::default());
    }

    /// The calls logged since the last take (the log keeps running).
    pub fn take_call_log(&mut self) -> CallLog {
        self.call_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Whether calls are being logged.
    pub fn logging_calls(&self) -> bool {
        self.call_log.is_some()
    }

    /// Write a call as the log keeps it, while the ids in it still name what they named
    /// (before a delete or a rename). The body of a sign-in is never read: it holds the
    /// PAT's secret.
    pub fn describe_call(&self, path: &str, query: &str, body: &[u8]) -> String {
        let below_version = path
            .strip_prefix("/api/")
            .and_then(|p| p.split_once('/'))
            .map_or(path, |(_, rest)| rest);
        let below_site = below_version
            .strip_prefix("sites/")
            .and_then(|p| p.split_once('/').map(|(_, rest)| rest).or(Some("")))
            .map_or_else(|| format!("/{below_version}"), |rest| format!("/{rest}"));
        let mut out: String = below_site
            .split('/')
            .map(|seg| self.named(seg))
            .collect::<Vec<_>>()
            .join("/");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        for (i, (k, v)) in pairs.iter().enumerate() {
            let sep = if i == 0 { " ?" } else { "&" };
            out.push_str(&format!("{sep}{k}={}", self.named(v)));
        }
        if out.starts_with("/auth/") || body.is_empty() {
            return out;
        }
        if let Ok(root) = xml::parse(&String::from_utf8_lossy(body)) {
            self.flatten(&root, "", &mut out);
        }
        out
    }

    fn flatten(&self, e: &xml::Element, prefix: &str, out: &mut String) {
        for child in &e.children {
            let at = if prefix.is_empty() {
                child.name.clone()
            } else {
                format!("{prefix}.{}", child.name)
            };
            for (k, v) in &child.attrs {
                out.push_str(&format!(" {at}.{k}={}", self.named(v)));
            }
            self.flatten(child, &at, out);
        }
    }

    /// `{name}` for the id of a user, group or content item; anything else as it is.
    fn named(&self, seg: &str) -> String {
        if let Some(u) = self.users.get(seg) {
            return format!("{{{}}}", u.user.name);
        }
        if let Some(g) = self.groups.get(seg) {
            return format!("{{group {}}}", g.group.name);
        }
        if let Some(i) = self.content.get(seg) {
            return format!("{{{} {}}}", i.kind.element(), i.name);
        }
        seg.to_string()
    }

    /// Keep a described call with the status it was answered.
    pub fn log_call(&mut self, method: &str, call: String, status: u16) {
        let Some(log) = self.call_log.as_mut() else {
            return;
        };
        if log.calls.len() >= MAX_LOGGED {
            log.dropped += 1;
            return;
        }
        log.calls.push(LoggedCall {
            method: method.to_string(),
            call,
            status,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::state::Flavor;
    use crate::tableau::site_role::SiteRole;

    fn site() -> (SiteState, String) {
        let mut s = SiteState::new(
            "s",
            Flavor::Server,
            "boss",
            SiteRole::SiteAdministratorCreator,
        );
        let ann = s
            .add_user("ann", SiteRole::Viewer, None, None, None)
            .map(|u| u.id.to_string())
            .unwrap_or_default();
        (s, ann)
    }

    #[test]
    fn ids_in_the_path_query_and_body_are_written_as_names_and_the_site_is_left_out() {
        let (s, ann) = site();
        let path = format!("/api/3.24/sites/{}/users/{ann}", s.site_id);
        let body = format!(
            "<tsRequest><user siteRole=\"Explorer\"><owner id=\"{ann}\"/></user></tsRequest>"
        );
        let d = s.describe_call(&path, &format!("mapAssetsTo={ann}&x=1"), body.as_bytes());
        assert_eq!(
            d,
            "/users/{ann} ?mapAssetsTo={ann}&x=1 user.siteRole=Explorer user.owner.id={ann}"
        );
    }

    #[test]
    fn a_sign_ins_body_is_never_read() {
        let (s, _) = site();
        let body = "<tsRequest><credentials personalAccessTokenSecret=\"s3cret\"/></tsRequest>";
        let d = s.describe_call("/api/3.24/auth/signin", "", body.as_bytes());
        assert_eq!(d, "/auth/signin");
    }

    #[test]
    fn nothing_is_logged_until_asked_and_the_log_is_bounded() {
        let (mut s, _) = site();
        s.log_call("GET", "/users".into(), 200);
        assert!(s.take_call_log().calls.is_empty());
        s.start_call_log();
        for _ in 0..MAX_LOGGED + 3 {
            s.log_call("GET", "/users".into(), 200);
        }
        let log = s.take_call_log();
        assert_eq!((log.calls.len(), log.dropped), (MAX_LOGGED, 3));
        assert!(!log.calls[0].is_change());
    }
}
