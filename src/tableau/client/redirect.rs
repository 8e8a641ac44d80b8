//! Following a redirect by hand. Tableau Cloud answers a sign-in sent to the wrong pod with a
//! 301 to the right one; an HTTP client that follows it turns the POST into a GET without its
//! body, and Tableau answers 405000 (REST reference, Sign In errors). tableauserverclient
//! therefore turns automatic redirects off and posts again to `Location`
//! (`auth_endpoint.sign_in`); so does tableau-scim, and it then sends the session's calls to
//! the address it was sent to.

use reqwest::Url;

/// Most redirects followed for one request.
pub(super) const MAX_HOPS: usize = 3;

/// Whether a status is a redirect with a `Location` to follow.
pub(super) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Where a redirect of a request to `from` leads: `location` resolved against `from`. A
/// redirect from HTTPS to plain HTTP is refused: credentials would travel in clear.
pub(super) fn next_hop(from: &str, location: &str) -> Result<Url, String> {
    let base = Url::parse(from).map_err(|e| format!("'{from}' is not a URL: {e}"))?;
    let next = base
        .join(location)
        .map_err(|e| format!("Tableau redirected to '{location}', which is not a URL: {e}"))?;
    if base.scheme() == "https" && next.scheme() != "https" {
        return Err(format!(
            "Tableau redirected from HTTPS to '{next}'; refusing to send credentials without TLS"
        ));
    }
    let (from_host, to_host) = (base.host_str().unwrap_or(""), next.host_str().unwrap_or(""));
    if !same_tableau(from_host, to_host) {
        return Err(format!(
            "Tableau redirected from {from_host} to {to_host}, outside the configured Tableau's domain; refusing to send credentials there"
        ));
    }
    Ok(next)
}

/// Whether a redirect from `from` to `to` stays with the configured Tableau: the same host, a
/// host of its domain (the configured host without its first label: a Tableau Cloud sign-in at
/// `online.tableau.com` goes to `prod-useast-b.online.tableau.com`, one at a pod to another
/// pod), or loopback to loopback (a local emulator). A redirect elsewhere would hand the
/// credentials of a site administrator to whoever answers there.
fn same_tableau(from: &str, to: &str) -> bool {
    let (from, to) = (from.to_ascii_lowercase(), to.to_ascii_lowercase());
    if from == to || (is_loopback(&from) && is_loopback(&to)) {
        return true;
    }
    let labels: Vec<&str> = from.split('.').collect();
    if labels.len() < 3 {
        return to.ends_with(&format!(".{from}"));
    }
    let domain = labels[1..].join(".");
    to == domain || to.ends_with(&format!(".{domain}"))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The server address of an API URL: everything before `/api/` (a server may sit under a
/// path), or the origin when there is no `/api/`.
pub(super) fn server_address(url: &str) -> String {
    if let Some(i) = url.find("/api/") {
        return url[..i].to_string();
    }
    match Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.trim_end_matches('/').to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_redirect_is_followed_to_the_pod_and_never_off_tls() {
        let from = "https://online.tableau.com/api/3.27/auth/signin";
        let to = next_hop(
            from,
            "https://prod-useast-b.online.tableau.com/api/3.27/auth/signin",
        );
        assert_eq!(
            to.as_ref().map(|u| server_address(u.as_str())),
            Ok("https://prod-useast-b.online.tableau.com".to_string())
        );
        let relative = next_hop(from, "/api/3.27/auth/signin").map(|u| u.to_string());
        assert_eq!(relative.as_deref(), Ok(from));
        assert!(next_hop(from, "http://evil.example/api/3.27/auth/signin").is_err());
        assert!(next_hop(
            "http://127.0.0.1:1/api/3.27/auth/signin",
            "http://localhost:1/x"
        )
        .is_ok());
        assert_eq!(
            server_address("https://t.example.com/tableau/api/3.24/auth/signin"),
            "https://t.example.com/tableau"
        );
        assert!(is_redirect(301) && is_redirect(308) && !is_redirect(304) && !is_redirect(200));
        let pod = "https://prod-useast-b.online.tableau.com/api/3.27/auth/signin";
        assert!(
            next_hop(
                pod,
                "https://prod-uswest-a.online.tableau.com/api/3.27/auth/signin"
            )
            .is_ok(),
            "pod to pod"
        );
        for elsewhere in [
            "https://evil.example/api/3.27/auth/signin",
            "https://online.tableau.com.evil.example/x",
            "https://tableau.com.evil.example/x",
        ] {
            assert!(next_hop(from, elsewhere).is_err(), "{elsewhere}");
            assert!(next_hop(pod, elsewhere).is_err(), "{elsewhere}");
        }
        assert!(next_hop(
            "https://tableau.corp.example/api/3.24/x",
            "https://tableau2.corp.example/api/3.24/x"
        )
        .is_ok());
        assert!(
            next_hop("http://127.0.0.1:1/x", "http://10.0.0.5:1/x").is_err(),
            "loopback stays local"
        );
    }
}
