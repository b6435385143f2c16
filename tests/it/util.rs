//! Test helpers: running the binary as a server, finding the Python venv, running Python scripts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_snomed-vcr");

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A `snomed-vcr` server subcommand running in the background; killed on drop.
pub struct Proc {
    pub child: Child,
    pub url: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Proc {
    /// Starts `snomed-vcr ARGS…` and waits for its `listening on http://…` line.
    pub fn start(args: &[&str]) -> Proc {
        Proc::start_with_env(args, &[])
    }

    /// [`Proc::start`] with extra environment variables (credentials for `record`, say).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut command = Command::new(BIN);
        // No test asks the EC2 instance metadata address (off loopback) for credentials.
        command.args(args).envs(env.iter().copied()).env_remove("AWS_PROFILE").env("AWS_EC2_METADATA_DISABLED", "true");
        Proc::spawn(command, &format!("snomed-vcr {args:?}"))
    }

    /// A command line the tool printed, run as pasted into a shell (`sh -c 'exec LINE'`), with no AWS
    /// credentials anywhere in its environment.
    pub fn pasted(line: &str) -> Proc {
        Proc::pasted_in(line, Path::new("."))
    }

    /// [`Proc::pasted`], in folder `dir`.
    pub fn pasted_in(line: &str, dir: &Path) -> Proc {
        let mut command = Command::new("sh");
        command.args(["-c", &format!("exec {line}")]).current_dir(dir);
        without_aws_settings(&mut command);
        Proc::spawn(command, line)
    }

    fn spawn(mut command: Command, what: &str) -> Proc {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the snomed-vcr binary starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let stderr = child.stderr.take().expect("stderr piped");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
            s
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = tx.send(first);
            for _ in lines {}
        });
        let first = rx.recv_timeout(Duration::from_secs(30)).ok().flatten();
        let Some(line) = first else {
            let _ = child.kill();
            let err = stderr.join().unwrap_or_default();
            panic!("{what} printed no first line; stderr:\n{err}");
        };
        let url = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("first line was {line:?}")).to_string();
        assert!(url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"), "{url}");
        Proc { child, url, stderr: Some(stderr) }
    }

    /// Sends SIGTERM and waits (bounded) for the exit; returns the status and stderr.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                let err = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
                return (status, err);
            }
            assert!(Instant::now() < deadline, "snomed-vcr did not exit within 20 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `command` with no AWS credentials or configuration from this process's environment or files: as on a new
/// user's machine that is not an EC2 instance (the instance metadata address, off loopback, is never asked).
pub fn without_aws_settings(command: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            command.env_remove(k);
        }
    }
    command
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// The Python interpreter with boto3: `SNOMED_VCR_PYTHON`, else the venv `.ci/run` makes at `target/venv`; a
/// failure that names the fix when it has no boto3. (Where it is missing outside CI, build.rs compiles the checks
/// that need it as ignored.)
pub fn python() -> PathBuf {
    let candidate = std::env::var_os("SNOMED_VCR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target/venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "no Python with boto3 at {}: run `python3 -m venv target/venv && target/venv/bin/pip install -r tests/python/requirements.txt` \
         (or `bash .ci/run`, which does it), or set SNOMED_VCR_PYTHON",
        candidate.display()
    );
    candidate
}

/// Runs `tests/python/SCRIPT ARGS…`; panics with its output unless it exits 0; returns stdout.
pub fn run_python(python: &Path, script: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg(manifest_dir().join("tests/python").join(script))
        .args(args)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .expect("python runs");
    stdout_of(out, script, args)
}

/// The stdout of a script's run; panics with both its outputs unless it exited 0.
fn stdout_of(out: std::process::Output, script: &str, args: &[&str]) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    stdout
}

/// Runs `tests/js/SCRIPT ARGS…` with Node.js and the AWS SDK for JavaScript v3 (`SNOMED_VCR_JS`, else the
/// `node_modules` `.ci/run` installs at `target/js`), with test keys and region in its environment; panics
/// with its output unless it exits 0, or with the fix when the SDK is not installed; returns stdout. (Where the
/// SDK is missing outside CI, build.rs compiles the checks that need it as ignored.)
pub fn run_js(script: &str, args: &[&str]) -> String {
    let modules = std::env::var_os("SNOMED_VCR_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target/js/node_modules"));
    assert!(
        modules.join("@aws-sdk/client-comprehendmedical/package.json").is_file(),
        "no AWS SDK for JavaScript v3 under {}: run `mkdir -p target/js && cp tests/js/package*.json target/js && npm ci --prefix target/js` \
         (or `bash .ci/run`, which does it), or set SNOMED_VCR_JS to a node_modules holding @aws-sdk/client-comprehendmedical",
        modules.display()
    );
    let out = Command::new("node")
        .arg(manifest_dir().join("tests/js").join(script))
        .args(args)
        .env("NODE_PATH", &modules)
        .envs([("AWS_ACCESS_KEY_ID", "AKIDJS"), ("AWS_SECRET_ACCESS_KEY", "js-secret"), ("AWS_REGION", "us-east-1")])
        .envs([("AWS_EC2_METADATA_DISABLED", "true"), ("AWS_CONFIG_FILE", "/dev/null")])
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .expect("node runs (Node.js 20 or later on PATH)");
    stdout_of(out, script, args)
}

