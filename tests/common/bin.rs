//! The one way the tests run the `packbench` binary: [`Pb`] builds the command with the
//! environment the tests need, runs it with a timeout and returns its exit, stdout and stderr.
//!
//! Self-contained (std only), so a test binary that does not include `tests/common` can take
//! this file alone: `#[path = "common/bin.rs"] mod bin;`. Its API is kept stable for the test
//! files that use it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one command may take before the test fails: generous, the CI machine is shared
/// and an import hashes PINs at full cost.
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// Variables of a developer's shell that change what the binary prints or does; a test that
/// wants one sets it on its command.
const CLEARED: [&str; 5] = [
    "RUST_LOG",
    "PACKBENCH_KILL_AT",
    "PACKBENCH_TEST_SYNCHRONOUS",
    "PACKBENCH_FULLSCREEN",
    "PACKBENCH_TIMING",
];

/// The binary under test (built by cargo with the `testing` feature).
pub fn path() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_packbench"))
}

/// A `Command` for `binary` with the tests' environment, for callers that drive the process
/// themselves (a station kept running, fed on stdin).
pub fn command_at(binary: &Path) -> Command {
    let mut c = Command::new(binary);
    for v in CLEARED {
        c.env_remove(v);
    }
    c
}

/// [`command_at`] the binary under test.
pub fn command() -> Command {
    command_at(path())
}

/// One run of the binary: `Pb::new().dir(d).args([..]).output()`.
pub struct Pb {
    cmd: Command,
    input: Option<Vec<u8>>,
    stderr: Option<Stdio>,
    timeout: Duration,
    shown: Vec<String>,
}

impl Default for Pb {
    fn default() -> Self {
        Pb::new()
    }
}

impl Pb {
    pub fn new() -> Pb {
        Pb::at(path())
    }

    /// Another build of the binary (a bench's override).
    pub fn at(binary: &Path) -> Pb {
        Pb {
            cmd: command_at(binary),
            input: None,
            stderr: None,
            timeout: TIMEOUT,
            shown: Vec::new(),
        }
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Pb {
        self.cmd.current_dir(dir);
        self
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Pb {
        self.shown.push(a.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Pb
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Pb {
        self.cmd.env(k, v);
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Pb {
        self.cmd.env_remove(k);
        self
    }

    /// Without a display, as on a bench whose X server is not up (or a CI runner).
    pub fn no_display(self) -> Pb {
        self.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY")
    }

    /// Bytes written to its stdin, which is then closed (without: no stdin).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Pb {
        self.input = Some(bytes.into());
        self
    }

    /// Where its stderr goes instead of being captured (the output's stderr is then empty).
    pub fn stderr(mut self, to: impl Into<Stdio>) -> Pb {
        self.stderr = Some(to.into());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Pb {
        self.timeout = t;
        self
    }

    /// The command itself, for what the builder does not cover (a uid to run as).
    pub fn command(&mut self) -> &mut Command {
        &mut self.cmd
    }

    /// Starts it with stdout and stderr piped (unless [`Pb::stderr`] said otherwise) and stdin
    /// piped when [`Pb::stdin`] was given, else null.
    pub fn spawn(mut self) -> Child {
        self.cmd
            .stdin(if self.input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(self.stderr.take().unwrap_or_else(Stdio::piped));
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting packbench {:?}: {e}", self.shown));
        if let Some(bytes) = self.input.take() {
            let mut w = child.stdin.take().unwrap();
            // A command that exits without reading its stdin is not this runner's failure.
            std::thread::spawn(move || {
                let _ = w.write_all(&bytes);
            });
        }
        child
    }

    /// Runs it to its end: exit status, stdout and stderr. Past the timeout the process is
    /// killed and the test fails, showing what it had printed.
    pub fn output(self) -> Output {
        let (shown, timeout) = (self.shown.clone(), self.timeout);
        let mut child = self.spawn();
        // Each stream is read to its end on a thread, as `Command::output` does; the ends
        // arrive on a channel so the wait needs no polling (a bench times whole runs).
        let (done, ends) = mpsc::channel();
        let read = |r: Option<Box<dyn Read + Send>>| {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut buf);
                }
                let _ = done.send(());
                buf
            })
        };
        let out = read(child.stdout.take().map(|s| Box::new(s) as _));
        let err = read(child.stderr.take().map(|s| Box::new(s) as _));
        let end = Instant::now() + timeout;
        let ended = (0..2).all(|_| {
            let left = end.saturating_duration_since(Instant::now());
            ends.recv_timeout(left).is_ok()
        });
        if !ended {
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        let stdout = out.join().unwrap();
        let stderr = err.join().unwrap();
        assert!(
            ended,
            "packbench {shown:?} still running after {timeout:?}: killed\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

/// `packbench ARGS` in `dir`.
pub fn pb(dir: &Path, args: &[&str]) -> Output {
    Pb::new().dir(dir).args(args).output()
}

/// The stdout of a run that must have succeeded (else the test fails showing both streams).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The stderr of a run that must have failed with one line on stderr.
pub fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "should fail: {out:?}");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    err
}
