//! A resource as a backend hands it to the HTTP layer: its canonical form, shared, with its
//! default rendering (the JSON a plain `GET` answers) kept beside it once made. A backend that
//! hands out the same [`Shared`] until the resource changes lets every read after the first
//! skip building, hashing and printing the resource.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

/// A resource in canonical form (see [`super::resource`]), with its default rendering once made.
#[derive(Debug)]
pub struct Stored {
    value: Value,
    rendered: OnceLock<Rendered>,
}

/// The default representation as JSON text, for the base URL it was rendered under.
#[derive(Debug)]
struct Rendered {
    base: String,
    json: Arc<str>,
}

/// A resource shared between a backend's cache and the requests that read it.
pub type Shared = Arc<Stored>;

impl Stored {
    /// A resource nobody has rendered yet.
    pub fn new(value: Value) -> Shared {
        Arc::new(Stored {
            value,
            rendered: OnceLock::new(),
        })
    }

    /// The canonical form.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The canonical form, owned (cloned only when someone else still holds it).
    pub fn into_value(this: Shared) -> Value {
        Arc::try_unwrap(this).map_or_else(|shared| shared.value.clone(), |s| s.value)
    }

    /// Its default rendering under `base`: made by `render` the first time, the same text every
    /// time after. The rendering depends on the resource and the base URL alone (`meta.location`
    /// is the one part that names the server), so a resource read under another base URL (a
    /// second host name) is rendered for that request and not kept.
    pub fn default_json(&self, base: &str, render: impl FnOnce(&Value) -> String) -> Arc<str> {
        if let Some(r) = self.rendered.get() {
            if r.base == base {
                return r.json.clone();
            }
            return render(&self.value).into();
        }
        let json: Arc<str> = render(&self.value).into();
        // A read racing this one may have kept its own rendering first: the same resource
        // renders the same text, so whichever is kept, this one is the answer.
        let _ = self.rendered.set(Rendered {
            base: base.to_string(),
            json: json.clone(),
        });
        json
    }
}

impl std::ops::Deref for Stored {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::Cell;

    #[test]
    fn renders_once_per_resource_and_base() {
        let s = Stored::new(json!({"id": "1"}));
        let calls = Cell::new(0);
        let render = |v: &Value| {
            calls.set(calls.get() + 1);
            v.to_string()
        };
        let a = s.default_json("http://a/scim/v2", render);
        let b = s.default_json("http://a/scim/v2", render);
        assert_eq!(calls.get(), 1);
        assert!(Arc::ptr_eq(&a, &b));
        // Another base URL is rendered each time and does not replace the kept one.
        s.default_json("http://b/scim/v2", render);
        s.default_json("http://b/scim/v2", render);
        assert_eq!(calls.get(), 3);
        assert!(Arc::ptr_eq(&s.default_json("http://a/scim/v2", render), &a));
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn into_value_moves_or_clones() {
        let s = Stored::new(json!({"id": "1"}));
        let other = s.clone();
        assert_eq!(Stored::into_value(s), json!({"id": "1"}));
        assert_eq!(Stored::into_value(other), json!({"id": "1"}));
    }
}
