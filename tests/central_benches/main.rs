//! Many benches on one real PostgreSQL, each a real headless station process with its own
//! SQLite file: one order pool, claims by name, counts across benches, the outbox shipped
//! exactly once, and the central log verified.

#[path = "../common/bin.rs"]
mod bin;
#[path = "../harness/mod.rs"]
mod harness;
#[path = "../pg/mod.rs"]
mod pg;

mod desk;
mod supervise;
mod sync;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::*;
use packbench::central::{self, Central};
use packbench::store::{EventLog, ReferenceData, SqliteStore};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

fn bin() -> &'static Path {
    bin::path()
}

/// One warehouse: a fresh central database, its benches' roles, master data imported once.
struct Floor {
    rt: tokio::runtime::Runtime,
    db: pg::TestDb,
    central: Central,
}

impl Floor {
    /// On the test binary's shared cluster.
    fn new() -> Floor {
        Floor::on(pg::shared())
    }

    /// On a cluster of the test's own (one it may crash).
    fn on(cluster: &pg::Cluster) -> Floor {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let db = rt.block_on(cluster.fresh_db());
        let central = Central::connect(&db.url, None).unwrap();
        Floor { rt, db, central }
    }

    /// A bench role and a rig whose station uses it.
    fn bench(&self, station: &str, seed: u64, offline: &str) -> Rig {
        self.bench_via(station, seed, offline, None)
    }

    /// The same, its link to the centre through `proxy`.
    fn bench_via(&self, station: &str, seed: u64, offline: &str, proxy: Option<&pg::Proxy>) -> Rig {
        let added = self
            .rt
            .block_on(central::add_bench(&self.db.url, None, station))
            .unwrap();
        let url = match proxy {
            Some(p) => p.url(&added.role, &added.password, &self.db.name),
            None => added.url,
        };
        Rig::with(
            8,
            seed,
            Duration::from_millis(50),
            Setup::Central {
                station_id: station,
                url: &url,
                offline,
                claim_timeout_ms: 1000,
            },
        )
    }

