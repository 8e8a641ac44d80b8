//! The HTTP client the OpenID Connect crate calls (discovery, keys, the code exchange): our
//! reqwest (rustls), following no redirect (a redirect from the provider could point the
//! server at an internal address), timing out, and reading at most [`MAX_ANSWER_BYTES`] of an
//! answer, so a provider cannot grow our memory.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The most of a provider's answer we read (a discovery document or a key set is a few KiB).
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// How long one call to the provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call to the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderHttpError {
    /// Transport: the provider unreachable, TLS refused, a timeout.
    #[error("the identity provider did not answer: {0}")]
    Transport(#[from] reqwest::Error),
    /// The request or the answer could not be built.
    #[error("a request to the identity provider could not be built: {0}")]
    Http(#[from] openidconnect::http::Error),
    /// The answer was larger than [`MAX_ANSWER_BYTES`].
    #[error("the identity provider's answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
}

/// A reqwest client for the provider.
#[derive(Debug, Clone)]
pub struct ProviderHttp(reqwest::Client);

impl ProviderHttp {
    /// A client trusting the system's roots, plus `ca` when the provider's certificate comes
    /// from a private authority.
    pub fn new(ca: Option<&std::path::Path>) -> Result<ProviderHttp, String> {
        let mut b = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = ca {
            let pem = std::fs::read(path)
                .map_err(|e| format!("server.console_oidc.ca_file {}: {e}", path.display()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("server.console_oidc.ca_file {}: {e}", path.display()))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        b.build()
            .map(ProviderHttp)
            .map_err(|e| format!("server.console_oidc: {e}"))
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = ProviderHttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, ProviderHttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut answer = self.0.execute(reqwest::Request::try_from(request)?).await?;
            let mut b = openidconnect::http::Response::builder().status(answer.status());
            for (k, v) in answer.headers() {
                b = b.header(k, v);
            }
            let mut body = Vec::new();
            while let Some(chunk) = answer.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(ProviderHttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(b.body(body)?)
        })
    }
}
