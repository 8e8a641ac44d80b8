//! SCIM filters (RFC 7644 section 3.4.2.2): parse, validate against a schema, evaluate against a
//! JSON resource, and print back in canonical form.
//!
//! ```text
//! parse("userName eq \"bjensen\"")      -> Filter (syntax only)
//! filter.validate(&user_schema)          -> unknown attributes, `gt` on booleans, ...
//! filter.matches(&resource, &schema)     -> bool
//! filter.to_string()                     -> canonical text; parse(print(f)) == f
//! ```

mod eval;
mod parser;
mod print;
mod validate;

pub use parser::{parse, parse_path, PathExpr, MAX_DEPTH, MAX_TERMS};

use crate::scim::path::AttrPath;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// greater than or equal
    Ge,
    /// less than
    Lt,
    /// less than or equal
    Le,
}

impl CompareOp {
    /// Every operator, for tests and error messages.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator as written, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Whether the operator needs an ordered type.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }

    /// Whether the operator is a substring test.
    pub fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

/// A comparison value: a JSON literal.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string, escapes decoded.
    String(String),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath pr`
    Present(AttrPath),
    /// `attrPath op value`
    Compare(AttrPath, CompareOp, CompValue),
    /// `not (filter)`
    Not(Box<Filter>),
    /// `filter and filter`
    And(Box<Filter>, Box<Filter>),
    /// `filter or filter`
    Or(Box<Filter>, Box<Filter>),
    /// `attrPath[valFilter]`; paths inside are sub-attributes of the outer attribute and never
    /// themselves value paths (the parser refuses nesting).
    ValuePath(AttrPath, Box<Filter>),
}

impl Filter {
    /// If this filter is exactly `attr eq "value"` on a top-level attribute with no URN other
    /// than the core schema, the attribute name and the value: the shape backends answer with
    /// one targeted lookup.
    pub fn as_simple_eq(&self) -> Option<(&AttrPath, &str)> {
        match self {
            Filter::Compare(path, CompareOp::Eq, CompValue::String(v)) if path.sub.is_none() => {
                Some((path, v.as_str()))
            }
            _ => None,
        }
    }

    /// Whether the filter reads the attribute `name` (case-insensitively, with or without a
    /// URN or sub-attribute), e.g. so a backend loads group members only when a filter needs
    /// them.
    pub fn mentions(&self, name: &str) -> bool {
        match self {
            Filter::Present(p) | Filter::Compare(p, _, _) => p.name.eq_ignore_ascii_case(name),
            Filter::Not(f) => f.mentions(name),
            Filter::And(a, b) | Filter::Or(a, b) => a.mentions(name) || b.mentions(name),
            // Paths inside brackets are sub-attributes of the outer one.
            Filter::ValuePath(p, _) => p.name.eq_ignore_ascii_case(name),
        }
    }

    /// If the filter is a conjunction of `eq` terms on plain names (the shape of
    /// `emails[type eq "work"]`), those (name, value) pairs; used by PATCH to create a missing
    /// element.
    pub fn eq_terms(&self) -> Option<Vec<(&str, &CompValue)>> {
        match self {
            Filter::Compare(p, CompareOp::Eq, v) if p.sub.is_none() && p.urn.is_none() => {
                Some(vec![(p.name.as_str(), v)])
            }
            Filter::And(a, b) => {
                let mut terms = a.eq_terms()?;
                terms.extend(b.eq_terms()?);
                Some(terms)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
