//! Station-core benchmarks (figures, not tests). `cargo bench --bench core`.
//! Sizes can be lowered for a quick run: PB_BENCH_EVENTS (default 10,000,000),
//! PB_BENCH_ORDERS (default 100,000), PB_BENCH_APPENDS (default 2,000).

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone};
use packbench::domain::barcode;
use packbench::domain::event::{
    EventData, EventType, ItemAccepted, LabelPrinted, LoadedLine, NewEvent, OrderDispatched,
    OrderLoaded, OrderPacked, RejectReason, ScanRejected, ScanUndone, WeightChecked,
};
use packbench::domain::session::{Engine, EngineConfig, Input, OpenOrderNow, Resolved, Scan};
use packbench::import::{import_file, Kind, ReadOptions};
use packbench::station::Bench;
use packbench::store::{EventLog, ReferenceData, SqliteStore};

use fixtures::fixtures;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn t0() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
        .unwrap()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn fixture_store(path: &Path) -> SqliteStore {
    let mut s = SqliteStore::open(path).unwrap();
    packbench::import::import_data_set(&mut s, &fixtures(), "BENCH", t0()).unwrap();
    s
}

fn bench_engine(dir: &Path) {
    // Decision alone: an item scan against an open order, no I/O.
    let s = fixture_store(&dir.join("engine.db"));
    let mut b = Bench::open(s, EngineConfig::default()).unwrap();
    b.scan("BADGE-E003", None, t0()).unwrap();
    b.scan("TB20261122004", None, t0()).unwrap(); // T-BLU-M ×3 + SOCK-WHT
    let engine: Engine = {
        let mut e = Engine::new(EngineConfig::default());
        e.commit(b.state().clone());
        e
    };
    let now_v = OpenOrderNow {
        version: b.state().open.as_ref().unwrap().version.clone(),
        cancelled: false,
    };
    let code = barcode::parse("6975432100120");
    let m = b.catalog().lookup(&code).unwrap();
    let input = Input::Scan(Box::new(Scan {
        code,
        resolved: Resolved::Item(m),
        scanner: None,
    }));
    let n = 200_000;
    let start = Instant::now();
    let mut events = 0;
    for _ in 0..n {
        let d = engine.decide(&input, Some(&now_v), t0());
        events += d.events.len();
    }
    let el = start.elapsed();
    assert_eq!(events, n);
    println!(
        "engine decide (item scan, no I/O): {:.2} µs/decision over {n}",
        el.as_secs_f64() * 1e6 / n as f64
    );
    // Parse + resolve + decide + durable append, the whole scan path on a file database.
    let mut lat = Vec::new();
    for i in 0..500 {
        let code = if i % 2 == 0 {
            "6975432100120"
        } else {
            "PB-UNDO"
        };
        let st = Instant::now();
        let ev = b.scan(code, None, t0()).unwrap();
        lat.push(st.elapsed());
        assert_eq!(ev.len(), 1);
    }
    lat.sort();
    println!(
        "bench scan end to end (parse, resolve, decide, durable append): p50 {:.3} ms, p99 {:.3} ms",
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3
    );
}

