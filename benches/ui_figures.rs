//! Figures for the closing note, not assertions (run on demand, release build advised):
//!
//! ```sh
//! cargo bench --bench ui_figures
//! ```
//!
//! - memory (RSS) after a 2,000-order shift through the window, a frame rendered per order;
//! - frame time while the scale streams 20 readings a second;
//! - frame time and memory with a 600-line order on screen while scanning 10 units a second
//!   (`cargo bench --bench ui_figures -- big` runs only that).

#[path = "../tests/ui_harness/mod.rs"]
mod ui_harness;

use std::io::Write;
use std::time::{Duration, Instant};

use packbench::import::{import_file, Kind, ReadOptions};
use packbench::station::runtime::Msg;
use packbench::store::SqliteStore;
use ui_harness::*;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A scale reading straight to the station (no settling: the caller times that).
fn reading(b: &TestBench, grams: f64, stable: bool) {
    let station = b.running.as_ref().unwrap().screen.station();
    station.send(Msg::Weight { grams, stable });
}

fn settle_fast(b: &TestBench) {
    assert!(b
        .running
        .as_ref()
        .unwrap()
        .screen
        .settle_quiet(Duration::ZERO));
}

fn scan(b: &TestBench, code: &str) {
    b.running
        .as_ref()
        .unwrap()
        .screen
        .station()
        .scan(code.into(), "figures");
    settle_fast(b);
}

fn main() {
    // `cargo bench --bench ui_figures -- big`: the 600-line order only.
    if !std::env::args().any(|a| a == "big") {
        shift_of_2000_orders_memory_and_scale_frame_time();
    }
    big_order_frame_time_and_memory();
}

/// A 600-line order on the pack screen at 1024×600 while units are scanned 10 a second:
/// scan → view → applied → the whole window rendered (software), and the RSS.
fn big_order_frame_time_and_memory() {
    let b = TestBench::with_size(1024.0, 600.0);
    b.api().set_simulator_open(false);
    let codes = big_order(&b);
    scan(&b, PACKER);
    let rss0 = rss_kib();
    scan(&b, BIG_ORDER);
    let _ = b.snapshot();
    let rss_open = rss_kib();
    let mut frames = Vec::new();
    let mut applied = Vec::new();
    let mut renders = Vec::new();
    let start = Instant::now();
    // 300 scans, one every 100 ms, spread over the order.
    for k in 0..300usize {
        let due = start + Duration::from_millis(100 * k as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let t = Instant::now();
        scan(&b, &codes[(k * 197) % BIG_LINES]);
        slint::platform::update_timers_and_animations();
        let a = Instant::now();
        let _ = b.snapshot();
        let r = a.elapsed().as_secs_f64() * 1000.0;
        frames.push(t.elapsed().as_secs_f64() * 1000.0);
        applied.push(a.duration_since(t).as_secs_f64() * 1000.0);
        renders.push(r);
    }
    let rss1 = rss_kib();
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        (mean, v[v.len() * 95 / 100], v[v.len() - 1])
    };
    eprintln!("FIGURES (600-line order, 1024x600)");
    for (what, v) in [
        (
            "scan at 10/s → stored (fsync) → view → applied → full frame rendered",
            &mut frames,
        ),
        ("of which scan → stored → view applied", &mut applied),
        ("of which the full-window software render", &mut renders),
    ] {
        let (m, p95, max) = stats(v);
        eprintln!("{what}: mean {m:.1} ms, p95 {p95:.1} ms, max {max:.1} ms");
    }
    eprintln!(
        "RSS signed in {rss0} KiB, 600-line order open {rss_open} KiB, after 300 scans {rss1} KiB"
    );
}

fn shift_of_2000_orders_memory_and_scale_frame_time() {
    const N: usize = 2000;
    let b = TestBench::new();
    b.api().set_simulator_open(false);
    // 2,000 more orders like the first fixture order (265 g, picker from the import).
    let csv = b.dir.join("shift.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        writeln!(
            f,
            "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty,picker_id"
        )
        .unwrap();
        for i in 0..N {
            for (sku, qty) in [("T-BLU-L", 1), ("SOCK-BLK", 2)] {
                writeln!(
                    f,
                    "SH{i:06},SW{i:010},顺丰速运,李娜,CN,杭州,,{sku},{qty},E001"
                )
                .unwrap();
            }
        }
    }
    let mut store = SqliteStore::open(&b.db).unwrap();
    import_file(
        &mut store,
        Kind::Orders,
        &csv,
        &ReadOptions::default(),
        "FIG",
        base_time(),
        &mut |_| {},
    )
    .unwrap();
    drop(store);

    scan(&b, PACKER);
    let rss0 = rss_kib();
    let t0 = Instant::now();
    let mut frame_ms = Vec::new();
    for i in 0..N {
        scan(&b, &format!("SH{i:06}"));
        scan(&b, T_BLU_L);
        scan(&b, SOCK_BLK);
        scan(&b, SOCK_BLK);
        reading(&b, 266.0, true);
        settle_fast(&b);
        assert_eq!(b.step(), Step::ScanOrder, "order {i}");
        let f = Instant::now();
        let _ = b.snapshot();
        frame_ms.push(f.elapsed().as_secs_f64() * 1000.0);
        // Empty the scale for the next parcel.
        reading(&b, 0.0, true);
        if i % 500 == 499 {
            eprintln!(
                "{} orders, RSS {} KiB, {:.0} s",
                i + 1,
                rss_kib(),
                t0.elapsed().as_secs_f64()
            );
        }
    }
    settle_fast(&b);
    let rss1 = rss_kib();
    let shift_s = t0.elapsed().as_secs_f64();

    // The scale streams 20 readings a second while the next order waits for its weight.
    scan(&b, ORDER1);
    for c in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
        scan(&b, c);
    }
    let mut stream = Vec::new();
    let start = Instant::now();
    for k in 0..200u32 {
        let due = start + Duration::from_millis(50 * k as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let t = Instant::now();
        reading(&b, 100.0 + (k % 50) as f64, false);
        settle_fast(&b);
        let _ = b.snapshot();
        stream.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        (mean, v[v.len() * 95 / 100], v[v.len() - 1])
    };
    let (fm, f95, fmax) = stats(&mut frame_ms);
    let (sm, s95, smax) = stats(&mut stream);
    eprintln!("FIGURES");
    eprintln!("shift: {N} orders in {shift_s:.0} s through the window (each: order, 3 items, weight, lift)");
    eprintln!(
        "RSS after sign-in {} KiB, after the shift {} KiB (+{} KiB)",
        rss0,
        rss1,
        rss1 as i64 - rss0 as i64
    );
    eprintln!(
        "full-window software render per order: mean {fm:.1} ms, p95 {f95:.1} ms, max {fmax:.1} ms"
    );
    eprintln!("scale at 20 Hz, reading → view → applied → full frame rendered: mean {sm:.1} ms, p95 {s95:.1} ms, max {smax:.1} ms");
}
