//! The exporter's HTTP client: our reqwest (rustls, no second TLS stack), with each request run
//! on the server's runtime, since the SDK's batch thread has no runtime of its own. A
//! collector's answer is read up to 64 KiB: its body says only why it refused a batch.

use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// The most of a collector's answer we read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A reqwest client whose requests run on `runtime`.
#[derive(Debug)]
pub(super) struct OtlpClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl OtlpClient {
    pub(super) fn new(runtime: tokio::runtime::Handle) -> Result<OtlpClient, String> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("server.tracing: {e}"))?;
        Ok(OtlpClient { http, runtime })
    }
}

#[async_trait]
impl HttpClient for OtlpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let http = self.http.clone();
        let sent = self.runtime.spawn(async move {
            let mut answer = http
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let status = answer.status();
            let mut read = Vec::new();
            while let Some(chunk) = answer.chunk().await? {
                let room = MAX_ANSWER_BYTES.saturating_sub(read.len());
                read.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if room <= chunk.len() {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, read))
        });
        let (status, read) = sent.await??;
        Ok(Response::builder().status(status).body(Bytes::from(read))?)
    }
}
