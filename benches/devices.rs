//! Device-path benchmarks through the real binary (figures, not tests):
//! `cargo bench --bench devices`. Scans go over a pty, the scale is simulated on a pty, the
//! printer on loopback TCP.

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::time::{Duration, Instant};

use chrono::TimeZone;
use packbench_drivers::label::{build_label, CaptionLanguage, LabelData, LabelLine, PaperWidth};
use packbench_drivers::printer::PrinterSimulator;
use packbench_drivers::scale::{ScaleProtocol, WeightUnit};
use packbench_drivers::scanner::Suffix;
use packbench_drivers::serial::VirtualPort;
use packbench_drivers::sim::scale::{SimCondition, SimScale, SimScaleHandle, SimScaleState};
use packbench_drivers::sim::scanner::encode_scan;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

struct Station {
    rt: tokio::runtime::Runtime,
    scanner: VirtualPort,
    scale: SimScaleHandle,
    _printer: PrinterSimulator,
    run: harness::Station,
    _dir: tempfile::TempDir,
}

impl Station {
    fn start(protocol: ScaleProtocol) -> Station {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR").to_string() + "/target").unwrap();
        let mut s = packbench::store::SqliteStore::open(dir.path().join("bench.db")).unwrap();
        let at = chrono::FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, 0, 0, 0)
            .unwrap();
        let fx = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        packbench::import::import_data_set(&mut s, &fx, "B", at).unwrap();
        drop(s);
        let (scanner, scale_port, printer) = rt.block_on(async {
            (
                VirtualPort::new().unwrap(),
                VirtualPort::new().unwrap(),
                PrinterSimulator::start().await.unwrap(),
            )
        });
        let sim = SimScale::new(protocol, SimScaleState::new(0.0, WeightUnit::Kilogram, 3));
        let scale = sim.handle();
        let scale_path = scale_port.path().display().to_string();
        rt.spawn(async move {
            let _ = sim.serve(scale_port).await;
        });
        std::fs::write(
            dir.path().join("station.toml"),
            format!(
                "station_id = \"B\"\ndatabase = \"bench.db\"\n[[scanner]]\nport = \"{}\"\n[scale]\nport = \"{scale_path}\"\nprotocol = \"{}\"\nunit = \"kg\"\n[printer]\ntarget = \"tcp://127.0.0.1:{}\"\n",
                scanner.path().display(),
                protocol.name(),
                printer.port()
            ),
        )
        .unwrap();
        let run = harness::spawn_station(
            harness::bin::path(),
            dir.path(),
            std::process::Stdio::null(),
            &[],
        );
        let mut st = Station {
            rt,
            scanner,
            scale,
            _printer: printer,
            run,
            _dir: dir,
        };
        st.wait("device");
        st.wait("device");
        st
    }

    fn scan(&mut self, code: &str) -> Instant {
        let bytes = encode_scan(code, None, Some(Suffix::Cr));
        let port = &mut self.scanner;
        self.rt.block_on(async {
            let t = Instant::now();
            port.write_all(&bytes).await.unwrap();
            port.flush().await.unwrap();
            t
        })
    }

    fn wait(&mut self, event: &str) -> (Instant, Value) {
        self.run
            .until(Duration::from_secs(20), |v| v["event"] == event)
            .expect("line")
    }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

fn scan_latency() {
    let mut st = Station::start(ScaleProtocol::MtSics);
    st.scan("BADGE-E003");
    st.wait("packer_signed_in");
    st.scan("TB20261122004"); // T-BLU-M ×3 + SOCK-WHT
    st.wait("order_loaded");
    let code = "6975432100120";
    let mut lat = Vec::new();
    for i in 0..400 {
        let (c, ev) = if i % 2 == 0 {
            (code, "item_accepted")
        } else {
            ("PB-UNDO", "scan_undone")
        };
        let t0 = st.scan(c);
        let (t1, _) = st.wait(ev);
        lat.push(t1 - t0);
    }
    let wire_ms = (code.len() + 1) as f64 * 10.0 / 9600.0 * 1e3;
    println!(
        "serial scan -> JSON line over a pty (400 scans): p50 {:.2} ms, p99 {:.2} ms; wire time of the same {} bytes at 9600 baud 8N1: {:.1} ms",
        pct(&mut lat.clone(), 0.5),
        pct(&mut lat, 0.99),
        code.len() + 1,
        wire_ms
    );
}

