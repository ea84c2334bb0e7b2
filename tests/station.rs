//! The station loop with a simulated printer on loopback TCP: labels print after packing,
//! a printer that is out of paper is reported and its label waits for a reprint.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use packbench::domain::event::DeviceStatus;
use packbench::station::devices::printer_task;
use packbench::station::label::LabelSetup;
use packbench::station::runtime::{Msg, StationLoop};
use packbench_drivers::label::label_to_text;
use packbench_drivers::printer::{PrinterSimulator, PrinterTarget, PrinterTimeouts, SimMode};
use serde_json::Value;

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn all(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        // Only whole lines: the loop may be half-way through writing the next one.
        let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        whole
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until a line with this event (and order) has appeared `n` times.
    fn wait(&self, event: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found: Vec<Value> = self
                .all()
                .into_iter()
                .filter(|l| l["event"] == event)
                .collect();
            if found.len() >= n {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no {n}× {event} in {:#?}",
                self.all()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

struct Station {
    tx: mpsc::Sender<Msg>,
    lines: Lines,
    handle: std::thread::JoinHandle<()>,
}

fn start(rt: &tokio::runtime::Runtime, target: Option<PrinterTarget>) -> Station {
    let (tx, rx) = mpsc::channel();
    let lines = Lines::default();
    let printer: packbench::station::runtime::PrinterSink = target.map(|target| {
        let (jtx, jrx) = tokio::sync::mpsc::unbounded_channel();
        let timeouts = PrinterTimeouts {
            connect: Duration::from_secs(2),
            status: Duration::from_secs(1),
            write: Duration::from_secs(2),
            after_job: Duration::from_secs(2),
        };
        rt.spawn(printer_task(target, jrx, tx.clone().into(), timeouts));
        Box::new(move |job| {
            let _ = jtx.send(job);
        }) as Box<dyn Fn(_) + Send>
    });
    let out = lines.clone();
    let handle = std::thread::spawn(move || {
        let station = StationLoop::new(bench(), LabelSetup::default(), printer, out)
            .with_clock(Box::new(|| t(0)));
        station.run(rx);
    });
    Station { tx, lines, handle }
}

fn scan(s: &Station, code: &str) {
    s.tx.send(Msg::Scan {
        code: code.into(),
        scanner: "test".into(),
    })
    .unwrap();
}

fn pack_order1(s: &Station) {
    for c in [PACKER, ORDER1, T_BLU_L, SOCK_BLK, SOCK_BLK] {
        scan(s, c);
    }
    s.tx.send(Msg::Weight {
        grams: 266.0,
        stable: true,
    })
    .unwrap();
}

#[test]
fn packed_order_prints_its_label_and_reports_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(PrinterSimulator::start()).unwrap();
    let s = start(&rt, Some(sim.target()));
    pack_order1(&s);
    let printed = s.lines.wait("label_printed", 1);
    assert_eq!(printed[0]["order_no"], ORDER1);
    assert_eq!(printed[0]["copy"], 1);
    // The label_printed line comes after order_packed, each printed once durable.
    let all = s.lines.all();
    let pos = |e: &str| all.iter().position(|l| l["event"] == e).unwrap();
    assert!(pos("order_packed") < pos("label_printed"));
    let text = label_to_text(&sim.job_bytes());
    assert!(text.contains(ORDER1), "{text}");
    assert!(text.contains(ORDER1_WAYBILL), "{text}");
    assert!(text.contains("李娜"), "recipient in Chinese: {text}");
    assert!(text.contains("E001"), "picker on the label: {text}");
    assert!(text.contains("张伟"), "packer's name on the label: {text}");
    // Every line has the contract fields.
    for l in &all {
        assert!(l["event"].is_string() && l["at"].is_string(), "{l}");
        chrono::DateTime::parse_from_rfc3339(l["at"].as_str().unwrap()).unwrap();
    }
    scan(&s, "PB-REPRINT");
    let printed = s.lines.wait("label_printed", 2);
    assert_eq!(printed[1]["copy"], 2);
    assert_eq!(printed[1]["reprint"], true);
    s.tx.send(Msg::Shutdown).unwrap();
    s.handle.join().unwrap();
}

#[test]
fn paper_out_is_reported_not_counted_and_reprinted_later() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(PrinterSimulator::start_in(SimMode::PaperOut))
        .unwrap();
    let s = start(&rt, Some(sim.target()));
    pack_order1(&s);
    let failed = s.lines.wait("print_failed", 1);
    assert_eq!(failed[0]["order_no"], ORDER1);
    assert_eq!(failed[0]["kind"], "paper_out");
    assert!(failed[0]["reason"].as_str().unwrap().contains("paper"));
    let dev = s.lines.wait("device", 1);
    assert_eq!(
        (dev[0]["device"].as_str(), dev[0]["state"].as_str()),
        (Some("printer"), Some("error"))
    );
    assert!(
        sim.job_bytes().is_empty(),
        "nothing sent to a printer without paper"
    );
    assert!(s.lines.all().iter().all(|l| l["event"] != "label_printed"));
    // Paper loaded: the reprint prints the waiting label as the first copy.
    rt.block_on(sim.set_mode(SimMode::Ready)).unwrap();
    scan(&s, "PB-REPRINT");
    let printed = s.lines.wait("label_printed", 1);
    assert_eq!(
        (printed[0]["order_no"].as_str(), printed[0]["copy"].as_u64()),
        (Some(ORDER1), Some(1))
    );
    assert!(!sim.job_bytes().is_empty());
    s.tx.send(Msg::Shutdown).unwrap();
    s.handle.join().unwrap();
}

#[test]
fn refused_connection_is_print_failed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target = PrinterTarget::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let s = start(&rt, Some(target));
    pack_order1(&s);
    let failed = s.lines.wait("print_failed", 1);
    assert_eq!(failed[0]["kind"], "unreachable");
    s.tx.send(Msg::Shutdown).unwrap();
    s.handle.join().unwrap();
}

#[test]
fn no_printer_configured_is_said_plainly() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = start(&rt, None);
    pack_order1(&s);
    let failed = s.lines.wait("print_failed", 1);
    assert_eq!(failed[0]["kind"], "no_printer");
    s.tx.send(Msg::Shutdown).unwrap();
    s.handle.join().unwrap();
}

