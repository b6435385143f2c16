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
        let mut child = Command::new(BIN)
            .args(args)
            .envs(env.iter().copied())
            .env_remove("AWS_PROFILE")
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
            panic!("snomed-vcr {args:?} printed no first line; stderr:\n{err}");
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

/// The Python interpreter with boto3: `SNOMED_VCR_PYTHON`, else the venv `.ci/run` makes at `target/venv`.
/// Missing under CI is a failure with the fix; elsewhere the test is skipped with a loud note.
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("SNOMED_VCR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target/venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(candidate);
    }
    let fix = format!(
        "no Python with boto3 at {}: run `python3 -m venv target/venv && target/venv/bin/pip install -r tests/python/requirements.txt` \
         (or `bash .ci/run`, which does it), or set SNOMED_VCR_PYTHON",
        candidate.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{fix}");
    }
    eprintln!("SKIPPED (not under CI): {fix}");
    None
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
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    stdout
}

/// A fresh, empty directory for this test process under the system temp dir: `snomed-vcr-NAME-PID`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snomed-vcr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}
