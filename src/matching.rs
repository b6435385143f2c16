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

use crate::doc::canonical::write_canonical;
use crate::options::{self, ParseError};

/// The rules a new cassette gets.
pub const DEFAULT_RULES: [&str; 2] = ["operation", "body"];

/// A named matcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Matcher {
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

impl Matcher {
    /// Every matcher.
    pub const ALL: [Matcher; 6] = [
        Matcher::Operation,
        Matcher::Body,
        Matcher::Filter,
        Matcher::MaxResults,
        Matcher::NextToken,
        Matcher::Protocol,
    ];

    /// The matcher's name (`max_results`).
    pub fn name(self) -> &'static str {
        match self {
            Matcher::Operation => "operation",
            Matcher::Body => "body",
            Matcher::Filter => "filter",
            Matcher::MaxResults => "max_results",
            Matcher::NextToken => "next_token",
            Matcher::Protocol => "protocol",
        }
    }

    /// Parses a rule name; an unknown one gets a "did you mean".
    pub fn parse(s: &str) -> Result<Matcher, ParseError> {
        if let Some(r) = Matcher::ALL.into_iter().find(|r| r.name() == s) {
            return Ok(r);
        }
        let names: Vec<&str> = Matcher::ALL.iter().map(|r| r.name()).collect();
        let e = ParseError::new(s, format!("a matcher (matchers: {})", names.join(", ")));
        Err(match options::closest(s, names) {
            Some(c) => e.suggest(c),
            None => e,
        })
    }
}

/// The key a request is matched by under `rules`: equal keys match. Built by writing the canonical form of
/// the selected parts straight into one string (this runs on every replayed request).
pub fn request_key(rules: &[Matcher], protocol: crate::protocol::Protocol, operation: &str, input: &Value) -> String {
    let mut key = String::with_capacity(128);
    key.push_str(operation);
    for rule in rules {
        let (tag, part) = match rule {
            Matcher::Operation => continue,
            Matcher::Body => ("\u{1}body=", Some(input)),
            Matcher::Filter => ("\u{1}filter=", input.get("Filter")),
            Matcher::MaxResults => ("\u{1}max_results=", input.get("MaxResults")),
            Matcher::NextToken => ("\u{1}next_token=", input.get("NextToken")),
            Matcher::Protocol => {
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

/// Parses rule names (e.g. from a cassette header or `--match-on`).
pub fn parse_rules<S: AsRef<str>>(names: &[S]) -> Result<Vec<Matcher>, ParseError> {
    names.iter().map(|n| Matcher::parse(n.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let with_protocol = [Matcher::Body, Matcher::Protocol];
        assert_ne!(
            request_key(&with_protocol, Protocol::AwsJson11, "Op", &a),
            request_key(&with_protocol, Protocol::RpcV2Cbor, "Op", &a)
        );
        let filter_only = [Matcher::Filter];
        let d = json!({"MaxResults": 9, "Filter": {"SubmitTimeBefore": 1700000000, "JobStatus": "COMPLETED"}});
        assert_eq!(
            request_key(&filter_only, Protocol::AwsJson11, "Op", &a),
            request_key(&filter_only, Protocol::AwsJson11, "Op", &d)
        );
    }

    #[test]
    fn unknown_matchers_suggest_the_closest() {
        let e = Matcher::parse("next_tokn").unwrap_err().to_string();
        assert!(e.contains("Did you mean 'next_token'?"), "{e}");
        let e = Matcher::parse("maxresults").unwrap_err().to_string();
        assert!(e.contains("'max_results'"), "{e}");
    }
}
