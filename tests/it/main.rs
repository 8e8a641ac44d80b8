//! The integration tests, one binary: each module a concern, each test an IdP's transcript
//! against the real server on a random port (started through `serve::start`, as production
//! starts it) and the emulator. One binary links the crate and its dependencies once; add a
//! module here rather than a file beside `tests/it/`.

// Helpers as well as tests stop loudly on a broken assumption (clippy.toml covers the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Assert what an IdP sees of an answer ([`common::Reply::seen`]: status, content type, the
/// headers it acts on, body) against an inline snapshot, with what differs from run to run
/// (ids, times, versions, the random port) redacted.
macro_rules! assert_seen {
    ($reply:expr, @$snapshot:literal) => {
        insta::assert_json_snapshot!(crate::common::Seen::seen(&$reply), {
            ".**.body.id" => "[id]",
            ".**.meta.created" => "[time]",
            ".**.meta.lastModified" => "[time]",
            ".**.meta.location" => "[location]",
            ".**.meta.version" => "[version]",
            ".**.members[].value" => "[id]",
            ".**.members[].$ref" => "[location]",
            ".**.groups[].value" => "[id]",
            ".**.groups[].$ref" => "[location]",
            ".etag" => "[version]",
            "[].etag" => "[version]",
            ".location" => "[location]",
            "[].location" => "[location]",
        }, @$snapshot)
    };
}

mod common;

mod audit_export;
mod bad_input;
mod bridge;
mod budget_replicas;
mod console;
mod console_browser;
mod console_what_if;
mod custody;
mod drift;
mod exposure;
mod hostile_tenant;
mod moves;
mod moves_crash;
mod moves_replicas;
mod oauth;
mod onboarding;
mod preview;
mod production;
mod protocol;
mod real_deployments;
mod recorded_responses;
mod reliability;
mod reload;
mod replicas;
mod safety;
mod safety_replicas;
mod sealed_session;
mod store_contract;
mod store_tls;
mod tableau_client;
mod tableau_fidelity;
mod tableau_rules;
mod tracing;
