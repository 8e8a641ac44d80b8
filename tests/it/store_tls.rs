//! The PostgreSQL store over TLS, as a managed database asks for it: a cluster that takes TLS
//! connections only, its certificate signed by a CA the test makes and naming `localhost`.
//! `verify-full` refuses a host name the certificate does not give; `verify-ca` checks the
//! chain only; without TLS the server refuses.

use crate::common;

use common::postgres::PgCluster;
use tableau_scim::store::postgres::PgStore;

async fn reaches(url: &str) -> Result<i64, String> {
    PgStore::schema_version_at(url, None)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_checks_the_name_verify_ca_the_chain_and_clear_text_is_refused() {
    let cluster = PgCluster::start_tls();
    let port = cluster.port();
    let ca = cluster
        .ca()
        .expect("a TLS cluster has a CA")
        .display()
        .to_string();
    let url = |host: &str, query: &str| format!("postgres://tscim@{host}:{port}/tscim?{query}");
    let full = format!("sslmode=verify-full&sslrootcert={ca}");
    assert_eq!(
        reaches(&url("localhost", &full)).await,
        Ok(0),
        "the name the certificate gives"
    );
    let wrong = reaches(&url("127.0.0.1", &full)).await;
    assert!(
        wrong
            .as_ref()
            .is_err_and(|e| e.to_lowercase().contains("certificate")),
        "verify-full and a name the certificate does not give: {wrong:?}"
    );
    let ca_only = format!("sslmode=verify-ca&sslrootcert={ca}");
    assert_eq!(
        reaches(&url("127.0.0.1", &ca_only)).await,
        Ok(0),
        "the chain only"
    );
    assert_eq!(
        reaches(&url("127.0.0.1", "sslmode=require")).await,
        Ok(0),
        "encrypted, unverified"
    );
    let clear = reaches(&url("127.0.0.1", "sslmode=disable")).await;
    assert!(
        clear.as_ref().is_err_and(|e| e.contains("pg_hba.conf")),
        "hostssl only: {clear:?}"
    );
    // Another CA's certificate is not trusted, whatever the name.
    let other = tempfile::tempdir().expect("a directory");
    let other_ca = other.path().join("other.pem");
    let stranger =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
    std::fs::write(&other_ca, stranger.cert.pem()).expect("other.pem");
    let untrusted = reaches(&url(
        "localhost",
        &format!("sslmode=verify-ca&sslrootcert={}", other_ca.display()),
    ))
    .await;
    assert!(untrusted.is_err(), "another CA: {untrusted:?}");
    // The store itself (pools, key locks, migrations) over verify-full.
    let store = PgStore::connect(&cluster.url, None).await;
    assert!(store.is_ok(), "{:?}", store.err().map(|e| e.to_string()));
}
