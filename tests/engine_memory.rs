//! The engine tests of tests/engine.rs again, with the bench on the in-memory store of
//! tests/common/memory.rs: the engine, the chain and the import rules are the library's, so a
//! backend that only stores and loads packs exactly as SQLite does.

mod common;

use common::memory::MemoryStore;
use common::*;
use packbench::domain::commands::{Command, HoldReason};
use packbench::domain::event::{ApprovalReason, EventType};
use packbench::domain::pin::Pin;
use packbench::domain::session::{NextStep, KEYPAD};
use packbench::station::Bench;
use packbench::store::{EventLog, ReferenceData};

type TestStore = MemoryStore;

/// Shadows `common::bench`: the fixtures imported into a memory store.
fn bench() -> Bench<TestStore> {
    Bench::open(MemoryStore::with_fixtures(), cfg()).unwrap()
}

fn test_store_with_fixtures() -> TestStore {
    MemoryStore::with_fixtures()
}

include!("engine/cases.rs");
include!("engine/weighing.rs");
include!("engine/dispatch.rs");
include!("engine/approvals.rs");
include!("engine/returns.rs");

#[test]
fn the_memory_store_chain_verifies_like_sqlite() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    let r = b.store().verify(None).unwrap();
    assert_eq!(r.error, None);
    assert!(r.events >= 6, "{r:?}");
    // The same inputs on SQLite give the same chain, hash for hash.
    let mut s = common::bench();
    s.scan(PACKER, None, t(1)).unwrap();
    s.scan(ORDER1, None, t(2)).unwrap();
    assert_eq!(s.store().verify(None).unwrap().head, r.head);
}
