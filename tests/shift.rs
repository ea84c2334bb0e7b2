//! A whole shift through the real binary with simulated devices: a scanner and an MT-SICS
//! scale on pty pairs, an ESC/POS printer on loopback TCP.

mod common;
mod harness;

use std::time::Duration;

use common::*;
use packbench_drivers::printer::PrinterSimulator;
use packbench_drivers::scale::{ScaleProtocol, WeightUnit};
use packbench_drivers::scanner::Suffix;
use packbench_drivers::serial::VirtualPort;
use packbench_drivers::sim::scale::{SimCondition, SimScale, SimScaleHandle, SimScaleState};
use packbench_drivers::sim::scanner::encode_scan;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

struct Shift {
    rt: tokio::runtime::Runtime,
    scanner: VirtualPort,
    scale: SimScaleHandle,
    printer: PrinterSimulator,
    st: harness::Station,
    dir: tempfile::TempDir,
}

impl Shift {
    fn start(protocol: ScaleProtocol) -> Shift {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut s = packbench::store::SqliteStore::open(dir.path().join("bench.db")).unwrap();
        import_fixtures(&mut s);
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
        let cfg = dir.path().join("station.toml");
        std::fs::write(
            &cfg,
            format!(
                "station_id = \"BENCH-S\"\ndatabase = \"bench.db\"\n\
                 [[scanner]]\nport = \"{}\"\n\
                 [scale]\nport = \"{scale_path}\"\nprotocol = \"{}\"\nunit = \"kg\"\n\
                 [printer]\ntarget = \"tcp://127.0.0.1:{}\"\nchinese = true\n",
                scanner.path().display(),
                protocol.name(),
                printer.port()
            ),
        )
        .unwrap();
        let st =
            harness::spawn_station(bin::path(), dir.path(), std::process::Stdio::inherit(), &[]);
        let mut shift = Shift {
            rt,
            scanner,
            scale,
            printer,
            st,
            dir,
        };
        let a = shift.next("device");
        let b = shift.next("device");
        let mut devs = [
            a["detail"].as_str().unwrap().to_string(),
            b["detail"].as_str().unwrap().to_string(),
        ];
        devs.sort();
        assert!(
            devs[0].starts_with("scale") && devs[1].starts_with("scanner"),
            "{devs:?}"
        );
        assert_eq!(
            (a["state"].as_str(), b["state"].as_str()),
            (Some("connected"), Some("connected"))
        );
        shift
    }

    fn scan(&mut self, code: &str) {
        let bytes = encode_scan(code, None, Some(Suffix::Cr));
        let port = &mut self.scanner;
        self.rt.block_on(async {
            port.write_all(&bytes).await.unwrap();
            port.flush().await.unwrap();
        });
    }

    fn place(&self, grams: f64) {
        self.scale.set_load(grams, SimCondition::Normal);
    }

    /// The next line of this event, skipping others (all are kept in `seen`).
    fn next(&mut self, event: &str) -> Value {
        match self
            .st
            .until(Duration::from_secs(20), |v| v["event"] == event)
        {
            Some((_, v)) => v,
            None => panic!("no {event} line; seen: {:#?}", self.st.seen),
        }
    }

    /// The weight check of this reading. A reading still in flight from the previous parcel
    /// may be checked first on a loaded machine; such checks are skipped.
    fn weighed(&mut self, grams: f64) -> Value {
        loop {
            let w = self.next("weight_checked");
            if w["measured_g"].as_f64() == Some(grams) {
                return w;
            }
        }
    }

