//! The request body extractor: SCIM or plain JSON content types, a size limit, and errors in the
//! SCIM format (413, 415, 400 `invalidSyntax`) rather than actix's plain text.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde_json::Value;

use super::state::AppState;
use crate::scim::ScimError;

/// A JSON request body, parsed. A large one was parsed on the blocking pool, and what the
/// handler makes of it is too ([`ScimBody::read`]).
#[derive(Debug)]
pub struct ScimBody {
    value: Value,
    large: bool,
}

impl ScimBody {
    /// What `f` makes of the body (parse it into a request, put it in canonical form): for a
    /// body larger than [`PARSE_ON_WORKER_BYTES`] on the blocking pool, where the body is also
    /// dropped, so the HTTP worker spends no time in proportion to a large body.
    pub async fn read<T: Send + 'static>(
        self,
        f: impl FnOnce(&Value) -> Result<T, ScimError> + Send + 'static,
    ) -> Result<T, ScimError> {
        if !self.large {
            return f(&self.value);
        }
        off_worker(move || f(&self.value)).await
    }
}

/// Whether a body of `bytes` is large enough to be handled off the HTTP worker.
fn is_large(bytes: usize) -> bool {
    bytes > PARSE_ON_WORKER_BYTES
}

/// `f` on the blocking pool, so that the HTTP worker keeps answering (`/healthz`, other
/// tenants) meanwhile.
async fn off_worker<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ScimError> + Send + 'static,
) -> Result<T, ScimError> {
    web::block(f)
        .await
        .map_err(|e| ScimError::Internal(format!("the request body was not handled: {e}")))?
}

/// `application/scim+json` or `application/json`, with any parameters (checklist 1). A missing
/// Content-Type is read as JSON: some IdP clients omit it, and the body still has to parse.
fn content_type_ok(req: &HttpRequest) -> Result<(), ScimError> {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = ct
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/scim+json" || essence == "application/json" {
        Ok(())
    } else {
        Err(ScimError::UnsupportedMediaType(format!(
            "Content-Type '{essence}' is not accepted; send application/scim+json or application/json"
        )))
    }
}

/// Bodies up to this size are parsed on the HTTP worker (an IdP's user or PATCH is a few KiB,
/// parsed in microseconds); larger ones on the blocking pool: a body near the 1 MiB limit
/// takes milliseconds to parse, and a worker that spends them answers nothing else meanwhile.
pub const PARSE_ON_WORKER_BYTES: usize = 64 * 1024;

fn parse(body: &[u8]) -> Result<ScimBody, ScimError> {
    serde_json::from_slice(body)
        .map(|value| ScimBody {
            value,
            large: is_large(body.len()),
        })
        .map_err(|e| ScimError::InvalidSyntax(format!("the request body is not valid JSON: {e}")))
}

fn too_large(limit: usize) -> ScimError {
    ScimError::PayloadTooLarge(format!(
        "the request body is larger than the {limit} bytes this server accepts"
    ))
}

impl FromRequest for ScimBody {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(1024 * 1024, |s| s.settings.max_body_bytes);
        let early = content_type_ok(req).and_then(|()| {
            let declared = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            match declared {
                Some(n) if n > limit => Err(too_large(limit)),
                _ => Ok(()),
            }
        });
        let mut payload = payload.take();
        Box::pin(async move {
            early?;
            let mut buf = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ScimError::BadRequest(format!("the request body could not be read: {e}"))
                })?;
                if buf.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                buf.extend_from_slice(&chunk);
            }
            if buf.is_empty() {
                return Err(ScimError::InvalidSyntax(
                    "the request body is empty; a JSON object is required".into(),
                ));
            }
            if !is_large(buf.len()) {
                return parse(&buf);
            }
            off_worker(move || parse(&buf)).await
        })
    }
}
