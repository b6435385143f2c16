//! A Rust test as a project using snomed-vcr writes it: the code under test lists jobs through the AWS SDK's
//! shape of client, and the answers come from a cassette recorded once against AWS, served in-process by
//! [`ReplayServer`] (wiremock's shape: start, point the client at `uri()`, assert, and the server stops when
//! dropped). `cargo test` runs it (`test = true` in Cargo.toml).
//!
//! A project needs, beside `snomed-vcr`, `tokio` (features `macros`, `rt-multi-thread`) and `serde_json`:
//!
//! ```toml
//! [dev-dependencies]
//! snomed-vcr = { git = "https://github.com/YOUR-ORG/snomed-vcr" }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! serde_json = "1"
//! ```

fn main() {
    println!("run with `cargo test --example replay_in_a_test`");
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use snomed_vcr::{Client, Protocol, ReplayServer};

    /// The code under test: every job id, following NextToken (here with the crate's own client; an SDK
    /// client pointed at `server.uri()` works the same way).
    async fn all_job_ids(endpoint: &str, page_size: u32) -> Vec<String> {
        let client = Client::new(endpoint).expect("a valid endpoint");
        let walk = client.walk(Protocol::AwsJson11, &json!({"MaxResults": page_size}), 100).await.expect("answers");
        assert!(walk.is_complete(), "{:?}", walk.end);
        walk.job_ids().into_iter().map(str::to_string).collect()
    }

    #[tokio::test]
    async fn every_recorded_job_is_listed_once() {
        let cassette = concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/boto3-walk.json");
        let server = ReplayServer::start(cassette).await.expect("the cassette loads");

        let ids = all_job_ids(&server.uri(), 37).await;

        assert_eq!(ids.len(), 240);
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        let tally = server.shutdown().await;
        assert!(tally.is_clean(), "every request matched and every interaction played: {tally}");
    }
}
