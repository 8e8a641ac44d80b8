//! Applying one operation to the elements of a multi-valued attribute that a value filter
//! selects, and the rules of multi-valued attributes (one `primary`, equal elements merged).

use serde_json::{Map, Value};

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::{CompValue, Filter};
use crate::scim::json::{canonical_json, key_ci};
use crate::scim::resource::normalize_value;
use crate::scim::schema::{AttrType, Attribute};

use super::attribute::{put_slot, take_slot};
use super::{OpKind, PatchOp, Target};

pub(super) fn apply_filtered(
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
        // RFC 7643 section 2.5: null (and, for a string, "") is the same state as no value, so
        // an add or replace of nothing clears what the filter selects, as a remove would
        // (Microsoft's gallery validation clears `emails[type eq "work"].value` this way).
        OpKind::Add | OpKind::Replace if clears(t, value)? => {
            remove_selected(&mut items, &hits, t.sub);
        }
        OpKind::Remove => remove_selected(&mut items, &hits, t.sub),
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

/// Whether an add or replace value is "no value" for its target (RFC 7643 section 2.5): null,
/// or what normalises to nothing (an empty string, an empty object).
fn clears(t: &Target<'_>, value: &Value) -> ScimResult<bool> {
    if value.is_null() {
        return Ok(true);
    }
    Ok(match t.sub {
        Some(sub) => normalize_value(sub, &t.label, value)?.is_none(),
        None => match value {
            Value::Object(o) => o.is_empty(),
            Value::String(s) => s.is_empty(),
            _ => false,
        },
    })
}

/// Remove the selected elements, or only their sub-attribute `sub` (an element left empty
/// goes, and so does one whose `value` went: a work email without an address is no email).
/// Removing what is not there (a member already gone) succeeds as a no-op: Okta sends
/// remove and add in one request and must not fail on a stale remove (checklist 19).
fn remove_selected(items: &mut Vec<Value>, hits: &[usize], sub: Option<&Attribute>) {
    if let Some(sub) = sub.filter(|s| s.name != "value") {
        for i in hits {
            if let Some(Value::Object(o)) = items.get_mut(*i) {
                if let Some(k) = key_ci(o, &sub.name) {
                    o.remove(&k);
                }
            }
        }
        items.retain(|e| e.as_object().is_some_and(|o| !o.is_empty()));
    } else {
        let mut gone = vec![false; items.len()];
        for &i in hits {
            if let Some(g) = gone.get_mut(i) {
                *g = true;
            }
        }
        let mut i = 0;
        items.retain(|_| {
            let keep = !gone.get(i).copied().unwrap_or(false);
            i += 1;
            keep
        });
    }
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

pub(super) fn as_vec(v: Option<Value>) -> Vec<Value> {
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

/// The key under which [`same_element`] can only match: the `value` (lowercased when it is not
/// caseExact), or for values without a string `value` their JSON text. Elements of different
/// keys are never the same; of one key, they are when their types do not differ.
fn element_key(attr: &Attribute, v: &Value) -> String {
    if attr.kind == AttrType::Complex {
        if let Some(Value::String(s)) = v.get("value") {
            let exact = attr.sub("value").is_none_or(|s| s.case_exact);
            return if exact {
                format!("s:{s}")
            } else {
                format!("s:{}", s.to_lowercase())
            };
        }
        if let Some(other) = v.get("value") {
            return format!("v:{}", canonical_json(other));
        }
    }
    format!("j:{}", canonical_json(v))
}

/// Elements of a multi-valued attribute by [`element_key`], for linear matching: a PATCH that
/// adds or removes thousands of values costs one pass, not one pass per value.
pub(super) struct ElementIndex<'a> {
    attr: &'a Attribute,
    by_key: std::collections::HashMap<String, Vec<usize>>,
}

impl<'a> ElementIndex<'a> {
    /// The index of `items`.
    pub(super) fn of(attr: &'a Attribute, items: &[Value]) -> ElementIndex<'a> {
        let mut by_key: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::with_capacity(items.len());
        for (i, e) in items.iter().enumerate() {
            by_key.entry(element_key(attr, e)).or_default().push(i);
        }
        ElementIndex { attr, by_key }
    }

    /// The position in `items` of an element that is the same as `v`, if any.
    pub(super) fn find(&self, items: &[Value], v: &Value) -> Option<usize> {
        self.by_key
            .get(&element_key(self.attr, v))?
            .iter()
            .copied()
            .find(|&i| items.get(i).is_some_and(|e| same_element(self.attr, e, v)))
    }

    fn push(&mut self, items: &[Value], at: usize) {
        if let Some(v) = items.get(at) {
            self.by_key
                .entry(element_key(self.attr, v))
                .or_default()
                .push(at);
        }
    }
}

/// Two values of a multi-valued attribute are the same value when their `value` sub-attributes
/// are equal (under the sub-attribute's caseExact) and their `type`s do not differ; simple values
/// when they are equal.
pub(super) fn same_element(attr: &Attribute, a: &Value, b: &Value) -> bool {
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
/// place rather than repeated (re-adding a member is a silent success, checklist 18). Linear in
/// the values: matched through an [`ElementIndex`].
pub(super) fn merge_elements(attr: &Attribute, items: &mut Vec<Value>, new_items: Vec<Value>) {
    let mut index = ElementIndex::of(attr, items);
    for item in new_items {
        set_primary_exclusive(items, &item);
        match index.find(items, &item) {
            Some(at) => {
                if let Some(existing) = items.get_mut(at) {
                    match (existing, item) {
                        (Value::Object(e), Value::Object(n)) => e.extend(n),
                        (e, n) => *e = n,
                    }
                }
            }
            None => {
                items.push(item);
                index.push(items, items.len() - 1);
            }
        }
    }
}
