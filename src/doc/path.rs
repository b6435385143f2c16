//! [`JsonPath`]: the one way the project names a place in a document, in messages, rules and reports.
//!
//! Written `$.Filter.JobName`, `$.ComprehendMedicalAsyncJobPropertiesList[3].JobStatus`, with `[*]` for every
//! item of a list and `[JobId=…]` for the list item whose `JobId` has that value (a place named by identity,
//! which survives a reordered or re-paged list, where an index does not). AWS's own messages name members
//! without the `$.` (`'Filter.SubmitTimeBefore'`): [`JsonPath::member_path`] writes that form.

use std::fmt;

use serde_json::Value;

use crate::options::ParseError;

/// One step of a [`JsonPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A member of a structure.
    Key(String),
    /// An item of a list, by position.
    Index(usize),
    /// `[*]`: every item of a list.
    Any,
    /// `[key=value]`: the item of a list whose member `key` is the string `value`.
    Keyed {
        /// The identifying member, such as `JobId`.
        key: String,
        /// Its value in the item meant.
        value: String,
    },
}

/// A place in a JSON document (or, with `[*]`, a pattern of places). The empty path is the document itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath(Vec<Segment>);

impl JsonPath {
    /// The document itself, `$`.
    pub fn root() -> JsonPath {
        JsonPath(Vec::new())
    }

    /// The path of these steps.
    pub fn from_segments(segments: Vec<Segment>) -> JsonPath {
        JsonPath(segments)
    }

    /// The steps from the root.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the document itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends a step.
    pub fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    /// Removes the last step.
    pub fn pop(&mut self) -> Option<Segment> {
        self.0.pop()
    }

