//! A reference implementation of ListSNOMEDCTInferenceJobs and its four sibling list operations: the stand-in
//! for AWS in tests and the demo.
//!
//! It serves both wire protocols, each operation over its own job population with tokens of its own (a token
//! one operation issued is refused by another as a token it did not issue), with the model's validation and
//! the documented semantics. Where the documentation is silent, it chooses, and says so here (an oracle must not assume AWS
//! does the same):
//!
//! - **Filters**: `JobStatus` and `JobName` by exact equality (case-sensitive); `SubmitTimeBefore` and
//!   `SubmitTimeAfter` are strict bounds (`<`, `>`); filters combine with AND.
//! - **Order**: by `(SubmitTime, JobId)`. Ascending with `SubmitTimeBefore` (documented), descending with
//!   `SubmitTimeAfter` (documented). With both, ascending (the Before rule first). With neither, descending,
//!   newest first. Ties in SubmitTime are broken by JobId in the same direction.
//! - **Pages**: at most `MaxResults` (default 100) jobs; `NextToken` only when more jobs match; see [`token`].
//! - **Jobs without a JobName** never match a JobName filter.
//!
//! Extras for testing clients: `--require-sigv4` verifies signatures, `--throttle-every N` answers every Nth
//! request with 429 `TooManyRequestsException`; every response carries `x-amzn-RequestId`. For testing diff
//! and fuzz, `--defect NAME` plants one bug ([`Defect`]); each is applied in one place below, marked with its
//! name.

pub mod choices;
pub mod churn;
pub mod defect;
pub mod population;
pub mod token;

use std::cmp::Ordering;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response};

use crate::model::{self, Filter, JobProperties, JobStatus, ListRequest, ListResponse, Operation, ServiceError};
use crate::protocol::RequestId;
use crate::protocol::{self, Protocol};
use crate::server::Handler;
use crate::sigv4::{self, Credentials};
pub use choices::Choices;
pub use defect::Defect;
use token::{Cursor, TokenKey};

/// How a reference service is set up.
///
/// ```
/// use snomed_vcr::ReferenceConfig;
/// use snomed_vcr::reference::Defect;
///
/// // The same 40 jobs for the same seed, with a planted bug for diff and fuzz to find.
/// let config = ReferenceConfig { defect: Some(Defect::PageOverflow), ..ReferenceConfig::generated(40, 3) };
/// assert_eq!(config.jobs.len(), 40);
/// ```
#[derive(Clone)]
pub struct ReferenceConfig {
    /// The population `ListSNOMEDCTInferenceJobs` lists.
    pub jobs: Vec<JobProperties>,
    /// The populations of the other list operations; one not given is generated, as many jobs as `jobs`,
    /// from a seed of its own (see [`sibling_seed`]).
    pub others: std::collections::BTreeMap<Operation, Vec<JobProperties>>,
    /// The key its NextTokens are authenticated with.
    pub token_key: TokenKey,
    /// Require requests signed with these credentials.
    pub require_sigv4: Option<Credentials>,
    /// Answer every Nth request with 429.
    pub throttle_every: Option<u64>,
    /// A planted bug, for seeing what diff and fuzz report.
    pub defect: Option<Defect>,
    /// The one operation the defect is planted in (`None`: every operation).
    pub defect_in: Option<Operation>,
    /// What it chooses where the documentation is silent.
    pub choices: Choices,
    /// How long it takes to answer: a base, plus so much per job on the page.
    pub latency: Option<Delay>,
    /// A live population: a new job every so often, and jobs moving through their statuses.
    pub churn: Option<std::time::Duration>,
}

/// How long the reference takes to answer a page (`--latency`, `--latency-per-job`): real services take
/// longer for bigger pages.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Delay {
    /// For every answer.
    pub base: std::time::Duration,
    /// For each job on the page.
    pub per_job: std::time::Duration,
}

