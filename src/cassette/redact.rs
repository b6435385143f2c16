//! Redaction, applied to every interaction before anything touches disk (journal or cassette), and by replay to
//! incoming requests so that matching sees what the cassette holds.
//!
//! - Headers: only a short keep-list is stored; credentials, dates, cookies, `amz-sdk-*` and user agents never
//!   are, even if asked for.
//! - Account ids: every 12-digit account id seen in an ARN is replaced everywhere (bucket names and paths too) by
//!   a placeholder, `000000000001`, `000000000002`, … in order of first appearance: one real value, one
//!   placeholder, and still a valid ARN.
//! - KMS key ids (the UUID of `arn:aws:kms:…:key/UUID`, or a bare key id in `KMSKey`) likewise become
//!   `00000000-0000-4000-8000-000000000001`, ….
//! - Extra rules (`--redact`): `header:NAME` replaces a kept header's value with `REDACTED`;
//!   `json:$.Path[*].To` replaces the value at a body path (request and response) with `REDACTED` (strings) or
//!   `null` (anything else).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use http::HeaderMap;
use serde_json::Value;

use crate::doc::{JsonPath, Segment};
use crate::options::ParseError;

/// Headers never stored, whatever the rules say.
pub fn never_stored(name: &str) -> bool {
    matches!(
        name,
        "authorization"
            | "proxy-authorization"
            | "x-amz-security-token"
            | "x-amz-date"
            | "x-amz-content-sha256"
            | "cookie"
            | "set-cookie"
            | "user-agent"
            | "x-amz-user-agent"
    ) || name.starts_with("amz-sdk-")
}

/// Request headers stored by default: the ones that say what the request is.
pub const KEPT_REQUEST_HEADERS: [&str; 4] = ["accept", "content-type", "smithy-protocol", "x-amz-target"];
/// Response headers stored by default. `x-amzn-RequestId` is left out: it differs on every call, and replay
/// makes a fresh one.
pub const KEPT_RESPONSE_HEADERS: [&str; 3] = ["content-type", "smithy-protocol", "x-amzn-errortype"];

/// The value that replaces redacted strings.
pub const REDACTED: &str = "REDACTED";

/// One extra redaction rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedactRule {
    /// `header:NAME`: a kept header's value becomes `REDACTED`.
    Header(String),
    /// `json:$.PATH`: the values at a body path (members and `[*]`) become `REDACTED` (strings) or `null`.
    JsonPath(JsonPath),
}

impl RedactRule {
    /// Parses `header:NAME` or `json:$.A.B[*].C`.
    pub fn parse(s: &str) -> Result<RedactRule, ParseError> {
        if let Some(name) = s.strip_prefix("header:") {
            if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(ParseError::new(s, "a redaction rule (header:NAME needs a header name)"));
            }
            return Ok(RedactRule::Header(name.to_ascii_lowercase()));
        }
        if let Some(path) = s.strip_prefix("json:") {
            let path = JsonPath::parse(path).map_err(|e| ParseError::new(s, format!("a redaction rule ({e})")))?;
            if path.is_root() {
                return Err(ParseError::new(
                    s,
                    "a redaction rule (the path names no member; e.g. json:$.Filter.JobName)",
                ));
            }
            if path.segments().iter().any(|seg| !matches!(seg, Segment::Key(_) | Segment::Any)) {
                return Err(ParseError::new(
                    s,
                    "a redaction rule (a path of members and [*], which reaches every item)",
                ));
            }
            return Ok(RedactRule::JsonPath(path));
        }
        Err(ParseError::new(s, "a redaction rule (expected header:NAME or json:$.PATH)"))
    }
}

#[derive(Default)]
struct Placeholders {
    /// Account ids are kept as they are (`record --keep accounts`).
    keep_accounts: bool,
    /// In the order they were met; a recording meets few, so a look through them beats hashing.
    accounts: Vec<Account>,
    kms_keys: HashMap<String, String>,
}

