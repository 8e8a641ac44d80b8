//! A value a configuration reload replaces while requests read it: each reader takes the
//! current value (an `Arc`) and keeps it for as long as it needs, so a request in flight
//! finishes on what it started with and the next one sees the new value.

use std::sync::{Arc, RwLock};

/// The current value of a setting a reload may replace.
pub struct Reloadable<T> {
    current: RwLock<Arc<T>>,
}

impl<T> Reloadable<T> {
    /// Starting at `value`.
    pub fn new(value: T) -> Reloadable<T> {
        Reloadable {
            current: RwLock::new(Arc::new(value)),
        }
    }

    /// The value now. A poisoned lock still holds a whole value (the writer only swaps an
    /// `Arc`), so it is read rather than failing every later request.
    pub fn get(&self) -> Arc<T> {
        match self.current.read() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replace the value; readers holding the old one keep it until they let it go.
    pub fn set(&self, value: T) {
        let value = Arc::new(value);
        match self.current.write() {
            Ok(mut v) => *v = value,
            Err(p) => *p.into_inner() = value,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Reloadable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_keeps_its_value_and_the_next_sees_the_new_one() {
        let r = Reloadable::new(vec!["old-token"]);
        let held = r.get();
        r.set(vec!["new-token"]);
        assert_eq!(*held, vec!["old-token"]);
        assert_eq!(*r.get(), vec!["new-token"]);
    }
}
