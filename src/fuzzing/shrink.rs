//! Shrinking: the smallest case (by [`Case::size`]) that still shows the same violation (oracle and
//! signature), found greedily until no candidate one step smaller shows it. A relation first becomes each of
//! its listings alone; a sequence loses steps from the back first, then any step, then each step's input
//! shrinks: pages followed cut, members dropped, strings halved, tokens sent unmutated. Each candidate
//! is run against the target again and judged afresh, so the verdict on the final input is its own, never
//! one remembered from a bigger input.

use std::future::Future;

use serde_json::Value;

use super::input::{Case, FilterInput, Mutation, Relation, RequestInput, Step, TokenInput};

/// Shrinks `case` while `still` holds, in at most `budget` runs of it. `still` says whether a candidate still
/// fails, the requests it sent, and what the caller keeps of its run; returns the case with what was kept of
/// the last candidate that held (none if none did), the runs taken and the requests they sent.
pub async fn shrink<F, Fut, T>(case: &Case, budget: usize, mut still: F) -> ((Case, Option<T>), usize, usize)
where
    F: FnMut(&Case) -> Fut,
    Fut: Future<Output = (bool, usize, Option<T>)>,
{
    let mut current = case.clone();
    let mut kept = None;
    let (mut runs, mut requests) = (0, 0);
    'outer: while runs < budget {
        for candidate in candidates(&current) {
            if candidate.size() >= current.size() {
                continue;
            }
            if runs >= budget {
                break 'outer;
            }
            runs += 1;
            let (holds, sent, keep) = still(&candidate).await;
            requests += sent;
            if holds {
                current = candidate;
                kept = keep;
                continue 'outer;
            }
        }
        break;
    }
    ((current, kept), runs, requests)
}

/// Smaller cases to try, most promising first.
pub fn candidates(case: &Case) -> Vec<Case> {
    match case {
        Case::Sequence(steps) => {
            let mut out = Vec::new();
            // Steps from the back, then any step.
            for k in (1..steps.len()).rev() {
                out.push(Case::Sequence(steps[..k].to_vec()));
            }
            for i in (0..steps.len().saturating_sub(1)).rev() {
                let mut s = steps.clone();
                s.remove(i);
                out.push(Case::Sequence(s));
            }
            for (i, step) in steps.iter().enumerate() {
                for smaller in step_candidates(step) {
                    let mut s = steps.clone();
                    s[i] = smaller;
                    out.push(Case::Sequence(s));
                }
            }
            out
        }
        Case::Relation(r) => {
            // Each listing alone, as a step walked to its end (a bug one listing shows needs no relation), then
            // smaller relations.
            let mut out: Vec<Case> = r
                .listings()
                .iter()
                .map(|first| {
                    let request = RequestInput::from_document(first);
                    let follow = (super::input::MAX_PAGES - 1) as u8;
                    Case::Sequence(vec![Step { request, follow, change: None, repeat: false }])
                })
                .collect();
            out.extend(relation_candidates(r).into_iter().map(Case::Relation));
            out
        }
    }
}

fn step_candidates(step: &Step) -> Vec<Step> {
    let mut out = Vec::new();
    let with = |f: &dyn Fn(&mut Step)| {
        let mut s = step.clone();
        f(&mut s);
        s
    };
    if step.change.is_some() {
        out.push(with(&|s| s.change = None));
    }
    if step.repeat {
        out.push(with(&|s| s.repeat = false));
    }
    if step.follow > 0 {
        out.push(with(&|s| s.follow = 0));
        out.push(with(&|s| s.follow = 1));
        out.push(with(&|s| s.follow /= 2));
    }
    for r in request_candidates(&step.request) {
        out.push(Step { request: r, ..step.clone() });
    }
    out
}

