//! A station behind the real window for UI tests: the fixture data in a temporary demo
//! database, the real station loop and lookup worker, the file printer, and Slint's testing
//! backend with the software renderer (so snapshots show real glyphs). Each test thread gets
//! its own backend; elements are found by accessible label or element id, and a missing
//! element fails the test with the labels that are there.
#![allow(dead_code)]

pub mod shots;
pub mod words;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset, TimeZone};
use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use packbench::ui::{demo, launch, Api, AppWindow, Launch, Running};
pub use packbench::ui::{Language, Step};
use slint::platform::{Key, WindowEvent};
use slint::{ComponentHandle, LogicalSize};

pub const PACKER: &str = "BADGE-E003"; // E003 张伟, packer only
pub const PACKER2: &str = "BADGE-E004"; // E004 Lucy Chen, packer only
pub const SUPERVISOR: &str = "BADGE-E005"; // E005 刘洋, supervisor only
pub const SUPERVISOR_PIN: &str = "555555"; // E005's PIN in fixtures/employees.csv
pub const PACKER_PIN: &str = "3333"; // E003's
pub const PICKER: &str = "BADGE-E007"; // E007 Tom Zhao, picker only
pub const ORDER1: &str = "TB20261122001"; // T-BLU-L ×1 + SOCK-BLK ×2, 265 g, picker E001
pub const ORDER1_WAYBILL: &str = "SF1498369006026";
pub const T_BLU_L: &str = "6975432100137";
pub const SOCK_BLK: &str = "6975432201018";
pub const LIP_R02: &str = "6921568310025"; // in ORDER2, not in ORDER1
pub const ORDER2: &str = "TB20261122002"; // no picker; 107 g; gift INT-0107
pub const HOSTILE_NOTE_ORDER: &str = "AE8012345719";

/// The wholesale order of [`big_order`]: 600 lines of 600 SKUs.
pub const BIG_ORDER: &str = "WS20261122600";
pub const BIG_LINES: usize = 600;

/// Imports a 600-line wholesale order into the bench's store (the station reloads its
/// reference data on the next scan): SKUs `BIG-000` … `BIG-599`, each with a valid EAN-13,
/// one line each, every third line two units. Returns each line's barcode, in line order.
pub fn big_order(b: &TestBench) -> Vec<String> {
    use packbench::domain::barcode::gtin_check_digit;
    use packbench::import::{import_file, Kind, ReadOptions};
    let mut cat = String::from("sku,name,barcodes,unit_weight_g,weight_tolerance_g,attributes\n");
    let mut ord = String::from(
        "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty,picker_id,gift,status\n",
    );
    let mut codes = Vec::new();
    for i in 0..BIG_LINES {
        let data = format!("69{:010}", 700_000 + i);
        let ean = format!("{data}{}", gtin_check_digit(&data).unwrap());
        let w = 20 + (i * 37) % 300;
        cat.push_str(&format!(
            "BIG-{i:03},批发 Item {i:03},{ean},{w},,colour=蓝;size=M\n"
        ));
        let qty = if i % 3 == 0 { 2 } else { 1 };
        ord.push_str(&format!(
            "{BIG_ORDER},YT6000000000600,圆通速递,批发客户,CN,上海市,,BIG-{i:03},{qty},E001,,\n"
        ));
        codes.push(ean);
    }
    let mut store = packbench::store::SqliteStore::open(&b.db).unwrap();
    for (kind, name, text) in [
        (Kind::Catalog, "big-catalog.csv", cat),
        (Kind::Orders, "big-orders.csv", ord),
    ] {
        let path = b.dir.join(name);
        std::fs::write(&path, text).unwrap();
        import_file(
            &mut store,
            kind,
            &path,
            &ReadOptions::default(),
            "DEMO-01",
            base_time(),
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    codes
}

/// Every text cell of the fixtures' files (names, products, recipients, addresses, notes,
/// codes), and each product attribute as the screen shows it ("colour=蓝"): data, shown as
/// it is in either language.
pub fn fixture_words() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    for f in [
        "catalog.csv",
        "employees.csv",
        "orders.csv",
        "packaging.csv",
    ] {
        let mut r = csv::Reader::from_path(dir.join(f)).unwrap();
        // Roles are packbench's own words (the screens must say them), not shop data.
        let skip: Vec<usize> = r
            .headers()
            .unwrap()
            .iter()
            .enumerate()
            .filter(|(_, h)| matches!(*h, "roles" | "pin"))
            .map(|(i, _)| i)
            .collect();
        for row in r.records() {
            for (i, cell) in row.unwrap().iter().enumerate() {
                if skip.contains(&i) {
                    continue;
                }
                out.extend(cell.split(';').map(str::to_string));
                out.push(cell.to_string());
            }
        }
    }
    out
}

/// 2026-11-22 10:00 Beijing time, then real time passing.
pub fn base_time() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .unwrap()
}

