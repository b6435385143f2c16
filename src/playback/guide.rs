//! The [`Guide`] for a request nothing answers: the closest recorded interaction (cassette and index), the
//! JSON paths where it differs from what was received, the matchers of that interaction's cassette, and
//! numbered ways to fix it. It is a value with two forms: [`Guide::message`], one paragraph for the wire (the
//! `UnmatchedRequestException` message), and [`Guide::framed`], a block for stderr that adds the rendered diff
//! of the two requests.

use std::path::PathBuf;

use serde_json::Value;

use super::library::Library;
use crate::doc::{self, PathDiff};
use crate::matching::Matcher;
use crate::model::Operation;
use crate::program::quote;
use crate::protocol::Protocol;

/// The recorded interaction closest to an unmatched request.
#[derive(Clone, Debug, PartialEq)]
pub struct Closest {
    /// Its cassette.
    pub cassette: PathBuf,
    /// Its position there.
    pub index: usize,
    /// The protocol it was recorded over.
    pub protocol: Protocol,
    /// The operation it called.
    pub operation: Operation,
    /// Its (redacted) input document.
    pub request: Value,
    /// Where the received request differs from it.
    pub diffs: Vec<PathDiff>,
    /// The matchers its cassette is matched by.
    pub matchers: Vec<Matcher>,
    /// The upstream and region its cassette was recorded from: where `record` would get the answer.
    pub origin: (String, String),
    /// When the search stopped short: how many recorded requests it compared, of how many it could have.
    pub among: Option<(usize, usize)>,
}

/// Why nothing answered a request, and what would.
#[derive(Clone, Debug, PartialEq)]
pub enum Guide {
    /// No recorded interaction matches.
    Unmatched {
        /// The protocol the request spoke.
        protocol: Protocol,
        /// The operation it called.
        operation: Operation,
        /// Its input document, redacted.
        input: Value,
        /// The closest interaction, unless the cassettes hold none.
        closest: Option<Box<Closest>>,
        /// The cassettes a replay serves, for its `--simulate` fix; `None` where that fix does not apply
        /// (`record --mode once`).
        replayed: Option<Vec<PathBuf>>,
    },
    /// No recorded interaction matches a request whose body is over [`GUIDE_MAX_BODY`]: none is looked for,
    /// and the body is not kept (a client could otherwise make every miss cost seconds and megabytes).
    Oversized {
        /// The protocol the request spoke.
        protocol: Protocol,
        /// The operation it called.
        operation: Operation,
        /// The size of its body.
        bytes: usize,
    },
    /// The request matches, and all its recorded answers have been played under `--repeat error`.
    Exhausted {
        /// How many answers were recorded for it.
        answers: usize,
        /// The cassette of the first of them.
        cassette: PathBuf,
        /// Its position there.
        index: usize,
    },
}

/// How many differing paths the message names before "and N more".
const SHOWN: usize = 6;

/// The most recorded requests a guide compares an unmatched request with. Each is parsed and diffed (1.4 µs
/// apiece) on the thread that answers requests: unbounded, a miss against a million-interaction cassette held
/// every other request up for most of a second. Past it, the guide names the closest of the first ones and
/// says so.
pub const GUIDE_CANDIDATES: usize = 1_000;

/// The largest request body a guide compares with recorded requests. An SDK's list request is a few hundred
/// bytes (a page size, a token, a filter: the golden cassettes' largest is 195); the model bounds no token's
/// length, so the limit is far above that. Past it, the guide is [`Guide::Oversized`]: a 5 MB body of 300,000
/// fields took 9 s to explain on the thread answering every request, and the explanation echoed all of it; a
/// 64 KB one, 1.2 s against a 100,000-interaction cassette.
pub const GUIDE_MAX_BODY: usize = 8 * 1024;

impl Guide {
    /// Explains why nothing in `library` answers `input`: the closest entry is one of the same operation if
    /// there is one, and of those the one whose document differs at the fewest paths (the first recorded, on
    /// a tie), among the first [`GUIDE_CANDIDATES`]. `replayed`: the cassettes a replay was given.
    pub fn unmatched(
        library: &Library,
        protocol: Protocol,
        operation: Operation,
        input: &Value,
        replayed: Option<&[PathBuf]>,
    ) -> Guide {
        Guide::unmatched_among(library, protocol, operation, input, replayed, GUIDE_CANDIDATES)
    }