fn request_candidates(r: &RequestInput) -> Vec<RequestInput> {
    let mut out = Vec::new();
    let with = |f: &dyn Fn(&mut RequestInput)| {
        let mut c = r.clone();
        f(&mut c);
        c
    };
    if r.unknown.is_some() {
        out.push(with(&|c| c.unknown = None));
    }
    if r.filter_confused.is_some() {
        out.push(with(&|c| c.filter_confused = None));
    }
    if r.filter.is_some() {
        out.push(with(&|c| c.filter = None));
    }
    if let Some(f) = &r.filter {
        for smaller in filter_candidates(f) {
            out.push(RequestInput { filter: Some(smaller), ..r.clone() });
        }
    }
    if let Some(m) = &r.max_results {
        out.push(with(&|c| c.max_results = None));
        for v in value_candidates(m) {
            out.push(RequestInput { max_results: Some(v), ..r.clone() });
        }
    }
    match &r.token {
        TokenInput::Absent => {}
        TokenInput::Issued { n, mutation } => {
            out.push(with(&|c| c.token = TokenInput::Absent));
            if *mutation != Mutation::None {
                out.push(RequestInput { token: TokenInput::Issued { n: *n, mutation: Mutation::None }, ..r.clone() });
            }
            if *n > 0 {
                out.push(RequestInput { token: TokenInput::Issued { n: 0, mutation: *mutation }, ..r.clone() });
            }
        }
        TokenInput::Literal(v) => {
            out.push(with(&|c| c.token = TokenInput::Absent));
            for v in value_candidates(v) {
                out.push(RequestInput { token: TokenInput::Literal(v), ..r.clone() });
            }
        }
    }
    out
}

fn filter_candidates(f: &FilterInput) -> Vec<FilterInput> {
    let mut out = Vec::new();
    let fields: [fn(&mut FilterInput) -> &mut Option<Value>; 4] =
        [|f| &mut f.job_name, |f| &mut f.job_status, |f| &mut f.before, |f| &mut f.after];
    for field in fields {
        let mut g = f.clone();
        let Some(v) = field(&mut g).clone() else { continue };
        *field(&mut g) = None;
        out.push(g);
        for smaller in value_candidates(&v) {
            let mut g = f.clone();
            *field(&mut g) = Some(smaller);
            out.push(g);
        }
    }
    out
}

/// Simpler values of the same type: strings halved (by characters) and cut to one; integers toward zero.
fn value_candidates(v: &Value) -> Vec<Value> {
    match v {
        Value::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            let mut out = Vec::new();
            if chars.len() > 1 {
                out.push(Value::String(chars[..chars.len() / 2].iter().collect()));
                out.push(Value::String(chars[chars.len() / 2..].iter().collect()));
                out.push(Value::String(chars[..chars.len() - 1].iter().collect()));
            }
            out
        }
        Value::Number(n) => match n.as_i64() {
            Some(i) if i != 0 && i.unsigned_abs() > 1 => vec![Value::from(i / 2)],
            _ => Vec::new(),
        },
        Value::Array(items) if !items.is_empty() => vec![Value::Array(Vec::new())],
        _ => Vec::new(),
    }
}

fn relation_candidates(r: &Relation) -> Vec<Relation> {
    let mut out = Vec::new();
    match r {
        Relation::Narrower { base, extra, max_results } => {
            for b in filter_candidates(base) {
                out.push(Relation::Narrower { base: b, extra: extra.clone(), max_results: *max_results });
            }
            for e in filter_candidates(extra).into_iter().filter(|e| !e.is_empty()) {
                out.push(Relation::Narrower { base: base.clone(), extra: e, max_results: *max_results });
            }
        }
        Relation::Intersection { a, b, max_results } => {
            for x in filter_candidates(a) {
                out.push(Relation::Intersection { a: x, b: b.clone(), max_results: *max_results });
            }
            for x in filter_candidates(b) {
                out.push(Relation::Intersection { a: a.clone(), b: x, max_results: *max_results });
            }
        }
        Relation::PageSizes { filter, sizes } => {
            for f in filter_candidates(filter) {
                out.push(Relation::PageSizes { filter: f, sizes: *sizes });
            }
        }
        Relation::Partition { filter, max_results } => {
            for f in filter_candidates(filter) {
                out.push(Relation::Partition { filter: f, max_results: *max_results });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_sequence_loses_its_tail_then_its_members() {
        let step = |n: i64| Step {
            request: RequestInput {
                filter: Some(FilterInput { job_name: Some(json!("abcdefgh")), ..FilterInput::default() }),
                max_results: Some(json!(n)),
                ..RequestInput::empty()
            },
            follow: 5,
            change: None,
            repeat: false,
        };
        let case = Case::Sequence(vec![step(0), step(7), step(9)]);
        // The "bug": any request with MaxResults 0.
        let ((small, kept), runs, _) = shrink(&case, 500, |c| {
            let holds = matches!(c, Case::Sequence(s) if s.iter().any(|s| s.request.max_results == Some(json!(0))));
            async move { (holds, 1, Some(())) }
        })
        .await;
        assert!(kept.is_some());
        let Case::Sequence(steps) = &small else { panic!() };
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].request.to_document(None), json!({"MaxResults": 0}));
        assert_eq!(steps[0].follow, 0);
        assert!(small.size() < case.size());
        assert!(runs < 500);
    }
}
