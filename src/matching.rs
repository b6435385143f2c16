//! Request matching: which recorded interaction answers an incoming request.
//!
//! Requests are compared on their redacted input documents, protocol-independently and semantically: key order
//! and whitespace never matter, and numbers compare by value (`1700000000` and `1700000000.0` are the same
//! instant). SigV4 and SDK headers never matter. What is compared is chosen by named rules:
//!
//! | rule | compares |
//! |---|---|
//! | `operation` | the operation name (always on) |
//! | `body` | the whole input document |
//! | `filter` | `Filter` only |
//! | `max_results` | `MaxResults` only |
//! | `next_token` | `NextToken` only |
//! | `protocol` | the wire protocol (off by default: a JSON recording answers CBOR callers) |

use serde_json::Value;

use crate::doc::PathDiff;
use crate::doc::canonical::write_canonical;
use crate::options::{self, ParseError};

/// The rules a new cassette gets.
pub const DEFAULT_RULES: [&str; 2] = ["operation", "body"];

/// A named matcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The operation name (always on).
    Operation,
    /// The whole input document.
    Body,
    /// `Filter` only.
    Filter,
    /// `MaxResults` only.
    MaxResults,
    /// `NextToken` only.
    NextToken,
    /// The wire protocol.
    Protocol,
}

impl Rule {
    /// Every matcher.
    pub const ALL: [Rule; 6] =
        [Rule::Operation, Rule::Body, Rule::Filter, Rule::MaxResults, Rule::NextToken, Rule::Protocol];

    /// The matcher's name (`max_results`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::Operation => "operation",
            Rule::Body => "body",
            Rule::Filter => "filter",
            Rule::MaxResults => "max_results",
            Rule::NextToken => "next_token",
            Rule::Protocol => "protocol",
        }
    }

    /// Parses a rule name; an unknown one gets a "did you mean".
    pub fn parse(s: &str) -> Result<Rule, ParseError> {
        if let Some(r) = Rule::ALL.into_iter().find(|r| r.name() == s) {
            return Ok(r);
        }
        let names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
        let e = ParseError::new(s, format!("a matcher (matchers: {})", names.join(", ")));
        Err(match options::closest(s, names) {
            Some(c) => e.suggest(c),
            None => e,
        })
    }
}

/// The key a request is matched by under `rules`: equal keys match. Built by writing the canonical form of
/// the selected parts straight into one string (this runs on every replayed request).
pub fn request_key(rules: &[Rule], protocol: crate::protocol::Protocol, operation: &str, input: &Value) -> String {
    let mut key = String::with_capacity(128);
    key.push_str(operation);
    for rule in rules {
        let (tag, part) = match rule {
            Rule::Operation => continue,
            Rule::Body => ("\u{1}body=", Some(input)),
            Rule::Filter => ("\u{1}filter=", input.get("Filter")),
            Rule::MaxResults => ("\u{1}max_results=", input.get("MaxResults")),
            Rule::NextToken => ("\u{1}next_token=", input.get("NextToken")),
            Rule::Protocol => {
                key.push_str("\u{1}protocol=");
                key.push_str(protocol.name());
                continue;
            }
        };
        key.push_str(tag);
        write_canonical(&mut key, part.unwrap_or(&Value::Null));
    }
    key
}

/// The matchers that would have ignored these differences, if any set of the named ones does: each top-level
/// member that differs is dropped from `body` matching.
pub fn relaxation(diffs: &[PathDiff]) -> Option<Vec<Rule>> {
    let member = |d: &PathDiff| d.path.first_key().unwrap_or("").to_string();
    let differing: std::collections::BTreeSet<String> = diffs.iter().map(member).collect();
    let known = [("Filter", Rule::Filter), ("MaxResults", Rule::MaxResults), ("NextToken", Rule::NextToken)];
    if differing.iter().any(|m| !known.iter().any(|(n, _)| n == m)) {
        return None;
    }
    let keep: Vec<Rule> = known.iter().filter(|(n, _)| !differing.contains(*n)).map(|(_, r)| *r).collect();
    Some(if keep.is_empty() { vec![Rule::Operation] } else { keep })
}

/// Parses rule names (e.g. from a cassette header or `--match-on`).
pub fn parse_rules<S: AsRef<str>>(names: &[S]) -> Result<Vec<Rule>, ParseError> {
    names.iter().map(|n| Rule::parse(n.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::diff_paths;
    use crate::protocol::Protocol;
    use serde_json::json;

    #[test]
    fn semantic_equality_of_documents() {
        let rules = parse_rules(&DEFAULT_RULES).unwrap();
        let a = json!({"MaxResults": 5, "Filter": {"SubmitTimeBefore": 1700000000, "JobStatus": "COMPLETED"}});
        let b: Value =
            serde_json::from_str(r#"{ "Filter" : {"JobStatus":"COMPLETED","SubmitTimeBefore":1700000000.0}, "MaxResults":5, "NextToken": null }"#)
                .unwrap();
        assert_eq!(
            request_key(&rules, Protocol::AwsJson11, "Op", &a),
            request_key(&rules, Protocol::RpcV2Cbor, "Op", &b)
        );
        let c = json!({"MaxResults": 5, "Filter": {"SubmitTimeBefore": 1700000000.5, "JobStatus": "COMPLETED"}});
        assert_ne!(
            request_key(&rules, Protocol::AwsJson11, "Op", &a),
            request_key(&rules, Protocol::AwsJson11, "Op", &c)
        );
        let with_protocol = [Rule::Body, Rule::Protocol];
        assert_ne!(
            request_key(&with_protocol, Protocol::AwsJson11, "Op", &a),
            request_key(&with_protocol, Protocol::RpcV2Cbor, "Op", &a)
        );
        let filter_only = [Rule::Filter];
        let d = json!({"MaxResults": 9, "Filter": {"SubmitTimeBefore": 1700000000, "JobStatus": "COMPLETED"}});
        assert_eq!(
            request_key(&filter_only, Protocol::AwsJson11, "Op", &a),
            request_key(&filter_only, Protocol::AwsJson11, "Op", &d)
        );
    }

    #[test]
    fn differences_suggest_the_matchers_that_ignore_them() {
        let recorded = json!({"MaxResults": 37, "Filter": {"JobStatus": "COMPLETED"}});
        let received = json!({"MaxResults": 5, "Filter": {"JobStatus": "COMPLETED"}, "NextToken": "t"});
        assert_eq!(relaxation(&diff_paths(&recorded, &received)), Some(vec![Rule::Filter]));
        let d = diff_paths(&json!({"Filter": {"JobName": "a"}}), &json!({"Filter": {"JobName": "b"}}));
        assert_eq!(d[0].path, "$.Filter.JobName");
        assert_eq!(relaxation(&d), Some(vec![Rule::MaxResults, Rule::NextToken]));
        assert_eq!(relaxation(&diff_paths(&json!({"X": 1}), &json!({}))), None);
    }

    #[test]
    fn unknown_matchers_suggest_the_closest() {
        let e = Rule::parse("next_tokn").unwrap_err().to_string();
        assert!(e.contains("Did you mean 'next_token'?"), "{e}");
        let e = Rule::parse("maxresults").unwrap_err().to_string();
        assert!(e.contains("'max_results'"), "{e}");
    }
}
