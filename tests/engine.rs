//! The pack session through a bench on a real (in-memory) SQLite store.

mod common;

use common::*;
use packbench::domain::commands::{Command, HoldReason};
use packbench::domain::event::EventType;
use packbench::domain::progress::OrderStatus;
use packbench::domain::session::NextStep;
use packbench::station::Bench;
use packbench::store::{ReferenceData, SqliteStore};

type TestStore = SqliteStore;

include!("engine/cases.rs");

#[test]
fn restart_restores_packer_open_order_and_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    {
        let mut s = SqliteStore::open(&db).unwrap();
        import_fixtures(&mut s);
        let mut b = Bench::open(s, cfg()).unwrap();
        b.scan(PACKER, None, t(1)).unwrap();
        b.scan(ORDER1, None, t(2)).unwrap();
        b.scan(T_BLU_L, None, t(3)).unwrap();
        b.scan(SOCK_BLK, None, t(4)).unwrap();
        b.scan(SOCK_BLK, None, t(5)).unwrap();
        b.scan("PB-UNDO", None, t(6)).unwrap();
        // Dropped without any shutdown: what was acknowledged is on disk.
    }
    let mut b = Bench::open(SqliteStore::open(&db).unwrap(), cfg()).unwrap();
    assert_eq!(
        b.state().packer.as_ref().map(|p| p.id.as_str()),
        Some("E003")
    );
    let open = b.state().open.as_ref().expect("order restored");
    assert_eq!(open.order.order_no, ORDER1);
    assert_eq!(open.scanned, vec![1, 1]);
    // The restored undo stack is exact: the next undo takes the remaining sock.
    let ev = b.scan("PB-UNDO", None, t(7)).unwrap();
    assert_eq!(
        only(&ev, EventType::ScanUndone).str("sku"),
        Some("SOCK-BLK")
    );
    b.scan(SOCK_BLK, None, t(8)).unwrap();
    let ev = b.scan(SOCK_BLK, None, t(9)).unwrap();
    assert_eq!(
        only(&ev, EventType::ItemAccepted).bool("complete"),
        Some(true)
    );
    rejected(&b.scan(SOCK_BLK, None, t(10)).unwrap(), "over_quantity");
    let ev = b.weight(265.0, true, t(11)).unwrap();
    assert!(kinds(&ev).contains(&EventType::OrderPacked));
    drop(b);
    let b = Bench::open(SqliteStore::open(&db).unwrap(), cfg()).unwrap();
    assert!(b.state().open.is_none());
    assert_eq!(b.state().last_packed.as_deref(), Some(ORDER1));
    assert_eq!(
        packbench::audit::order_record(b.store(), ORDER1)
            .unwrap()
            .unwrap()
            .status,
        "packed"
    );
    let _ = OrderStatus::Packed;
}
