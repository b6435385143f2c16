//! A request body read whole within its limits: at most `max_body` bytes, and large bodies counted against
//! the server's bytes in flight; then the handler answers.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::Handler;
use super::watchdog::{Activity, InFlight};
use crate::model::ServiceError;

/// What every request of a server shares: the handler, and the bytes of large bodies in flight.
pub(super) struct Shared<H> {
    handler: Arc<H>,
    bodies: AtomicUsize,
    max_bodies: usize,
}

impl<H> Shared<H> {
    /// Nothing in flight yet; large bodies may hold `max_bodies` bytes at once.
    pub(super) fn new(handler: Arc<H>, max_bodies: usize) -> Shared<H> {
        Shared { handler, bodies: AtomicUsize::new(0), max_bodies }
    }
}

/// The bytes of one large request body, charged to the server's count until dropped.
struct BodyCharge<'a> {
    count: &'a AtomicUsize,
    bytes: usize,
}

impl BodyCharge<'_> {
    /// Adds `n` bytes, unless the count would pass `max`.
    fn add(&mut self, n: usize, max: usize) -> bool {
        if self.count.fetch_add(n, Ordering::Relaxed) + n > max {
            self.count.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        self.bytes += n;
        true
    }
}

impl Drop for BodyCharge<'_> {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.count.fetch_sub(self.bytes, Ordering::Relaxed);
        }
    }
}

/// Bodies up to this size are not counted against [`ServerConfig::max_bodies_in_flight`].
const SMALL_BODY: usize = 64 * 1024;

/// What each request on one connection needs: the server's [`Shared`], the connection's [`Activity`], and
/// the largest body taken. One count for all of it: a request clones one `Arc`.
pub(super) struct Requests<H> {
    pub(super) shared: Arc<Shared<H>>,
    pub(super) activity: Arc<Activity>,
    pub(super) max_body: usize,
}

/// Reads the body (the request is still arriving until then), then lets the handler answer.
///
/// hyper moves each request's future into place whole, so what it holds is kept small. The request is
/// split before the future is made (an `async fn` would keep its argument, the whole request, in every
/// state, beside the parts split from it), the head and the reading are scoped to end before the handler is
/// awaited, and the `-v` line's fields are boxed.
pub(super) fn answer<H: Handler>(
    requests: Arc<Requests<H>>,
    req: Request<Incoming>,
) -> impl Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static {
    let (parts, body) = req.into_parts();
    async move {
        let Requests { shared, activity, max_body } = &*requests;
        let (handler, max_body) = (&*shared.handler, *max_body);
        let mut charge = BodyCharge { count: &shared.bodies, bytes: 0 };
        let _in_flight;
        let (answering, logged) = {
            let parts = parts;
            // A large body counts whole against the server's bytes in flight, from when it passes the small
            // size.
            let read = read_body(body, max_body, &mut |len| {
                len <= SMALL_BODY || charge.add(len - charge.bytes, shared.max_bodies)
            })
            .await;
            _in_flight = InFlight::start(activity, parts.version);
            // `-v`: a line per request. Nothing is read or kept for it unless it will be written.
            let logged =
                tracing::enabled!(target: "snomed_vcr::request", tracing::Level::INFO).then(|| Logged::of(&parts));
            let answering = match read {
                Ok(body) => Ok(handler.handle(Request::from_parts(parts, body))),
                Err(e) => Err(refuse(handler, &parts, e, shared.max_bodies, max_body)),
            };
            (answering, logged)
        };
        let response = match answering {
            Ok(answer) => answer.await,
            Err(response) => response,
        };
        if let Some(logged) = logged {
            logged.write(&response);
        }
        Ok(response.map(Full::new))
    }
}

/// The answer to a request whose body could not be read. Cold, as every way out of the request path but
/// the handler's answer is: its code is laid out away from that path's.
#[cold]
fn refuse<H: Handler>(
    handler: &H,
    parts: &http::request::Parts,
    error: BodyError,
    max_bodies: usize,
    max_body: usize,
) -> Response<Bytes> {
    handler.body_error(parts, error.service_error(max_bodies, max_body))
}

