//! The filter grammar, written as precedence climbing with nom (the RFC's ABNF is left-recursive
//! and encodes no precedence): `or` < `and` < `not` / grouping.

use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use super::{CompValue, CompareOp, Filter};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::path::{is_attr_name, is_name_char, starts_with_urn, AttrPath};

/// Deepest nesting of parentheses, `not` and brackets accepted.
pub const MAX_DEPTH: usize = 32;
/// Most comparisons accepted in one filter.
pub const MAX_TERMS: usize = 256;
/// Longest filter text accepted, in bytes.
const MAX_LEN: usize = 16 * 1024;

/// A parse failure: where, and what was expected there.
#[derive(Debug, Clone, PartialEq)]
struct PErr<'a> {
    rest: &'a str,
    expected: String,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, kind: ErrorKind) -> Self {
        PErr {
            rest: input,
            expected: kind.description().to_string(),
        }
    }
    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        // Report the alternative that got furthest: it is the likeliest intent.
        if other.rest.len() <= self.rest.len() {
            other
        } else {
            self
        }
    }
}

type Res<'a, O> = IResult<&'a str, O, PErr<'a>>;

fn fail<'a, O>(rest: &'a str, expected: impl Into<String>) -> Res<'a, O> {
    Err(nom::Err::Error(PErr {
        rest,
        expected: expected.into(),
    }))
}

fn fatal<'a, O>(rest: &'a str, expected: impl Into<String>) -> Res<'a, O> {
    Err(nom::Err::Failure(PErr {
        rest,
        expected: expected.into(),
    }))
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

fn ws0(i: &str) -> &str {
    i.trim_start_matches(is_space)
}

/// One or more spaces; `None` if there are none.
fn ws1(i: &str) -> Option<&str> {
    let rest = ws0(i);
    (rest.len() < i.len()).then_some(rest)
}

/// A case-insensitive keyword that is not the start of a longer name.
fn keyword<'a>(i: &'a str, word: &str) -> Option<&'a str> {
    let head = i.get(..word.len())?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    let rest = &i[word.len()..];
    match rest.chars().next() {
        Some(c) if is_name_char(c) || c == '.' || c == ':' => None,
        _ => Some(rest),
    }
}

struct Ctx {
    terms: usize,
}

/// Parse a filter. Errors are `invalidFilter` naming the position and what was expected.
pub fn parse(text: &str) -> ScimResult<Filter> {
    if text.len() > MAX_LEN {
        return Err(ScimError::InvalidFilter(format!(
            "the filter is {} bytes long; at most {MAX_LEN} are accepted",
            text.len()
        )));
    }
    let mut ctx = Ctx { terms: 0 };
    let result = (|i| or_expr(i, 0, false, &mut ctx)).parse(ws0(text));
    match result {
        Ok((rest, f)) => {
            let rest = ws0(rest);
            if rest.is_empty() {
                Ok(f)
            } else {
                Err(describe(text, rest, "'and', 'or' or the end of the filter"))
            }
        }
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
            Err(describe(text, e.rest, &e.expected))
        }
        Err(nom::Err::Incomplete(_)) => Err(ScimError::InvalidFilter(
            "the filter ends too early".to_string(),
        )),
    }
}

fn describe(full: &str, rest: &str, expected: &str) -> ScimError {
    let offset = full.len().saturating_sub(rest.len());
    let position = full.get(..offset).map_or(offset, |s| s.chars().count());
    let near: String = rest.chars().take(20).collect();
    let found = if near.is_empty() {
        "the end of the filter".to_string()
    } else {
        format!("'{near}'")
    };
    ScimError::InvalidFilter(format!(
        "invalid filter at position {position}: expected {expected}, found {found}"
    ))
}

type Operand = for<'a> fn(&'a str, usize, bool, &mut Ctx) -> Res<'a, Filter>;

/// A left-associative chain `operand (SP word SP operand)*`, folded with `join`: the one loop
/// behind both precedence levels.
fn chain<'a>(
    i: &'a str,
    depth: usize,
    inner: bool,
    ctx: &mut Ctx,
    word: &str,
    operand: Operand,
    join: fn(Box<Filter>, Box<Filter>) -> Filter,
) -> Res<'a, Filter> {
    let (mut rest, mut left) = operand(i, depth, inner, ctx)?;
    loop {
        let Some(after_kw) = ws1(rest).and_then(|r| keyword(r, word)) else {
            return Ok((rest, left));
        };
        let (r, right) = operand(ws0(after_kw), depth, inner, ctx).map_err(to_failure)?;
        left = join(Box::new(left), Box::new(right));
        rest = r;
    }
}

fn or_expr<'a>(i: &'a str, depth: usize, inner: bool, ctx: &mut Ctx) -> Res<'a, Filter> {
    chain(i, depth, inner, ctx, "or", and_expr, Filter::Or)
}

