//! The inputs a campaign sends: requests, sequences of them, and metamorphic relations, and the pool of
//! observed values they are generated from (the generator is [`super::generate`]).

use serde_json::{Map, Value, json};

use crate::model::JobStatus;
use crate::model::oracle::Oracle;

/// The most pages followed in one listing (a relation's walks; a sequence step follows at most 50).
pub const MAX_PAGES: usize = 120;

/// Values seen in the target's answers, kept for generation.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    /// JobNames seen.
    pub names: Vec<String>,
    /// SubmitTimes seen (epoch seconds).
    pub times: Vec<f64>,
    /// NextTokens the target issued, with the `Filter` document they were issued for.
    pub tokens: Vec<(String, Value)>,
}

/// One member of a request, as sent (absent, or any JSON value: of the right type or not).
pub type Member = Option<Value>;

/// A `Filter` as sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterInput {
    /// `JobName`.
    pub job_name: Member,
    /// `JobStatus`.
    pub job_status: Member,
    /// `SubmitTimeBefore`.
    pub before: Member,
    /// `SubmitTimeAfter`.
    pub after: Member,
}

impl FilterInput {
    /// The filter as a document (absent members left out).
    pub fn to_document(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in self.members() {
            if let Some(v) = v {
                m.insert(k.to_string(), v.clone());
            }
        }
        Value::Object(m)
    }

    pub(super) fn members(&self) -> [(&'static str, &Member); 4] {
        [
            ("JobName", &self.job_name),
            ("JobStatus", &self.job_status),
            ("SubmitTimeBefore", &self.before),
            ("SubmitTimeAfter", &self.after),
        ]
    }

    pub(super) fn members_mut(&mut self) -> [&mut Member; 4] {
        [&mut self.job_name, &mut self.job_status, &mut self.before, &mut self.after]
    }

    /// How many members are present.
    pub fn len(&self) -> usize {
        self.members().iter().filter(|(_, v)| v.is_some()).count()
    }

    /// Whether no member is present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// This filter narrowed by `other`: its members where this one has none, and the tighter of two time
    /// bounds (names and statuses this one sets stay).
    pub fn and(&self, other: &FilterInput) -> FilterInput {
        let keep = |a: &Member, b: &Member| a.clone().or_else(|| b.clone());
        let tighter = |a: &Member, b: &Member, before: bool| match (a, b) {
            (Some(x), Some(y)) => match (x.as_f64(), y.as_f64()) {
                (Some(p), Some(q)) => Some(if (q < p) == before { y.clone() } else { x.clone() }),
                _ => Some(x.clone()),
            },
            _ => keep(a, b),
        };
        FilterInput {
            job_name: keep(&self.job_name, &other.job_name),
            job_status: keep(&self.job_status, &other.job_status),
            before: tighter(&self.before, &other.before, true),
            after: tighter(&self.after, &other.after, false),
        }
    }
}

/// How a real token is changed before it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Sent as issued.
    None,
    /// Cut to this many characters (at least one less than it has).
    Truncate(u16),
    /// One bit of the character at this index flipped (kept printable ASCII).
    FlipBit(u16, u8),
    /// One character appended.
    Append(char),
}

impl Mutation {
    /// Applies the mutation to a token.
    pub fn apply(self, token: &str) -> String {
        let chars: Vec<char> = token.chars().collect();
        match self {
            Mutation::None => token.to_string(),
            Mutation::Truncate(n) => chars[..(n as usize).min(chars.len().saturating_sub(1))].iter().collect(),
            Mutation::FlipBit(at, bit) if !chars.is_empty() => {
                let mut out = chars.clone();
                let i = at as usize % chars.len();
                let c = out[i] as u32;
                let flipped = c ^ (1 << (bit % 6));
                // Keep it a printable ASCII character that differs from the original.
                out[i] = char::from_u32(flipped).filter(|c| c.is_ascii_graphic()).unwrap_or(if c == b'A' as u32 {
                    'B'
                } else {
                    'A'
                });
                out.into_iter().collect()
            }
            Mutation::FlipBit(..) => "A".into(),
            Mutation::Append(c) => format!("{token}{c}"),
        }
    }
}

