//! `attributes` and `excludedAttributes` (RFC 7644 section 3.4.2.5) with the schema's
//! `returned` rules: `always` stays, `never` never appears, `request` only when asked for.

use serde_json::{Map, Value};

use crate::scim::bounds::MAX_PATHS;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::path::AttrPath;
use crate::scim::schema::{Attribute, Location, ResourceSchema, Returned};

/// A requested attribute selection, as written by the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    attributes: Vec<String>,
    excluded: Vec<String>,
}

/// One resolved selection entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Selected {
    Attr {
        location: String,
        name: String,
        sub: Option<String>,
    },
    Extension(String),
}

impl Projection {
    /// From the requested and excluded attribute paths.
    pub fn from_lists(attributes: Vec<String>, excluded: Vec<String>) -> ScimResult<Self> {
        let count = attributes.len() + excluded.len();
        if count > MAX_PATHS {
            return Err(ScimError::InvalidValue(format!(
                "attributes and excludedAttributes name {count} paths; at most {MAX_PATHS} are accepted"
            )));
        }
        for p in attributes.iter().chain(excluded.iter()) {
            if AttrPath::parse_plain(p).is_none() {
                return Err(ScimError::InvalidValue(format!(
                    "'{p}' in attributes/excludedAttributes is not an attribute path such as 'userName' or 'name.givenName'"
                )));
            }
        }
        Ok(Projection {
            attributes,
            excluded,
        })
    }

    /// Whether the client named no attributes either way (the default representation).
    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Whether `excludedAttributes` names `name` (e.g. `members`), so a backend can skip
    /// fetching it.
    pub fn excludes(&self, name: &str) -> bool {
        self.excluded.iter().any(|e| {
            AttrPath::parse_plain(e)
                .is_some_and(|p| p.sub.is_none() && p.name.eq_ignore_ascii_case(name))
        }) || (!self.attributes.is_empty()
            && !self.attributes.iter().any(|a| {
                AttrPath::parse_plain(a).is_some_and(|p| p.name.eq_ignore_ascii_case(name))
            }))
    }

    /// Whether `attributes` names `name` (or one of its sub-attributes): for attributes
    /// returned only on request, such as a user's `groups`.
    pub fn requests(&self, name: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| AttrPath::parse_plain(a).is_some_and(|p| p.name.eq_ignore_ascii_case(name)))
    }

    /// The paths resolved against the schema, each once.
    fn resolve(schema: &ResourceSchema<'_>, paths: &[String]) -> Vec<Selected> {
        let mut seen = std::collections::HashSet::new();
        paths
            .iter()
            .filter_map(|text| {
                if let Some(ext) = schema.extension(text) {
                    return Some(Selected::Extension(ext.id.clone()));
                }
                let p = AttrPath::parse_plain(text)?;
                let r = schema.resolve(p.urn.as_deref(), &p.name)?;
                let sub = match &p.sub {
                    Some(s) => Some(r.attr.sub(s)?.name.clone()),
                    None => None,
                };
                Some(Selected::Attr {
                    location: location_key(r.location),
                    name: r.attr.name.clone(),
                    sub,
                })
            })
            .filter(|s| seen.insert(s.clone()))
            .collect()
    }

    /// Apply the selection to a rendered resource.
    pub fn apply(&self, schema: &ResourceSchema<'_>, resource: Value) -> Value {
        if self.is_default() {
            return default_representation(schema, resource);
        }
        let Value::Object(obj) = resource else {
            return resource;
        };
        let attrs = Self::resolve(schema, &self.attributes);
        let excluded = Self::resolve(schema, &self.excluded);
        let mut out = Map::new();
        for (key, value) in obj {
            if key == "schemas" {
                out.insert(key, value);
                continue;
            }
            if let Some(ext) = schema.extension(&key) {
                let whole_asked = attrs.contains(&Selected::Extension(ext.id.clone()));
                let whole_excluded = excluded.contains(&Selected::Extension(ext.id.clone()));
                if whole_excluded {
                    continue;
                }
                let Value::Object(inner) = value else {
                    continue;
                };
                let mut kept = Map::new();
                for (k, v) in inner {
                    let Some(def) = ext.attr(&k) else { continue };
                    let sel = if whole_asked { &[][..] } else { &attrs[..] };
                    if let Some(v) = select(&ext.id, def, v, sel, &excluded, whole_asked) {
                        kept.insert(k, v);
                    }
                }
                if !kept.is_empty() {
                    out.insert(key, Value::Object(kept));
                }
                continue;
            }
            let Some(r) = schema.resolve(Some(&schema.core.id), &key) else {
                continue;
            };
            if let Some(v) = select("", r.attr, value, &attrs, &excluded, false) {
                out.insert(key, v);
            }
        }
        Value::Object(out)
    }
}

