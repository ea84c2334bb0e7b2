//! A bench rig for whole-station runs through the real binary: generated orders over the
//! fixture catalog, a scale streaming on a pty, the scanner on the station's stdin and a file
//! printer. Used by the crash harness (`tests/crash.rs`) and the soak (`benches/soak.rs`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use packbench::import::{import_file, ReadOptions};
use packbench::store::SqliteStore;
use packbench_drivers::scale::{ScaleProtocol, WeightUnit};
use packbench_drivers::serial::VirtualPort;
use packbench_drivers::sim::scale::{
    SimCondition, SimOptions, SimScale, SimScaleHandle, SimScaleState,
};
use serde_json::Value;

pub const PACKER: &str = "BADGE-E003";
pub const SUPERVISOR: &str = "BADGE-E005";
pub const SUPERVISOR_PIN: &str = "555555"; // its PIN in fixtures/employees.csv
pub const PICKER_ID: &str = "E001";

// The one runner and the one fixture loader, shared with `tests/common` (this module is also
// included where `tests/common` is not).
#[path = "../common/bin.rs"]
#[allow(clippy::duplicate_mod)]
pub mod bin;
#[path = "../common/fixtures.rs"]
#[allow(clippy::duplicate_mod)]
mod fixture_files;
#[allow(unused_imports)]
pub use fixture_files::{data_set, fixture, fixtures};

/// A number from the environment, or the default.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// splitmix64: reproducible runs from a printed seed, without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// 0..n
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// true with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// A catalog item the rig scans by its first (unit) barcode.
#[derive(Debug, Clone)]
pub struct Item {
    pub sku: String,
    pub barcode: String,
    pub grams: f64,
}

