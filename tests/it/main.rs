//! The integration tests, one binary: each module a concern, each test an IdP's transcript
//! against the real server on a random port (started through `serve::start`, as production
//! starts it) and the emulator. One binary links the crate and its dependencies once; add a
//! module here rather than a file beside `tests/it/`.

// Helpers as well as tests stop loudly on a broken assumption (clippy.toml covers the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod bad_input;
mod bridge;
mod console;
mod drift;
mod exposure;
mod hostile_tenant;
mod onboarding;
mod production;
mod protocol;
mod real_deployments;
mod recorded_responses;
mod reliability;
mod replicas;
mod store_contract;
mod tableau_client;
mod tableau_fidelity;
mod tableau_rules;
