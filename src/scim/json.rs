//! Small helpers for JSON objects whose keys SCIM compares case-insensitively.

use serde_json::{Map, Value};

/// The value under `key` in `obj`, matching the key case-insensitively (exact match first).
pub fn get_ci<'v>(obj: &'v Value, key: &str) -> Option<&'v Value> {
    let map = obj.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The actual key in `map` that matches `key` case-insensitively.
pub fn key_ci(map: &Map<String, Value>, key: &str) -> Option<String> {
    if map.contains_key(key) {
        return Some(key.to_string());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Mutable access to the value under `key`, case-insensitively.
pub fn get_ci_mut<'v>(map: &'v mut Map<String, Value>, key: &str) -> Option<&'v mut Value> {
    let actual = key_ci(map, key)?;
    map.get_mut(&actual)
}

/// Remove `key` (case-insensitively) and return its value.
pub fn remove_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let actual = key_ci(map, key)?;
    map.remove(&actual)
}

/// `"true"`/`"false"` in any case, as Entra ID sends booleans (scim-idp.md section 3.4).
pub fn bool_from_str(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A message body's `schemas`, when present, must name `urn` (e.g. the PatchOp or SearchRequest
/// message URN). An absent `schemas` is accepted: some clients omit it.
pub fn check_message_schema(
    body: &Value,
    urn: &str,
    what: &str,
) -> Result<(), crate::scim::ScimError> {
    let Some(schemas) = get_ci(body, "schemas") else {
        return Ok(());
    };
    let named = schemas.as_array().is_some_and(|a| {
        a.iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
    });
    if named {
        Ok(())
    } else {
        Err(crate::scim::ScimError::InvalidSyntax(format!(
            "a {what} body's \"schemas\" must be [\"{urn}\"]"
        )))
    }
}

/// Split a comma-separated parameter (`attributes=a,b`) into its trimmed, non-empty parts.
pub fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `v` as JSON text with every object's keys in sorted order: equal values (which compare
/// equal whatever their key order) give equal texts, so values can be hashed by it.
pub fn canonical_json(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    if let Some(inner) = o.get(k) {
                        write(inner, out);
                    }
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, inner) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(inner, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

#[cfg(test)]
mod canonical_tests {
    use super::canonical_json;
    use serde_json::json;

    #[test]
    fn equal_values_in_any_key_order_have_one_text() {
        let a = json!({"type": "work", "locality": "X", "n": [1, {"b": 2, "a": 1}]});
        let b = json!({"n": [1, {"a": 1, "b": 2}], "locality": "X", "type": "work"});
        assert_eq!(a, b);
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_ne!(
            canonical_json(&json!({"a": "1"})),
            canonical_json(&json!({"a": 1}))
        );
    }
}