/// `NextToken` as sent.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenInput {
    /// No `NextToken`.
    Absent,
    /// A literal value: empty, random, or of the wrong type.
    Literal(Value),
    /// A token the target issued earlier: the `n`th of this case's own (earlier steps), else of the pool's,
    /// counting on from them (modulo how many there are), mutated or not.
    Issued {
        /// Which.
        n: u16,
        /// How it is changed.
        mutation: Mutation,
    },
}

/// What changes in a chain from its second page on.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Another `MaxResults`.
    MaxResults(Member),
    /// Another `Filter`.
    Filter(Option<FilterInput>),
}

/// One request, as generated.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestInput {
    /// `Filter`: absent, a filter, or a value of the wrong type.
    pub filter: Option<FilterInput>,
    /// `Filter` sent as this non-structure instead, when set.
    pub filter_confused: Member,
    /// `MaxResults`.
    pub max_results: Member,
    /// `NextToken`.
    pub token: TokenInput,
    /// A member the model does not have (ignored by AWS JSON services).
    pub unknown: Option<(String, Value)>,
}

impl RequestInput {
    /// A request with no member.
    pub fn empty() -> RequestInput {
        RequestInput {
            filter: None,
            filter_confused: None,
            max_results: None,
            token: TokenInput::Absent,
            unknown: None,
        }
    }

    /// A request as generated from the document it sends (a `NextToken` in it becomes a literal).
    pub fn from_document(doc: &Value) -> RequestInput {
        let filter = doc.get("Filter").and_then(Value::as_object).map(|f| FilterInput {
            job_name: f.get("JobName").cloned(),
            job_status: f.get("JobStatus").cloned(),
            before: f.get("SubmitTimeBefore").cloned(),
            after: f.get("SubmitTimeAfter").cloned(),
        });
        let filter_confused = doc.get("Filter").filter(|f| !f.is_object()).cloned();
        let token = match doc.get("NextToken") {
            Some(t) => TokenInput::Literal(t.clone()),
            None => TokenInput::Absent,
        };
        let unknown = doc.as_object().and_then(|m| {
            m.iter()
                .find(|(k, _)| !matches!(k.as_str(), "Filter" | "NextToken" | "MaxResults"))
                .map(|(k, v)| (k.clone(), v.clone()))
        });
        RequestInput { filter, filter_confused, max_results: doc.get("MaxResults").cloned(), token, unknown }
    }

