//! Resources as JSON: reading what IdPs send into our canonical form, and rendering it back.
//!
//! The canonical form is what backends store: attribute names in schema case, extension
//! attributes under their URN, no nulls, no empty arrays, no readOnly or writeOnly input, no
//! unknown keys, booleans as booleans. Values are otherwise kept exactly as sent (checklist 27:
//! no case or format normalisation).

use serde_json::{Map, Value};

use crate::scim::bounds::{check_resource, check_value_count};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::PathExpr;
use crate::scim::json::{bool_from_str, canonical_json, get_ci};
use crate::scim::path::{starts_with_urn, AttrPath};
use crate::scim::schema::{AttrType, Attribute, Location, Mutability, ResourceSchema};
use crate::scim::urn;

/// A top-level input key resolved against the schema.
#[derive(Debug, Clone)]
pub struct KeyTarget<'a> {
    /// The attribute.
    pub attr: &'a Attribute,
    /// The sub-attribute, for dotted keys such as Entra's `"name.givenName"`.
    pub sub: Option<&'a Attribute>,
    /// Where the attribute lives.
    pub location: Location<'a>,
}

impl<'a> KeyTarget<'a> {
    /// As a PATCH path expression.
    pub fn to_path(&self) -> PathExpr {
        PathExpr {
            attr: AttrPath {
                urn: match self.location {
                    Location::TopLevel => None,
                    Location::Extension(u) => Some(u.to_string()),
                },
                name: self.attr.name.clone(),
                sub: self.sub.map(|s| s.name.clone()),
            },
            filter: None,
            sub_after_filter: None,
        }
    }
}

/// Resolve each key of an input object to an attribute. Keys may be plain names, dotted paths,
/// URN-qualified paths, or an extension URN whose value is an object of that extension's
/// attributes (RFC 7643 section 3.3). Unknown keys and unknown schema URNs are skipped: IdPs send
/// vendor URNs and template typos (scim-idp.md section 4), and only what breaks us fails.
pub fn resolve_keys<'a, 'v>(
    schema: &ResourceSchema<'a>,
    obj: &'v Map<String, Value>,
) -> ScimResult<Vec<(KeyTarget<'a>, &'v Value)>> {
    let mut out = Vec::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            match value {
                Value::Object(inner) => {
                    for (k, v) in inner {
                        if let Some(attr) = ext.attr(k) {
                            out.push((
                                KeyTarget {
                                    attr,
                                    sub: None,
                                    location: Location::Extension(&ext.id),
                                },
                                v,
                            ));
                        }
                    }
                }
                Value::Null => {}
                _ => {
                    return Err(ScimError::InvalidValue(format!(
                        "'{key}' must be an object of that extension's attributes"
                    )))
                }
            }
            continue;
        }
        if schema.is_core(key) {
            continue;
        }
        let Some(path) = AttrPath::parse_plain(key) else {
            continue;
        };
        let Some(r) = schema.resolve(path.urn.as_deref(), &path.name) else {
            continue;
        };
        let sub = match &path.sub {
            Some(s) => match r.attr.sub(s) {
                Some(sub) => Some(sub),
                None => continue,
            },
            None => None,
        };
        out.push((
            KeyTarget {
                attr: r.attr,
                sub,
                location: r.location,
            },
            value,
        ));
    }
    Ok(out)
}

/// Read a POST or PUT body into canonical form. readOnly attributes (`id`, `meta`, `groups`,
/// `members[].display`) are ignored, as RFC 7644 section 3.5.1 and checklist 14 require.
pub fn from_input(schema: &ResourceSchema<'_>, body: &Value) -> ScimResult<Value> {
    let Value::Object(obj) = body else {
        return Err(ScimError::InvalidSyntax(format!(
            "the request body must be a JSON object describing a {}",
            schema.kind.name()
        )));
    };
    let mut out = Value::Object(Map::new());
    for (target, value) in resolve_keys(schema, obj)? {
        // readOnly input is ignored; writeOnly input (`password`) is accepted and discarded:
        // Tableau users sign in through the IdP, and Okta sends a password on every create.
        if !target.attr.is_stored() || target.sub.is_some_and(|s| !s.is_stored()) {
            continue;
        }
        let label = target.to_path().attr.to_string();
        match target.sub {
            None => {
                if let Some(v) = normalize_value(target.attr, &label, value)? {
                    set(&mut out, target.location, &target.attr.name, v);
                }
            }
            Some(sub) => {
                if let Some(v) = normalize_value(sub, &label, value)? {
                    if let Some(parent) = entry_object(&mut out, target.location, &target.attr.name)
                    {
                        parent.insert(sub.name.clone(), v);
                    }
                }
            }
        }
    }
    finish(schema, &mut out)?;
    check_resource(schema.kind, &out)?;
    Ok(out)
}

/// Put `v` at `name` in the right place of a canonical resource.
pub fn set(resource: &mut Value, location: Location<'_>, name: &str, v: Value) {
    if let Some(container) = container_mut(resource, location, true) {
        container.insert(name.to_string(), v);
    }
}

