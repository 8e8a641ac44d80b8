//! What Tableau can be sent: the shape of its ids, and the names, full names and emails a
//! request may carry. Checked before any call, so that a value Tableau cannot hold costs
//! nothing and is refused with a reason.

use super::Deployment;

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

/// Why `value` cannot be a Tableau user name on `deployment`: as [`text_problem`]; a
/// semicolon or a comma ("Characters not allowed in user names include the semi-colon (;) and
/// colon (,)", Tableau Server help "Add Users to a Site", `sites_addusers.htm`: the page names a
/// colon but shows a comma, and only the comma is refused here, as the glyph the page prints; a
/// comma also cannot be sent in a Tableau filter); and on Tableau Cloud anything but an email
/// address, the sign-in name there ([`Deployment::names_are_emails`]).
pub fn user_name_problem(value: &str, deployment: Deployment) -> Option<String> {
    if let Some(p) = text_problem(value, MAX_NAME_CHARS) {
        return Some(p);
    }
    if let Some(c) = value.chars().find(|c| matches!(c, ';' | ',')) {
        return Some(format!("Tableau does not allow '{c}' in user names"));
    }
    if deployment.names_are_emails() && !is_email_address(value) {
        return Some(
            "on Tableau Cloud a user name is the email address the user signs in with, such as ann@example.com".into(),
        );
    }
    None
}

/// Whether `value` has the form of an email address: one `@` between a local part and a domain
/// of at least two labels, no white space. The form Tableau Cloud's sign-in names take; whether
/// a mailbox exists is not ours to know.
pub fn is_email_address(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && !value.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
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
    fn names_are_refused_for_control_characters_length_separators_and_on_cloud_non_emails() {
        assert_eq!(
            user_name_problem("ann@example.com", Deployment::Cloud),
            None
        );
        assert_eq!(text_problem("Zoë Ünal-O'Brien 王", MAX_NAME_CHARS), None);
        assert!(
            user_name_problem("a\u{0}b", Deployment::Server).is_some_and(|m| m.contains("U+0000"))
        );
        assert!(text_problem("tab\there", MAX_NAME_CHARS).is_some());
        assert!(text_problem("del\u{7f}", MAX_NAME_CHARS).is_some());
        assert!(text_problem("c1\u{85}", MAX_NAME_CHARS).is_some());
        assert!(user_name_problem(&"a".repeat(10_000), Deployment::Server)
            .is_some_and(|m| m.contains("10000")));
        assert_eq!(
            text_problem(&"é".repeat(255), MAX_NAME_CHARS),
            None,
            "characters, not bytes"
        );
        assert!(text_problem(&"a".repeat(255), MAX_EMAIL_CHARS).is_some());
        assert!(user_name_problem("a;b", Deployment::Server).is_some());
        assert!(
            user_name_problem("smith, ann", Deployment::Server).is_some_and(|m| m.contains("','"))
        );
        assert!(user_name_problem("  ", Deployment::Server).is_some());
        assert_eq!(
            user_name_problem("ann", Deployment::Server),
            None,
            "Server names are free-form"
        );
        for not_email in [
            "ann",
            "UserName123",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@example.",
            "a b@example.com",
            "a@b@example.com",
        ] {
            assert!(
                user_name_problem(not_email, Deployment::Cloud)
                    .is_some_and(|m| m.contains("email")),
                "{not_email}"
            );
        }
        assert!(is_email_address("o'malley+tableau@sub.example.co.uk"));
    }
}