/// The default representation (no `attributes`, no `excludedAttributes`): what
/// [`Projection::apply`] keeps with both lists empty, decided the same way ([`select`]), but
/// in place: the read path's every response passes through here.
fn default_representation(schema: &ResourceSchema<'_>, mut resource: Value) -> Value {
    let Value::Object(obj) = &mut resource else {
        return resource;
    };
    let keep = |location: &str, def: &Attribute, value: &mut Value| match select(
        location,
        def,
        std::mem::take(value),
        &[],
        &[],
        false,
    ) {
        Some(v) => {
            *value = v;
            true
        }
        None => false,
    };
    obj.retain(|key, value| {
        if key == "schemas" {
            return true;
        }
        if let Some(ext) = schema.extension(key) {
            let Value::Object(inner) = value else {
                return false;
            };
            inner.retain(|k, v| ext.attr(k).is_some_and(|def| keep(&ext.id, def, v)));
            return !inner.is_empty();
        }
        match schema.resolve(Some(&schema.core.id), key) {
            Some(r) => keep("", r.attr, value),
            None => false,
        }
    });
    resource
}

fn location_key(l: Location<'_>) -> String {
    match l {
        Location::TopLevel => String::new(),
        Location::Extension(u) => u.to_string(),
    }
}

fn select(
    location: &str,
    def: &Attribute,
    value: Value,
    attrs: &[Selected],
    excluded: &[Selected],
    whole_asked: bool,
) -> Option<Value> {
    match def.returned {
        Returned::Never => return None,
        Returned::Always => return Some(value),
        Returned::Default | Returned::Request => {}
    }
    let mine = |list: &[Selected]| -> Vec<Option<String>> {
        list.iter()
            .filter_map(|s| match s {
                Selected::Attr {
                    location: l,
                    name,
                    sub,
                } if l == location && name == &def.name => Some(sub.clone()),
                _ => None,
            })
            .collect()
    };
    if !attrs.is_empty() || (whole_asked && def.returned == Returned::Request) {
        let asked = mine(attrs);
        if asked.is_empty() && !whole_asked {
            return None;
        }
        if whole_asked || asked.iter().any(Option::is_none) {
            return Some(value);
        }
        let subs: Vec<String> = asked.into_iter().flatten().collect();
        return keep_subs(def, value, |name| {
            subs.iter().any(|s| s == name)
                || def
                    .sub(name)
                    .is_some_and(|s| s.returned == Returned::Always)
        });
    }
    if def.returned == Returned::Request && !whole_asked {
        return None;
    }
    let gone = mine(excluded);
    if gone.iter().any(Option::is_none) {
        return None;
    }
    let gone: Vec<String> = gone.into_iter().flatten().collect();
    keep_subs(def, value, |name| {
        !gone.iter().any(|s| s == name)
            && def.sub(name).is_none_or(|s| s.returned != Returned::Never)
    })
}

fn keep_subs(def: &Attribute, value: Value, keep: impl Fn(&str) -> bool) -> Option<Value> {
    let filter_obj = |v: Value| -> Option<Value> {
        match v {
            Value::Object(o) => {
                let kept: Map<String, Value> = o
                    .into_iter()
                    .filter(|(k, _)| {
                        let canonical = def.sub(k).map(|s| s.name.as_str()).unwrap_or(k);
                        keep(canonical)
                    })
                    .collect();
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            other => Some(other),
        }
    };
    match value {
        Value::Array(items) => {
            let kept: Vec<Value> = items.into_iter().filter_map(filter_obj).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => filter_obj(other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::{ResourceKind, SchemaRegistry};

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "u1",
            "userName": "bjensen",
            "password": "never returned",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "primary": true}],
            "groups": [{"value": "g1"}],
            "unknownAttribute": 1,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour", "bogus": 2},
            "meta": {"resourceType": "User"}
        })
    }

    #[test]
    fn the_default_representation_keeps_what_the_general_rules_keep() {
        let schema = SchemaRegistry::builtin().resource(ResourceKind::User);
        let fast = Projection::default().apply(&schema, user());
        // Excluding an attribute the resource lacks takes the general path to the same result.
        let general = Projection::from_lists(vec![], vec!["nickName".into()])
            .expect("a valid path")
            .apply(&schema, user());
        assert_eq!(fast, general);
        assert!(fast.get("password").is_none(), "returned: never");
        assert!(fast.get("groups").is_none(), "returned: request");
        assert!(fast.get("unknownAttribute").is_none());
        assert_eq!(fast["userName"], "bjensen");
        assert_eq!(
            fast["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"department": "Tour"})
        );
        let keys: Vec<&String> = fast
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys.first().map(|k| k.as_str()),
            Some("schemas"),
            "order kept"
        );
    }
}