    fn audit(&self, order: &str) -> Value {
        let out = Pb::new()
            .dir(self.dir.path())
            .args(["audit", "order", order, "--json", "--db", "bench.db"])
            .output();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn stop(self) -> (Vec<Value>, tempfile::TempDir) {
        let (code, seen) = self.st.term();
        assert_eq!(code, Some(0));
        (seen, self.dir)
    }
}

#[test]
fn a_whole_shift_with_a_wrong_item_a_mismatch_and_an_override() {
    let mut s = Shift::start(ScaleProtocol::MtSics);
    s.scan(PACKER);
    assert_eq!(s.next("packer_signed_in")["packer_id"], "E003");

    // Order 1: a wrong item on the way, then in tolerance.
    s.scan(ORDER1_WAYBILL);
    assert_eq!(s.next("order_loaded")["order_no"], ORDER1);
    s.scan(T_BLU_L);
    s.next("item_accepted");
    s.scan(LIP_R02);
    let r = s.next("scan_rejected");
    assert_eq!(
        (r["reason"].as_str(), r["code"].as_str()),
        (Some("not_in_order"), Some(LIP_R02))
    );
    s.scan(SOCK_BLK);
    s.next("item_accepted");
    s.scan(SOCK_BLK);
    assert_eq!(s.next("item_accepted")["complete"], true);
    s.place(266.0);
    let w = s.weighed(266.0);
    assert_eq!(
        (w["measured_g"].as_f64(), w["ok"].as_bool()),
        (Some(266.0), Some(true))
    );
    let p = s.next("order_packed");
    assert_eq!(
        (p["picker_id"].as_str(), p["packer_id"].as_str()),
        (Some("E001"), Some("E003"))
    );
    assert_eq!(s.next("label_printed")["order_no"], ORDER1);
    s.place(0.0);

    // Order 2: the picker is recorded by badge.
    s.scan(ORDER2);
    s.next("order_loaded");
    for c in [LIP_R02, SUN_50, SERUM_GIFT] {
        s.scan(c);
        s.next("item_accepted");
    }
    s.scan(PICKER);
    assert_eq!(s.next("picker_set")["picker_id"], "E007");
    s.place(108.0);
    assert_eq!(s.weighed(108.0)["ok"], true);
    assert_eq!(s.next("order_packed")["picker_id"], "E007");
    assert_eq!(s.next("label_printed")["order_no"], ORDER2);
    s.place(0.0);

    // Order 3: one case of 12, the parcel is 44 g light: a mismatch a supervisor overrides.
    s.scan(CASE_ORDER);
    s.next("order_loaded");
    s.scan(LATIAO_CASE);
    assert_eq!(s.next("item_accepted")["units"], 12);
    s.place(1300.0);
    let w = s.weighed(1300.0);
    assert_eq!(w["ok"], false);
    assert_eq!(w["expected_g"], 1344.0);
    assert!(
        w["hint"].as_str().unwrap().starts_with("no combination"),
        "{w}"
    );
    // Badge on the scanner; PIN and reason as keypad lines on standard input (the scanner
    // here is a serial port: stdin carries keypad lines only).
    s.scan(SUPERVISOR);
    assert_eq!(s.next("pin_required")["purpose"], "approval");
    s.st.scan("@pin 9090");
    assert_eq!(s.next("pin_failed")["remaining"], 4);
    s.st.scan(&format!("@pin {SUPERVISOR_PIN}"));
    assert_eq!(s.next("reason_required")["cause"], "weight_mismatch");
    s.st.scan("@reason catalog_weight_wrong");
    let o = s.next("override");
    assert_eq!(o["supervisor_id"], "E005");
    assert_eq!(o["reason"], "catalog_weight_wrong");
    let p = s.next("order_packed");
    assert_eq!(p["override_by"], "E005");
    assert_eq!(s.next("label_printed")["order_no"], CASE_ORDER);

    // The record a supervisor pulls later.
    let rec = s.audit(CASE_ORDER);
    assert_eq!(rec["status"], "packed");
    assert_eq!(
        (rec["picker_id"].as_str(), rec["packer_id"].as_str()),
        (Some("E008"), Some("E003"))
    );
    assert_eq!(
        (rec["override_by"].as_str(), rec["weight_ok"].as_bool()),
        (Some("E005"), Some(false))
    );
    assert_eq!(rec["measured_weight_g"], 1300.0);
    assert_eq!(rec["station_id"], "BENCH-S");
    let rec1 = s.audit(ORDER1);
    let types: Vec<&str> = rec1["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for t in [
        "order_loaded",
        "item_accepted",
        "scan_rejected",
        "weight_checked",
        "order_packed",
        "label_printed",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    let labels = packbench_drivers::label::label_to_text(&s.printer.job_bytes());
    for o in [ORDER1, ORDER2, CASE_ORDER] {
        assert!(labels.contains(o), "label of {o}");
    }

    let (all, dir) = s.stop();
    // Every line printed was durable: its event is in the log, and the log verifies.
    let store = packbench::store::SqliteStore::open(dir.path().join("bench.db")).unwrap();
    let report = packbench::store::EventLog::verify(&store, None).unwrap();
    assert_eq!(report.error, None);
    let logged = packbench::store::EventLog::events(&store, &Default::default()).unwrap();
    for l in &all {
        let seq = l["seq"].as_i64().expect("seq on every line");
        let e = logged
            .iter()
            .find(|e| e.seq == seq)
            .expect("printed event is in the log");
        assert_eq!(l["event"], e.kind.as_str());
    }
    let seqs: Vec<i64> = all.iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "lines in log order");
    // No PIN and no PIN hash in any line, nor in the stored events, nor in an export. Long
    // hex runs (the chain's hashes, a file's sha256) are left out: digits in them are no PIN.
    let without_hashes = |v: Value| {
        let text = format!("{v}\n");
        let mut out = String::new();
        let mut run = String::new();
        for c in text.chars() {
            if c.is_ascii_hexdigit() {
                run.push(c);
                continue;
            }
            if run.len() < 32 {
                out.push_str(&run);
            }
            run.clear();
            out.push(c);
        }
        out
    };
    let text: String = all.iter().cloned().map(without_hashes).collect();
    let export = Pb::new()
        .args(["audit", "export", "--format", "jsonl", "--db"])
        .arg(dir.path().join("bench.db"))
        .output();
    assert!(export.status.success());
    let export: String = String::from_utf8(export.stdout)
        .unwrap()
        .lines()
        .map(|l| without_hashes(serde_json::from_str(l).unwrap()))
        .collect();
    assert!(
        export.contains("catalog_weight_wrong"),
        "the export has the override"
    );
    let stored: String = logged.iter().map(|e| format!("{:?}\n", e.data)).collect();
    for out in [&text, &export, &stored] {
        for secret in ["9090", SUPERVISOR_PIN, "argon2"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
    }
}

#[test]
fn scanner_unplug_and_replug_through_the_binary() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut st = packbench::store::SqliteStore::open(dir.path().join("bench.db")).unwrap();
    import_fixtures(&mut st);
    drop(st);
    // The config names a stable link, as /dev/serial/by-id does for a real adapter.
    let link = dir.path().join("scanner-by-id");
    let port = rt.block_on(async { VirtualPort::new().unwrap() });
    std::os::unix::fs::symlink(port.path(), &link).unwrap();
    std::fs::write(
        dir.path().join("station.toml"),
        format!(
            "database = \"bench.db\"\n[[scanner]]\nport = \"{}\"\n",
            link.display()
        ),
    )
    .unwrap();
    let mut st = harness::spawn_station(bin::path(), dir.path(), std::process::Stdio::null(), &[]);
    let mut next = |event: &str| match st.until(Duration::from_secs(20), |v| v["event"] == event) {
        Some((_, v)) => v,
        None => panic!("no {event} after {:#?}", st.seen),
    };
    let d = next("device");
    assert_eq!(
        (d["device"].as_str(), d["state"].as_str()),
        (Some("scanner"), Some("connected"))
    );
    let send = |port: &mut VirtualPort, code: &str| {
        rt.block_on(async {
            port.write_all(&encode_scan(code, None, Some(Suffix::CrLf)))
                .await
                .unwrap();
            port.flush().await.unwrap();
        })
    };
    let mut port = port;
    send(&mut port, PACKER);
    assert_eq!(next("packer_signed_in")["packer_id"], "E003");
    // Unplug.
    drop(port);
    std::fs::remove_file(&link).unwrap();
    let d = next("device");
    assert_eq!(d["state"], "disconnected", "{d}");
    // Replug: a new device node behind the same link.
    let mut port = rt.block_on(async { VirtualPort::new().unwrap() });
    std::os::unix::fs::symlink(port.path(), &link).unwrap();
    loop {
        let d = next("device");
        if d["state"] == "connected" {
            break;
        }
        assert_eq!(d["state"], "error", "{d}");
    }
    send(&mut port, ORDER1);
    assert_eq!(next("order_loaded")["order_no"], ORDER1);
    assert_eq!(st.term().0, Some(0));
}

/// A whole return through the binary: the scanner and an MT-SICS scale on ptys. A parcel is
/// packed, comes back one sock short with a damaged T-shirt, a lipstick and a code nobody
/// knows; the buyer says an item was missing. Then the reports a shop's refund process and a
/// supervisor pull from the command line.
#[test]
fn a_whole_return_through_the_binary() {
    let mut s = Shift::start(ScaleProtocol::MtSics);
    s.scan(PACKER);
    s.next("packer_signed_in");
    s.scan(ORDER1_WAYBILL);
    s.next("order_loaded");
    for c in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
        s.scan(c);
        s.next("item_accepted");
    }
    s.place(266.0);
    assert_eq!(s.weighed(266.0)["ok"], true);
    s.next("order_packed");
    assert_eq!(s.next("label_printed")["order_no"], ORDER1);
    s.place(0.0);