    /// [`Guide::unmatched`], comparing with at most `candidates` recorded requests: those of the same
    /// operation in recorded order, or, when the cassettes hold none, any.
    fn unmatched_among(
        library: &Library,
        protocol: Protocol,
        operation: Operation,
        input: &Value,
        replayed: Option<&[PathBuf]>,
        candidates: usize,
    ) -> Guide {
        let entries = library.entries();
        let same = library.calls_of(operation);
        let total = if same > 0 { same } else { entries.len() };
        let closest = entries
            .iter()
            .filter(|e| same == 0 || e.operation == operation)
            .take(candidates)
            .filter_map(|e| {
                // The arena holds what serde_json wrote: it always reads back.
                let recorded: Value = serde_json::from_str(library.request_text(e)).ok()?;
                let diffs = doc::diff_paths(&recorded, input);
                Some((e, recorded, diffs))
            })
            .min_by_key(|(e, _, d)| (d.len(), e.cassette, e.index))
            .map(|(e, request, diffs)| {
                Box::new(Closest {
                    cassette: library.paths[e.cassette as usize].clone(),
                    index: e.index as usize,
                    protocol: e.protocol,
                    operation: e.operation,
                    request,
                    diffs,
                    matchers: library.rules_of(e.cassette as usize).to_vec(),
                    origin: {
                        let (upstream, region) = library.origin_of(e.cassette as usize);
                        (upstream.to_string(), region.to_string())
                    },
                    among: (total > candidates).then_some((candidates, total)),
                })
            });
        Guide::Unmatched {
            protocol,
            operation,
            input: input.clone(),
            closest,
            replayed: replayed.map(<[PathBuf]>::to_vec),
        }
    }

    /// The guide for `record --mode once`, which has no `--simulate`.
    pub fn in_record(mut self) -> Guide {
        if let Guide::Unmatched { replayed, .. } = &mut self {
            *replayed = None;
        }
        self
    }

    /// The sentences of the guide: the one-line message joins them, the framed form puts each on its lines.
    fn parts(&self) -> Vec<Part> {
        let (protocol, operation, input, closest, replayed) = match self {
            Guide::Exhausted { answers, cassette, index } => {
                return vec![
                    Part::line(format!(
                        "All {answers} recorded answers to this request ({} interaction {index}) have been played, and --repeat is 'error'.",
                        cassette.display()
                    )),
                    Part::line("Use --repeat last or cycle, or record the request again."),
                ];
            }
            Guide::Oversized { protocol, operation, bytes } => {
                return vec![Part::line(format!(
                    "No recorded interaction matches this {protocol} {operation} request, whose body is {bytes} bytes: over the {GUIDE_MAX_BODY} a guide compares with recorded requests (an SDK's list request is a few hundred)."
                ))];
            }
            Guide::Unmatched { protocol, operation, input, closest, replayed } => {
                (protocol, operation, input, closest, replayed)
            }
        };
        let Some(c) = closest else {
            return vec![Part::line(format!(
                "No recorded interaction matches this {protocol} {operation} request {input}: the cassettes hold no interactions."
            ))];
        };
        let path = c.cassette.display();
        let shown: Vec<String> = c.diffs.iter().take(SHOWN).map(PathDiff::to_string).collect();
        let more = if c.diffs.len() > SHOWN { format!(" (and {} more)", c.diffs.len() - SHOWN) } else { String::new() };
        let differs = if c.operation != *operation {
            // The operation is the difference: no other operation's answer serves this one.
            let mut s = vec![format!(
                "the operation ({} recorded, {operation} received; the cassettes hold no {operation} call)",
                c.operation
            )];
            s.extend(shown);
            s
        } else if c.diffs.is_empty() {
            vec![format!("the same input, recorded over {} (a `protocol` matcher is in force)", c.protocol)]
        } else {
            let mut s = shown;
            if let Some(last) = s.last_mut() {
                last.push_str(&more);
            }
            s
        };
        // Commands that run as pasted. No fix relaxes a matcher: one that ignores what differs would serve the
        // answer to another filter, page size or token as if it were this request's.
        let program = crate::program::program();
        let (upstream, region) = &c.origin;
        let mut fixes = vec![format!(
            "1. record it: `{program} record --upstream {} --region {} --mode new_episodes --cassette {}`",
            quote(upstream),
            quote(region),
            quote(&path.to_string())
        )];
        if let Some(cassettes) = replayed {
            let paths: Vec<String> = cassettes.iter().map(|p| quote(&p.display().to_string())).collect();
            fixes.push(format!(
                "2. or answer it from the service the cassettes show (marked, and counted apart): `{program} replay --simulate --cassette {}`",
                paths.join(" ")
            ));
        }
        let matchers: Vec<&str> = c.matchers.iter().map(|r| r.name()).collect();
        vec![
            Part::line(format!("No recorded interaction matches this {protocol} request {input}.")),
            Part {
                head: match c.among {
                    None => format!("Closest: {path} interaction {}, which differs at", c.index),
                    Some((compared, of)) => {
                        let calls =
                            if c.operation == *operation { format!("{operation} requests") } else { "requests".into() };
                        format!(
                            "Closest of the first {compared} of the {of} recorded {calls} (a guide compares no more): {path} interaction {}, which differs at",
                            c.index
                        )
                    }
                },
                items: differs,
                end: ".",
            },
            Part::line(format!("Matchers: {}.", matchers.join(", "))),
            Part { head: "To fix:".into(), items: fixes, end: "." },
        ]
    }

