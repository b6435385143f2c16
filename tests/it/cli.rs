//! The command-line contract: first line, exit codes, signals, and precise errors for bad input.

use std::process::Command;

use serde_json::json;
use snomed_vcr::client::Client;
use snomed_vcr::protocol::{Protocol, Reply};

use crate::util::{BIN, Proc, manifest_dir};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// SIGTERM as soon as the `listening on` line is read gives a graceful exit 0, for every server subcommand.
/// (The handlers are installed before that line is printed, see `server::shutdown_signal`; this test does not
/// reliably hit the microseconds-wide window that existed before, it exercises the contract.)
#[test]
fn every_server_exits_0_on_sigterm_sent_right_after_its_first_line() {
    let dir = crate::util::scratch_dir("cli-sigterm");
    let cassette = manifest_dir().join("cassettes/boto3-walk.json");
    let upstream = Proc::start(&["reference"]);
    for round in 0..5 {
        let new_cassette = dir.join(format!("r{round}.json"));
        for args in [
            vec!["reference", "--generate", "10", "--seed", "3"],
            vec!["replay", "--cassette", cassette.to_str().unwrap()],
            vec!["record", "--no-resign", "--upstream", &upstream.url, "--cassette", new_cassette.to_str().unwrap()],
        ] {
            let server = Proc::start(&args);
            let (status, stderr) = server.terminate();
            assert_eq!(status.code(), Some(0), "{args:?} round {round}: {status:?}\n{stderr}");
        }
    }
}

#[test]
fn demo_passes_every_check() {
    let (code, stdout, stderr) = run(&["demo"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("0 checks failed"), "{stdout}");
    assert_eq!(stdout.matches("  ok  ").count(), 28, "{stdout}");
    assert!(!stdout.contains("FAIL"));
    assert!(stdout.contains("  ok    the other list operations (ListEntitiesDetectionV2Jobs, "), "{stdout}");
}

/// Pinned to one CPU, the binary runs a single-threaded runtime (see `cli::main`); the whole chain still works.
#[test]
fn demo_passes_on_one_cpu_with_a_single_threaded_runtime() {
    let out =
        Command::new("taskset").args(["-c", "0", BIN, "-vv", "demo"]).output().expect("taskset (util-linux) runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("threads=\"one\"") || stderr.contains("threads=one"), "{stderr}");
    assert_eq!(stdout.matches("  ok  ").count(), 28, "{stdout}");
}

