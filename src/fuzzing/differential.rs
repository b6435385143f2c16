//! The differential oracles: the same case run on the target and on an expected side (the model learned
//! from `--cassette`, or the `--against` implementation), each listing compared as `diff` compares (logical
//! view: jobs by `JobId`, order only where documented, tokens by presence, messages ignored).
//!
//! A listing is compared only where the expected side can speak for it: both ran to their end (or to an
//! error); its first request is not left open by the model ([`Verdict::Open`]); its token, if any, is one the
//! listing was just given, unless the recording showed how a foreign token is answered; and, for a learned
//! model, no bound sits exactly on a job's `SubmitTime` whose inclusivity was not shown, and no `JobName`
//! filter is set unless name matching was shown.

use serde_json::Value;

use super::exec::{Listing, Trace};
use super::learn::Learned;
use super::oracles::{Violation, general};
use crate::model::oracle::Oracle;
use super::verdict::{self, TokenOrigin, Verdict};
use crate::diff::compare::{self, Renaming};
use crate::diff::{Rules, View};
use crate::model::{End, ListRequest};

/// The expected side's standing.
pub enum Side<'a> {
    /// A model learned from a recording: compare only what it learned.
    Recording(&'a Learned),
    /// Another implementation: compare all the model does not leave open.
    Against,
}

impl Side<'_> {
    fn oracle(&self) -> Oracle {
        match self {
            Side::Recording(_) => Oracle::Recording,
            Side::Against => Oracle::Against,
        }
    }

    /// Why this listing cannot be compared, if it cannot.
    fn skip(&self, expected: &Listing, got: &Listing, origin: TokenOrigin) -> Option<&'static str> {
        let ended = |l: &Listing| matches!(l.chain.end, End::Complete | End::Error);
        if !ended(expected) || !ended(got) {
            return Some("not run to its end");
        }
        let first = got.chain.first_request()?;
        let learned = match self {
            Side::Recording(l) => Some(*l),
            Side::Against => None,
        };
        // A foreign token is left open by the model; a recording that showed how one is answered closes it.
        let token_known = learned.is_some_and(|l| l.known.token_error.is_some());
        let judged = if token_known && origin == TokenOrigin::Other { TokenOrigin::Fresh } else { origin };
        if matches!(verdict::judge(first, judged), Verdict::Open(_)) {
            return Some("left open by the model");
        }
        if origin == TokenOrigin::Other && learned.is_none_or(|l| l.known.token_error.is_none()) {
            return Some("a foreign token, whose answer is the service's");
        }
        let l = learned?;
        if !l.complete {
            return Some("the recording's population is partial");
        }
        if got.changed_at.is_some() {
            return Some("changed mid-listing");
        }
        let Ok(req) = ListRequest::from_document(first) else { return Some("not decodable") };
        let f = req.filter.unwrap_or_default();
        if f.job_name.is_some() && l.known.job_name.is_none() {
            return Some("name matching not shown by the recording");
        }
        let on_a_job =
            |t: Option<crate::model::Timestamp>| t.is_some_and(|t| l.jobs.iter().any(|j| j.submit_time == Some(t)));
        if (on_a_job(f.submit_time_before) && l.known.before_inclusive.is_none())
            || (on_a_job(f.submit_time_after) && l.known.after_inclusive.is_none())
        {
            return Some("a bound on a job's instant, whose inclusivity the recording did not show");
        }
        None
    }
}

/// The differences between the expected side's listings and the target's.
pub fn compare(side: &Side, rules: &Rules, expected: &Trace, got: &Trace) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut renaming = Renaming::default();
    for (e, g) in expected.listings.iter().zip(&got.listings) {
        let origin =
            got.sent.iter().find(|s| s.step == g.step && s.page == 0).map_or(TokenOrigin::NoneOrLiteral, |s| s.origin);
        if side.skip(e, g, origin).is_some() {
            continue;
        }
        let complete = e.chain.end == End::Complete;
        for d in compare::chains(rules, &mut renaming, View::Logical, &e.chain.pages, &g.chain.pages, complete) {
            let oracle = side.oracle();
            let shown = |v: &Option<Value>| v.as_ref().map_or("absent".to_string(), |v| clip(&v.to_string()));
            out.push(Violation {
                oracle,
                basis: oracle.basis().into(),
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
    if let Side::Recording(l) = side
        && let Some(order) = l.known.unfiltered_order
    {
        for g in &got.listings {
            out.extend(learned_order(order, g));
        }
    }
    out
}

/// A value as a message shows it: at most 120 characters.
fn clip(s: &str) -> String {
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The order the recording showed with neither time bound, held against a complete listing of the target's
/// (ties in SubmitTime may come either way).
fn learned_order(order: crate::model::Order, g: &Listing) -> Option<Violation> {
    use crate::model::Order;
    if g.chain.end != End::Complete || g.changed_at.is_some() {
        return None;
    }
    let req = ListRequest::from_document(g.chain.first_request()?).ok()?;
    let f = req.filter.unwrap_or_default();
    if f.submit_time_before.is_some() || f.submit_time_after.is_some() {
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
    Some(Violation {
        oracle: Oracle::Recording,
        basis: crate::model::oracle::Basis::Recording,
        signature: "order without time bounds".into(),
        step: Some(g.step),
        page: None,
        message: format!(
            "job {} of the listing (submitted at {}) follows one submitted at {}: the recording lists {want} without time bounds",
            bad + 2,
            times[bad + 1],
            times[bad]
        ),
    })
}