impl ReferenceConfig {
    /// A generated population of `n` jobs from `seed`, tokens keyed by the seed, no auth, no throttling.
    pub fn generated(n: usize, seed: u64) -> ReferenceConfig {
        ReferenceConfig {
            jobs: population::generate(n, seed),
            others: Default::default(),
            token_key: TokenKey::from_seed(seed),
            require_sigv4: None,
            throttle_every: None,
            defect: None,
            defect_in: None,
            choices: Choices::REFERENCE,
            latency: None,
            churn: None,
        }
    }
}

impl Default for ReferenceConfig {
    fn default() -> Self {
        ReferenceConfig::generated(population::DEFAULT_JOBS, population::DEFAULT_SEED)
    }
}

pub use crate::model::Order;

impl Order {
    /// The order the reference lists in: the documented one where there is one ([`Order::documented`]),
    /// its own choice elsewhere (see the module docs): ascending with both time bounds, descending with none.
    pub fn for_filter(filter: &Filter) -> Order {
        Choices::REFERENCE.order(filter)
    }
}

/// The reference service.
/// The stand-in for AWS: serve it (it is a [`crate::server::Handler`]) or ask it directly.
///
/// ```
/// use snomed_vcr::model::ListRequest;
/// use snomed_vcr::{Reference, ReferenceConfig};
///
/// let reference = Reference::new(ReferenceConfig::generated(30, 7));
/// let page = reference.list(&ListRequest { max_results: Some(10), ..ListRequest::default() }).unwrap();
/// assert!(page.next_token.is_some());
/// assert_eq!(page.jobs.unwrap_or_default().len(), 10);
/// ```
pub struct Reference {
    /// One per operation, in [`Operation::ALL`]'s order.
    populations: Vec<Population>,
    auth: Option<Credentials>,
    throttle_every: Option<u64>,
    defect: Option<Defect>,
    defect_in: Option<Operation>,
    choices: Choices,
    requests: AtomicU64,
    latency: Option<Delay>,
}

/// What one operation lists: its jobs, how they change, and the key its tokens are issued with (a token of
/// one operation is a foreign token to another).
struct Population {
    /// Sorted ascending by `(SubmitTime, JobId)`.
    jobs: Vec<JobProperties>,
    key: TokenKey,
    churn: Option<churn::Churn>,
    /// The random tokens issued, when tokens are random: id → (filter digest, cursor), oldest first.
    random: std::sync::Mutex<RandomTokens>,
}

