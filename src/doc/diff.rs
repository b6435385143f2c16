//! How two documents differ: as a list of [`PathDiff`]s (what the unmatched-request guide and reports name),
//! and rendered as a line diff of the pretty-printed documents with `similar`, insta's way (patience
//! algorithm, a 500 ms budget, four lines of context, old and new line numbers, changed spans emphasized on a
//! terminal). `review` renders cassette files with the same renderer.

use std::time::Duration;

use serde_json::Value;
use similar::{Algorithm, ChangeTag, TextDiff};

use super::{JsonPath, canonical};

/// One place two documents differ: its path, and the value on each side (`None` when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct PathDiff {
    /// Where.
    pub path: JsonPath,
    /// The value in the recording (or the reference side).
    pub recorded: Option<Value>,
    /// The value received (or the side under test).
    pub received: Option<Value>,
}

impl std::fmt::Display for PathDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "(absent)".to_string(), |v| v.to_string());
        write!(f, "{}: recorded {}, received {}", self.path, show(&self.recorded), show(&self.received))
    }
}

/// Where two documents differ, compared canonically (numbers by value, key order and nulls ignored); list
/// items are compared by position.
pub fn diff_paths(recorded: &Value, received: &Value) -> Vec<PathDiff> {
    fn walk(a: Option<&Value>, b: Option<&Value>, path: &mut JsonPath, out: &mut Vec<PathDiff>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    path.push(super::Segment::Key(k.clone()));
                    walk(x.get(k), y.get(k), path, out);
                    path.pop();
                }
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) => {
                for i in 0..x.len().max(y.len()) {
                    path.push(super::Segment::Index(i));
                    walk(x.get(i), y.get(i), path, out);
                    path.pop();
                }
            }
            (a, b) if a == b => {}
            (a, b) => out.push(PathDiff { path: path.clone(), recorded: a.cloned(), received: b.cloned() }),
        }
    }
    let mut out = Vec::new();
    walk(Some(&canonical(recorded)), Some(&canonical(received)), &mut JsonPath::root(), &mut out);
    out
}

/// A line diff of two documents, pretty-printed canonically; empty when they are the same.
pub fn render_documents(old: &Value, new: &Value, color: bool) -> String {
    let pretty = |v: &Value| {
        let mut s = serde_json::to_string_pretty(&canonical(v)).expect("documents serialize");
        s.push('\n');
        s
    };
    render_lines(&pretty(old), &pretty(new), color)
}

/// A unified line diff of two texts with old and new line numbers; changed spans are emphasized (and lines
/// coloured) when `color` is set. Empty when the texts are the same.
pub fn render_lines(old: &str, new: &str, color: bool) -> String {
    let diff =
        TextDiff::configure().algorithm(Algorithm::Patience).timeout(Duration::from_millis(500)).diff_lines(old, new);
    let mut out = String::new();
    for (i, group) in diff.grouped_ops(4).iter().enumerate() {
        if i > 0 {
            out.push_str("  ┈┈┈┈┈\n");
        }
        for op in group {
            for change in diff.iter_inline_changes(op) {
                let (sign, paint) = match change.tag() {
                    ChangeTag::Delete => ('-', "\x1b[31m"),
                    ChangeTag::Insert => ('+', "\x1b[32m"),
                    ChangeTag::Equal => (' ', ""),
                };
                let old_no = change.old_index().map_or(String::new(), |n| (n + 1).to_string());
                let new_no = change.new_index().map_or(String::new(), |n| (n + 1).to_string());
                out.push_str(&format!("{old_no:>5} {new_no:>5} │"));
                if color && !paint.is_empty() {
                    out.push_str(paint);
                }
                out.push(sign);
                for (emphasized, text) in change.iter_strings_lossy() {
                    if color && emphasized {
                        out.push_str("\x1b[1;4m");
                        out.push_str(&text);
                        out.push_str("\x1b[22;24m");
                    } else {
                        out.push_str(&text);
                    }
                }
                if color && !paint.is_empty() {
                    out.push_str("\x1b[0m");
                }
                if change.missing_newline() {
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_name_paths_canonically() {
        let recorded = json!({"MaxResults": 37, "Filter": {"JobStatus": "COMPLETED", "SubmitTimeBefore": 1700000000}});
        let received = json!({"MaxResults": 5, "Filter": {"JobStatus": "COMPLETED", "SubmitTimeBefore": 1700000000.0}, "NextToken": "t"});
        let d = diff_paths(&recorded, &received);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].to_string(), "$.MaxResults: recorded 37, received 5");
        assert_eq!(d[1].to_string(), "$.NextToken: recorded (absent), received \"t\"");
        let d = diff_paths(&json!({"L": [1, 2]}), &json!({"L": [1, 3, 4]}));
        assert_eq!(d.iter().map(|d| d.path.to_string()).collect::<Vec<_>>(), ["$.L[1]", "$.L[2]"]);
    }

    #[test]
    fn rendered_diffs_show_changed_lines_with_numbers() {
        let d = render_lines("a\nb\nc\n", "a\nB\nc\n", false);
        assert!(d.contains("    2       │-b"), "{d}");
        assert!(d.contains("          2 │+B"), "{d}");
        assert!(d.contains("    1     1 │ a"), "{d}");
        assert_eq!(render_lines("same\n", "same\n", false), "");
        let d = render_documents(&json!({"MaxResults": 37, "A": 1}), &json!({"A": 1.0, "MaxResults": 36}), false);
        assert!(d.contains("│-  \"MaxResults\": 37") && d.contains("│+  \"MaxResults\": 36"), "{d}");
        assert!(!d.contains("\"A\": 1.0"), "compared canonically: {d}");
        let colored = render_lines("a\n", "b\n", true);
        assert!(colored.contains("\x1b[31m") && colored.contains("\x1b[32m"), "{colored:?}");
    }
}
