//! A benchmark baseline between the minimal hyper server (`fixed_server.rs`) and replay: `snomed-vcr`'s own
//! serve loop (timeouts, watchdog, graceful shutdown, one write per response) around a handler that answers
//! the same bytes as the minimal server does (a file's contents, JSON content type, no request id), without
//! looking at the request. Beside the other two (`bench/ceiling.sh`), it splits replay's cost over the minimal
//! server into the serve loop's and the replay handler's. Prints `listening on http://ADDR`.
//!
//!     cargo run --release --example serve_loop -- BODY_FILE

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use snomed_vcr::server::{Handler, ServerConfig, runtime, serve};

/// Answers every request with the same body.
struct Fixed(Bytes);

impl Handler for Fixed {
    async fn handle(&self, _: Request<Bytes>) -> Response<Bytes> {
        let mut response = Response::new(self.0.clone());
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
        response
    }
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: serve_loop BODY_FILE");
    let body = Bytes::from(std::fs::read(&path).expect("readable body file"));
    runtime().expect("runtime").block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("listening on http://{}", listener.local_addr().expect("bound"));
        serve(listener, Arc::new(Fixed(body)), ServerConfig::default(), std::future::pending()).await;
    });
}
