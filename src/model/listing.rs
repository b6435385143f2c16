//! A listing as a client sees it: [`Page`]s, and the [`Chain`] of pages one first request leads to by
//! following `NextToken`.
//!
//! A chain is built either by walking a live service ([`Walker`], which `Client::walk` drives over HTTP and
//! tests drive in-process) or from a recording (`Cassette::chains`, which links each request carrying a token
//! to the answer that issued it). Either way it says how it started ([`Start`]) and how it ended ([`End`]),
//! so a judge can tell a listing that finished from one that stopped, looped or was never followed.

use serde_json::Value;

use super::{JOBS_MEMBER, Reply};

/// One request of a listing and its answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The input document sent (with `NextToken` for a follow-up).
    pub request: Value,
    /// The answer's HTTP status.
    pub status: u16,
    /// What the answer said.
    pub reply: Reply,
    /// The cassette interaction this page was recorded as, for chains rebuilt from a recording.
    pub interaction: Option<usize>,
}

impl Page {
    /// A page that was not read from a cassette.
    pub fn new(request: Value, status: u16, reply: Reply) -> Page {
        Page { request, status, reply, interaction: None }
    }

    /// The output document, unless the answer was an error.
    pub fn output(&self) -> Option<&Value> {
        self.reply.output()
    }

    /// The page's jobs as documents (none for an error, or an output without a list).
    pub fn jobs(&self) -> &[Value] {
        self.output().and_then(|o| o.get(JOBS_MEMBER)).and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }

    /// The `NextToken` the answer returned.
    pub fn next_token(&self) -> Option<&str> {
        self.output().and_then(|o| o.get("NextToken")).and_then(Value::as_str)
    }

    /// The `NextToken` the request carried.
    pub fn sent_token(&self) -> Option<&str> {
        self.request.get("NextToken").and_then(Value::as_str)
    }
}

/// How a chain began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// With a request that carries no `NextToken`.
    Fresh,
    /// With a request carrying a token an earlier answer in the same recording issued, whose chain had
    /// already moved on or ended (the token was used again).
    ReusedToken,
    /// With a request carrying a token no answer issued: tampered, made up, or from elsewhere.
    ForeignToken,
}

/// How a chain ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The last answer carried no `NextToken`: the listing is complete.
    Complete,
    /// The last answer was an error.
    Error,
    /// The last answer returned a `NextToken` the chain had already been given: following it would loop.
    Loop {
        /// The repeated token.
        token: String,
    },
    /// A walk stopped at its page cap with a token still to follow.
    Capped,
    /// A recording stops with a token still to follow: the client never asked for the next page.
    Unfollowed,
}

/// The pages one first request led to, in order.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// # let reference = std::sync::Arc::new(snomed_vcr::Reference::new(snomed_vcr::ReferenceConfig::generated(12, 7)));
/// # let reference = snomed_vcr::Server::spawn(listener, reference, snomed_vcr::ServerConfig::default()).unwrap();
/// use snomed_vcr::{Client, Protocol};
///
/// let chain = Client::new(&reference.uri()).unwrap().walk(Protocol::AwsJson11, &serde_json::json!({"MaxResults": 5}), 10).await.unwrap();
/// assert_eq!((chain.pages.len(), chain.job_ids().len()), (3, 12));
/// assert!(chain.is_complete());
/// # });
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// How it began.
    pub start: Start,
    /// The list operation it walked.
    pub operation: super::Operation,
    /// The pages, first request first.
    pub pages: Vec<Page>,
    /// How it ended.
    pub end: End,
}

impl Chain {
    /// A chain of `pages` whose end is read from its last page by the walker's rule (`Unfollowed` when that
    /// page returned a new token).
    pub fn of_pages(start: Start, pages: Vec<Page>) -> Chain {
        let first = pages.first().map_or(Value::Null, |p| p.request.clone());
        let mut walker = Walker::new(first, usize::MAX);
        for page in pages {
            walker.take_page(page);
        }
        let end = match (walker.end(), walker.pages().is_empty()) {
            (_, true) => End::Complete,
            (Some(end), _) => end.clone(),
            (None, _) => End::Unfollowed,
        };
        Chain { start, operation: super::Operation::default(), pages: walker.pages, end }
    }