/// What every KMS key id placeholder begins with; 12 digits follow (`…-000000000001`).
const KMS_PLACEHOLDER_PREFIX: &str = "00000000-0000-4000-8000-";

/// A real account id, as a searcher for text, and its placeholder.
struct Account {
    finder: memchr::memmem::Finder<'static>,
    placeholder: [u8; 12],
}

/// A recording session's redactor: its placeholder maps are shared by every interaction.
pub struct Redactor {
    rules: Vec<RedactRule>,
    placeholders: Mutex<Placeholders>,
}

/// Whether a 12-digit account id is one of ours.
pub fn is_account_placeholder(id: &str) -> bool {
    id.len() == 12 && id.starts_with("00000000")
}

impl Redactor {
    /// A redactor with the built-in rules and these extra ones, its placeholder maps empty.
    pub fn new(rules: Vec<RedactRule>) -> Redactor {
        Redactor { rules, placeholders: Mutex::new(Placeholders::default()) }
    }

    /// This redactor, leaving account ids as they are (`record --keep accounts`).
    pub fn keeping_accounts(self) -> Redactor {
        let mut ph = self.placeholders.into_inner().unwrap_or_else(|e| e.into_inner());
        ph.keep_accounts = true;
        Redactor { rules: self.rules, placeholders: Mutex::new(ph) }
    }

    /// The kept, redacted headers of a message.
    pub fn headers(&self, headers: &HeaderMap, keep: &[&str]) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (name, value) in headers {
            let n = name.as_str();
            if never_stored(n) || !keep.contains(&n) {
                continue;
            }
            let v = if self.rules.iter().any(|r| matches!(r, RedactRule::Header(h) if h == n)) {
                REDACTED.to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            out.insert(n.to_string(), v);
        }
        out
    }

    /// Applies only the `json:` rules to a body document (no placeholders: those need the whole session).
    pub fn document_rules(&self, doc: &mut Value) {
        for rule in &self.rules {
            if let RedactRule::JsonPath(path) = rule {
                path.for_each_mut(doc, &mut |v| {
                    *v = if v.is_string() { Value::String(REDACTED.into()) } else { Value::Null }
                });
            }
        }
    }

    /// Redacts a body document in place.
    pub fn document(&self, doc: &mut Value) {
        self.document_rules(doc);
        let mut ph = self.placeholders.lock().unwrap_or_else(|e| e.into_inner());
        // Learn every account and key id first, so a bucket name is redacted even when its ARN comes later.
        learn(doc, &mut ph);
        replace(doc, &ph);
    }
}

// The proxy redacts every JSON response as text on its hot path, so the searches below are written out by
// hand (a vectorized search for the anchor, then a fixed-shape check) instead of run as regexes: each finds
// exactly what the regex in its comment finds, which the tests check against the regex itself. Documents
// are redacted with the same searches.

/// Account ids of ARNs in `text`: `arn:aws[a-zA-Z-]*:[a-zA-Z0-9-]*:[a-zA-Z0-9-]*:([0-9]{12}):`.
fn arn_accounts(text: &str) -> impl Iterator<Item = &str> {
    arn_account_offsets(text.as_bytes()).map(|at| &text[at..at + 12])
}

/// Where the account ids of [`arn_accounts`] start.
fn arn_account_offsets(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        // One searcher for every call: `memmem::find` builds its searcher anew each time.
        static ARN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"arn:aws"));
        while let Some(k) = ARN.find(&b[from..]) {
            let start = from + k;
            let mut i = start + 7;
            let run = |i: &mut usize, ok: fn(u8) -> bool| {
                while *i < b.len() && ok(b[*i]) {
                    *i += 1;
                }
            };
            let id = (|| {
                run(&mut i, |c| c.is_ascii_alphabetic() || c == b'-');
                for _ in 0..2 {
                    (b.get(i) == Some(&b':')).then_some(())?;
                    i += 1;
                    run(&mut i, |c| c.is_ascii_alphanumeric() || c == b'-');
                }
                (b.get(i) == Some(&b':')).then_some(())?;
                let digits = b.get(i + 1..i + 13)?;
                (digits.iter().all(u8::is_ascii_digit) && b.get(i + 13) == Some(&b':')).then_some(i + 1)
            })();
            match id {
                Some(at) => {
                    from = at + 13;
                    return Some(at);
                }
                None => from = start + 1,
            }
        }
        None
    })
}

