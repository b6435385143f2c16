//! A hostile implementation of the operation, for proving that `diff` and `fuzz` stay bounded in time and
//! memory whatever a target does. It answers its first `AFTER` requests as the reference does, then every
//! request the way its mode says:
//!
//!     hostile_server forever|hang|redirect|html|close|slow-big [AFTER]
//!
//! | mode | then |
//! |---|---|
//! | `forever` | 200 pages of 1 to 4 MB of jobs, each with a new NextToken: a listing that never ends |
//! | `hang` | reads the request and never answers |
//! | `redirect` | 302 to another host |
//! | `html` | 200 `text/html`, not the protocol |
//! | `close` | the head and half the body, then the connection closes |
//! | `slow-big` | pages of more than 20 jobs take 15 s (smaller ones come at once) |
//!
//! It prints `listening on http://127.0.0.1:PORT` first, as the project's servers do. `bench/hostile.sh`
//! runs it; `tests/it/hostile.rs` includes this file and starts it in-process.

#![allow(dead_code)] // the tests use the server, not `main`

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use snomed_vcr::server::Handler;
use snomed_vcr::{Reference, ReferenceConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the server misbehaves once its good answers are spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Pages of 1-4 MB, always with a new NextToken.
    Forever,
    /// No answer at all.
    Hang,
    /// 302 elsewhere.
    Redirect,
    /// 200 text/html.
    Html,
    /// Half an answer, then the connection closes.
    Close,
    /// Pages of more than 20 jobs take 15 s.
    SlowBig,
}

impl Mode {
    /// The mode named on the command line.
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "forever" => Mode::Forever,
            "hang" => Mode::Hang,
            "redirect" => Mode::Redirect,
            "html" => Mode::Html,
            "close" => Mode::Close,
            "slow-big" => Mode::SlowBig,
            _ => return None,
        })
    }
}

/// Starts the server on a free loopback port: its address; it runs until the runtime ends.
pub async fn start(mode: Mode, after: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    let reference = Arc::new(Reference::new(ReferenceConfig::default()));
    let answered = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (reference, answered) = (reference.clone(), answered.clone());
            tokio::spawn(async move {
                let _ = connection(stream, mode, after, &reference, &answered).await;
            });
        }
    });
    addr
}

/// One request, as read off the socket.
struct Raw {
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads one request (head and `content-length` body); `None` when the connection closed.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Raw> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut raw = Raw { head, body: Vec::new() };
            let len: usize = raw.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            raw.body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Some(raw);
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn connection(
    mut stream: TcpStream,
    mode: Mode,
    after: usize,
    reference: &Reference,
    answered: &AtomicUsize,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some(raw) = read_request(&mut stream, &mut buf).await {
        let n = answered.fetch_add(1, Ordering::Relaxed);
        let cbor = raw.head.contains("/operation/");
        if n < after {
            let resp = reference.handle(as_request(&raw)).await;
            write_response(&mut stream, resp.status().as_u16(), resp.headers(), resp.body()).await?;
            continue;
        }
        match mode {
            Mode::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Mode::Redirect => {
                stream
                    .write_all(
                        b"HTTP/1.1 302 Found\r\nlocation: http://elsewhere.invalid/\r\ncontent-length: 0\r\n\r\n",
                    )
                    .await?;
            }
            Mode::Html => {
                let body = b"<html><body>Service Unavailable</body></html>";
                let head =
                    format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n", body.len());
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(body).await?;
            }
            Mode::Close => {
                let head =
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 5000\r\n\r\n";
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(br#"{"ComprehendMedicalAsyncJobPropertiesList": [{"JobId": "#).await?;
                stream.shutdown().await?;
                return Ok(());
            }
            Mode::Forever => {
                let body = big_page(n, cbor);
                let ct = if cbor { "application/cbor" } else { "application/x-amz-json-1.1" };
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: {ct}\r\ncontent-length: {}\r\n\r\n", body.len());
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body).await?;
            }
            Mode::SlowBig => {
                let req = as_request(&raw);
                let resp = reference.handle(req).await;
                let jobs = count_jobs(resp.body(), cbor);
                if jobs > 20 {
                    tokio::time::sleep(Duration::from_secs(15)).await;
                }
                write_response(&mut stream, resp.status().as_u16(), resp.headers(), resp.body()).await?;
            }
        }
    }
    Ok(())
}

/// The jobs on a page the reference wrote (as near as a count of `JobId`s tells).
fn count_jobs(body: &[u8], cbor: bool) -> usize {
    let needle: &[u8] = if cbor { b"JobId" } else { b"\"JobId\"" };
    body.windows(needle.len()).filter(|w| *w == needle).count()
}

/// A page of 1 to 4 MB of jobs (more than any MaxResults), with a NextToken never seen before.
fn big_page(n: usize, cbor: bool) -> Vec<u8> {
    let megabytes = 1 + n % 4;
    let job = |i: usize| {
        serde_json::json!({
            "JobId": format!("{:032x}", i),
            "JobName": "forever",
            "JobStatus": "COMPLETED",
            "SubmitTime": 1_704_067_200 + i,
            "Message": "x".repeat(200),
        })
    };
    let jobs: Vec<serde_json::Value> = (0..megabytes * 4000).map(|i| job(n * 100_000 + i)).collect();
    let doc = serde_json::json!({
        "ComprehendMedicalAsyncJobPropertiesList": jobs,
        "NextToken": format!("forever-{n}"),
    });
    if cbor {
        snomed_vcr::protocol::encode_document(snomed_vcr::Protocol::RpcV2Cbor, &doc, &snomed_vcr::model::RESPONSE_SHAPE)
            .to_vec()
    } else {
        serde_json::to_vec(&doc).expect("serializes")
    }
}

fn as_request(raw: &Raw) -> http::Request<Bytes> {
    let mut first = raw.head.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or("POST"), first.next().unwrap_or("/"));
    let mut b = http::Request::builder().method(method).uri(path);
    for line in raw.head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            b = b.header(k.trim(), v.trim());
        }
    }
    b.body(Bytes::from(raw.body.clone())).expect("a request the client sent")
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in headers {
        if k != http::header::CONTENT_LENGTH {
            head += &format!("{k}: {}\r\n", v.to_str().unwrap_or(""));
        }
    }
    head += &format!("content-length: {}\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(mode) = args.get(1).and_then(|m| Mode::parse(m)) else {
        eprintln!("usage: hostile_server forever|hang|redirect|html|close|slow-big [AFTER]");
        std::process::exit(2);
    };
    let after = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0);
    let addr = start(mode, after).await;
    println!("listening on http://{addr}");
    tokio::signal::ctrl_c().await.ok();
}