/// Plausible fields of an event of `kind` on a two-unit T-BLU-L order, as the station
/// writes them (the kinds the generated logs use).
fn payload(kind: EventType) -> EventData {
    match kind {
        EventType::OrderLoaded => OrderLoaded {
            lines: vec![LoadedLine {
                sku: "T-BLU-L".into(),
                name: "纯棉T恤 蓝色 Cotton T-shirt".into(),
                qty: 2,
                scanned: 0,
                gift: false,
            }],
            version: "v1".into(),
            waybill_no: "WB".into(),
            picker_id: Some("E001".into()),
            packaging: None,
            expected_g: 370.0,
            repeat: false,
            change: None,
        }
        .into(),
        EventType::ItemAccepted => ItemAccepted {
            sku: "T-BLU-L".into(),
            units: 1,
            scanned: 1,
            qty: 2,
            code: "6975432100137".into(),
            aim: None,
            gs1: None,
            scanner: None,
            version: "v1".into(),
            alloc: vec![(0, 1)],
            complete: false,
        }
        .into(),
        EventType::ScanRejected => ScanRejected::new(
            "6921568310025",
            RejectReason::NotInOrder,
            "LIP-R02 is not in this order: take it out".into(),
        )
        .into(),
        EventType::ScanUndone => ScanUndone {
            sku: "T-BLU-L".into(),
            units: 1,
            scanned: 1,
            qty: 2,
            version: "v1".into(),
            alloc: vec![(0, 1)],
        }
        .into(),
        EventType::WeightChecked => WeightChecked {
            measured_g: 372.0,
            expected_g: 370.0,
            tolerance_g: 15.0,
            ok: true,
            packaging: None,
            hint: None,
            hint_detail: None,
        }
        .into(),
        EventType::OrderPacked => OrderPacked {
            picker_id: Some("E001".into()),
            packer_id: Some("E003".into()),
            measured_g: 372.0,
            expected_g: 370.0,
            tolerance_g: 15.0,
            weight_ok: true,
            override_by: None,
            packaging: None,
            version: "v1".into(),
        }
        .into(),
        EventType::LabelPrinted => LabelPrinted {
            copy: 1,
            bytes: 1200,
            reprint: false,
            warning: None,
        }
        .into(),
        EventType::OrderDispatched => OrderDispatched {
            batch_id: "BENCH-01-20261122080000".into(),
            carrier: "顺丰速运".into(),
            waybill_no: "WB".into(),
            count: 1,
        }
        .into(),
        other => unreachable!("the generated logs have no {other}"),
    }
}

fn bench_append(dir: &Path) {
    let n = env("PB_BENCH_APPENDS", 2_000);
    let mut s = SqliteStore::open(dir.join("append.db")).unwrap();
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let e = NewEvent::of(payload(EventType::ItemAccepted), t0(), "BENCH-01")
            .actor(Some("E003"))
            .order(&format!("ORD{:07}", i / 8));
        let st = Instant::now();
        s.append(&[e]).unwrap();
        lat.push(st.elapsed());
    }
    let el = start.elapsed();
    lat.sort();
    println!(
        "durable append (WAL, synchronous=FULL, one event per transaction): p50 {:.3} ms, p99 {:.3} ms, {:.0} events/s over {n}",
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        n as f64 / el.as_secs_f64()
    );
}

