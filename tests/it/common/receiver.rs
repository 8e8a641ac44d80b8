//! A receiver a test starts in place of a collector (a SIEM's HTTP input, an OpenTelemetry
//! collector): one POST route on a free loopback port, its handler sharing a state the test
//! reads afterwards.

use std::sync::Arc;

use actix_web::{web, App, FromRequest, Handler, HttpServer, Responder};

/// Serve `handler` at `POST path` with a `web::Data<T>` of its own: the state, and the URL.
pub fn start_receiver<T, F, Args>(path: &'static str, handler: F) -> (Arc<T>, String)
where
    T: Default + Send + Sync + 'static,
    F: Handler<Args> + Clone + Send + 'static,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let state = web::Data::new(T::default());
    let shared = state.clone().into_inner();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route(path, web::post().to(handler.clone()))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .expect("the receiver binds");
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    (shared, format!("http://{addr}{path}"))
}