    /// The one-paragraph form: the `UnmatchedRequestException` message.
    pub fn message(&self) -> String {
        self.parts().iter().map(Part::joined).collect::<Vec<_>>().join(" ")
    }

    /// The block for stderr: each sentence on its lines, the paths one per line, and the two requests'
    /// rendered diff.
    pub fn framed(&self) -> String {
        let mut out = String::from("┌─ snomed-vcr replay: unmatched request\n");
        for part in self.parts() {
            let n = part.items.len();
            let end = |i: usize| if i + 1 == n { part.end } else { "" };
            match part.items.split_first() {
                None => out.push_str(&format!("│ {}\n", part.head)),
                Some((first, rest)) => {
                    out.push_str(&format!("│ {} {first}{}\n", part.head, end(0)));
                    for (i, item) in rest.iter().enumerate() {
                        out.push_str(&format!("│  {item}{}\n", end(i + 1)));
                    }
                }
            }
        }
        if let Guide::Unmatched { input, closest: Some(c), .. } = self
            && !c.diffs.is_empty()
        {
            out.push_str("│ The requests, recorded (-) and received (+):\n");
            for line in doc::diff::render_documents(&c.request, input, false).lines() {
                out.push_str(&format!("│ {line}\n"));
            }
        }
        out.push('└');
        out
    }
}

impl std::fmt::Display for Guide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// A sentence: a head and its items (`Closest: … differs at` and the paths), ended by `end`.
struct Part {
    head: String,
    items: Vec<String>,
    end: &'static str,
}

impl Part {
    fn line(text: impl Into<String>) -> Part {
        Part { head: text.into(), items: Vec::new(), end: "" }
    }

