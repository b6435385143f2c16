//! Running chains against the target: a bounded window of them at once, in a fixed order whatever the
//! timing, tokens an earlier answer issued mapped to the target's, and a chain crowded out of the run's byte
//! budget run again alone.

use std::collections::HashMap;
use std::sync::Arc;

use super::DiffConfig;
use super::load::{Loaded, materialize};
use super::outcome::View;
use super::run::{self, TargetRun};
use crate::client::{ByteBudget, Target};
use crate::model::{Chain, Page, Start};

/// The progress line: chains done of all, as a bar.
fn progress_bar(done: usize, total: usize) -> String {
    let width = 30;
    let filled = done * width / total.max(1);
    format!("diff [{}{}] {done}/{total} chains", "#".repeat(filled), ".".repeat(width - filled))
}

/// Runs every chain of `loaded` against `client` (in each protocol the choice names), at most `concurrency`
/// chains at once. In the task that ran them, `work(chain number, recorded chain, runs)` makes what the caller
/// keeps of them (the comparison, for diff); then `each(cassette, chain, kept)` takes it in a fixed order
/// whatever the timing: chains in recorded order, except that those beginning with a token an earlier
/// answer issued come after all the others, so that they can send the target's token for it. At most a
/// window of chains past the oldest unfinished one is in flight, so memory stays bounded however long a
/// cassette is.
pub(crate) async fn run_all<T, W>(
    target: &Target,
    loaded: &[Loaded],
    config: &DiffConfig,
    work: Arc<W>,
    mut each: impl FnMut(usize, usize, T),
) -> usize
where
    T: Send + 'static,
    W: Fn(usize, &Chain, Vec<TargetRun>) -> T + Send + Sync + 'static,
{
    let semaphore = Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1)));
    // Chains run sharing the run's byte budget; one cut because the others held it runs again alone, so that a
    // moment's crowding is never a difference.
    let alone = Arc::new(Alone::default());
    let window = config.concurrency.max(1) * 4 + 16;
    let total = loaded.iter().map(|l| l.chains.len()).sum();
    let (mut progress, mut finished) = (crate::reporting::Progress::new(config.progress), 0);
    // (cassette, protocol index) → recorded token → the target's token at the same page
    let mut tokens: HashMap<(usize, usize), HashMap<String, String>> = HashMap::new();
    for reused in [false, true] {
        let order: Vec<(usize, usize)> = loaded
            .iter()
            .enumerate()
            .flat_map(|(c, l)| l.chains.iter().enumerate().map(move |(k, ch)| (c, k, ch.start)))
            .filter(|(_, _, start)| (*start == Start::ReusedToken) == reused)
            .map(|(c, k, _)| (c, k))
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        // Finished chains waiting for the ones before them: slot → (token pairs per protocol, what was kept).
        type Finished<T> = (Vec<Vec<(String, String)>>, T);
        let mut done: HashMap<usize, Finished<T>> = HashMap::new();
        let (mut spawned, mut next) = (0, 0);
        while next < order.len() {
            while spawned < order.len() && spawned < next + window {
                let (c, k) = order[spawned];
                let (l, chain) = (&loaded[c], loaded[c].chains[k].clone());
                let bodies = l.bodies.clone();
                let (extra_pages, logical) = (config.extra_pages, config.view == View::Logical);
                let protocols = config.protocol.protocols(l.protocol_of(&chain));
                let first_tokens: Vec<Option<String>> = (0..protocols.len())
                    .map(|pi| match chain.start {
                        Start::ReusedToken => chain
                            .pages
                            .first()
                            .and_then(Page::sent_token)
                            .and_then(|t| tokens.get(&(c, pi)).and_then(|m| m.get(t)))
                            .cloned(),
                        _ => None,
                    })
                    .collect();
                let (target, budget) = (target.clone(), config.budget.clone());
                let (semaphore, work, slot, alone) = (semaphore.clone(), work.clone(), spawned, alone.clone());
                tasks.spawn(async move {
                    let _permit = semaphore.acquire_owned().await.expect("the semaphore is never closed");
                    alone.wait_turn().await;
                    let chain = materialize(&bodies, &chain);
                    // A chain may hold at least four times what its recording took in memory (some eight times
                    // its compact text).
                    let recorded: usize =
                        chain.pages.iter().filter_map(|p| bodies.get(p.interaction?)).map(|b| 8 * b.len()).sum();
                    let cap = chain.pages.len() + extra_pages + if logical { chain.job_ids().len() } else { 0 };
                    let mut runs = Vec::with_capacity(protocols.len());
                    for (protocol, first) in protocols.into_iter().zip(first_tokens) {
                        let held = budget.hold_at_least(recorded.saturating_mul(4));
                        let mut run = run::run_chain(&target, held, &chain, protocol, first.as_deref(), cap).await;
                        if run.crowded_out() {
                            drop(run);
                            let mine = runs.iter().filter_map(|r: &TargetRun| r.held.as_ref()).map(|h| h.bytes()).sum();
                            let again = || {
                                let held = budget.hold_at_least(recorded.saturating_mul(4));
                                run::run_chain(&target, held, &chain, protocol, first.as_deref(), cap)
                            };
                            run = alone.run(&budget, mine, again).await;
                        }
                        runs.push(run);
                    }
                    let pairs = runs
                        .iter()
                        .map(|r| r.token_pairs(&chain).map(|(a, b)| (a.to_string(), b.to_string())).collect())
                        .collect();
                    let kept = work(k + 1, &chain, runs);
                    (slot, pairs, kept)
                });
                spawned += 1;
            }
            let (slot, pairs, kept) =
                tasks.join_next().await.expect("a chain is in flight").expect("a chain run does not panic");
            done.insert(slot, (pairs, kept));
            while let Some((pairs, kept)) = done.remove(&next) {
                let (c, k) = order[next];
                for (pi, pairs) in pairs.into_iter().enumerate() {
                    let map = tokens.entry((c, pi)).or_default();
                    for (rec, got) in pairs {
                        map.entry(rec).or_insert(got);
                    }
                }
                finished += 1;
                progress.show(finished == total, || progress_bar(finished, total));
                if finished == total {
                    progress.finish(true);
                }
                each(c, k, kept);
                next += 1;
            }
        }
    }
    alone.runs.load(std::sync::atomic::Ordering::Relaxed)
}