fn bench_import(dir: &Path) {
    let orders = env("PB_BENCH_ORDERS", 100_000);
    let s = fixture_store(&dir.join("import.db"));
    let skus: Vec<String> = s
        .load_catalog()
        .unwrap()
        .into_iter()
        .map(|x| x.sku)
        .collect();
    let path = dir.join("orders.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty,picker_id,gift,status").unwrap();
    let mut lines = 0;
    for o in 0..orders {
        for l in 0..3 {
            let sku = &skus[(o * 7 + l * 13) % skus.len()];
            writeln!(
                f,
                "BO{o:08},SF{o:013},顺丰速运,收件人{o},CN,浙江省杭州市西湖区文三路{o}号,请不要放发票,{sku},{},E001,,",
                1 + (o + l) % 3
            )
            .unwrap();
            lines += 1;
        }
    }
    f.flush().unwrap();
    drop(f);
    let size = std::fs::metadata(&path).unwrap().len();
    let mut s = s;
    let st = Instant::now();
    let r = import_file(
        &mut s,
        Kind::Orders,
        &path,
        &ReadOptions::default(),
        "BENCH",
        t0(),
        &mut |_| {},
    )
    .unwrap();
    let el = st.elapsed();
    assert_eq!(r.added, orders);
    println!(
        "import {orders} orders / {lines} lines ({:.1} MB CSV): {:.2} s ({:.0} lines/s)",
        size as f64 / 1e6,
        el.as_secs_f64(),
        lines as f64 / el.as_secs_f64()
    );
    let st = Instant::now();
    let r = import_file(
        &mut s,
        Kind::Orders,
        &path,
        &ReadOptions::default(),
        "BENCH",
        t0(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(r.unchanged, orders);
    println!(
        "re-import of the same file (nothing changes): {:.2} s",
        st.elapsed().as_secs_f64()
    );
}

fn bench_big_log(dir: &Path) {
    let n = env("PB_BENCH_EVENTS", 10_000_000);
    let path = dir.join("big.db");
    let mut s = SqliteStore::open(&path).unwrap();
    let per_order = 10;
    let orders = n / per_order;
    let st = Instant::now();
    {
        // Orders rows so that `audit order` finds them: a bulk load straight into the file.
        let mut raw = rusqlite::Connection::open(&path).unwrap();
        let tx = raw.transaction().unwrap();
        {
            let mut ins = tx
                .prepare("INSERT INTO orders (order_no, waybill_no, carrier, recipient, country, address, buyer_note, lines, picker_id, cancelled, version) VALUES (?1, ?2, 'SF', 'r', 'CN', 'a', '', '[{\"sku\":\"T-BLU-L\",\"qty\":2,\"gift\":false}]', 'E001', 0, 'v1')")
                .unwrap();
            for o in 0..orders {
                ins.execute(rusqlite::params![format!("ORD{o:08}"), format!("WB{o:08}")])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
        let kinds = [
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
        ];
        let chunk = 10_000;
        let mut batch = Vec::with_capacity(chunk);
        for i in 0..n {
            let o = i / per_order;
            batch.push(
                NewEvent::of(
                    payload(kinds[i % per_order]),
                    t0() + chrono::Duration::milliseconds(i as i64 * 50),
                    "BENCH-01",
                )
                .actor(Some("E003"))
                .order(&format!("ORD{o:08}")),
            );
            if batch.len() == chunk {
                s.append(&batch).unwrap();
                batch.clear();
            }
        }
        s.append(&batch).unwrap();
    }
    let gen = st.elapsed();
    let size = std::fs::metadata(&path).unwrap().len()
        + std::fs::metadata(dir.join("big.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "generated {n} events over {orders} orders in {:.1} s; database {:.2} GB",
        gen.as_secs_f64(),
        size as f64 / 1e9
    );
    drop(s);
    let s = SqliteStore::open(&path).unwrap();
    let mut lat = Vec::new();
    for k in 0..200 {
        let o = (k * 7919 * 13) % orders;
        let st = Instant::now();
        let rec = packbench::audit::order_record(&s, &format!("ORD{o:08}"))
            .unwrap()
            .unwrap();
        lat.push(st.elapsed());
        assert_eq!(rec.events.len(), per_order);
    }
    lat.sort();
    println!(
        "audit order lookup on {n} events: p50 {:.3} ms, p99 {:.3} ms",
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3
    );
    let st = Instant::now();
    let r = s.verify(None).unwrap();
    let el = st.elapsed();
    assert_eq!((r.events as usize, r.error), (n, None));
    println!(
        "audit verify of {n} events: {:.1} s ({:.0} events/s)",
        el.as_secs_f64(),
        n as f64 / el.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes --bench; a filter argument picks one benchmark.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let dir = tempfile::Builder::new()
        .prefix("packbench-bench")
        .tempdir_in(
            std::env::var("PB_BENCH_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string() + "/target"),
        )
        .unwrap();
    let run = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if run("engine") {
        bench_engine(dir.path());
    }
    if run("append") {
        bench_append(dir.path());
    }
    if run("import") {
        bench_import(dir.path());
    }
    if run("log") {
        bench_big_log(dir.path());
    }
}
