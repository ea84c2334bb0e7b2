//! Many benches on one real PostgreSQL, each a real headless station process with its own
//! SQLite file: one order pool, claims by name, counts across benches, the outbox shipped
//! exactly once, and the central log verified.

mod harness;
mod pg;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::*;
use packbench::central::{self, Central};
use packbench::store::{EventLog, ReferenceData, SqliteStore};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_packbench"))
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
        for (kind, file) in [
            ("catalog", fixtures().join("catalog.csv")),
            ("employees", fixtures().join("employees.csv")),
            ("packaging", fixtures().join("packaging.csv")),
            ("orders", orders_csv.to_path_buf()),
        ] {
            let out = pb(&[
                "import",
                kind,
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

#[test]
fn two_benches_share_one_pool_and_never_hold_one_order_together() {
    let floor = Floor::new();
    // Roles are the cluster's, shared by every test's database: names of this test's own.
    let rig_a = floor.bench("BENCH-A", 11, "finish");
    let rig_b = floor.bench("BENCH-B", 11, "finish");
    floor.import(&rig_a.orders_csv());
    let (o0, o1) = (rig_a.orders[0].clone(), rig_a.orders[1].clone());
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o0.order_no);
    copied(&rig_b, &o0.order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");

    // A opens o0: claimed first, then loaded.
    let loaded = open(&mut a, &o0.order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    let claimed = a
        .seen
        .iter()
        .find(|v| v["event"] == "order_claimed" && v["order_no"] == o0.order_no.as_str())
        .expect("order_claimed before order_loaded");
    assert!(claimed["claim_epoch"].as_i64().unwrap() >= 1, "{claimed}");

    // B is refused by name while A holds it.
    let refused = open(&mut b, &o0.order_no, WAIT);
    assert_eq!(refused["event"], "scan_rejected");
    assert_eq!(refused["reason"], "order_claimed_elsewhere", "{refused}");
    assert_eq!(refused["held_by"], "BENCH-A");
    assert_eq!(refused["held_by_packer"], "E003");
    assert!(!refused["since"].as_str().unwrap().is_empty());

    // Both pack.
    scan_rest(&rig_a, &mut a, &loaded, WAIT);
    rig_a.place(o0.expected_g);
    a.until(WAIT, |v| v["event"] == "order_packed")
        .expect("A packs o0");
    rig_a.place(0.0);
    pack(&rig_b, &mut b, &o1, WAIT);

    // Once A's log is central, o0 is packed for every bench.
    floor.drained("BENCH-A", &rig_a);
    let again = open(&mut b, &o0.order_no, WAIT);
    assert_eq!(again["reason"], "order_already_packed", "{again}");
    assert_eq!(again["held_by"], "BENCH-A", "{again}");

    floor.drained("BENCH-B", &rig_b);
    // The central record of each order names its bench; the whole log verifies.
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o0.order_no))
        .unwrap();
    let packed: Vec<_> = events.iter().filter(|e| e.kind == "order_packed").collect();
    assert_eq!(packed.len(), 1, "{events:#?}");
    assert_eq!(packed[0].station_id, "BENCH-A");
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o1.order_no))
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == "order_packed" && e.station_id == "BENCH-B"));
    let report = floor.rt.block_on(floor.central.verify(None)).unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.events > 20, "{report:?}");

    // Exactly once: the centre holds each bench's log event for event.
    floor.exactly_once("BENCH-A", &rig_a);
    floor.exactly_once("BENCH-B", &rig_b);
    let (code, _) = a.term();
    assert_eq!(code, Some(0));
    let (code, _) = b.term();
    assert_eq!(code, Some(0));

    // The same through the command line, as a supervisor would ask.
    let rec = pb(&[
        "audit",
        "order",
        &o0.order_no,
        "--json",
        "--central",
        &floor.db.url,
    ]);
    let rec: Value = serde_json::from_str(&rec).unwrap();
    assert_eq!(rec["status"], "packed", "{rec}");
    assert_eq!(rec["station_id"], "BENCH-A", "{rec}");
    assert_eq!(rec["packer_id"], "E003", "{rec}");
    let stations: std::collections::BTreeSet<&str> = rec["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["station_id"].as_str())
        .collect();
    assert!(stations.contains("BENCH-A"), "{stations:?}");
    let out = pb(&["central", "verify", "--url", &floor.db.url]);
    assert!(out.starts_with("central log intact"), "{out}");
    let status: Value = serde_json::from_str(&pb(&[
        "central",
        "status",
        "--json",
        "--url",
        &floor.db.url,
    ]))
    .unwrap();
    let names: Vec<&str> = status
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["station_id"].as_str())
        .collect();
    assert!(
        names.contains(&"BENCH-A") && names.contains(&"BENCH-B"),
        "{status}"
    );
}

