//! Attribute paths (RFC 7644 section 3.10): `[URN ":"] name ["." subAttr]`.

use std::fmt;

/// An attribute path as written by a client. Names keep the client's case; lookups against the
/// schema are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, if the client wrote one.
    pub urn: Option<String>,
    /// The attribute name.
    pub name: String,
    /// The sub-attribute name, if any.
    pub sub: Option<String>,
}

impl AttrPath {
    /// A path with just a name.
    pub fn simple(name: &str) -> AttrPath {
        AttrPath {
            urn: None,
            name: name.to_string(),
            sub: None,
        }
    }

    /// Split a written path (no brackets) into its parts. `None` when a name is empty or has a
    /// character RFC 7643 section 2.1 does not allow.
    pub fn parse_plain(text: &str) -> Option<AttrPath> {
        let (urn, rest) = if starts_with_urn(text) {
            let idx = text.rfind(':')?;
            (Some(text[..idx].to_string()), &text[idx + 1..])
        } else {
            (None, text)
        };
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        if !is_attr_name(name) || sub.is_some_and(|s| !is_attr_name(s)) {
            return None;
        }
        Some(AttrPath {
            urn,
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Whether `text` begins with a schema URN (`urn:`, any case).
pub fn starts_with_urn(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// `ATTRNAME = ALPHA *(nameChar)`, with `$` allowed in front for `$ref` ([7643] section 2.1).
pub fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => chars.all(is_name_char),
        _ => false,
    }
}

/// `nameChar = "-" / "_" / DIGIT / ALPHA`.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_split_urn_name_and_sub() {
        let p = AttrPath::parse_plain("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName");
        assert_eq!(
            p,
            Some(AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                name: "name".into(),
                sub: Some("givenName".into())
            })
        );
        assert_eq!(
            AttrPath::parse_plain("emails.value").map(|p| p.to_string()),
            Some("emails.value".into())
        );
        assert_eq!(
            AttrPath::parse_plain("members.$ref").and_then(|p| p.sub),
            Some("$ref".into())
        );
        assert!(AttrPath::parse_plain("1abc").is_none());
        assert!(AttrPath::parse_plain("a.b.c").is_none());
        assert!(AttrPath::parse_plain("").is_none());
    }
}
