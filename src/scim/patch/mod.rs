//! PATCH (RFC 7644 section 3.5.2): parse a PatchOp request and apply it to a canonical resource.
//!
//! Operations apply in order to a copy; the copy is returned only if every operation succeeded,
//! so a failed request changes nothing (checklist 16). Where Okta and Entra ID depart from the
//! RFC, the departure is accepted and named in a comment citing `scim-idp.md`.
//!
//! Here: the request and where an operation points; `attribute` applies an operation to the
//! attribute it targets; `multi` to the elements of a multi-valued attribute a filter selects.

mod attribute;
mod multi;
#[cfg(test)]
mod pathless_tests;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::scim::bounds::{check_resource, check_value_count, MAX_OPERATIONS};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::{parse_path, PathExpr};
use crate::scim::json::{check_message_schema, get_ci, key_ci};
use crate::scim::resource;
use crate::scim::schema::{Attribute, Location, Mutability, ResourceSchema};
use crate::scim::urn;
use attribute::apply_path_op;

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `add`
    Add,
    /// `remove`
    Remove,
    /// `replace`
    Replace,
}

/// One operation of a PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    /// The operation.
    pub op: OpKind,
    /// The parsed `path`, if any.
    pub path: Option<PathExpr>,
    /// The raw `path` text, for error messages.
    pub path_text: Option<String>,
    /// The `value`, if any.
    pub value: Option<Value>,
}

/// A parsed PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, in order.
    pub operations: Vec<PatchOp>,
}

impl PatchRequest {
    /// How much applying the request costs, in values: one per operation and one per element
    /// of an array value. Linear in the request; callers use it to decide where to run it.
    pub fn weight(&self) -> usize {
        self.operations
            .iter()
            .map(|op| {
                1 + op
                    .value
                    .as_ref()
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            })
            .sum()
    }

    /// Parse a PatchOp body. Member names (`Operations`, `op`, `path`, `value`) and op names are
    /// matched case-insensitively: Entra ID sends `Replace`, `Add`, `Remove` (scim-idp.md 1.9).
    pub fn parse(body: &Value) -> ScimResult<PatchRequest> {
        let Value::Object(obj) = body else {
            return Err(ScimError::InvalidSyntax(
                "a PATCH body must be a JSON object with \"schemas\" and \"Operations\"".into(),
            ));
        };
        check_message_schema(body, urn::PATCH_OP, "PATCH")?;
        let ops = match key_ci(obj, "Operations").and_then(|k| obj.get(&k)) {
            Some(Value::Array(ops)) => ops,
            Some(_) => {
                return Err(ScimError::InvalidSyntax(
                    "\"Operations\" must be an array of {\"op\", \"path\", \"value\"} objects"
                        .into(),
                ))
            }
            None => {
                return Err(ScimError::InvalidSyntax(
                    "a PATCH body needs \"Operations\", an array of {\"op\", \"path\", \"value\"} objects".into(),
                ))
            }
        };
        if ops.len() > MAX_OPERATIONS {
            return Err(ScimError::InvalidValue(format!(
                "the PATCH has {} operations; at most {MAX_OPERATIONS} are accepted",
                ops.len()
            )));
        }
        let operations = ops
            .iter()
            .enumerate()
            .map(|(n, op)| parse_op(n + 1, op))
            .collect::<ScimResult<Vec<_>>>()?;
        Ok(PatchRequest { operations })
    }

    /// Whether every operation targets the core attribute `name` alone: by path (`members`,
    /// `members[value eq "..."]`, with or without the core `urn` prefix), or without a path with
    /// a value that holds only `name`. Such a PATCH of a group's `members` may be answered with
    /// 204 No Content (RFC 7644 section 3.5.2), since the rest of the resource did not change.
    pub fn changes_only(&self, name: &str, core_urn: &str) -> bool {
        !self.operations.is_empty()
            && self.operations.iter().all(|op| match &op.path {
                Some(p) => {
                    p.attr.name.eq_ignore_ascii_case(name)
                        && p.attr
                            .urn
                            .as_deref()
                            .is_none_or(|u| u.eq_ignore_ascii_case(core_urn))
                }
                None => op
                    .value
                    .as_ref()
                    .and_then(Value::as_object)
                    .is_some_and(|o| {
                        !o.is_empty() && o.keys().all(|k| k.eq_ignore_ascii_case(name))
                    }),
            })
    }
}

