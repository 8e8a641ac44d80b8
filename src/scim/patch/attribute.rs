//! Applying one operation to the attribute (or sub-attribute) its path targets.

use serde_json::{Map, Value};

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::PathExpr;
use crate::scim::json::key_ci;
use crate::scim::resource::{container_mut, normalize_value};
use crate::scim::schema::{AttrType, Attribute, Mutability, ResourceSchema};

use super::multi::{apply_filtered, as_vec, merge_elements, ElementIndex};
use super::{apply_pathless, check_mutability, resolve_target, OpKind, PatchOp, Target};
use crate::scim::bounds::check_value_count;

pub(super) fn apply_path_op(
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
pub(super) fn take_slot(work: &mut Value, t: &Target<'_>) -> Option<Value> {
    let container = container_mut(work, t.location, false)?;
    let key = key_ci(container, &t.attr.name)?;
    container.remove(&key).filter(|v| !v.is_null())
}

pub(super) fn put_slot(work: &mut Value, t: &Target<'_>, v: Option<Value>) {
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
                let index = ElementIndex::of(attr, &gone);
                let kept: Vec<Value> = as_vec(current)
                    .into_iter()
                    .filter(|e| index.find(&gone, e).is_none())
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
                merge_elements(attr, &mut items, new_items);
                check_value_count(&attr.name, &t.label, items.len())?;
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
