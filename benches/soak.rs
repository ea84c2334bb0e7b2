//! The soak: a shift of 10,000 generated orders through the headless station at machine speed
//! (`cargo bench --bench soak`; `PB_SOAK_ORDERS=N` for another size, `PB_SOAK_SEED`).
//!
//! Mixed order sizes (half single-unit, up to 12 units over 5 lines), 1 % of orders get a
//! wrong item, 2 % a weight mismatch (half resolved by a supervisor override, half by
//! re-weighing the right parcel). The scanner is the station's stdin, the scale a Toledo
//! continuous simulator on a pty streaming every 2 ms, the printer a file. Reports orders/s,
//! scan → event latency, weigh → packed latency, resident memory over the shift and the
//! database's size per 1,000 orders; ends with `audit verify`.

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn db_bytes(rig: &Rig) -> u64 {
    ["bench.db", "bench.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(rig.dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum()
}

fn expect(st: &mut Station, what: &str, want: impl FnMut(&Value) -> bool) -> (Instant, Value) {
    st.until(WAIT, want).unwrap_or_else(|| {
        panic!(
            "no {what}; last lines: {:#?}",
            &st.seen[st.seen.len().saturating_sub(8)..]
        )
    })
}

fn main() {
    let n: usize = env_or("PB_SOAK_ORDERS", 10_000);
    let seed: u64 = env_or("PB_SOAK_SEED", 7);
    let bin = bin::path();
    let rig = Rig::new(n, seed, Duration::from_millis(2));
    let db_before = db_bytes(&rig);
    let mut rng = Rng::new(seed ^ 0xabcdef);
    let mut st = rig.spawn(bin);
    let pid = st.pid();

    let mut scan_ms: Vec<f64> = Vec::new();
    let mut weigh_ms: Vec<f64> = Vec::new();
    let mut memory: Vec<(usize, u64, u64)> = Vec::new();
    let (mut wrong, mut mismatches, mut overrides, mut stale) = (0u32, 0u32, 0u32, 0u32);
    let mut units = 0u64;

    let t = st.scan(PACKER);
    let (at, _) = expect(&mut st, "sign-in", |v| v["event"] == "packer_signed_in");
    scan_ms.push(ms(at - t));
    memory.push((0, rss_kib(pid).unwrap_or(0), db_bytes(&rig)));
    let started = Instant::now();
    for (i, o) in rig.orders.clone().iter().enumerate() {
        let t = st.scan(&o.order_no);
        let (at, v) = expect(&mut st, "order_loaded", |v| {
            v["event"] == "order_loaded" || v["event"] == "scan_rejected"
        });
        assert_eq!(v["event"], "order_loaded", "{v}");
        scan_ms.push(ms(at - t));
        if rng.chance(0.01) {
            let bad = rig
                .items
                .iter()
                .find(|it| o.lines.iter().all(|&(l, _)| rig.items[l].sku != it.sku))
                .unwrap()
                .barcode
                .clone();
            let t = st.scan(&bad);
            let (at, r) = expect(&mut st, "refusal", |v| v["event"] == "scan_rejected");
            assert_eq!(r["reason"], "not_in_order");
            scan_ms.push(ms(at - t));
            wrong += 1;
        }
        for &(it, q) in &o.lines {
            let code = rig.items[it].barcode.clone();
            for _ in 0..q {
                let t = st.scan(&code);
                let (at, a) = expect(&mut st, "item_accepted", |v| {
                    v["event"] == "item_accepted" || v["event"] == "scan_rejected"
                });
                assert_eq!(a["event"], "item_accepted", "{a}");
                scan_ms.push(ms(at - t));
                units += 1;
            }
        }
        let mismatch = rng.chance(0.02);
        let right = o.expected_g;
        let placed = if mismatch {
            right + (right * 0.2).max(100.0)
        } else {
            right
        };
        let t = Instant::now();
        rig.place(placed);
        // A check of a reading from the last parcel still in the pipe is skipped: the next
        // reading moved, so the station checks again.
        let (at, v) = loop {
            let (at, v) = expect(&mut st, "weight check", |v| {
                v["event"] == "order_packed" || v["event"] == "weight_checked"
            });
            // (The scale shows whole grams.)
            let from_this = v["measured_g"]
                .as_f64()
                .is_some_and(|m| (m - placed).abs() <= 1.0);
            if v["event"] == "weight_checked" && !from_this {
                stale += 1;
                continue;
            }
            break (at, v);
        };
        if mismatch {
            assert_eq!(v["ok"], false, "{v}");
            mismatches += 1;
            if i % 2 == 0 {
                st.scan(SUPERVISOR);
                st.scan(&format!("@pin {SUPERVISOR_PIN}"));
                st.scan("@reason scale_drift");
                expect(&mut st, "override", |v| v["event"] == "override");
                overrides += 1;
            } else {
                rig.place(right);
            }
            expect(&mut st, "order_packed", |v| v["event"] == "order_packed");
        } else {
            if v["event"] == "weight_checked" {
                assert_eq!(v["ok"], true, "{v}");
                expect(&mut st, "order_packed", |v| v["event"] == "order_packed");
            }
            weigh_ms.push(ms(at - t));
        }
        expect(&mut st, "label_printed", |v| {
            v["event"] == "label_printed" && v["order_no"] == o.order_no.as_str()
        });
        rig.place(0.0);
        if (i + 1) % 500 == 0 {
            memory.push((i + 1, rss_kib(pid).unwrap_or(0), db_bytes(&rig)));
        }
        // The seen lines are only needed for error messages: keep the recent ones.
        if st.seen.len() > 1000 {
            st.seen.drain(..900);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let (code, _) = st.term();
    assert_eq!(code, Some(0), "clean stop");
    let db_after = db_bytes(&rig);
    let out = bin::Pb::at(bin)
        .dir(rig.dir.path())
        .args(["audit", "verify", "--db", "bench.db"])
        .output();
    assert!(out.status.success(), "audit verify after the soak");
    let events = packbench::store::EventLog::events(
        &packbench::store::SqliteStore::open(rig.db()).unwrap(),
        &Default::default(),
    )
    .unwrap()
    .len();

    scan_ms.sort_by(f64::total_cmp);
    weigh_ms.sort_by(f64::total_cmp);
    println!("soak: {n} orders, {units} units, seed {seed}");
    println!(
        "  {:.1} s, {:.1} orders/s, {} events ({:.0} events/s)",
        secs,
        n as f64 / secs,
        events,
        events as f64 / secs
    );
    println!(
        "  wrong items {wrong}, mismatches {mismatches} ({overrides} overridden), stale readings skipped {stale}"
    );
    println!(
        "  scan -> event line: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} scans)",
        pct(&scan_ms, 0.5),
        pct(&scan_ms, 0.99),
        scan_ms.last().unwrap(),
        scan_ms.len()
    );
    println!(
        "  weight placed -> order_packed: p50 {:.2} ms, p99 {:.2} ms ({} parcels; frames every 2 ms)",
        pct(&weigh_ms, 0.5),
        pct(&weigh_ms, 0.99),
        weigh_ms.len()
    );
    println!(
        "  database: {:.1} MB before the shift, {:.1} MB after: {:.0} KB per 1,000 orders, {:.0} bytes/event",
        db_before as f64 / 1e6,
        db_after as f64 / 1e6,
        (db_after - db_before) as f64 / 1e3 / (n as f64 / 1000.0),
        (db_after - db_before) as f64 / events as f64
    );
    println!("  memory over the shift (orders, RSS MiB, DB MB):");
    for (o, rss, db) in &memory {
        println!(
            "    {o:>6}  {:>6.1}  {:>6.1}",
            *rss as f64 / 1024.0,
            *db as f64 / 1e6
        );
    }
    let rss: Vec<u64> = memory.iter().skip(1).map(|m| m.1).collect();
    if rss.len() >= 4 {
        let half = rss.len() / 2;
        let first = rss[..half].iter().max().unwrap();
        let second = rss[half..].iter().max().unwrap();
        println!(
            "  RSS peak, first half of the shift {:.1} MiB, second half {:.1} MiB",
            *first as f64 / 1024.0,
            *second as f64 / 1024.0
        );
    }
}
