//! The returns check-in (退货签收) driven as a scan sequence: a bench over an SQLite store
//! (on /dev/shm) with the fixtures imported, two orders packed (ORDER1: T-BLU-L ×1 +
//! SOCK-BLK ×2; TB20261122007: LATIAO-106 ×12, also by its case code), returns mode on; then
//! the fuzzer's sequence of inputs through `Bench::scan` / `weight` / `command` / keypad lines.
//!
//! Input: one op a byte. The byte picks a code from a fixed list (parcels by order number
//! and waybill, the orders' items by every code form, GS1 and case codes, a misread EAN,
//! foreign and unknown items, other badges, every returns command and condition and buyer's
//! reason, undo, hold, sign-out, returns on/off, case and padding variants), or a weight
//! (two more bytes), a restart (the bench is dropped and opened again on the same file), a
//! free-text scan or a keypad line (a length byte, then that many bytes).
//!
//! Properties: no panic and no `BenchError` (a refusal is an event, never an error). Every
//! event written reads as its type; every refusal is a `scan_rejected` with a typed reason.
//! The open return never holds more of the order's units, in all or per SKU, than were
//! packed less earlier returns. Over the whole log (`returns::fold`), for each order the
//! units returned over all its returns, per SKU, never exceed the units packed, a unit
//! counted for the order is one of its SKUs, a foreign unit never is, and every
//! `return_closed` summary matches its return (units, foreign units, returned ≤ packed). A
//! restart keeps returns mode and the open return (its id, units and reason).
#![no_main]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Duration, FixedOffset, TimeZone};
use libfuzzer_sys::fuzz_target;
use packbench::domain::event::{EventType, ScanRejected, StoredEvent};
use packbench::domain::returns::fold;
use packbench::domain::session::EngineConfig;
use packbench::import::import_data_set;
use packbench::station::devices::keypad_line;
use packbench::station::runtime::Msg;
use packbench::station::Bench;
use packbench::store::{EventFilter, EventLog, ReferenceData, SqliteStore};

const ORDER1: &str = "TB20261122001";
const CASE_ORDER: &str = "TB20261122007";

/// The scan codes an op byte picks from (the rest of the byte space: weight, restart, free
/// text, keypad line).
const CODES: &[&str] = &[
    ORDER1,
    "SF1498369006026", // ORDER1's waybill
    CASE_ORDER,
    "6975432100137",  // T-BLU-L
    "6975432002134",  // T-BLU-L, older EAN
    "6975432201018",  // SOCK-BLK
    "6924187710603",  // LATIAO-106, one unit
    "16924187710600", // LATIAO-106, case of 12
    "]C10106975432100137\u{1d}10LOT42\u{1d}21SER7",
    "(02)16924187710600(37)2",
    "(02)06924187710603(37)5",
    "6975432100138", // misread check digit
    "6921568310025", // LIP-R02: in the catalog, not in these orders
    "ZZZ-NOT-A-THING",
    "TB20261122002", // never packed
    "TB20261122005", // cancelled
    "BADGE-E003",    // the packer
    "BADGE-E004",    // another packer
    "BADGE-E007",    // a picker only
    "PB-UNDO",
    "PB-RETURNS",
    "PB-RETURNS-END",
    "PB-RETURN-CLOSE",
    "PB-COND-OK",
    "PB-COND-DAMAGED",
    "PB-COND-USED",
    "PB-COND-WRONG-VARIANT",
    "PB-RET-REASON-SIZE",
    "PB-RET-REASON-QUALITY",
    "PB-RET-REASON-NOT_AS_DESCRIBED",
    "PB-RET-REASON-WRONG_ITEM_SENT",
    "PB-RET-REASON-MISSING_ITEM",
    "PB-RET-REASON-CHANGED_MIND",
    "PB-RET-REASON-DAMAGED_IN_TRANSIT",
    "PB-RET-REASON-OTHER",
    " pb-cond-damaged\r",
    "pb-return-close",
    "PB-SIGNOUT",
    "PB-HOLD",
    "PB-REPRINT",
    "PB-DISPATCH",
    "PB-DISPATCH-END",
    "PB-REASON-RECOUNTED_OK",
    "",
];

