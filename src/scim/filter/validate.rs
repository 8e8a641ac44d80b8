//! Checking a parsed filter against a resource type's schema: unknown attributes, operators
//! that make no sense for a type, and literals of the wrong type are `invalidFilter`.

use super::eval::Scope;
use super::{CompValue, CompareOp, Filter};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, Attribute, ResourceSchema, Returned};

impl Filter {
    /// Check every attribute, operator and literal against `schema`.
    pub fn validate(&self, schema: &ResourceSchema<'_>) -> ScimResult<()> {
        validate_in(self, Scope::Resource(*schema))
    }
}

fn validate_in(filter: &Filter, scope: Scope<'_>) -> ScimResult<()> {
    match filter {
        Filter::Present(p) => {
            leaf(p, scope)?;
            Ok(())
        }
        Filter::Compare(p, op, v) => {
            let def = leaf(p, scope)?;
            check_comparison(p, def, *op, v)
        }
        Filter::Not(f) => validate_in(f, scope),
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate_in(a, scope)?;
            validate_in(b, scope)
        }
        Filter::ValuePath(p, inner) => {
            let Scope::Resource(_) = scope else {
                return Err(ScimError::InvalidFilter(format!(
                    "'{p}[...]' cannot be nested inside another value filter"
                )));
            };
            let resolved = scope.resolve(p).ok_or_else(|| unknown(p, scope))?;
            if resolved.attr.kind != AttrType::Complex {
                return Err(ScimError::InvalidFilter(format!(
                    "'{p}' is not a complex attribute, so it cannot take a value filter in brackets"
                )));
            }
            validate_in(inner, Scope::Within(resolved.attr))
        }
    }
}

/// The definition a comparison is made against: the named attribute or sub-attribute, or for a
/// complex attribute named alone, its `value` sub-attribute (RFC 7644's `emails co "x"`).
fn leaf<'a>(p: &AttrPath, scope: Scope<'a>) -> ScimResult<&'a Attribute> {
    let resolved = scope.resolve(p).ok_or_else(|| unknown(p, scope))?;
    let def = resolved.leaf().ok_or_else(|| {
        ScimError::InvalidFilter(format!(
            "'{p}' is a complex attribute; compare one of its sub-attributes ({})",
            resolved
                .attr
                .sub_attributes
                .iter()
                .map(|s| format!("{}.{}", resolved.attr.name, s.name))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if def.returned == Returned::Never || resolved.attr.returned == Returned::Never {
        return Err(ScimError::InvalidFilter(format!(
            "'{p}' is write-only and cannot be used in a filter"
        )));
    }
    Ok(def)
}

fn unknown(p: &AttrPath, scope: Scope<'_>) -> ScimError {
    match scope {
        Scope::Resource(schema) => {
            if let Some(urn) = &p.urn {
                if !schema.is_core(urn) && schema.extension(urn).is_none() {
                    return ScimError::InvalidFilter(format!(
                        "unknown schema '{urn}' in '{p}' for {} resources",
                        schema.kind.name()
                    ));
                }
            }
            ScimError::InvalidFilter(format!(
                "unknown attribute '{p}' for {} resources",
                schema.kind.name()
            ))
        }
        Scope::Within(parent) => ScimError::InvalidFilter(format!(
            "unknown sub-attribute '{p}' of '{}'; it has {}",
            parent.name,
            parent
                .sub_attributes
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn check_comparison(p: &AttrPath, def: &Attribute, op: CompareOp, v: &CompValue) -> ScimResult<()> {
    let bad = |why: String| Err(ScimError::InvalidFilter(why));
    if matches!(v, CompValue::Null) {
        return match op {
            CompareOp::Eq | CompareOp::Ne => Ok(()),
            _ => bad(format!(
                "'{p} {} null' is undefined; null can only be compared with eq or ne",
                op.as_str()
            )),
        };
    }
    match def.kind {
        AttrType::Boolean => {
            if op != CompareOp::Eq && op != CompareOp::Ne {
                return bad(format!(
                    "'{p}' is a boolean; '{}' is not defined on booleans, use eq or ne",
                    op.as_str()
                ));
            }
            match v {
                CompValue::Bool(_) => Ok(()),
                CompValue::String(s) if super::eval::bool_from_str(s).is_some() => Ok(()),
                _ => bad(format!("'{p}' is a boolean; compare it with true or false")),
            }
        }
        AttrType::Integer | AttrType::Decimal => {
            if op.is_substring() {
                return bad(format!(
                    "'{p}' is a number; '{}' is only defined on strings",
                    op.as_str()
                ));
            }
            match v {
                CompValue::Number(_) => Ok(()),
                _ => bad(format!("'{p}' is a number; compare it with a number")),
            }
        }
        AttrType::DateTime => match v {
            CompValue::String(s) if super::eval::parse_datetime(s).is_some() => Ok(()),
            _ => bad(format!(
                "'{p}' is a dateTime; compare it with a string such as \"2011-05-13T04:42:34Z\""
            )),
        },
        AttrType::Binary if op.is_ordering() => bad(format!(
            "'{p}' is binary; '{}' is not defined on binary values",
            op.as_str()
        )),
        AttrType::String | AttrType::Reference | AttrType::Binary => match v {
            CompValue::String(_) => Ok(()),
            _ => bad(format!(
                "'{p}' is a string; compare it with a string in double quotes"
            )),
        },
        AttrType::Complex => bad(format!(
            "'{p}' is complex; compare one of its sub-attributes"
        )),
    }
}

impl Filter {
    /// Check a value filter (inside brackets) against the sub-attributes of `parent`.
    pub fn validate_within(&self, parent: &Attribute) -> ScimResult<()> {
        validate_in(self, Scope::Within(parent))
    }
}