/// The seed a sibling operation's generated population is drawn from: the token key's, mixed with the
/// operation's place in the family (the default operation's population is the configured one).
pub fn sibling_seed(key: &TokenKey, operation: Operation) -> u64 {
    key.seed_hint() ^ (operation as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Random tokens and what each stands for, the oldest forgotten past a bound (a token's lifetime is the
/// service's to choose).
#[derive(Default)]
struct RandomTokens {
    by_id: std::collections::HashMap<String, ([u8; 8], Cursor)>,
    order: std::collections::VecDeque<String>,
    issued: u64,
}

/// The most random tokens a service remembers.
const RANDOM_TOKENS_KEPT: usize = 200_000;

fn sort_key(job: &JobProperties) -> (f64, &str) {
    (job.submit_time.map_or(f64::NEG_INFINITY, |t| t.secs_f64()), job.job_id.as_deref().unwrap_or(""))
}

fn cmp_key(a: (f64, &str), b: (f64, &str)) -> Ordering {
    a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1))
}

/// Whether a job passes a (validated) filter, as the reference's own choices match.
pub fn matches(filter: &Filter, status: Option<JobStatus>, job: &JobProperties) -> bool {
    matches_with(&Choices::REFERENCE, filter, status, job)
}

/// Whether a job passes a (validated) filter under `choices`.
pub fn matches_with(choices: &Choices, filter: &Filter, status: Option<JobStatus>, job: &JobProperties) -> bool {
    if let Some(name) = &filter.job_name
        && !job.job_name.as_deref().is_some_and(|n| choices.job_name.matches(name, n))
    {
        return false;
    }
    if let Some(s) = status
        && job.job_status.as_deref() != Some(s.as_str())
    {
        return false;
    }
    let t = job.submit_time;
    if let Some(before) = filter.submit_time_before
        && !t.is_some_and(|t| t < before || (choices.before_inclusive && t == before))
    {
        return false;
    }
    if let Some(after) = filter.submit_time_after
        && !t.is_some_and(|t| t > after || (choices.after_inclusive && t == after))
    {
        return false;
    }
    true
}

impl Reference {
    /// A reference service over a configuration.
    pub fn new(mut config: ReferenceConfig) -> Reference {
        let populations = Operation::ALL
            .into_iter()
            .map(|op| {
                let key = config.token_key.for_operation(op);
                let mut jobs = match op {
                    _ if op == Operation::default() => std::mem::take(&mut config.jobs),
                    _ => config.others.remove(&op).unwrap_or_else(|| {
                        population::generate(config.jobs.len(), sibling_seed(&config.token_key, op))
                    }),
                };
                jobs.sort_by(|a, b| cmp_key(sort_key(a), sort_key(b)));
                let churn = config.churn.map(|every| churn::Churn::new(every, &jobs, key.seed_hint()));
                Population { jobs, key, churn, random: Default::default() }
            })
            .collect();
        Reference {
            populations,
            auth: config.require_sigv4,
            throttle_every: config.throttle_every.filter(|n| *n > 0),
            defect: config.defect,
            defect_in: config.defect_in,
            choices: config.choices,
            requests: AtomicU64::new(0),
            latency: config.latency,
        }
    }

    /// The defect planted in requests of `operation` (`None`: not known yet, before the request is routed).
    fn defect_for(&self, operation: Option<Operation>) -> Option<Defect> {
        match self.defect_in {
            Some(only) if operation != Some(only) => None,
            _ => self.defect,
        }
    }

    fn population(&self, operation: Operation) -> &Population {
        &self.populations[operation as usize]
    }

    /// A token for the page after `cursor`, in the service's spelling.
    fn issue(&self, pop: &Population, digest: [u8; 8], cursor: Cursor) -> String {
        if !self.choices.random_tokens {
            return token::issue(&pop.key, self.choices.tokens, digest, &cursor);
        }
        let mut store = pop.random.lock().expect("the token store is never poisoned");
        store.issued += 1;
        let mut rng =
            crate::rng::SplitMix64::new(pop.key.seed_hint() ^ store.issued.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let id = format!("r{:016x}{:016x}", rng.next_u64(), rng.next_u64());
        if store.order.len() >= RANDOM_TOKENS_KEPT
            && let Some(old) = store.order.pop_front()
        {
            store.by_id.remove(&old);
        }
        store.order.push_back(id.clone());
        store.by_id.insert(id.clone(), (digest, cursor));
        id
    }

    /// What a token stands for, if this service issued it for this filter.
    fn open(&self, pop: &Population, t: &str, digest: [u8; 8]) -> Result<Cursor, ServiceError> {
        if !self.choices.random_tokens {
            return token::open(&pop.key, self.choices.tokens, t, digest);
        }
        let store = pop.random.lock().expect("the token store is never poisoned");
        match store.by_id.get(t) {
            None => Err(token::invalid()),
            Some((d, _)) if *d != digest => Err(token::other_filter()),
            Some((_, c)) => Ok(c.clone()),
        }
    }

    /// `ListSNOMEDCTInferenceJobs`'s population, ascending by `(SubmitTime, JobId)`.
    pub fn jobs(&self) -> &[JobProperties] {
        self.jobs_of(Operation::default())
    }

    /// An operation's population, ascending by `(SubmitTime, JobId)`.
    pub fn jobs_of(&self, operation: Operation) -> &[JobProperties] {
        &self.population(operation).jobs
    }

    /// Answers a validated `ListSNOMEDCTInferenceJobs` request.
    pub fn list(&self, request: &ListRequest) -> Result<ListResponse, ServiceError> {
        self.list_of(Operation::default(), request)
    }

    /// Answers a validated request of a list operation, over that operation's population.
    pub fn list_of(&self, operation: Operation, request: &ListRequest) -> Result<ListResponse, ServiceError> {
        let pop = self.population(operation);
        let live;
        let all: &[JobProperties] = match &pop.churn {
            Some(c) => {
                live = c.now(&pop.jobs);
                &live
            }
            None => &pop.jobs,
        };
        let defect = self.defect_for(Some(operation));
        let no_filter = Filter::default();
        let filter = request.filter.as_ref().unwrap_or(&no_filter);
        let mut status = filter.job_status.as_deref().and_then(JobStatus::parse);
        if defect == Some(Defect::LowercaseStatusAccepted) {
            status = filter.job_status.as_deref().and_then(|s| JobStatus::parse(&s.to_uppercase()));
        }
        if defect == Some(Defect::StatusIgnoredWithName) && filter.job_name.is_some() {
            status = None;
        }
        let mut order = self.choices.order(filter);
        let (before_only, after_only) = (
            filter.submit_time_before.is_some() && filter.submit_time_after.is_none(),
            filter.submit_time_after.is_some() && filter.submit_time_before.is_none(),
        );
        if (defect == Some(Defect::ReversedBefore) && before_only)
            || (defect == Some(Defect::AfterOldestFirst) && after_only)
        {
            order = order.reversed();
        }
        let prefix_names;
        let choices = match defect {
            Some(Defect::NamePrefix) => {
                prefix_names = Choices { job_name: choices::NameRule::Prefix, ..self.choices.clone() };
                &prefix_names
            }
            _ => &self.choices,
        };
        let digest = token::filter_digest(filter);
        let cursor = match &request.next_token {
            Some(t) => Some(self.open(pop, t, digest).map_err(|e| match defect {
                Some(Defect::TokenServerError) if token::is_malformed(&e) => {
                    ServiceError::internal("An internal error occurred.")
                }
                _ => self.choices.token_refusal(e),
            })?),
            None => None,
        };
        if defect == Some(Defect::StatusFilterFirstPage) && cursor.is_some() {
            status = None;
        }
        let limit = request.page_size() + usize::from(defect == Some(Defect::PageOverflow));
        let page_size = self.choices.page_size(
            limit,
            cursor.as_ref().map_or(u64::from_be_bytes(digest), |c| {
                c.job_id.bytes().fold(c.submit_time.secs_f64().to_bits(), |h, b| h.rotate_left(5) ^ u64::from(b))
            }),
        );
        let widened;
        let filter = match (defect, filter.submit_time_before) {
            // The bound moved up to the next instant an f64 holds: a job at exactly the bound now matches.
            (Some(Defect::InclusiveBefore), Some(b)) => {
                widened = Filter {
                    submit_time_before: model::Timestamp::from_secs_f64(b.secs_f64().next_up()),
                    ..filter.clone()
                };
                &widened
            }
            (Some(Defect::AfterIgnoredWithBefore), Some(_)) => {
                widened = Filter { submit_time_after: None, ..filter.clone() };
                &widened
            }
            _ => filter,
        };
        // Whether a follow-up page starts at the cursor's own job again (planted) rather than after it.
        let repeat = defect == Some(Defect::RepeatLastJob);

        // The jobs after the cursor, in listing order.
        let candidates: Box<dyn Iterator<Item = &JobProperties>> = match (order, &cursor) {
            (Order::Ascending, None) => Box::new(all.iter()),
            (Order::Descending, None) => Box::new(all.iter().rev()),
            (order, Some(c)) => {
                let ck = (c.submit_time.secs_f64(), c.job_id.as_str());
                let before = all.partition_point(|j| cmp_key(sort_key(j), ck) == Ordering::Less);
                let through = all.partition_point(|j| cmp_key(sort_key(j), ck) != Ordering::Greater);
                match order {
                    Order::Ascending => Box::new(all[if repeat { before } else { through }..].iter()),
                    Order::Descending => Box::new(all[..if repeat { through } else { before }].iter().rev()),
                }
            }
        };
        let mut matching = candidates.filter(|j| matches_with(choices, filter, status, j));
        let mut page: Vec<JobProperties> = matching.by_ref().take(page_size).cloned().collect();
        // More may follow: a job does, or (with an empty last page) the page is as full as it may be.
        let more = (self.choices.empty_last_page && page.len() == page_size) || matching.next().is_some();
        let next_token = match page.last() {
            _ if defect == Some(Defect::MissingMiddleToken) && cursor.is_some() => None,
            Some(last) if more => Some(self.issue(
                pop,
                digest,
                Cursor {
                    submit_time: last.submit_time.unwrap_or(model::Timestamp::from_secs(i64::MIN / 2)),
                    job_id: last.job_id.clone().unwrap_or_default(),
                },
            )),
            _ => None,
        };
        if defect == Some(Defect::DropsLastPage) && cursor.is_some() && next_token.is_none() {
            page.clear();
        }
        if let Some(d @ (Defect::MillisTimestamps | Defect::UnknownStatus | Defect::EndBeforeSubmit)) = defect {
            page.iter_mut().for_each(|job| defect::garble(d, job));
        }
        Ok(ListResponse { jobs: Some(page), next_token })
    }

    /// Everything before the listing itself: auth, throttling, operation, decoding, validation. With the
    /// answer, how many jobs it lists.
    fn respond(&self, req: Request<Bytes>, request_id: &RequestId) -> Result<(Response<Bytes>, usize), Refused> {
        let (parts, body) = req.into_parts();
        let route = protocol::route(&parts.method, parts.uri.path(), &parts.headers)
            .map_err(|r| Refused(r.protocol, None, r.error))?;
        let p = route.protocol();
        let op = route.routed().map(|r| r.operation);
        if let Some(creds) = &self.auth {
            sigv4::verify(&parts, &body, creds, SystemTime::now()).map_err(|e| Refused(p, op, e))?;
        }
        let n = self.requests.fetch_add(1, AtomicOrdering::Relaxed) + 1;
        if let Some(every) = self.throttle_every
            && n.is_multiple_of(every)
        {
            return Err(Refused(p, op, ServiceError::too_many_requests("Rate exceeded")));
        }
        let operation = match route {
            protocol::Route::Family(routed) => routed.operation,
            protocol::Route::Other(call) => {
                let e = protocol::unknown_operation(p, call.operation, "The reference service serves");
                return Err(Refused(p, None, e));
            }
        };
        let defect = self.defect_for(op);
        let (_, mut request) = protocol::decode_request(p, &body).map_err(|e| Refused(p, op, e))?;
        Self::plant_in_validation(defect, &mut request).map_err(|e| Refused(p, op, e))?;
        request.validate().map_err(|e| match defect {
            Some(Defect::WrongErrorType) => Refused(p, op, ServiceError::invalid_request(e.message)),
            _ => Refused(p, op, e),
        })?;
        let output = self.list_of(operation, &request).map_err(|e| Refused(p, op, e))?;
        let listed = output.jobs.as_ref().map_or(0, Vec::len);
        Ok((
            match p {
                // JSON straight from the typed response; CBOR through the document (timestamps need the shape).
                Protocol::AwsJson11 => protocol::output_response_bytes(
                    p,
                    Bytes::from(serde_json::to_vec(&output).expect("responses serialize")),
                    request_id,
                ),
                Protocol::RpcV2Cbor if defect == Some(Defect::CborUntaggedTimestamps) => {
                    // Encoded against a shape with no timestamp member: every time a plain number.
                    static UNTAGGED: model::Shape = model::Shape::Structure(&[]);
                    let body = protocol::encode_document(p, &output.to_document(), &UNTAGGED);
                    protocol::output_response_bytes(p, body, request_id)
                }
                Protocol::RpcV2Cbor => protocol::output_response(p, &output.to_document(), request_id),
            },
            listed,
        ))
    }

    /// The defects that change what validation sees: a request they wrongly let through is made valid
    /// first, and one they wrongly refuse is refused here.
    fn plant_in_validation(defect: Option<Defect>, request: &mut ListRequest) -> Result<(), ServiceError> {
        let filter = request.filter.as_mut();
        match defect {
            Some(Defect::MaxResults500Refused) if request.max_results == Some(500) => Err(ServiceError::validation(
                "1 validation error detected: Value '500' at 'maxResults' failed to satisfy constraint: Member must have value less than 500",
            )),
            Some(Defect::LongNameAccepted) => {
                if let Some(name) = filter.and_then(|f| f.job_name.as_mut())
                    && (model::JOB_NAME_MAX..=300).contains(&name.chars().count())
                {
                    *name = name.chars().take(model::JOB_NAME_MAX).collect();
                }
                Ok(())
            }
            Some(Defect::EmptyTokenAccepted) if request.next_token.as_deref() == Some("") => {
                request.next_token = None;
                Ok(())
            }
            Some(Defect::LowercaseStatusAccepted) => {
                // Checked upper-cased; the listing filters the same way.
                if let Some(f) = filter
                    && let Some(s) = &f.job_status
                    && JobStatus::parse(&s.to_uppercase()).is_some()
                {
                    f.job_status = Some(s.to_uppercase());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// An error answer, with the defects that garble its encoding.
    fn error_answer(
        defect: Option<Defect>,
        protocol: Protocol,
        error: &ServiceError,
        request_id: &RequestId,
    ) -> Response<Bytes> {
        let mut resp = match (defect, protocol) {
            (Some(Defect::CborErrorAsJson), Protocol::RpcV2Cbor) => {
                let mut r = protocol::error_response(Protocol::AwsJson11, error, request_id);
                r.headers_mut().insert(protocol::SMITHY_PROTOCOL_HEADER, http::HeaderValue::from_static("rpc-v2-cbor"));
                r
            }
            _ => protocol::error_response(protocol, error, request_id),
        };
        if defect == Some(Defect::ErrorTypeHeaderOnly) {
            let mut doc = protocol::error_document(protocol, error);
            if let Some(m) = doc.as_object_mut() {
                m.remove("__type");
            }
            *resp.body_mut() = protocol::encode_document(protocol, &doc, &model::ERROR_SHAPE);
        }
        resp
    }
}

/// A request answered with an error: the protocol to answer in, the operation it called (once routed), and
/// the error.
struct Refused(Protocol, Option<Operation>, ServiceError);

impl Handler for Reference {
    async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let request_id = protocol::request_id();
        match self.respond(req, &request_id) {
            Ok((resp, listed)) => {
                if let Some(l) = self.latency {
                    tokio::time::sleep(l.base + l.per_job * listed as u32).await;
                }
                resp
            }
            Err(Refused(protocol, operation, error)) => {
                let error = self.choices.word(error);
                tracing::debug!(%protocol, code = %error.code, message = %error.message, "request refused");
                Self::error_answer(self.defect_for(operation), protocol, &error, &request_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use std::collections::HashSet;

    fn reference() -> Reference {
        Reference::new(ReferenceConfig::default())
    }

    /// Walks every page of a listing in-process, returning the JobIds in order.
    fn walk(r: &Reference, filter: Option<Filter>, max: Option<i32>) -> Vec<String> {
        let first = ListRequest { filter, next_token: None, max_results: max }.to_document();
        let chain = crate::model::listing::walk_with(first, 10_000, |doc| {
            let req = ListRequest::from_document(doc).unwrap();
            req.validate().unwrap();
            (200, crate::model::Reply::Output(r.list(&req).unwrap().to_document()))
        });
        assert!(chain.is_complete(), "{:?}", chain.end);
        let size = max.map_or(100, |m| m as usize);
        for page in &chain.pages {
            assert!(page.jobs().len() <= size);
            if page.next_token().is_some() {
                assert_eq!(page.jobs().len(), size, "only full pages have a NextToken");
            }
        }
        chain.job_ids().into_iter().map(str::to_string).collect()
    }

    #[test]
    fn full_walk_partitions_the_population_newest_first() {
        let r = reference();
        let ids = walk(&r, None, Some(37));
        assert_eq!(ids.len(), 240);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 240, "no job twice");
        let expected: Vec<String> = r.jobs().iter().rev().map(|j| j.job_id.clone().unwrap()).collect();
        assert_eq!(ids, expected);
        assert_eq!(walk(&r, None, None).len(), 240, "default page size walks too");
    }

    #[test]
    fn each_filter_kind_matches_a_brute_force_scan() {
        let r = reference();
        let jobs = r.jobs().to_vec();
        let mid = jobs[120].submit_time.unwrap();
        let tie =
            jobs.windows(2).find(|w| w[0].submit_time == w[1].submit_time).map(|w| w[0].submit_time.unwrap()).unwrap();
        let filters = vec![
            Filter { job_status: Some("COMPLETED".into()), ..Filter::default() },
            Filter { job_status: Some("STOP_REQUESTED".into()), ..Filter::default() },
            Filter { job_name: Some("病歴-抽出".into()), ..Filter::default() },
            Filter { job_name: Some("no-such-job".into()), ..Filter::default() },
            Filter { submit_time_before: Some(mid), ..Filter::default() },
            Filter { submit_time_after: Some(mid), ..Filter::default() },
            Filter { submit_time_after: Some(tie), ..Filter::default() },
            Filter { submit_time_before: Some(tie), ..Filter::default() },
            Filter {
                submit_time_after: Some(jobs[30].submit_time.unwrap()),
                submit_time_before: Some(mid),
                job_status: Some("COMPLETED".into()),
                ..Filter::default()
            },
        ];
        for f in filters {
            let got = walk(&r, Some(f.clone()), Some(7));
            let status = f.job_status.as_deref().and_then(JobStatus::parse);
            let mut want: Vec<&JobProperties> = jobs.iter().filter(|j| matches(&f, status, j)).collect();
            if Order::for_filter(&f) == Order::Descending {
                want.reverse();
            }
            let want: Vec<String> = want.iter().map(|j| j.job_id.clone().unwrap()).collect();
            assert_eq!(got, want, "{f:?}");
            // Strict bounds: a job at exactly the bound is excluded.
            if let Some(b) = f.submit_time_before {
                assert!(
                    got.iter().all(|id| jobs
                        .iter()
                        .find(|j| j.job_id.as_ref() == Some(id))
                        .unwrap()
                        .submit_time
                        .unwrap()
                        < b)
                );
            }
        }
    }

    #[test]
    fn documented_orders_hold() {
        let r = reference();
        let t = |id: &String| r.jobs().iter().find(|j| j.job_id.as_ref() == Some(id)).unwrap().submit_time.unwrap();
        let before = walk(
            &r,
            Some(Filter { submit_time_before: Some(Timestamp::from_secs(1_900_000_000)), ..Filter::default() }),
            Some(50),
        );
        assert!(before.windows(2).all(|w| t(&w[0]) <= t(&w[1])), "SubmitTimeBefore lists oldest first");
        let after =
            walk(&r, Some(Filter { submit_time_after: Some(Timestamp::from_secs(0)), ..Filter::default() }), Some(50));
        assert!(after.windows(2).all(|w| t(&w[0]) >= t(&w[1])), "SubmitTimeAfter lists newest first");
        assert_eq!(before.len(), 240);
    }

    #[test]
    fn max_results_may_change_between_pages() {
        let r = reference();
        let first = r.list(&ListRequest { max_results: Some(10), ..Default::default() }).unwrap();
        let second =
            r.list(&ListRequest { max_results: Some(3), next_token: first.next_token, ..Default::default() }).unwrap();
        let all = walk(&r, None, Some(13));
        let got: Vec<String> =
            first.jobs.unwrap().into_iter().chain(second.jobs.unwrap()).map(|j| j.job_id.unwrap()).collect();
        assert_eq!(got, all[..13]);
    }

    #[test]
    fn cross_filter_tokens_are_refused() {
        let r = reference();
        let first = r.list(&ListRequest { max_results: Some(5), ..Default::default() }).unwrap();
        let e = r
            .list(&ListRequest {
                filter: Some(Filter { job_status: Some("FAILED".into()), ..Filter::default() }),
                next_token: first.next_token,
                max_results: Some(5),
            })
            .unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (400, "InvalidRequestException"));
    }

    #[test]
    fn exact_page_fit_has_no_token() {
        let r = reference();
        let resp = r.list(&ListRequest { max_results: Some(240), ..Default::default() }).unwrap();
        assert_eq!(resp.jobs.unwrap().len(), 240);
        assert_eq!(resp.next_token, None);
    }
}