/// One chain at a time run alone: with nothing else holding the run's byte budget (chains already under way
/// finish, new ones wait). The chains' own path reads one flag that is written only around such a run.
#[derive(Default)]
struct Alone {
    runs: std::sync::atomic::AtomicUsize,
    wanted: std::sync::atomic::AtomicBool,
    done: tokio::sync::Notify,
    one: tokio::sync::Mutex<()>,
}

impl Alone {
    /// Waits while a chain runs alone.
    async fn wait_turn(&self) {
        use std::sync::atomic::Ordering;
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.wanted.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    /// Runs `chain` once no other chain holds the run's budget (`mine`: what the caller's own earlier runs
    /// hold), again if one that had already started when it began crowds it out (at most a few times: new
    /// chains wait meanwhile, so those are few and finish).
    async fn run<F: std::future::Future<Output = TargetRun>>(
        &self,
        budget: &ByteBudget,
        mine: usize,
        chain: impl Fn() -> F,
    ) -> TargetRun {
        use std::sync::atomic::Ordering;
        let _one = self.one.lock().await;
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.wanted.store(true, Ordering::Release);
        let mut tries = 0;
        let out = loop {
            while budget.held() > mine {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let run = chain().await;
            tries += 1;
            if !run.crowded_out() || tries == 5 {
                break run;
            }
        };
        self.wanted.store(false, Ordering::Release);
        self.done.notify_waiters();
        out
    }
}
