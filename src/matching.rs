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

use serde_json::{Map, Number, Value};

/// The rules a new cassette gets.
pub const DEFAULT_RULES: [&str; 2] = ["operation", "body"];

/// A named matcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    Operation,
    Body,
    Filter,
    MaxResults,
    NextToken,
    Protocol,
}

impl Rule {
    pub const ALL: [Rule; 6] =
        [Rule::Operation, Rule::Body, Rule::Filter, Rule::MaxResults, Rule::NextToken, Rule::Protocol];

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
    pub fn parse(s: &str) -> Result<Rule, String> {
        if let Some(r) = Rule::ALL.into_iter().find(|r| r.name() == s) {
            return Ok(r);
        }
        let names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
        let closest = names.iter().min_by_key(|n| edit_distance(s, n)).copied().unwrap_or("body");
        Err(format!("unknown matcher '{s}'. Did you mean '{closest}'? (matchers: {})", names.join(", ")))
    }
}

/// Levenshtein distance, for suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A document in canonical form: sorted keys (serde_json's map is ordered), numbers by value (whole numbers as
/// integers), `null` members dropped (absent and null mean the same to the service).
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Number(n) => canonical_number(n),
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), canonical(v))).collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

fn canonical_number(n: &Number) -> Value {
    if n.is_i64() || n.is_u64() {
        return Value::Number(n.clone());
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.fract() == 0.0 && f.abs() < 9.0e15 { Value::from(f as i64) } else { Value::Number(n.clone()) }
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

/// Writes `canonical(v)` as compact JSON without building it.
fn write_canonical(out: &mut String, v: &Value) {
    use std::fmt::Write;
    match v {
        Value::Number(n) => {
            let _ = write!(out, "{}", canonical_number(n));
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json's map is ordered by key, so this is already the canonical order.
            out.push('{');
            let mut first = true;
            for (k, child) in map.iter().filter(|(_, c)| !c.is_null()) {
                if !first {
                    out.push(',');
                }
                first = false;
                let _ = write!(out, "{}:", Value::String(k.clone()));
                write_canonical(out, child);
            }
            out.push('}');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// One place two documents differ: a JSON path, and the value on each side (`None` when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct PathDiff {
    pub path: String,
    pub recorded: Option<Value>,
    pub received: Option<Value>,
}

impl std::fmt::Display for PathDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "(absent)".to_string(), |v| v.to_string());
        write!(f, "{}: recorded {}, received {}", self.path, show(&self.recorded), show(&self.received))
    }
}

/// Where two documents differ, compared canonically (numbers by value, key order and nulls ignored).
pub fn diff_paths(recorded: &Value, received: &Value) -> Vec<PathDiff> {
    fn walk(a: Option<&Value>, b: Option<&Value>, path: &mut String, out: &mut Vec<PathDiff>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    walk(x.get(k), y.get(k), path, out);
                    path.truncate(len);
                }
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) => {
                for i in 0..x.len().max(y.len()) {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(x.get(i), y.get(i), path, out);
                    path.truncate(len);
                }
            }
            (a, b) if a == b => {}
            (a, b) => out.push(PathDiff { path: path.clone(), recorded: a.cloned(), received: b.cloned() }),
        }
    }
    let mut out = Vec::new();
    walk(Some(&canonical(recorded)), Some(&canonical(received)), &mut "$".to_string(), &mut out);
    out
}

/// The matchers that would have ignored these differences, if any set of the named ones does: each top-level
/// member that differs is dropped from `body` matching.
pub fn relaxation(diffs: &[PathDiff]) -> Option<Vec<Rule>> {
    let member = |d: &PathDiff| d.path.trim_start_matches("$.").split(['.', '[']).next().unwrap_or("").to_string();
    let differing: std::collections::BTreeSet<String> = diffs.iter().map(member).collect();
    let known = [("Filter", Rule::Filter), ("MaxResults", Rule::MaxResults), ("NextToken", Rule::NextToken)];
    if differing.iter().any(|m| !known.iter().any(|(n, _)| n == m)) {
        return None;
    }
    let keep: Vec<Rule> = known.iter().filter(|(n, _)| !differing.contains(*n)).map(|(_, r)| *r).collect();
    Some(if keep.is_empty() { vec![Rule::Operation] } else { keep })
}

/// Parses rule names (e.g. from a cassette header or `--match-on`).
pub fn parse_rules<S: AsRef<str>>(names: &[S]) -> Result<Vec<Rule>, String> {
    names.iter().map(|n| Rule::parse(n.as_ref())).collect()
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
    fn the_written_canonical_form_is_the_canonical_document() {
        // `request_key` writes the canonical form directly; it must stay the same as `canonical`'s.
        for doc in [
            json!({"MaxResults": 5.0, "Filter": {"SubmitTimeBefore": 1700000000.25, "JobName": "é\"x", "JobStatus": null}}),
            json!({"NextToken": "t", "Extra": [1, 2.0, null, {"b": true, "a": "s"}]}),
            json!({}),
        ] {
            let mut written = String::new();
            write_canonical(&mut written, &doc);
            assert_eq!(written, canonical(&doc).to_string(), "{doc}");
        }
    }

    #[test]
    fn diffs_name_paths_and_suggest_matchers() {
        let recorded = json!({"MaxResults": 37, "Filter": {"JobStatus": "COMPLETED", "SubmitTimeBefore": 1700000000}});
        let received = json!({"MaxResults": 5, "Filter": {"JobStatus": "COMPLETED", "SubmitTimeBefore": 1700000000.0}, "NextToken": "t"});
        let d = diff_paths(&recorded, &received);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].to_string(), "$.MaxResults: recorded 37, received 5");
        assert_eq!(d[1].to_string(), "$.NextToken: recorded (absent), received \"t\"");
        assert_eq!(relaxation(&d), Some(vec![Rule::Filter]));
        let d = diff_paths(&json!({"Filter": {"JobName": "a"}}), &json!({"Filter": {"JobName": "b"}}));
        assert_eq!(d[0].path, "$.Filter.JobName");
        assert_eq!(relaxation(&d), Some(vec![Rule::MaxResults, Rule::NextToken]));
        assert_eq!(relaxation(&diff_paths(&json!({"X": 1}), &json!({}))), None);
    }

    #[test]
    fn unknown_matchers_suggest_the_closest() {
        let e = Rule::parse("next_tokn").unwrap_err();
        assert!(e.contains("Did you mean 'next_token'?"), "{e}");
        let e = Rule::parse("maxresults").unwrap_err();
        assert!(e.contains("'max_results'"), "{e}");
    }
}
