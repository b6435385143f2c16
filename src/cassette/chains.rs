//! [`Cassette::chains`]: the pagination chains a recording holds, rebuilt from its interactions.
//!
//! Clients that paginate concurrently interleave their requests in a recording, so chains are linked by
//! token, not by position: a request carrying token T continues the chain whose last answer returned T (the
//! earliest such chain, when two answers returned the same T), or retries the chain whose last request sent T
//! and failed. A request with a token that an earlier answer issued but whose chain has moved on starts a
//! chain of its own ([`Start::ReusedToken`]); a token no answer in the cassette issued starts nothing but a
//! chain of that one request ([`Start::ForeignToken`]): a tampered or foreign token, sent as it was. An
//! answer kept verbatim (not the protocol's) is no page of any listing. Each operation's pages are linked
//! apart: a token one operation issued continues nothing of another's.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Cassette, Interaction};
use crate::model::{Chain, Operation, Page, Reply, Start};
use crate::protocol;

/// The operation and page an interaction records, taking its documents.
fn page_of_owned(index: usize, it: Interaction) -> (Operation, Page) {
    let r = it.response;
    let reply = if (200..300).contains(&r.status) {
        Reply::Output(r.body)
    } else {
        // The code from the body's `__type`, or else the `x-amzn-ErrorType` header, as every judge reads it.
        let header = r.headers.get(protocol::ERROR_TYPE_HEADER).map(String::as_str);
        Reply::Error(protocol::error_of(r.status, &r.body, header))
    };
    (it.request.operation, Page { request: it.request.body, status: r.status, reply, interaction: Some(index) })
}

impl Cassette {
    /// The chains of this recording, in the order their first requests were recorded (see the module docs).
    pub fn chains(&self) -> Vec<Chain> {
        self.clone().into_chains()
    }

    /// [`Cassette::chains`], taking the interactions' documents instead of copying them.
    pub fn into_chains(self) -> Vec<Chain> {
        link(
            self.interactions
                .into_iter()
                .enumerate()
                .filter(|(_, it)| !it.response.is_verbatim())
                .map(|(i, it)| page_of_owned(i, it)),
        )
    }
}

/// Links recorded pages of their operations, in recording order, into chains (see the module docs): each
/// operation's apart, the chains in the order of their first pages. A page needs only its request, its
/// status, and whether its reply is an error or carries a `NextToken`: a consumer that keeps the documents
/// elsewhere may link pages that hold only that.
pub fn link(pages: impl Iterator<Item = (Operation, Page)>) -> Vec<Chain> {
    let mut by_operation: Vec<(Operation, Vec<(usize, Page)>)> = Vec::new();
    for (at, (operation, page)) in pages.enumerate() {
        match by_operation.iter_mut().find(|(op, _)| *op == operation) {
            Some((_, pages)) => pages.push((at, page)),
            None => by_operation.push((operation, vec![(at, page)])),
        }
    }
    // Each operation linked apart; the chains ordered by where their first pages were.
    let mut chains: Vec<(usize, Chain)> = Vec::new();
    for (operation, pages) in by_operation {
        let at: Vec<usize> = pages.iter().map(|(at, _)| *at).collect();
        chains.extend(link_one(pages.into_iter().map(|(_, p)| p), operation).into_iter().map(|(i, c)| (at[i], c)));
    }
    chains.sort_by_key(|(at, _)| *at);
    chains.into_iter().map(|(_, c)| c).collect()
}

