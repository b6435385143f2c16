//! Comparison rules: how `diff` compares a place in a document, by path.
//!
//! A rules file (`--rules FILE`, TOML) adds to the defaults ([`Rules::defaults`], printed by `diff
//! --print-rules`); where two rules say the same thing of a path, the later one wins. Paths name places by
//! member, by `[*]` (every item) or by identity (`[JobId=…]`), never by index: an index names a different job
//! as soon as a list is re-paged or reordered.
//!
//! ```toml
//! [compare]
//! message = "ignore"          # error messages: ignore | exact | prefix
//! tolerance = "0ms"           # how far apart two timestamps may be and still agree
//!
//! [[rule]]
//! path = "$.ComprehendMedicalAsyncJobPropertiesList"
//! keyed = "JobId"             # items aligned by this member (missing, extra, duplicated, moved)
//! ordered = "documented"      # true | false | "documented": order judged only where the API fixes it
//!
//! [[rule]]
//! path = "$.ComprehendMedicalAsyncJobPropertiesList[*].ModelVersion"
//! ignore = true
//! why = "varies per run"
//! evidence = ["2.1.0", "2.2.0"]
//! ```

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::doc::{JsonPath, Segment};
use crate::model::JOBS_MEMBER;

/// How error messages compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessagePolicy {
    /// Not compared: the wording is the service's own.
    Ignore,
    /// Equal, character for character.
    Exact,
    /// The received message starts with the recorded one.
    Prefix,
}

impl MessagePolicy {
    fn parse(s: &str) -> Option<MessagePolicy> {
        match s {
            "ignore" => Some(MessagePolicy::Ignore),
            "exact" => Some(MessagePolicy::Exact),
            "prefix" => Some(MessagePolicy::Prefix),
            _ => None,
        }
    }

    /// The name rules files use.
    pub fn name(self) -> &'static str {
        match self {
            MessagePolicy::Ignore => "ignore",
            MessagePolicy::Exact => "exact",
            MessagePolicy::Prefix => "prefix",
        }
    }
}

/// Whether a list's order is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ordered {
    /// Always: a moved item is a difference.
    Yes,
    /// Never: the list is compared as a set (by key, or by value).
    No,
    /// Only for a request whose filter has a documented order (`SubmitTimeBefore` alone, `SubmitTimeAfter`
    /// alone).
    Documented,
}

/// What the rules say of one place.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Treatment {
    /// Not compared at all.
    pub ignore: bool,
    /// For a list: align items by this member.
    pub keyed: Option<String>,
    /// For a list: compare as a multiset of values.
    pub set: bool,
    /// For a list: whether order counts (default: yes, for unkeyed lists that are not sets).
    pub ordered: Option<Ordered>,
    /// For timestamps and numbers: how far apart they may be.
    pub tolerance: Option<Duration>,
    /// For an error message.
    pub message: Option<MessagePolicy>,
}

/// One rule: a path (pattern) and what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct PathRule {
    /// Where it applies.
    pub path: JsonPath,
    /// What it says.
    pub treatment: Treatment,
    /// Why, for people.
    pub why: Option<String>,
    /// Values seen there (for learned noise).
    pub evidence: Vec<String>,
}

/// Every rule in force: the defaults, then the rules files'.
#[derive(Clone, Debug, PartialEq)]
pub struct Rules {
    /// The default error message policy.
    pub message: MessagePolicy,
    /// The default timestamp tolerance.
    pub tolerance: Duration,
    /// The rules, in order (later ones win).
    pub rules: Vec<PathRule>,
}

/// The path an error's message is compared at.
pub const MESSAGE_PATH: &str = "$.message";

impl Rules {
    /// The defaults for this operation: jobs aligned by `JobId`, their order judged where documented, error
    /// messages not compared, timestamps exact.
    pub fn defaults() -> Rules {
        Rules {
            message: MessagePolicy::Ignore,
            tolerance: Duration::ZERO,
            rules: vec![PathRule {
                path: JsonPath::root().key(JOBS_MEMBER),
                treatment: Treatment {
                    keyed: Some("JobId".into()),
                    ordered: Some(Ordered::Documented),
                    ..Treatment::default()
                },
                why: Some(
                    "jobs are named by JobId; their order is compared only where the documentation fixes it".into(),
                ),
                evidence: Vec::new(),
            }],
        }
    }