pub fn init_backend() {
    // Per thread: without an event loop each test thread has its own platform.
    let _ = slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })));
}

pub struct TestBench {
    pub running: Option<Running>,
    pub dir: PathBuf,
    pub labels: PathBuf,
    pub db: PathBuf,
}

impl TestBench {
    pub fn new() -> TestBench {
        Self::with_size(1280.0, 800.0)
    }

    pub fn with_size(w: f32, h: f32) -> TestBench {
        Self::with_printer_setup(w, h, |_| {})
    }

    /// A bench whose printer section is changed first (paper width, label language).
    pub fn with_printer_setup(
        w: f32,
        h: f32,
        tweak: impl FnOnce(&mut packbench::config::PrinterConfig),
    ) -> TestBench {
        Self::with_config(w, h, "DEMO-01", |cfg| {
            tweak(cfg.printer.as_mut().expect("the demo has a printer"))
        })
    }

    /// A bench named `station` whose demo config is changed first (a [central] section).
    pub fn with_config(
        w: f32,
        h: f32,
        station: &str,
        tweak: impl FnOnce(&mut packbench::config::Config),
    ) -> TestBench {
        init_backend();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "packbench-ui-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let mut d = demo::prepare_as(&dir, station).expect("demo data");
        tweak(&mut d.cfg);
        let app = AppWindow::new().expect("window");
        app.window().set_size(LogicalSize::new(w, h));
        packbench::ui::bridge::set_language(&app, Language::En);
        let start = Instant::now();
        let clock: launch::SharedClock = Arc::new(move || {
            base_time() + Duration::milliseconds(start.elapsed().as_millis() as i64)
        });
        let running = launch::start(
            app,
            Launch {
                cfg: d.cfg,
                db: d.db.clone(),
                sim: Some(d.sim),
                clock: Some(clock),
                events_out: Box::new(std::io::sink()),
                wake_event_loop: false,
            },
        )
        .expect("station starts");
        let b = TestBench {
            running: Some(running),
            dir,
            labels: d.labels,
            db: d.db,
        };
        b.api().set_simulator_open(true);
        b.app().show().expect("show");
        b.settle();
        b
    }

    pub fn app(&self) -> &AppWindow {
        &self.running.as_ref().unwrap().screen.window
    }