/// The fixture catalog's items, minus those whose per-SKU tolerance widens the band.
pub fn items() -> Vec<Item> {
    let mut r = csv::Reader::from_path(fixtures().join("catalog.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (sku, codes, w, tol) = (
        col("sku"),
        col("barcodes"),
        col("unit_weight_g"),
        col("weight_tolerance_g"),
    );
    r.records()
        .map(Result::unwrap)
        .filter(|rec| rec[tol].trim().is_empty())
        .map(|rec| Item {
            sku: rec[sku].to_string(),
            barcode: rec[codes].split('|').next().unwrap().to_string(),
            grams: rec[w].parse().unwrap(),
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct GenOrder {
    pub order_no: String,
    /// (item index, quantity)
    pub lines: Vec<(usize, u32)>,
    pub expected_g: f64,
}

impl GenOrder {
    pub fn units(&self) -> u32 {
        self.lines.iter().map(|l| l.1).sum()
    }
}

/// `n` orders of mixed sizes: half single-unit, most of the rest 2–4 units over 1–3 lines,
/// a few of up to 12 units over 5 lines.
pub fn generate(n: usize, rng: &mut Rng, items: &[Item]) -> Vec<GenOrder> {
    (0..n)
        .map(|i| {
            let kind = rng.below(100);
            let (n_lines, max_qty) = match kind {
                0..=49 => (1, 1),
                50..=89 => (1 + rng.below(3) as usize, 2),
                _ => (2 + rng.below(4) as usize, 3),
            };
            let mut lines: Vec<(usize, u32)> = Vec::new();
            while lines.len() < n_lines {
                let it = rng.below(items.len() as u64) as usize;
                if lines.iter().all(|l| l.0 != it) {
                    lines.push((it, 1 + rng.below(max_qty) as u32));
                }
            }
            let expected_g = lines
                .iter()
                .map(|&(it, q)| items[it].grams * f64::from(q))
                .sum();
            GenOrder {
                order_no: format!("SOAK{i:07}"),
                lines,
                expected_g,
            }
        })
        .collect()
}

pub fn write_orders_csv(path: &Path, orders: &[GenOrder], items: &[Item]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    // The contract's columns, and the picker from the pick list.
    let mut header = packbench::import::ORDER_COLUMNS.to_vec();
    header.push("picker_id");
    w.write_record(&header).unwrap();
    for o in orders {
        for &(it, q) in &o.lines {
            w.write_record([
                o.order_no.as_str(),
                &format!("WB{}", &o.order_no[4..]),
                "SF",
                "测试 Test",
                "CN",
                "浙江省杭州市",
                "",
                &items[it].sku,
                &q.to_string(),
                PICKER_ID,
            ])
            .unwrap();
        }
    }
    w.flush().unwrap();
}

/// A bench: database with the fixture catalog, staff and packaging plus the generated orders;
/// a Toledo continuous scale streaming every `scale_period` on a pty; the config.
pub struct Rig {
    pub rt: tokio::runtime::Runtime,
    pub scale: SimScaleHandle,
    pub dir: tempfile::TempDir,
    pub items: Vec<Item>,
    pub orders: Vec<GenOrder>,
}

/// Where a rig's bench gets its master data.
pub enum Setup<'a> {
    /// Imported into its own database (a bench alone).
    Alone,
    /// From a central database: nothing imported locally; the station's config names it.
    Central {
        station_id: &'a str,
        url: &'a str,
        /// `finish` or `open`.
        offline: &'a str,
        claim_timeout_ms: u64,
    },
}

impl Rig {
    /// The barcode of a generated item.
    pub fn barcode_of(&self, sku: &str) -> String {
        self.items
            .iter()
            .find(|i| i.sku == sku)
            .unwrap_or_else(|| panic!("no item {sku}"))
            .barcode
            .clone()
    }

    pub fn new(n_orders: usize, seed: u64, scale_period: Duration) -> Rig {
        Rig::with(n_orders, seed, scale_period, Setup::Alone)
    }

    /// `orders.csv` in the rig's folder: the generated orders, for a central import.
    pub fn orders_csv(&self) -> PathBuf {
        self.dir.path().join("orders.csv")
    }

    pub fn with(n_orders: usize, seed: u64, scale_period: Duration, setup: Setup) -> Rig {
        let mut rng = Rng::new(seed);
        let items = items();
        let orders = generate(n_orders, &mut rng, &items);
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("orders.csv");
        write_orders_csv(&csv, &orders, &items);
        let at = chrono::FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
            .unwrap();
        if let Setup::Alone = setup {
            let mut store = SqliteStore::open(dir.path().join("bench.db")).unwrap();
            for (kind, file) in data_set(Some(&csv)) {
                import_file(
                    &mut store,
                    kind,
                    &file,
                    &ReadOptions::default(),
                    "RIG",
                    at,
                    &mut |_| {},
                )
                .unwrap();
            }
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let port = rt.block_on(async { VirtualPort::new().unwrap() });
        let sim = SimScale::new(
            ScaleProtocol::ToledoContinuous,
            SimScaleState::new(0.0, WeightUnit::Kilogram, 3),
        )
        .with_options(SimOptions {
            repeat_interval: scale_period,
            ..SimOptions::default()
        });
        let scale = sim.handle();
        let scale_path = port.path().display().to_string();
        rt.spawn(async move {
            let _ = sim.serve(port).await;
        });
        let (station, central) = match setup {
            Setup::Alone => ("BENCH-R".to_string(), String::new()),
            Setup::Central {
                station_id,
                url,
                offline,
                claim_timeout_ms,
            } => (
                station_id.to_string(),
                format!(
                    "[central]\nurl = \"{url}\"\noffline = \"{offline}\"\n\
                     claim_timeout_ms = {claim_timeout_ms}\n"
                ),
            ),
        };
        std::fs::write(
            dir.path().join("station.toml"),
            format!(
                "station_id = \"{station}\"\ndatabase = \"bench.db\"\n\
                 [[scanner]]\nport = \"stdin\"\n\
                 [scale]\nport = \"{scale_path}\"\nprotocol = \"toledo-continuous\"\n\
                 [printer]\ntarget = \"file://{}\"\n\
                 [sound]\nalerts = false\n{central}",
                dir.path().join("labels.bin").display()
            ),
        )
        .unwrap();
        Rig {
            rt,
            scale,
            dir,
            items,
            orders,
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("bench.db")
    }

    /// The stations' stderr, all runs appended: `packbench:` warnings and errors.
    pub fn stderr_log(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("stderr.log"))
            .unwrap()
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    pub fn place(&self, grams: f64) {
        self.scale.set_load(grams, SimCondition::Normal);
    }

    pub fn spawn(&self, binary: &Path) -> Station {
        spawn_station(binary, self.dir.path(), self.stderr_log(), &[])
    }

    /// The same with more environment variables.
    pub fn spawn_env(&self, binary: &Path, env: &[(&str, String)]) -> Station {
        spawn_station(binary, self.dir.path(), self.stderr_log(), env)
    }
}

/// Starts `packbench run --headless --config station.toml` in `dir`, the scanner on its stdin,
/// its lines read on a thread.
pub fn spawn_station(
    binary: &Path,
    dir: &Path,
    stderr: impl Into<Stdio>,
    env: &[(&str, String)],
) -> Station {
    let mut child = bin::command_at(binary)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["run", "--headless", "--config", "station.toml"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let bad = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let bad_lines = bad.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { return };
            // Not a printed event: a line cut short by a kill (allowed), or a bug (`term`
            // refuses it).
            let Ok(v) = serde_json::from_str::<Value>(&l) else {
                bad_lines.lock().unwrap().push(l);
                continue;
            };
            if tx.send((Instant::now(), v)).is_err() {
                return;
            }
        }
    });
    Station {
        child,
        stdin,
        lines,
        seen: Vec::new(),
        bad,
        reaped: false,
    }
}

pub struct Station {
    pub child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<(Instant, Value)>,
    /// Every line read so far, in order.
    pub seen: Vec<Value>,
    /// Output lines that were not JSON.
    bad: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reaped: bool,
}

impl Drop for Station {
    /// A failed test must not leave a station running: it would keep its serial ports (and
    /// their locks) and the next run's stations would find them busy.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Station {
    /// Sends a scan; returns when it was written (the scan's start time for latency).
    pub fn scan(&mut self, code: &str) -> Instant {
        let t = Instant::now();
        // A station that just died makes this fail; its lines tell what it took.
        let _ = writeln!(self.stdin, "{code}").and_then(|_| self.stdin.flush());
        t
    }

    /// The next line, waiting up to `wait`.
    pub fn line(&mut self, wait: Duration) -> Option<(Instant, Value)> {
        let r = self.lines.recv_timeout(wait).ok()?;
        self.seen.push(r.1.clone());
        Some(r)
    }

    /// Lines until one satisfies `want`, waiting up to `wait` in all.
    pub fn until(
        &mut self,
        wait: Duration,
        mut want: impl FnMut(&Value) -> bool,
    ) -> Option<(Instant, Value)> {
        let end = Instant::now() + wait;
        loop {
            let left = end.checked_duration_since(Instant::now())?;
            let r = self.line(left)?;
            if want(&r.1) {
                return Some(r);
            }
        }
    }

    /// Has the process ended (killed, or killed itself)? Its output closes a moment before
    /// it can be reaped, so this waits up to 2 s for a dying process.
    pub fn exited(&mut self) -> bool {
        let end = Instant::now() + Duration::from_secs(2);
        loop {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL; returns every line the station printed before it died.
    pub fn kill(self) -> Vec<Value> {
        self.kill_status().1
    }

    /// SIGKILL; returns how the station ended and every line it printed before. A station
    /// that had already ended (killed itself, or panicked) keeps its own status: SIGKILL to an
    /// unreaped zombie changes nothing, and std sends nothing to a reaped child.
    pub fn kill_status(mut self) -> (std::process::ExitStatus, Vec<Value>) {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.reaped = true;
        // The reader thread ends at EOF: everything printed is in the channel now.
        while let Ok((_, v)) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(v);
        }
        (status, std::mem::take(&mut self.seen))
    }

    /// SIGTERM and wait: (exit code, every line printed).
    pub fn term(mut self) -> (Option<i32>, Vec<Value>) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let code = self.child.wait().unwrap().code();
        self.reaped = true;
        while let Ok((_, v)) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(v);
        }
        let bad = self.bad.lock().unwrap();
        assert!(bad.is_empty(), "lines that are not JSON: {bad:?}");
        drop(bad);
        (code, std::mem::take(&mut self.seen))
    }
}

/// Resident memory of a process in KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Scans an order at a bench and packs it: every unit still to scan, the right weight, then
/// the parcel lifted. Returns the `order_loaded` line (its counts include other benches').
pub fn pack(rig: &Rig, st: &mut Station, order: &GenOrder, wait: Duration) -> Value {
    let loaded = open(st, &order.order_no, wait);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    scan_rest(rig, st, &loaded, wait);
    rig.place(order.expected_g);
    let p = st
        .until(wait, |v| v["event"] == "order_packed")
        .unwrap_or_else(|| panic!("{} not packed; seen: {:#?}", order.order_no, st.seen));
    assert_eq!(p.1["order_no"], order.order_no.as_str());
    rig.place(0.0);
    loaded
}

/// Scans an order number: the `order_loaded` or `scan_rejected` answer.
pub fn open(st: &mut Station, order_no: &str, wait: Duration) -> Value {
    st.scan(order_no);
    st.until(wait, |v| {
        (v["event"] == "order_loaded" || v["event"] == "scan_rejected") && v["order_no"] == order_no
    })
    .unwrap_or_else(|| panic!("no answer to {order_no}; seen: {:#?}", st.seen))
    .1
}

/// Scans the units an `order_loaded` line says are still missing.
pub fn scan_rest(rig: &Rig, st: &mut Station, loaded: &Value, wait: Duration) {
    for l in loaded["lines"].as_array().unwrap() {
        let sku = l["sku"].as_str().unwrap();
        let left = l["qty"].as_u64().unwrap() - l["scanned"].as_u64().unwrap();
        let code = rig.barcode_of(sku);
        for _ in 0..left {
            st.scan(&code);
            let a = st
                .until(wait, |v| {
                    v["event"] == "item_accepted" || v["event"] == "scan_rejected"
                })
                .unwrap_or_else(|| panic!("no answer to {code}; seen: {:#?}", st.seen))
                .1;
            assert_eq!(a["event"], "item_accepted", "{a}");
        }
    }
}

/// The planned stop (a kill, a power cut) is due.
pub struct Due;

/// Inputs left before a planned stop (`left: None`: none planned), the wait after the input
/// that used them up, and when the last scan was sent (for scan → line times).
#[derive(Default)]
pub struct Budget {
    pub left: Option<u32>,
    pub delay: Duration,
    pub sent_at: Option<Instant>,
}

impl Budget {
    fn input(&mut self) -> Result<(), Due> {
        match &mut self.left {
            Some(0) => Err(Due),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// After the input that used up the budget: wait, then the stop is due.
    fn after_input(&self) -> Result<(), Due> {
        if self.left == Some(0) {
            spin(self.delay);
            return Err(Due);
        }
        Ok(())
    }

    pub fn scan(&mut self, st: &mut Station, code: &str) -> Result<(), Due> {
        self.input()?;
        self.sent_at = Some(st.scan(code));
        self.after_input()
    }

    pub fn place(&mut self, rig: &Rig, grams: f64) -> Result<(), Due> {
        self.input()?;
        rig.place(grams);
        self.after_input()
    }
}

/// Busy-waits short delays: sleep's granularity would blur the sub-millisecond ones that land
/// inside a commit.
pub fn spin(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

/// Accepted units per order and per (order, sku) in the log.
pub fn units_in_log(
    store: &SqliteStore,
) -> (
    std::collections::HashMap<String, u32>,
    std::collections::HashMap<String, std::collections::HashMap<String, u32>>,
) {
    use packbench::domain::event::EventData;
    use packbench::store::EventLog;
    let mut per_order = std::collections::HashMap::new();
    let mut per_sku: std::collections::HashMap<String, std::collections::HashMap<String, u32>> =
        Default::default();
    for e in store.events(&Default::default()).unwrap() {
        let (sku, units) = match e.payload() {
            Some(EventData::ItemAccepted(a)) => (a.sku, i64::from(a.units)),
            Some(EventData::ScanUndone(u)) => (u.sku, -i64::from(u.units)),
            _ => continue,
        };
        let o = e.order_no.clone().unwrap();
        let t = per_order.entry(o.clone()).or_insert(0u32);
        *t = (i64::from(*t) + units) as u32;
        let s = per_sku.entry(o).or_default().entry(sku).or_insert(0u32);
        *s = (i64::from(*s) + units) as u32;
    }
    (per_order, per_sku)
}

/// A kill counts only when the station died of SIGKILL and did not panic first; anything
/// else fails with what the station said.
pub fn assert_died_of_sigkill(status: std::process::ExitStatus, stderr: &str) {
    use std::os::unix::process::ExitStatusExt;
    let tail = &stderr[stderr.len().saturating_sub(4000)..];
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "the station did not die of SIGKILL ({status}); its stderr:\n{tail}"
    );
    assert!(
        !stderr.contains("panicked at"),
        "the station panicked before its SIGKILL; its stderr:\n{tail}"
    );
}

/// An `order_loaded` line's counts per SKU: what is still to scan, and what it shows scanned
/// (never more than ordered).
pub fn loaded_counts(v: &Value) -> (Vec<(String, u32)>, std::collections::HashMap<String, u32>) {
    let mut left = Vec::new();
    let mut shown = std::collections::HashMap::new();
    for l in v["lines"].as_array().unwrap() {
        let sku = l["sku"].as_str().unwrap().to_string();
        let (qty, scanned) = (l["qty"].as_u64().unwrap(), l["scanned"].as_u64().unwrap());
        assert!(scanned <= qty, "{v}");
        shown.insert(sku.clone(), scanned as u32);
        left.push((sku, (qty - scanned) as u32));
    }
    (left, shown)
}

/// A reopened order shows exactly the counts the log held (a SKU absent there: none).
pub fn assert_shows_log(
    shown: &std::collections::HashMap<String, u32>,
    log: &std::collections::HashMap<String, u32>,
    order_no: &str,
) {
    let want: std::collections::HashMap<String, u32> = shown
        .keys()
        .map(|k| (k.clone(), log.get(k).copied().unwrap_or(0)))
        .collect();
    assert_eq!(shown, &want, "reopened {order_no} shows the log's counts");
}
