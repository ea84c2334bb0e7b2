//! `packbench run --headless` as a service unit runs it: config errors, JSON lines, signals.

mod common;
mod harness;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn setup(dir: &Path, extra: &str) -> std::path::PathBuf {
    let mut s = packbench::store::SqliteStore::open(dir.join("bench.db")).unwrap();
    import_fixtures(&mut s);
    let cfg = dir.join("station.toml");
    std::fs::write(
        &cfg,
        format!("station_id = \"BENCH-H\"\ndatabase = \"bench.db\"\n{extra}"),
    )
    .unwrap();
    cfg
}

fn err_of(args: &[&str], dir: &Path) -> String {
    let out = pb(dir, args);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    err
}

#[test]
fn config_errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let e = err_of(&["run", "--headless"], dir.path());
    assert!(e.contains("needs a station config"), "{e}");
    let e = err_of(&["run", "--headless", "--config", "nope.toml"], dir.path());
    assert!(e.contains("cannot read config nope.toml"), "{e}");
    let cfg = setup(
        dir.path(),
        "[scale]\nport = \"/dev/ttyUSB0\"\nprotocol = \"fancy\"\n",
    );
    let e = err_of(
        &["run", "--headless", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert!(e.contains("fancy"), "{e}");
    let cfg = setup(dir.path(), "[printer]\ntarget = \"lpt://1\"\n");
    let e = err_of(
        &["run", "--headless", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert!(e.contains("printer target"), "{e}");
    let cfg = setup(dir.path(), "[weight]\ndefault_packaging = \"PKG-NONE\"\n");
    let e = err_of(
        &["run", "--headless", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert!(e.contains("default_packaging \"PKG-NONE\""), "{e}");
    let cfg = setup(
        dir.path(),
        "[scale]\nport = \"/dev/ttyUSB0\"\nprotocol = \"sma\"\nunsetled_alarm_s = 5\n",
    );
    let e = err_of(
        &["run", "--headless", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert!(
        e.contains("scale: unknown setting `unsetled_alarm_s`"),
        "{e}"
    );
    let cfg = setup(dir.path(), "colour = \"blue\"\n");
    let e = err_of(
        &["run", "--headless", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert!(e.contains("unknown field `colour`"), "{e}");
    // An approval that lapses at once, or a negative time, is refused by name.
    for bad in ["0", "-5"] {
        let cfg = setup(
            dir.path(),
            &format!("[security]\napproval_timeout_s = {bad}\n"),
        );
        let e = err_of(
            &["run", "--headless", "--config", cfg.to_str().unwrap()],
            dir.path(),
        );
        assert!(
            e.contains("[security] approval_timeout_s must be")
                && e.contains(&format!("(got {bad})")),
            "{e}"
        );
    }
}

/// The station in `dir` (its config is `station.toml` there), scanner on stdin.
struct Running(harness::Station);

impl Running {
    fn start(dir: &Path) -> Running {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stderr.log"))
            .unwrap();
        Running(harness::spawn_station(bin::path(), dir, stderr, &[]))
    }

    fn scan(&mut self, code: &str) {
        self.0.scan(code);
    }

    fn next(&mut self, event: &str) -> Value {
        match self
            .0
            .until(Duration::from_secs(20), |v| v["event"] == event)
        {
            Some((_, v)) => v,
            None => panic!("no {event} line; seen: {:#?}", self.0.seen),
        }
    }

    fn term(self) -> Option<i32> {
        self.0.term().0
    }
}

#[test]
fn stdin_scanner_lines_and_sigterm_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "[[scanner]]\nport = \"stdin\"\n");
    let mut r = Running::start(dir.path());
    r.scan(PACKER);
    let l = r.next("packer_signed_in");
    assert_eq!(l["packer_id"], "E003");
    assert_eq!(l["station_id"], "BENCH-H");
    r.scan(ORDER1_WAYBILL);
    let l = r.next("order_loaded");
    assert_eq!(l["order_no"], ORDER1);
    assert_eq!(l["lines"][0]["sku"], "T-BLU-L");
    assert_eq!(l["lines"][0]["qty"], 1);
    assert_eq!(l["lines"][0]["scanned"], 0);
    r.scan(T_BLU_L);
    let l = r.next("item_accepted");
    assert_eq!(
        (l["sku"].as_str(), l["scanned"].as_u64(), l["qty"].as_u64()),
        (Some("T-BLU-L"), Some(1), Some(1))
    );
    r.scan(LIP_R02);
    let l = r.next("scan_rejected");
    assert_eq!(l["reason"], "not_in_order");
    assert_eq!(r.term(), Some(0), "SIGTERM is a clean stop");
    // Everything printed is in the log, and the log is intact.
    let s = packbench::store::SqliteStore::open(dir.path().join("bench.db")).unwrap();
    let rec = packbench::audit::order_record(&s, ORDER1).unwrap().unwrap();
    assert_eq!(rec.lines[0].scanned, 1);
    assert_eq!(
        packbench::store::EventLog::verify(&s, None).unwrap().error,
        None
    );
    // Restarted, the station is where it was: the packer is signed in, the order open.
    let mut r = Running::start(dir.path());
    r.scan(ORDER1);
    let l = r.next("order_loaded");
    assert_eq!(l["repeat"], true, "{l}");
    assert_eq!(l["lines"][0]["scanned"], 1);
    assert_eq!(r.term(), Some(0));
}

#[test]
fn simulate_scale_and_scanner_for_people() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("scale");
    let mut scale = bin::command()
        .args([
            "simulate",
            "scale",
            "--protocol",
            "sma",
            "--unit",
            "kg",
            "--link",
        ])
        .arg(&link)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It says where it is, then waits for weights on stdin.
    let mut err = BufReader::new(scale.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(
        first.contains("sma scale on") && first.contains(link.to_str().unwrap()),
        "{first}"
    );
    writeln!(scale.stdin.as_mut().unwrap(), "250").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let grams = rt.block_on(async {
        use packbench_drivers::scale::{ScaleConfig, ScaleEvent, ScaleProtocol};
        use packbench_drivers::serial::{scale_link, LinkEvent, LinkOptions, SerialSettings};
        let (mut link, poller) = scale_link(
            SerialSettings::new(&link, 9600),
            &ScaleConfig::new(ScaleProtocol::Sma),
            LinkOptions::default(),
        );
        poller.set_awaiting(true);
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                // Readings of the empty platform may come before the typed weight is applied.
                if let Some(LinkEvent::Frame(ScaleEvent::Reading(r))) = link.recv().await {
                    if let Some(g) = r.weight_grams().filter(|g| *g != 0.0) {
                        return g;
                    }
                }
            }
        })
        .await
        .expect("a stable reading from the simulated scale")
    });
    assert_eq!(grams, 250.0);
    scale.kill().unwrap();
    scale.wait().unwrap();
}

/// Lines the fake player wrote, waiting up to 10 s for at least `n`.
fn played(log: &Path, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let lines: Vec<String> = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        if lines.len() >= n {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the player was not called {n} times");
}

#[test]
fn refusals_sound_an_alert_through_the_configured_player() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("played.txt");
    // The player is called with the sound file as its last argument ($1 here).
    let player = format!(
        "[sound]\npacked = true\ncommand = [\"sh\", \"-c\", \"echo \\\"$1\\\" >> '{}'\", \"player\"]\n",
        log.display()
    );
    setup(
        dir.path(),
        &format!("[[scanner]]\nport = \"stdin\"\n{player}"),
    );
    let mut r = Running::start(dir.path());
    r.scan(PACKER);
    r.next("packer_signed_in");
    r.scan(ORDER1_WAYBILL);
    r.next("order_loaded");
    r.scan(T_BLU_L);
    r.next("item_accepted");
    r.scan(LIP_R02);
    assert_eq!(r.next("scan_rejected")["reason"], "not_in_order");
    // Cues play in order, one at a time: had a good scan made a sound, it would come first.
    let lines = played(&log, 1);
    assert_eq!(lines.len(), 1, "one cue, for the refusal: {lines:?}");
    assert!(lines[0].contains("packbench-alert-"), "{lines:?}");
    let wav = std::fs::read(&lines[0]).unwrap();
    assert_eq!(&wav[..4], b"RIFF", "the player gets a WAV file");
    r.scan("0000000000000");
    r.next("scan_rejected");
    let lines = played(&log, 2);
    assert_eq!(lines[1], lines[0], "the same alert sound every time");
    assert_eq!(r.term(), Some(0));
}

/// An approval (badge, PIN) left without its reason lapses by the clock alone: the running
/// station logs `approval_lapsed` with no further input, and a late reason approves nothing.
#[test]
fn an_unfinished_approval_lapses_with_no_further_input() {
    let wait = Duration::from_secs(20);
    let rig = harness::Rig::new(1, 22, Duration::from_millis(50));
    let toml = rig.dir.path().join("station.toml");
    let mut cfg = std::fs::read_to_string(&toml).unwrap();
    // Long enough for the PIN's check (Argon2id) on a busy machine, short for a test.
    cfg.push_str("[security]\napproval_timeout_s = 3\n");
    std::fs::write(&toml, cfg).unwrap();
    let mut st = rig.spawn(bin::path());
    st.scan(PACKER);
    st.until(wait, |v| v["event"] == "packer_signed_in")
        .unwrap();
    let order = &rig.orders[0];
    let loaded = harness::open(&mut st, &order.order_no, wait);
    harness::scan_rest(&rig, &mut st, &loaded, wait);
    rig.place(order.expected_g + 500.0);
    let check = st
        .until(wait, |v| v["event"] == "weight_checked")
        .unwrap()
        .1;
    assert_eq!(check["ok"], false, "{check}");
    let badge = st.scan(SUPERVISOR);
    st.until(wait, |v| v["event"] == "pin_required").unwrap();
    st.scan(&format!("@pin {SUPERVISOR_PIN}"));
    st.until(wait, |v| v["event"] == "reason_required")
        .unwrap_or_else(|| panic!("no reason asked; seen {:#?}", st.seen));
    // Nothing more is sent: the lapse comes from the station's own timer.
    let (at, lapsed) = st
        .until(Duration::from_secs(15), |v| v["event"] == "approval_lapsed")
        .unwrap_or_else(|| panic!("no lapse; seen {:#?}", st.seen));
    // Timed from the badge, which the station stamps a moment after it was sent.
    assert!(
        at.duration_since(badge) >= Duration::from_millis(2900),
        "not before its time"
    );
    assert_eq!(lapsed["cause"], "timeout", "{lapsed}");
    assert_eq!(lapsed["supervisor_id"], "E005");
    assert_eq!(lapsed["order_no"], order.order_no.as_str());
    st.scan("PB-REASON-SCALE_DRIFT");
    let refused = st.until(wait, |v| v["event"] == "scan_rejected").unwrap().1;
    assert_eq!(refused["reason"], "not_allowed", "{refused}");
    let (code, seen) = st.term();
    assert_eq!(code, Some(0));
    assert!(
        !seen
            .iter()
            .any(|v| v["event"] == "override" || v["event"] == "order_packed"),
        "nothing was approved: {seen:#?}"
    );
}