    /// The defaults plus the rules in `path`.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RulesError::unreadable(path, &e))?;
        let mut rules = Rules::defaults();
        rules.extend_from_toml(&text).map_err(|e| e.in_file(path))?;
        Ok(rules)
    }

    /// Adds the rules of a TOML text. Errors name the line and the field.
    pub fn extend_from_toml(&mut self, text: &str) -> Result<(), RulesError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            compare: Option<Compare>,
            #[serde(default)]
            rule: Vec<toml::Spanned<RawRule>>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Compare {
            message: Option<String>,
            tolerance: Option<toml::Value>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawRule {
            path: String,
            #[serde(default)]
            ignore: bool,
            keyed: Option<String>,
            #[serde(default)]
            set: bool,
            ordered: Option<toml::Value>,
            tolerance: Option<toml::Value>,
            message: Option<String>,
            why: Option<String>,
            #[serde(default)]
            evidence: Vec<String>,
        }
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let file: File = toml::from_str(text).map_err(|e| RulesError {
            path: None,
            line: e.span().map(|s| line_of(s.start)),
            why: e.message().into(),
        })?;
        let unlined = |why: String| RulesError { path: None, line: None, why };
        if let Some(c) = file.compare {
            if let Some(m) = c.message {
                self.message = MessagePolicy::parse(&m)
                    .ok_or_else(|| unlined(format!("[compare] message: '{m}' is not ignore, exact or prefix")))?;
            }
            if let Some(t) = c.tolerance {
                self.tolerance = parse_tolerance(&t).map_err(|e| unlined(format!("[compare] tolerance: {e}")))?;
            }
        }
        for spanned in file.rule {
            let line = line_of(spanned.span().start);
            let raw = spanned.into_inner();
            let at = |field: &str, why: String| RulesError {
                path: None,
                line: Some(line),
                why: format!("[[rule]] {field}: {why}"),
            };
            let path = JsonPath::parse(&raw.path).map_err(|e| at("path", e.to_string()))?;
            if path.segments().iter().any(|s| matches!(s, Segment::Index(_))) {
                return Err(at(
                    "path",
                    format!(
                        "'{}' names a list item by index; name it by identity ([JobId=…]) or [*], because an index \
                         names another job once a list is re-paged or reordered",
                        raw.path
                    ),
                ));
            }
            let ordered = match raw.ordered {
                None => None,
                Some(toml::Value::Boolean(true)) => Some(Ordered::Yes),
                Some(toml::Value::Boolean(false)) => Some(Ordered::No),
                Some(toml::Value::String(s)) if s == "documented" => Some(Ordered::Documented),
                Some(other) => {
                    return Err(at("ordered", format!("{} is not true, false or \"documented\"", toml_show(&other))));
                }
            };
            let tolerance = match &raw.tolerance {
                Some(t) => Some(parse_tolerance(t).map_err(|e| at("tolerance", e.to_string()))?),
                None => None,
            };
            let message = match &raw.message {
                Some(m) => Some(
                    MessagePolicy::parse(m)
                        .ok_or_else(|| at("message", format!("'{m}' is not ignore, exact or prefix")))?,
                ),
                None => None,
            };
            if raw.set && raw.keyed.is_some() {
                return Err(at("set", "a list is either keyed or a set, not both".into()));
            }
            self.rules.push(PathRule {
                path,
                treatment: Treatment {
                    ignore: raw.ignore,
                    keyed: raw.keyed,
                    set: raw.set,
                    ordered,
                    tolerance,
                    message,
                },
                why: raw.why,
                evidence: raw.evidence,
            });
        }
        Ok(())
    }

    /// What the rules say of the concrete place `path`: each aspect from the last rule that says it.
    pub fn at(&self, path: &JsonPath) -> Treatment {
        let mut t = Treatment::default();
        for rule in self.rules.iter().filter(|r| r.path.matches(path)) {
            let r = &rule.treatment;
            t.ignore |= r.ignore;
            if r.keyed.is_some() {
                t.keyed.clone_from(&r.keyed);
                t.set = false;
            }
            if r.set {
                t.set = true;
                t.keyed = None;
            }
            t.ordered = r.ordered.or(t.ordered);
            t.tolerance = r.tolerance.or(t.tolerance);
            t.message = r.message.or(t.message);
        }
        t
    }

    /// Whether anything at `path` is ignored (the place itself or a pattern above it).
    pub fn ignored(&self, path: &JsonPath) -> bool {
        let segs = path.segments();
        (0..=segs.len()).any(|n| {
            let prefix = JsonPath::from_segments(segs[..n].to_vec());
            self.rules.iter().any(|r| r.treatment.ignore && r.path.matches(&prefix))
        })
    }

    /// The timestamp tolerance at `path`.
    pub fn tolerance_at(&self, path: &JsonPath) -> Duration {
        self.at(path).tolerance.unwrap_or(self.tolerance)
    }

    /// The message policy for errors.
    pub fn message_policy(&self) -> MessagePolicy {
        let path = JsonPath::parse(MESSAGE_PATH).expect("a valid path");
        self.at(&path).message.unwrap_or(self.message)
    }

    /// The rules as a TOML file, defaults included, with comments: what `diff --print-rules` prints.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# snomed-vcr diff rules. Give your own with --rules FILE: they add to these, and a later rule wins.\n\
             # Paths name places by member, [*] or identity ([JobId=...]), never by index.\n\n[compare]\n",
        );
        let _ = writeln!(out, "message = \"{}\"   # error messages: ignore | exact | prefix", self.message.name());
        let _ =
            writeln!(out, "tolerance = \"{}\"   # timestamps: how far apart two instants may be", show(self.tolerance));
        for rule in &self.rules {
            out.push_str(&rule_toml(rule));
        }
        out
    }
}