#[test]
fn usage_and_input_errors_exit_2_naming_the_input() {
    let (code, _, err) = run(&["reference", "--throttle-every", "many"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--throttle-every"), "{err}");

    let (code, _, err) = run(&["reference", "--require-sigv4", "nocolon"]);
    assert_eq!(code, 2);
    assert!(err.contains("--require-sigv4") && err.contains("ACCESS_KEY_ID:SECRET_ACCESS_KEY"), "{err}");

    let (code, _, err) = run(&["reference", "--addr", "256.0.0.1:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("'256.0.0.1:1'"), "{err}");

    let dir = crate::util::scratch_dir("cli");
    let bad = dir.join("jobs.json");
    std::fs::write(
        &bad,
        "[\n  {\"JobId\": \"a\", \"SubmitTime\": 1700000000},\n  {\"JobId\": \"b\", \"SubmitTime\": \"soon\"}\n]\n",
    )
    .unwrap();
    let (code, _, err) = run(&["reference", "--jobs", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("jobs.json") && err.contains("job [1]") && err.contains("SubmitTime"), "{err}");
    std::fs::write(&bad, "[\n  {\"JobId\": \"a\",\n").unwrap();
    let (_, _, err) = run(&["reference", "--jobs", bad.to_str().unwrap()]);
    assert!(err.contains("line 3"), "{err}");
    let (code, _, err) = run(&["reference", "--jobs", "/nonexistent/jobs.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/jobs.json"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn reference_serves_a_jobs_file() {
    let (code, jobs, _) = run(&["jobs", "--generate", "12", "--seed", "5"]);
    assert_eq!(code, 0);
    let path = crate::util::scratch_dir("cli-jobs").join("jobs.json");
    std::fs::write(&path, &jobs).unwrap();
    let server = Proc::start(&["reference", "--jobs", path.to_str().unwrap()]);
    let client = Client::new(&server.url).unwrap();
    let ex = client.call(Protocol::RpcV2Cbor, &json!({"MaxResults": 500})).await.unwrap();
    let Reply::Output(doc) = ex.reply else { panic!("{:?}", ex.reply) };
    assert_eq!(doc["ComprehendMedicalAsyncJobPropertiesList"].as_array().unwrap().len(), 12);
    std::fs::remove_file(&path).ok();
}

#[tokio::test]
async fn garbage_gets_aws_shaped_errors_not_hangs() {
    let server = Proc::start(&["reference"]);
    let client = Client::new(&server.url).unwrap();
    for protocol in Protocol::ALL {
        let ex = client
            .send(protocol, "ListSNOMEDCTInferenceJobs", bytes::Bytes::from_static(b"\xff\x00garbage"))
            .await
            .unwrap();
        assert!(
            matches!(&ex.reply, Reply::Error(e) if e.code == "SerializationException" && e.status == 400),
            "{protocol}: {:?}",
            ex.reply
        );
        let ex = client.send(protocol, "DeleteEverything", bytes::Bytes::from_static(b"{}")).await.unwrap();
        assert!(
            matches!(&ex.reply, Reply::Error(e) if e.code == "UnknownOperationException"),
            "{protocol}: {:?}",
            ex.reply
        );
        assert!(ex.headers.contains_key("x-amzn-requestid"));
    }
    // An oversized body is 413, in the caller's protocol.
    let big = bytes::Bytes::from(vec![b' '; 9 * 1024 * 1024]);
    let ex = client.send(Protocol::AwsJson11, "ListSNOMEDCTInferenceJobs", big).await.unwrap();
    assert_eq!(ex.status, 413);
}

/// Every subcommand's `--help` ends with examples, as ripgrep's and cargo's do.
#[test]
fn every_subcommand_help_has_examples() {
    let (code, top, _) = run(&["--help"]);
    assert_eq!(code, 0);
    let commands: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 11, "{top}");
    for c in commands {
        let (code, help, _) = run(&[c, "--help"]);
        assert_eq!(code, 0, "{c}");
        let examples: Vec<&str> = help.lines().skip_while(|l| *l != "Examples:").skip(1).collect();
        assert!(
            examples.iter().any(|l| l.trim_start().starts_with("snomed-vcr ")),
            "{c} --help has no examples:\n{help}"
        );
    }
}

/// `completions bash` loads in bash and completes the subcommands; `man` renders with `man -l`.
#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let script = format!(
        "source <({BIN} completions bash) && complete -p snomed-vcr && COMP_WORDS=(snomed-vcr re) && COMP_CWORD=1 && _snomed__vcr snomed-vcr re snomed-vcr && echo \"${{COMPREPLY[@]}}\""
    );
    let out = Command::new("bash").args(["-c", &script]).output().expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let offered = text.lines().last().unwrap_or("");
    for c in ["record", "replay", "reference", "review"] {
        assert!(offered.split(' ').any(|w| w == c), "'re' completes to {c}: {offered}");
    }
    let page = format!("{BIN} man | MANWIDTH=100 man -l -");
    let out = Command::new("sh").args(["-c", &page]).output().expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "man -l (apt-get install man-db): {}", String::from_utf8_lossy(&out.stderr));
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("NAME snomed-vcr - Record, replay") && words.contains("SUBCOMMANDS"), "{text}");
}

/// `snomed-vcr.toml` in the working directory gives a subcommand its flags; the command line wins;
/// `--print-config` says what was added; a key no flag has is refused naming the file and line.
#[test]
fn a_config_file_gives_defaults_that_flags_override() {
    let dir = crate::util::scratch_dir("config-file");
    let walk = crate::util::manifest_dir().join("cassettes/boto3-walk.json");
    let errors = crate::util::manifest_dir().join("cassettes/boto3-errors.json");
    std::fs::write(
        dir.join("snomed-vcr.toml"),
        format!("# defaults\n[replay]\ncassette = [{:?}]\nstrict = true\n", walk.display().to_string()),
    )
    .unwrap();
    let in_dir = |args: &[&str]| {
        let out = Command::new(BIN).args(args).current_dir(&dir).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = in_dir(&["replay", "--print-config"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("config file: snomed-vcr.toml") && stdout.contains("adds --strict"), "{stdout}");
    assert!(stdout.contains(&format!("adds --cassette={}", walk.display())), "{stdout}");
    let (_, stdout, _) = in_dir(&["replay", "--cassette", errors.to_str().unwrap(), "--print-config"]);
    assert!(
        stdout.contains("overridden by the command line: cassette") && !stdout.contains("adds --cassette"),
        "{stdout}"
    );
    // The file's flags are in force: replay serves the walk, and --strict fails the unplayed interactions.
    let mut child = Command::new(BIN)
        .arg("replay")
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    assert!(line.starts_with("listening on "), "{line}");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "strict, from the file: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("boto3-walk.json interaction 0"));

    std::fs::write(dir.join("bad.toml"), "[replay]\n\ncasette = \"x\"\n").unwrap();
    let (code, _, stderr) = in_dir(&["--config", "bad.toml", "replay"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("bad.toml:3: [replay] has no key 'casette'") && stderr.contains("cassette"), "{stderr}");
}

/// `-v`: one log line per request, naming the operation and the status; without it, none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_servers_log_a_line_per_request() {
    let cassette = crate::util::manifest_dir().join("cassettes/boto3-walk.json");
    for (flags, lines) in [(vec!["-v"], 2), (vec![], 0)] {
        let mut args = flags.clone();
        args.extend(["replay", "--cassette", cassette.to_str().unwrap()]);
        let server = crate::util::Proc::start(&args);
        let client = snomed_vcr::Client::new(&server.url).unwrap();
        for max in [37, 36] {
            client.call(snomed_vcr::Protocol::AwsJson11, &serde_json::json!({"MaxResults": max})).await.unwrap();
        }
        let (_, stderr) = server.terminate();
        let logged: Vec<&str> = stderr.lines().filter(|l| l.contains("snomed_vcr::request")).collect();
        assert_eq!(logged.len(), lines, "{flags:?}: {stderr}");
        if lines > 0 {
            assert!(
                logged[0].contains("ListSNOMEDCTInferenceJobs -> 200") && logged[1].contains("-> 400"),
                "{logged:?}"
            );
        }
    }
}

/// On a terminal (`script` gives one), replay keeps a live status line; in a pipe it prints none.
#[test]
fn replay_shows_a_status_line_on_a_terminal_only() {
    let cassette = crate::util::manifest_dir().join("cassettes/boto3-walk.json");
    let line = format!("timeout -s TERM 2.5 {BIN} replay --cassette {}", cassette.display());
    let tty = Command::new("script").args(["-qc", &line, "/dev/null"]).output().expect("script (util-linux) runs");
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(
        text.contains("\r\x1b[2Kreplay: 0 requests answered from recordings, 0 unmatched, 7 interactions never played"),
        "{text:?}"
    );
    let piped = Command::new("sh").args(["-c", &line]).output().unwrap();
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !err.contains('\r') && err.lines().filter(|l| l.contains("answered from recordings")).count() == 1,
        "{err:?}"
    );
}
