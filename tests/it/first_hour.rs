//! What a new user pastes: every command the tool prints runs as printed (here, where `snomed-vcr` is not on
//! `PATH`, it prints its own path), and `record` needs no credentials for a loopback upstream.

use serde_json::{Value, json};
use snomed_vcr::model::JobStatus;
use snomed_vcr::{Client, Protocol, Reply};

use crate::util::{BIN, Proc, scratch_dir};

/// The commands between backticks in `text`.
fn commands(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

fn jobs(page: &Value) -> &Vec<Value> {
    page["ComprehendMedicalAsyncJobPropertiesList"].as_array().expect("a job list")
}

fn failed_first_page() -> Value {
    json!({"MaxResults": 10, "Filter": {"JobStatus": "FAILED"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unmatched_guides_fixes_run_as_pasted_and_serve_the_right_answer() {
    let dir = scratch_dir("first-hour-guide");
    let cassette = dir.join("walks.json");
    let reference = Proc::start(&["reference"]);
    let truth = Client::new(&reference.url).unwrap();

    // Record, with no AWS credentials anywhere: the upstream is on loopback.
    let line = format!("{BIN} record --upstream {} --cassette {} --mode all", reference.url, cassette.display());
    let proxy = Proc::pasted(&line);
    let through = Client::new(&proxy.url).unwrap();
    let whole = through.walk(Protocol::AwsJson11, &json!({"MaxResults": 100}), 10).await.unwrap();
    assert!(whole.is_complete() && whole.job_ids().len() == 240, "{:?}", whole.end);
    through.call(Protocol::AwsJson11, &json!({"MaxResults": 10, "Filter": {"JobStatus": "COMPLETED"}})).await.unwrap();
    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("placeholder key"), "says how it signed: {stderr}");

    // Replay it, and ask what was never recorded: the guide's fixes are commands.
    let replay = Proc::start(&["replay", "--cassette", cassette.to_str().unwrap()]);
    let miss = Client::new(&replay.url).unwrap().call(Protocol::AwsJson11, &failed_first_page()).await.unwrap();
    let Reply::Error(e) = &miss.reply else { panic!("{:?}", miss.reply) };
    assert_eq!(e.code, "UnmatchedRequestException");
    assert!(!e.message.contains("--match-on"), "no fix serves another filter's answer: {}", e.message);
    let fixes = commands(&e.message);
    assert_eq!(fixes.len(), 2, "{}", e.message);
    assert!(fixes.iter().all(|c| c.starts_with(BIN)), "the binary as it can be run: {fixes:?}");
    drop(replay);

    // Fix 2, as pasted: the model the cassettes show answers, marked, with only FAILED jobs, as the
    // service would.
    let simulate = Proc::pasted(&fixes[1]);
    let answer = Client::new(&simulate.url).unwrap().call(Protocol::AwsJson11, &failed_first_page()).await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.reply);
    assert_eq!(answer.headers.get("x-snomed-vcr-simulated").map(|v| v.to_str().unwrap()), Some("true"));
    let Reply::Output(page) = &answer.reply else { panic!("{:?}", answer.reply) };
    let want = truth.call(Protocol::AwsJson11, &failed_first_page()).await.unwrap();
    let Reply::Output(want) = &want.reply else { panic!("{:?}", want.reply) };
    assert!(!jobs(page).is_empty() && jobs(page).iter().all(|j| j["JobStatus"] == JobStatus::Failed.as_str()));
    let ids = |p: &Value| jobs(p).iter().map(|j| j["JobId"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(page), ids(want), "the reference's own first page of FAILED jobs");
    let (status, stderr) = simulate.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("1 answered by --simulate"), "counted in the report: {stderr}");

    // Fix 1, as pasted: records it, after which replay answers it from the recording.
    let record = Proc::pasted(&fixes[0]);
    let recorded = Client::new(&record.url).unwrap().call(Protocol::AwsJson11, &failed_first_page()).await.unwrap();
    assert_eq!(recorded.status, 200, "{:?}", recorded.reply);
    let (status, stderr) = record.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    // A re-recording of a reviewed cassette waits for review, insta's way: the printed commands settle it.
    let review = commands(stderr.lines().find(|l| l.contains("wrote")).expect("what was written"));
    assert_eq!(review.len(), 1, "{stderr}");
    let (code, stdout) = run_pasted(&review[0]);
    assert_eq!(code, 1, "without a terminal, review shows the diff and exits 1 while it is pending: {stdout}");
    let accept = commands(&stdout).into_iter().find(|c| c.contains("--accept")).expect("an accept command");
    let (code, stdout) = run_pasted(&accept);
    assert_eq!(code, 0, "{stdout}");
    let replay = Proc::start(&["replay", "--cassette", cassette.to_str().unwrap()]);
    let hit = Client::new(&replay.url).unwrap().call(Protocol::AwsJson11, &failed_first_page()).await.unwrap();
    assert_eq!(hit.status, 200, "{:?}", hit.reply);
    assert!(hit.headers.get("x-snomed-vcr-simulated").is_none());
    assert_eq!(
        ids(match &hit.reply {
            Reply::Output(p) => p,
            r => panic!("{r:?}"),
        }),
        ids(want)
    );
}

/// Runs a printed command line to its end, as pasted into a shell; its exit code and output.
fn run_pasted(line: &str) -> (i32, String) {
    let out = std::process::Command::new("sh")
        .args(["-c", line])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sh runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_demos_next_command_runs_as_pasted() {
    let out = std::process::Command::new(BIN).args(["demo", "--generate", "30"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let next = stdout.lines().find(|l| l.contains("Next:")).expect("a Next line");
    let line = &commands(next)[0];
    assert!(line.starts_with(BIN) && line.contains("--generate 30"), "{line}");
    let server = Proc::pasted(line);
    let (status, stderr) = server.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn fuzz_reproducer_lines_run_as_pasted() {
    let defective = Proc::start(&["reference", "--defect", "status-filter-first-page"]);
    let dir = scratch_dir("first-hour-fuzz");
    for protocol in ["json", "cbor"] {
        let out = dir.join(protocol);
        let run = std::process::Command::new(BIN)
            .args(["fuzz", "--target", &defective.url, "--runs", "300", "--seed", "5", "--protocol", protocol, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert_eq!(run.status.code(), Some(1), "{stdout}");
        let line = |label: &str| {
            stdout
                .lines()
                .find_map(|l| l.trim_start().strip_prefix(label))
                .unwrap_or_else(|| panic!("{label} {stdout}"))
                .trim()
                .to_string()
        };
        // The replay line fails against the defect, as a reproducer should.
        let (code, text) = run_pasted(&line("replay:"));
        assert_eq!(code, 1, "{text}");
        // The curl line answers; a CBOR answer goes to a file, and the terminal gets one line of text.
        let (code, text) = run_pasted(&line("curl:"));
        assert_eq!(code, 0, "{text}");
        if protocol == "cbor" {
            assert!(text.starts_with("HTTP 200, ") && text.is_ascii() && text.lines().count() == 1, "{text:?}");
        } else {
            assert!(text.contains("ComprehendMedicalAsyncJobPropertiesList"), "{text}");
        }
    }
}

/// The README's boto3 snippet, as pasted (the `listening on` URL put in for PORT's URL), with no AWS
/// credentials or config anywhere: it runs and prints the page's size.
#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn the_readmes_boto3_snippet_runs_as_pasted() {
    let readme = std::fs::read_to_string(crate::util::manifest_dir().join("README.md")).unwrap();
    let snippet = readme.split("```python\n").nth(1).and_then(|s| s.split("```").next()).expect("a python block");
    let server = Proc::start(&["reference"]);
    let code = snippet.replace("http://127.0.0.1:PORT", &server.url);
    let mut command = std::process::Command::new(crate::util::python());
    command.args(["-c", &code]).env("HOME", scratch_dir("first-hour-home"));
    crate::util::without_aws_settings(&mut command);
    let out = command.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.trim(), "37");
}

/// examples/pytest: the fixture starts replay and the example tests pass with boto3, as a project runs them.
#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn the_pytest_example_passes_with_boto3() {
    let root = crate::util::manifest_dir();
    let out = std::process::Command::new(crate::util::python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(root.join("examples/pytest"))
        .env("SNOMED_VCR", BIN)
        .env("CASSETTES", root.join("cassettes/boto3-walk.json"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("2 passed"), "{text}");
}

/// examples/github-actions: every `snomed-vcr` command of the workflow runs, with the reference as the
/// implementation under test on the port the workflow names (diff finds nothing, fuzz finds nothing, both
/// write JUnit).
#[test]
fn the_workflow_examples_commands_run() {
    let root = crate::util::manifest_dir();
    let workflow = std::fs::read_to_string(root.join("examples/github-actions/snomed-vcr.yml")).unwrap();
    let implementation = Proc::start(&["reference"]);
    let port = implementation.url.rsplit(':').next().unwrap().to_string();
    let dir = scratch_dir("first-hour-workflow");
    let commands: Vec<String> = workflow
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("run: "))
        .filter(|c| c.starts_with("snomed-vcr ") && !c.contains('&'))
        .map(|c| c.replace("127.0.0.1:4566", &format!("127.0.0.1:{port}")).replace("--seconds 60", "--seconds 5"))
        .collect();
    assert_eq!(commands.len(), 2, "diff and fuzz: {workflow}");
    let path = format!("{}:{}", std::path::Path::new(BIN).parent().unwrap().display(), std::env::var("PATH").unwrap());
    std::os::unix::fs::symlink(root.join("cassettes"), dir.join("cassettes")).unwrap();
    for c in &commands {
        let out =
            std::process::Command::new("sh").args(["-c", c]).current_dir(&dir).env("PATH", &path).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{c}: {text}");
    }
    for report in ["diff.xml", "fuzz.xml"] {
        let xml = std::fs::read_to_string(dir.join(report)).unwrap();
        assert!(xml.starts_with("<?xml") && xml.contains("<testsuites"), "{report}: {xml}");
    }
}

/// Every `snomed-vcr` line of the READMEs' shell blocks, run as printed in a folder holding copies of the
/// golden cassettes, against reference services standing in for the implementations they name
/// (`http://127.0.0.1:4566`, `:4567`, `URL`). The only edits: the binary's path for its name, a free port for
/// a fixed one, and shorter fuzz budgets. Servers must print their `listening on` line and exit 0 on SIGTERM
/// (`--strict` exits 1: nothing was asked); the rest exit 0. Lines that need AWS itself, or a finding from an
/// earlier run, are counted apart.
#[test]
fn every_readme_command_runs_as_printed() {
    let root = crate::util::manifest_dir();
    let dir = scratch_dir("first-hour-readme");
    std::fs::create_dir_all(dir.join("cassettes")).unwrap();
    for entry in std::fs::read_dir(root.join("cassettes")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") && path.file_name().is_some_and(|n| n != "schema.json") {
            std::fs::copy(&path, dir.join("cassettes").join(path.file_name().unwrap())).unwrap();
        }
    }
    for name in ["c.json", "old.json", "new.json", "huge.json"] {
        std::fs::copy(root.join("cassettes/boto3-walk.json"), dir.join(name)).unwrap();
    }
    let (a, b) = (Proc::start(&["reference"]), Proc::start(&["reference"]));
    let mut lines: Vec<String> = Vec::new();
    for readme in ["README.md", "cassettes/README.md"] {
        let text = std::fs::read_to_string(root.join(readme)).unwrap();
        let mut in_sh = false;
        for l in text.lines() {
            if l.starts_with("```") {
                in_sh = l == "```sh";
            } else if in_sh && l.starts_with("snomed-vcr ") {
                lines.push(l.split("  #").next().unwrap().trim_end().to_string());
            }
        }
    }
    assert!(lines.len() >= 30, "{lines:#?}");
    let (mut ran, mut apart) = (0, Vec::new());
    // Lines that write a file another line reads go first.
    lines.sort_by_key(|l| !l.contains(" > "));
    for line in &lines {
        if line.contains(" aws") || line.contains("findings/") || line.contains("mine.json") {
            apart.push(line.clone());
            continue;
        }
        let pasted = line
            .replacen("snomed-vcr", BIN, 1)
            .replace("http://127.0.0.1:4566", &a.url)
            .replace("http://127.0.0.1:4567", &b.url)
            .replace(" URL ", &format!(" {} ", a.url))
            .replace("--addr 127.0.0.1:4566", "--addr 127.0.0.1:0")
            .replace("--seconds 60", "--seconds 2")
            .replace("--runs 5000", "--runs 200");
        let server = ["reference", "replay", "record"].contains(&line.split_whitespace().nth(1).unwrap_or(""));
        if server {
            let proc = Proc::pasted_in(&pasted, &dir);
            let (status, stderr) = proc.terminate();
            let want = if line.contains("--strict") { 1 } else { 0 };
            assert_eq!(status.code(), Some(want), "{line}: {stderr}");
        } else {
            let out = std::process::Command::new("sh")
                .args(["-c", &pasted])
                .current_dir(&dir)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.status.code(), Some(0), "{line}: {text}");
        }
        ran += 1;
    }
    assert!(ran >= 30 && apart.len() <= 5, "{ran} run; apart: {apart:#?}");
}