/// One rule as a TOML `[[rule]]` table.
pub fn rule_toml(rule: &PathRule) -> String {
    let q = |s: &str| toml_string(s);
    let mut out = format!("\n[[rule]]\npath = {}\n", q(&rule.path.to_string()));
    let t = &rule.treatment;
    if t.ignore {
        out.push_str("ignore = true\n");
    }
    if let Some(k) = &t.keyed {
        let _ = writeln!(out, "keyed = {}", q(k));
    }
    if t.set {
        out.push_str("set = true\n");
    }
    match t.ordered {
        Some(Ordered::Yes) => out.push_str("ordered = true\n"),
        Some(Ordered::No) => out.push_str("ordered = false\n"),
        Some(Ordered::Documented) => out.push_str("ordered = \"documented\"\n"),
        None => {}
    }
    if let Some(d) = t.tolerance {
        let _ = writeln!(out, "tolerance = \"{}\"", show(d));
    }
    if let Some(m) = t.message {
        let _ = writeln!(out, "message = \"{}\"", m.name());
    }
    if let Some(w) = &rule.why {
        let _ = writeln!(out, "why = {}", q(w));
    }
    if !rule.evidence.is_empty() {
        let items: Vec<String> = rule.evidence.iter().map(|e| q(e)).collect();
        let _ = writeln!(out, "evidence = [{}]", items.join(", "));
    }
    out
}

/// A TOML value as written.
fn toml_show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => toml_string(s),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(_) => "an array".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    // JSON string escapes are valid TOML basic-string escapes, except that TOML has no `\/`, which serde_json
    // never writes.
    serde_json::to_string(s).expect("strings serialize")
}

fn show(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}us", d.as_micros())
    }
}

/// A rules file or text that cannot be used: where (the file, the line) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesError {
    /// The file, when the rules came from one.
    pub path: Option<std::path::PathBuf>,
    /// The line (from 1), when the fault is on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub why: String,
}

impl RulesError {
    fn unreadable(path: &Path, e: &std::io::Error) -> RulesError {
        RulesError { path: Some(path.into()), line: None, why: format!("cannot read it: {e}") }
    }

    pub(crate) fn in_file(self, path: &Path) -> RulesError {
        RulesError { path: Some(path.into()), ..self }
    }
}

impl std::fmt::Display for RulesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "--rules: {}: ", p.display())?;
        }
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        f.write_str(&self.why)
    }
}

impl std::error::Error for RulesError {}

/// A tolerance that is none: what was given, and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NotADuration(String);