/// Whether a UUID (`8-4-4-4-12` hex digits) starts at `s`.
fn uuid_at(b: &[u8], s: usize) -> bool {
    let Some(u) = b.get(s..s + 36) else { return false };
    u.iter().enumerate().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

/// The KMS key id a whole string names, a bare id or the end of a `…:key/` ARN:
/// `(?:^|:key/)([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`.
fn kms_key_of(s: &str) -> Option<&str> {
    let start = s.len().checked_sub(36)?;
    let prefix_ok = start == 0 || s.as_bytes()[..start].ends_with(b":key/");
    (prefix_ok && uuid_at(s.as_bytes(), start)).then(|| &s[start..])
}

/// Start offsets of the UUID-shaped runs in `b`, leftmost first and not overlapping, as
/// `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}` finds them. (The proxy finds
/// these and [`kms_key_offsets`] together, with [`kms_keys_and_uuids`]; the tests hold that one to these
/// one-at-a-time forms, and these to the regexes.)
#[cfg(test)]
fn uuids(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    memchr::memchr_iter(b'-', b).filter_map(move |dash| {
        let s = dash.checked_sub(8).filter(|s| *s >= from)?;
        uuid_at(b, s).then(|| {
            from = s + 36;
            s
        })
    })
}

#[cfg(test)]
/// KMS key ids in JSON text, as `(?:"|:key/)(UUID)"` finds them: a whole string, or the end of a `…:key/` ARN.
fn kms_keys_in_text(text: &str) -> impl Iterator<Item = &str> {
    kms_key_offsets(text.as_bytes()).map(|at| &text[at..at + 36])
}

/// Where the key ids of [`kms_keys_in_text`] start.
#[cfg(test)]
fn kms_key_offsets(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    memchr::memchr_iter(b'-', b).filter_map(move |dash| {
        let s = dash.checked_sub(8)?;
        let quoted = s >= 1 && b[s - 1] == b'"' && s > from;
        let in_arn = s >= 5 && &b[s - 5..s] == b":key/" && s - 5 >= from;
        if !(quoted || in_arn) || !uuid_at(b, s) || b.get(s + 36) != Some(&b'"') {
            return None;
        }
        from = s + 37;
        Some(s)
    })
}

/// [`kms_key_offsets`] and [`uuids`] of the same text in one pass over its dashes (each keeps its own place):
/// the proxy needs both for every answer.
fn kms_keys_and_uuids(b: &[u8]) -> (Vec<usize>, Vec<usize>) {
    let (mut keys, mut runs) = (Vec::new(), Vec::new());
    let (mut key_from, mut run_from) = (0, 0);
    for dash in memchr::memchr_iter(b'-', b) {
        let Some(s) = dash.checked_sub(8) else { continue };
        let quoted = s >= 1 && b[s - 1] == b'"' && s > key_from;
        let in_arn = s >= 5 && &b[s - 5..s] == b":key/" && s - 5 >= key_from;
        let wanted = s >= run_from || quoted || in_arn;
        if !wanted || !uuid_at(b, s) {
            continue;
        }
        if s >= run_from {
            runs.push(s);
            run_from = s + 36;
        }
        if (quoted || in_arn) && b.get(s + 36) == Some(&b'"') {
            keys.push(s);
            key_from = s + 37;
        }
    }
    (keys, runs)
}

impl Redactor {
    /// Redacts JSON text in place, without building a document (the proxy's journal line): learns account and
    /// KMS key ids from the whole text and overwrites every occurrence with its placeholder. Placeholders have
    /// the same length as what they replace and are plain digits or hex, so the text stays the same valid
    /// JSON. `None` when JSON-path rules are set: those need the document ([`Redactor::document`]).
    pub fn json_text_in_place(&self, text: &mut [u8]) -> Option<()> {
        if self.rules.iter().any(|r| matches!(r, RedactRule::JsonPath(_))) {
            return None;
        }
        let mut ph = self.placeholders.lock().unwrap_or_else(|e| e.into_inner());
        for at in arn_account_offsets(text) {
            learn_account(std::str::from_utf8(&text[at..at + 12]).expect("ASCII digits"), &mut ph);
        }
        let (keys, runs) = kms_keys_and_uuids(text);
        for at in keys {
            learn_kms_key(std::str::from_utf8(&text[at..at + 36]).expect("ASCII hex"), &mut ph);
        }
        // Where each placeholder goes, all found in the text as it came (a placeholder written first must not
        // make or hide a match for another), then written.
        let mut writes: Vec<(usize, &[u8])> = Vec::new();
        for account in &ph.accounts {
            // memmem's vectorized search, its searcher built once per account.
            writes.extend(account.finder.find_iter(text).map(|i| (i, &account.placeholder[..])));
        }
        if !ph.kms_keys.is_empty() {
            // One pass over every UUID-shaped run, whatever its context, instead of one scan per known key.
            for s in runs {
                let lower = text[s..s + 36].to_ascii_lowercase();
                if let Some(placeholder) = std::str::from_utf8(&lower).ok().and_then(|k| ph.kms_keys.get(k)) {
                    writes.push((s, placeholder.as_bytes()));
                }
            }
        }
        for (at, placeholder) in writes {
            text[at..at + placeholder.len()].copy_from_slice(placeholder);
        }
        Some(())
    }
}

fn learn_account(id: &str, ph: &mut Placeholders) {
    if !ph.keep_accounts
        && !is_account_placeholder(id)
        && !ph.accounts.iter().any(|a| a.finder.needle() == id.as_bytes())
    {
        let n = ph.accounts.len() + 1;
        ph.accounts.push(Account {
            finder: memchr::memmem::Finder::new(id.as_bytes()).into_owned(),
            placeholder: format!("{n:012}").as_bytes().try_into().expect("12 digits"),
        });
    }
}

fn learn_kms_key(key: &str, ph: &mut Placeholders) {
    let key = key.to_ascii_lowercase();
    if !key.starts_with(KMS_PLACEHOLDER_PREFIX) && !ph.kms_keys.contains_key(&key) {
        let n = ph.kms_keys.len() + 1;
        ph.kms_keys.insert(key, format!("{KMS_PLACEHOLDER_PREFIX}{n:012}"));
    }
}

/// Whether `s` holds `arn:` (a searcher built once: this runs on every string of every document).
fn has_arn(s: &str) -> bool {
    static ARN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"arn:"));
    ARN.find(s.as_bytes()).is_some()
}

