//! Whether an input must be accepted, must be refused, or is the service's call: computed from the request
//! document actually sent, every time it is sent (after every shrink step too), never kept from generation.
//!
//! Basis: the model. Its constraints (`MaxResults` 1..=500, `JobName` length and pattern, the `JobStatus`
//! enum, `NextToken` at least one character) make a request invalid, answered 400 `ValidationException`.
//! What the model does not fix is left open: a member of the wrong type (AWS JSON services conventionally say
//! `SerializationException`, some coerce `"5"`), a member the model does not have, a time no job could have
//! (negative, past year 9999), and a `NextToken` the service did not just issue for this listing.

use serde_json::Value;

use crate::model::{ListRequest, check_types, shapes::REQUEST_SHAPE};

/// What a correct service may answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// A 200 with an output.
    Accept,
    /// A 4xx error in AWS shape; with `modeled`, that error code.
    Reject {
        /// The error code the model gives, when it gives one.
        modeled: Option<&'static str>,
        /// Why, in the model's words.
        why: String,
    },
    /// Either a 200 or a 4xx: the model leaves it open (why).
    Open(String),
}

/// Where a request's `NextToken` came from, which decides who may speak for the answer to it.
///
/// | origin | what it is | the verdict | the expected side (`--cassette`, `--against`) |
/// |---|---|---|---|
/// | `None` | no token | the model's | compares the whole listing |
/// | `Fresh` | the token the previous page of this listing returned, same filter and page size | the model's | compares it as part of the listing |
/// | `Reissued` | a token the target issued, sent as issued but elsewhere: another filter or page size, again, from another listing | open | never: it did not issue it (only the target's own consistency judges it) |
/// | `Mutated` | a token the target issued, changed into one nobody issued | open | the recording's answer to a foreign token, if it showed one |
/// | `Literal` | a value the generator made | the model's for `""`, open otherwise | the recording's answer to a foreign token, if it showed one |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenOrigin {
    /// No token.
    None,
    /// A literal value: empty, random, or of the wrong type.
    Literal,
    /// The token the previous page of this same listing returned, sent unchanged with the same filter and
    /// page size.
    Fresh,
    /// A token the target issued, sent unchanged anywhere but as the next page of its own listing.
    Reissued,
    /// A token the target issued, changed (cut, a bit flipped, extended) into one it did not issue.
    Mutated,
}

impl TokenOrigin {
    /// Whether neither the target nor an expected side issued the token: a literal or a mutation.
    pub fn is_foreign(self) -> bool {
        matches!(self, TokenOrigin::Literal | TokenOrigin::Mutated)
    }
}

/// The earliest and latest plausible `SubmitTime` bound: 1970 to the end of year 9999.
const PLAUSIBLE: std::ops::RangeInclusive<f64> = 0.0..=253_402_300_799.0;

/// The verdict on a request document whose token has this origin.
pub fn judge(doc: &Value, origin: TokenOrigin) -> Allowed {
    let Some(map) = doc.as_object() else {
        return Allowed::Reject { modeled: None, why: "the body is not a structure".into() };
    };
    if let Err(e) = check_types(doc, &REQUEST_SHAPE) {
        return Allowed::Open(format!("a member of the wrong type ({e}): how it is read is not modeled"));
    }
    let request = match ListRequest::from_document(doc) {
        Ok(r) => r,
        Err(e) => return Allowed::Open(format!("not modeled: {}", e.message)),
    };
    let token_open = match (origin, &request.next_token) {
        (TokenOrigin::Reissued | TokenOrigin::Mutated, Some(_)) => true,
        (TokenOrigin::Literal | TokenOrigin::None, Some(t)) => !t.is_empty(),
        _ => false,
    };
    if let Err(e) = request.validate() {
        // Which check a service makes first is its own: with a token it did not issue, any 4xx will do.
        let modeled = (!token_open).then_some("ValidationException");
        return Allowed::Reject { modeled, why: e.message };
    }
    let unknown: Vec<&String> =
        map.keys().filter(|k| !matches!(k.as_str(), "Filter" | "NextToken" | "MaxResults")).collect();
    if let Some(k) = unknown.first() {
        return Allowed::Open(format!("the model has no member \"{k}\""));
    }
    if let Some(f) = &request.filter {
        for t in [f.submit_time_before, f.submit_time_after].into_iter().flatten() {
            if !PLAUSIBLE.contains(&t.secs_f64()) {
                return Allowed::Open(format!("the time bound {t} is before 1970 or after 9999"));
            }
        }
    }
    if token_open {
        return Allowed::Open("a NextToken this listing was not just given: what it means is the service's".into());
    }
    Allowed::Accept
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(doc: Value) -> Allowed {
        judge(&doc, TokenOrigin::Literal)
    }

    #[test]
    fn the_models_constraints_decide_and_the_rest_is_open() {
        assert_eq!(v(json!({})), Allowed::Accept);
        assert_eq!(v(json!({"MaxResults": 500, "Filter": {"JobName": "a b", "JobStatus": "FAILED"}})), Allowed::Accept);
        assert_eq!(v(json!({"MaxResults": null})), Allowed::Accept, "null reads as absent");
        for bad in [
            json!({"MaxResults": 0}),
            json!({"MaxResults": 501}),
            json!({"Filter": {"JobStatus": "failed"}}),
            json!({"Filter": {"JobName": ""}}),
            json!({"Filter": {"JobName": "a!"}}),
            json!({"NextToken": ""}),
            json!({"Filter": {"JobName": "x".repeat(257)}}),
        ] {
            assert!(matches!(v(bad.clone()), Allowed::Reject { modeled: Some("ValidationException"), .. }), "{bad}");
        }
        assert!(matches!(v(json!({"Filter": {"JobName": "x".repeat(256)}})), Allowed::Accept));
        for open in [
            json!({"MaxResults": "5"}),
            json!({"MaxResults": 5.5}),
            json!({"Other": 1}),
            json!({"Filter": {"SubmitTimeBefore": -1}}),
            json!({"NextToken": "garbage"}),
            json!({"MaxResults": 4294967296i64}),
        ] {
            assert!(matches!(v(open.clone()), Allowed::Open(_)), "{open}");
        }
        assert_eq!(judge(&json!({"NextToken": "t"}), TokenOrigin::Fresh), Allowed::Accept);
        assert!(matches!(
            judge(&json!({"NextToken": "t", "MaxResults": 0}), TokenOrigin::Reissued),
            Allowed::Reject { modeled: None, .. }
        ));
    }
}
