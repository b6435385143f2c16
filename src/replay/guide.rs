//! The guide for an unmatched request: the closest recorded interaction (cassette and index), the JSON paths
//! where it differs from what was received, the matchers in force, and numbered ways to fix it. The same text
//! is the error message on the wire and, framed, a block on stderr.

use serde_json::Value;

use super::Library;
use crate::matching::{self, PathDiff, Rule};
use crate::protocol::Protocol;

/// Explains why nothing in `library` answers `input`.
pub fn explain(library: &Library, protocol: Protocol, input: &Value, rules: &[Rule]) -> String {
    let rule_names: Vec<&str> = rules.iter().map(|r| r.name()).collect();
    let closest = library
        .entries
        .iter()
        .map(|e| (e, matching::diff_paths(&serde_json::from_str(&e.body).unwrap_or(Value::Null), input)))
        .min_by_key(|(e, d)| (d.len(), e.cassette, e.index));
    let Some((entry, diffs)) = closest else {
        return format!(
            "No recorded interaction matches this {protocol} request {input}: the cassettes hold no interactions."
        );
    };
    let path = library.paths[entry.cassette].display();
    let shown: Vec<String> = diffs.iter().take(6).map(PathDiff::to_string).collect();
    let more = if diffs.len() > 6 { format!(" (and {} more)", diffs.len() - 6) } else { String::new() };
    let differs = if diffs.is_empty() {
        format!("the same input, recorded over {} (a `protocol` matcher is in force)", entry.protocol)
    } else {
        format!("{}{more}", shown.join("; "))
    };
    let relax = match matching::relaxation(&diffs) {
        Some(r) if !diffs.is_empty() => {
            let names: Vec<&str> = r.iter().map(|r| r.name()).collect();
            format!("or relax matching with `--match-on {}`, which ignores what differs", names.join(","))
        }
        _ if diffs.is_empty() => "or drop the `protocol` matcher".to_string(),
        _ => "no matcher ignores these differences".to_string(),
    };
    format!(
        "No recorded interaction matches this {protocol} request {input}. Closest: {path} interaction {}, which differs at {differs}. \
         Matchers: {}. To fix: 1. record it with `snomed-vcr record --mode new_episodes --cassette {path}`; 2. {relax}.",
        entry.index,
        rule_names.join(", "),
    )
}

fn guide_upper_after(chars: &std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    chars.clone().nth(1).is_some_and(char::is_uppercase)
}

/// The guide as a framed block for stderr.
pub fn frame(guide: &str) -> String {
    let mut out = String::from("┌─ snomed-vcr replay: unmatched request\n│ ");
    let mut chars = guide.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        // A sentence ends at ". " before a capital letter ("1. record" does not); parts at "; ".
        if c == '.' && next == Some(' ') && guide_upper_after(&chars) {
            out.push_str(".\n│");
        } else if c == ';' && next == Some(' ') {
            out.push_str("\n│  ");
            chars.next();
        } else {
            out.push(c);
        }
    }
    out.push_str("\n└");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_guide_names_the_closest_interaction_and_the_paths() {
        let dir = crate::util::scratch_dir("guide").unwrap();
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
        let g = explain(
            &lib,
            Protocol::AwsJson11,
            &json!({"MaxResults": 37, "Filter": {"JobStatus": "FAILED"}}),
            &lib.rules(),
        );
        assert!(g.contains(&format!("Closest: {} interaction 1", path.display())), "{g}");
        assert!(g.contains("$.Filter.JobStatus: recorded \"COMPLETED\", received \"FAILED\""), "{g}");
        assert!(g.contains("--mode new_episodes") && g.contains("--match-on max_results,next_token"), "{g}");
        let framed = frame(&g);
        assert!(framed.starts_with("┌─") && framed.lines().count() > 4, "{framed}");
        assert!(framed.contains("│ To fix: 1. record it with"), "{framed}");
        assert!(framed.contains("│  2. or relax matching"), "{framed}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