    /// This path followed by member `key`.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> JsonPath {
        self.0.push(Segment::Key(key.into()));
        self
    }

    /// This path followed by list item `index`.
    #[must_use]
    pub fn index(mut self, index: usize) -> JsonPath {
        self.0.push(Segment::Index(index));
        self
    }

    /// This path followed by the list item whose `key` is `value`.
    #[must_use]
    pub fn keyed(mut self, key: impl Into<String>, value: impl Into<String>) -> JsonPath {
        self.0.push(Segment::Keyed { key: key.into(), value: value.into() });
        self
    }

    /// This path followed by every step of `rest`.
    #[must_use]
    pub fn join(mut self, rest: &JsonPath) -> JsonPath {
        self.0.extend(rest.0.iter().cloned());
        self
    }

    /// The first member name, if the path starts with one (`Filter` in `$.Filter.JobName`).
    pub fn first_key(&self) -> Option<&str> {
        match self.0.first() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// Parses `$.A.B[3].C`, `$.List[*].X`, `$.List[JobId=abc].X`, `$["odd key"]`; the leading `$` and the
    /// dot after it may be left out (`Filter.JobName`). `[]` is read as `[*]`.
    pub fn parse(s: &str) -> Result<JsonPath, ParseError> {
        let bad = |why: &str| {
            ParseError::new(s, format!("a JSON path ({why}; expected e.g. $.Filter.JobName or $.List[*].JobId)"))
        };
        let trimmed = s.trim();
        let mut rest = trimmed.strip_prefix('$').unwrap_or(trimmed);
        let mut path = JsonPath::root();
        // Without the `$`, the first member may come without its dot.
        let mut first = rest.len() == trimmed.len();
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('[') {
                let Some(close) = bracket_end(inner) else { return Err(bad("a '[' is never closed")) };
                let body = &inner[..close];
                rest = &inner[close + 1..];
                path.push(match body {
                    "" | "*" => Segment::Any,
                    _ if body.starts_with('"') => {
                        Segment::Key(serde_json::from_str(body).map_err(|_| bad("a quoted key is not a JSON string"))?)
                    }
                    _ if body.bytes().all(|b| b.is_ascii_digit()) => {
                        Segment::Index(body.parse().map_err(|_| bad("an index is too large"))?)
                    }
                    _ => match body.split_once('=') {
                        Some((k, v)) if !k.is_empty() => {
                            let value = if v.starts_with('"') {
                                serde_json::from_str(v).map_err(|_| bad("a quoted value is not a JSON string"))?
                            } else {
                                v.to_string()
                            };
                            Segment::Keyed { key: k.to_string(), value }
                        }
                        _ => return Err(bad("brackets hold *, an index, \"a key\" or KEY=VALUE")),
                    },
                });
            } else {
                let after_dot = match rest.strip_prefix('.') {
                    Some(r) => r,
                    None if first => rest,
                    None => return Err(bad("members are separated by '.'")),
                };
                let end = after_dot.find(['.', '[']).unwrap_or(after_dot.len());
                if end == 0 {
                    return Err(bad("a member name is empty"));
                }
                path.push(Segment::Key(after_dot[..end].to_string()));
                rest = &after_dot[end..];
            }
            first = false;
        }
        Ok(path)
    }

    /// The path as AWS messages write member paths: no `$`, dots between members (`Filter.SubmitTimeBefore`,
    /// `ComprehendMedicalAsyncJobPropertiesList[0].SubmitTime`).
    pub fn member_path(&self) -> MemberPath<'_> {
        MemberPath(self)
    }

    /// Whether this path, read as a pattern, names `concrete`: `[*]` stands for any index or identity, and
    /// every other step must be equal.
    pub fn matches(&self, concrete: &JsonPath) -> bool {
        self.0.len() == concrete.0.len()
            && self.0.iter().zip(&concrete.0).all(|(p, c)| match (p, c) {
                (Segment::Any, Segment::Index(_) | Segment::Keyed { .. } | Segment::Any) => true,
                (p, c) => p == c,
            })
    }

    /// The value this (concrete) path names in `doc`, if there is one.
    pub fn get<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(doc, |v, seg| match (seg, v) {
            (Segment::Key(k), Value::Object(m)) => m.get(k),
            (Segment::Index(i), Value::Array(items)) => items.get(*i),
            (Segment::Keyed { key, value }, Value::Array(items)) => {
                items.iter().find(|item| item.get(key).and_then(Value::as_str) == Some(value))
            }
            _ => None,
        })
    }

    /// Calls `f` on every value in `doc` this path (or pattern) names; members that are absent are skipped.
    pub fn for_each_mut(&self, doc: &mut Value, f: &mut impl FnMut(&mut Value)) {
        fn walk(v: &mut Value, path: &[Segment], f: &mut impl FnMut(&mut Value)) {
            let Some((first, rest)) = path.split_first() else { return f(v) };
            match (first, v) {
                (Segment::Key(k), Value::Object(m)) => {
                    if let Some(child) = m.get_mut(k) {
                        walk(child, rest, f);
                    }
                }
                (Segment::Index(i), Value::Array(items)) => {
                    if let Some(child) = items.get_mut(*i) {
                        walk(child, rest, f);
                    }
                }
                (Segment::Any, Value::Array(items)) => items.iter_mut().for_each(|i| walk(i, rest, f)),
                (Segment::Keyed { key, value }, Value::Array(items)) => {
                    for item in items.iter_mut().filter(|i| i.get(key).and_then(Value::as_str) == Some(value)) {
                        walk(item, rest, f);
                    }
                }
                _ => {}
            }
        }
        walk(doc, &self.0, f)
    }
}

/// Where the `]` closing a bracket whose inside starts `s` is: the first `]` outside a quoted string.
fn bracket_end(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ']' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn plain_name(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

fn write_segment(f: &mut fmt::Formatter<'_>, seg: &Segment, dot: bool) -> fmt::Result {
    match seg {
        Segment::Key(k) if plain_name(k) => {
            if dot {
                f.write_str(".")?;
            }
            f.write_str(k)
        }
        Segment::Key(k) => write!(f, "[{}]", Value::String(k.clone())),
        Segment::Index(i) => write!(f, "[{i}]"),
        Segment::Any => f.write_str("[*]"),
        Segment::Keyed { key, value } if plain_name(value) => write!(f, "[{key}={value}]"),
        Segment::Keyed { key, value } => write!(f, "[{key}={}]", Value::String(value.clone())),
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        self.0.iter().try_for_each(|seg| write_segment(f, seg, true))
    }
}

/// [`JsonPath::member_path`]'s form.
pub struct MemberPath<'a>(&'a JsonPath);

impl fmt::Display for MemberPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.0.iter().enumerate() {
            write_segment(f, seg, i > 0)?;
        }
        Ok(())
    }
}

