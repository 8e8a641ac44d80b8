//! PATCH (RFC 7644 section 3.5.2): parse a PatchOp request and apply it to a canonical resource.
//!
//! Operations apply in order to a copy; the copy is returned only if every operation succeeded,
//! so a failed request changes nothing (checklist 16). Where Okta and Entra ID depart from the
//! RFC, the departure is accepted and named in a comment citing `scim-idp.md`.

use serde_json::{Map, Value};

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::{parse_path, CompValue, Filter, PathExpr};
use crate::scim::json::{check_message_schema, get_ci, key_ci};
use crate::scim::resource::{self, container_mut, normalize_value, resolve_keys};
use crate::scim::schema::{AttrType, Attribute, Location, Mutability, ResourceSchema};
use crate::scim::urn;

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
        let operations = ops
            .iter()
            .enumerate()
            .map(|(n, op)| parse_op(n + 1, op))
            .collect::<ScimResult<Vec<_>>>()?;
        Ok(PatchRequest { operations })
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
    let value = get_ci(op, "value").cloned();
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
            Some(path) => apply_path_op(schema, &mut work, op, path)?,
            None => apply_pathless(schema, &mut work, op)?,
        }
    }
    resource::finish(schema, &mut work)?;
    resource::check_required(schema, &work).map_err(|e| match e {
        ScimError::InvalidValue(d) => ScimError::Mutability(d),
        other => other,
    })?;
    Ok(work)
}

/// A path-less add or replace: each key of the value object acts as a path. Entra sends dotted
/// keys (`"name.givenName"`) and full-URN keys there (scim-idp.md section 3.5), Okta echoes
/// `id` with a group rename (section 2.8).
fn apply_pathless(schema: &ResourceSchema<'_>, work: &mut Value, op: &PatchOp) -> ScimResult<()> {
    let value = op.value.as_ref().unwrap_or(&Value::Null);
    let Value::Object(obj) = value else {
        return Err(ScimError::InvalidValue(
            "an add or replace without \"path\" needs an object of attributes as \"value\"".into(),
        ));
    };
    for (target, v) in resolve_keys(schema, obj)? {
        let attr = target.attr;
        if attr.mutability == Mutability::ReadOnly
            || target
                .sub
                .is_some_and(|s| s.mutability == Mutability::ReadOnly)
        {
            // readOnly keys equal to what we hold are echoes (Okta's `id`, `meta`, `groups`);
            // a different `id` is a real attempt to change it.
            if attr.name == "id" && work.get("id").is_some_and(|cur| cur != v) {
                return Err(ScimError::Mutability(
                    "'id' is readOnly and cannot be changed".into(),
                ));
            }
            continue;
        }
        let path = target.to_path();
        apply_path_op(
            schema,
            work,
            &PatchOp {
                op: op.op,
                path: Some(path.clone()),
                path_text: Some(path.attr.to_string()),
                value: Some(v.clone()),
            },
            &path,
        )?;
    }
    Ok(())
}

struct Target<'a> {
    attr: &'a Attribute,
    sub: Option<&'a Attribute>,
    location: Location<'a>,
    label: String,
}

fn resolve_target<'a>(
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

