//! The differential oracles: the same case run on the target and on an expected side (the model learned
//! from `--cassette`, or the `--against` implementation), each listing compared as `diff` compares (logical
//! view: jobs by `JobId`, order only where documented, tokens by presence, messages ignored).
//!
//! The expected side speaks only for what it issued, and for a population it shares with the target. A
//! listing is compared only where it can speak:
//!
//! - both ran to their end (or to an error), and no filter or page size changed mid-listing (where a page
//!   ends is the service's choice, so what follows a change is too);
//! - its first request is not left open by the model ([`Allowed::Open`]);
//! - by the origin of its first token ([`TokenOrigin`]): none, compared; one the target issued
//!   (`Reissued`), never, since the expected side did not issue it and only the target's own consistency
//!   judges it (the `token-safety` oracle); one nobody issued (`Literal`, `Mutated`), only by the answer to a
//!   foreign token: the learned one for a recording, refused or not for another implementation;
//! - for a recording, only when the target's population at warm-up is the recording's (same jobs, same
//!   fields): a live account moves on, and a stale population says nothing of the target's; and no bound
//!   sits exactly on a job's `SubmitTime` whose inclusivity was not shown, and no `JobName` filter is set
//!   unless name matching was shown.

use serde_json::Value;

use super::exec::{Listing, Trace};
use super::learn::Learned;
use super::oracles::{CaseViolation, general};
use super::verdict::{self, Allowed, TokenOrigin};
use crate::diff::compare;
use crate::diff::renaming::Renaming;
use crate::diff::{Rules, View};
use crate::model::oracle::{Basis, Oracle};
use crate::model::{End, ListRequest};

/// The expected side's standing.
pub enum Side<'a> {
    /// A model learned from a recording: compare only what it learned. With `population`, the target's
    /// population is the recording's, so listings are compared job for job; without, only the behaviours
    /// learned (the answer to a foreign token, the order without time bounds).
    Recording {
        /// What was learned.
        learned: &'a Learned,
        /// Whether the target lists the recording's population.
        population: bool,
    },
    /// Another implementation: compare all the model does not leave open.
    Against,
}

/// How a listing is compared, if it is.
enum Compare {
    /// Job for job, as `diff` compares.
    Listing,
    /// Only whether a foreign token was refused, as the expected side refused it (or did not).
    ForeignToken,
}

impl Side<'_> {
    fn oracle(&self) -> Oracle {
        match self {
            Side::Recording { .. } => Oracle::Recording,
            Side::Against => Oracle::Against,
        }
    }

    /// How this listing can be compared, or why it cannot.
    fn how(&self, expected: &Listing, got: &Listing, origin: TokenOrigin) -> Result<Compare, &'static str> {
        let ended = |l: &Listing| matches!(l.chain.end, End::Complete | End::Error);
        if !ended(expected) || !ended(got) {
            return Err("not run to its end");
        }
        if got.changed_at.is_some() {
            return Err("changed mid-listing");
        }
        let first = got.chain.first_request().ok_or("no request")?;
        let learned = match self {
            Side::Recording { learned, .. } => Some(*learned),
            Side::Against => None,
        };
        match origin {
            TokenOrigin::Reissued | TokenOrigin::Fresh => return Err("a token the expected side did not issue"),
            TokenOrigin::Literal | TokenOrigin::Mutated => {
                if learned.is_some_and(|l| l.known.foreign_tokens.refusal().is_none()) {
                    return Err("a foreign token, and the recording showed no answer to one");
                }
                // Which check a service makes first is its own: only an otherwise valid request is judged.
                return match verdict::judge(first, TokenOrigin::Fresh) {
                    Allowed::Accept => Ok(Compare::ForeignToken),
                    _ => Err("a foreign token in an otherwise invalid or open request"),
                };
            }
            TokenOrigin::None => {}
        }
        if matches!(verdict::judge(first, origin), Allowed::Open(_)) {
            return Err("left open by the model");
        }
        let Some(l) = learned else { return Ok(Compare::Listing) };
        if !matches!(self, Side::Recording { population: true, .. }) {
            return Err("the target's population is not the recording's");
        }
        let Ok(req) = ListRequest::from_document(first) else { return Err("not decodable") };
        let f = req.filter.unwrap_or_default();
        if f.job_name.is_some() && l.known.job_name.decided().is_none() {
            return Err("name matching not decided by the recording");
        }
        let on_a_job =
            |t: Option<crate::model::Timestamp>| t.is_some_and(|t| l.jobs.iter().any(|j| j.submit_time == Some(t)));
        if (on_a_job(f.submit_time_before) && l.known.before_inclusive.decided().is_none())
            || (on_a_job(f.submit_time_after) && l.known.after_inclusive.decided().is_none())
        {
            return Err("a bound on a job's instant, whose inclusivity the recording did not show");
        }
        Ok(Compare::Listing)
    }
}

