//! What a preview plays: an IdP's transcript as JSON lines (one request a line) or a JSON
//! array, each `{"method": "PATCH", "path": "/Users/…", "body": {…}}`, or a CSV of the
//! intended state ([`super::intended`]). Paths are
//! below `/scim/v2` (a full URL or a path with `/scim/v2` in it is cut there), so a request
//! log copied from an IdP's or a proxy's output plays as it is.

use serde::Deserialize;
use serde_json::Value;

/// The most requests a transcript may hold: a preview runs them all in one process, and its
/// log of Tableau calls is bounded too ([`crate::emulator::state::MAX_LOGGED`]).
pub const MAX_REQUESTS: usize = 100_000;

/// One SCIM request to play.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScimRequest {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// Below `/scim/v2`, from `/` (`/Users/2819c223…`, `/Groups?filter=…`).
    pub path: String,
    /// The JSON body, if the request has one.
    #[serde(default)]
    pub body: Option<Value>,
}

/// What is wrong with a transcript, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptError {
    /// A line (or the array) is not a request.
    #[error("line {line}: {problem}")]
    Bad {
        /// From 1 (in a JSON array, the request's position).
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// More than [`MAX_REQUESTS`].
    #[error("the transcript holds more than {MAX_REQUESTS} requests; split it")]
    TooLong,
    /// Nothing to play.
    #[error("the transcript holds no request")]
    Empty,
}

/// What a file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// SCIM requests, played as they are.
    Requests(Vec<ScimRequest>),
    /// The intended state, turned into requests against the state the preview finds.
    Intended(Vec<super::intended::Row>),
}

/// Read a file: JSON when its first line that is not blank or a `#` comment starts with `{`
/// or `[`, else a CSV of the intended state.
pub fn source(text: &str) -> Result<Source, TranscriptError> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(l) if l.starts_with('{') || l.starts_with('[') => parse(text).map(Source::Requests),
        Some(_) => super::intended::parse_csv(text).map(Source::Intended),
        None => Err(TranscriptError::Empty),
    }
}

/// Read a transcript: a JSON array of requests, or one request per line (empty lines and
/// lines starting with `#` skipped). Every request is checked before any is played, so a
/// transcript with a bad line plays nothing.
pub fn parse(text: &str) -> Result<Vec<ScimRequest>, TranscriptError> {
    let numbered: Vec<(usize, ScimRequest)> = if text.trim_start().starts_with('[') {
        let all: Vec<ScimRequest> =
            serde_json::from_str(text).map_err(|e| TranscriptError::Bad {
                line: e.line(),
                problem: e.to_string(),
            })?;
        if all.len() > MAX_REQUESTS {
            return Err(TranscriptError::TooLong);
        }
        // In an array a request is named by its position.
        all.into_iter()
            .enumerate()
            .map(|(i, r)| (i + 1, r))
            .collect()
    } else {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if out.len() == MAX_REQUESTS {
                return Err(TranscriptError::TooLong);
            }
            let r =
                serde_json::from_str::<ScimRequest>(line).map_err(|e| TranscriptError::Bad {
                    line: i + 1,
                    problem: e.to_string(),
                })?;
            out.push((i + 1, r));
        }
        out
    };
    if numbered.is_empty() {
        return Err(TranscriptError::Empty);
    }
    numbered
        .into_iter()
        .map(|(line, r)| checked(r).map_err(|problem| TranscriptError::Bad { line, problem }))
        .collect()
}

/// A request with its method upper-cased and its path below `/scim/v2`, or why it cannot be
/// played.
fn checked(mut r: ScimRequest) -> Result<ScimRequest, String> {
    r.method = r.method.to_ascii_uppercase();
    if !matches!(
        r.method.as_str(),
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
    ) {
        return Err(format!("'{}' is not a SCIM method", r.method));
    }
    if let Some(at) = r.path.find("/scim/v2") {
        r.path = r.path[at + "/scim/v2".len()..].to_string();
    }
    if !r.path.starts_with('/') {
        return Err(format!("the path '{}' does not start with /", r.path));
    }
    if matches!(r.method.as_str(), "POST" | "PUT" | "PATCH") && r.body.is_none() {
        return Err(format!("a {} needs a body", r.method));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_skip_blanks_and_comments_and_paths_are_cut_at_scim_v2() {
        let t = "# Okta, unassign\n\n{\"method\":\"patch\",\"path\":\"https://h/scim/v2/Users/1\",\"body\":{\"Operations\":[]}}\n{\"method\":\"DELETE\",\"path\":\"/Groups/7\"}\n";
        let r = parse(t).unwrap_or_default();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].method.as_str(), r[0].path.as_str()),
            ("PATCH", "/Users/1")
        );
        assert_eq!(r[1].body, None);
    }

    #[test]
    fn an_array_reads_the_same() {
        let t = r#"[{"method":"GET","path":"/Users?count=1"}]"#;
        assert_eq!(parse(t).map(|r| r.len()), Ok(1));
    }

    #[test]
    fn a_bad_line_is_named_and_nothing_plays() {
        let t =
            "{\"method\":\"GET\",\"path\":\"/Users\"}\n{\"method\":\"POST\",\"path\":\"/Users\"}\n";
        assert_eq!(
            parse(t),
            Err(TranscriptError::Bad {
                line: 2,
                problem: "a POST needs a body".into()
            })
        );
        let t = "{\"method\":\"GET\",\"path\":\"/Users\"}\nnot json\n";
        assert!(matches!(
            parse(t),
            Err(TranscriptError::Bad { line: 2, .. })
        ));
        let t = "{\"method\":\"TRACE\",\"path\":\"/Users\"}";
        assert!(matches!(
            parse(t),
            Err(TranscriptError::Bad { line: 1, .. })
        ));
        assert_eq!(parse("\n# nothing\n"), Err(TranscriptError::Empty));
    }

    #[test]
    fn a_file_is_json_or_a_csv_by_its_first_line() {
        assert!(matches!(
            source("# t\n{\"method\":\"GET\",\"path\":\"/Users\"}"),
            Ok(Source::Requests(_))
        ));
        assert!(matches!(source("userName\nann\n"), Ok(Source::Intended(_))));
        assert_eq!(source("  \n"), Err(TranscriptError::Empty));
    }

    #[test]
    fn a_transcript_past_the_bound_is_refused() {
        let line = "{\"method\":\"GET\",\"path\":\"/Users\"}\n";
        assert_eq!(
            parse(&line.repeat(MAX_REQUESTS + 1)),
            Err(TranscriptError::TooLong)
        );
    }
}