fn t(secs: i64) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .unwrap()
        + Duration::seconds(secs)
}

fn cfg() -> EngineConfig {
    EngineConfig {
        station_id: "BENCH-F".into(),
        ..EngineConfig::default()
    }
}

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("packbench-fuzz-returns-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("work dir");
        d
    })
}

fn remove_db(p: &Path) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", p.display()));
    }
}

/// The store file with the fixtures imported, both orders packed and returns mode on: built
/// once per process, copied for every input.
fn template() -> &'static PathBuf {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let p = dir().join("template.db");
        remove_db(&p);
        let mut store = SqliteStore::open(&p).expect("template store");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        import_data_set(&mut store, &fixtures, "FUZZ", t(0)).expect("fixtures");
        let mut b = Bench::open(store, cfg()).expect("bench");
        for (i, code) in [
            "BADGE-E003",
            ORDER1,
            "6975432100137",
            "6975432201018",
            "6975432201018",
        ]
        .into_iter()
        .enumerate()
        {
            b.scan(code, None, t(1 + i as i64)).unwrap();
        }
        let ev = b.weight(266.0, true, t(10)).unwrap();
        assert!(
            ev.iter().any(|e| e.kind == EventType::OrderPacked),
            "{ev:?}"
        );
        b.scan(CASE_ORDER, None, t(11)).unwrap();
        b.scan("16924187710600", None, t(12)).unwrap();
        let ev = b.weight(1344.0, true, t(13)).unwrap();
        assert!(
            ev.iter().any(|e| e.kind == EventType::OrderPacked),
            "{ev:?}"
        );
        let ev = b.scan("PB-RETURNS", None, t(20)).unwrap();
        assert!(
            ev.iter().any(|e| e.kind == EventType::ReturnsStarted),
            "{ev:?}"
        );
        drop(b);
        p
    })
}

fn open(p: &Path) -> Bench<SqliteStore> {
    Bench::open(SqliteStore::open(p).expect("store"), cfg()).expect("bench opens")
}

/// Units packed per order and SKU, from the store's orders.
fn packed(b: &Bench<SqliteStore>) -> &'static HashMap<String, BTreeMap<String, u32>> {
    static P: OnceLock<HashMap<String, BTreeMap<String, u32>>> = OnceLock::new();
    P.get_or_init(|| {
        let mut m = HashMap::new();
        for o in [ORDER1, CASE_ORDER] {
            let order = b.store().find_order(o).unwrap().expect("fixture order");
            let mut q = BTreeMap::new();
            for l in &order.lines {
                *q.entry(l.sku.clone()).or_insert(0) += l.qty;
            }
            m.insert(o.to_string(), q);
        }
        m
    })
}

fn check_events(events: &[StoredEvent]) {
    for e in events {
        e.try_payload()
            .unwrap_or_else(|err| panic!("{} does not read as its type: {err}", e.kind));
        if e.kind == EventType::ScanRejected {
            let r = e
                .payload_as::<ScanRejected>()
                .expect("a refusal without a typed reason");
            assert!(!r.reason.as_str().is_empty());
        }
    }
}

fn check_open(b: &Bench<SqliteStore>) {
    let Some(open) = b.state().returns.as_ref().and_then(|r| r.open.as_ref()) else {
        return;
    };
    assert!(
        open.order_units() <= open.units_packed(),
        "{} of the order's units in the open return, {} packed",
        open.order_units(),
        open.units_packed()
    );
    for l in &open.order.lines {
        assert!(
            open.returned_of(&l.sku) <= open.packed_of(&l.sku),
            "{}: {} back of {} packed",
            l.sku,
            open.returned_of(&l.sku),
            open.packed_of(&l.sku)
        );
    }
}