    /// The first request.
    pub fn first_request(&self) -> Option<&Value> {
        self.pages.first().map(|p| &p.request)
    }

    /// Every job of every page, with the index of its page.
    pub fn jobs(&self) -> impl Iterator<Item = (usize, &Value)> {
        self.pages.iter().enumerate().flat_map(|(i, p)| p.jobs().iter().map(move |j| (i, j)))
    }

    /// The `JobId` of every job, in order (jobs without one are skipped).
    pub fn job_ids(&self) -> Vec<&str> {
        self.jobs().filter_map(|(_, j)| j.get("JobId").and_then(Value::as_str)).collect()
    }

    /// The tokens the answers returned, in order.
    pub fn tokens(&self) -> Vec<&str> {
        self.pages.iter().filter_map(Page::next_token).collect()
    }

    /// Whether the listing ran to its last page.
    pub fn is_complete(&self) -> bool {
        self.end == End::Complete
    }
}

/// Follows a listing from its first request: [`Walker::next_request`] says what to send, [`Walker::take`]
/// takes the answer. It stops after an error, at an answer without `NextToken`, at a token it was given
/// before (a loop), or at its page cap; [`Walker::fail`] ends it where no answer came. The one rule for how a
/// walk ends, for every walker of the crate: `Client::walk` over HTTP, `diff` replaying a recorded chain
/// (which sends its own requests with [`Walker::token`]), `fuzz`'s steps, and tests in-process.
#[derive(Debug)]
pub struct Walker {
    first: Value,
    max_pages: usize,
    pages: Vec<Page>,
    tokens: std::collections::HashSet<String>,
    end: Option<End>,
}

impl Walker {
    /// A walk from `first` (its `NextToken`, if any, is sent as given) of at most `max_pages` pages.
    pub fn new(first: Value, max_pages: usize) -> Walker {
        Walker { first, max_pages: max_pages.max(1), pages: Vec::new(), tokens: Default::default(), end: None }
    }

    /// The next request to send (the first request, with the token to follow), or `None` when it has ended.
    pub fn next_request(&self) -> Option<Value> {
        if self.end.is_some() {
            return None;
        }
        match self.token() {
            None if self.pages.is_empty() => Some(self.first.clone()),
            None => None,
            Some(t) => {
                let mut next = self.first.clone();
                if let Value::Object(m) = &mut next {
                    m.insert("NextToken".into(), Value::String(t.to_string()));
                }
                Some(next)
            }
        }
    }

    /// The token the next page is asked for with, while the walk goes on.
    pub fn token(&self) -> Option<&str> {
        if self.end.is_some() {
            return None;
        }
        self.pages.last().and_then(Page::next_token)
    }

    /// Takes the answer to the request sent for the next page.
    pub fn take(&mut self, request: Value, status: u16, reply: Reply) {
        self.take_page(Page::new(request, status, reply));
    }

    /// [`Walker::take`], for a page already built (one that replays a recorded interaction, say).
    pub fn take_page(&mut self, page: Page) {
        self.end = if page.reply.error().is_some() {
            Some(End::Error)
        } else {
            match page.next_token() {
                None => Some(End::Complete),
                Some(t) if !self.tokens.insert(t.to_string()) => Some(End::Loop { token: t.to_string() }),
                Some(_) => None,
            }
        };
        self.pages.push(page);
        if self.end.is_none() && self.pages.len() >= self.max_pages {
            self.end = Some(End::Capped);
        }
    }

    /// Ends the walk where no answer could be read.
    pub fn fail(&mut self) {
        self.end = Some(End::Error);
    }

    /// Ends the walk for the caller's own reason (a recording that stops here, say), unless it has ended.
    pub fn stop(&mut self, end: End) {
        self.end.get_or_insert(end);
    }