fn check_mutability(op: &PatchOp, t: &Target<'_>, has_value: bool) -> ScimResult<()> {
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

fn apply_path_op(
    schema: &ResourceSchema<'_>,
    work: &mut Value,
    op: &PatchOp,
    path: &PathExpr,
) -> ScimResult<()> {
    // A bare extension URN as path addresses that extension's object (`path: "urn:...:User"`).
    if path.filter.is_none() && path.attr.sub.is_none() {
        if let Some(u) = &path.attr.urn {
            let whole = format!("{u}:{}", path.attr.name);
            if let Some(ext) = schema.extension(&whole) {
                if ext
                    .attributes
                    .iter()
                    .all(|a| a.mutability == Mutability::ReadOnly)
                {
                    return Err(ScimError::Mutability(format!(
                        "'{}' is read-only: every attribute of it is set by the server",
                        ext.id
                    )));
                }
                let mut obj = Map::new();
                obj.insert(ext.id.clone(), op.value.clone().unwrap_or(Value::Null));
                if op.op == OpKind::Remove {
                    if let Some(root) = work.as_object_mut() {
                        root.remove(&ext.id);
                    }
                    return Ok(());
                }
                return apply_pathless(
                    schema,
                    work,
                    &PatchOp {
                        op: op.op,
                        path: None,
                        path_text: None,
                        value: Some(Value::Object(obj)),
                    },
                );
            }
        }
    }
    let Some(t) = resolve_target(schema, op, path)? else {
        return Ok(());
    };
    if t.attr.mutability == Mutability::WriteOnly {
        // `password` (Okta's password sync, scim-idp.md section 2.7): accepted and discarded.
        return Ok(());
    }
    let has_value = container_mut(work, t.location, false)
        .and_then(|c| key_ci(c, &t.attr.name).and_then(|k| c.get(&k)))
        .is_some_and(|v| !v.is_null());
    check_mutability(op, &t, has_value)?;
    if let Some(filter) = &path.filter {
        if !(t.attr.kind == AttrType::Complex) {
            return Err(ScimError::InvalidPath(format!(
                "'{}': only complex attributes take a value filter",
                t.label
            )));
        }
        filter
            .validate_within(t.attr)
            .map_err(|e| ScimError::InvalidFilter(format!("in path '{}': {e}", t.label)))?;
        return apply_filtered(work, op, &t, filter);
    }
    apply_plain(work, op, &t)
}

/// The current value slot of the target attribute, taken out of the resource for editing.
fn take_slot(work: &mut Value, t: &Target<'_>) -> Option<Value> {
    let container = container_mut(work, t.location, false)?;
    let key = key_ci(container, &t.attr.name)?;
    container.remove(&key).filter(|v| !v.is_null())
}

fn put_slot(work: &mut Value, t: &Target<'_>, v: Option<Value>) {
    let keep = match &v {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    if keep {
        if let (Some(c), Some(v)) = (container_mut(work, t.location, true), v) {
            c.insert(t.attr.name.clone(), v);
        }
    }
}

fn apply_plain(work: &mut Value, op: &PatchOp, t: &Target<'_>) -> ScimResult<()> {
    let current = take_slot(work, t);
    let new = match t.sub {
        Some(sub) => apply_to_sub(current, op, t, sub)?,
        None => apply_to_attr(current, op, t)?,
    };
    put_slot(work, t, new);
    Ok(())
}

fn apply_to_attr(
    current: Option<Value>,
    op: &PatchOp,
    t: &Target<'_>,
) -> ScimResult<Option<Value>> {
    let attr = t.attr;
    let raw = op.value.as_ref().unwrap_or(&Value::Null);
    match op.op {
        OpKind::Remove => {
            // Entra removes some members with `path: "members"` and a value list
            // (scim-idp.md section 1.9, checklist 19): remove only those.
            if let (true, Some(v)) = (
                attr.multi_valued,
                op.value.as_ref().filter(|v| !v.is_null()),
            ) {
                let Some(gone) = normalize_value(attr, &t.label, v)? else {
                    return Ok(current);
                };
                let gone = gone.as_array().cloned().unwrap_or_default();
                let kept: Vec<Value> = as_vec(current)
                    .into_iter()
                    .filter(|e| !gone.iter().any(|g| same_element(attr, e, g)))
                    .collect();
                return Ok(Some(Value::Array(kept)));
            }
            Ok(None)
        }
        OpKind::Add | OpKind::Replace => {
            let new = normalize_value(attr, &t.label, raw)?;
            if attr.multi_valued {
                let new_items = as_vec(new);
                if op.op == OpKind::Replace {
                    if new_items.is_empty() && attr.required {
                        return Err(ScimError::Mutability(format!(
                            "'{}' is required and cannot be emptied",
                            t.label
                        )));
                    }
                    return Ok(Some(Value::Array(new_items)));
                }
                let mut items = as_vec(current);
                for item in new_items {
                    merge_element(attr, &mut items, item);
                }
                Ok(Some(Value::Array(items)))
            } else if attr.kind == AttrType::Complex {
                // Both add and replace on a complex attribute set the given sub-attributes and
                // leave the others (RFC 7644 section 3.5.2.3: `{"name":{"givenName":"X"}}`
                // keeps familyName).
                let mut obj = match current {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                };
                match new {
                    Some(Value::Object(n)) => obj.extend(n),
                    _ if raw.is_null() && op.op == OpKind::Replace => obj.clear(),
                    _ => {}
                }
                Ok(Some(Value::Object(obj)))
            } else {
                if new.is_none() && attr.required {
                    return Err(ScimError::Mutability(format!(
                        "'{}' is required and cannot be cleared",
                        t.label
                    )));
                }
                Ok(new)
            }
        }
    }
}

fn apply_to_sub(
    current: Option<Value>,
    op: &PatchOp,
    t: &Target<'_>,
    sub: &Attribute,
) -> ScimResult<Option<Value>> {
    let label = &t.label;
    let new = match op.op {
        OpKind::Remove => None,
        _ => normalize_value(sub, label, op.value.as_ref().unwrap_or(&Value::Null))?,
    };
    let set = |obj: &mut Map<String, Value>| match &new {
        Some(v) => {
            obj.insert(sub.name.clone(), v.clone());
        }
        None => {
            if let Some(k) = key_ci(obj, &sub.name) {
                obj.remove(&k);
            }
        }
    };
    if t.attr.multi_valued {
        let mut items = as_vec(current);
        if items.is_empty() && new.is_some() {
            items.push(Value::Object(Map::new()));
        }
        for item in items.iter_mut() {
            if let Value::Object(o) = item {
                set(o);
            }
        }
        items.retain(|e| e.as_object().is_some_and(|o| !o.is_empty()));
        Ok(Some(Value::Array(items)))
    } else {
        let mut obj = match current {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
        set(&mut obj);
        Ok(Some(Value::Object(obj)))
    }
}

fn apply_filtered(
    work: &mut Value,
    op: &PatchOp,
    t: &Target<'_>,
    filter: &Filter,
) -> ScimResult<()> {
    let attr = t.attr;
    let current = take_slot(work, t);
    let mut items = match current {
        Some(Value::Array(a)) => a,
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let hits: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, e)| filter.matches_within(e, attr))
        .map(|(i, _)| i)
        .collect();
    let value = op.value.as_ref().unwrap_or(&Value::Null);
    match op.op {
        OpKind::Remove => {
            // Removing what is not there (a member already gone) succeeds as a no-op: Okta sends
            // remove and add in one request and must not fail on a stale remove (checklist 19).
            if let Some(sub) = t.sub {
                for i in &hits {
                    if let Some(Value::Object(o)) = items.get_mut(*i) {
                        if let Some(k) = key_ci(o, &sub.name) {
                            o.remove(&k);
                        }
                    }
                }
                items.retain(|e| e.as_object().is_some_and(|o| !o.is_empty()));
            } else {
                let mut i = 0;
                items.retain(|_| {
                    let keep = !hits.contains(&i);
                    i += 1;
                    keep
                });
            }
        }
        OpKind::Add | OpKind::Replace => {
            let new: Value = match t.sub {
                Some(sub) => {
                    let v = normalize_value(sub, &t.label, value)?;
                    let mut o = Map::new();
                    if let Some(v) = v {
                        o.insert(sub.name.clone(), v);
                    }
                    Value::Object(o)
                }
                None => match normalize_value(&single_of(attr), &t.label, value)? {
                    Some(v @ Value::Object(_)) => v,
                    Some(_) | None => {
                        return Err(ScimError::InvalidValue(format!(
                        "'{}' selects whole values of '{}'; give an object of its sub-attributes",
                        t.label, attr.name
                    )))
                    }
                },
            };
            if hits.is_empty() {
                // Entra adds or replaces `emails[type eq "work"].value` when the user has no
                // work email yet and expects one to appear (scim-idp.md sections 1.9 and 3.7):
                // a filter of `eq` terms seeds the new element.
                let Some(seed) = seed_from_filter(filter, attr) else {
                    put_slot(work, t, Some(Value::Array(items)));
                    return Err(ScimError::NoTarget(format!(
                        "'{}' matched no value; nothing to {}",
                        t.label,
                        if op.op == OpKind::Add {
                            "add to"
                        } else {
                            "replace"
                        }
                    )));
                };
                let mut element = seed;
                if let (Value::Object(e), Value::Object(n)) = (&mut element, new) {
                    e.extend(n);
                }
                set_primary_exclusive(&mut items, &element);
                items.push(element);
            } else {
                let mut last = Value::Null;
                for i in &hits {
                    if let Some(slot) = items.get_mut(*i) {
                        match (slot, &new) {
                            (Value::Object(e), Value::Object(n))
                                if t.sub.is_some() || op.op == OpKind::Add =>
                            {
                                e.extend(n.clone());
                                last = Value::Object(e.clone());
                            }
                            (slot, n) => {
                                *slot = n.clone();
                                last = n.clone();
                            }
                        }
                    }
                }
                if hits.len() == 1 {
                    let idx = hits[0];
                    let chosen = last;
                    for (i, e) in items.iter_mut().enumerate() {
                        if i != idx && is_primary(&chosen) {
                            clear_primary(e);
                        }
                    }
                } else if is_primary(&new) {
                    return Err(ScimError::InvalidValue(format!(
                        "'{}' matched {} values; only one can be primary",
                        t.label,
                        hits.len()
                    )));
                }
            }
        }
    }
    put_slot(work, t, Some(Value::Array(items)));
    Ok(())
}

/// The attribute as a single value (for normalising one element of a multi-valued attribute).
fn single_of(attr: &Attribute) -> Attribute {
    let mut one = attr.clone();
    one.multi_valued = false;
    one
}

fn seed_from_filter(filter: &Filter, attr: &Attribute) -> Option<Value> {
    let terms = filter.eq_terms()?;
    let mut obj = Map::new();
    for (name, value) in terms {
        let sub = attr.sub(name)?;
        let v = match value {
            CompValue::String(s) => match sub.kind {
                AttrType::Boolean => Value::Bool(crate::scim::json::bool_from_str(s)?),
                _ => Value::String(s.clone()),
            },
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        obj.insert(sub.name.clone(), v);
    }
    Some(Value::Object(obj))
}

fn as_vec(v: Option<Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

fn clear_primary(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        if o.get("primary") == Some(&Value::Bool(true)) {
            o.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// RFC 7643 section 2.4: setting `primary: true` on one value clears it on the others.
fn set_primary_exclusive(items: &mut [Value], new: &Value) {
    if is_primary(new) {
        for e in items.iter_mut() {
            clear_primary(e);
        }
    }
}

/// Two values of a multi-valued attribute are the same value when their `value` sub-attributes
/// are equal (under the sub-attribute's caseExact) and their `type`s do not differ; simple values
/// when they are equal.
fn same_element(attr: &Attribute, a: &Value, b: &Value) -> bool {
    if attr.kind != AttrType::Complex {
        return a == b;
    }
    let value_exact = attr.sub("value").is_none_or(|s| s.case_exact);
    match (a.get("value"), b.get("value")) {
        (Some(Value::String(x)), Some(Value::String(y))) => {
            let same_value = if value_exact {
                x == y
            } else {
                x.to_lowercase() == y.to_lowercase()
            };
            let same_type = match (a.get("type"), b.get("type")) {
                (Some(Value::String(p)), Some(Value::String(q))) => p.eq_ignore_ascii_case(q),
                _ => true,
            };
            same_value && same_type
        }
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// `add` on a multi-valued attribute appends, and an equal value already present is updated in
/// place rather than repeated (re-adding a member is a silent success, checklist 18).
fn merge_element(attr: &Attribute, items: &mut Vec<Value>, item: Value) {
    set_primary_exclusive(items, &item);
    if let Some(existing) = items.iter_mut().find(|e| same_element(attr, e, &item)) {
        match (existing, item) {
            (Value::Object(e), Value::Object(n)) => e.extend(n),
            (e, n) => *e = n,
        }
    } else {
        items.push(item);
    }
}
