//! Loading what diff compares: each cassette as skeleton chains, its bodies kept as compact text and parsed
//! only while a chain is compared ([`Loaded::materialize`]); and for `diff A.json B.json`, the other recording's
//! chains paired with the first's.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use super::DiffError;
use super::run::TargetRun;
use crate::cassette::{self, CassetteError, LoadError};
use crate::model::{Chain, Page, Reply};
use crate::protocol::Protocol;

/// A loaded cassette: its chains as skeletons (each page's request, status, error and token, no jobs), each
/// interaction's protocol, and each response body as compact JSON text. A chain's documents are parsed
/// ([`Loaded::materialize`]) only while it is being run and compared, so memory holds the cassette's text
/// once, not its documents.
pub(crate) struct Loaded {
    pub path: PathBuf,
    pub protocols: Vec<Protocol>,
    pub chains: Vec<Arc<Chain>>,
    pub bodies: Arc<Vec<Box<str>>>,
}

/// Loads every cassette named (files or directories), streaming: bodies stay text.
pub(crate) fn load(paths: &[PathBuf]) -> Result<Vec<Loaded>, CassetteError> {
    #[derive(serde::Deserialize)]
    struct TokenOnly {
        #[serde(rename = "NextToken")]
        next_token: Option<String>,
    }
    let files = cassette::expand_paths(paths)?;
    if files.is_empty() {
        return Err(CassetteError::invalid(format!(
            "no cassettes found in {paths:?} (expected *.json files or directories holding them)"
        )));
    }
    files
        .into_iter()
        .map(|path| {
            let (mut protocols, mut pages, mut bodies) = (Vec::new(), Vec::new(), Vec::new());
            cassette::stream(&path, |i, it, _| {
                let status = it.response.status;
                let text = it.response.body.get();
                protocols.push(it.request.protocol);
                if it.response.encoding.is_some_and(|e| e.format.is_verbatim()) {
                    // Not the protocol's answer: no page of a listing (replay serves it as recorded).
                    bodies.push(Box::from(""));
                    return Ok(());
                }
                let reply = if (200..300).contains(&status) {
                    // Checked as a response document when it was read; only its token is needed now.
                    let token = serde_json::from_str::<TokenOnly>(text).ok().and_then(|t| t.next_token);
                    Reply::Output(token.map_or_else(|| json!({}), |t| json!({ "NextToken": t })))
                } else {
                    let doc: Value = serde_json::from_str(text).map_err(|e| LoadError::from_json(&e))?;
                    let header = it.response.headers.get(crate::protocol::ERROR_TYPE_HEADER).map(String::as_str);
                    Reply::Error(crate::protocol::error_of(status, &doc, header))
                };
                bodies.push(crate::doc::text::minify_str(text).into_boxed_str());
                pages.push((
                    it.request.operation,
                    Page { request: it.request.body, status, reply, interaction: Some(i) },
                ));
                Ok(())
            })?;
            let chains = cassette::link_chains(pages.into_iter()).into_iter().map(Arc::new).collect();
            Ok(Loaded { path, protocols, chains, bodies: Arc::new(bodies) })
        })
        .collect()
}

/// A skeleton chain with its outputs parsed from `bodies`.
pub(super) fn materialize(bodies: &[Box<str>], skeleton: &Chain) -> Chain {
    let pages = skeleton
        .pages
        .iter()
        .map(|p| {
            let mut page = p.clone();
            if let (Reply::Output(_), Some(text)) = (&p.reply, p.interaction.and_then(|i| bodies.get(i))) {
                page.reply = Reply::Output(serde_json::from_str(text).expect("checked when the cassette was read"));
            }
            page
        })
        .collect();
    Chain { start: skeleton.start, operation: skeleton.operation, pages, end: skeleton.end.clone() }
}

impl Loaded {
    /// Chain `k` with its documents.
    pub fn materialize(&self, k: usize) -> Chain {
        materialize(&self.bodies, &self.chains[k])
    }

    /// The protocol a chain was recorded in (its first interaction's).
    pub(super) fn protocol_of(&self, chain: &Chain) -> Protocol {
        chain
            .pages
            .first()
            .and_then(|p| p.interaction)
            .and_then(|i| self.protocols.get(i).copied())
            .unwrap_or(Protocol::AwsJson11)
    }
}

/// The other cassette of `diff A.json B.json`; both sides must be one file each.
pub(super) fn load_other(loaded: &[Loaded], other: &std::path::Path) -> Result<Vec<Loaded>, DiffError> {
    let b = load(&[other.to_path_buf()])?;
    if loaded.len() != 1 || b.len() != 1 {
        return Err(DiffError::Usage("diff A.json B.json compares two cassette files, not directories".into()));
    }
    Ok(b)
}

/// The other recording's chains as the target's runs, paired with `a`'s by first request (the n-th chain
/// starting with a request pairs with the other's n-th). Returns the runs (none for a chain with no pair),
/// and the other's chains that paired with none.
pub(super) fn pair_recordings(a: &Loaded, b: &Loaded) -> (Vec<Vec<TargetRun>>, Vec<Arc<Chain>>) {
    let key = |c: &Chain| c.first_request().map(|r| crate::doc::canonical(r).to_string()).unwrap_or_default();
    let mut by_key: HashMap<String, std::collections::VecDeque<usize>> = HashMap::new();
    for (i, c) in b.chains.iter().enumerate() {
        by_key.entry(key(c)).or_default().push_back(i);
    }
    let mut used = vec![false; b.chains.len()];
    let runs = a
        .chains
        .iter()
        .map(|c| match by_key.get_mut(&key(c)).and_then(|q| q.pop_front()) {
            Some(i) => {
                used[i] = true;
                let other = b.materialize(i);
                vec![TargetRun::recorded(b.protocol_of(&other), other)]
            }
            None => Vec::new(),
        })
        .collect();
    let unpaired = used.iter().enumerate().filter(|(_, u)| !**u).map(|(i, _)| Arc::new(b.materialize(i))).collect();
    (runs, unpaired)
}