#[test]
fn view_shows_lines_alerts_and_clears_them_on_a_good_scan() {
    let mut st = StationLoop::new(bench(), LabelSetup::default(), None, Lines::default())
        .with_clock(Box::new(|| t(0)));
    for c in [PACKER, ORDER1, T_BLU_L] {
        st.handle(Msg::Scan {
            code: c.into(),
            scanner: "s".into(),
        });
    }
    let v = st.view();
    let o = v.order.as_ref().expect("order on screen");
    assert_eq!(o.order_no, ORDER1);
    assert_eq!(o.expected_g, 265.0);
    assert_eq!(o.tolerance_g, 15.0);
    assert!(o.lines[0].done && !o.lines[1].done);
    assert_eq!(o.lines[0].attributes, "colour=蓝 size=L");
    assert_eq!((o.units_scanned, o.units_ordered), (1, 3));
    assert!(v.alert.is_none());
    st.handle(Msg::Scan {
        code: LIP_R02.into(),
        scanner: "s".into(),
    });
    let a = st.view().alert.expect("wrong item alert");
    assert_eq!(a.reason.as_str(), "not_in_order");
    st.handle(Msg::Weight {
        grams: 50.0,
        stable: true,
    });
    assert!(
        st.view().alert.is_some(),
        "a weight reading does not clear it"
    );
    assert_eq!(st.view().scale_g, Some(50.0));
    st.handle(Msg::Scan {
        code: SOCK_BLK.into(),
        scanner: "s".into(),
    });
    assert!(st.view().alert.is_none(), "the next good scan clears it");
    st.handle(Msg::Device {
        device: "scale".into(),
        state: DeviceStatus::Disconnected,
        detail: "unplugged".into(),
    });
    assert_eq!(st.view().devices["scale"].state, DeviceStatus::Disconnected);
}

#[test]
fn closing_a_handover_clears_its_last_refusal() {
    let mut st = StationLoop::new(bench(), LabelSetup::default(), None, Lines::default())
        .with_clock(Box::new(|| t(0)));
    for c in [PACKER, "PB-DISPATCH", ORDER1] {
        st.handle(Msg::Scan {
            code: c.into(),
            scanner: "s".into(),
        });
    }
    assert_eq!(
        st.view().alert.map(|a| a.reason.as_str()),
        Some("not_packed")
    );
    st.handle(Msg::Scan {
        code: "PB-DISPATCH-END".into(),
        scanner: "s".into(),
    });
    assert!(st.view().alert.is_none());
}