/// The object that holds attributes at `location`, created when `create` is set.
pub fn container_mut<'v>(
    resource: &'v mut Value,
    location: Location<'_>,
    create: bool,
) -> Option<&'v mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    match location {
        Location::TopLevel => Some(root),
        Location::Extension(u) => {
            if !root.contains_key(u) {
                if !create {
                    return None;
                }
                root.insert(u.to_string(), Value::Object(Map::new()));
            }
            root.get_mut(u).and_then(Value::as_object_mut)
        }
    }
}

fn entry_object<'v>(
    resource: &'v mut Value,
    location: Location<'_>,
    name: &str,
) -> Option<&'v mut Map<String, Value>> {
    let container = container_mut(resource, location, true)?;
    let slot = container
        .entry(name.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// Check and normalise one attribute value. `None` means "unassigned" (null, `[]`, `{}`).
pub fn normalize_value(attr: &Attribute, label: &str, v: &Value) -> ScimResult<Option<Value>> {
    if v.is_null() {
        return Ok(None);
    }
    if attr.multi_valued {
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            // One object where a list is expected is read as a list of one; a bare string for
            // a list of complex values is a wrong type.
            Value::String(_) if attr.kind == AttrType::Complex => {
                return Err(ScimError::InvalidValue(format!(
                    "'{label}' must be an array of objects, not a string"
                )))
            }
            single => vec![single],
        };
        check_value_count(&attr.name, label, items.len())?;
        // Duplicates dropped by their JSON text: linear in the values (comparing each with the
        // ones kept was quadratic: 40,000 emails held a worker for seconds).
        let mut out: Vec<Value> = Vec::with_capacity(items.len());
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for item in items {
            if let Some(n) = normalize_single(attr, label, item)? {
                if seen.insert(canonical_json(&n)) {
                    out.push(n);
                }
            }
        }
        if attr.kind == AttrType::Complex {
            let primaries = out
                .iter()
                .filter(|e| e.get("primary") == Some(&Value::Bool(true)))
                .count();
            if primaries > 1 {
                return Err(ScimError::InvalidValue(format!(
                    "'{label}' has {primaries} values marked primary; at most one may be"
                )));
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    let single = match v {
        // Entra sends the single-valued complex `manager` as a one-element array at times
        // (scim-idp.md section 3.6); a simple attribute given an array is a wrong type.
        Value::Array(a) if a.len() == 1 && attr.kind == AttrType::Complex => &a[0],
        Value::Array(a) if a.is_empty() => return Ok(None),
        other => other,
    };
    normalize_single(attr, label, single)
}

fn normalize_single(attr: &Attribute, label: &str, v: &Value) -> ScimResult<Option<Value>> {
    let wrong = |expected: &str| {
        Err(ScimError::InvalidValue(format!(
            "'{label}' must be {expected}, not {}",
            describe(v)
        )))
    };
    match (attr.kind, v) {
        (_, Value::Null) => Ok(None),
        (AttrType::Complex, Value::Object(obj)) => {
            let mut out = Map::new();
            for (k, sv) in obj {
                let Some(sub) = attr.sub(k) else { continue };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                let sub_label = format!("{label}.{}", sub.name);
                if let Some(n) = normalize_value(sub, &sub_label, sv)? {
                    out.insert(sub.name.clone(), n);
                }
            }
            if attr.name == "roles" {
                unwrap_stringified_role(&mut out);
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        // Entra sends `manager` as the manager's id, a bare string (scim-idp.md section 3.6);
        // other complex attributes given a bare string mean their `value`.
        (AttrType::Complex, Value::String(s)) if attr.sub("value").is_some() => {
            let mut out = Map::new();
            out.insert("value".into(), Value::String(s.clone()));
            if attr.name == "roles" {
                unwrap_stringified_role(&mut out);
            }
            Ok(Some(Value::Object(out)))
        }
        (AttrType::Complex, _) => wrong("an object"),
        (AttrType::Boolean, Value::Bool(_)) => Ok(Some(v.clone())),
        // Entra sends `"active": "False"` (scim-idp.md section 3.4, checklist 22).
        (AttrType::Boolean, Value::String(s)) => match bool_from_str(s) {
            Some(b) => Ok(Some(Value::Bool(b))),
            None => wrong("true or false"),
        },
        (AttrType::Boolean, _) => wrong("true or false"),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(v.clone())),
        (AttrType::Integer, _) => wrong("an integer"),
        (AttrType::Decimal, Value::Number(_)) => Ok(Some(v.clone())),
        (AttrType::Decimal, _) => wrong("a number"),
        (AttrType::DateTime, Value::String(s)) => {
            if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
                Ok(Some(v.clone()))
            } else {
                wrong("a dateTime such as \"2011-05-13T04:42:34Z\"")
            }
        }
        (AttrType::DateTime, _) => wrong("a dateTime string"),
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(s)) => {
            if s.is_empty() && !attr.required {
                Ok(None)
            } else {
                Ok(Some(v.clone()))
            }
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => wrong("a string"),
    }
}

/// Entra's `AppRoleAssignmentsComplex` sends each role's `value` as stringified JSON
/// (`"{\"id\":\"...\",\"value\":\"Creator\",\"displayName\":\"...\"}"`, scim-idp.md section 3.8):
/// the role is the inner `value`; the assignment id is discarded.
fn unwrap_stringified_role(role: &mut Map<String, Value>) {
    let Some(Value::String(s)) = role.get("value") else {
        return;
    };
    if !s.trim_start().starts_with('{') {
        return;
    }
    let Ok(inner) = serde_json::from_str::<Value>(s) else {
        return;
    };
    if let Some(Value::String(v)) = get_ci(&inner, "value") {
        let v = v.clone();
        role.insert("value".into(), Value::String(v));
        if !role.contains_key("display") {
            if let Some(Value::String(d)) = get_ci(&inner, "displayName") {
                role.insert("display".into(), Value::String(d.clone()));
            }
        }
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Rules that hold for a whole canonical resource: Tableau's own `siteRoles` (else its
/// `entitlements`) read as `roles`, and empty extension objects removed.
pub fn finish(schema: &ResourceSchema<'_>, resource: &mut Value) -> ScimResult<()> {
    let Some(root) = resource.as_object_mut() else {
        return Ok(());
    };
    // Tableau's SCIM extension (tableau-rest.md section 6.1) carries the site role in
    // `siteRoles`, and Tableau's SCIM reads `entitlements` when there are none (help.tableau.com,
    // Tableau SCIM API, Users methods); an admin switching an existing IdP app to us should
    // not have to remap it.
    if let Some(Value::Object(t30)) = root.remove(urn::TABLEAU_30_USER) {
        let has_roles = root.get("roles").is_some_and(|r| !r.is_null());
        let site_roles = ["siteRoles", "entitlements"]
            .iter()
            .filter_map(|k| t30.get(*k))
            .find(|v| v.as_array().is_some_and(|a| !a.is_empty()));
        if let (false, Some(site_roles)) = (has_roles, site_roles) {
            if let Some(roles_attr) = schema.core.attr("roles") {
                if let Some(v) = normalize_value(roles_attr, "roles", site_roles)? {
                    root.insert("roles".into(), v);
                }
            }
        }
    }
    root.retain(|k, v| !(starts_with_urn(k) && v.as_object().is_some_and(Map::is_empty)));
    Ok(())
}

/// The required attributes (`userName`, `displayName`) must be present and non-empty.
pub fn check_required(schema: &ResourceSchema<'_>, resource: &Value) -> ScimResult<()> {
    for attr in schema.core.attributes.iter().filter(|a| a.required) {
        let present = match resource.get(&attr.name) {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        };
        if !present {
            return Err(ScimError::InvalidValue(format!(
                "'{}' is required for a {} and must not be empty",
                attr.name,
                schema.kind.name()
            )));
        }
    }
    Ok(())
}

/// The response form of a stored resource: `schemas` listing the core schema and every extension
/// present, and `meta.resourceType` and `meta.location` filled in.
pub fn render(schema: &ResourceSchema<'_>, stored: Value, base_url: &str) -> Value {
    let mut out = stored;
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for ext in schema.extensions {
        if obj.get(&ext.id).is_some_and(|v| !v.is_null()) {
            schemas.push(Value::String(ext.id.clone()));
        }
    }
    obj.insert("schemas".into(), Value::Array(schemas));
    let id = obj.get("id").and_then(Value::as_str).map(str::to_string);
    let meta = obj
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let (Some(meta), Some(id)) = (meta.as_object_mut(), id) {
        meta.insert("resourceType".into(), schema.kind.name().into());
        meta.insert(
            "location".into(),
            format!(
                "{}/{}/{}",
                base_url.trim_end_matches('/'),
                schema.kind.endpoint(),
                id
            )
            .into(),
        );
    }
    // A member that names its type but not its URI gets one, as RFC 7643 section 4.2 shows.
    let base = base_url.trim_end_matches('/').to_string();
    if let Some(members) = obj.get_mut("members").and_then(Value::as_array_mut) {
        for m in members.iter_mut() {
            let Some(mo) = m.as_object_mut() else {
                continue;
            };
            let endpoint = match mo.get("type").and_then(Value::as_str) {
                Some(t) if t.eq_ignore_ascii_case("User") => "Users",
                Some(t) if t.eq_ignore_ascii_case("Group") => "Groups",
                _ => continue,
            };
            if !mo.contains_key("$ref") {
                if let Some(v) = mo.get("value").and_then(Value::as_str) {
                    let uri = format!("{base}/{endpoint}/{v}");
                    mo.insert("$ref".into(), uri.into());
                }
            }
        }
    }
    // Keep `schemas` and `id` first for readability of responses.
    let mut ordered = Map::new();
    for key in ["schemas", "id"] {
        if let Some(v) = obj.remove(key) {
            ordered.insert(key.to_string(), v);
        }
    }
    ordered.append(obj);
    Value::Object(ordered)
}
