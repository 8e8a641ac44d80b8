//! Protocol tests over HTTP: the real server on a random port, an in-memory store per test.
//! Each checklist item of `../shared/reference/scim-idp.md` that belongs to the protocol layer
//! has a test named `checklist_NN_...`, in the module of its endpoint.

use crate::common;

use std::sync::Arc;

use common::Idp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::backend::memory::MemoryStore;
use tableau_scim::http::{self, AppState, HttpSettings, TokenDigest, TokenSet};

mod auth;
mod discovery;
mod errors;
mod groups;
mod users;

const TOKEN: &str = "test-token-1";
const SECOND_TOKEN: &str = "test-token-2";
const MAX_BODY: usize = 8 * 1024;
const MAX_PAGE: usize = 5;

/// A protocol-only server (the in-memory store) with two accepted tokens, small limits, and an
/// IdP holding the first token.
async fn spawn() -> Idp {
    let state = AppState::single(
        Arc::new(MemoryStore::new()),
        TokenSet::new(vec![TokenDigest::of(TOKEN), TokenDigest::of(SECOND_TOKEN)]),
        HttpSettings {
            max_body_bytes: MAX_BODY,
            max_page_size: MAX_PAGE,
            ..HttpSettings::default()
        },
    );
    let server = http::start("127.0.0.1:0", state, 1).expect("the server starts");
    Idp::new(&format!("http://{}/scim/v2", server.addr), TOKEN)
}

/// POST a user with a name and a primary work email; it must be created.
async fn create_user(app: &Idp, user_name: &str) -> Value {
    let r = app.request(Method::POST, "/Users", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":user_name,
        "name":{"givenName":"G","familyName":"F"},"emails":[{"value":user_name,"type":"work","primary":true}],"active":true}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

// ---- discovery ----

// ---- auth ----

// ---- bodies ----

// ---- create, read, uniqueness ----

// ---- paging ----

// ---- attributes ----

// ---- search ----

// ---- PUT, PATCH, ETags ----

// ---- IdP flows ----
