//! One name, one account. User names follow PRECIS's username profiles (RFC 8265): a name is
//! accepted only in its canonical form (UsernameCasePreserved: Unicode normalisation form C,
//! width-mapped, no disallowed code point: bidi and zero-width controls, non-characters,
//! compatibility look-alikes such as U+212A KELVIN SIGN for `K`), and two names are the same
//! account when their UsernameCaseMapped forms are equal. A space separates userparts, each
//! held to the profile (RFC 8265 section 3.5: Tableau Server names may hold spaces). Group
//! and display names follow the Nickname profile (RFC 8266). Pure.

use precis_core::profile::Profile;
use precis_profiles::{Nickname, UsernameCaseMapped, UsernameCasePreserved};

/// The userparts of a name: space-separated, none empty (no leading, trailing or doubled
/// space).
fn userparts(name: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = name.split(' ').collect();
    parts.iter().all(|p| !p.is_empty()).then_some(parts)
}

/// Whether a userpart is printable ASCII only (U+0021 to U+007E). The username profiles take
/// such a part as it is (RFC 8264 section 9.11: ASCII7 is PVALID in the IdentifierClass; width
/// mapping and NFC change no ASCII; the Bidi Rule concerns only parts with right-to-left
/// characters, RFC 8265 section 3.3.3), and case-map it to its ASCII lower case: the answer
/// without the profile's tables, which cost a lookup the most of its time (checked against the
/// profile for every such character in the tests).
fn plain_ascii(part: &str) -> bool {
    part.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Why `name` is not a user name in its canonical form, or `None` when it is.
pub fn user_name_problem(name: &str) -> Option<String> {
    let Some(parts) = userparts(name) else {
        return Some("it has a leading, trailing or doubled space".into());
    };
    if parts.iter().all(|p| plain_ascii(p)) {
        return None;
    }
    let profile = UsernameCasePreserved::new();
    let mut canonical = Vec::with_capacity(parts.len());
    for part in parts {
        match profile.enforce(part) {
            Ok(c) => canonical.push(c.to_string()),
            Err(e) => {
                return Some(format!(
                    "it holds a character user names may not hold ({})",
                    describe(&e, part)
                ))
            }
        }
    }
    let canonical = canonical.join(" ");
    (canonical != name).then(|| {
        format!(
            "it is not in its canonical form (Unicode NFC, full-width letters mapped: '{canonical}'); send that form"
        )
    })
}

/// Whether two user names name one account: their UsernameCaseMapped forms are equal. A name
/// the profile refuses is only ever the same as itself.
pub fn same_account(a: &str, b: &str) -> bool {
    match (case_mapped(a), case_mapped(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The UsernameCaseMapped form of a name, userpart by userpart; `None` when refused.
pub fn case_mapped(name: &str) -> Option<String> {
    let parts = userparts(name)?;
    if parts.iter().all(|p| plain_ascii(p)) {
        return Some(name.to_ascii_lowercase());
    }
    let profile = UsernameCaseMapped::new();
    let mapped: Option<Vec<String>> = parts
        .iter()
        .map(|p| profile.enforce(*p).ok().map(|c| c.to_string()))
        .collect();
    mapped.map(|m| m.join(" "))
}

/// Why `name` cannot be a group name: what the Nickname profile refuses, or a form other than
/// its own (leading, trailing or doubled spaces, another normalisation form): two groups must
/// not look alike.
pub fn group_name_problem(name: &str) -> Option<String> {
    match Nickname::new().enforce(name) {
        Ok(c) if c == name => None,
        Ok(c) => Some(format!(
            "it is not in its canonical form ('{c}': spaces trimmed and single, Unicode NFC); send that form"
        )),
        Err(e) => Some(format!("it holds a character names may not hold ({})", describe(&e, name))),
    }
}

/// Why `name` cannot be a display name (a full name): what the Nickname profile refuses, or a
/// leading or trailing space. Other differences from its canonical form (a doubled space) are
/// let through: a display name is shown, not matched.
pub fn display_name_problem(name: &str) -> Option<String> {
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Some("it has a leading or trailing space".into());
    }
    Nickname::new().enforce(name).err().map(|e| {
        format!(
            "it holds a character names may not hold ({})",
            describe(&e, name)
        )
    })
}

/// The offending code point of a PRECIS error, as `U+XXXX`.
fn describe(e: &precis_core::Error, text: &str) -> String {
    match e {
        precis_core::Error::BadCodepoint(info) => format!("U+{:04X}", info.cp),
        _ => format!("'{text}' is refused by the PRECIS profile"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII shortcut answers what the profiles answer, for every printable ASCII
    /// character alone, in pairs and in a name of several userparts.
    #[test]
    fn printable_ascii_is_answered_as_the_profiles_answer() {
        let chars: Vec<char> = (0x21u8..=0x7e).map(char::from).collect();
        let mut names: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
        for a in &chars {
            for b in &chars {
                names.push(format!("{a}{b}"));
            }
        }
        names.push("Ann.O'Neil+Test@Example.COM x_Y".into());
        for name in &names {
            let parts = userparts(name).unwrap_or_default();
            let preserved: Option<Vec<String>> = parts
                .iter()
                .map(|p| {
                    UsernameCasePreserved::new()
                        .enforce(*p)
                        .ok()
                        .map(|c| c.to_string())
                })
                .collect();
            assert_eq!(
                preserved.map(|p| p.join(" ")).as_deref(),
                Some(name.as_str()),
                "{name}"
            );
            let mapped: Option<Vec<String>> = parts
                .iter()
                .map(|p| {
                    UsernameCaseMapped::new()
                        .enforce(*p)
                        .ok()
                        .map(|c| c.to_string())
                })
                .collect();
            assert_eq!(mapped.map(|m| m.join(" ")), case_mapped(name), "{name}");
            assert_eq!(user_name_problem(name), None, "{name}");
        }
    }

    #[test]
    fn a_user_name_is_accepted_only_in_its_canonical_form() {
        for ok in [
            "kate@example.com",
            "Kate@example.com",
            "o'brien+x@example.com",
            "CORP\\jsmith",
            "\u{e9}mile@x.com",
            "王@x.cn",
            "Jean Dupont",
        ] {
            assert_eq!(user_name_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("\u{212A}ate@example.com", "U+212A"),
            (" kate@example.com", "space"),
            ("kate@example.com ", "space"),
            ("Jean  Dupont", "space"),
            ("e\u{301}mile@x.com", "canonical form"),
            ("\u{ff41}bc@x.com", "canonical form"),
            ("a\u{200b}b@x.com", "U+200B"),
            ("a\u{202e}b@x.com", "U+202E"),
            ("\u{fffe}x@y.com", "U+FFFE"),
        ] {
            assert!(
                user_name_problem(bad).is_some_and(|m| m.contains(why)),
                "{bad:?}: {:?}",
                user_name_problem(bad)
            );
        }
    }

    #[test]
    fn names_are_one_account_in_any_letter_case_and_never_a_look_alike() {
        assert!(same_account("Kate@Example.com", "kate@example.com"));
        assert!(
            !same_account("\u{212A}ate@example.com", "kate@example.com"),
            "KELVIN SIGN is not K"
        );
        assert!(!same_account("kate@example.com", "kate2@example.com"));
        assert!(same_account("Jean Dupont", "jean dupont"));
    }

    #[test]
    fn group_and_display_names_refuse_controls_and_stray_spaces() {
        assert_eq!(group_name_problem("Finance EMEA"), None);
        assert!(group_name_problem(" Finance").is_some());
        assert!(group_name_problem("Finance  EMEA").is_some());
        assert!(group_name_problem("Fin\u{200b}ance").is_some_and(|m| m.contains("U+200B")));
        assert_eq!(display_name_problem("Ann  Lee"), None, "shown, not matched");
        assert!(display_name_problem("Ann Lee ").is_some());
        assert!(display_name_problem("Ann\u{202e}Lee").is_some());
    }
}