    s.scan("PB-RETURNS");
    s.next("returns_started");
    s.scan(CANCELLED);
    let r = s.next("scan_rejected");
    assert_eq!(
        (r["reason"].as_str(), r["order_no"].as_str()),
        (Some("not_shipped"), Some(CANCELLED))
    );
    s.scan(ORDER1_WAYBILL);
    let o = s.next("return_opened");
    assert_eq!(o["order_no"], ORDER1);
    assert_eq!(o["return_id"], "TB20261122001-R1");
    assert_eq!(
        (o["packer_id"].as_str(), o["picker_id"].as_str()),
        (Some("E003"), Some("E001"))
    );
    assert_eq!(
        (o["measured_g"].as_f64(), o["weight_ok"].as_bool()),
        (Some(266.0), Some(true))
    );
    s.scan(T_BLU_L);
    assert_eq!(s.next("return_item")["sku"], "T-BLU-L");
    s.scan("PB-COND-DAMAGED");
    assert_eq!(s.next("return_condition")["condition"], "damaged");
    s.scan(T_BLU_L);
    assert_eq!(s.next("scan_rejected")["reason"], "over_quantity");
    s.scan(LIP_R02);
    assert_eq!(s.next("foreign_item")["sku"], "LIP-R02");
    // Outside text is data: a "code" that a spreadsheet would run.
    s.scan("=SUM(A1)");
    let f = s.next("foreign_item");
    assert_eq!(
        (f["code"].as_str(), f["sku"].as_str()),
        (Some("=SUM(A1)"), None)
    );
    s.scan(SOCK_BLK);
    let i = s.next("return_item");
    assert_eq!(
        (i["returned"].as_u64(), i["packed"].as_u64()),
        (Some(1), Some(2))
    );
    // The returned parcel on the scale.
    s.place(205.0);
    let w = loop {
        let w = s.next("return_weighed");
        if w["measured_g"].as_f64() == Some(205.0) {
            break w;
        }
    };
    assert_eq!(w["packed_g"], 266.0);
    s.place(0.0);
    s.scan("PB-RETURN-CLOSE");
    assert_eq!(s.next("scan_rejected")["reason"], "no_return_reason");
    s.scan("PB-RET-REASON-MISSING_ITEM");
    s.next("return_reason");
    s.scan("PB-RETURN-CLOSE");
    let c = s.next("return_closed");
    assert_eq!(c["confirmed"], true);
    assert_eq!(c["conditions"], serde_json::json!({"damaged": 1, "ok": 3}));
    assert_eq!(
        (
            c["units"].as_u64(),
            c["returned_units"].as_u64(),
            c["packed_units"].as_u64()
        ),
        (Some(4), Some(2), Some(3))
    );
    assert_eq!(c["handler_id"], "E003");
    assert_eq!(c["measured_g"], 205.0);
    s.scan("PB-RETURNS-END");
    s.next("returns_ended");