/// A station on the database at `db` whose printer only records the jobs it is handed.
fn recording_station(
    db: &std::path::Path,
) -> (
    StationLoop<packbench::store::SqliteStore, Lines>,
    Arc<Mutex<Vec<packbench::station::runtime::PrintJob>>>,
) {
    let store = packbench::store::SqliteStore::open(db).unwrap();
    let bench = packbench::station::Bench::open(store, cfg()).unwrap();
    let jobs = Arc::new(Mutex::new(Vec::new()));
    let sink = jobs.clone();
    let printer: packbench::station::runtime::PrinterSink =
        Some(Box::new(move |job| sink.lock().unwrap().push(job)));
    let st = StationLoop::new(bench, LabelSetup::default(), printer, Lines::default())
        .with_clock(Box::new(|| t(60)));
    (st, jobs)
}

#[test]
fn labels_owed_from_before_a_crash_print_or_wait_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    import_fixtures(&mut packbench::store::SqliteStore::open(&db).unwrap());
    // Packed, label handed to the printer, then the station dies before the printer answers.
    let (mut st, jobs) = recording_station(&db);
    for c in [PACKER, ORDER1, T_BLU_L, SOCK_BLK, SOCK_BLK] {
        st.handle(Msg::Scan {
            code: c.into(),
            scanner: "s".into(),
        });
    }
    st.handle(Msg::Weight {
        grams: 266.0,
        stable: true,
    });
    assert_eq!(jobs.lock().unwrap().len(), 1, "label sent after packing");
    drop(st);

    // Restarted: the label the packer never got prints at once.
    let (mut st, jobs) = recording_station(&db);
    st.recover_labels();
    let sent = jobs.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "the owed label is printed on start");
    assert_eq!(sent[0].order_no, ORDER1);
    assert!(label_to_text(&sent[0].bytes).contains(ORDER1));
    // This time the printer is out of paper: the label waits for PB-REPRINT...
    st.handle(Msg::Printed {
        job: sent[0].clone(),
        result: Err(packbench::station::runtime::PrintFailure {
            kind: "paper_out".into(),
            reason: "printer is out of paper".into(),
        }),
    });
    assert_eq!(st.queued_labels(), 1);
    drop(st);

    // ...and still waits for it after another restart, instead of printing on its own.
    let (mut st, jobs) = recording_station(&db);
    st.recover_labels();
    assert_eq!(
        jobs.lock().unwrap().len(),
        0,
        "a failed label waits for PB-REPRINT"
    );
    assert_eq!(st.queued_labels(), 1);
    st.handle(Msg::Scan {
        code: "PB-REPRINT".into(),
        scanner: "s".into(),
    });
    let sent = jobs.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "PB-REPRINT prints the waiting label");
    st.handle(Msg::Printed {
        job: sent[0].clone(),
        result: Ok(None),
    });
    drop(st);

    // Printed: nothing is owed any more.
    let (mut st, jobs) = recording_station(&db);
    st.recover_labels();
    assert_eq!(jobs.lock().unwrap().len(), 0);
    assert_eq!(st.queued_labels(), 0);
}

#[test]
fn a_scan_that_cannot_be_recorded_is_an_alert_and_changes_nothing() {
    // The memory store's writes fail while `full` is set, as a full disk makes them fail.
    let store = common::memory::MemoryStore::default();
    let full = store.full.clone();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let h = heard.clone();
    let bench = bench_on(store);
    let mut st = StationLoop::new(bench, LabelSetup::default(), None, Lines::default())
        .with_clock(Box::new(|| t(0)))
        .on_events(Box::new(move |o| {
            h.lock().unwrap().push(matches!(
                o,
                packbench::station::runtime::Outcome::NotRecorded
            ))
        }));
    let scan = |st: &mut StationLoop<common::memory::MemoryStore, Lines>, c: &str| {
        st.handle(Msg::Scan {
            code: c.into(),
            scanner: "s".into(),
        })
    };
    for c in [PACKER, ORDER1, T_BLU_L] {
        scan(&mut st, c);
    }
    full.store(true, std::sync::atomic::Ordering::SeqCst);
    scan(&mut st, SOCK_BLK);
    let v = st.view();
    let a = v.alert.as_ref().expect("the failure is on screen");
    assert_eq!(
        (a.reason.as_str(), a.code.as_str()),
        ("not_recorded", SOCK_BLK)
    );
    assert!(a.detail.contains("disk is full"), "{}", a.detail);
    assert_eq!(
        v.order.as_ref().unwrap().units_scanned,
        1,
        "nothing counted"
    );
    assert_eq!(
        heard.lock().unwrap().last(),
        Some(&true),
        "the cue hears of it"
    );
    full.store(false, std::sync::atomic::Ordering::SeqCst);
    scan(&mut st, SOCK_BLK);
    let v = st.view();
    assert!(v.alert.is_none(), "a good scan clears it");
    assert_eq!(v.order.as_ref().unwrap().units_scanned, 2);
}
