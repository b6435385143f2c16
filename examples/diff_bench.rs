//! The diff benchmark's two halves, in one binary so that both use the same client and concurrency:
//!
//!     diff_bench cassette N OUT         write a cassette of N interactions, walked from the reference
//!     diff_bench diff CASSETTE URL C    diff it against URL with C chains at once; print interactions/s
//!     diff_bench loop CASSETTE URL C    send the same requests (same token mapping), compare nothing
//!
//! Run by `bench/diff.sh`, which starts the reference and alternates the two measurements.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use snomed_vcr::cassette::redact::Redactor;
use snomed_vcr::cassette::{Interaction, RecordedRequest, RecordedResponse};
use snomed_vcr::diff::{self, DiffConfig, Subject, Target};
use snomed_vcr::model::{ListRequest, listing::walk_with};
use snomed_vcr::{Cassette, Client, Protocol, Reference, ReferenceConfig, Reply};

fn write_cassette(n: usize, out: PathBuf) {
    let reference = Reference::new(ReferenceConfig::default());
    let times: Vec<f64> = reference.jobs().iter().filter_map(|j| j.submit_time).map(|t| t.secs_f64()).collect();
    let mid = times[times.len() / 2];
    let statuses = ["COMPLETED", "FAILED", "IN_PROGRESS", "PARTIAL_SUCCESS", "SUBMITTED", "STOPPED", "STOP_REQUESTED"];
    let redactor = Redactor::new(Vec::new());
    let mut cassette = Cassette::new("http://reference.invalid", "us-east-1");
    let mut chain = 0usize;
    while cassette.interactions.len() < n {
        let filter = match chain % 4 {
            0 => json!({}),
            1 => json!({"JobStatus": statuses[chain / 4 % statuses.len()]}),
            2 => json!({"SubmitTimeBefore": mid}),
            _ => json!({"SubmitTimeAfter": mid}),
        };
        let first = json!({"MaxResults": 5 + chain % 6, "Filter": filter});
        let protocol = if chain % 3 == 2 { Protocol::RpcV2Cbor } else { Protocol::AwsJson11 };
        let walked = walk_with(first, n - cassette.interactions.len(), |doc| {
            let req = ListRequest::from_document(doc).expect("a valid request");
            (200, Reply::Output(reference.list(&req).expect("the reference answers").to_document()))
        });
        for page in walked.pages {
            let mut body = page.output().cloned().expect("an output");
            redactor.document(&mut body);
            let content_type = protocol.content_type().to_string();
            cassette.interactions.push(Interaction {
                seq: cassette.interactions.len() as u64,
                recorded_at: None,
                elapsed_ms: None,
                request: RecordedRequest {
                    method: "POST".into(),
                    path: protocol.path("", snomed_vcr::model::OPERATION),
                    protocol,
                    operation: snomed_vcr::model::Operation::default(),
                    headers: [("content-type".to_string(), content_type.clone())].into(),
                    body: page.request,
                    encoding: None,
                },
                response: RecordedResponse {
                    status: 200,
                    headers: [("content-type".to_string(), content_type)].into(),
                    body,
                    encoding: None,
                },
            });
        }
        chain += 1;
    }
    cassette.save(&out).expect("the cassette is written");
    eprintln!("wrote {} ({} interactions, {chain} chains)", out.display(), cassette.interactions.len());
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: diff_bench cassette N OUT | diff CASSETTE URL C | loop CASSETTE URL C";
    match args.get(1).map(String::as_str) {
        Some("cassette") => {
            write_cassette(args[2].parse()?, PathBuf::from(&args[3]));
            Ok(())
        }
        Some(mode @ ("diff" | "loop")) => {
            let [cassette, url, concurrency] = [&args[2], &args[3], &args[4]];
            let mut config =
                DiffConfig::new(vec![PathBuf::from(cassette)], Subject::Service(Target::http(Client::new(url)?)));
            config.concurrency = concurrency.parse()?;
            let start = Instant::now();
            let sent = if mode == "diff" {
                let report = diff::diff(&config).await?;
                assert_eq!(report.totals.differences, 0, "the reference matches its own walk");
                report.totals.interactions
            } else {
                diff::request_loop(&config).await?
            };
            let secs = start.elapsed().as_secs_f64();
            println!("{mode} {sent} interactions in {secs:.3} s: {:.0} interactions/s", sent as f64 / secs);
            Ok(())
        }
        _ => anyhow::bail!(usage),
    }
}
