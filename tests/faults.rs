//! The fault harness: what a warehouse does to a bench, through the real binary. Each test
//! breaks one thing in the middle of an order, checks the station says what is wrong and
//! loses nothing, clears the fault and checks the station carries on.
//!
//! Devices: the scanner on the station's stdin (or on a pty behind a by-id style link, for
//! the unplug), a Toledo continuous scale fed by this file on a pty behind a link (so it can be
//! unplugged, replugged, made to send garbage or run at the wrong baud rate), the ESC/POS
//! printer simulator on loopback TCP. The disk-full test puts the database on a 3 MB tmpfs
//! (mounted directly as root, or else inside a user and mount namespace of its own).

mod common;
mod harness;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use harness::{spawn_station, Station};
use packbench_drivers::printer::{PrinterSimulator, SimMode};
use packbench_drivers::scale::WeightUnit;
use packbench_drivers::scanner::Suffix;
use packbench_drivers::serial::VirtualPort;
use packbench_drivers::sim::scale::{toledo_continuous_frame, SimCondition, SimScaleState};
use packbench_drivers::sim::scanner::encode_scan;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

const WAIT: Duration = Duration::from_secs(20);

/// What the fed scale sends every 20 ms.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Feed {
    Frames,
    /// 1–40 random bytes before every frame.
    GarbageBetween,
    /// Random bytes only.
    Garbage,
    /// The frames as a 9600-baud port reads a scale sending at 2400 baud.
    WrongBaud,
}

