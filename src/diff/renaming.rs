//! The recording's placeholders paired with the target's values: a recording replaced each real account or
//! KMS key id by a numbered placeholder ([`crate::cassette::redact`] makes and finds them); the target answers
//! with real ones, or another recording with its own placeholders. The pairing must stay one-to-one, within
//! a chain and across the chains of a cassette.

use std::collections::HashMap;

use super::outcome::At;
use crate::cassette::redact;
use crate::doc::JsonPath;

/// The recording's redaction placeholders (account ids, KMS key ids) paired with the target's values at the
/// same places. The recording replaced each real account or key id by a numbered placeholder; the target
/// answers with real ones (or with its own placeholders, for another recording). Two strings agree when they
/// are equal outside those places, each place holds a value of the placeholder's shape (12 digits, a UUID),
/// and the pairing stays one-to-one: one placeholder standing for two different values of the target's (or
/// two placeholders for one) is a difference.
#[derive(Debug, Default)]
pub(crate) struct Renaming {
    recorded_to_target: HashMap<String, String>,
    target_to_recorded: HashMap<String, String>,
    /// Pairs bound for the first time, in order (for the caller to place, and to merge across chains).
    pub fresh: Vec<(String, String)>,
}

/// How a recorded string and the target's compare up to the recording's placeholders.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Agreement {
    /// The recorded string holds no placeholder: compare it as it is.
    NoPlaceholders,
    /// Equal outside the placeholders, each place holding a value of its shape, the pairings kept.
    Agree,
    /// Different outside the placeholders, or a place not holding a value of its shape.
    Differ,
    /// A placeholder would stand for two values (or two placeholders for one).
    Broken(BrokenPairing),
}

/// A pairing of placeholders and values that is no longer one-to-one, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BrokenPairing(String);

impl From<BrokenPairing> for String {
    fn from(b: BrokenPairing) -> String {
        b.0
    }
}

impl Renaming {
    /// Whether the recorded string `a` and the target's `b` agree up to placeholders.
    pub(crate) fn strings(&mut self, a: &str, b: &str) -> Agreement {
        let slots = redact::placeholders(a);
        if slots.is_empty() {
            return Agreement::NoPlaceholders;
        }
        let (ab, bb) = (a.as_bytes(), b.as_bytes());
        let mut pairs = Vec::with_capacity(slots.len());
        let (mut ia, mut ib) = (0, 0);
        for (at, len) in slots {
            let literal = &ab[ia..at];
            if !bb[ib..].starts_with(literal) || !redact::fits_placeholder(bb, ib + literal.len(), len) {
                return Agreement::Differ;
            }
            let value_at = ib + literal.len();
            pairs.push((&a[at..at + len], b[value_at..value_at + len].to_ascii_lowercase()));
            ia = at + len;
            ib = value_at + len;
        }
        if ab[ia..] != bb[ib..] {
            return Agreement::Differ;
        }
        for (r, t) in pairs {
            if let Err(broken) = self.bind(r, &t) {
                return Agreement::Broken(broken);
            }
        }
        Agreement::Agree
    }

    /// Pairs recorded placeholder `r` with the target's value `t`, or says why they cannot be.
    pub fn bind(&mut self, r: &str, t: &str) -> Result<(), BrokenPairing> {
        match (self.recorded_to_target.get(r), self.target_to_recorded.get(t)) {
            (None, None) => {
                self.recorded_to_target.insert(r.to_string(), t.to_string());
                self.target_to_recorded.insert(t.to_string(), r.to_string());
                self.fresh.push((r.to_string(), t.to_string()));
                Ok(())
            }
            (Some(t2), _) if t2 != t => Err(BrokenPairing(format!(
                "the recording's {r} stands for one value, but the target gives two: {t2} elsewhere, {t} here"
            ))),
            (_, Some(r2)) if r2 != r => Err(BrokenPairing(format!(
                "the target's {t} stands for the recording's {r2} elsewhere, but for {r} here"
            ))),
            _ => Ok(()),
        }
    }
}

/// Where a placeholder was first paired with a target value in a chain: merged into the cassette's pairing
/// in recorded order, so a pairing that breaks across chains is found as surely as one within a chain.
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    pub recorded: String,
    pub target: String,
    pub at: At,
    pub path: JsonPath,
}