/// What `-v`'s line for a request says of it, kept from before its answer.
struct Logged(Box<(std::time::Instant, http::Method, http::Uri, String)>);

impl Logged {
    #[cold]
    fn of(parts: &http::request::Parts) -> Logged {
        // The operation a JSON 1.1 request names (its `X-Amz-Target`); RPC v2 names it in the path.
        let operation = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        Logged(Box::new((std::time::Instant::now(), parts.method.clone(), parts.uri.clone(), operation.to_string())))
    }

    #[cold]
    fn write(self, response: &Response<Bytes>) {
        let (started, method, uri, operation) = *self.0;
        tracing::info!(
            target: "snomed_vcr::request",
            "{method} {uri} {operation} -> {} in {:.1} ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

#[derive(Debug)]
enum BodyError {
    TooLarge,
    Busy,
    Read(String),
}

impl BodyError {
    /// The AWS-shaped error it is answered with, for a server whose large bodies may hold `max_bodies`
    /// bytes at once and whose bodies may be `max_body` bytes.
    fn service_error(self, max_bodies: usize, max_body: usize) -> ServiceError {
        match self {
            BodyError::Busy => ServiceError::new(
                503,
                "ServiceUnavailableException",
                format!(
                    "Too many request bytes in flight on this server (more than {max_bodies} in large bodies); retry later"
                ),
            ),
            BodyError::TooLarge => ServiceError::new(
                413,
                "RequestEntityTooLargeException",
                format!("Request body is larger than the {max_body}-byte limit"),
            ),
            BodyError::Read(e) => ServiceError::serialization(format!("Could not read the request body: {e}")),
        }
    }
}

/// A whole request body of at most `max` bytes. A body that arrives in one piece (an SDK's request, nearly
/// always) is returned as it came, without the list of chunks `collect` allocates and walks for it.
/// An announced length over the limit is not refused before reading: a client still sending its body when
/// the answer comes would see a broken pipe instead of the 413.
/// `room(held)` is asked before the body's buffer grows to hold `held` bytes, and says whether it may.
async fn read_body<B>(mut body: B, max: usize, room: &mut impl FnMut(usize) -> bool) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut first = Bytes::new();
    let mut rest: Option<bytes::BytesMut> = None;
    while !body.is_end_stream() {
        let Some(frame) = body.frame().await else { break };
        let Ok(data) = frame.map_err(read_failed)?.into_data() else { continue }; // trailers
        let len = first.len() + rest.as_ref().map_or(0, |r| r.len()) + data.len();
        if len > max {
            return Err(BodyError::TooLarge);
        }
        if rest.is_none() && first.is_empty() {
            if !room(data.len()) {
                return Err(BodyError::Busy);
            }
            first = data;
        } else {
            let announced = usize::try_from(body.size_hint().lower()).unwrap_or(max).min(max);
            gather(&mut rest, &mut first, &data, len, announced, room)?;
        }
    }
    Ok(rest.map_or(first, bytes::BytesMut::freeze))
}

#[cold]
fn read_failed(e: impl std::fmt::Display) -> BodyError {
    BodyError::Read(e.to_string())
}

/// A body's second piece and those after it, into one buffer (the first piece is kept as it came until a
/// second arrives). `len` is what the body holds with `data`, `announced` its announced length (at most
/// the limit). Cold: an SDK's request body comes in one piece.
#[cold]
fn gather(
    rest: &mut Option<bytes::BytesMut>,
    first: &mut Bytes,
    data: &[u8],
    len: usize,
    announced: usize,
    room: &mut impl FnMut(usize) -> bool,
) -> Result<(), BodyError> {
    match rest {
        Some(r) => {
            // What the buffer holds once it has grown (the room is asked before it grows).
            if !room(r.capacity().max(len)) {
                return Err(BodyError::Busy);
            }
            r.extend_from_slice(data);
        }
        None => {
            // The whole body's room at once when its length is announced: growing by doubling would hold up
            // to twice what the body is.
            let capacity = len.max(announced);
            if !room(capacity) {
                return Err(BodyError::Busy);
            }
            let mut r = bytes::BytesMut::with_capacity(capacity);
            r.extend_from_slice(&std::mem::take(first));
            r.extend_from_slice(data);
            *rest = Some(r);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use hyper::body::{Body, Frame, SizeHint};

    use super::*;

    /// A body that yields the given frames, then ends; it announces its length only if asked to.
    struct Frames {
        frames: VecDeque<Result<Frame<Bytes>, &'static str>>,
        announced: Option<u64>,
    }

    impl Frames {
        fn data(chunks: &[&'static [u8]], announce: bool) -> Frames {
            let total = chunks.iter().map(|c| c.len() as u64).sum();
            Frames {
                frames: chunks.iter().map(|c| Ok(Frame::data(Bytes::from_static(c)))).collect(),
                announced: announce.then_some(total),
            }
        }
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = &'static str;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.frames.pop_front())
        }
        fn size_hint(&self) -> SizeHint {
            self.announced.map_or_else(SizeHint::default, SizeHint::with_exact)
        }
    }

    fn read(body: Frames, max: usize) -> Result<Bytes, BodyError> {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(read_body(body, max, &mut |_| true))
    }

    #[test]
    fn large_bodies_in_flight_share_one_count_and_give_it_back() {
        let count = AtomicUsize::new(0);
        let mut a = BodyCharge { count: &count, bytes: 0 };
        let mut b = BodyCharge { count: &count, bytes: 0 };
        assert!(a.add(600, 1000) && b.add(400, 1000));
        assert!(!b.add(1, 1000), "past the limit, nothing more is charged");
        assert_eq!(count.load(Ordering::Relaxed), 1000);
        drop(a);
        assert_eq!(count.load(Ordering::Relaxed), 400);
        // A body that may not grow is refused as busy, not as too large.
        let busy = tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(read_body(
            Frames::data(&[b"01234", b"56789"], false),
            100,
            &mut |len| len < 8,
        ));
        assert!(matches!(busy, Err(BodyError::Busy)), "{busy:?}");
    }

    #[test]
    fn a_body_in_one_piece_is_kept_without_a_copy() {
        static BODY: &[u8] = br#"{"MaxResults": 4}"#;
        let got = read(Frames::data(&[BODY], true), 100).unwrap();
        assert_eq!(got.as_ptr(), BODY.as_ptr(), "the chunk itself, not a copy");
        assert_eq!(got, BODY);
    }

    #[test]
    fn a_body_in_pieces_is_joined_in_order_and_trailers_are_skipped() {
        let mut body = Frames::data(&[b"{\"Max", b"", b"Results\"", b": 4}"], false);
        body.frames.push_back(Ok(Frame::trailers(http::HeaderMap::new())));
        assert_eq!(read(body, 100).unwrap(), &br#"{"MaxResults": 4}"#[..]);
        assert_eq!(read(Frames::data(&[], false), 100).unwrap(), Bytes::new());
    }

    #[test]
    fn a_body_over_the_limit_is_refused_whether_announced_or_not() {
        assert!(matches!(read(Frames::data(&[b"0123456789"], true), 9), Err(BodyError::TooLarge)));
        assert!(matches!(read(Frames::data(&[b"01234", b"56789"], false), 9), Err(BodyError::TooLarge)));
        assert_eq!(read(Frames::data(&[b"01234", b"56789"], false), 10).unwrap(), &b"0123456789"[..]);
        // A body of exactly the limit in three pieces is whole, not counted twice in part.
        assert_eq!(read(Frames::data(&[b"0123", b"456", b"789"], false), 10).unwrap(), &b"0123456789"[..]);
    }

    #[test]
    fn a_broken_body_says_why() {
        let mut body = Frames::data(&[b"{"], false);
        body.frames.push_back(Err("connection reset"));
        assert!(matches!(read(body, 100), Err(BodyError::Read(e)) if e == "connection reset"));
    }
}