fn parse_op(n: usize, op: &Value) -> ScimResult<PatchOp> {
    if !op.is_object() {
        return Err(ScimError::InvalidSyntax(format!(
            "operation {n} must be an object with \"op\", \"path\" and \"value\""
        )));
    }
    let kind = match get_ci(op, "op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(other) => {
            return Err(ScimError::InvalidSyntax(format!(
                "operation {n} has op \"{other}\"; accepted are add, remove and replace"
            )))
        }
        None => {
            return Err(ScimError::InvalidSyntax(format!(
                "operation {n} needs \"op\": add, remove or replace"
            )))
        }
    };
    let (path, path_text) = match get_ci(op, "path") {
        None | Some(Value::Null) => (None, None),
        Some(Value::String(s)) => (Some(parse_path(s)?), Some(s.clone())),
        Some(_) => {
            return Err(ScimError::InvalidPath(format!(
                "operation {n} has a \"path\" that is not a string"
            )))
        }
    };
    let value = get_ci(op, "value");
    // A value past the bound is refused before it is copied: the copy of 40,000 emails alone
    // costs milliseconds.
    if let (Some(p), Some(Value::Array(items))) = (&path, value) {
        let label = path_text.as_deref().unwrap_or(&p.attr.name);
        check_value_count(&p.attr.name.to_ascii_lowercase(), label, items.len())?;
    }
    let value = value.cloned();
    if kind == OpKind::Remove && path.is_none() {
        return Err(ScimError::NoTarget(format!(
            "operation {n} is a remove without a \"path\"; say what to remove"
        )));
    }
    if kind != OpKind::Remove && value.is_none() {
        return Err(ScimError::InvalidValue(format!(
            "operation {n} ({}) needs a \"value\"",
            if kind == OpKind::Add {
                "add"
            } else {
                "replace"
            }
        )));
    }
    Ok(PatchOp {
        op: kind,
        path,
        path_text,
        value,
    })
}

/// Apply `req` to `current` (canonical form) and return the new canonical resource. All or
/// nothing: on error, `current` is untouched and nothing is returned.
pub fn apply(
    schema: &ResourceSchema<'_>,
    current: &Value,
    req: &PatchRequest,
) -> ScimResult<Value> {
    let mut work = current.clone();
    for op in &req.operations {
        match &op.path {
            Some(path) => apply_path_op(schema, &mut work, op, &requalified(schema, path))?,
            None => apply_pathless(schema, &mut work, op)?,
        }
    }
    resource::finish(schema, &mut work)?;
    check_resource(schema.kind, &work)?;
    resource::check_required(schema, &work).map_err(|e| match e {
        ScimError::InvalidValue(d) => ScimError::Mutability(d),
        other => other,
    })?;
    Ok(work)
}

/// A path-less add or replace: each key of the value object acts as a path, as RFC 7644
/// section 3.5.2.1 and 3.5.2.3 describe. Entra sends dotted keys (`"name.givenName"`),
/// full-URN keys and value-path keys (`"emails[type eq \"work\"].value"`) there (scim-idp.md
/// section 3.5; Microsoft's SCIM guide, "Update User [Multi-valued properties]"); Okta echoes
/// `id` with a group rename (section 2.8). A key is applied exactly as an operation with that
/// path would be, or refused as it would be: a key that names an attribute we do not have,
/// or a sub-attribute an attribute does not have, is a 400, never dropped. Only attributes of
/// extensions we do not know are skipped, as with a path.
pub(super) fn apply_pathless(
    schema: &ResourceSchema<'_>,
    work: &mut Value,
    op: &PatchOp,
) -> ScimResult<()> {
    let value = op.value.as_ref().unwrap_or(&Value::Null);
    let Value::Object(obj) = value else {
        return Err(ScimError::InvalidValue(
            "an add or replace without \"path\" needs an object of attributes as \"value\"".into(),
        ));
    };
    for (key, v) in pathless_keys(schema, obj)? {
        apply_key(schema, work, op, &key, v)?;
    }
    Ok(())
}

/// The keys of a path-less value as path texts: a schema URN whose value is an object of that
/// schema's attributes (RFC 7643 section 3.3) gives one key per attribute, URN-qualified.
fn pathless_keys<'v>(
    schema: &ResourceSchema<'_>,
    obj: &'v serde_json::Map<String, Value>,
) -> ScimResult<Vec<(String, &'v Value)>> {
    let mut keys = Vec::new();
    for (key, v) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if schema.extension(key).is_none() && !schema.is_core(key) {
            keys.push((key.clone(), v));
            continue;
        }
        match v {
            // A nested `schemas` is message furniture, as at the top (scim2-tester sends it).
            Value::Object(inner) => keys.extend(
                inner
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                    .map(|(k, iv)| (format!("{key}:{k}"), iv)),
            ),
            Value::Null => {}
            _ => {
                return Err(ScimError::InvalidValue(format!(
                    "'{key}' must be an object of that schema's attributes"
                )))
            }
        }
    }
    Ok(keys)
}