    pub fn api(&self) -> Api<'_> {
        self.app().global::<Api>()
    }

    /// Waits until the station and the lookup worker answered everything, then shows it.
    pub fn settle(&self) {
        assert!(
            self.running.as_ref().unwrap().screen.settle(),
            "the station did not answer in time"
        );
        // What an event loop's turn does before it draws: the markup's change handlers
        // (the pack screen brings the line just scanned into view in one).
        slint::platform::update_timers_and_animations();
    }

    fn labels_on_screen(&self) -> Vec<String> {
        let mut out = Vec::new();
        let root = i_slint_backend_testing::ElementQuery::from_root(self.app())
            .match_predicate(|e| e.accessible_label().is_some_and(|l| !l.is_empty()))
            .find_all();
        for e in root {
            out.push(e.accessible_label().unwrap().to_string());
        }
        out
    }

    /// The element with this accessible label; fails the test when there is none.
    pub fn find(&self, label: &str) -> ElementHandle {
        ElementHandle::find_by_accessible_label(self.app(), label)
            .next()
            .unwrap_or_else(|| {
                panic!(
                    "no element labelled {label:?} on screen; labels: {:?}",
                    self.labels_on_screen()
                )
            })
    }

    pub fn has(&self, label: &str) -> bool {
        ElementHandle::find_by_accessible_label(self.app(), label)
            .next()
            .is_some()
    }

    /// The element with this id ("Component::id"); fails the test when there is none.
    pub fn find_id(&self, id: &str) -> ElementHandle {
        ElementHandle::find_by_element_id(self.app(), id)
            .next()
            .unwrap_or_else(|| panic!("no element with id {id:?} on screen"))
    }

    pub fn has_id(&self, id: &str) -> bool {
        ElementHandle::find_by_element_id(self.app(), id)
            .next()
            .is_some()
    }

    /// Presses a button (its accessible action) and waits for the station.
    pub fn tap(&self, label: &str) {
        let e = self.find(label);
        assert_ne!(e.accessible_enabled(), Some(false), "{label:?} is disabled");
        e.invoke_accessible_default_action();
        self.settle();
    }

    pub fn tap_id(&self, id: &str) {
        let e = self.find_id(id);
        assert_ne!(e.accessible_enabled(), Some(false), "{id:?} is disabled");
        e.invoke_accessible_default_action();
        self.settle();
    }

    /// Types `code` and Enter on the keyboard, as a USB keyboard-wedge scanner does, with no
    /// text field focused.
    pub fn wedge(&self, code: &str) {
        let w = self.app().window();
        for c in code.chars() {
            let text: slint::SharedString = c.to_string().into();
            w.dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
            w.dispatch_event(WindowEvent::KeyReleased { text });
        }
        let enter: slint::SharedString = Key::Return.into();
        w.dispatch_event(WindowEvent::KeyPressed {
            text: enter.clone(),
        });
        w.dispatch_event(WindowEvent::KeyReleased { text: enter });
        self.settle();
    }

    /// Types `pin` on the PIN pad and presses OK.
    pub fn pin(&self, pin: &str) {
        self.find("pin pad");
        for d in pin.chars() {
            self.tap(&format!("pin {d}"));
        }
        self.tap("pin ok");
    }

    /// A supervisor's approval: badge, PIN, reason.
    pub fn approve(&self, reason: &str) {
        self.wedge(SUPERVISOR);
        self.pin(SUPERVISOR_PIN);
        self.tap(&format!("reason {reason}"));
    }

    /// Sends a reading straight to the station, as a scale would.
    pub fn weigh(&self, grams: f64) {
        self.running.as_ref().unwrap().screen.station().send(
            packbench::station::runtime::Msg::Weight {
                grams,
                stable: true,
            },
        );
        self.settle();
    }

    pub fn value(&self, label: &str) -> String {
        self.find(label)
            .accessible_value()
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    pub fn step(&self) -> Step {
        self.api().get_step()
    }

    /// Renders the window with the software renderer.
    pub fn snapshot(&self) -> slint::SharedPixelBuffer<slint::Rgba8Pixel> {
        self.app().window().take_snapshot().expect("snapshot")
    }

    /// The render as the screenshot comparison takes it.
    pub fn image(&self) -> shots::Image {
        let img = self.snapshot();
        shots::Image {
            width: img.width(),
            height: img.height(),
            rgba: img.as_bytes().to_vec(),
        }
    }

    pub fn save_png(&self, path: &Path) {
        let img = self.snapshot();
        write_png(path, img.width(), img.height(), img.as_bytes());
    }
}

impl Drop for TestBench {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes an RGBA buffer as a PNG.
pub fn write_png(path: &Path, w: u32, h: u32, rgba: &[u8]) {
    let f = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut enc = png::Encoder::new(std::io::BufWriter::new(f), w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    let mut wr = enc.write_header().expect("png header");
    wr.write_image_data(rgba).expect("png data");
}