fn and_expr<'a>(i: &'a str, depth: usize, inner: bool, ctx: &mut Ctx) -> Res<'a, Filter> {
    chain(i, depth, inner, ctx, "and", unary, Filter::And)
}

fn to_failure(e: nom::Err<PErr<'_>>) -> nom::Err<PErr<'_>> {
    match e {
        nom::Err::Error(e) => nom::Err::Failure(e),
        other => other,
    }
}

fn unary<'a>(i: &'a str, depth: usize, inner: bool, ctx: &mut Ctx) -> Res<'a, Filter> {
    if depth >= MAX_DEPTH {
        return fatal(
            i,
            format!("at most {MAX_DEPTH} levels of nesting (the filter nests deeper)"),
        );
    }
    if let Some(after_not) = keyword(i, "not") {
        let after = ws0(after_not);
        if let Some(body) = after.strip_prefix('(') {
            let (rest, f) = group(body, depth, inner, ctx)?;
            return Ok((rest, Filter::Not(Box::new(f))));
        }
        // `not` not followed by "(" may still be an attribute called "not".
    }
    if let Some(body) = i.strip_prefix('(') {
        return group(body, depth, inner, ctx);
    }
    attr_expr(i, depth, inner, ctx)
}

fn group<'a>(body: &'a str, depth: usize, inner: bool, ctx: &mut Ctx) -> Res<'a, Filter> {
    let (rest, f) = or_expr(ws0(body), depth + 1, inner, ctx).map_err(to_failure)?;
    let rest = ws0(rest);
    match rest.strip_prefix(')') {
        Some(r) => Ok((r, f)),
        None => fatal(rest, "')' to close the group, 'and' or 'or'"),
    }
}

/// Parse an attribute path (without brackets) at the start of `i`.
fn attr_path(i: &str) -> Res<'_, AttrPath> {
    let end = if starts_with_urn(i) {
        i.find(|c: char| !(is_name_char(c) || c == ':' || c == '.' || c == '$'))
            .unwrap_or(i.len())
    } else {
        i.find(|c: char| !(is_name_char(c) || c == '.' || c == '$'))
            .unwrap_or(i.len())
    };
    let text = &i[..end];
    if text.is_empty() {
        return fail(i, "an attribute name, 'not' or '('");
    }
    match AttrPath::parse_plain(text) {
        Some(p) => Ok((&i[end..], p)),
        None => fail(
            i,
            "an attribute path such as 'userName', 'name.givenName' or a schema URN followed by ':' and a name",
        ),
    }
}

fn attr_expr<'a>(i: &'a str, depth: usize, inner: bool, ctx: &mut Ctx) -> Res<'a, Filter> {
    let (rest, path) = attr_path(i)?;
    if let Some(body) = rest.strip_prefix('[') {
        if inner {
            return fatal(
                rest,
                "a comparison: value filters in brackets cannot be nested",
            );
        }
        if path.sub.is_some() {
            return fatal(
                rest,
                "an operator: brackets follow an attribute, not a sub-attribute",
            );
        }
        let (after, inner_filter) = or_expr(ws0(body), depth + 1, true, ctx).map_err(to_failure)?;
        let after = ws0(after);
        let Some(after) = after.strip_prefix(']') else {
            return fatal(after, "']' to close the value filter, 'and' or 'or'");
        };
        // Entra ID writes `emails[type eq "work"].value eq "x"` (outside the RFC grammar): read it
        // as `emails[type eq "work" and value eq "x"]` (scim-idp.md section 1.8).
        if let Some(sub_rest) = after.strip_prefix('.') {
            let end = sub_rest
                .find(|c: char| !(is_name_char(c) || c == '$'))
                .unwrap_or(sub_rest.len());
            let sub = &sub_rest[..end];
            if !is_attr_name(sub) {
                return fatal(sub_rest, "a sub-attribute name after ']. '");
            }
            let (r, tail) = comparison(&sub_rest[end..], AttrPath::simple(sub), ctx)?;
            let combined = Filter::And(Box::new(inner_filter), Box::new(tail));
            return Ok((r, Filter::ValuePath(path, Box::new(combined))));
        }
        return Ok((after, Filter::ValuePath(path, Box::new(inner_filter))));
    }
    comparison(rest, path, ctx)
}

/// `SP "pr"` or `SP compareOp SP compValue` after a path.
fn comparison<'a>(i: &'a str, path: AttrPath, ctx: &mut Ctx) -> Res<'a, Filter> {
    ctx.terms += 1;
    if ctx.terms > MAX_TERMS {
        return fatal(
            i,
            format!("at most {MAX_TERMS} comparisons (the filter has more)"),
        );
    }
    let Some(after_ws) = ws1(i) else {
        return fatal(
            i,
            "a space and then an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)",
        );
    };
    if let Some(rest) = keyword(after_ws, "pr") {
        return Ok((rest, Filter::Present(path)));
    }
    let Some((rest, op)) = CompareOp::ALL
        .iter()
        .find_map(|op| keyword(after_ws, op.as_str()).map(|r| (r, *op)))
        .or_else(|| {
            // RFC 7644's own example writes `value eq"2819c223"`: an operator glued to a quote.
            CompareOp::ALL.iter().find_map(|op| {
                let head = after_ws.get(..2)?;
                let rest = &after_ws[2..];
                (head.eq_ignore_ascii_case(op.as_str()) && rest.starts_with('"'))
                    .then_some((rest, *op))
            })
        })
    else {
        return fatal(
            after_ws,
            "an operator: eq, ne, co, sw, ew, gt, ge, lt, le or pr",
        );
    };
    let (rest, value) = comp_value(ws0(rest))?;
    Ok((rest, Filter::Compare(path, op, value)))
}