fn check_log(b: &Bench<SqliteStore>) {
    let events = b.store().events(&EventFilter::default()).expect("events");
    check_events(&events);
    let packed = packed(b);
    let mut back: HashMap<(String, String), u32> = HashMap::new();
    for r in fold(&events) {
        let order = packed
            .get(&r.order_no)
            .unwrap_or_else(|| panic!("a return of {}, never packed", r.order_no));
        for u in &r.units {
            match (&u.sku, u.foreign) {
                (Some(s), false) => {
                    assert!(
                        order.contains_key(s),
                        "foreign {s} counted for {}",
                        r.order_no
                    );
                    *back.entry((r.order_no.clone(), s.clone())).or_insert(0) += u.units;
                }
                (None, false) => panic!("an order's unit without a SKU"),
                (Some(s), true) => {
                    assert!(
                        !order.contains_key(s),
                        "{s} of {} recorded as foreign",
                        r.order_no
                    )
                }
                (None, true) => {}
            }
        }
        if let Some(c) = &r.closed {
            assert_eq!(c.units, r.all_units(), "{}: summary units", r.return_id);
            assert_eq!(
                c.foreign_units,
                r.foreign_units(),
                "{}: foreign",
                r.return_id
            );
            assert!(c.returned_units <= c.packed_units, "{}: {c:?}", r.return_id);
            assert_eq!(Some(c.reason), r.reason);
        }
    }
    for ((o, sku), n) in back {
        let p = packed[&o][&sku];
        assert!(
            n <= p,
            "{o}: {n} units of {sku} returned over all returns, {p} packed"
        );
    }
}

/// What a restart must keep.
fn returns_key(
    b: &Bench<SqliteStore>,
) -> Option<Option<(String, Vec<(Option<String>, u32, bool)>, String)>> {
    b.state().returns.as_ref().map(|m| {
        m.open.as_ref().map(|o| {
            (
                o.return_id.clone(),
                o.units
                    .iter()
                    .map(|u| (u.sku.clone(), u.units, u.foreign))
                    .collect(),
                format!("{:?}", o.reason),
            )
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let tpl = template();
    let work = dir().join("work.db");
    remove_db(&work);
    std::fs::copy(tpl, &work).expect("copy template");
    let wal = PathBuf::from(format!("{}-wal", tpl.display()));
    if wal.exists() {
        std::fs::copy(&wal, format!("{}-wal", work.display())).expect("copy wal");
    }
    let mut b = open(&work);
    let mut now = 100i64;
    let mut i = 0usize;
    let mut ops = 0;
    while i < data.len() && ops < 64 {
        let op = data[i] as usize;
        i += 1;
        ops += 1;
        now += 1;
        let n = CODES.len();
        let events = if op < n {
            b.scan(CODES[op], Some("scanner-1"), t(now))
        } else if op < n + 8 {
            // A reading: grams from two bytes, stable unless the op says otherwise.
            let g = u16::from_le_bytes([
                data.get(i).copied().unwrap_or(0),
                data.get(i + 1).copied().unwrap_or(0),
            ]);
            i += 2;
            let grams = match op - n {
                0 => 266.0,
                1 => 1344.0,
                2 => 0.0,
                3 => -f64::from(g),
                _ => f64::from(g) / 4.0,
            };
            b.weight(grams, op - n != 7, t(now))
        } else if op < n + 12 {
            let before = returns_key(&b);
            drop(b);
            b = open(&work);
            assert_eq!(
                returns_key(&b),
                before,
                "a restart changed the returns state"
            );
            Ok(vec![])
        } else {
            let len = usize::from(data.get(i).copied().unwrap_or(0) % 48);
            i += 1;
            let text = String::from_utf8_lossy(&data[i.min(data.len())..(i + len).min(data.len())])
                .into_owned();
            i += len;
            if op % 2 == 0 {
                b.scan(&text, None, t(now))
            } else {
                match keypad_line(&format!("@{text}")) {
                    Ok(Msg::Pin(p)) => b.pin(&p, t(now)),
                    Ok(Msg::Reason(r)) => b.reason(r, t(now)),
                    Ok(Msg::CancelAuth) => b.cancel_auth(t(now)),
                    Ok(other) => panic!("keypad gave {other:?}"),
                    Err(_) => Ok(vec![]),
                }
            }
        };
        let events = events.unwrap_or_else(|e| panic!("op {op}: bench error {e}"));
        check_events(&events);
        check_open(&b);
    }
    check_log(&b);
    // A final restart keeps returns mode and the open return.
    let before = returns_key(&b);
    drop(b);
    let b = open(&work);
    assert_eq!(
        returns_key(&b),
        before,
        "a restart changed the returns state"
    );
    check_open(&b);
});
