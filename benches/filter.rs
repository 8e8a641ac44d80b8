//! Filter parsing and evaluation, and PATCH application: `cargo bench --bench filter`.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use tableau_scim::scim::filter::parse;
use tableau_scim::scim::patch::{apply, PatchRequest};
use tableau_scim::scim::schema::{ResourceKind, SchemaRegistry};

const SIMPLE: &str = r#"userName eq "bjensen@example.com""#;
const COMPLEX: &str = r#"userType eq "Employee" and (emails[type eq "work" and value co "@example.com"] or not (title pr)) and meta.lastModified gt "2011-05-13T04:42:34Z" or urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw "R&""#;

fn filters(c: &mut Criterion) {
    let users = SchemaRegistry::builtin().resource(ResourceKind::User);
    let user = json!({"id":"2819c223","userName":"BJensen@example.com","userType":"Employee","title":"Tour Guide",
        "emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}],
        "meta":{"lastModified":"2024-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D"}});
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_simple", |b| b.iter(|| parse(black_box(SIMPLE))));
    g.bench_function("parse_complex", |b| b.iter(|| parse(black_box(COMPLEX))));
    let (Ok(simple), Ok(complex)) = (parse(SIMPLE), parse(COMPLEX)) else {
        return;
    };
    g.bench_function("validate_complex", |b| {
        b.iter(|| black_box(&complex).validate(&users))
    });
    g.bench_function("eval_simple", |b| {
        b.iter(|| black_box(&simple).matches(black_box(&user), &users))
    });
    g.bench_function("eval_complex", |b| {
        b.iter(|| black_box(&complex).matches(black_box(&user), &users))
    });
    g.finish();
}

fn patches(c: &mut Criterion) {
    let groups = SchemaRegistry::builtin().resource(ResourceKind::Group);
    let members: Vec<_> = (0..1000)
        .map(|i| json!({"value": format!("user-{i}")}))
        .collect();
    let group = json!({"id":"g1","displayName":"Big","members":members});
    let delta = PatchRequest::parse(&json!({"Operations":[
        {"op":"remove","path":"members[value eq \"user-10\"]"},
        {"op":"add","path":"members","value":[{"value":"user-1001"}]}]}));
    let Ok(delta) = delta else { return };
    let mut g = c.benchmark_group("patch");
    g.throughput(Throughput::Elements(1));
    g.bench_function("group_1000_members_remove_and_add", |b| {
        b.iter(|| apply(&groups, black_box(&group), black_box(&delta)))
    });
    g.finish();
}

/// The same filters parsed by this crate and by the `scim-filter` crate, side by side.
fn versus_scim_filter(c: &mut Criterion) {
    let cases = [
        ("simple", SIMPLE),
        (
            "rfc_nested",
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        ),
        (
            "rfc_value_path",
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        ),
    ];
    let mut g = c.benchmark_group("vs_scim_filter");
    g.throughput(Throughput::Elements(1));
    for (name, text) in cases {
        let theirs_ok =
            matches!(scim_filter::parser::filter(text), Ok((rest, _)) if rest.trim().is_empty());
        assert!(parse(text).is_ok(), "{name}");
        g.bench_function(format!("tableau_scim/{name}"), |b| {
            b.iter(|| parse(black_box(text)))
        });
        if theirs_ok {
            g.bench_function(format!("scim_filter/{name}"), |b| {
                b.iter(|| scim_filter::parser::filter(black_box(text)))
            });
        } else {
            eprintln!("scim-filter does not parse {name}; not compared");
        }
    }
    g.finish();
}

criterion_group!(benches, filters, patches, versus_scim_filter);
criterion_main!(benches);
