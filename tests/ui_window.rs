//! The real windows under a real X server: the built `packbench` binary on a private Xvfb,
//! driven through the X server with xdotool (XTEST key presses and pointer clicks, what a
//! keyboard-wedge scanner and a finger produce), not Slint's testing backend.
//!
//! - The station: a badge typed the moment the window maps signs the packer in; the order,
//!   its units, the supervisor's badge and PIN at a weight mismatch, the approval's reason,
//!   the courier handover and the returns check-in all take typed scans with no click first,
//!   also after a touch on the screen's buttons. Every keystroke is proved by the event it
//!   wrote to the bench's log (`packbench audit export`).
//! - The console: against a real PostgreSQL centre (tests/pg), badge, Enter, PIN, Enter typed
//!   the moment the window maps signs the supervisor in, as the centre records it.
//!
//! Needs the Debian packages `xvfb` and `xdotool` (`.ci/run` installs them); without them the
//! tests fail naming the package.

#[path = "common/bin.rs"]
mod bin;
mod pg;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use xvfb::{KillOnDrop, Xvfb};

/// How long one typed scan may take to reach the log (a cold debug build on a busy machine).
const WAIT: Duration = Duration::from_secs(30);

/// A `packbench` process with its own display, its output kept in files for the failure
/// message; killed when dropped.
struct App {
    name: &'static str,
    proc: KillOnDrop,
    out: PathBuf,
}