    fn joined(&self) -> String {
        if self.items.is_empty() {
            return self.head.clone();
        }
        format!("{} {}{}", self.head, self.items.join("; "), self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_guide_names_the_closest_interaction_and_the_paths() {
        let dir = crate::scratch::dir("guide").unwrap();
        let path = dir.join("g.json");
        let mut c = crate::cassette::Cassette::new("http://x", "us-east-1");
        for (i, max) in [10, 37, 50].iter().enumerate() {
            let mut it = crate::cassette::tests::sample().interactions.remove(0);
            it.seq = i as u64;
            it.request.body = json!({"MaxResults": max, "Filter": {"JobStatus": "COMPLETED"}});
            c.interactions.push(it);
        }
        c.save(&path).unwrap();
        let lib = Library::load(std::slice::from_ref(&path), None, super::super::RESIDENT_ANSWERS_DEFAULT).unwrap();
        let guide = Guide::unmatched(
            &lib,
            Protocol::AwsJson11,
            Operation::default(),
            &json!({"MaxResults": 37, "Filter": {"JobStatus": "FAILED"}}),
            Some(std::slice::from_ref(&path)),
        );
        let g = guide.message();
        assert!(g.contains(&format!("Closest: {} interaction 1", path.display())), "{g}");
        assert!(g.contains("$.Filter.JobStatus: recorded \"COMPLETED\", received \"FAILED\""), "{g}");
        let record =
            format!("record --upstream http://x --region us-east-1 --mode new_episodes --cassette {}`", path.display());
        assert!(g.contains(&record), "{g}");
        assert!(g.contains(&format!("replay --simulate --cassette {}`", path.display())), "{g}");
        assert!(!g.contains("--match-on"), "no fix relaxes a matcher: {g}");
        let in_record = guide.clone().in_record().message();
        assert!(in_record.contains(&record) && !in_record.contains("--simulate"), "{in_record}");
        assert!(g.contains("Matchers: operation, body."), "{g}");
        let framed = guide.framed();
        assert!(framed.starts_with("┌─") && framed.lines().count() > 4, "{framed}");
        assert!(framed.contains("│ To fix: 1. record it: `"), "{framed}");
        assert!(framed.contains("│  2. or answer it from the service the cassettes show"), "{framed}");
        assert!(framed.contains("│-    \"JobStatus\": \"COMPLETED\""), "the requests' diff: {framed}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_matchers_named_are_the_closest_entrys_own() {
        // Two cassettes that disagree on their matchers: the guide names the one its closest entry is in.
        let dir = crate::scratch::dir("guide-rules").unwrap();
        let (a, b) = (dir.join("a.json"), dir.join("b.json"));
        let mut ca = crate::cassette::tests::sample();
        ca.interactions[0].request.body = json!({"MaxResults": 5});
        ca.save(&a).unwrap();
        let mut cb = crate::cassette::tests::sample();
        cb.match_rules = vec!["operation".into(), "filter".into(), "next_token".into()];
        cb.interactions[0].request.body = json!({"MaxResults": 9, "Filter": {"JobName": "x"}});
        cb.save(&b).unwrap();
        let lib = Library::load(&[a, b.clone()], None, 0).unwrap();
        let g = Guide::unmatched(
            &lib,
            Protocol::AwsJson11,
            Operation::default(),
            &json!({"MaxResults": 9, "Filter": {"JobName": "y"}}),
            None,
        );
        let Guide::Unmatched { closest: Some(c), .. } = &g else { panic!("{g:?}") };
        assert_eq!(c.cassette, b);
        assert!(g.message().contains("Matchers: operation, filter, next_token."), "{g}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_guide_compares_a_bounded_number_of_recorded_requests_and_says_so() {
        let dir = crate::scratch::dir("guide-among").unwrap();
        let path = dir.join("c.json");
        let mut c = crate::cassette::Cassette::new("http://x", "us-east-1");
        // Five, of which the closest to the request is the last.
        for (i, max) in [1, 2, 3, 4, 37].iter().enumerate() {
            let mut it = crate::cassette::tests::sample().interactions.remove(0);
            it.seq = i as u64;
            it.request.body = json!({"MaxResults": max, "NextToken": "t"});
            c.interactions.push(it);
        }
        c.save(&path).unwrap();
        let lib = Library::load(std::slice::from_ref(&path), None, 0).unwrap();
        let input = json!({"MaxResults": 37});
        let p = Protocol::AwsJson11;
        let whole = Guide::unmatched_among(&lib, p, Operation::default(), &input, None, 5);
        let Guide::Unmatched { closest: Some(c), .. } = &whole else { panic!("{whole:?}") };
        assert_eq!((c.index, c.among), (4, None), "all five compared: the closest is the last");
        assert!(whole.message().contains(&format!("Closest: {} interaction 4", path.display())), "{whole}");
        let cut = Guide::unmatched_among(&lib, p, Operation::default(), &input, None, 3);
        let Guide::Unmatched { closest: Some(c), .. } = &cut else { panic!("{cut:?}") };
        assert_eq!((c.index, c.among), (0, Some((3, 5))), "the first three compared");
        let m = cut.message();
        assert!(
            m.contains(
                "Closest of the first 3 of the 5 recorded ListSNOMEDCTInferenceJobs requests (a guide compares no more)"
            ),
            "{m}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_operation_the_cassettes_hold_no_call_of_is_named_as_the_difference() {
        let dir = crate::scratch::dir("guide-operation").unwrap();
        let path = dir.join("c.json");
        let mut c = crate::cassette::tests::sample();
        c.interactions[0].request.body = json!({"MaxResults": 5});
        c.save(&path).unwrap();
        let lib = Library::load(std::slice::from_ref(&path), None, 0).unwrap();
        let g = Guide::unmatched(&lib, Protocol::AwsJson11, Operation::RxNorm, &json!({"MaxResults": 5}), None);
        let m = g.message();
        assert!(
            m.contains("the operation (ListSNOMEDCTInferenceJobs recorded, ListRxNormInferenceJobs received"),
            "{m}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