/// Links one operation's pages (see the module docs): each chain with the position of its first page.
fn link_one(pages: impl Iterator<Item = Page>, operation: Operation) -> Vec<(usize, Chain)> {
    struct Building {
        first: usize,
        start: Start,
        pages: Vec<Page>,
    }
    let mut chains: Vec<Building> = Vec::new();
    // Chains whose last answer returned a token, by that token, earliest first.
    let mut waiting: HashMap<String, VecDeque<usize>> = HashMap::new();
    // Chains whose last request sent a token and got an error: a retry of that token continues them.
    let mut failed: HashMap<String, VecDeque<usize>> = HashMap::new();
    let mut issued: HashSet<String> = HashSet::new();
    for (at, page) in pages.enumerate() {
        let chain = match page.sent_token() {
            None => None,
            Some(t) => waiting
                .get_mut(t)
                .and_then(VecDeque::pop_front)
                .or_else(|| failed.get_mut(t).and_then(VecDeque::pop_front)),
        };
        let chain = match chain {
            Some(c) => c,
            None => {
                let start = match page.sent_token() {
                    None => Start::Fresh,
                    Some(t) if issued.contains(t) => Start::ReusedToken,
                    Some(_) => Start::ForeignToken,
                };
                chains.push(Building { first: at, start, pages: Vec::new() });
                chains.len() - 1
            }
        };
        match (&page.reply, page.next_token(), page.sent_token()) {
            (Reply::Output(_), Some(next), _) => {
                issued.insert(next.to_string());
                waiting.entry(next.to_string()).or_default().push_back(chain);
            }
            (Reply::Error(_), _, Some(sent)) => failed.entry(sent.to_string()).or_default().push_back(chain),
            _ => {}
        }
        chains[chain].pages.push(page);
    }
    chains.into_iter().map(|b| (b.first, Chain { operation, ..Chain::of_pages(b.start, b.pages) })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{End, JOBS_MEMBER};
    use serde_json::{Value, json};

    /// A cassette of `(request, status, output)` exchanges.
    fn cassette(exchanges: &[(Value, u16, Value)]) -> Cassette {
        let mut c = crate::cassette::tests::sample();
        let template = c.interactions.remove(0);
        for (i, (req, status, out)) in exchanges.iter().enumerate() {
            let mut it = template.clone();
            it.seq = i as u64;
            it.request.body = req.clone();
            it.response.status = *status;
            it.response.body = out.clone();
            c.interactions.push(it);
        }
        c
    }

    fn out(ids: &[&str], token: Option<&str>) -> Value {
        let mut o = json!({ JOBS_MEMBER: ids.iter().map(|i| json!({"JobId": i})).collect::<Vec<_>>() });
        if let Some(t) = token {
            o["NextToken"] = json!(t);
        }
        o
    }

    #[test]
    fn interleaved_chains_are_linked_by_token() {
        let c = cassette(&[
            (json!({"MaxResults": 1}), 200, out(&["a"], Some("A1"))),
            (json!({"MaxResults": 2}), 200, out(&["x", "y"], Some("B1"))),
            (json!({"MaxResults": 2, "NextToken": "B1"}), 200, out(&["z"], None)),
            (json!({"MaxResults": 1, "NextToken": "A1"}), 429, json!({"__type": "TooManyRequestsException"})),
            (json!({"MaxResults": 1, "NextToken": "A1"}), 200, out(&["b"], None)),
            (json!({"NextToken": "forged"}), 400, json!({"__type": "InvalidRequestException"})),
            (json!({"MaxResults": 2, "NextToken": "B1"}), 200, out(&["z"], None)),
        ]);
        let chains = c.chains();
        let summary: Vec<(Start, Vec<usize>, End)> = chains
            .iter()
            .map(|ch| (ch.start, ch.pages.iter().map(|p| p.interaction.unwrap()).collect(), ch.end.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (Start::Fresh, vec![0, 3, 4], End::Complete),
                (Start::Fresh, vec![1, 2], End::Complete),
                (Start::ForeignToken, vec![5], End::Error),
                (Start::ReusedToken, vec![6], End::Complete),
            ]
        );
        assert_eq!(chains[0].job_ids(), ["a", "b"], "the retry's answer continues the chain");
    }

    #[test]
    fn the_same_token_from_two_chains_links_each_once_in_order() {
        // Two clients walking the same deterministic listing get the same tokens.
        let c = cassette(&[
            (json!({}), 200, out(&["a"], Some("T"))),
            (json!({}), 200, out(&["a"], Some("T"))),
            (json!({"NextToken": "T"}), 200, out(&["b"], None)),
            (json!({"NextToken": "T"}), 200, out(&["b"], None)),
        ]);
        let pages: Vec<Vec<usize>> =
            c.chains().iter().map(|ch| ch.pages.iter().map(|p| p.interaction.unwrap()).collect()).collect();
        assert_eq!(pages, vec![vec![0, 2], vec![1, 3]]);
    }

    #[test]
    fn the_golden_walk_is_one_complete_chain() {
        let c = Cassette::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes/boto3-walk.json"))
            .unwrap();
        let chains = c.chains();
        assert_eq!(chains.len(), 1);
        assert_eq!((chains[0].pages.len(), chains[0].job_ids().len(), chains[0].end.clone()), (7, 240, End::Complete));
    }
}
