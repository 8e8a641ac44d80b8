//! Filter tests: every example of RFC 7644 section 3.4.2.2, the IdP shapes of scim-idp.md,
//! precedence, errors, evaluation, and the printer round trip (proptest).

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::scim::error::ScimError;
use crate::scim::schema::{ResourceKind, SchemaRegistry};

fn user_schema() -> crate::scim::schema::ResourceSchema<'static> {
    SchemaRegistry::builtin().resource(ResourceKind::User)
}

fn p(s: &str) -> Filter {
    match parse(s) {
        Ok(f) => f,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

/// Every filter example printed in RFC 7644 section 3.4.2.2 (and its Figure 2), each parsed,
/// validated against our User schema where it names our attributes, and round-tripped.
#[test]
fn rfc7644_filter_examples_parse_and_round_trip() {
    let examples = [
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"title pr"#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ];
    for text in examples {
        let f = p(text);
        let printed = f.to_string();
        assert_eq!(parse(&printed), Ok(f.clone()), "{text} -> {printed}");
    }
}

#[test]
fn rfc_examples_over_our_attributes_validate() {
    for text in [
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"title pr and userType eq "Employee""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"emails[type eq "work" and value co "@example.com"]"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
    ] {
        assert_eq!(p(text).validate(&user_schema()), Ok(()), "{text}");
    }
}

#[test]
fn a_filter_says_which_attributes_it_reads() {
    let group_filter = p("displayName eq \"Sales\" and not (members[value eq \"u1\"])");
    assert!(group_filter.mentions("members"));
    assert!(group_filter.mentions("DISPLAYNAME"));
    assert!(p("members.value eq \"u1\" or externalId pr").mentions("Members"));
    assert!(p("urn:ietf:params:scim:schemas:core:2.0:Group:members pr").mentions("members"));
    // A value that merely contains the word is not a read of the attribute.
    assert!(!p("displayName eq \"members\"").mentions("members"));
    assert!(!p("emails[value eq \"members@x\"]").mentions("members"));
}

#[test]
fn precedence_is_not_then_and_then_or_left_associative() {
    let a = || Box::new(Filter::Present(crate::scim::path::AttrPath::simple("a")));
    let b = || Box::new(Filter::Present(crate::scim::path::AttrPath::simple("b")));
    let c = || Box::new(Filter::Present(crate::scim::path::AttrPath::simple("c")));
    assert_eq!(
        p("a pr or b pr and c pr"),
        Filter::Or(a(), Box::new(Filter::And(b(), c())))
    );
    assert_eq!(
        p("a pr and b pr or c pr"),
        Filter::Or(Box::new(Filter::And(a(), b())), c())
    );
    assert_eq!(
        p("(a pr or b pr) and c pr"),
        Filter::And(Box::new(Filter::Or(a(), b())), c())
    );
    assert_eq!(
        p("a pr or b pr or c pr"),
        Filter::Or(Box::new(Filter::Or(a(), b())), c())
    );
    assert_eq!(
        p("not (a pr) and b pr"),
        Filter::And(Box::new(Filter::Not(a())), b())
    );
    assert_eq!(
        p("a pr and not(b pr)"),
        Filter::And(a(), Box::new(Filter::Not(b())))
    );
}

#[test]
fn checklist_08_names_operators_and_keywords_are_case_insensitive_and_spacing_is_flexible() {
    assert_eq!(p(r#"USERNAME EQ "x""#).validate(&user_schema()), Ok(()));
    assert_eq!(
        p(r#"userName Eq "x" AND title PR"#),
        p(r#"userName eq "x" and title pr"#)
    );
    assert_eq!(p("  title   pr   or\ttitle pr "), p("title pr or title pr"));
    assert_eq!(p(r#"NOT ( title pr )"#), p("not (title pr)"));
    // RFC 7644 3.5.2.2 prints `value eq"2819c223..."` without a space.
    assert_eq!(
        p(r#"members[value eq"2819c223-7f76-453a-919d-413861904646"]"#),
        p(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#)
    );
}

#[test]
fn checklist_08_literals_json_strings_numbers_booleans_null() {
    assert_eq!(
        p(r#"title eq "a\"b\\c\u00e9\n""#),
        Filter::Compare(
            crate::scim::path::AttrPath::simple("title"),
            CompareOp::Eq,
            CompValue::String("a\"b\\c\u{e9}\n".into())
        )
    );
    assert!(matches!(
        p("x gt -1.5e3"),
        Filter::Compare(_, _, CompValue::Number(_))
    ));
    assert!(matches!(
        p("x eq 42"),
        Filter::Compare(_, _, CompValue::Number(_))
    ));
    assert_eq!(
        p("active eq true"),
        Filter::Compare(
            crate::scim::path::AttrPath::simple("active"),
            CompareOp::Eq,
            CompValue::Bool(true)
        )
    );
    assert!(matches!(
        p("x eq false"),
        Filter::Compare(_, _, CompValue::Bool(false))
    ));
    assert!(matches!(
        p("x eq null"),
        Filter::Compare(_, _, CompValue::Null)
    ));
}

#[test]
fn checklist_10_entra_value_path_with_sub_attribute_form_is_read_as_a_conjunction() {
    // Checklist 10: scim-idp.md section 1.8, Entra's matching query.
    let entra = p(r#"emails[type eq "work"].value eq "a@contoso.com""#);
    assert_eq!(
        entra,
        p(r#"emails[type eq "work" and value eq "a@contoso.com"]"#)
    );
    assert_eq!(entra.validate(&user_schema()), Ok(()));
    let user = json!({"userName":"a","emails":[{"type":"work","value":"A@contoso.com"},{"type":"home","value":"b@x.com"}]});
    assert!(entra.matches(&user, &user_schema()));
    let other = json!({"userName":"a","emails":[{"type":"home","value":"a@contoso.com"}]});
    assert!(!entra.matches(&other, &user_schema()));
}

fn err_detail(text: &str) -> String {
    match parse(text) {
        Err(ScimError::InvalidFilter(d)) => d,
        other => panic!("{text:?} should be invalidFilter, got {other:?}"),
    }
}

#[test]
fn parse_errors_name_the_position_and_what_was_expected() {
    let d = err_detail(r#"userName eq"#);
    assert!(d.contains("position 11") && d.contains("a value"), "{d}");
    let d = err_detail(r#"userName regex "x""#);
    assert!(d.contains("position 9") && d.contains("an operator"), "{d}");
    let d = err_detail(r#"(userName eq "x""#);
    assert!(d.contains("')'"), "{d}");
    let d = err_detail(r#"userName eq "x" an title pr"#);
    assert!(
        d.contains("position 16") && d.contains("'an title pr'"),
        "{d}"
    );
    let d = err_detail(r#"userName eq "unterminated"#);
    assert!(d.contains("closing"), "{d}");
    let d = err_detail(r#"emails[type eq "work""#);
    assert!(d.contains("']'"), "{d}");
    let d = err_detail("");
    assert!(d.contains("position 0"), "{d}");
    let d = err_detail(r#"emails[value eq "a" and members[value eq "b"]]"#);
    assert!(d.contains("nested"), "{d}");
    let d = err_detail(r#"userName eq 'x'"#);
    assert!(d.contains("a value"), "{d}");
}

#[test]
fn depth_and_size_budgets_fail_cleanly() {
    let deep = format!(
        "{}title pr{}",
        "(".repeat(MAX_DEPTH + 5),
        ")".repeat(MAX_DEPTH + 5)
    );
    assert!(err_detail(&deep).contains("nesting"));
    let ok_depth = format!(
        "{}title pr{}",
        "(".repeat(MAX_DEPTH - 2),
        ")".repeat(MAX_DEPTH - 2)
    );
    assert!(parse(&ok_depth).is_ok());
    let many = vec!["title pr"; MAX_TERMS + 1].join(" or ");
    assert!(err_detail(&many).contains("comparisons"));
    let nots = "not (".repeat(10_000);
    assert!(parse(&nots).is_err());
}

fn invalid(text: &str) -> String {
    match p(text).validate(&user_schema()) {
        Err(ScimError::InvalidFilter(d)) => d,
        other => panic!("{text:?} should fail validation, got {other:?}"),
    }
}

#[test]
fn checklist_09_10_validation_rejects_unknown_attributes_ordering_on_booleans_and_wrong_types() {
    // Checklist 9 and 10.
    assert!(invalid(r#"nosuch eq "x""#).contains("unknown attribute 'nosuch'"));
    assert!(invalid(r#"name.nosuch eq "x""#).contains("unknown attribute"));
    assert!(invalid(r#"urn:example:ext:1.0:User:x eq "y""#).contains("unknown schema"));
    for op in ["gt", "ge", "lt", "le"] {
        assert!(
            invalid(&format!("active {op} true")).contains("boolean"),
            "{op}"
        );
    }
    assert!(invalid(r#"active co "t""#).contains("boolean"));
    assert!(invalid(r#"userName eq 5"#).contains("string"));
    assert!(invalid(r#"meta.lastModified gt "yesterday""#).contains("dateTime"));
    assert!(invalid(r#"name eq "x""#).contains("complex"));
    assert!(invalid(r#"password eq "x""#).contains("write-only"));
    assert!(invalid(r#"emails[nosub eq "x"]"#).contains("sub-attribute"));
    assert!(invalid(r#"userName gt null"#).contains("null"));
    // Entra's string booleans are fine.
    assert_eq!(p(r#"active eq "True""#).validate(&user_schema()), Ok(()));
}

#[test]
fn checklist_09_every_operator_evaluates_on_strings() {
    let u = json!({"userName":"BJensen@Example.com","title":"Tour Guide"});
    let s = user_schema();
    let yes = |f: &str| assert!(p(f).matches(&u, &s), "{f} should match");
    let no = |f: &str| assert!(!p(f).matches(&u, &s), "{f} should not match");
    yes(r#"userName eq "bjensen@example.com""#);
    no(r#"userName eq "bjensen""#);
    yes(r#"userName ne "bjensen""#);
    yes(r#"userName co "JENSEN""#);
    yes(r#"userName sw "bj""#);
    yes(r#"userName ew ".COM""#);
    no(r#"userName ew ".org""#);
    yes(r#"userName gt "a""#);
    yes(r#"userName ge "bjensen@example.com""#);
    yes(r#"userName lt "c""#);
    yes(r#"userName le "bjensen@example.com""#);
    no(r#"userName lt "b""#);
    yes("title pr");
    no("nickName pr");
    yes(r#"nickName eq null"#);
    yes(r#"nickName ne "x""#);
}

#[test]
fn case_exact_attributes_compare_exactly() {
    let u = json!({"id":"AbC","externalId":"Ext-1","userName":"x"});
    let s = user_schema();
    assert!(p(r#"id eq "AbC""#).matches(&u, &s));
    assert!(!p(r#"id eq "abc""#).matches(&u, &s));
    assert!(!p(r#"externalId eq "ext-1""#).matches(&u, &s));
    assert!(p(r#"externalId eq "Ext-1""#).matches(&u, &s));
}

#[test]
fn booleans_numbers_datetimes_and_multi_valued_any_semantics() {
    let u = json!({
        "userName":"x","active":false,
        "emails":[{"value":"a@work.com","type":"work","primary":true},{"value":"b@home.org","type":"home"}],
        "meta":{"lastModified":"2024-01-02T03:04:05+01:00"}
    });
    let s = user_schema();
    assert!(p("active eq false").matches(&u, &s));
    assert!(p(r#"active eq "False""#).matches(&u, &s));
    assert!(!p("active eq true").matches(&u, &s));
    assert!(p(r#"emails co "home.org""#).matches(&u, &s));
    assert!(p(r#"emails.type eq "home""#).matches(&u, &s));
    assert!(p(r#"emails[type eq "work" and primary eq true]"#).matches(&u, &s));
    assert!(!p(r#"emails[type eq "home" and primary eq true]"#).matches(&u, &s));
    // 03:04:05+01:00 is 02:04:05Z: compared as instants, not as text.
    assert!(p(r#"meta.lastModified gt "2024-01-02T02:00:00Z""#).matches(&u, &s));
    assert!(p(r#"meta.lastModified lt "2024-01-02T02:30:00Z""#).matches(&u, &s));
    assert!(p(r#"meta.lastModified eq "2024-01-02T02:04:05Z""#).matches(&u, &s));
    assert!(p("emails pr").matches(&u, &s));
    assert!(!p("not (emails pr)").matches(&u, &s));
}

#[test]
fn extension_attributes_evaluate_under_their_urn() {
    let ent = crate::scim::urn::ENTERPRISE_USER;
    let u = json!({"userName":"x", ent: {"department":"R&D","manager":{"value":"m1"}}});
    let s = user_schema();
    assert!(p(&format!(r#"{ent}:department eq "r&d""#)).matches(&u, &s));
    assert!(p(&format!(r#"{ent}:manager.value eq "m1""#)).matches(&u, &s));
    // RFC 7643 section 4.3 marks manager.value caseExact false.
    assert!(p(&format!(r#"{ent}:manager.value eq "M1""#)).matches(&u, &s));
    assert!(!p(&format!(r#"{ent}:manager.value eq "m2""#)).matches(&u, &s));
}

#[test]
fn simple_eq_shape_is_recognised_for_targeted_lookups() {
    let f = p(r#"userName eq "a@b.c""#);
    assert_eq!(
        f.as_simple_eq().map(|(p, v)| (p.name.as_str(), v)),
        Some(("userName", "a@b.c"))
    );
    assert!(p(r#"userName co "a""#).as_simple_eq().is_none());
}

#[test]
fn patch_paths_parse() {
    let pe =
        parse_path(r#"emails[type eq "work"].value"#).map(|p| (p.attr.name, p.sub_after_filter));
    assert_eq!(pe, Ok(("emails".into(), Some("value".into()))));
    assert!(parse_path(r#"members[value eq "2819c223"]"#).is_ok_and(|p| p.filter.is_some()));
    assert!(
        parse_path("name.familyName").is_ok_and(|p| p.attr.sub.as_deref() == Some("familyName"))
    );
    for bad in [
        "",
        "emails[type eq \"work\"",
        "emails[type eq]",
        "1abc",
        "emails[type eq \"w\"]x",
        "a.b.c",
    ] {
        assert!(
            matches!(parse_path(bad), Err(ScimError::InvalidPath(_))),
            "{bad:?}"
        );
    }
}

// ---- proptest: parse(print(ast)) == ast ----

fn arb_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,8}".prop_filter("keyword", |s| {
        ![
            "and", "or", "not", "pr", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "true",
            "false", "null",
        ]
        .contains(&s.to_ascii_lowercase().as_str())
    })
}

fn arb_path(allow_urn: bool) -> impl Strategy<Value = crate::scim::path::AttrPath> {
    let urn = if allow_urn {
        prop_oneof![
            Just(None),
            Just(Some(
                "urn:ietf:params:scim:schemas:core:2.0:User".to_string()
            )),
            Just(Some(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string()
            )),
        ]
        .boxed()
    } else {
        Just(None).boxed()
    };
    (urn, arb_name(), proptest::option::of(arb_name()))
        .prop_map(|(urn, name, sub)| crate::scim::path::AttrPath { urn, name, sub })
}

fn arb_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        (-1.0e12f64..1.0e12).prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(CompValue::Number)),
        any::<String>().prop_map(CompValue::String),
    ]
}

fn arb_op() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(CompareOp::ALL.to_vec())
}

fn arb_leaf(allow_urn: bool) -> impl Strategy<Value = Filter> {
    prop_oneof![
        arb_path(allow_urn).prop_map(Filter::Present),
        (arb_path(allow_urn), arb_op(), arb_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
    ]
}

fn arb_tree(leaf: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let value_path = (
        arb_path(true),
        arb_tree(
            arb_leaf(false)
                .prop_map(|f| match f {
                    Filter::Present(mut p) => {
                        p.sub = None;
                        Filter::Present(p)
                    }
                    Filter::Compare(mut p, o, v) => {
                        p.sub = None;
                        Filter::Compare(p, o, v)
                    }
                    other => other,
                })
                .boxed(),
        ),
    )
        .prop_map(|(mut p, inner)| {
            p.sub = None;
            Filter::ValuePath(p, Box::new(inner))
        });
    let leaf = prop_oneof![3 => arb_leaf(true), 1 => value_path].boxed();
    arb_tree(leaf)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn printer_round_trips(f in arb_filter()) {
        let printed = f.to_string();
        prop_assert_eq!(parse(&printed), Ok(f), "printed: {}", printed);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(s in "\\PC{0,200}") {
        let _ = parse(&s);
        let _ = parse_path(&s);
    }
}