    /// The document, with `token` for an issued one (already resolved and mutated).
    pub fn to_document(&self, token: Option<&str>) -> Value {
        let mut m = Map::new();
        match (&self.filter_confused, &self.filter) {
            (Some(v), _) => {
                m.insert("Filter".into(), v.clone());
            }
            (None, Some(f)) => {
                m.insert("Filter".into(), f.to_document());
            }
            (None, None) => {}
        }
        match (&self.token, token) {
            (TokenInput::Literal(v), _) => {
                m.insert("NextToken".into(), v.clone());
            }
            (TokenInput::Issued { .. }, Some(t)) => {
                m.insert("NextToken".into(), json!(t));
            }
            _ => {}
        }
        if let Some(v) = &self.max_results {
            m.insert("MaxResults".into(), v.clone());
        }
        if let Some((k, v)) = &self.unknown {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// One step of a sequence: a request, then up to `follow` more pages by the `NextToken`s it gets.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The first request.
    pub request: RequestInput,
    /// Pages followed after the first (0: one page only).
    pub follow: u8,
    /// What changes from the second page on.
    pub change: Option<Change>,
    /// Send the second page's request twice (the same token must give the same page).
    pub repeat: bool,
}

/// A metamorphic relation between listings of valid filters, each walked to its end.
#[derive(Clone, Debug, PartialEq)]
pub enum Relation {
    /// Listing `base` and `base ∧ extra`: the second holds a subset of the first.
    Narrower {
        /// The wider filter.
        base: FilterInput,
        /// What narrows it.
        extra: FilterInput,
        /// The page size.
        max_results: Option<i64>,
    },
    /// Listing `a`, `b` and `a ∧ b` (members apart): the last is the intersection of the first two.
    Intersection {
        /// One filter.
        a: FilterInput,
        /// Another, on other members.
        b: FilterInput,
        /// The page size.
        max_results: Option<i64>,
    },
    /// Listing one filter at two page sizes: the same jobs.
    PageSizes {
        /// The filter.
        filter: FilterInput,
        /// The two sizes (absent = the default).
        sizes: [Option<i64>; 2],
    },
    /// Listing a filter without `JobStatus` and with each status: the parts partition the whole.
    Partition {
        /// The filter (its `JobStatus` unset).
        filter: FilterInput,
        /// The page size.
        max_results: Option<i64>,
    },
}

impl Relation {
    /// The stable name of the relation's oracle.
    pub fn oracle(&self) -> Oracle {
        use Oracle as O;
        match self {
            Relation::Narrower { .. } => O::NarrowerSubset,
            Relation::Intersection { .. } => O::Intersection,
            Relation::PageSizes { .. } => O::PageSizeInvariance,
            Relation::Partition { .. } => O::StatusPartition,
        }
    }

    /// The listings it walks, as first requests.
    pub fn listings(&self) -> Vec<Value> {
        let req = |f: &FilterInput, m: &Option<i64>| {
            let mut doc = json!({});
            if !f.is_empty() {
                doc["Filter"] = f.to_document();
            }
            if let Some(m) = m {
                doc["MaxResults"] = json!(m);
            }
            doc
        };
        match self {
            Relation::Narrower { base, extra, max_results } => {
                vec![req(base, max_results), req(&base.and(extra), max_results)]
            }
            Relation::Intersection { a, b, max_results } => {
                vec![req(a, max_results), req(b, max_results), req(&a.and(b), max_results)]
            }
            Relation::PageSizes { filter, sizes } => vec![req(filter, &sizes[0]), req(filter, &sizes[1])],
            Relation::Partition { filter, max_results } => {
                let mut out = vec![req(filter, max_results)];
                for s in JobStatus::ALL {
                    let f = FilterInput { job_status: Some(json!(s.as_str())), ..filter.clone() };
                    out.push(req(&f, max_results));
                }
                out
            }
        }
    }
}

/// A generated case: a sequence of steps, or a relation.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per case run
pub enum Case {
    /// Steps run in order; tokens from earlier steps are values for later ones.
    Sequence(Vec<Step>),
    /// A metamorphic relation.
    Relation(Relation),
}

/// What class of input a case is, for the campaign summary.
pub fn class(case: &Case) -> &'static str {
    match case {
        Case::Relation(r) => r.oracle().name(),
        Case::Sequence(steps) => {
            let any = |f: &dyn Fn(&Step) -> bool| steps.iter().any(f);
            if any(&|s| matches!(s.request.token, TokenInput::Issued { .. } | TokenInput::Literal(_))) {
                "token"
            } else if any(&|s| s.change.is_some()) {
                "changed mid-chain"
            } else if any(&|s| {
                super::verdict::judge(&s.request.to_document(None), super::verdict::TokenOrigin::Literal)
                    != super::verdict::Allowed::Accept
            }) {
                "invalid or open input"
            } else if any(&|s| s.follow > 0) {
                "chain"
            } else {
                "single page"
            }
        }
    }
}

impl Case {
    /// A size for shrinking: steps and listings weigh most, then the bytes of each request document.
    pub fn size(&self) -> usize {
        match self {
            Case::Sequence(steps) => steps
                .iter()
                .map(|s| {
                    1000 + 10 * usize::from(s.follow)
                        + s.request.to_document(Some("t")).to_string().len()
                        + usize::from(s.change.is_some()) * 50
                        + usize::from(s.repeat) * 20
                })
                .sum(),
            // Each listing of a relation is walked to its end: it weighs as a step following every page.
            Case::Relation(r) => r.listings().iter().map(|d| 1000 + 10 * (MAX_PAGES - 1) + d.to_string().len()).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_change_the_token() {
        for m in [Mutation::Truncate(3), Mutation::FlipBit(5, 2), Mutation::Append('=')] {
            assert_ne!(m.apply("AbCdEfGhIj"), "AbCdEfGhIj", "{m:?}");
        }
        assert_eq!(Mutation::None.apply("tok"), "tok");
    }
}