    /// How it ended, once it has.
    pub fn end(&self) -> Option<&End> {
        self.end.as_ref()
    }

    /// The pages so far.
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }

    /// The chain walked so far.
    pub fn finish(self) -> Chain {
        let start = if self.first.get("NextToken").is_some() { Start::ForeignToken } else { Start::Fresh };
        let end = self.end.unwrap_or(End::Capped);
        Chain { start, operation: super::Operation::default(), pages: self.pages, end }
    }
}

/// Walks a listing with a function that answers a request document in-process: `(status, reply)`.
pub fn walk_with(first: Value, max_pages: usize, mut answer: impl FnMut(&Value) -> (u16, Reply)) -> Chain {
    let mut walker = Walker::new(first, max_pages);
    while let Some(request) = walker.next_request() {
        let (status, reply) = answer(&request);
        walker.take(request, status, reply);
    }
    walker.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceError;
    use serde_json::json;

    /// A fake listing of `n` jobs in pages of `size`; the token is the offset, and `loop_at` makes the answer
    /// at that offset hand back an earlier token.
    fn fake(n: usize, size: usize, loop_at: Option<usize>) -> impl FnMut(&Value) -> (u16, Reply) {
        move |req| {
            let from: usize = req.get("NextToken").and_then(Value::as_str).map_or(0, |t| t.parse().unwrap());
            let jobs: Vec<Value> = (from..(from + size).min(n)).map(|i| json!({"JobId": format!("j{i}")})).collect();
            let mut out = json!({ JOBS_MEMBER: jobs });
            if from + size < n {
                let next = if loop_at == Some(from) { size } else { from + size };
                out["NextToken"] = json!(next.to_string());
            }
            (200, Reply::Output(out))
        }
    }

    #[test]
    fn a_walk_follows_tokens_to_the_last_page() {
        let chain = walk_with(json!({"MaxResults": 3}), 100, fake(8, 3, None));
        assert_eq!((chain.start, chain.end.clone(), chain.pages.len()), (Start::Fresh, End::Complete, 3));
        assert_eq!(chain.job_ids(), (0..8).map(|i| format!("j{i}")).collect::<Vec<_>>());
        assert_eq!(chain.tokens(), ["3", "6"]);
        assert_eq!(
            chain.pages[1].request,
            json!({"MaxResults": 3, "NextToken": "3"}),
            "the first request plus the token"
        );
        assert!(chain.is_complete());
    }

    #[test]
    fn a_walk_stops_at_loops_caps_and_errors() {
        let looped = walk_with(json!({}), 100, fake(20, 3, Some(6)));
        assert_eq!(looped.end, End::Loop { token: "3".into() });
        assert_eq!(looped.pages.len(), 3, "stopped when an old token came back");
        let capped = walk_with(json!({}), 2, fake(20, 3, None));
        assert_eq!((capped.end, capped.pages.len()), (End::Capped, 2));
        let failed = walk_with(json!({"NextToken": "x"}), 9, |_| (400, Reply::Error(ServiceError::validation("no"))));
        assert_eq!((failed.start, failed.end, failed.pages.len()), (Start::ForeignToken, End::Error, 1));
    }

    #[test]
    fn pages_read_their_jobs_and_tokens() {
        let p = Page::new(
            json!({"NextToken": "a"}),
            200,
            Reply::Output(json!({JOBS_MEMBER: [{"JobId": "x"}], "NextToken": "b"})),
        );
        assert_eq!((p.sent_token(), p.next_token(), p.jobs().len()), (Some("a"), Some("b"), 1));
        let e = Page::new(json!({}), 500, Reply::Error(ServiceError::internal("x")));
        assert!(e.jobs().is_empty() && e.next_token().is_none());
        let c = Chain::of_pages(Start::Fresh, vec![p.clone()]);
        assert_eq!(c.end, End::Unfollowed);
    }
}
