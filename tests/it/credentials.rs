//! The recording proxy finds credentials where the SDKs and the AWS CLI do (aws-config's default chain),
//! signs with them (checked by a reference that verifies SigV4 for one key), and fetches temporary ones again
//! before they expire. STS (assume-role, web identity) and SSO cannot be reached here; the two links tested
//! run locally: `credential_process` and the ECS container endpoint on loopback.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use snomed_vcr::{Client, Protocol, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::{BIN, Proc, scratch_dir};

/// RFC 3339, UTC, `after` from now (the `Expiration` both links carry).
fn expiration(after: Duration) -> String {
    let secs = (SystemTime::now() + after).duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Three listings through `proxy`: the status of each.
async fn three_listings(proxy: &str) -> Vec<u16> {
    let client = Client::new(proxy).unwrap();
    let mut statuses = Vec::new();
    for n in [5, 6, 7] {
        let ex = client.call(Protocol::AwsJson11, &serde_json::json!({"MaxResults": n})).await.unwrap();
        if let Reply::Error(e) = &ex.reply {
            eprintln!("{}: {}", e.code, e.message);
        }
        statuses.push(ex.status);
    }
    statuses
}

/// A profile whose credentials come from `credential_process`: the proxy runs the process once (its
/// credentials last an hour) and signs every request with them; the reference accepts only that key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_process_profile_signs_and_is_run_once_while_its_keys_last() {
    let dir = scratch_dir("creds-process");
    let count = dir.join("runs");
    let script = dir.join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "echo run >> '{}'\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCESS\", \"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-token\", \"Expiration\": \"{}\"}}'\n",
            count.display(),
            expiration(Duration::from_secs(3600))
        ),
    )
    .unwrap();
    let config = dir.join("config");
    std::fs::write(&config, format!("[profile proc]\ncredential_process = sh {}\n", script.display())).unwrap();
    let upstream = Proc::start(&["reference", "--require-sigv4", "AKIDPROCESS:process-secret"]);
    let cassette = dir.join("c.json");
    let line = format!(
        "env AWS_CONFIG_FILE={} AWS_PROFILE=proc {BIN} record --upstream {} --cassette {}",
        config.display(),
        upstream.url,
        cassette.display()
    );
    let proxy = Proc::pasted(&line);
    assert_eq!(three_listings(&proxy.url).await, [200, 200, 200], "signed with the process's key");
    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("placeholder"), "{stderr}");
    let runs = std::fs::read_to_string(&count).unwrap();
    assert_eq!(runs.lines().count(), 1, "credentials that last an hour are fetched once");
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(!text.contains("process-secret") && !text.contains("process-token"), "nothing secret recorded");

    // Without the profile there are no credentials: the placeholder key, which this reference refuses.
    let line = format!("{BIN} record --upstream {} --cassette {}", upstream.url, dir.join("d.json").display());
    let proxy = Proc::pasted(&line);
    assert_eq!(three_listings(&proxy.url).await, [403, 403, 403]);
    let (_, stderr) = proxy.terminate();
    assert!(stderr.contains("placeholder key"), "{stderr}");
}

/// Serves ECS container credentials on loopback that expire in two minutes (inside the five-minute margin),
/// counting the fetches.
async fn ecs_endpoint(fetches: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/creds", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let fetches = fetches.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = 0;
                while !buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got += n,
                    }
                }
                fetches.fetch_add(1, Ordering::SeqCst);
                let body = format!(
                    "{{\"AccessKeyId\": \"AKIDECS\", \"SecretAccessKey\": \"ecs-secret\", \"Token\": \"ecs-token\", \"Expiration\": \"{}\"}}",
                    expiration(Duration::from_secs(120))
                );
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(format!("{head}{body}").as_bytes()).await;
            });
        }
    });
    url
}

/// The ECS container endpoint: its credentials sign, and since they expire within the refresh margin every
/// request fetches them again (the SDKs' behaviour), rather than signing with keys about to lapse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_container_credentials_sign_and_are_fetched_again_before_they_expire() {
    let dir = scratch_dir("creds-ecs");
    let fetches = Arc::new(AtomicUsize::new(0));
    let endpoint = ecs_endpoint(fetches.clone()).await;
    let upstream = Proc::start(&["reference", "--require-sigv4", "AKIDECS:ecs-secret"]);
    let line = format!(
        "env AWS_CONTAINER_CREDENTIALS_FULL_URI={endpoint} {BIN} record --upstream {} --cassette {}",
        upstream.url,
        dir.join("c.json").display()
    );
    let proxy = Proc::pasted(&line);
    assert_eq!(three_listings(&proxy.url).await, [200, 200, 200], "signed with the container's key");
    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(fetches.load(Ordering::SeqCst), 4, "one fetch at startup, one before each request");
}

/// An upstream off loopback with no credentials anywhere: exit 2 before listening, naming every link tried
/// and the way out.
#[test]
fn no_credentials_for_aws_names_what_was_tried() {
    let cassette = scratch_dir("creds-none").join("c.json");
    let mut command = std::process::Command::new(BIN);
    command.args(["record", "--upstream", "aws", "--region", "us-east-1", "--cassette"]).arg(&cassette);
    crate::util::without_aws_settings(&mut command);
    let out = command.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for said in
        ["no AWS credentials found", "environment", "credential_process", "ECS", "instance metadata", "--no-resign"]
    {
        assert!(err.contains(said), "names {said}: {err}");
    }
}
