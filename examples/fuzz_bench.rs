//! The fuzz benchmark's two halves, in one binary so both use the same client, cases and window:
//!
//!     fuzz_bench fuzz URL CASES C   a campaign of CASES cases (seed 1, C at once, no shrinking); print requests/s
//!     fuzz_bench loop URL CASES C   the same cases' requests, generated beforehand, sent C cases at once and
//!                                   judged by nothing; print requests/s
//!
//! Run by `bench/fuzz.sh`, which starts the reference and alternates the two.

use std::sync::Arc;
use std::time::Instant;

use snomed_vcr::Client;
use snomed_vcr::client::{ByteBudget, Target};
use snomed_vcr::fuzzing::exec;
use snomed_vcr::fuzzing::{self, Budget, FuzzConfig};
use snomed_vcr::protocol::Protocol;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, url, cases, c] = &args[..] else {
        anyhow::bail!("usage: fuzz_bench fuzz|loop URL CASES CONCURRENCY");
    };
    let (cases, c): (u64, usize) = (cases.parse()?, c.parse()?);
    let target = Target::http(Client::new(url)?);
    match mode.as_str() {
        "fuzz" => {
            let mut config = FuzzConfig::new(target);
            config.budget = Budget::Runs(cases);
            config.seed = 1;
            config.concurrency = c;
            config.shrink_runs = 0;
            let o = fuzzing::run(&config).await?;
            println!(
                "fuzz: {} requests in {:.2} s: {:.0} requests/s ({} findings)",
                o.case_requests,
                o.elapsed.as_secs_f64(),
                o.exec_per_sec(),
                o.findings.len()
            );
        }
        "loop" => {
            let bytes = ByteBudget::default();
            let pool = Arc::new(fuzzing::warm_up(&target, Protocol::AwsJson11, &bytes).await?.pool());
            let all: Vec<_> = (0..cases).map(|i| fuzzing::case(1, i, &pool)).collect();
            let all = Arc::new(all);
            let began = Instant::now();
            let mut tasks = Vec::new();
            for w in 0..c {
                let (t, b, p, all) = (target.clone(), bytes.clone(), pool.clone(), all.clone());
                tasks.push(tokio::spawn(async move {
                    let mut n = 0;
                    for (i, case) in all.iter().enumerate().skip(w).step_by(c) {
                        let protocol = if i % 2 == 0 { Protocol::AwsJson11 } else { Protocol::RpcV2Cbor };
                        n += exec::run(&t, &b, protocol, case, &p).await.requests();
                    }
                    n
                }));
            }
            let mut n = 0;
            for t in tasks {
                n += t.await?;
            }
            let s = began.elapsed().as_secs_f64();
            println!("loop: {n} requests in {s:.2} s: {:.0} requests/s", n as f64 / s);
        }
        other => anyhow::bail!("unknown mode '{other}'"),
    }
    Ok(())
}