fn learn(v: &Value, ph: &mut Placeholders) {
    match v {
        // Cheap checks first: most strings hold no ARN and no key id.
        Value::String(s) if !has_arn(s) && (s.len() < 36 || memchr::memchr(b'-', s.as_bytes()).is_none()) => {}
        Value::String(s) => {
            for id in arn_accounts(s) {
                learn_account(id, ph);
            }
            if let Some(key) = kms_key_of(s) {
                learn_kms_key(key, ph);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| learn(i, ph)),
        Value::Object(map) => map.values().for_each(|i| learn(i, ph)),
        _ => {}
    }
}

fn replace(v: &mut Value, ph: &Placeholders) {
    match v {
        Value::String(s) => {
            let b = s.as_bytes();
            // A key id is UUID-shaped, so it can only occur where a UUID shape starts (before a dash).
            let has_key = !ph.kms_keys.is_empty()
                && b.len() >= 36
                && memchr::memchr_iter(b'-', b).any(|dash| {
                    dash.checked_sub(8).is_some_and(|at| {
                        uuid_at(b, at) && ph.kms_keys.contains_key(&s[at..at + 36].to_ascii_lowercase())
                    })
                });
            let may_hold_account = !ph.accounts.is_empty() && b.iter().filter(|c| c.is_ascii_digit()).count() >= 12;
            if has_key || (may_hold_account && ph.accounts.iter().any(|a| a.finder.find(b).is_some())) {
                let mut out = s.clone();
                for account in &ph.accounts {
                    // The account's own searcher, built once per account, not once per string.
                    let hits: Vec<usize> = account.finder.find_iter(out.as_bytes()).collect();
                    if !hits.is_empty() {
                        let mut bytes = std::mem::take(&mut out).into_bytes();
                        for at in hits {
                            bytes[at..at + 12].copy_from_slice(&account.placeholder);
                        }
                        out = String::from_utf8(bytes).expect("ASCII digits replaced by ASCII digits");
                    }
                }
                for (real, placeholder) in &ph.kms_keys {
                    if let Some(i) = out.to_ascii_lowercase().find(real.as_str()) {
                        out.replace_range(i..i + real.len(), placeholder);
                    }
                }
                *s = out;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| replace(i, ph)),
        Value::Object(map) => map.values_mut().for_each(|i| replace(i, ph)),
        _ => {}
    }
}

/// A placeholder of this module's in `b` at `at`: its length (12 for an account id, 36 for a KMS key id).
fn placeholder_at(b: &[u8], at: usize) -> Option<usize> {
    if b.len() >= at + 36
        && &b[at..at + 24] == KMS_PLACEHOLDER_PREFIX.as_bytes()
        && b[at + 24..at + 36].iter().all(u8::is_ascii_digit)
    {
        return Some(36);
    }
    let digits = b.get(at..at + 12)?;
    let bounded = (at == 0 || !b[at - 1].is_ascii_digit()) && b.get(at + 12).is_none_or(|c| !c.is_ascii_digit());
    (digits.iter().all(u8::is_ascii_digit) && bounded).then_some(12)
}

/// The placeholders in `s`, as (offset, length), leftmost first: how diff finds the places where a recording
/// stands for a real value the target may answer with.
pub(crate) fn placeholders(s: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    for at in memchr::memmem::find_iter(b, b"00000000") {
        if at < from {
            continue;
        }
        if let Some(len) = placeholder_at(b, at) {
            found.push((at, len));
            from = at + len;
        }
    }
    found
}

/// Whether `b[at..at + len]` has the shape of what a placeholder of length `len` stands for.
pub(crate) fn fits_placeholder(b: &[u8], at: usize, len: usize) -> bool {
    let Some(v) = b.get(at..at + len) else { return false };
    match len {
        12 => v.iter().all(u8::is_ascii_digit),
        _ => v
            .iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;
    use serde_json::json;

    #[test]
    fn secrets_never_survive_the_header_filter() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/…"),
            ("x-amz-security-token", "IQoJb3JpZ2luX2VjEJr"),
            ("x-amz-date", "20261130T030224Z"),
            ("cookie", "a=b"),
            ("user-agent", "Boto3/1.44.8"),
            ("amz-sdk-invocation-id", "x"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs"),
        ] {
            h.insert(k, v.parse().unwrap());
        }
        let r = Redactor::new(vec![]);
        let mut keep: Vec<&str> = KEPT_REQUEST_HEADERS.to_vec();
        keep.extend(["authorization", "cookie"]); // asking to keep them changes nothing
        let kept = r.headers(&h, &keep);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["content-type", "x-amz-target"]);
        let r = Redactor::new(vec![RedactRule::parse("header:x-amz-target").unwrap()]);
        assert_eq!(r.headers(&h, &KEPT_REQUEST_HEADERS)["x-amz-target"], REDACTED);
    }

    #[test]
    fn accounts_and_kms_keys_get_consistent_placeholders_everywhere() {
        let r = Redactor::new(vec![]);
        let mut doc = json!({"ComprehendMedicalAsyncJobPropertiesList": [
            {"InputDataConfig": {"S3Bucket": "cm-input-111122223333"},
             "DataAccessRoleArn": "arn:aws:iam::111122223333:role/Access",
             "KMSKey": "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
            {"DataAccessRoleArn": "arn:aws:iam::444455556666:role/Other", "KMSKey": "1234ABCD-12ab-34cd-56ef-1234567890ab"}
        ]});
        r.document(&mut doc);
        let text = doc.to_string();
        assert!(
            !text.contains("111122223333")
                && !text.contains("444455556666")
                && !text.to_lowercase().contains("1234abcd"),
            "{text}"
        );
        let jobs = &doc["ComprehendMedicalAsyncJobPropertiesList"];
        let first = jobs[0]["DataAccessRoleArn"].as_str().unwrap();
        let account = &first[13..25];
        assert!(is_account_placeholder(account), "{first}");
        assert_eq!(
            jobs[0]["InputDataConfig"]["S3Bucket"],
            format!("cm-input-{account}"),
            "same account, same placeholder"
        );
        assert_ne!(
            jobs[1]["DataAccessRoleArn"].as_str().unwrap()[13..25],
            *account,
            "another account, another placeholder"
        );
        let kms = jobs[0]["KMSKey"].as_str().unwrap();
        assert!(kms.ends_with(":key/00000000-0000-4000-8000-000000000001"), "{kms}");
        assert_eq!(jobs[1]["KMSKey"], "00000000-0000-4000-8000-000000000001");
        // The redacted ARN still satisfies the model's pattern.
        let job: crate::model::JobProperties = serde_json::from_value(jobs[0].clone()).unwrap();
        assert_eq!(crate::model::check_job(&job, &crate::doc::JsonPath::root()), vec![]);
        // Redacting again changes nothing.
        let before = doc.clone();
        r.document(&mut doc);
        assert_eq!(doc, before);
    }

    #[test]
    fn text_redaction_agrees_with_document_redaction() {
        let doc = json!({"ComprehendMedicalAsyncJobPropertiesList": [
            {"DataAccessRoleArn": "arn:aws:iam::111122223333:role/Access", "InputDataConfig": {"S3Bucket": "cm-input-111122223333"},
             "KMSKey": "arn:aws:kms:us-east-1:444455556666:key/1234ABCD-12ab-34cd-56ef-1234567890ab"},
            {"KMSKey": "1234abcd-12ab-34cd-56ef-1234567890ab", "Message": "job 111122223333"}
        ]});
        let by_doc = {
            let mut d = doc.clone();
            Redactor::new(vec![]).document(&mut d);
            d
        };
        let mut text = serde_json::to_vec(&doc).unwrap();
        Redactor::new(vec![]).json_text_in_place(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        let by_text: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(by_text, by_doc);
        assert!(
            !text.contains("111122223333")
                && !text.contains("444455556666")
                && !text.to_lowercase().contains("1234abcd")
        );
        // JSON-path rules need the document.
        assert!(
            Redactor::new(vec![RedactRule::parse("json:$.X").unwrap()])
                .json_text_in_place(&mut b"{}".to_vec())
                .is_none()
        );
    }

    #[test]
    fn text_scanners_find_what_their_regexes_find() {
        let arn = Regex::new(r"arn:aws[a-zA-Z-]*:[a-zA-Z0-9-]*:[a-zA-Z0-9-]*:([0-9]{12}):").unwrap();
        let uuid = Regex::new(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").unwrap();
        let kms =
            Regex::new(r#"(?:"|:key/)([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})""#)
                .unwrap();
        let kms_whole =
            Regex::new(r"(?:^|:key/)([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
                .unwrap();
        // Texts made of the pieces these patterns are built from, so near misses are common.
        let pieces = [
            "arn:aws",
            "arn:aws-us-gov",
            ":",
            "::",
            "iam",
            "kms",
            "us-east-1",
            "111122223333",
            "1234",
            "12345678",
            "abcd",
            "ABCD",
            "-",
            "\"",
            ":key/",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "x",
            "é",
            " ",
            "0",
            "arn:aws:iam::111122223333:",
            "arn:aws:kms:us-east-1:",
            "arn:aws:s3:::",
            ":key/1234abcd-12ab-34cd-56ef-1234567890ab\"",
        ];
        let mut rng = crate::rng::SplitMix64::new(11);
        let mut hits = [0; 4];
        for n in 0..20_000 {
            let mut text: String = (0..rng.below(24)).map(|_| *rng.pick(&pieces)).collect();
            if n % 2 == 0 {
                // Half end in key-id-shaped text, for the whole-string pattern.
                let (prefix, key) = (
                    *rng.pick(&[":key/", "", "-", "key/"]),
                    *rng.pick(&["1234abcd-12ab-34cd-56ef-1234567890ab", "1234abcd-12ab-34cd-56ef-1234567890"]),
                );
                text.push_str(prefix);
                text.push_str(key);
            }
            hits[3] += kms_whole.is_match(&text) as usize;
            let want = kms_whole.captures(&text).map(|c| c.get(1).unwrap().as_str());
            assert_eq!(kms_key_of(&text), want, "{text}");
            hits[0] += arn.is_match(&text) as usize;
            hits[1] += uuid.is_match(&text) as usize;
            hits[2] += kms.is_match(&text) as usize;
            let want: Vec<&str> = arn.captures_iter(&text).map(|c| c.get(1).unwrap().as_str()).collect();
            assert_eq!(arn_accounts(&text).collect::<Vec<_>>(), want, "{text}");
            let want: Vec<usize> = uuid.find_iter(&text).map(|m| m.start()).collect();
            assert_eq!(uuids(text.as_bytes()).collect::<Vec<_>>(), want, "{text}");
            let want: Vec<&str> = kms.captures_iter(&text).map(|c| c.get(1).unwrap().as_str()).collect();
            assert_eq!(kms_keys_in_text(&text).collect::<Vec<_>>(), want, "{text}");
            let both = (kms_key_offsets(text.as_bytes()).collect(), uuids(text.as_bytes()).collect());
            assert_eq!(kms_keys_and_uuids(text.as_bytes()), both, "{text}");
        }
        assert!(hits.iter().all(|h| *h > 200), "the texts exercise every pattern: {hits:?}");
    }

    #[test]
    fn json_path_rules() {
        let r = Redactor::new(vec![
            RedactRule::parse("json:$.ComprehendMedicalAsyncJobPropertiesList[*].Message").unwrap(),
            RedactRule::parse("json:Filter.SubmitTimeBefore").unwrap(),
        ]);
        let mut doc = json!({"ComprehendMedicalAsyncJobPropertiesList": [{"Message": "patient X"}, {"JobId": "a"}], "Filter": {"SubmitTimeBefore": 5}});
        r.document(&mut doc);
        assert_eq!(doc["ComprehendMedicalAsyncJobPropertiesList"][0]["Message"], REDACTED);
        assert_eq!(doc["ComprehendMedicalAsyncJobPropertiesList"][1], json!({"JobId": "a"}));
        assert_eq!(doc["Filter"]["SubmitTimeBefore"], Value::Null);
        for bad in ["header:", "json:$", "json:$.a[0]", "cookie:x"] {
            assert!(RedactRule::parse(bad).is_err(), "{bad}");
        }
    }
}
