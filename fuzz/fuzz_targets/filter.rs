//! Filter parser, validator, evaluator and printer on arbitrary text: never panics, and every
//! filter that parses prints to text that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tableau_scim::scim::filter::{parse, parse_path};
use tableau_scim::scim::schema::{ResourceKind, SchemaRegistry};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_path(text);
    let Ok(filter) = parse(text) else {
        return;
    };
    let printed = filter.to_string();
    assert_eq!(parse(&printed).as_ref(), Ok(&filter), "round trip of {printed:?}");
    let users = SchemaRegistry::builtin().resource(ResourceKind::User);
    let user = json!({"id":"1","userName":"bjensen","active":true,"emails":[{"value":"a@b.c","type":"work","primary":true}],
        "name":{"givenName":"B"},"meta":{"lastModified":"2024-01-01T00:00:00Z"}});
    if filter.validate(&users).is_ok() {
        let _ = filter.matches(&user, &users);
    }
});