/// For the reports' side-by-side: each string of `received` that agrees with the one at the same place in
/// `recorded` up to its placeholders (one-to-one across the document) is shown as the recorded one, so a
/// real account id beside its placeholder is not marked as a change. Objects pair by key, arrays by position.
pub(crate) fn show_placeholders(recorded: &serde_json::Value, received: &mut serde_json::Value) {
    fn walk(r: &serde_json::Value, t: &mut serde_json::Value, renaming: &mut Renaming) {
        use serde_json::Value;
        match (r, t) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, tv) in b.iter_mut() {
                    if let Some(rv) = a.get(k) {
                        walk(rv, tv, renaming);
                    }
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                for (rv, tv) in a.iter().zip(b.iter_mut()) {
                    walk(rv, tv, renaming);
                }
            }
            (Value::String(a), t @ Value::String(_)) => {
                if let Value::String(b) = &*t
                    && a != b
                    && renaming.strings(a, b) == Agreement::Agree
                {
                    *t = Value::String(a.clone());
                }
            }
            _ => {}
        }
    }
    walk(recorded, received, &mut Renaming::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Agreement {
        fn broken(self) -> String {
            match self {
                Agreement::Broken(why) => why.into(),
                other => panic!("not a broken pairing: {other:?}"),
            }
        }
    }

    #[test]
    fn placeholders_agree_up_to_renaming_but_one_may_not_stand_for_two() {
        let mut r = Renaming::default();
        let arn = |a: &str| format!("arn:aws:iam::{a}:role/R");
        assert_eq!(
            r.strings(&arn("000000000001"), &arn("123456789012")),
            Agreement::Agree,
            "a real id for a placeholder"
        );
        assert_eq!(r.strings("cm-input-000000000001", "cm-input-123456789012"), Agreement::Agree);
        let e = r.strings(&arn("000000000001"), &arn("210987654321")).broken();
        assert!(
            e.contains("stands for one value, but the target gives two: 123456789012 elsewhere, 210987654321 here"),
            "{e}"
        );
        let e = r.strings(&arn("000000000002"), &arn("123456789012")).broken();
        assert!(e.contains("the target's 123456789012 stands for the recording's 000000000001 elsewhere"), "{e}");
        assert_eq!(r.strings("plain", "plain"), Agreement::NoPlaceholders);
        assert_eq!(r.strings("cm-000000000001", "cm-x"), Agreement::Differ, "no id where the placeholder is");
        assert_eq!(r.strings("cm-000000000001-a", "cm-123456789012-b"), Agreement::Differ, "differs outside it");
        let kms = "arn:aws:kms:us-east-1:000000000001:key/00000000-0000-4000-8000-000000000001";
        let real = "arn:aws:kms:us-east-1:123456789012:key/1234ABCD-12ab-34cd-56ef-1234567890ab";
        assert_eq!(r.strings(kms, real), Agreement::Agree);
        let other = "arn:aws:kms:us-east-1:000000000002:key/00000000-0000-4000-8000-000000000007";
        let e = r.strings(kms, other).broken();
        assert!(
            e.contains("000000000001 stands for one value"),
            "another recording's placeholders are values too: {e}"
        );
        assert!(redact::placeholders("1000000000001").is_empty(), "13 digits are not an account id");
    }

    #[test]
    fn the_side_by_side_shows_paired_values_as_their_placeholders_and_keeps_real_changes() {
        use serde_json::json;
        let recorded = json!({"Jobs": [
            {"Role": "arn:aws:iam::000000000001:role/R", "Status": "COMPLETED"},
            {"Role": "arn:aws:iam::000000000001:role/R", "Status": "FAILED"},
            {"Role": "arn:aws:iam::000000000002:role/R", "Status": "FAILED"},
        ]});
        let mut received = json!({"Jobs": [
            {"Role": "arn:aws:iam::111122223333:role/R", "Status": "COMPLETED"},
            {"Role": "arn:aws:iam::111122223333:role/R", "Status": "STOPPED"},
            // Paired one-to-one: a second real id for placeholder 1 is not hidden.
            {"Role": "arn:aws:iam::111122223333:role/R", "Status": "FAILED"},
        ]});
        show_placeholders(&recorded, &mut received);
        assert_eq!(received["Jobs"][0]["Role"], "arn:aws:iam::000000000001:role/R");
        assert_eq!(received["Jobs"][1]["Role"], "arn:aws:iam::000000000001:role/R");
        assert_eq!(received["Jobs"][1]["Status"], "STOPPED", "a real change stays");
        assert_eq!(received["Jobs"][2]["Role"], "arn:aws:iam::111122223333:role/R", "a broken pairing stays marked");
    }
}