/// A path equals the text that parses to it (`$.Filter.JobName`, or `Filter.JobName`).
impl PartialEq<str> for JsonPath {
    fn eq(&self, other: &str) -> bool {
        JsonPath::parse(other).is_ok_and(|p| p == *self)
    }
}

impl PartialEq<&str> for JsonPath {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl std::str::FromStr for JsonPath {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<JsonPath, ParseError> {
        JsonPath::parse(s)
    }
}

impl serde::Serialize for JsonPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_print_and_parse_back() {
        let p = JsonPath::root().key("ComprehendMedicalAsyncJobPropertiesList").index(3).key("JobStatus");
        assert_eq!(p.to_string(), "$.ComprehendMedicalAsyncJobPropertiesList[3].JobStatus");
        assert_eq!(p.member_path().to_string(), "ComprehendMedicalAsyncJobPropertiesList[3].JobStatus");
        let keyed = JsonPath::root().key("List").keyed("JobId", "377fb58a").key("JobStatus");
        assert_eq!(keyed.to_string(), "$.List[JobId=377fb58a].JobStatus");
        let odd = JsonPath::root().key("a b").keyed("JobId", "x y]");
        assert_eq!(odd.to_string(), r#"$["a b"][JobId="x y]"]"#);
        for p in [p, keyed, odd, JsonPath::root(), JsonPath::root().key("A").push_any()] {
            assert_eq!(JsonPath::parse(&p.to_string()).unwrap(), p, "{p}");
        }
        assert_eq!(JsonPath::parse("Filter.JobName").unwrap(), JsonPath::root().key("Filter").key("JobName"));
        assert_eq!(JsonPath::parse("$.a[]").unwrap(), JsonPath::root().key("a").push_any());
        for bad in ["$.a[", "$.a..b", "$.a[x]", "$a.b", "$.a[=1]"] {
            let e = JsonPath::parse(bad).unwrap_err();
            assert!(e.to_string().contains("is not a JSON path"), "{bad}: {e}");
        }
    }

    #[test]
    fn patterns_match_concrete_paths_and_select_values() {
        let pattern = JsonPath::parse("$.List[*].JobId").unwrap();
        assert!(pattern.matches(&JsonPath::parse("$.List[4].JobId").unwrap()));
        assert!(pattern.matches(&JsonPath::parse("$.List[JobId=a].JobId").unwrap()));
        assert!(!pattern.matches(&JsonPath::parse("$.List[4].JobName").unwrap()));
        assert!(!pattern.matches(&JsonPath::parse("$.List").unwrap()));
        let mut doc = json!({"List": [{"JobId": "a", "N": 1}, {"JobId": "b", "N": 2}]});
        assert_eq!(JsonPath::parse("$.List[JobId=b].N").unwrap().get(&doc), Some(&json!(2)));
        assert_eq!(JsonPath::parse("$.List[1].JobId").unwrap().get(&doc), Some(&json!("b")));
        assert_eq!(JsonPath::parse("$.List[7]").unwrap().get(&doc), None);
        let mut seen = 0;
        JsonPath::parse("$.List[*].N").unwrap().for_each_mut(&mut doc, &mut |v| {
            seen += 1;
            *v = json!(0);
        });
        assert_eq!((seen, doc["List"][1]["N"].clone()), (2, json!(0)));
    }

    impl JsonPath {
        fn push_any(mut self) -> JsonPath {
            self.push(Segment::Any);
            self
        }
    }
}
