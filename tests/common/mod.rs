//! Shared test setup: a store with the fixture data imported and a bench on it.
#![allow(dead_code)]

use chrono::{DateTime, Duration, FixedOffset, TimeZone};
use packbench::domain::event::{EventType, StoredEvent};
use packbench::domain::session::EngineConfig;
use packbench::station::Bench;
use packbench::store::{SqliteStore, Store};

pub mod bin;
pub mod fixtures;
pub mod memory;

// Not every includer uses every helper.
#[allow(unused_imports)]
pub use bin::{failed, ok, pb, Pb};
#[allow(unused_imports)]
pub use fixtures::{data_set, fixture, fixtures, DATA_SET};

/// A fixed clock: 2026-11-22 10:00 Beijing time plus `secs`.
pub fn t(secs: i64) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .unwrap()
        + Duration::seconds(secs)
}

pub fn import_fixtures<S: Store>(store: &mut S) {
    packbench::import::import_data_set(store, &fixtures(), "TEST", t(0))
        .unwrap_or_else(|e| panic!("importing the fixtures: {e}"));
}

/// The fixtures imported once per test process and copied for each caller: importing them
/// hashes every PIN at the real cost (64 MiB, 3 passes), seconds per import.
pub fn store_with_fixtures() -> SqliteStore {
    static TEMPLATE: std::sync::OnceLock<std::sync::Mutex<SqliteStore>> =
        std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let mut s = SqliteStore::open_in_memory().unwrap();
            import_fixtures(&mut s);
            std::sync::Mutex::new(s)
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .copy_in_memory()
        .unwrap()
}

pub fn bench() -> Bench<SqliteStore> {
    Bench::open(store_with_fixtures(), cfg()).unwrap()
}

/// A bench on any backend, with the fixtures imported through it.
pub fn bench_on<S: Store>(mut store: S) -> Bench<S> {
    import_fixtures(&mut store);
    Bench::open(store, cfg()).unwrap()
}

pub fn cfg() -> EngineConfig {
    EngineConfig {
        station_id: "BENCH-T".into(),
        ..EngineConfig::default()
    }
}

/// An event's stored fields by name: the tests assert on the log as written (the station
/// itself reads them through `StoredEvent::payload`).
pub trait Fields {
    fn str(&self, key: &str) -> Option<&str>;
    fn f64(&self, key: &str) -> Option<f64>;
    fn u64(&self, key: &str) -> Option<u64>;
    fn bool(&self, key: &str) -> Option<bool>;
}

impl Fields for StoredEvent {
    fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(serde_json::Value::as_str)
    }

    fn f64(&self, key: &str) -> Option<f64> {
        self.data.get(key).and_then(serde_json::Value::as_f64)
    }

    fn u64(&self, key: &str) -> Option<u64> {
        self.data.get(key).and_then(serde_json::Value::as_u64)
    }

    fn bool(&self, key: &str) -> Option<bool> {
        self.data.get(key).and_then(serde_json::Value::as_bool)
    }
}

/// The single event of one kind among `events`, failing loudly otherwise.
pub fn only(events: &[StoredEvent], kind: EventType) -> StoredEvent {
    let found: Vec<_> = events.iter().filter(|e| e.kind == kind).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {kind} in {:?}",
        events.iter().map(|e| e.kind).collect::<Vec<_>>()
    );
    found[0].clone()
}

pub fn kinds(events: &[StoredEvent]) -> Vec<EventType> {
    events.iter().map(|e| e.kind).collect()
}

/// Asserts the input was refused with `reason`.
pub fn rejected(events: &[StoredEvent], reason: &str) -> StoredEvent {
    let e = only(events, EventType::ScanRejected);
    assert_eq!(e.str("reason"), Some(reason), "{e:?}");
    e
}

// Fixture facts (see fixtures/README.md).
pub const PACKER: &str = "BADGE-E003"; // E003, packer only
pub const PACKER2: &str = "BADGE-E004"; // E004, packer only
pub const PICKER: &str = "BADGE-E007"; // E007, picker only
pub const PICKER_PACKER: &str = "BADGE-E002"; // E002, picker|packer
pub const SUPERVISOR: &str = "BADGE-E005"; // E005, supervisor only
pub const SUPERVISOR_PIN: &str = "555555"; // E005's PIN in fixtures/employees.csv
/// TB20261122001: T-BLU-L ×1 + SOCK-BLK ×2, picker E001 from import, 265 g.
pub const ORDER1: &str = "TB20261122001";
pub const ORDER1_WAYBILL: &str = "SF1498369006026";
pub const T_BLU_L: &str = "6975432100137";
pub const T_BLU_L_OLD: &str = "6975432002134";
pub const SOCK_BLK: &str = "6975432201018";
/// TB20261122002: LIP-R02 + SUN-50 + gift SAMPLE-SERUM, no picker; 22.5 + 75 + 9.5 = 107 g.
pub const ORDER2: &str = "TB20261122002";
pub const LIP_R02: &str = "6921568310025";
pub const SUN_50: &str = "6921568320604";
pub const SERUM_GIFT: &str = "INT-0107";
pub const CANCELLED: &str = "TB20261122005";
pub const NO_PICKER: &str = "AE8012345719"; // MASK-HA-10 + LIP-R02, no picker
pub const MASK: &str = "6903148120101";
/// TB20261122007: LATIAO-106 ×12, picker E008.
pub const CASE_ORDER: &str = "TB20261122007";
pub const LATIAO_UNIT: &str = "6924187710603";
pub const LATIAO_CASE: &str = "16924187710600";
pub const PKG_BAG_M: &str = "PKG-BAG-M"; // 18 g
pub const CANDLE_UPC: &str = "812376045185";

/// Signs in the packer and opens ORDER1 with all its items scanned.
pub fn order1_complete<S: Store>(b: &mut Bench<S>) {
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    b.scan(T_BLU_L, None, t(3)).unwrap();
    b.scan(SOCK_BLK, None, t(4)).unwrap();
    let ev = b.scan(SOCK_BLK, None, t(5)).unwrap();
    assert_eq!(
        only(&ev, EventType::ItemAccepted).bool("complete"),
        Some(true)
    );
}
