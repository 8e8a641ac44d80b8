//! Evaluating a filter against a resource in its JSON form.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use std::cmp::Ordering;

use super::{CompValue, CompareOp, Filter};
use crate::scim::json::get_ci;
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, Attribute, Location, ResourceSchema};

/// Where names are resolved: at the top of a resource, or among the sub-attributes of the
/// attribute a value filter is attached to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    Resource(ResourceSchema<'a>),
    Within(&'a Attribute),
}

/// A path resolved against a scope.
pub(crate) struct Resolved<'a> {
    pub attr: &'a Attribute,
    pub sub: Option<&'a Attribute>,
    pub location: Location<'a>,
}

impl<'a> Resolved<'a> {
    /// The definition that holds the compared value.
    pub fn leaf(&self) -> Option<&'a Attribute> {
        match self.sub {
            Some(s) => Some(s),
            None if self.attr.kind == AttrType::Complex => self.attr.sub("value"),
            None => Some(self.attr),
        }
    }
}

impl<'a> Scope<'a> {
    pub fn resolve(&self, p: &AttrPath) -> Option<Resolved<'a>> {
        match self {
            Scope::Resource(schema) => {
                let r = schema.resolve(p.urn.as_deref(), &p.name)?;
                let sub = match &p.sub {
                    Some(s) => Some(r.attr.sub(s)?),
                    None => None,
                };
                Some(Resolved {
                    attr: r.attr,
                    sub,
                    location: r.location,
                })
            }
            Scope::Within(parent) => {
                if p.urn.is_some() || p.sub.is_some() {
                    return None;
                }
                Some(Resolved {
                    attr: parent.sub(&p.name)?,
                    sub: None,
                    location: Location::TopLevel,
                })
            }
        }
    }
}

impl Filter {
    /// Whether `resource` matches. Call [`Filter::validate`] first: an attribute the schema does
    /// not know simply matches nothing here.
    pub fn matches(&self, resource: &Value, schema: &ResourceSchema<'_>) -> bool {
        matches_in(self, resource, Scope::Resource(*schema))
    }
}

fn matches_in(filter: &Filter, node: &Value, scope: Scope<'_>) -> bool {
    match filter {
        Filter::And(a, b) => matches_in(a, node, scope) && matches_in(b, node, scope),
        Filter::Or(a, b) => matches_in(a, node, scope) || matches_in(b, node, scope),
        Filter::Not(f) => !matches_in(f, node, scope),
        Filter::Present(p) => {
            let Some(r) = scope.resolve(p) else {
                return false;
            };
            let raw = raw_value(node, &r);
            match (&p.sub, raw) {
                (_, None) => false,
                (None, Some(v)) => is_present(v),
                (Some(_), Some(v)) => sub_values(v, p.sub.as_deref()).into_iter().any(is_present),
            }
        }
        Filter::Compare(p, op, lit) => {
            let Some(r) = scope.resolve(p) else {
                return false;
            };
            let Some(def) = r.leaf() else {
                return false;
            };
            let leaves = leaf_values(node, &r, p);
            match (op, lit) {
                (CompareOp::Eq, CompValue::Null) => leaves.is_empty(),
                (CompareOp::Ne, CompValue::Null) => !leaves.is_empty(),
                (_, CompValue::Null) => false,
                // `ne` is the negation of `eq`: an absent attribute is "not equal".
                (CompareOp::Ne, _) => !leaves.iter().any(|l| compare(l, CompareOp::Eq, lit, def)),
                _ => leaves.iter().any(|l| compare(l, *op, lit, def)),
            }
        }
        Filter::ValuePath(p, inner) => {
            let Some(r) = scope.resolve(p) else {
                return false;
            };
            let within = Scope::Within(r.attr);
            match raw_value(node, &r) {
                Some(Value::Array(items)) => items.iter().any(|e| matches_in(inner, e, within)),
                Some(obj @ Value::Object(_)) => matches_in(inner, obj, within),
                _ => false,
            }
        }
    }
}