/// Apply one key of a path-less value as an operation with that path.
fn apply_key(
    schema: &ResourceSchema<'_>,
    work: &mut Value,
    op: &PatchOp,
    key: &str,
    v: &Value,
) -> ScimResult<()> {
    let path = requalified(schema, &parse_path(key)?);
    let keyed = PatchOp {
        op: op.op,
        path: Some(path.clone()),
        path_text: Some(key.to_string()),
        value: Some(v.clone()),
    };
    let Some(target) = resolve_target(schema, &keyed, &path)? else {
        return Ok(());
    };
    let read_only = |a: &Attribute| a.mutability == Mutability::ReadOnly;
    if read_only(target.attr) || target.sub.is_some_and(read_only) {
        // readOnly keys equal to what we hold are echoes (Okta's `id`, `meta`, `groups`);
        // a different `id` is a real attempt to change it.
        if target.attr.name == "id" && work.get("id").is_some_and(|cur| cur != v) {
            return Err(ScimError::Mutability(
                "'id' is readOnly and cannot be changed".into(),
            ));
        }
        return Ok(());
    }
    apply_path_op(schema, work, &keyed, &path)
}

/// A path whose schema URN is joined to its attribute by a dot instead of RFC 7644 section
/// 3.10's colon (`urn:...:enterprise:2.0:User.manager`, as Microsoft's sample collections send
/// it) read as the attribute it names: `manager` of `urn:...:enterprise:2.0:User`. Read as
/// written it names the attribute `User` of an unknown schema, which is skipped: a change
/// answered 200 and never made. Any other path is returned as it is.
pub(super) fn requalified(schema: &ResourceSchema<'_>, path: &PathExpr) -> PathExpr {
    let (Some(u), Some(sub)) = (&path.attr.urn, &path.attr.sub) else {
        return path.clone();
    };
    let joined = format!("{u}:{}", path.attr.name);
    if !(schema.is_core(&joined) || schema.extension(&joined).is_some()) {
        return path.clone();
    }
    PathExpr {
        attr: crate::scim::path::AttrPath {
            urn: Some(joined),
            name: sub.clone(),
            sub: None,
        },
        filter: path.filter.clone(),
        sub_after_filter: path.sub_after_filter.clone(),
    }
}

/// Where an operation points: the attribute, the sub-attribute if any, where it lives, and
/// the path as the client wrote it (for messages).
pub(super) struct Target<'a> {
    pub(super) attr: &'a Attribute,
    pub(super) sub: Option<&'a Attribute>,
    pub(super) location: Location<'a>,
    pub(super) label: String,
}

pub(super) fn resolve_target<'a>(
    schema: &ResourceSchema<'a>,
    op: &PatchOp,
    path: &PathExpr,
) -> ScimResult<Option<Target<'a>>> {
    let label = op
        .path_text
        .clone()
        .unwrap_or_else(|| path.attr.to_string());
    let Some(r) = schema.resolve(path.attr.urn.as_deref(), &path.attr.name) else {
        // An attribute of an extension we do not know (an Entra custom extension) is skipped
        // like an unknown key in a POST body; an unknown core attribute is an error.
        if let Some(u) = &path.attr.urn {
            if !schema.is_core(u) && schema.extension(u).is_none() {
                return Ok(None);
            }
        }
        return Err(ScimError::InvalidPath(format!(
            "'{label}' names no attribute of a {}",
            schema.kind.name()
        )));
    };
    let sub_name = path
        .attr
        .sub
        .as_deref()
        .or(path.sub_after_filter.as_deref());
    let sub = match sub_name {
        Some(s) => Some(r.attr.sub(s).ok_or_else(|| {
            ScimError::InvalidPath(format!(
                "'{label}': '{}' has no sub-attribute '{s}'",
                r.attr.name
            ))
        })?),
        None => None,
    };
    Ok(Some(Target {
        attr: r.attr,
        sub,
        location: r.location,
        label,
    }))
}

pub(super) fn check_mutability(op: &PatchOp, t: &Target<'_>, has_value: bool) -> ScimResult<()> {
    for def in std::iter::once(t.attr).chain(t.sub) {
        match def.mutability {
            Mutability::ReadOnly => {
                return Err(ScimError::Mutability(format!(
                    "'{}' is readOnly and cannot be changed",
                    t.label
                )))
            }
            // RFC 7644 section 3.5.2: `add` may set an immutable attribute that has no value.
            // Whole values of `members` are added and removed freely (the attribute is
            // readWrite); only an in-place edit such as `members.value` reaches this arm.
            Mutability::Immutable if op.op != OpKind::Add || has_value => {
                return Err(ScimError::Mutability(format!(
                    "'{}' is immutable and already has a value",
                    t.label
                )))
            }
            _ => {}
        }
    }
    if op.op == OpKind::Remove && t.sub.is_none() && t.attr.required && op.value.is_none() {
        return Err(ScimError::Mutability(format!(
            "'{}' is required and cannot be removed",
            t.label
        )));
    }
    Ok(())
}