fn weigh_delay(protocol: ScaleProtocol) {
    let mut st = Station::start(protocol);
    st.scan("BADGE-E003");
    st.wait("packer_signed_in");
    let mut lat = Vec::new();
    st.scan("TB20261122001");
    st.wait("order_loaded");
    for _ in 0..20 {
        for c in ["6975432100137", "6975432201018", "6975432201018"] {
            st.scan(c);
            st.wait("item_accepted");
        }
        std::thread::sleep(Duration::from_millis(150));
        // A wrong weight, so the order stays open for the next round.
        let t0 = Instant::now();
        st.scale.set_load(600.0, SimCondition::Normal);
        let (t1, v) = st.wait("weight_checked");
        assert_eq!(v["ok"], false);
        lat.push(t1 - t0);
        st.scale.set_load(0.0, SimCondition::Normal);
        for _ in 0..3 {
            st.scan("PB-UNDO");
            st.wait("scan_undone");
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    println!(
        "{:<18} first stable reading -> weight_checked: p50 {:.1} ms, p99 {:.1} ms (20 weighings)",
        protocol.name(),
        pct(&mut lat.clone(), 0.5),
        pct(&mut lat, 0.99)
    );
}

fn label_figures() {
    let data = LabelData {
        order_no: "TB20261122001".into(),
        waybill_no: "SF1498369006026".into(),
        carrier: "顺丰速运".into(),
        recipient: "李娜".into(),
        country: "CN".into(),
        address: "浙江省杭州市西湖区文三路398号东信大厦12楼".into(),
        lines: vec![
            LabelLine {
                sku: "T-BLU-L".into(),
                name: "纯棉T恤 蓝色 Cotton T-shirt".into(),
                qty: 1,
                gift: false,
            },
            LabelLine {
                sku: "SOCK-BLK".into(),
                name: "精梳棉中筒袜 黑色 Cotton socks".into(),
                qty: 2,
                gift: false,
            },
            LabelLine {
                sku: "STICKER-LOGO".into(),
                name: "品牌贴纸 Logo sticker".into(),
                qty: 1,
                gift: true,
            },
        ],
        buyer_note: "请不要放发票".into(),
        picker: "E001 王芳".into(),
        packer: "E003 张伟".into(),
        weight_grams: Some(266),
        bench: "BENCH-01".into(),
        time: "2026-11-22 10:00".into(),
        reprint: None,
        paper: PaperWidth::Mm80,
        chinese: true,
        language: CaptionLanguage::SimplifiedChinese,
    };
    for (paper, name) in [(PaperWidth::Mm80, "80 mm"), (PaperWidth::Mm58, "58 mm")] {
        let d = LabelData {
            paper,
            ..data.clone()
        };
        let n = 20_000;
        let t = Instant::now();
        let mut bytes = 0;
        for _ in 0..n {
            bytes = build_label(std::hint::black_box(&d)).len();
        }
        println!(
            "label, 3 lines, Chinese, {name}: {bytes} bytes, built in {:.1} µs; {:.0} ms on the wire at 9600 baud, {:.2} ms at 100 Mbit/s",
            t.elapsed().as_secs_f64() * 1e6 / n as f64,
            bytes as f64 * 10.0 / 9600.0 * 1e3,
            bytes as f64 * 8.0 / 100e6 * 1e3
        );
        // The on-screen preview: the same bytes drawn as printed (font loaded per label, as
        // the window does).
        let job = build_label(&d);
        let n = 50;
        let t = Instant::now();
        let mut size = (0, 0);
        for _ in 0..n {
            let r = packbench::station::label::printed(std::hint::black_box(&job), paper)
                .expect("bundled font");
            size = (r.width, r.height);
        }
        println!(
            "label preview, {name}: {}x{} dots drawn in {:.2} ms",
            size.0,
            size.1,
            t.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    }
    let n = 20;
    let t = Instant::now();
    let mut bytes = 0;
    for _ in 0..n {
        bytes = packbench::sheets::command_sheet_pdf().expect("sheet").len();
    }
    println!(
        "command sheet PDF: {bytes} bytes in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let run = |n: &str| filter.as_deref().is_none_or(|f| n.contains(f));
    if run("label") {
        label_figures();
    }
    if run("scan") {
        scan_latency();
    }
    if run("scale") {
        for p in ScaleProtocol::ALL {
            weigh_delay(p);
        }
    }
}