impl App {
    fn start(x: &Xvfb, dir: &Path, name: &'static str, args: &[&str]) -> App {
        let out = dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&out).unwrap();
        let child = bin::command()
            .current_dir(dir)
            .args(args)
            .env("DISPLAY", x.display())
            .env_remove("WAYLAND_DISPLAY")
            // English screens; the window's language is not what these tests are about.
            .env("LC_ALL", "C.UTF-8")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting packbench {args:?}: {e}"));
        App {
            name,
            proc: KillOnDrop(child),
            out,
        }
    }

    /// Fails the test if the window's process has ended, showing what it printed.
    fn alive(&mut self) {
        if let Some(status) = self.proc.exited() {
            panic!(
                "the {} exited ({status}):\n{}",
                self.name,
                std::fs::read_to_string(&self.out).unwrap_or_default()
            );
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

/// The bench's event log, read back through `packbench audit export` as the contract names
/// its events. `seen` is the last sequence number a wait matched, so each wait looks only at
/// what the latest keystrokes wrote.
struct Log {
    db: PathBuf,
    seen: u64,
}

impl Log {
    fn events(&self) -> Vec<Value> {
        let out = bin::Pb::new()
            .args(["audit", "export", "--format", "jsonl", "--db"])
            .arg(&self.db)
            .output();
        bin::ok(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits for the first event after the last one matched that is of type `event` and
    /// satisfies `also`; fails naming the events that came instead.
    fn wait(&mut self, app: &mut App, event: &str, also: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + WAIT;
        loop {
            app.alive();
            let events = self.events();
            let new: Vec<&Value> = events
                .iter()
                .filter(|e| e["seq"].as_u64().unwrap() > self.seen)
                .collect();
            if let Some(e) = new.iter().find(|e| e["event"] == event && also(e)) {
                self.seen = e["seq"].as_u64().unwrap();
                return (*e).clone();
            }
            if Instant::now() > end {
                let got: Vec<String> = new
                    .iter()
                    .map(|e| {
                        let mut e = (*e).clone();
                        e.as_object_mut().unwrap().remove("chain");
                        e.to_string()
                    })
                    .collect();
                panic!(
                    "no {event} within {WAIT:?}; the log has since:\n{}\n{} output:\n{}",
                    got.join("\n"),
                    app.name,
                    app.output()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `packbench simulate scale` on a pty, as a bench without hardware runs it: a weight
/// written to its stdin is on the scale.
struct Scale {
    proc: KillOnDrop,
    input: ChildStdin,
    port: PathBuf,
}

impl Scale {
    fn start(dir: &Path) -> Scale {
        let port = dir.join("scale");
        let mut child = bin::command()
            .args(["simulate", "scale", "--protocol", "mt-sics", "--link"])
            .arg(&port)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("packbench simulate scale");
        let input = child.stdin.take().unwrap();
        let mut proc = KillOnDrop(child);
        let end = Instant::now() + WAIT;
        while !port.exists() {
            assert!(proc.exited().is_none(), "the simulated scale exited");
            assert!(Instant::now() < end, "no simulated scale at {port:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Scale { proc, input, port }
    }

    fn put(&mut self, grams: u32) {
        assert!(self.proc.exited().is_none(), "the simulated scale exited");
        writeln!(self.input, "{grams}").unwrap();
        self.input.flush().unwrap();
    }
}

/// A bench with the fixture data, the simulated scale and a file printer; its scanner is the
/// keyboard wedge of its window.
fn bench_dir(dir: &Path, scale: &Scale) -> PathBuf {
    let db = dir.join("bench.db");
    let mut store = packbench::store::open(&db).unwrap();
    packbench::import::import_data_set(
        &mut store,
        &pg::fixture_files::fixtures(),
        "WIN-01",
        chrono::Local::now().fixed_offset(),
    )
    .unwrap();
    drop(store);
    let config = dir.join("station.toml");
    std::fs::write(
        &config,
        format!(
            "station_id = \"WIN-01\"\ndatabase = \"bench.db\"\n\n\
             [scale]\nport = {:?}\nprotocol = \"mt-sics\"\n\n\
             [printer]\ntarget = {:?}\n",
            scale.port.display().to_string(),
            format!("file://{}", dir.join("labels.bin").display()),
        ),
    )
    .unwrap();
    config
}

#[test]
fn the_station_window_takes_typed_scans_at_every_step() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut scale = Scale::start(dir.path());
    let config = bench_dir(dir.path(), &scale);
    let x = Xvfb::start(1280, 1024);
    let mut app = App::start(
        &x,
        dir.path(),
        "station",
        &["run", "--config", config.to_str().unwrap()],
    );
    let mut log = Log {
        db: dir.path().join("bench.db"),
        seen: 0,
    };

    // The badge is typed the moment the window is mapped: nobody clicks into it first.
    let w = x.window("packbench");
    x.focus(&w);
    x.scan("BADGE-E003");
    log.wait(&mut app, "packer_signed_in", |e| e["packer_id"] == "E003");

    // An order and its units (the T-shirt, two pairs of socks), typed as scans.
    x.scan("TB20261122001");
    log.wait(&mut app, "order_loaded", |e| {
        e["order_no"] == "TB20261122001"
    });
    for code in ["6975432100137", "6975432201018", "6975432201018"] {
        x.scan(code);
        log.wait(&mut app, "item_accepted", |e| e["code"] == code);
    }

    // 700 g where 265 g are expected: the bench waits for a supervisor.
    scale.put(700);
    log.wait(&mut app, "weight_checked", |e| e["ok"] == false);
    x.scan("BADGE-E005");
    log.wait(&mut app, "pin_required", |e| {
        e["employee_id"] == "E005" && e["purpose"] == "approval"
    });
    // The PIN typed on a keyboard while the PIN pad shows is a PIN, never a scan.
    x.scan("555555");
    log.wait(&mut app, "reason_required", |e| {
        e["supervisor_id"] == "E005"
    });
    x.scan("PB-REASON-SCALE_DRIFT");
    log.wait(&mut app, "override", |e| {
        e["supervisor_id"] == "E005" && e["reason"] == "scale_drift"
    });
    log.wait(&mut app, "order_packed", |e| e["override_by"] == "E005");

    // The courier handover, with the parcel off the scale.
    scale.put(0);
    x.scan("PB-DISPATCH");
    log.wait(&mut app, "dispatch_started", |_| true);
    x.scan("SF1498369006026");
    log.wait(&mut app, "order_dispatched", |e| {
        e["order_no"] == "TB20261122001"
    });
    x.scan("PB-DISPATCH-END");
    log.wait(&mut app, "dispatch_closed", |_| true);

    // The returns check-in: the parcel comes back, one unit in it.
    x.scan("PB-RETURNS");
    log.wait(&mut app, "returns_started", |_| true);
    x.scan("SF1498369006026");
    log.wait(&mut app, "return_opened", |e| {
        e["order_no"] == "TB20261122001"
    });
    x.scan("6975432100137");
    log.wait(&mut app, "return_item", |e| e["sku"] == "T-BLU-L");

    let events = log.events();
    assert!(
        !events.iter().any(|e| e.to_string().contains("555555")),
        "the typed PIN reached the log"
    );
    drop(app);
    eprintln!("station window test: {:?}", started.elapsed());
}

#[test]
fn the_console_signs_in_a_badge_typed_the_moment_it_opens() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(pg::fresh_db());
    // The employees (E005 is a supervisor with a 6-digit PIN) and the console's own login,
    // as an administrator makes them.
    bin::ok(&bin::pb(
        dir.path(),
        &[
            "import",
            "employees",
            pg::fixture_files::fixture("employees.csv")
                .to_str()
                .unwrap(),
            "--central",
            &db.url,
        ],
    ));
    let console_url = bin::ok(&bin::pb(
        dir.path(),
        &[
            "central",
            "add-console",
            &format!("OFFICE-{}", db.name),
            "--url",
            &db.url,
        ],
    ))
    .trim()
    .to_string();
    let signed_in = || -> bool {
        rt.block_on(async {
            pg::connect(&db.url)
                .await
                .query_opt(
                    "SELECT 1 FROM packbench.pin_failures \
                     WHERE employee_id = 'E005' AND last_ok_at IS NOT NULL",
                    &[],
                )
                .await
                .unwrap()
                .is_some()
        })
    };
    assert!(
        !signed_in(),
        "E005's PIN was checked before the console ran"
    );

    let x = Xvfb::start(1280, 1024);
    let mut app = App::start(
        &x,
        dir.path(),
        "console",
        &["console", "--central", &console_url, "--exports", "exports"],
    );
    let w = x.window("packbench console");
    x.focus(&w);
    // A wedge scanner's badge and Enter, then the PIN and Enter, with no click anywhere.
    x.scan("BADGE-E005");
    x.scan("555555");
    let end = Instant::now() + WAIT;
    while !signed_in() {
        app.alive();
        assert!(
            Instant::now() < end,
            "the centre never checked E005's PIN: the typed badge and PIN did not reach the \
             sign-in\nconsole output:\n{}",
            app.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(app);
    eprintln!("console window test: {:?}", started.elapsed());
}