/// Runs the binary with `stdin` as its standard input (a PIN it asks for, read as one line
/// when standard input is not a terminal).
fn run_with(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(bin())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A command that asks nothing may have exited already.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
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

#[test]
fn an_order_released_at_one_bench_opens_at_another_with_its_counts() {
    let floor = Floor::new();
    let rig_a = floor.bench("BENCH-C", 23, "finish");
    let rig_b = floor.bench("BENCH-D", 23, "finish");
    floor.import(&rig_a.orders_csv());
    // An order of at least two units.
    let o = rig_a
        .orders
        .iter()
        .find(|o| o.units() >= 2)
        .expect("a multi-unit order")
        .clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o.order_no);
    copied(&rig_b, &o.order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");
    let loaded = open(&mut a, &o.order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    // One unit at A, then A signs out with the order open: the claim ends.
    let first = &loaded["lines"][0];
    let sku = first["sku"].as_str().unwrap();
    let code = rig_a.barcode_of(sku);
    a.scan(&code);
    a.until(WAIT, |v| v["event"] == "item_accepted").unwrap();
    a.scan("PB-SIGNOUT");
    a.until(WAIT, |v| v["event"] == "packer_signed_out")
        .unwrap();
    floor.drained("BENCH-C", &rig_a);

    // B opens it with A's unit counted, and packs the rest.
    let at_b = pack(&rig_b, &mut b, &o, WAIT);
    let line = at_b["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == sku)
        .unwrap()
        .clone();
    assert_eq!(line["scanned"], 1, "A's unit counts at B: {at_b}");
    floor.drained("BENCH-D", &rig_b);
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o.order_no))
        .unwrap();
    let accepted: u64 = events
        .iter()
        .filter(|e| e.kind == "item_accepted")
        .map(|e| e.data.get("units").and_then(Value::as_u64).unwrap_or(1))
        .sum();
    assert_eq!(accepted as u32, o.units(), "{events:#?}");
    assert!(events
        .iter()
        .any(|e| e.kind == "order_packed" && e.station_id == "BENCH-D"));
    a.term();
    b.term();
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

#[test]
fn the_centre_down_mid_shift_and_back_loses_nothing() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let floor = Floor::on(&cluster);
    let rig = floor.bench("BENCH-E", 31, "finish");
    floor.import(&rig.orders_csv());
    let o = rig.orders.clone();
    let mut st = rig.spawn(bin());
    copied(&rig, &o[3].order_no);
    sign_in(&mut st, PACKER);
    pack(&rig, &mut st, &o[0], WAIT);
    let loaded = open(&mut st, &o[1].order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");

    // The server crashes mid-shift.
    let crash = st.seen.len();
    cluster.stop_immediate();
    // The bench finishes the order it holds: no scan waits on the network.
    scan_rest(&rig, &mut st, &loaded, WAIT);
    rig.place(o[1].expected_g);
    st.until(WAIT, |v| v["event"] == "order_packed")
        .expect("packed while the centre is down");
    rig.place(0.0);
    // It says the link is down, with what it owes.
    let down = link(&mut st, "disconnected", crash);
    assert!(
        down["detail"].as_str().unwrap().starts_with("backlog "),
        "{down}"
    );
    // `offline = "finish"`: no new order while the centre cannot say who holds it.
    let refused = open(&mut st, &o[2].order_no, WAIT);
    assert_eq!(refused["reason"], "central_unreachable", "{refused}");

    let back = st.seen.len();
    cluster.start_again();
    link(&mut st, "connected", back);
    floor.drained("BENCH-E", &rig);
    // Back: the order opens now, and everything is central exactly once.
    pack(&rig, &mut st, &o[2], WAIT);
    floor.drained("BENCH-E", &rig);
    floor.exactly_once("BENCH-E", &rig);
    let (code, _) = st.term();
    assert_eq!(code, Some(0));
}

#[test]
fn a_double_pack_across_a_partition_is_a_claim_conflict_never_a_merge() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let floor = Floor::on(&cluster);
    let proxy = floor.rt.block_on(pg::Proxy::start(cluster.socket_path()));
    // F reaches the centre through a link the test can stall; G directly.
    let rig_f = floor.bench_via("BENCH-F", 37, "open", Some(&proxy));
    let rig_g = floor.bench("BENCH-G", 37, "open");
    floor.import(&rig_f.orders_csv());
    let o0 = rig_f.orders[0].clone();
    let mut f = rig_f.spawn(bin());
    let mut g = rig_g.spawn(bin());
    copied(&rig_f, &o0.order_no);
    copied(&rig_g, &o0.order_no);
    sign_in(&mut f, PACKER);
    sign_in(&mut g, "BADGE-E004");
    link(&mut f, "connected", 0);

    // The network between F and the centre stalls: F may still open an order nobody held
    // when it last heard from the centre (offline = "open"), unclaimed.
    proxy.stall();
    let at_f = pack(&rig_f, &mut f, &o0, WAIT);
    assert_eq!(at_f["event"], "order_loaded");
    let claimed = f
        .seen
        .iter()
        .find(|v| v["event"] == "order_claimed")
        .expect("order_claimed")
        .clone();
    assert_eq!(claimed["offline"], true, "{claimed}");
    assert!(claimed["claim_epoch"].is_null(), "{claimed}");
    // G, with the centre, claims and packs the same order.
    pack(&rig_g, &mut g, &o0, WAIT);
    floor.drained("BENCH-G", &rig_g);

    // The link heals: F's backlog drains, and the double pack is a conflict for a
    // supervisor, naming both benches.
    proxy.heal();
    floor.drained("BENCH-F", &rig_f);
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o0.order_no))
        .unwrap();
    let conflict = events
        .iter()
        .find(|e| e.kind == "claim_conflict")
        .unwrap_or_else(|| panic!("no claim_conflict: {events:#?}"));
    assert_eq!(
        conflict.data["stations"],
        serde_json::json!(["BENCH-F", "BENCH-G"]),
        "{conflict:?}"
    );
    let packed: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "order_packed")
        .map(|e| e.station_id.as_str())
        .collect();
    assert_eq!(
        packed.len(),
        2,
        "both packs are kept as they happened: {packed:?}"
    );
    let alarms = floor.rt.block_on(floor.central.alarms(true)).unwrap();
    assert!(
        alarms.iter().any(|a| a.kind == "claim_conflict"),
        "{alarms:#?}"
    );
    floor.exactly_once("BENCH-F", &rig_f);
    floor.exactly_once("BENCH-G", &rig_g);
    f.term();
    g.term();
}

