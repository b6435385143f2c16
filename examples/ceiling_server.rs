//! The load generator's ceiling, for the replay benchmark: answers the benchmark's request with fixed bytes
//! and does no HTTP at all. It reads whatever arrives, counts the requests in it by the end of their body
//! (`"MaxResults": 4}`; wrk writes each request whole), and writes one canned response for each. Nothing real
//! should answer like this; it shows how many requests per second wrk can drive through one core's worth of
//! server at all, so a server near it has nothing left to gain in the benchmark.
//!
//!     cargo run --release --example ceiling_server -- BODY_FILE [ADDR]

use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    snomed_vcr::server::runtime().expect("runtime").block_on(serve());
}

async fn serve() {
    let mut args = std::env::args().skip(1);
    let body = std::fs::read(args.next().expect("usage: ceiling_server BODY_FILE [ADDR]")).expect("readable body file");
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let mut response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    let response: &'static [u8] = response.leak();
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().unwrap());
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let end_of_request = memchr::memmem::Finder::new(br#""MaxResults": 4}"#);
            let (mut input, mut output) = (vec![0u8; 8192], Vec::new());
            loop {
                let n = match stream.read(&mut input).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                output.clear();
                for _ in end_of_request.find_iter(&input[..n]) {
                    output.extend_from_slice(response);
                }
                if stream.write_all(&output).await.is_err() {
                    return;
                }
            }
        });
    }
}
