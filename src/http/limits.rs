//! Bounds on what a client sends, and on what of it we repeat. A URL or headers larger than
//! we read are refused with a SCIM error before routing (larger still, actix-web's own parser
//! answers 431 without a body); what a client sent is quoted in messages and logs only in
//! part; metric labels come from closed sets.

use actix_web::http::Method;

use crate::scim::{truncated, ScimError};

/// Longest request target (path and query) read: RFC 9110 section 4.1 asks servers to take at
/// least 8,000 octets; SCIM requests need a fraction of it.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// Largest sum of header names and values read.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// How much of a path is repeated in a message or a log line.
pub const QUOTED_PATH_CHARS: usize = 200;

/// Refuse a request whose target or headers are larger than we read.
pub fn check_sizes(target_bytes: usize, header_bytes: usize) -> Result<(), ScimError> {
    if target_bytes > MAX_URL_BYTES {
        return Err(ScimError::UriTooLong(format!(
            "the request URL is {target_bytes} bytes long; at most {MAX_URL_BYTES} are read"
        )));
    }
    if header_bytes > MAX_HEADER_BYTES {
        return Err(ScimError::HeadersTooLarge(format!(
            "the request headers are {header_bytes} bytes long; at most {MAX_HEADER_BYTES} are read"
        )));
    }
    Ok(())
}

/// A path as messages and logs repeat it.
pub fn quoted_path(path: &str) -> String {
    truncated(path, QUOTED_PATH_CHARS)
}

/// A method as messages repeat it: any token the HTTP parser accepts, so cut short.
pub fn quoted_method(method: &Method) -> String {
    truncated(method.as_str(), 16)
}

/// The metric label of a method: the five SCIM methods, `other` for anything else (a client
/// may send any token as a method).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_past_the_bounds_are_scim_errors() {
        assert!(check_sizes(MAX_URL_BYTES, MAX_HEADER_BYTES).is_ok());
        assert_eq!(
            check_sizes(MAX_URL_BYTES + 1, 0).map_err(|e| e.status_and_type().0),
            Err(414)
        );
        assert_eq!(
            check_sizes(10, MAX_HEADER_BYTES + 1).map_err(|e| e.status_and_type().0),
            Err(431)
        );
    }

    #[test]
    fn made_up_methods_share_one_label_and_are_quoted_short() {
        let odd = Method::from_bytes(&[b'X'; 4000]).unwrap_or(Method::OPTIONS);
        assert_eq!(method_label(&odd), "other");
        assert_eq!(method_label(&Method::OPTIONS), "other");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert!(quoted_method(&odd).chars().count() <= 17);
        assert!(quoted_path(&"/a".repeat(5000)).chars().count() <= QUOTED_PATH_CHARS + 1);
    }
}
