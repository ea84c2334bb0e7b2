//! Many benches on one real PostgreSQL, each a real headless station process with its own
//! SQLite file: one order pool, claims by name, counts across benches, the outbox shipped
//! exactly once, and the central log verified.

mod harness;
mod pg;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use harness::*;
use packbench::central::{self, Central};
use packbench::import::Kind;
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
    fn new() -> Floor {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let db = rt.block_on(pg::fresh_db());
        let central = Central::connect(&db.url, None).unwrap();
        Floor { rt, db, central }
    }

    /// A bench role and a rig whose station uses it.
    fn bench(&self, station: &str, seed: u64, offline: &str) -> Rig {
        let added = self
            .rt
            .block_on(central::add_bench(&self.db.url, None, station))
            .unwrap();
        Rig::with(
            8,
            seed,
            Duration::from_millis(50),
            Setup::Central {
                station_id: station,
                url: &added.url,
                offline,
                claim_timeout_ms: 2000,
            },
        )
    }

    /// The fixtures' catalog, staff and packaging, and the rig's generated orders.
    fn import(&self, orders_csv: &Path) {
        let at = chrono::FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
            .unwrap();
        for (kind, file) in [
            (Kind::Catalog, fixtures().join("catalog.csv")),
            (Kind::Employees, fixtures().join("employees.csv")),
            (Kind::Packaging, fixtures().join("packaging.csv")),
            (Kind::Orders, orders_csv.to_path_buf()),
        ] {
            self.rt
                .block_on(central::import_file(
                    &self.central,
                    kind,
                    &file,
                    at,
                    &mut |_| {},
                ))
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
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
            assert!(
                Instant::now() < end,
                "{station}: {local} events local, {} central",
                self.head(station)
            );
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
    for (station, rig) in [("BENCH-A", &rig_a), ("BENCH-B", &rig_b)] {
        let local = SqliteStore::open(rig.db())
            .unwrap()
            .events(&Default::default())
            .unwrap();
        let mine: Vec<_> = local.iter().filter(|e| e.station_id == station).collect();
        let central: Vec<Value> = floor
            .rt
            .block_on(floor.central.events(&packbench::store::EventFilter {
                station_id: Some(station.into()),
                ..Default::default()
            }))
            .unwrap()
            .into_iter()
            .map(|e| serde_json::json!([e.seq, e.hash]))
            .collect();
        let want: Vec<Value> = mine
            .iter()
            .map(|e| serde_json::json!([e.seq, e.hash]))
            .collect();
        assert_eq!(central, want, "{station}");
    }
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

/// Runs the binary; its stdout when it succeeded.
fn pb(args: &[&str]) -> String {
    let out = std::process::Command::new(bin())
        .args(args)
        .output()
        .unwrap();
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
    let code = rig_a
        .items
        .iter()
        .find(|i| i.sku == sku)
        .unwrap()
        .barcode
        .clone();
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