/// The attribute's raw JSON value in `node`.
fn raw_value<'v>(node: &'v Value, r: &Resolved<'_>) -> Option<&'v Value> {
    let container = match r.location {
        Location::TopLevel => node,
        Location::Extension(urn) => get_ci(node, urn)?,
    };
    get_ci(container, &r.attr.name).filter(|v| !v.is_null())
}

fn sub_values<'v>(v: &'v Value, sub: Option<&str>) -> Vec<&'v Value> {
    let pick = |e: &'v Value| -> Option<&'v Value> {
        match sub {
            Some(s) => get_ci(e, s),
            None => Some(e),
        }
    };
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(pick)
            .filter(|x| !x.is_null())
            .collect(),
        other => pick(other).filter(|x| !x.is_null()).into_iter().collect(),
    }
}

/// The scalar values compared: the attribute's values, its sub-attribute's values, or for a
/// complex attribute named alone, the `value` sub-attribute of each element.
fn leaf_values<'v>(node: &'v Value, r: &Resolved<'_>, p: &AttrPath) -> Vec<&'v Value> {
    let Some(raw) = raw_value(node, r) else {
        return Vec::new();
    };
    let sub = match (&p.sub, r.attr.kind) {
        (Some(s), _) => Some(s.as_str()),
        (None, AttrType::Complex) => Some("value"),
        (None, _) => None,
    };
    sub_values(raw, sub)
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

pub(crate) use crate::scim::json::bool_from_str;

/// An xsd:dateTime (RFC 3339) instant.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

fn compare(leaf: &Value, op: CompareOp, lit: &CompValue, def: &Attribute) -> bool {
    match def.kind {
        AttrType::Boolean => {
            let l = match leaf {
                Value::Bool(b) => Some(*b),
                Value::String(s) => bool_from_str(s),
                _ => None,
            };
            let r = match lit {
                CompValue::Bool(b) => Some(*b),
                CompValue::String(s) => bool_from_str(s),
                _ => None,
            };
            matches!((l, r), (Some(a), Some(b)) if op == CompareOp::Eq && a == b)
        }
        AttrType::Integer | AttrType::Decimal => {
            let (Some(l), CompValue::Number(n)) = (leaf.as_f64(), lit) else {
                return false;
            };
            let Some(r) = n.as_f64() else {
                return false;
            };
            l.partial_cmp(&r)
                .is_some_and(|ord| ordering_matches(op, ord))
        }
        AttrType::DateTime => {
            let (Value::String(l), CompValue::String(r)) = (leaf, lit) else {
                return false;
            };
            match (parse_datetime(l), parse_datetime(r)) {
                (Some(a), Some(b)) if !op.is_substring() => ordering_matches(op, a.cmp(&b)),
                _ => compare_str(l, op, r, def.case_exact),
            }
        }
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::Complex => {
            match (leaf, lit) {
                (Value::String(l), CompValue::String(r)) => compare_str(l, op, r, def.case_exact),
                _ => false,
            }
        }
    }
}

fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_str(l: &str, op: CompareOp, r: &str, case_exact: bool) -> bool {
    if case_exact {
        return str_op(l, op, r);
    }
    if op == CompareOp::Eq && l.is_ascii() && r.is_ascii() {
        return l.eq_ignore_ascii_case(r);
    }
    str_op(&l.to_lowercase(), op, &r.to_lowercase())
}

fn str_op(l: &str, op: CompareOp, r: &str) -> bool {
    match op {
        CompareOp::Co => l.contains(r),
        CompareOp::Sw => l.starts_with(r),
        CompareOp::Ew => l.ends_with(r),
        _ => ordering_matches(op, l.cmp(r)),
    }
}

impl Filter {
    /// Whether one element of the multi-valued attribute `parent` matches a value filter.
    pub fn matches_within(&self, element: &Value, parent: &Attribute) -> bool {
        matches_in(self, element, Scope::Within(parent))
    }
}