/// A tolerance: seconds as a number, or a string such as `"5ms"`, `"250us"`, `"1s"`, `"0"`.
fn parse_tolerance(v: &toml::Value) -> Result<Duration, NotADuration> {
    let secs = match v {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        toml::Value::String(s) => {
            let s = s.trim();
            let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
                (n, 1e-3)
            } else if let Some(n) = s.strip_suffix("us").or_else(|| s.strip_suffix("µs")) {
                (n, 1e-6)
            } else if let Some(n) = s.strip_suffix('s') {
                (n, 1.0)
            } else {
                (s, 1.0)
            };
            num.trim()
                .parse::<f64>()
                .map_err(|_| NotADuration(format!("'{s}' is not a duration (expected e.g. \"5ms\", \"1s\")")))?
                * scale
        }
        other => {
            return Err(NotADuration(format!(
                "{} is not a duration (expected e.g. \"5ms\" or a number of seconds)",
                toml_show(other)
            )));
        }
    };
    if !(secs >= 0.0 && secs.is_finite()) {
        return Err(NotADuration(format!("{secs} is not a duration of at least 0")));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> JsonPath {
        JsonPath::parse(s).unwrap()
    }

    #[test]
    fn defaults_key_jobs_by_id_and_print_as_rules_that_read_back() {
        let d = Rules::defaults();
        let at = d.at(&p("$.ComprehendMedicalAsyncJobPropertiesList"));
        assert_eq!((at.keyed.as_deref(), at.ordered), (Some("JobId"), Some(Ordered::Documented)));
        assert_eq!(d.message_policy(), MessagePolicy::Ignore);
        let mut again = Rules { rules: Vec::new(), ..Rules::defaults() };
        again.extend_from_toml(&d.to_toml()).unwrap();
        assert_eq!(again, d, "{}", d.to_toml());
    }

    #[test]
    fn rules_add_up_by_identity_and_wildcard() {
        let mut r = Rules::defaults();
        r.extend_from_toml(
            r#"
[compare]
message = "prefix"
tolerance = "5ms"

[[rule]]
path = "$.ComprehendMedicalAsyncJobPropertiesList[*].ModelVersion"
ignore = true
evidence = ["a", "b"]

[[rule]]
path = "$.ComprehendMedicalAsyncJobPropertiesList[JobId=abc].EndTime"
tolerance = 1.5
"#,
        )
        .unwrap();
        assert_eq!(r.message_policy(), MessagePolicy::Prefix);
        assert!(r.ignored(&p("$.ComprehendMedicalAsyncJobPropertiesList[JobId=x].ModelVersion")));
        assert!(!r.ignored(&p("$.ComprehendMedicalAsyncJobPropertiesList[JobId=x].JobName")));
        assert_eq!(
            r.tolerance_at(&p("$.ComprehendMedicalAsyncJobPropertiesList[JobId=abc].EndTime")).as_millis(),
            1500
        );
        assert_eq!(r.tolerance_at(&p("$.ComprehendMedicalAsyncJobPropertiesList[JobId=x].EndTime")).as_millis(), 5);
        let printed = r.to_toml();
        assert!(printed.contains("evidence = [\"a\", \"b\"]"), "{printed}");
    }

    #[test]
    fn bad_rules_name_the_line_and_field() {
        let mut r = Rules::defaults();
        let err = r.extend_from_toml("[[rule]]\npath = \"$.L[3].X\"\nignore = true\n").unwrap_err();
        assert_eq!((err.path.as_deref(), err.line), (None, Some(1)), "typed: {err:?}");
        let e = err.to_string();
        assert!(e.starts_with("line 1: [[rule]] path:") && e.contains("by index"), "{e}");
        let e = r.extend_from_toml("\n\n[[rule]]\npath = \"$.X\"\nordered = 3\n").unwrap_err().to_string();
        assert!(e.starts_with("line 3: [[rule]] ordered: 3 is not"), "{e}");
        let e = r.extend_from_toml("[[rule]]\npath = \"$.X\"\nignroe = true\n").unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("ignroe"), "{e}");
        let e = r.extend_from_toml("[compare]\nmessage = \"loose\"\n").unwrap_err().to_string();
        assert!(e.contains("'loose' is not ignore, exact or prefix"), "{e}");
        let e = r.extend_from_toml("[[rule]]\npath = \"$.X\"\ntolerance = \"soon\"\n").unwrap_err().to_string();
        assert!(e.contains("tolerance: 'soon' is not a duration"), "{e}");
    }
}
