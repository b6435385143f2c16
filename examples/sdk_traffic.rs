//! The Rust SDK traffic behind `cassettes/rust-sdk-cbor.json` (RPC v2 CBOR): a full walk, a filtered walk and
//! a modeled error, sent to the URL given (a `snomed-vcr record` proxy); with `family` after the URL, behind
//! `cassettes/rust-sdk-family.json`: a full walk of each of the four sibling list operations. Run by
//! `cassettes/record.sh`.

use aws_sdk_comprehendmedical::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_comprehendmedical::primitives::DateTime;
use aws_sdk_comprehendmedical::types::{ComprehendMedicalAsyncJobFilter, JobStatus};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let endpoint = std::env::args().nth(1).expect("usage: sdk_traffic URL");
    let conf = aws_sdk_comprehendmedical::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("AKIDGOLDENSDK", "golden-sdk-secret", None, None, "golden"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let client = aws_sdk_comprehendmedical::Client::from_conf(conf);
    if std::env::args().nth(2).as_deref() == Some("family") {
        return family(&client).await;
    }
    let walks = [
        (None, 100),
        (Some(ComprehendMedicalAsyncJobFilter::builder().job_status(JobStatus::InProgress).build()), 7),
        (
            Some(
                ComprehendMedicalAsyncJobFilter::builder()
                    .submit_time_before(DateTime::from_secs_f64(1704600000.5))
                    .build(),
            ),
            30,
        ),
    ];
    for (filter, max) in walks {
        let mut token = None;
        loop {
            let out = client
                .list_snomedct_inference_jobs()
                .set_filter(filter.clone())
                .max_results(max)
                .set_next_token(token)
                .send()
                .await
                .expect("page");
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    let err =
        client.list_snomedct_inference_jobs().max_results(501).send().await.expect_err("MaxResults 501 is invalid");
    assert!(err.into_service_error().is_validation_exception());
}

/// A full walk (MaxResults 45) of each sibling list operation, each through its own SDK method.
async fn family(client: &aws_sdk_comprehendmedical::Client) {
    macro_rules! walk {
        ($method:ident) => {{
            let mut token = None;
            loop {
                let out = client.$method().max_results(45).set_next_token(token).send().await.expect("page");
                token = out.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }};
    }
    walk!(list_entities_detection_v2_jobs);
    walk!(list_icd10_cm_inference_jobs);
    walk!(list_phi_detection_jobs);
    walk!(list_rx_norm_inference_jobs);
}