#[test]
fn killed_benches_and_a_crashed_server_lose_nothing_and_double_nothing() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let floor = Floor::on(&cluster);
    // The bench talks to the centre through a proxy that can slow it down, so that the test
    // can stop the server between two batches of a backlog, never too late.
    let proxy = floor.rt.block_on(pg::Proxy::start(cluster.socket_path()));
    let rig = floor.bench_via("BENCH-H", 41, "finish", Some(&proxy));
    floor.import(&rig.orders_csv());
    let o = rig.orders.clone();
    let mut st = rig.spawn(bin());
    copied(&rig, &o[5].order_no);
    sign_in(&mut st, PACKER);
    // SIGKILL right after a parcel is packed, while its events are being shipped.
    for order in &o[0..3] {
        pack(&rig, &mut st, order, WAIT);
        st.kill();
        st = rig.spawn(bin());
        // The restarted bench has its packer back; the centre has whatever arrived.
        sign_in(&mut st, PACKER);
    }
    // A backlog of more than one batch, then the server killed while it takes it in: after
    // a batch of it is central and before the last.
    floor.drained("BENCH-H", &rig);
    let pre = floor.head("BENCH-H");
    cluster.stop_immediate();
    make_backlog(&mut st, 400);
    let local = SqliteStore::open(rig.db())
        .unwrap()
        .head()
        .unwrap()
        .unwrap()
        .0;
    assert!(
        local > pre + 500,
        "more than one batch owed: {pre} central, {local} local"
    );
    // 200 ms on every chunk each way: a batch of 500 events takes seconds to go in.
    proxy.delay(Duration::from_millis(200));
    cluster.start_again();
    let end = Instant::now() + WAIT;
    let mut caught = None;
    // The test's own connection goes direct; its pool replaces what died with the server.
    let probe = Central::connect(&floor.db.url, None).unwrap();
    while Instant::now() < end && caught.is_none() {
        if let Ok((h, _)) = floor.rt.block_on(probe.head("BENCH-H")) {
            if h > pre && h < local {
                cluster.stop_immediate();
                caught = Some(h);
            } else if h >= local {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let caught = caught.expect("the server was killed while the backlog was going in");
    assert!(caught < local, "killed mid-ingest at {caught} of {local}");
    proxy.delay(Duration::ZERO);
    cluster.start_again();
    floor.drained("BENCH-H", &rig);
    floor.exactly_once("BENCH-H", &rig);
    pack(&rig, &mut st, &o[4], WAIT);
    floor.drained("BENCH-H", &rig);
    floor.exactly_once("BENCH-H", &rig);
    st.term();
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

#[test]
fn a_supervisor_frees_an_order_held_by_a_bench_that_is_gone() {
    let floor = Floor::new();
    let rig_a = floor.bench("BENCH-J", 43, "finish");
    let rig_b = floor.bench("BENCH-K", 43, "finish");
    floor.import(&rig_a.orders_csv());
    let o = rig_a.orders[0].clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o.order_no);
    copied(&rig_b, &o.order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");
    assert_eq!(open(&mut a, &o.order_no, WAIT)["event"], "order_loaded");
    // The bench dies holding the order.
    a.kill();
    assert_eq!(
        open(&mut b, &o.order_no, WAIT)["reason"],
        "order_claimed_elsewhere"
    );
    // A packer may not release it; a supervisor may, with a reason, on the record.
    let err = pb_fails(&[
        "central",
        "release",
        &o.order_no,
        "--by",
        "E003",
        "--reason",
        "bench dead",
        "--url",
        &floor.db.url,
    ]);
    assert!(err.contains("not a supervisor"), "{err}");
    // The supervisor's PIN is asked for and checked by the centre: a wrong one frees nothing.
    let release = [
        "central",
        "release",
        &o.order_no,
        "--by",
        "E005",
        "--reason",
        "bench J dead",
        "--url",
        &floor.db.url,
    ];
    let err = pb_fails_with(&release, "000000\n");
    assert!(
        err.contains("wrong PIN for E005: nothing was changed"),
        "{err}"
    );
    assert_eq!(
        open(&mut b, &o.order_no, WAIT)["reason"],
        "order_claimed_elsewhere"
    );
    let out = pb(&[
        "central",
        "release",
        &o.order_no,
        "--by",
        "E005",
        "--reason",
        "bench J dead",
        "--url",
        &floor.db.url,
    ]);
    assert!(out.contains("released from BENCH-J"), "{out}");
    pack(&rig_b, &mut b, &o, WAIT);
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o.order_no))
        .unwrap();
    let released = events
        .iter()
        .find(|e| e.kind == "claim_released")
        .unwrap_or_else(|| panic!("no claim_released: {events:#?}"));
    assert_eq!(released.data["by"], "E005");
    assert_eq!(released.data["reason"], "bench J dead");
    b.term();
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

#[test]
fn supervisors_see_the_whole_floor_review_search_and_report() {
    let floor = Floor::new();
    let url = floor.db.url.clone();
    let rig_a = floor.bench("BENCH-S1", 51, "finish");
    let rig_b = floor.bench("BENCH-S2", 51, "finish");
    floor.import(&rig_a.orders_csv());
    let o = rig_a.orders.clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o[3].order_no);
    copied(&rig_b, &o[3].order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");

    // Bench 1: one parcel as it should be; one with a wrong item stopped and a parcel
    // 500 g heavy, approved by a supervisor.
    pack(&rig_a, &mut a, &o[0], WAIT);
    let loaded = open(&mut a, &o[1].order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    let stranger = rig_a
        .items
        .iter()
        .enumerate()
        .find(|(i, _)| !o[1].lines.iter().any(|l| l.0 == *i))
        .map(|(_, it)| it.barcode.clone())
        .unwrap();
    a.scan(&stranger);
    let refused = a.until(WAIT, |v| v["event"] == "scan_rejected").unwrap().1;
    assert_eq!(refused["reason"], "not_in_order", "{refused}");
    scan_rest(&rig_a, &mut a, &loaded, WAIT);
    rig_a.place(o[1].expected_g + 500.0);
    let check = a.until(WAIT, |v| v["event"] == "weight_checked").unwrap().1;
    assert_eq!(check["ok"], false, "{check}");
    // The supervisor's badge, PIN and reason (the fixture's PIN of E005 is 555555).
    a.scan("BADGE-E005");
    a.until(WAIT, |v| v["event"] == "pin_required")
        .unwrap_or_else(|| panic!("no PIN asked; seen {:#?}", a.seen));
    a.scan("@pin 555555");
    a.until(WAIT, |v| v["event"] == "reason_required")
        .unwrap_or_else(|| panic!("no reason asked; seen {:#?}", a.seen));
    a.scan("PB-REASON-SCALE_DRIFT");
    a.until(WAIT, |v| v["event"] == "order_packed")
        .unwrap_or_else(|| panic!("no override; seen {:#?}", a.seen));
    rig_a.place(0.0);
    // Bench 2: one parcel.
    pack(&rig_b, &mut b, &o[2], WAIT);
    floor.drained("BENCH-S1", &rig_a);
    floor.drained("BENCH-S2", &rig_b);

    // The board: both benches, who is on them, what they did today, their devices.
    let board = pb_json(&["audit", "board", "--central", &url, "--json"]);
    let rows = board.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{board:#}");
    let s1 = rows.iter().find(|r| r["station_id"] == "BENCH-S1").unwrap();
    let s2 = rows.iter().find(|r| r["station_id"] == "BENCH-S2").unwrap();
    assert_eq!(s1["orders_today"], 2, "{s1:#}");
    assert_eq!(
        s1["units_today"].as_u64().unwrap(),
        (o[0].units() + o[1].units()) as u64
    );
    assert_eq!(s2["orders_today"], 1, "{s2:#}");
    assert_eq!(s2["units_today"].as_u64().unwrap(), o[2].units() as u64);
    assert_eq!(s1["online"], true);
    assert_eq!(s1["packer_id"], "E003");
    assert_eq!(s1["packer_name"], "张伟");
    assert_eq!(s2["packer_id"], "E004");
    assert_eq!(s1["last_refusal"]["reason"], "not_in_order", "{s1:#}");
    assert!(s2["last_refusal"].is_null(), "{s2:#}");
    let devices: Vec<&str> = s1["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[0].as_str().unwrap())
        .collect();
    assert!(devices.contains(&"scale"), "{devices:?}");
    assert!(devices.contains(&"central"), "{devices:?}");
    let table = pb(&["audit", "board", "--central", &url]);
    assert!(
        table.contains("BENCH-S1") && table.contains("张伟"),
        "{table}"
    );

    // The review queue: the mismatch and the override of bench 1, nothing of bench 2.
    let queue = pb_json(&["audit", "review", "--central", &url, "--json"]);
    let items = queue.as_array().unwrap();
    let mismatch = items
        .iter()
        .find(|i| i["kind"] == "weight_mismatch")
        .unwrap_or_else(|| panic!("{queue:#}"));
    assert_eq!(mismatch["station_id"], "BENCH-S1");
    assert_eq!(mismatch["order_no"], o[1].order_no.as_str());
    let ov = items.iter().find(|i| i["kind"] == "override").unwrap();
    let detail = ov["detail"].as_str().unwrap();
    assert!(
        detail.contains("E005") && detail.contains("scale_drift"),
        "{ov}"
    );
    assert!(
        items.iter().all(|i| i["station_id"] != "BENCH-S2"),
        "{queue:#}"
    );
    let id = mismatch["id"].as_str().unwrap().to_string();
    // A packer may not mark it; a supervisor may, once, with a note.
    let err = pb_fails(&[
        "audit",
        "review",
        &id,
        "--note",
        "ok",
        "--by",
        "E003",
        "--central",
        &url,
    ]);
    assert!(err.contains("not a supervisor"), "{err}");
    let note = "=HYPERLINK(\"http://x\") 秤已校准";
    let wrong = pb_fails_with(
        &[
            "audit",
            "review",
            &id,
            "--note",
            note,
            "--by",
            "E005",
            "--central",
            &url,
        ],
        "123456\n",
    );
    assert!(wrong.contains("wrong PIN for E005"), "{wrong}");
    let said = pb(&[
        "audit",
        "review",
        &id,
        "--note",
        note,
        "--by",
        "E005",
        "--central",
        &url,
    ]);
    assert!(said.contains("reviewed by E005"), "{said}");
    let again = pb_fails(&[
        "audit",
        "review",
        &id,
        "--note",
        "again",
        "--by",
        "E006",
        "--central",
        &url,
    ]);
    assert!(again.contains("already reviewed by E005"), "{again}");
    let queue = pb_json(&["audit", "review", "--central", &url, "--json"]);
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != id.as_str()),
        "{queue:#}"
    );
    let all = pb_json(&["audit", "review", "--all", "--central", &url, "--json"]);
    let done = all
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    assert_eq!(done["reviewed_by"], "E005");
    assert_eq!(done["note"], note);
    // The review is an event of the centre's chain, and the chain still verifies.
    let central_events = floor
        .rt
        .block_on(floor.central.events(&packbench::store::EventFilter {
            station_id: Some("central".into()),
            ..Default::default()
        }))
        .unwrap();
    let reviewed = central_events
        .iter()
        .find(|e| e.kind == "reviewed")
        .unwrap();
    assert_eq!(reviewed.actor.as_deref(), Some("E005"));
    assert_eq!(reviewed.data["item"], id.as_str());
    let report = floor.rt.block_on(floor.central.verify(None)).unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    // As CSV the note is text, not a formula; the Chinese text is intact.
    let csv = pb(&[
        "audit",
        "review",
        "--all",
        "--central",
        &url,
        "--format",
        "csv",
    ]);
    assert!(csv.starts_with('\u{feff}'), "no BOM");
    assert!(
        csv.contains("'=HYPERLINK(\"\"http://x\"\") 秤已校准"),
        "{csv}"
    );

    // Search by a part of a waybill finds the order, where it was packed.
    let waybill = format!("WB{}", &o[2].order_no[4..]);
    let part = &waybill[3..waybill.len() - 1];
    let hits = pb_json(&["audit", "search", part, "--central", &url, "--json"]);
    let hit = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "order" && h["key"] == o[2].order_no.as_str())
        .unwrap_or_else(|| panic!("{part}: {hits:#}"));
    assert_eq!(hit["station_id"], "BENCH-S2");
    assert_eq!(hit["state"], "packed");
    // By the start of an order number from two characters on, in order; two characters from
    // the middle of one are too few to match anywhere.
    let start = &o[0].order_no[..2];
    let by_start = pb_json(&["audit", "search", start, "--central", &url, "--json"]);
    let keys: Vec<&str> = by_start
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "order")
        .map(|h| h["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&o[0].order_no.as_str()), "{by_start:#}");
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    let inner = &o[0].order_no[o[0].order_no.len() - 3..o[0].order_no.len() - 1];
    let none = pb_json(&["audit", "search", inner, "--central", &url, "--json"]);
    assert!(
        none.as_array()
            .unwrap()
            .iter()
            .all(|h| h["kind"] != "order" || h["key"].as_str().unwrap().starts_with(inner)),
        "{inner}: {none:#}"
    );
    let by_name = pb_json(&["audit", "search", "刘洋", "--central", &url, "--json"]);
    assert_eq!(by_name[0]["kind"], "employee", "{by_name:#}");
    assert_eq!(by_name[0]["key"], "E005");
    // The order's timeline across benches opens from the hit.
    let timeline = pb_json(&[
        "audit",
        "order",
        &o[2].order_no,
        "--central",
        &url,
        "--json",
    ]);
    assert!(timeline.to_string().contains("BENCH-S2"), "{timeline:#}");

    // Today's report, per bench and per packer.
    let rep = pb_json(&["audit", "report", "--central", &url, "--json"]);
    let bench = |s: &str| {
        rep["per_bench"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == s)
            .cloned()
            .unwrap_or_else(|| panic!("{s}: {rep:#}"))
    };
    let r1 = bench("BENCH-S1");
    assert_eq!(r1["orders"], 2, "{r1}");
    assert_eq!(r1["wrong_items_caught"], 1, "{r1}");
    assert_eq!(r1["mismatches"], 1, "{r1}");
    assert_eq!(r1["overrides"], 1, "{r1}");
    assert_eq!(bench("BENCH-S2")["orders"], 1);
    let p = rep["per_packer"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "E003")
        .unwrap();
    assert_eq!(p["orders"], 2, "{p}");
    assert_eq!(p["name"], "张伟");
    // The same as .xlsx, read back by an independent reader.
    let xlsx = rig_a.dir.path().join("report.xlsx");
    pb(&[
        "audit",
        "report",
        "--central",
        &url,
        "--format",
        "xlsx",
        "--out",
        xlsx.to_str().unwrap(),
    ]);
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(book.sheet_names(), vec!["per packer", "per bench"]);
    let sheet = book.worksheet_range("per packer").unwrap();
    let cells: Vec<String> = sheet.cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(cells.iter().any(|c| c == "张伟"), "{cells:?}");
    assert!(cells.iter().any(|c| c == "E003"), "{cells:?}");
    a.term();
    b.term();
}

/// A returns desk is usually not the bench that packed the parcel: with a centre, the return
/// opens against the pack record another bench shipped there, and counts against it.
#[test]
fn a_return_at_another_bench_is_checked_against_the_centres_pack_record() {
    let floor = Floor::new();
    let rig_a = floor.bench("BENCH-PACK", 61, "finish");
    let rig_b = floor.bench("BENCH-RET", 61, "finish");
    floor.import(&rig_a.orders_csv());
    let o = rig_a
        .orders
        .iter()
        .find(|o| o.lines.iter().any(|l| l.1 >= 2))
        .expect("an order with two units of one line")
        .clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o.order_no);
    copied(&rig_b, &o.order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");
    // Before it is packed anywhere, the returns desk refuses it.
    b.scan("PB-RETURNS");
    b.until(WAIT, |v| v["event"] == "returns_started")
        .unwrap_or_else(|| panic!("no returns mode; seen {:#?}", b.seen));
    b.scan(&o.order_no);
    let early = b
        .until(WAIT, |v| {
            v["event"] == "scan_rejected" || v["event"] == "return_opened"
        })
        .unwrap()
        .1;
    assert_eq!(early["reason"], "not_shipped", "{early}");

    pack(&rig_a, &mut a, &o, WAIT);
    floor.drained("BENCH-PACK", &rig_a);
    // By its waybill, as the parcel comes back.
    let waybill = format!("WB{}", &o.order_no[4..]);
    b.scan(&waybill);
    let opened = b
        .until(WAIT, |v| {
            (v["event"] == "scan_rejected" && v["reason"] == "not_shipped")
                || v["event"] == "return_opened"
        })
        .unwrap()
        .1;
    assert_eq!(opened["event"], "return_opened", "{opened}");
    assert_eq!(opened["packed_station"], "BENCH-PACK", "{opened}");
    assert_eq!(opened["packer_id"], "E003", "{opened}");
    // Every unit that was packed may come back, and not one more, across a restart of the
    // returns bench in the middle of the return.
    let (item, qty) = *o.lines.iter().find(|l| l.1 >= 2).unwrap();
    let code = rig_a.items[item].barcode.clone();
    for i in 0..qty {
        if i == 1 {
            b.term();
            b = rig_b.spawn(bin());
        }
        b.scan(&code);
        let got = b
            .until(WAIT, |v| {
                v["event"] == "return_item" || v["event"] == "scan_rejected"
            })
            .unwrap_or_else(|| panic!("no answer; seen {:#?}", b.seen))
            .1;
        assert_eq!(got["event"], "return_item", "unit {}: {got}", i + 1);
    }
    b.scan(&code);
    let over = b.until(WAIT, |v| v["event"] == "scan_rejected").unwrap().1;
    assert_eq!(over["reason"], "over_quantity", "{over}");
    b.scan("PB-RET-REASON-CHANGED_MIND");
    b.scan("PB-RETURN-CLOSE");
    b.until(WAIT, |v| v["event"] == "return_closed")
        .unwrap_or_else(|| panic!("not closed; seen {:#?}", b.seen));
    floor.drained("BENCH-RET", &rig_b);
    // Another parcel of that order at the bench that packed it: the units already checked
    // in at the returns bench count (its log alone does not know them).
    a.scan("PB-RETURNS");
    a.until(WAIT, |v| v["event"] == "returns_started").unwrap();
    a.scan(&o.order_no);
    let again = a.until(WAIT, |v| v["event"] == "return_opened").unwrap().1;
    assert_eq!(again["return_id"], format!("{}-R2", o.order_no), "{again}");
    a.scan(&code);
    let over = a
        .until(WAIT, |v| {
            v["event"] == "return_item" || v["event"] == "scan_rejected"
        })
        .unwrap()
        .1;
    assert_eq!(over["reason"], "over_quantity", "{over}");
    a.term();
    b.term();
}

#[test]
fn a_bench_whose_log_holds_another_stations_events_is_refused_by_name_not_a_gap() {
    let floor = Floor::new();
    let rig = floor.bench("BENCH-NEW", 71, "finish");
    floor.import(&rig.orders_csv());
    // The bench's database was used before under another station id (a local import).
    {
        let mut store = SqliteStore::open(rig.db()).unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T08:00:00+08:00").unwrap();
        packbench::import::import_file(
            &mut store,
            packbench::import::Kind::Catalog,
            &fixtures().join("catalog.csv"),
            &Default::default(),
            "BENCH-OLD",
            at,
            &mut |_| {},
        )
        .unwrap();
    }
    let mut st = rig.spawn(bin());
    let err = link(&mut st, "error", 0);
    let detail = err["detail"].as_str().unwrap();
    assert!(
        detail.contains("BENCH-OLD") && detail.contains("new database file"),
        "{detail}"
    );
    // It works on, and the centre has nothing of it: no gap, no alarm.
    copied(&rig, &rig.orders[0].order_no);
    sign_in(&mut st, PACKER);
    assert_eq!(floor.head("BENCH-NEW"), 0);
    let alarms = floor.rt.block_on(floor.central.alarms(false)).unwrap();
    assert!(alarms.is_empty(), "{alarms:?}");
    st.term();
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

#[test]
fn a_benchs_pins_are_checked_by_the_centre_and_offline_by_the_copy_it_kept() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let floor = Floor::on(&cluster);
    let proxy = floor.rt.block_on(pg::Proxy::start(cluster.socket_path()));
    let rig_a = floor.bench_via("BENCH-PA", 81, "finish", Some(&proxy));
    let rig_b = floor.bench("BENCH-PB", 81, "finish");
    floor.import(&rig_a.orders_csv());
    let o = rig_a.orders.clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o[0].order_no);
    copied(&rig_b, &o[0].order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");
    link(&mut a, "connected", 0);
    let centre = |sql: &str| -> i64 {
        floor.rt.block_on(async {
            pg::connect(&floor.db.url)
                .await
                .query_one(sql, &[])
                .await
                .unwrap()
                .get(0)
        })
    };
    let failures = "SELECT coalesce((SELECT failures::bigint FROM pin_failures WHERE employee_id = 'E005'), 0)";
    // No bench holds E005's PIN hash: the centre never sends it.
    let copy_of = |rig: &Rig| -> Option<String> {
        SqliteStore::open(rig.db())
            .unwrap()
            .employee("E005")
            .unwrap()
            .and_then(|e| e.pin_hash.map(|h| h.as_str().to_string()))
    };
    assert_eq!(copy_of(&rig_a), None);

    // Two wrong PINs at A and three at B: counted by the centre, the fifth locks the badge.
    up_to_the_pin(&rig_a, &mut a, &o[0]);
    for n in 1..=2 {
        assert_eq!(typed(&mut a, "000000")["event"], "pin_failed");
        assert_eq!(centre(failures), n);
    }
    up_to_the_pin(&rig_b, &mut b, &o[1]);
    for _ in 0..3 {
        assert_eq!(typed(&mut b, "000000")["event"], "pin_failed");
    }
    assert_eq!(
        centre(
            "SELECT count(*) FROM pin_failures WHERE employee_id = 'E005' AND locked_until > now()"
        ),
        1
    );
    assert_eq!(
        centre("SELECT count(*) FROM alarms WHERE kind = 'badge_locked'"),
        1
    );
    // B heard the lock from the centre: the badge is refused there now, as after five
    // wrong PINs at B alone.
    b.scan("BADGE-E005");
    let refused = b
        .until(WAIT, |v| v["event"] == "scan_rejected")
        .unwrap_or_else(|| panic!("badge not refused; seen {:#?}", b.seen))
        .1;
    assert_eq!(refused["reason"], "badge_locked", "{refused}");
    // Locked at the centre: the right PIN at A does not pass either.
    assert_eq!(typed(&mut a, SUPERVISOR_PIN)["event"], "pin_failed");
    assert_eq!(copy_of(&rig_a), None);

    // The lock over, the right PIN at A approves, and A keeps its hash for offline.
    floor.rt.block_on(pg::exec(
        &floor.db.url,
        "UPDATE pin_failures SET locked_until = now() - interval '1 second'",
    ));
    assert_eq!(typed(&mut a, SUPERVISOR_PIN)["event"], "reason_required");
    a.scan("PB-REASON-SCALE_DRIFT");
    a.until(WAIT, |v| v["event"] == "order_packed")
        .unwrap_or_else(|| panic!("no override; seen {:#?}", a.seen));
    rig_a.place(0.0);
    let kept = copy_of(&rig_a).expect("A keeps the hash of the PIN the centre accepted");
    assert!(
        kept.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
        "{kept}"
    );
    assert_eq!(centre(failures), 0, "the right PIN clears the count");

    // The centre out of reach (A was holding o[2]'s claim before): A's copy decides.
    let loaded = open(&mut a, &o[2].order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    proxy.stall();
    scan_rest(&rig_a, &mut a, &loaded, WAIT);
    rig_a.place(o[2].expected_g + 500.0);
    let check = a.until(WAIT, |v| v["event"] == "weight_checked").unwrap().1;
    assert_eq!(check["ok"], false, "{check}");
    // E006's PIN was never accepted here: offline it cannot be checked, and that is said as
    // such (not counted as a wrong PIN).
    a.scan("BADGE-E006");
    a.until(WAIT, |v| v["event"] == "pin_required").unwrap();
    a.scan("@pin 666666");
    let refused = a
        .until(WAIT, |v| {
            v["event"] == "scan_rejected"
                || v["event"] == "pin_failed"
                || v["event"] == "reason_required"
        })
        .unwrap()
        .1;
    assert_eq!(refused["reason"], "central_unreachable", "{refused}");
    assert_eq!(refused["employee_id"], "E006", "{refused}");
    a.scan("BADGE-E005");
    a.until(WAIT, |v| v["event"] == "pin_required").unwrap();
    assert_eq!(typed(&mut a, "000000")["event"], "pin_failed");
    assert_eq!(typed(&mut a, SUPERVISOR_PIN)["event"], "reason_required");
    a.scan("PB-REASON-SCALE_DRIFT");
    a.until(WAIT, |v| v["event"] == "order_packed")
        .unwrap_or_else(|| panic!("no override offline; seen {:#?}", a.seen));
    proxy.heal();
    floor.drained("BENCH-PA", &rig_a);
}