/// The differences between the expected side's listings and the target's.
pub fn compare(side: &Side, rules: &Rules, expected: &Trace, got: &Trace) -> Vec<CaseViolation> {
    let mut out = Vec::new();
    let mut renaming = Renaming::default();
    let oracle = side.oracle();
    for (e, g) in expected.listings.iter().zip(&got.listings) {
        match side.how(e, g, got.first_origin(g)) {
            Err(_) => {}
            Ok(Compare::ForeignToken) => out.extend(foreign_token(side, e, g)),
            Ok(Compare::Listing) => {
                let complete = e.chain.end == End::Complete;
                for d in compare::chains(rules, &mut renaming, View::Logical, &e.chain.pages, &g.chain.pages, complete)
                {
                    let shown = |v: &Option<Value>| v.as_ref().map_or("absent".to_string(), |v| clip(&v.to_string()));
                    out.push(CaseViolation {
                        oracle,
                        basis: oracle.basis(),
                        signature: format!("{} {}", d.kind.name(), general(&d.path)),
                        step: Some(g.step),
                        page: d.page.map(|p| p.saturating_sub(1)),
                        message: format!(
                            "{}: {} (expected {}, got {})",
                            d.path,
                            d.message,
                            shown(&d.recorded),
                            shown(&d.received)
                        ),
                    });
                }
            }
        }
    }
    if let Side::Recording { learned, .. } = side {
        let k = &learned.known;
        for g in &got.listings {
            out.extend(k.unfiltered_order.decided().and_then(|o| learned_order(o, false, g)));
            out.extend(k.both_bounds_order.decided().and_then(|o| learned_order(o, true, g)));
        }
    }
    out
}

/// A token nobody issued, answered by both sides: for a recording, the target must answer as the recording
/// answered a foreign token (status and error code); for another implementation, both must refuse it or
/// both accept it (which error it is, is each one's own).
fn foreign_token(side: &Side, expected: &Listing, got: &Listing) -> Option<CaseViolation> {
    let (e, g) = (expected.chain.pages.first()?, got.chain.pages.first()?);
    fn refused(p: &crate::model::Page) -> Option<&crate::model::ServiceError> {
        p.reply.error().filter(|e| (400..500).contains(&e.status) && e.status != 429)
    }
    let (want, have) = (refused(e), refused(g));
    let describe = |p: &crate::model::Page| match p.reply.error() {
        Some(err) => format!("HTTP {} {}", err.status, err.code),
        None => format!("HTTP {} with jobs", p.status),
    };
    let differs = match (side, want, have) {
        (Side::Recording { learned, .. }, _, Some(h)) => {
            !learned.known.foreign_tokens.refused.contains(&(h.status, h.code.clone()))
        }
        (_, Some(_), Some(_)) | (_, None, None) => false,
        _ => g.status != 429 && e.status != 429,
    };
    differs.then(|| CaseViolation {
        oracle: side.oracle(),
        basis: side.oracle().basis(),
        signature: "answer to a foreign token".into(),
        step: Some(got.step),
        page: Some(0),
        message: format!(
            "a NextToken nobody issued got {} from the target; the {} answered {}",
            describe(g),
            match side {
                Side::Recording { .. } => "recording",
                Side::Against => "other implementation",
            },
            describe(e)
        ),
    })
}

/// A value as a message shows it: at most 120 characters.
fn clip(s: &str) -> String {
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The order the recording showed with neither time bound (or, with `both`, with both), held against a
/// complete listing of the target's (ties in SubmitTime may come either way).
fn learned_order(order: crate::model::Order, both: bool, g: &Listing) -> Option<CaseViolation> {
    use crate::model::Order;
    if g.chain.end != End::Complete || g.changed_at.is_some() {
        return None;
    }
    let req = ListRequest::from_document(g.chain.first_request()?).ok()?;
    let f = req.filter.unwrap_or_default();
    if (f.submit_time_before.is_some(), f.submit_time_after.is_some()) != (both, both) {
        return None;
    }
    let times: Vec<f64> = g.chain.jobs().filter_map(|(_, j)| j.get("SubmitTime")?.as_f64()).collect();
    let bad = times.windows(2).position(|w| match order {
        Order::Ascending => w[1] < w[0],
        Order::Descending => w[1] > w[0],
    })?;
    let want = match order {
        Order::Ascending => "oldest first",
        Order::Descending => "newest first",
    };
    Some(CaseViolation {
        oracle: Oracle::Recording,
        basis: Basis::Recording,
        signature: format!("order with {} time bounds", if both { "both" } else { "no" }),
        step: Some(g.step),
        page: None,
        message: format!(
            "job {} of the listing (submitted at {}) follows one submitted at {}: the recording lists {want} with {} time bounds",
            bad + 2,
            times[bad + 1],
            times[bad],
            if both { "both" } else { "no" }
        ),
    })
}