    let pb = |args: &[&str]| {
        let out = Pb::new()
            .dir(s.dir.path())
            .args(args)
            .args(["--db", "bench.db"])
            .output();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // The refund process: JSON, then CSV that opens cleanly in Excel.
    let rows: Value = serde_json::from_str(&pb(&["audit", "returns", "--json"])).unwrap();
    let r = &rows[0];
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(
        (r["order_no"].as_str(), r["waybill_no"].as_str()),
        (Some(ORDER1), Some(ORDER1_WAYBILL))
    );
    assert_eq!(
        (r["reason"].as_str(), r["verdict"].as_str()),
        (Some("missing_item"), Some("confirmed"))
    );
    assert_eq!(r["handler_id"], "E003");
    assert!(r["closed_at"].is_string());
    assert_eq!(r["foreign"].as_array().unwrap().len(), 2);
    let csv = pb(&["audit", "returns", "--format", "csv"]);
    assert!(csv.starts_with('\u{feff}'), "a byte-order mark for Excel");
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next(),
        Some(
            "order,waybill,return,sku,qty,condition,foreign,reason,handler,opened,closed,confirmed"
        )
    );
    let body: Vec<&str> = lines.collect();
    assert_eq!(body.len(), 4, "{csv}");
    assert!(
        body[0].starts_with(
            "TB20261122001,SF1498369006026,TB20261122001-R1,T-BLU-L,1,damaged,,missing_item,E003,"
        ),
        "{csv}"
    );
    assert!(body.iter().all(|l| l.ends_with(",yes")), "{csv}");
    assert!(
        body.iter().any(|l| l.contains(",'=SUM(A1),1,ok,yes,")),
        "the formula is text: {csv}"
    );
    // The complaint loop: a packing error of the packer and of the picker.
    for (id, role) in [("E003", "packer"), ("E001", "picker")] {
        let p: Value = serde_json::from_str(&pb(&["audit", "packer", id, "--json"])).unwrap();
        assert_eq!(p["packing_errors"], 1, "{id}: {p}");
        assert_eq!(p["packing_error_rate"], 1.0, "{id}");
        assert_eq!(p["packing_error_returns"][0]["role"], role);
        assert_eq!(
            p["packing_error_returns"][0]["return_id"],
            "TB20261122001-R1"
        );
    }
    let text = pb(&["audit", "packer", "E003"]);
    assert!(
        text.contains("packing errors confirmed by returns 1 (100.0 % of orders)"),
        "{text}"
    );
    // The order's record has the return, and its events.
    let rec = s.audit(ORDER1);
    assert_eq!(rec["returns"][0]["confirmed"], true);
    let types: Vec<&str> = rec["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for t in [
        "return_opened",
        "return_item",
        "foreign_item",
        "return_condition",
        "return_weighed",
        "return_reason",
        "return_closed",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    let (_, dir) = s.stop();
    let store = packbench::store::SqliteStore::open(dir.path().join("bench.db")).unwrap();
    assert_eq!(
        packbench::store::EventLog::verify(&store, None)
            .unwrap()
            .error,
        None
    );
}
