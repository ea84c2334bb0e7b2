//! A private X server for the real-window tests (`tests/ui_window.rs`): Xvfb on a display it
//! picks itself (`-displayfd`), and xdotool to type and click into the windows on it, as a
//! keyboard-wedge scanner and a finger would (XTEST, the same path as a real keyboard).
//!
//! Both are Debian packages (`xvfb`, `xdotool`; `.ci/run` installs them): a missing one fails
//! the test naming the package, never skips it. The server is killed when its [`Xvfb`] is
//! dropped, and so is a process held by a [`KillOnDrop`], also when a test fails.
//!
//! Self-contained (std only): `#[path = "common/xvfb.rs"] mod xvfb;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the server may take to come up, and one xdotool call (a `search --sync`
/// waits for a window the app is still opening on a busy CI machine).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Fails the test unless `program` is on the PATH, naming the Debian package that has it.
pub fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| is_executable(&d.join(program)))
    });
    assert!(
        found,
        "`{program}` is not installed: the real-window tests need it \
         (`apt-get install {package}`, as .ci/run does)"
    );
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A child process that is killed (and reaped) when this is dropped.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Its exit status if it has already ended (a window that died is a failure worth naming).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().ok().flatten()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running Xvfb; dropped, it is killed.
pub struct Xvfb {
    server: KillOnDrop,
    display: String,
    log: PathBuf,
}

impl Xvfb {
    /// Starts a server with one screen of `width`×`height` (24-bit) on the first free display,
    /// with no TCP listener and nothing kept between clients.
    pub fn start(width: u32, height: u32) -> Xvfb {
        require("Xvfb", "xvfb");
        require("xdotool", "xdotool");
        let log = std::env::temp_dir().join(format!(
            "packbench-xvfb-{}-{:?}.log",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut child = Command::new("Xvfb")
            // The display number is written to fd 1 once the server accepts clients, so
            // there is no guessing at a free number and no race with another run.
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-noreset",
                "-screen",
                "0",
            ])
            .arg(format!("{width}x{height}x24"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("the Xvfb log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting Xvfb (package xvfb): {e}"));
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let server = KillOnDrop(child);
        let line = rx.recv_timeout(TIMEOUT).unwrap_or_default();
        let n = line.trim();
        assert!(
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
            "Xvfb did not report its display within {TIMEOUT:?}: {:?}\n{}",
            line,
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Xvfb {
            server,
            display: format!(":{n}"),
            log,
        }
    }

    /// The `DISPLAY` value of this server.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Runs xdotool on this display, failing the test when it fails or hangs; its stdout.
    pub fn xdotool<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<_> = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        let out = run(
            Command::new("xdotool")
                .args(&args)
                .env("DISPLAY", &self.display),
            TIMEOUT,
        );
        assert!(
            out.status.success(),
            "xdotool {args:?}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The first mapped window whose title is exactly `title`, waiting for it to appear.
    pub fn window(&self, title: &str) -> String {
        let pattern = format!("^{}$", regex_escape(title));
        let found = self.xdotool(["search", "--sync", "--onlyvisible", "--name", &pattern]);
        found
            .lines()
            .next()
            .unwrap_or_else(|| panic!("no window titled {title:?}"))
            .trim()
            .to_string()
    }

    /// Gives `window` the keyboard (there is no window manager to do it).
    pub fn focus(&self, window: &str) {
        self.xdotool(["windowfocus", "--sync", window]);
    }

    /// Types `text` into the focused window, key by key, as a keyboard-wedge scanner does.
    pub fn type_text(&self, text: &str) {
        self.type_at(text, 8);
    }

    /// Types `text` with `delay_ms` between keys (a person types at 150 ms or so).
    pub fn type_at(&self, text: &str, delay_ms: u32) {
        self.xdotool(["type", "--delay", &delay_ms.to_string(), "--", text]);
    }

    /// Presses one key by its X name (`Return`, `Tab`, `Escape`).
    pub fn key(&self, key: &str) {
        self.xdotool(["key", key]);
    }

    /// A scan from a keyboard wedge: the code, then Enter, in one burst. One xdotool run
    /// types both (a newline is its Return): a second process for the Enter could start
    /// later than a scanner's pace on a busy machine, and the search field would then take
    /// the code for a person's typing.
    pub fn scan(&self, code: &str) {
        self.type_text(&format!("{code}\n"));
    }

    /// A left click at (`x`, `y`) in `window`'s coordinates.
    pub fn click(&self, window: &str, x: i32, y: i32) {
        // No `--sync`: it waits for the pointer to move, which never happens when it is
        // already there (a second touch on the same spot). The events keep their order.
        self.xdotool([
            "mousemove",
            "--window",
            window,
            &x.to_string(),
            &y.to_string(),
            "click",
            "1",
        ]);
    }

    /// `window`'s size in pixels.
    pub fn size(&self, window: &str) -> (i32, i32) {
        let out = self.xdotool(["getwindowgeometry", "--shell", window]);
        let get = |k: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('=')?.parse().ok())
                .unwrap_or_else(|| panic!("no {k} in {out:?}"))
        };
        (get("WIDTH"), get("HEIGHT"))
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.server.0.kill();
        let _ = self.server.0.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Runs a command to its end within `timeout` (killed past it, and the test fails).
fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let (tx, rx) = mpsc::channel();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut o = Vec::new();
        let mut e = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut o);
        let _ = std::io::Read::read_to_end(&mut err, &mut e);
        let _ = tx.send((o, e));
    });
    let end = Instant::now() + timeout;
    let got = rx.recv_timeout(end.saturating_duration_since(Instant::now()));
    if got.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    let (stdout, stderr) =
        got.unwrap_or_else(|_| panic!("{cmd:?} still running after {timeout:?}: killed"));
    Output {
        status,
        stdout,
        stderr,
    }
}

/// A title as an xdotool (POSIX extended) regular expression matching only itself.
fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\^$.|?*+()[]{}".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}