struct Scale {
    link: PathBuf,
    feed: Arc<Mutex<Feed>>,
    state: Arc<Mutex<SimScaleState>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// The bytes a UART at `read_at` baud makes of `bytes` sent 8N1 at `sent_at` baud: the line is
/// sampled where the reader expects each bit, from each falling edge it takes for a start bit.
fn rebaud(bytes: &[u8], sent_at: u32, read_at: u32) -> Vec<u8> {
    let mut bits = Vec::new();
    for &b in bytes {
        bits.push(false);
        bits.extend((0..8).map(|i| b >> i & 1 == 1));
        bits.push(true);
    }
    let level = |t: f64| -> bool {
        let i = (t * f64::from(sent_at)) as usize;
        bits.get(i).copied().unwrap_or(true)
    };
    let end = bits.len() as f64 / f64::from(sent_at);
    let step = 1.0 / f64::from(read_at) / 16.0;
    let bit = 1.0 / f64::from(read_at);
    let (mut out, mut t, mut prev) = (Vec::new(), 0.0, true);
    while t < end {
        let now = level(t);
        if prev && !now {
            let mut byte = 0u8;
            for i in 0..8 {
                if level(t + bit * (1.5 + f64::from(i))) {
                    byte |= 1 << i;
                }
            }
            out.push(byte);
            t += bit * 9.5;
            prev = level(t);
            continue;
        }
        prev = now;
        t += step;
    }
    out
}

impl Scale {
    fn plug(&mut self, rt: &tokio::runtime::Runtime) {
        let port = rt.block_on(async { VirtualPort::new().unwrap() });
        let _ = std::fs::remove_file(&self.link);
        std::os::unix::fs::symlink(port.path(), &self.link).unwrap();
        let (feed, state) = (self.feed.clone(), self.state.clone());
        self.task = Some(rt.spawn(async move {
            let mut port = port;
            let mut seed = 0x1234_5678_u64;
            let mut garbage = |n: usize| -> Vec<u8> {
                (0..n)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        (seed >> 33) as u8
                    })
                    .collect()
            };
            loop {
                let frame = toledo_continuous_frame(&state.lock().unwrap().clone(), true);
                let mode = *feed.lock().unwrap();
                let bytes = match mode {
                    Feed::Frames => frame,
                    Feed::GarbageBetween => {
                        let n = 1 + garbage(1)[0] as usize % 40;
                        let mut g = garbage(n);
                        g.extend_from_slice(&frame);
                        g
                    }
                    Feed::Garbage => garbage(20),
                    Feed::WrongBaud => rebaud(&frame, 2400, 9600),
                };
                if port.write_all(&bytes).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    /// Pulls the cable: the port vanishes, its link too.
    fn unplug(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        std::fs::remove_file(&self.link).unwrap();
    }

    fn set(&self, grams: f64, condition: SimCondition) {
        *self.state.lock().unwrap() =
            SimScaleState::new(grams, WeightUnit::Kilogram, 3).with_condition(condition);
    }

    fn feed(&self, f: Feed) {
        *self.feed.lock().unwrap() = f;
    }
}

struct Bench {
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    scale: Scale,
    printer: PrinterSimulator,
    st: Option<Station>,
}

impl Bench {
    /// `db_dir`: where the database lives (default: the bench's folder). `extra`: more config.
    fn start(db_dir: Option<&Path>, extra: &str) -> Bench {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = db_dir.unwrap_or(dir.path()).join("bench.db");
        import_fixtures(&mut packbench::store::SqliteStore::open(&db).unwrap());
        let printer = rt.block_on(PrinterSimulator::start()).unwrap();
        let mut scale = Scale {
            link: dir.path().join("scale-by-id"),
            feed: Arc::new(Mutex::new(Feed::Frames)),
            state: Arc::new(Mutex::new(SimScaleState::new(0.0, WeightUnit::Kilogram, 3))),
            task: None,
        };
        scale.plug(&rt);
        std::fs::write(
            dir.path().join("station.toml"),
            format!(
                "station_id = \"BENCH-F\"\ndatabase = \"{}\"\n\
                 [[scanner]]\nport = \"stdin\"\n{extra}\n\
                 [scale]\nport = \"{}\"\nprotocol = \"toledo-continuous\"\nchecksum = true\n\
                 no_reading_alarm_s = 0.5\nunsettled_alarm_s = 0.5\n\
                 [printer]\ntarget = \"tcp://127.0.0.1:{}\"\n[sound]\nalerts = false\n",
                db.display(),
                scale.link.display(),
                printer.port()
            ),
        )
        .unwrap();
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let bin = bin::path();
        // Debug diagnostics on: the garbage test reads the codec's resync lines.
        let st = spawn_station(bin, dir.path(), stderr, &[("RUST_LOG", "debug".into())]);
        let mut b = Bench {
            rt,
            dir,
            scale,
            printer,
            st: Some(st),
        };
        b.device("scale", "connected");
        b
    }

    fn st(&mut self) -> &mut Station {
        self.st.as_mut().unwrap()
    }

    fn scan(&mut self, code: &str) {
        self.st().scan(code);
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// The next line of `event` (other lines are kept in `seen`).
    fn next(&mut self, event: &str) -> Value {
        let st = self.st.as_mut().unwrap();
        st.until(WAIT, |v| v["event"] == event)
            .unwrap_or_else(|| {
                panic!(
                    "no {event}; last lines: {:#?}",
                    &st.seen[st.seen.len().saturating_sub(10)..]
                )
            })
            .1
    }

    /// The next `device` line of `device` in `state`; returns its detail.
    fn device(&mut self, device: &str, state: &str) -> String {
        let st = self.st.as_mut().unwrap();
        st.until(WAIT, |v| {
            v["event"] == "device" && v["device"] == device && v["state"] == state
        })
        .unwrap_or_else(|| {
            panic!(
                "no {device} {state}; last lines: {:#?}",
                &st.seen[st.seen.len().saturating_sub(10)..]
            )
        })
        .1["detail"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Signs in and scans ORDER1 complete (265 g expected, 15 g tolerance).
    fn order1_scanned(&mut self) {
        self.scan(PACKER);
        self.next("packer_signed_in");
        self.scan(ORDER1);
        self.next("order_loaded");
        for c in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
            self.scan(c);
            self.next("item_accepted");
        }
    }

    /// Places 266 g and expects ORDER1 packed from that reading.
    fn weigh_order1(&mut self) {
        self.scale.set(266.0, SimCondition::Normal);
        self.packed_at_266();
    }

    /// The next weight check is 266 g and in tolerance, and the order packs.
    fn packed_at_266(&mut self) {
        let w = self.next("weight_checked");
        assert_eq!(
            (w["measured_g"].as_f64(), w["ok"].as_bool()),
            (Some(266.0), Some(true)),
            "{w}"
        );
        self.next("order_packed");
    }

    /// Stops the station; checks every printed line is in a verifying log; returns the lines.
    fn stop(mut self, db: &Path) -> Vec<Value> {
        let (code, lines) = self.st.take().unwrap().term();
        assert_eq!(code, Some(0));
        let store = packbench::store::SqliteStore::open(db).unwrap();
        assert_eq!(
            packbench::store::EventLog::verify(&store, None)
                .unwrap()
                .error,
            None
        );
        let logged = packbench::store::EventLog::events(&store, &Default::default()).unwrap();
        for l in &lines {
            let seq = l["seq"].as_i64().unwrap();
            assert!(
                logged
                    .iter()
                    .any(|e| e.seq == seq && e.kind.as_str() == l["event"]),
                "printed {l} is in the log"
            );
        }
        lines
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("bench.db")
    }

    fn scanned(&self, db: &Path) -> Vec<u32> {
        let store = packbench::store::SqliteStore::open(db).unwrap();
        let rec = packbench::audit::order_record(&store, ORDER1)
            .unwrap()
            .unwrap();
        rec.lines.iter().map(|l| l.scanned).collect()
    }
}

#[test]
fn scale_unplugged_and_replugged_mid_order() {
    let mut b = Bench::start(None, "");
    b.order1_scanned();
    b.scale.unplug();
    let d = b.device("scale", "disconnected");
    assert!(d.starts_with("scale ("), "{d}");
    // The parcel goes on while the scale is away: nothing to read, nothing decided.
    b.scale.set(266.0, SimCondition::Normal);
    b.scale.plug(&b.rt);
    b.device("scale", "connected");
    b.weigh_order1();
    b.next("label_printed");
    let db = b.db();
    b.stop(&db);
}

#[test]
fn scanner_unplugged_and_replugged_mid_order() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let link = tempfile::tempdir().unwrap();
    let link = link.path().join("scanner-by-id");
    let port = rt.block_on(async { VirtualPort::new().unwrap() });
    std::os::unix::fs::symlink(port.path(), &link).unwrap();
    let mut b = Bench::start(None, "");
    // A second, serial scanner on the same bench: stdin stays for the packer's badge.
    let cfg = b.dir.path().join("station.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "[[scanner]]\nport = \"stdin\"\n",
        &format!(
            "[[scanner]]\nport = \"stdin\"\n[[scanner]]\nport = \"{}\"\n",
            link.display()
        ),
    );
    std::fs::write(&cfg, text).unwrap();
    b.st.take().unwrap().term();
    let stderr = std::fs::File::create(b.dir.path().join("stderr.log")).unwrap();
    b.st = Some(spawn_station(bin::path(), b.dir.path(), stderr, &[]));
    b.device("scanner", "connected");
    let send = |port: &mut VirtualPort, code: &str| {
        rt.block_on(async {
            port.write_all(&encode_scan(code, None, Some(Suffix::Cr)))
                .await
                .unwrap();
            port.flush().await.unwrap();
        })
    };
    let mut port = port;
    b.scan(PACKER);
    b.next("packer_signed_in");
    send(&mut port, ORDER1);
    b.next("order_loaded");
    send(&mut port, T_BLU_L);
    assert_eq!(b.next("item_accepted")["scanned"], 1);
    drop(port);
    std::fs::remove_file(&link).unwrap();
    let d = b.device("scanner", "disconnected");
    assert!(d.contains("scanner 2"), "which scanner: {d}");
    let mut port = rt.block_on(async { VirtualPort::new().unwrap() });
    std::os::unix::fs::symlink(port.path(), &link).unwrap();
    b.device("scanner", "connected");
    send(&mut port, SOCK_BLK);
    let a = b.next("item_accepted");
    assert_eq!(
        (a["sku"].as_str(), a["scanned"].as_u64()),
        (Some("SOCK-BLK"), Some(1))
    );
    send(&mut port, SOCK_BLK);
    assert_eq!(b.next("item_accepted")["complete"], true);
    b.weigh_order1();
    let db = b.db();
    assert_eq!(
        b.scanned(&db),
        vec![1, 2],
        "nothing lost or doubled over the unplug"
    );
    b.stop(&db);
}

#[test]
fn scale_garbage_is_skipped_and_a_scale_sending_only_garbage_is_said() {
    let mut b = Bench::start(None, "");
    b.order1_scanned();
    b.scale.feed(Feed::Garbage);
    let d = b.device("scale", "error");
    assert!(d.contains("no readable reading"), "{d}");
    // Frames come back with garbage between them: the codec resynchronises on every frame.
    b.scale.feed(Feed::GarbageBetween);
    b.scale.set(266.0, SimCondition::Normal);
    assert_eq!(
        b.device("scale", "connected"),
        "scale (".to_string() + &b.scale.link.display().to_string() + "): ok"
    );
    b.packed_at_266();
    let db = b.db();
    let err = b.stderr();
    let lines = b.stop(&db);
    // Skipped bytes are not silent: `RUST_LOG=debug` shows each resync and how much it skipped.
    let resync = err
        .lines()
        .find(|l| l.contains("resync: skipped"))
        .unwrap_or_else(|| panic!("no resync line in the station's log:\n{err}"));
    assert!(
        resync.contains("DEBUG") && resync.contains("packbench::scale"),
        "{resync}"
    );
    eprintln!("the resync as logged: {resync}");
    // No reading from the garbage ever counted as a weight.
    for l in lines.iter().filter(|l| l["event"] == "weight_checked") {
        assert_eq!(l["measured_g"], 266.0, "{l}");
    }
}

#[test]
fn scale_at_the_wrong_baud_rate_is_said_and_recovers() {
    let mut b = Bench::start(None, "");
    b.scale.set(266.0, SimCondition::Normal);
    b.scale.feed(Feed::WrongBaud);
    b.order1_scanned();
    let d = b.device("scale", "error");
    assert!(d.contains("check the baud rate"), "{d}");
    b.scale.feed(Feed::Frames);
    b.device("scale", "connected");
    b.packed_at_266();
    let db = b.db();
    b.stop(&db);
}

#[test]
fn an_overloaded_scale_and_one_that_never_settles_are_said() {
    let mut b = Bench::start(None, "");
    b.order1_scanned();
    b.scale.set(0.0, SimCondition::Overload);
    let d = b.device("scale", "error");
    // Toledo continuous has one status bit for over- and under-range.
    assert!(d.ends_with(": out of range"), "{d}");
    b.scale.set(266.0, SimCondition::Motion);
    let d = b.device("scale", "error");
    assert!(d.contains("has not settled"), "{d}");
    b.scale.set(266.0, SimCondition::Normal);
    b.device("scale", "connected");
    b.packed_at_266();
    let db = b.db();
    let lines = b.stop(&db);
    assert!(
        lines
            .iter()
            .filter(|l| l["event"] == "weight_checked")
            .all(|l| l["measured_g"] == 266.0),
        "neither the overload nor the moving load was taken for a weight"
    );
}

#[test]
fn printer_out_of_paper_cover_open_refusing_and_dropping_mid_label() {
    let mut b = Bench::start(None, "");
    b.rt.block_on(b.printer.set_mode(SimMode::PaperOut))
        .unwrap();
    b.order1_scanned();
    b.weigh_order1();
    let mut kinds = Vec::new();
    let f = b.next("print_failed");
    kinds.push(f["kind"].as_str().unwrap().to_string());
    assert!(
        f["reason"].as_str().unwrap().contains("out of paper"),
        "{f}"
    );
    for mode in [SimMode::CoverOpen, SimMode::Refuse, SimMode::DropMidJob] {
        b.rt.block_on(b.printer.set_mode(mode)).unwrap();
        b.scan("PB-REPRINT");
        let f = b.next("print_failed");
        assert_eq!(f["queued"], 1, "the one label still waits: {f}");
        kinds.push(f["kind"].as_str().unwrap().to_string());
    }
    assert_eq!(
        kinds,
        ["paper_out", "cover_open", "unreachable", "connection_lost"]
    );
    b.rt.block_on(b.printer.set_mode(SimMode::Ready)).unwrap();
    b.scan("PB-REPRINT");
    let p = b.next("label_printed");
    assert_eq!(p["order_no"], ORDER1);
    let text = packbench_drivers::label::label_to_text(&b.printer.job_bytes());
    assert!(text.contains(ORDER1_WAYBILL), "{text}");
    let db = b.db();
    let lines = b.stop(&db);
    let printed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "label_printed")
        .collect();
    assert_eq!(printed.len(), 1, "counted once, when the printer took it");
    let dev: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "device" && l["device"] == "printer")
        .map(|l| l["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        dev.first(),
        Some(&"error"),
        "the printer's trouble is a device line too: {dev:?}"
    );
    assert_eq!(dev.last(), Some(&"connected"));
}

/// A small tmpfs mounted for the test and unmounted after it.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts it, or says why not (no CAP_SYS_ADMIN here).
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        if std::env::var_os("PB_TEST_NO_MOUNT").is_some() {
            return Err("PB_TEST_NO_MOUNT is set".into());
        }
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

const DISK_FULL: &str = "database_disk_full_is_said_loses_nothing_and_carries_on";

#[test]
fn database_disk_full_is_said_loses_nothing_and_carries_on() {
    let base = tempfile::tempdir().unwrap();
    let fs = match Tmpfs::mount(&base.path().join("disk"), "3m") {
        Ok(fs) => fs,
        Err(why) if std::env::var_os("PB_IN_USER_NS").is_none() => {
            // Not allowed to mount (not root): run this test again in a user and mount
            // namespace of its own, where it may, with the station inside it too.
            let out = std::process::Command::new("unshare")
                .args(["--user", "--map-root-user", "--mount"])
                .arg(std::env::current_exe().unwrap())
                .args(["--exact", DISK_FULL, "--nocapture", "--test-threads=1"])
                .env("PB_IN_USER_NS", "1")
                .env_remove("PB_TEST_NO_MOUNT")
                .output()
                .expect("run unshare");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("1 passed"),
                "mount refused ({why}), and the test failed in a user namespace too:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        Err(why) => panic!("cannot mount a tmpfs even in a user namespace: {why}"),
    };
    let mut b = Bench::start(Some(&fs.0), "");
    let db = fs.0.join("bench.db");
    b.scan(PACKER);
    b.next("packer_signed_in");
    b.scan(ORDER1);
    b.next("order_loaded");
    b.scan(T_BLU_L);
    b.next("item_accepted");
    // Fill the disk.
    {
        use std::io::Write;
        let mut f = std::fs::File::create(fs.0.join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.flush();
    }
    // Refusals are events too: scan wrong items until one cannot be written (the WAL may
    // still have room for a few).
    let mut full = false;
    for _ in 0..500 {
        b.scan(LIP_R02);
        if b.st()
            .until(Duration::from_secs(3), |v| v["event"] == "scan_rejected")
            .is_none()
        {
            full = true;
            break;
        }
    }
    assert!(full, "the disk never filled up");
    let err = b.stderr();
    assert!(
        err.contains(&format!("scan \"{LIP_R02}\" not recorded")) && err.contains("full"),
        "the station says what is wrong: {err}"
    );
    // A unit scanned while the disk is full is not counted...
    b.scan(SOCK_BLK);
    assert!(b
        .st()
        .until(Duration::from_secs(2), |v| v["event"] == "item_accepted")
        .is_none());
    // ...and once there is room again, the station carries on where it was.
    std::fs::remove_file(fs.0.join("filler")).unwrap();
    b.scan(SOCK_BLK);
    assert_eq!(
        b.next("item_accepted")["scanned"],
        1,
        "the unrecorded scan was not counted"
    );
    b.scan(SOCK_BLK);
    assert_eq!(b.next("item_accepted")["complete"], true);
    b.weigh_order1();
    assert_eq!(b.scanned(&db), vec![1, 2]);
    b.stop(&db);
    drop(fs);
}