    /// Every event of the bench's own log is central exactly once, hash for hash, and the
    /// whole central log verifies.
    fn exactly_once(&self, station: &str, rig: &Rig) {
        // The link logs its own state changes (`device central`), so the bench may append
        // an event just after the centre caught up: a centre holding a prefix of the bench's
        // log is waited for; anything else fails at once.
        let end = Instant::now() + WAIT;
        loop {
            let local = SqliteStore::open(rig.db())
                .unwrap()
                .events(&Default::default())
                .unwrap();
            let want: Vec<Value> = local
                .iter()
                .filter(|e| e.station_id == station)
                .map(|e| serde_json::json!([e.seq, e.hash]))
                .collect();
            let central: Vec<Value> = self
                .rt
                .block_on(self.central.events(&packbench::store::EventFilter {
                    station_id: Some(station.into()),
                    ..Default::default()
                }))
                .unwrap()
                .into_iter()
                .map(|e| serde_json::json!([e.seq, e.hash]))
                .collect();
            let behind = central.len() < want.len() && want.starts_with(&central);
            if !behind || Instant::now() >= end {
                assert_eq!(central, want, "{station}");
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let report = self.rt.block_on(self.central.verify(None)).unwrap();
        assert!(report.error.is_none(), "{:?}", report.error);
    }

    /// The fixtures' catalog, staff and packaging, and the rig's generated orders, imported
    /// once for every bench the way an operator does it (`packbench import KIND FILE
    /// --central URL`).
    fn import(&self, orders_csv: &Path) {
        for (kind, file) in data_set(Some(orders_csv)) {
            let out = pb(&[
                "import",
                kind.name(),
                file.to_str().unwrap(),
                "--central",
                &self.db.url,
            ]);
            assert!(out.contains("added"), "{out}");
        }
    }

    /// The centre's head for a station.
    fn head(&self, station: &str) -> i64 {
        self.rt.block_on(self.central.head(station)).unwrap().0
    }

    /// Waits until everything the bench logged is central.
    fn drained(&self, station: &str, rig: &Rig) {
        let end = Instant::now() + WAIT;
        loop {
            let local = SqliteStore::open(rig.db())
                .unwrap()
                .head()
                .unwrap()
                .map(|h| h.0)
                .unwrap_or(0);
            if local > 0 && self.head(station) == local {
                return;
            }
            if Instant::now() >= end {
                // The bench's own account of its link says why.
                let log = rig.stderr_text();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                panic!(
                    "{station}: {local} events local, {} central; the bench's log ends:\n{}",
                    self.head(station),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Waits until a bench's local copy holds an order (master data follows the centre).
fn copied(rig: &Rig, order_no: &str) {
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        if let Ok(s) = SqliteStore::open(rig.db()) {
            if s.find_order(order_no).ok().flatten().is_some() {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{order_no} never reached {}", rig.db().display());
}

fn sign_in(st: &mut Station, badge: &str) {
    st.scan(badge);
    st.until(WAIT, |v| v["event"] == "packer_signed_in")
        .unwrap_or_else(|| panic!("{badge} not signed in; seen {:#?}", st.seen));
}

/// Runs the binary with `stdin` as its standard input (a PIN it asks for, read as one line
/// when standard input is not a terminal).
fn run_with(args: &[&str], stdin: &str) -> std::process::Output {
    bin::Pb::new().args(args).stdin(stdin.as_bytes()).output()
}

/// Runs the binary (the supervisor's PIN on standard input); its stdout when it succeeded.
fn pb(args: &[&str]) -> String {
    let out = run_with(args, &format!("{SUPERVISOR_PIN}\n"));
    assert!(
        out.status.success(),
        "packbench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The first `device` line for the central link in `state` among the lines from `from` on
/// (already read, or still to come).
fn link(st: &mut Station, state: &str, from: usize) -> Value {
    let is = |v: &Value| v["event"] == "device" && v["device"] == "central" && v["state"] == state;
    if let Some(v) = st.seen.iter().skip(from).find(|v| is(v)) {
        return v.clone();
    }
    st.until(WAIT, is)
        .unwrap_or_else(|| panic!("no central {state}; seen {:#?}", st.seen))
        .1
}

/// Events while the centre is down (sign-outs and sign-ins, two per round): a backlog.
fn make_backlog(st: &mut Station, rounds: usize) {
    for _ in 0..rounds {
        st.scan("PB-SIGNOUT");
        st.until(WAIT, |v| v["event"] == "packer_signed_out")
            .unwrap();
        sign_in(st, PACKER);
    }
}

/// Runs the CLI expecting a refusal: its stderr.
fn pb_fails(args: &[&str]) -> String {
    pb_fails_with(args, &format!("{SUPERVISOR_PIN}\n"))
}

/// The same with `stdin` as the PIN typed.
fn pb_fails_with(args: &[&str], stdin: &str) -> String {
    let out = run_with(args, stdin);
    assert!(!out.status.success(), "packbench {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses a `--json` output of the CLI.
fn pb_json(args: &[&str]) -> Value {
    serde_json::from_str(&pb(args)).unwrap_or_else(|e| panic!("packbench {args:?}: {e}"))
}

/// Order `o` opened, scanned complete and weighed 500 g heavy; E005's badge scanned for the
/// approval: the PIN pad is up.
fn up_to_the_pin(rig: &Rig, st: &mut Station, o: &GenOrder) {
    let loaded = open(st, &o.order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    scan_rest(rig, st, &loaded, WAIT);
    rig.place(o.expected_g + 500.0);
    let check = st
        .until(WAIT, |v| v["event"] == "weight_checked")
        .unwrap()
        .1;
    assert_eq!(check["ok"], false, "{check}");
    st.scan("BADGE-E005");
    st.until(WAIT, |v| v["event"] == "pin_required")
        .unwrap_or_else(|| panic!("no PIN asked; seen {:#?}", st.seen));
}

/// A PIN typed at the bench: the next `pin_failed` or `reason_required`.
fn typed(st: &mut Station, pin: &str) -> Value {
    st.scan(&format!("@pin {pin}"));
    st.until(WAIT, |v| {
        v["event"] == "pin_failed" || v["event"] == "reason_required"
    })
    .unwrap_or_else(|| panic!("no answer to the PIN; seen {:#?}", st.seen))
    .1
}
