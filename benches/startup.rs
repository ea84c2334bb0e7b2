//! The log check a station makes at every start (`SqliteStore::startup_problems`: the
//! triggers' SQL, the whole chain, the head the last start verified) on a 1,000,000-event log.
//! Figures, not tests.
//!
//! ```sh
//! cargo bench --bench startup
//! PB_STARTUP_EVENTS=100000 cargo bench --bench startup   # a quick run
//! ```
//!
//! The log is generated through the store (10,000 events per append), ten events per order as
//! a station writes them. Each start opens the store anew, as the station does. "Cold" drops
//! the database file's pages from the OS cache first (`posix_fadvise(DONTNEED)` on this file
//! only), as after a reboot; "warm" is a restart with the pages cached.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone};
use packbench::domain::event::{EventType, NewEvent};
use packbench::store::{chain, EventLog, SqliteStore, VerifyError};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn t0() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, 7, 8, 0, 0)
        .unwrap()
}

/// One of ten events of order `o`, about the size of a station's (an item scan's fields).
fn event(i: usize) -> NewEvent {
    let o = i / 10;
    let kind = [
        EventType::OrderLoaded,
        EventType::ItemAccepted,
        EventType::ItemAccepted,
        EventType::ScanRejected,
        EventType::ItemAccepted,
        EventType::ScanUndone,
        EventType::WeightChecked,
        EventType::OrderPacked,
        EventType::LabelPrinted,
        EventType::OrderDispatched,
    ][i % 10];
    NewEvent::new(
        kind,
        t0() + chrono::Duration::milliseconds(i as i64 * 50),
        "BENCH-01",
    )
    .actor(Some("E003"))
    .order(&format!("ORD{o:08}"))
    .with("sku", "T-BLU-L")
    .with("name", "纯棉T恤 蓝色 Cotton T-shirt")
    .with("units", 1)
    .with("scanned", (i % 3) as i64)
    .with("qty", 2)
    .with("code", "6975432100137")
    .with("version", "v1")
    .with("complete", false)
}

/// Drops `path`'s pages (and its WAL's) from the OS cache: the next read comes from disk.
fn drop_cache(path: &Path) {
    for p in [path.to_path_buf(), path.with_extension("db-wal")] {
        let Ok(f) = std::fs::File::open(&p) else {
            continue;
        };
        f.sync_all().unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: advice on an open descriptor of our own file; no memory is passed.
        let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(r, 0, "posix_fadvise");
    }
}

/// One start: the store opened and checked, as `StationLoop::check_log` does.
fn start(path: &Path) -> (Duration, Vec<(String, String)>) {
    let st = Instant::now();
    let s = SqliteStore::open(path).unwrap();
    let p = s.startup_problems().unwrap();
    (st.elapsed(), p)
}

fn main() {
    let n = env("PB_STARTUP_EVENTS", 1_000_000);
    let dir = tempfile::Builder::new()
        .prefix("packbench-startup")
        .tempdir_in(
            std::env::var("PB_BENCH_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string() + "/target"),
        )
        .unwrap();
    let path = dir.path().join("bench.db");
    let st = Instant::now();
    {
        let mut s = SqliteStore::open(&path).unwrap();
        let mut batch = Vec::with_capacity(10_000);
        for i in 0..n {
            batch.push(event(i));
            if batch.len() == 10_000 {
                s.append(&batch).unwrap();
                batch.clear();
            }
        }
        s.append(&batch).unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "generated {n} events in {:.1} s; database {:.0} MB ({:.0} bytes/event)",
        st.elapsed().as_secs_f64(),
        size as f64 / 1e6,
        size as f64 / n as f64
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();

    // The first start on this log: no verified head yet, the whole log is read (as every start).
    drop_cache(&path);
    let (d, p) = start(&path);
    assert!(p.is_empty(), "{p:?}");
    println!(
        "first start, cold: {:.0} ms ({:.0} events/s)",
        ms(d),
        rate(d)
    );
    let mut warm = Vec::new();
    for _ in 0..5 {
        let (d, p) = start(&path);
        assert!(p.is_empty(), "{p:?}");
        warm.push(d);
    }
    warm.sort();
    println!(
        "later starts, warm (5): min {:.0} ms, median {:.0} ms, max {:.0} ms ({:.0} events/s at the median)",
        ms(warm[0]),
        ms(warm[2]),
        ms(warm[4]),
        rate(warm[2])
    );
    drop_cache(&path);
    let (d, p) = start(&path);
    assert!(p.is_empty(), "{p:?}");
    println!("later start, cold: {:.0} ms", ms(d));

    // The same walk through the generic `scan_chain` (a copy of every row), as `audit verify`
    // and the start checked before: what reading rows in place saves.
    let s = SqliteStore::open(&path).unwrap();
    let st = Instant::now();
    let r = chain::verify(&s, None).unwrap();
    let d = st.elapsed();
    assert_eq!((r.events as usize, r.error), (n, None));
    println!(
        "whole chain through scan_chain (copies), warm: {:.0} ms ({:.0} events/s)",
        ms(d),
        rate(d)
    );
    drop(s);

    // An event edited in place 10,000 back from the head, triggers put back as they were.
    if n > 10_000 {
        let target = n as i64 - 10_000;
        let raw = rusqlite::Connection::open(&path).unwrap();
        let trigger: String = raw
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'events_no_update'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        raw.execute_batch("DROP TRIGGER events_no_update").unwrap();
        raw.execute("UPDATE events SET actor = 'E999' WHERE seq = ?1", [target])
            .unwrap();
        raw.execute_batch(&trigger).unwrap();
        drop(raw);
        let (d, p) = start(&path);
        assert_eq!(
            p,
            [(
                "chain_tail".to_string(),
                VerifyError::Changed { seq: target }.to_string()
            )]
        );
        println!(
            "start finding event {target} changed (10,000 back), warm: {:.0} ms",
            ms(d)
        );
    }
}
