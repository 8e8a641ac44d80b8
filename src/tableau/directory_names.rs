//! How Tableau Server on Active Directory (or LDAP) names users, and how an IdP's name for a
//! user relates to it. Add User on such a server takes the directory's account and stores
//! "the sAMAccountName value" (knowledge-base article "Importing UPN Prefix as Username in
//! Non-Standard Scenarios with Active Directory"), with the user's `<domain name>` the
//! directory's; an IdP names the same person by UPN (`jsmith@corp.example.com`) or
//! domain-qualified account (`CORP\jsmith`). Pure.

use super::model::User;

/// The domains that are not a directory: `local` (Tableau's own identity store), and Tableau
/// Cloud's `TABID_WITH_MFA` and `external` (the migration SDK's `Constants.cs`: `LocalDomain`,
/// `TableauIdWithMfaDomain`, `ExternalDomain`; TSC's recordings show `local` and
/// `TABID_WITH_MFA`).
pub fn is_directory_domain(domain: &str) -> bool {
    !["local", "TABID_WITH_MFA", "external"]
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain))
}

/// Whether `user` belongs to a directory (its `<domain>` is one).
pub fn in_directory(user: &User) -> bool {
    user.domain.as_deref().is_some_and(is_directory_domain)
}

/// The account an IdP's name holds, and the domain it names: `jsmith@corp.example.com` and
/// `CORP\jsmith` are `jsmith` of `corp.example.com` and of `CORP`. `None` for a bare name.
pub fn account_of(idp_name: &str) -> Option<(&str, &str)> {
    if let Some((domain, account)) = idp_name.split_once('\\') {
        return (!domain.is_empty() && !account.is_empty()).then_some((account, domain));
    }
    let (account, domain) = idp_name.rsplit_once('@')?;
    (!account.is_empty() && !domain.is_empty()).then_some((account, domain))
}

/// Whether `domain` (as the IdP's name writes it: a UPN suffix or a nickname) is the
/// directory domain `of` (as Tableau shows it): the same name, one a subdomain of the other
/// (a UPN suffix `example.com` of the domain `corp.example.com`), or the nickname as the
/// domain's first label (`CORP` of `corp.example.com`).
fn same_domain(domain: &str, of: &str) -> bool {
    let (d, o) = (domain.to_ascii_lowercase(), of.to_ascii_lowercase());
    d == o
        || o.ends_with(&format!(".{d}"))
        || d.ends_with(&format!(".{o}"))
        || o.split('.').next() == Some(d.as_str())
}

/// Whether the IdP's `idp_name` names the directory user `user` of an Active Directory site:
/// its account is the user's name (any letter case) and its domain is the user's, or the name
/// is the user's email. A user of Tableau's own identity store never matches a name of
/// another form: binding the IdP to it would hand it another person's account.
pub fn names_directory_user(idp_name: &str, user: &User) -> bool {
    if !in_directory(user) {
        return false;
    }
    if user
        .email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(idp_name))
    {
        return true;
    }
    let Some((account, domain)) = account_of(idp_name) else {
        return false;
    };
    user.name.eq_ignore_ascii_case(account)
        && user
            .domain
            .as_deref()
            .is_some_and(|of| same_domain(domain, of))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, domain: &str, email: Option<&str>) -> User {
        User {
            id: "u".into(),
            name: name.into(),
            domain: Some(domain.into()),
            email: email.map(Into::into),
            ..User::default()
        }
    }

    #[test]
    fn an_idp_name_matches_a_directory_account_in_both_forms() {
        let jsmith = user("jsmith", "corp.example.com", Some("john.smith@example.com"));
        for name in [
            "jsmith@corp.example.com",
            "JSmith@example.com",
            "CORP\\jsmith",
            "corp.example.com\\jsmith",
            "john.smith@example.com",
        ] {
            assert!(names_directory_user(name, &jsmith), "{name}");
        }
        for name in [
            "jsmith@other.org",
            "OTHER\\jsmith",
            "jdoe@corp.example.com",
            "jsmith",
        ] {
            assert!(!names_directory_user(name, &jsmith), "{name}");
        }
        let local = user("jsmith", "local", None);
        assert!(
            !names_directory_user("jsmith@corp.example.com", &local),
            "Tableau's own users match only by their exact name"
        );
        assert!(is_directory_domain("corp.example.com"));
        assert!(!is_directory_domain("TABID_WITH_MFA") && !is_directory_domain("Local"));
        assert_eq!(account_of("a@b"), Some(("a", "b")));
        assert_eq!(account_of("D\\a"), Some(("a", "D")));
        assert_eq!(account_of("plain"), None);
    }
}
