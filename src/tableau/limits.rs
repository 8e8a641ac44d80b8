//! What Tableau can be sent: the shape of its ids, and the names, full names and emails a
//! request may carry. Checked before any call, so that a value Tableau cannot hold costs
//! nothing and is refused with a reason.

/// Longest user name, full name or group name tableau-scim sends. Tableau documents no limit,
/// and its repository types these columns as unbounded `character varying` (Tableau Server
/// data dictionary 2025.3, `_system_users` and `_users`); 255 is chosen as the bound, above
/// any user principal name or email an IdP issues.
pub const MAX_NAME_CHARS: usize = 255;

/// Longest email: an address is at most 254 characters (RFC 5321 section 4.5.3.1.3, a path of
/// 256 including its angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Whether `id` can be a Tableau LUID: a UUID in its 8-4-4-4-12 hexadecimal form, as every id
/// in Tableau's REST reference and tableauserverclient's recorded responses is. Anything else
/// names nothing in Tableau and needs no call to say so.
pub fn is_luid(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Why `value` cannot be sent as a name, full name or email of at most `max` characters:
/// empty, too long, or holding a control character. XML 1.0 cannot carry most control
/// characters at all (section 2.2, `Char`), and none belongs in a name.
pub fn text_problem(value: &str, max: usize) -> Option<String> {
    if value.trim().is_empty() {
        return Some("it is empty".into());
    }
    let chars = value.chars().count();
    if chars > max {
        return Some(format!(
            "it is {chars} characters long; at most {max} are accepted"
        ));
    }
    value
        .chars()
        .find(|c| c.is_control())
        .map(|c| format!("it holds the control character U+{:04X}", u32::from(c)))
}

/// Why `value` cannot be a Tableau user name: as [`text_problem`], and a semicolon, which
/// Tableau does not allow in user names (Tableau Server help, "Add Users to a Site":
/// "Characters not allowed in user names include the semi-colon (;)").
pub fn user_name_problem(value: &str) -> Option<String> {
    text_problem(value, MAX_NAME_CHARS).or_else(|| {
        value
            .contains(';')
            .then(|| "Tableau does not allow ';' in user names".to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luids_are_uuids_and_nothing_else_is() {
        assert!(is_luid("6b7179ba-b82b-4f0f-91ed-812074ac5da6"));
        assert!(is_luid("6B7179BA-B82B-4F0F-91ED-812074AC5DA6"));
        for not in [
            "",
            "x",
            "6b7179ba-b82b-4f0f-91ed-812074ac5da",
            "6b7179ba-b82b-4f0f-91ed-812074ac5da6a",
            "6b7179bab82b-4f0f-91ed-812074ac5da6-",
            "6b7179ba-b82b-4f0f-91ed-812074ac5dg6",
            "../users/6b7179ba-b82b-4f0f-91ed-8120",
        ] {
            assert!(!is_luid(not), "{not}");
        }
    }

    #[test]
    fn names_are_refused_for_control_characters_length_and_semicolons() {
        assert_eq!(user_name_problem("ann@example.com"), None);
        assert_eq!(text_problem("Zoë Ünal-O'Brien 王", MAX_NAME_CHARS), None);
        assert!(user_name_problem("a\u{0}b").is_some_and(|m| m.contains("U+0000")));
        assert!(text_problem("tab\there", MAX_NAME_CHARS).is_some());
        assert!(text_problem("del\u{7f}", MAX_NAME_CHARS).is_some());
        assert!(text_problem("c1\u{85}", MAX_NAME_CHARS).is_some());
        assert!(user_name_problem(&"a".repeat(10_000)).is_some_and(|m| m.contains("10000")));
        assert_eq!(
            text_problem(&"é".repeat(255), MAX_NAME_CHARS),
            None,
            "characters, not bytes"
        );
        assert!(text_problem(&"a".repeat(255), MAX_EMAIL_CHARS).is_some());
        assert!(user_name_problem("a;b").is_some());
        assert!(user_name_problem("  ").is_some());
    }
}
