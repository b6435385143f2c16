//! The benchmark baseline: the least an HTTP server on this stack can do per request. hyper 1 with
//! hyper-util's auto builder on the runtime `snomed-vcr` itself runs on (`server::runtime`: single-threaded
//! when the process may use one CPU, as the pinned benchmarks do), reading each request body and answering
//! the same bytes (a file's contents) with a JSON content type. Prints `listening on http://ADDR` like the
//! real servers. It keeps hyper's defaults, as a minimal server would; `snomed-vcr`'s own serve loop turns
//! vectored writes off (`server::serve_with_tls`), which saves it some kernel work per response.
//!
//!     cargo run --release --example fixed_server -- BODY_FILE [ADDR]

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

fn main() {
    snomed_vcr::server::runtime().expect("runtime").block_on(serve());
}

async fn serve() {
    let mut args = std::env::args().skip(1);
    let body = Bytes::from(
        std::fs::read(args.next().expect("usage: fixed_server BODY_FILE [ADDR]")).expect("readable body file"),
    );
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().unwrap());
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let body = body.clone();
                async move {
                    let _ = req.into_body().collect().await;
                    let mut resp = Response::new(Full::new(body));
                    resp.headers_mut().insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
