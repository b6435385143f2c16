//! The Rust SDK (`aws-sdk-comprehendmedical`, RPC v2 CBOR) against the reference, with SigV4 required.

use std::sync::Arc;

use aws_sdk_comprehendmedical::error::ProvideErrorMetadata;
use aws_sdk_comprehendmedical::primitives::DateTime;
use aws_sdk_comprehendmedical::types::{ComprehendMedicalAsyncJobFilter, JobStatus as SdkJobStatus};
use snomed_vcr::reference::{Reference, ReferenceConfig};
use snomed_vcr::server::{Server, ServerConfig};
use snomed_vcr::sigv4;

const AK: &str = "AKIDRUSTSDK";
const SK: &str = "rust-sdk-secret";

async fn start_reference() -> (Server, Arc<Reference>) {
    let config = ReferenceConfig { require_sigv4: Some(sigv4::Credentials::new(AK, SK)), ..ReferenceConfig::default() };
    let reference = Arc::new(Reference::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (Server::spawn(listener, reference.clone(), ServerConfig::default()).unwrap(), reference)
}

fn sdk(endpoint: &str, secret: &str) -> aws_sdk_comprehendmedical::Client {
    crate::util::rust_sdk(endpoint, AK, secret)
}

#[tokio::test]
async fn rust_sdk_lists_filters_and_paginates_over_cbor_with_sigv4() {
    let (server, reference) = start_reference().await;
    let client = sdk(&server.uri(), SK);

    // Full walk, MaxResults 37.
    let mut ids = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let out =
            client.list_snomedct_inference_jobs().max_results(37).set_next_token(token).send().await.expect("page");
        pages += 1;
        let jobs = out.comprehend_medical_async_job_properties_list();
        assert!(jobs.len() <= 37);
        for j in jobs {
            let submit = j.submit_time().expect("SubmitTime decoded from CBOR tag 1");
            let want = reference.jobs().iter().find(|r| r.job_id.as_deref() == j.job_id()).expect("known job");
            // The SDK reads an f64 and truncates its sub-second part to whole milliseconds.
            let exact = DateTime::from_secs_f64(want.submit_time.unwrap().secs_f64());
            let want_ms = exact.secs() * 1000 + i64::from(exact.subsec_nanos() / 1_000_000);
            assert_eq!(submit.to_millis().unwrap(), want_ms, "{:?}", j.job_id());
            assert_eq!(j.job_status().map(|s| s.as_str()), want.job_status.as_deref());
            ids.push(j.job_id().unwrap().to_string());
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let want: Vec<String> = reference.jobs().iter().rev().map(|j| j.job_id.clone().unwrap()).collect();
    assert_eq!(pages, 7);
    assert_eq!(ids, want);

    // A status filter and a time filter (ascending with SubmitTimeBefore).
    let failed = client
        .list_snomedct_inference_jobs()
        .filter(ComprehendMedicalAsyncJobFilter::builder().job_status(SdkJobStatus::Failed).build())
        .max_results(500)
        .send()
        .await
        .unwrap();
    let want_failed = reference.jobs().iter().filter(|j| j.job_status.as_deref() == Some("FAILED")).count();
    assert_eq!(failed.comprehend_medical_async_job_properties_list().len(), want_failed);
    assert!(want_failed > 0);

    let cut = reference.jobs()[100].submit_time.unwrap().secs_f64();
    let before = client
        .list_snomedct_inference_jobs()
        .filter(ComprehendMedicalAsyncJobFilter::builder().submit_time_before(DateTime::from_secs_f64(cut)).build())
        .max_results(500)
        .send()
        .await
        .unwrap();
    let got: Vec<&str> =
        before.comprehend_medical_async_job_properties_list().iter().filter_map(|j| j.job_id()).collect();
    let want: Vec<&str> = reference
        .jobs()
        .iter()
        .filter(|j| j.submit_time.unwrap().secs_f64() < cut)
        .filter_map(|j| j.job_id.as_deref())
        .collect();
    assert_eq!(got, want, "ascending, strictly before");

    // Modeled errors come back as the SDK's typed errors.
    let err = client.list_snomedct_inference_jobs().max_results(501).send().await.unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("less than or equal to 500"));
    let err = client.list_snomedct_inference_jobs().next_token("bm9wZQ").send().await.unwrap_err().into_service_error();
    assert!(err.is_invalid_request_exception(), "{err:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn rust_sdk_with_a_wrong_secret_is_refused() {
    let (server, _) = start_reference().await;
    let err = sdk(&server.uri(), "not-the-secret").list_snomedct_inference_jobs().send().await.unwrap_err();
    let meta = err.into_service_error();
    assert_eq!(meta.code(), Some("InvalidSignatureException"), "{meta:?}");
    server.shutdown().await;
}
