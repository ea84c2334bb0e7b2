//! The weight hint on a huge order, through the headless binary: an order of 600 distinct
//! SKUs, every unit scanned, weighed 1,333 g light. Measures the time from placing the parcel
//! on the (simulated, streaming) scale to the `weight_checked` line, the scans' round trip
//! right after it, and the station's peak memory (VmHWM).
//!
//! ```sh
//! cargo bench --bench hint
//! ```

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::*;
use packbench::domain::barcode::gtin_check_digit;
use packbench::import::{import_file, Kind, ReadOptions};

const SKUS: usize = 600;

fn peak_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let rig = Rig::new(1, 7, Duration::from_millis(50));
    // 600 products of 20 to 520 g, each with a valid EAN-13, and one order of one of each.
    let mut cat = String::from("sku,name,barcodes,unit_weight_g\n");
    let mut ord = String::from(
        "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty,picker_id\n",
    );
    let mut codes = Vec::new();
    let mut expected = 0.0;
    for i in 0..SKUS {
        let data = format!("69{:010}", 500_000 + i);
        let ean = format!("{data}{}", gtin_check_digit(&data).unwrap());
        let w = 20.0 + ((i * 37) % 500) as f64 + 0.5;
        expected += w;
        cat.push_str(&format!("BIG-{i:03},Item {i},{ean},{w}\n"));
        ord.push_str(&format!(
            "BIG-ORDER,WB-BIG,顺丰速运,孙浩,CN,addr,,BIG-{i:03},1,E001\n"
        ));
        codes.push(ean);
    }
    let dir = rig.dir.path();
    std::fs::write(dir.join("big-catalog.csv"), cat).unwrap();
    std::fs::write(dir.join("big-orders.csv"), ord).unwrap();
    let mut store = packbench::store::SqliteStore::open(rig.db()).unwrap();
    for (kind, f) in [
        (Kind::Catalog, "big-catalog.csv"),
        (Kind::Orders, "big-orders.csv"),
    ] {
        import_file(
            &mut store,
            kind,
            &dir.join(f),
            &ReadOptions::default(),
            "BENCH",
            chrono::Local::now().fixed_offset(),
            &mut |_| {},
        )
        .unwrap();
    }
    drop(store);
    // The percentage tolerance would swallow 1,333 g of a 160 kg order: 15 g flat, so the
    // parcel is a mismatch and the hint must search.
    let cfg = dir.join("station.toml");
    let mut toml = std::fs::read_to_string(&cfg).unwrap();
    toml.push_str("[weight]\ntolerance_g = 15\ntolerance_pct = 0\n");
    std::fs::write(&cfg, toml).unwrap();

    let mut st = rig.spawn(bin::path());
    let pid = st.child.id();
    let next = |st: &mut Station, event: &str| {
        st.until(Duration::from_secs(120), |v| v["event"] == event)
            .unwrap_or_else(|| panic!("no {event}"))
    };
    st.scan(PACKER);
    next(&mut st, "packer_signed_in");
    st.scan("BIG-ORDER");
    next(&mut st, "order_loaded");
    for c in &codes {
        st.scan(c);
    }
    for _ in 0..SKUS {
        next(&mut st, "item_accepted");
    }
    let before_kb = peak_kb(pid);
    let placed = Instant::now();
    rig.place(expected - 1333.0);
    let (at, v) = next(&mut st, "weight_checked");
    let checked = at.duration_since(placed);
    assert_eq!(v["ok"], false, "{v}");
    // A scan right after: the bench is not stalled.
    let sent = st.scan("PB-UNDO");
    let (at, _) = next(&mut st, "scan_undone");
    let scan_ms = at.duration_since(sent).as_secs_f64() * 1000.0;
    let peak = peak_kb(pid);
    println!(
        "600-SKU order, 1,333 g light: placed → weight_checked {:.0} ms (scale frames every 50 ms), \
         next scan {:.1} ms, peak RSS {:.1} MB (before the check {:.1} MB), hint: {}, partial: {}",
        checked.as_secs_f64() * 1000.0,
        scan_ms,
        peak as f64 / 1024.0,
        before_kb as f64 / 1024.0,
        v["hint"],
        v["hint_detail"]["partial"]
    );
    st.term();
}