fn comp_value(i: &str) -> Res<'_, CompValue> {
    if i.starts_with('"') {
        return json_string(i);
    }
    for (word, value) in [
        ("true", CompValue::Bool(true)),
        ("false", CompValue::Bool(false)),
        ("null", CompValue::Null),
    ] {
        if let Some(rest) = keyword(i, word) {
            return Ok((rest, value));
        }
    }
    if i.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return json_number(i);
    }
    fatal(
        i,
        "a value: a JSON string in double quotes, a number, true, false or null",
    )
}

fn json_string(i: &str) -> Res<'_, CompValue> {
    let bytes = i.as_bytes();
    let mut pos = 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\\' => pos += 2,
            b'"' => {
                let literal = &i[..=pos];
                return match serde_json::from_str::<String>(literal) {
                    Ok(s) => Ok((&i[pos + 1..], CompValue::String(s))),
                    Err(_) => fatal(
                        i,
                        "a valid JSON string (check the escapes and control characters)",
                    ),
                };
            }
            _ => pos += 1,
        }
    }
    fatal(i, "a closing '\"' for the string")
}

fn json_number(i: &str) -> Res<'_, CompValue> {
    let end = i
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
        .unwrap_or(i.len());
    match serde_json::from_str::<serde_json::Number>(&i[..end]) {
        Ok(n) => Ok((&i[end..], CompValue::Number(n))),
        Err(_) => fatal(i, "a JSON number such as 42, -1.5 or 1e3"),
    }
}

/// A PATCH path (RFC 7644 section 3.5.2, Figure 7): `attrPath` or `valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathExpr {
    /// The attribute (with `sub` only when there is no filter).
    pub attr: AttrPath,
    /// The value filter inside brackets, if any.
    pub filter: Option<Filter>,
    /// The sub-attribute after the brackets, if any.
    pub sub_after_filter: Option<String>,
}

/// Parse a PATCH path. Errors are `invalidPath`.
pub fn parse_path(text: &str) -> ScimResult<PathExpr> {
    let invalid = |detail: String| ScimError::InvalidPath(detail);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid("the PATCH path is empty".to_string()));
    }
    let Some(open) = trimmed.find('[') else {
        return AttrPath::parse_plain(trimmed)
            .map(|attr| PathExpr {
                attr,
                filter: None,
                sub_after_filter: None,
            })
            .ok_or_else(|| {
                invalid(format!(
                    "'{trimmed}' is not an attribute path; expected a name such as 'userName', 'name.givenName', or a schema URN followed by ':' and a name"
                ))
            });
    };
    let head = &trimmed[..open];
    let attr = AttrPath::parse_plain(head)
        .filter(|p| p.sub.is_none())
        .ok_or_else(|| invalid(format!("'{head}' before '[' is not an attribute name")))?;
    let close = trimmed
        .rfind(']')
        .filter(|c| *c > open)
        .ok_or_else(|| invalid(format!("'{trimmed}' has '[' without a closing ']'")))?;
    let inner_text = &trimmed[open + 1..close];
    let mut ctx = Ctx { terms: 0 };
    let filter = match (|i| or_expr(i, 1, true, &mut ctx)).parse(ws0(inner_text)) {
        Ok((rest, f)) if ws0(rest).is_empty() => f,
        Ok((rest, _)) => {
            return Err(invalid(format!(
                "the value filter in '{trimmed}' has unexpected text '{}'",
                rest.trim()
            )))
        }
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
            let detail = describe(inner_text, e.rest, &e.expected).to_string();
            return Err(invalid(format!(
                "in the value filter of '{trimmed}': {detail}"
            )));
        }
        Err(nom::Err::Incomplete(_)) => {
            return Err(invalid(format!(
                "the value filter in '{trimmed}' ends early"
            )))
        }
    };
    let tail = &trimmed[close + 1..];
    let sub_after_filter = if tail.is_empty() {
        None
    } else {
        match tail.strip_prefix('.') {
            Some(s) if is_attr_name(s) => Some(s.to_string()),
            _ => {
                return Err(invalid(format!(
                    "'{tail}' after ']' is not '.' and a sub-attribute name"
                )))
            }
        }
    };
    Ok(PathExpr {
        attr,
        filter: Some(filter),
        sub_after_filter,
    })
}