/// The Rust SDK's client for `endpoint`, signing with `access_key`/`secret` in us-east-1, over plain HTTP.
pub fn rust_sdk(endpoint: &str, access_key: &str, secret: &str) -> aws_sdk_comprehendmedical::Client {
    use aws_sdk_comprehendmedical::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_comprehendmedical::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(access_key, secret, None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_comprehendmedical::Client::from_conf(conf)
}

/// A fresh, empty scratch directory for this test process (the crate's one helper, `snomed-vcr-NAME-PID`).
pub fn scratch_dir(name: &str) -> PathBuf {
    snomed_vcr::scratch::dir(name).expect("a scratch directory under the system temp dir")
}

/// Records, through the recording proxy in-process, the kind of traffic the golden cassettes hold
/// (`tests/python/golden_traffic.py`: a walk, filters, bounds at the instants jobs were submitted at, errors
/// with a tampered and a cross-filter token), plus a listing by a name that is a prefix of other jobs' names,
/// from `upstream` into `cassette`. What a user would record from their own implementation.
pub async fn record_traffic(upstream: &str, cassette: &Path) {
    use serde_json::json;
    use snomed_vcr::Protocol::{AwsJson11 as Json, RpcV2Cbor as Cbor};
    use snomed_vcr::record::{Endpoint, RecordConfig, RecordMode, Recorder};
    let config = RecordConfig {
        mode: RecordMode::All,
        // The upstream checks no signature; the proxy re-signs as it would for AWS.
        resign: Some(snomed_vcr::sigv4::Credentials::new("AKIDRECORDTRAFFIC", "record-traffic-secret").into()),
        upstream_timeout: Duration::from_secs(10),
        reproducible: true,
        ..RecordConfig::new(Endpoint::parse(upstream, "us-east-1").unwrap(), cassette.to_path_buf())
    };
    let recorder = std::sync::Arc::new(Recorder::open(config).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = snomed_vcr::Server::spawn(listener, recorder.clone(), snomed_vcr::ServerConfig::default()).unwrap();
    let client = snomed_vcr::Client::new(&proxy.uri()).unwrap();
    let walks = [
        (Json, json!({"MaxResults": 37})),
        (Cbor, json!({"MaxResults": 45})),
        (Json, json!({"MaxResults": 50, "Filter": {"JobStatus": "COMPLETED"}})),
        (Json, json!({"Filter": {"JobStatus": "STOP_REQUESTED"}})),
        (Json, json!({"MaxResults": 25, "Filter": {"JobName": "病歴-抽出"}})),
        (Json, json!({"MaxResults": 25, "Filter": {"JobName": "ed-notes"}})),
        (Json, json!({"MaxResults": 40, "Filter": {"SubmitTimeBefore": 1704500000.25}})),
        (Json, json!({"MaxResults": 40, "Filter": {"SubmitTimeAfter": 1705000000.123456}})),
        (
            Json,
            json!({"MaxResults": 10, "Filter": {"SubmitTimeAfter": 1704200000, "SubmitTimeBefore": 1704600000, "JobStatus": "FAILED"}}),
        ),
        (Json, json!({"MaxResults": 30, "Filter": {"SubmitTimeBefore": 1704434496}})),
        (Json, json!({"MaxResults": 30, "Filter": {"SubmitTimeAfter": 1704434496}})),
        (Json, json!({"MaxResults": 20, "Filter": {"SubmitTimeAfter": 1704080462.25, "SubmitTimeBefore": 1704434496}})),
    ];
    for (protocol, first) in walks {
        let chain = client.walk(protocol, &first, 1000).await.unwrap();
        assert!(chain.is_complete(), "{first}: {:?}", chain.pages.last().map(|p| &p.reply));
    }
    let first = client.call(Json, &json!({"MaxResults": 5})).await.unwrap();
    let token = first.reply.output().and_then(|o| o["NextToken"].as_str()).unwrap_or_else(|| panic!("{first:?}"));
    let token = token.to_string();
    let tampered = format!("{}{}", &token[..token.len() - 2], if token.ends_with("AA") { "BB" } else { "AA" });
    for bad in [
        json!({"MaxResults": 501}),
        json!({"Filter": {"JobStatus": "BOGUS"}}),
        json!({"Filter": {"JobName": "!!$"}}),
        json!({"MaxResults": 5, "NextToken": tampered}),
        json!({"MaxResults": 5, "NextToken": token, "Filter": {"JobStatus": "FAILED"}}),
        json!({"MaxResults": 0}),
        json!({"MaxResults": "5"}),
    ] {
        client.call(Json, &bad).await.unwrap();
    }
    proxy.shutdown().await;
    recorder.finish().unwrap();
}

/// A CA and a certificate for localhost/127.0.0.1 signed by it, as PEM files in `dir`.
pub fn tls_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "snomed-vcr test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let (ca, cert, key) = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&ca, ca_cert.pem()).unwrap();
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    (ca, cert, key)
}
