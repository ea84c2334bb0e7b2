//! The real binary: imports, audit reports, export and verify, as an operator scripts them.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use packbench::domain::event::ApprovalReason;
use packbench::domain::pin::Pin;
use packbench::station::Bench;
use packbench::store::SqliteStore;

fn import_all(dir: &Path) {
    for (k, p) in data_set(None) {
        ok(&pb(dir, &["import", k.name(), p.to_str().unwrap()]));
    }
}

/// Packs ORDER1 through a mismatch and an override, in the database of `dir`.
fn pack_with_override(dir: &Path) {
    let s = SqliteStore::open(dir.join("packbench.db")).unwrap();
    let mut b = Bench::open(s, cfg()).unwrap();
    order1_complete(&mut b);
    b.weight(225.0, true, t(10)).unwrap();
    b.scan(SUPERVISOR, None, t(11)).unwrap();
    b.pin(&Pin::new(SUPERVISOR_PIN), t(11)).unwrap();
    b.reason(ApprovalReason::ScaleDrift, t(11)).unwrap();
}

#[test]
fn import_report_and_reimport() {
    let dir = tempfile::tempdir().unwrap();
    let p = fixtures().join("orders.csv");
    let c = fixtures().join("catalog.csv");
    ok(&pb(dir.path(), &["import", "catalog", c.to_str().unwrap()]));
    let out = ok(&pb(
        dir.path(),
        &["import", "orders", p.to_str().unwrap(), "--json"],
    ));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (r["added"].as_u64(), r["cancelled"].as_u64()),
        (Some(30), Some(1))
    );
    let out = ok(&pb(
        dir.path(),
        &["import", "orders", p.to_str().unwrap(), "--json"],
    ));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (r["added"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(30))
    );
}

#[test]
fn import_error_is_one_sentence_and_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,name,roles,badge\nE1,a,picker,B1\nE2,b,janitor,B2\n",
    )
    .unwrap();
    let out = pb(dir.path(), &["import", "employees", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.csv: line 3, column roles: unknown role \"janitor\""),
        "{err}"
    );
    // Nothing was written: not even the database the import would have created.
    assert!(!dir.path().join("packbench.db").exists());
    let out = pb(dir.path(), &["audit", "verify", "--json"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("database packbench.db does not exist"),
        "{out:?}"
    );
}

#[test]
fn audit_order_json_has_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    pack_with_override(dir.path());
    let out = ok(&pb(
        dir.path(),
        &["audit", "order", ORDER1_WAYBILL, "--json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for f in [
        "order_no",
        "waybill_no",
        "status",
        "picker_id",
        "packer_id",
        "station_id",
        "expected_weight_g",
        "measured_weight_g",
        "tolerance_g",
        "weight_ok",
        "override_by",
        "packed_at",
        "dispatched_at",
        "events",
    ] {
        assert!(v.get(f).is_some(), "missing {f}");
    }
    assert_eq!(v["order_no"], ORDER1);
    assert_eq!(v["status"], "packed");
    assert_eq!(v["picker_id"], "E001");
    assert_eq!(v["packer_id"], "E003");
    assert_eq!(v["station_id"], "BENCH-T");
    assert_eq!(v["expected_weight_g"], 265.0);
    assert_eq!(v["measured_weight_g"], 225.0);
    assert_eq!(v["weight_ok"], false);
    assert_eq!(v["override_by"], "E005");
    let events = v["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        vec![
            "order_loaded",
            "item_accepted",
            "item_accepted",
            "item_accepted",
            "weight_checked",
            "pin_required",
            "reason_required",
            "override",
            "order_packed"
        ]
    );
    for e in events {
        for f in ["seq", "at", "type", "actor", "station_id", "data"] {
            assert!(e.get(f).is_some(), "event missing {f}");
        }
    }
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first");
    // Human form: an aligned table.
    let out = ok(&pb(dir.path(), &["audit", "order", ORDER1]));
    assert!(out.contains("override by    E005"), "{out}");
    // Unknown order: clear error.
    let out = pb(dir.path(), &["audit", "order", "NOPE"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no order or waybill \"NOPE\""));
}

#[test]
fn audit_packer_and_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    pack_with_override(dir.path());
    let out = ok(&pb(dir.path(), &["audit", "packer", "E003", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            v["packed"].as_u64(),
            v["mismatches"].as_u64(),
            v["overrides"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(v["orders"][0]["order_no"], ORDER1);
    let out = ok(&pb(dir.path(), &["audit", "packer", "E001", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["picked"].as_u64(), v["packed"].as_u64()),
        (Some(1), Some(0))
    );
    // Date bounds: the fixed clock is 2026-11-22 (+08:00).
    let out = ok(&pb(
        dir.path(),
        &[
            "audit",
            "packer",
            "E003",
            "--from",
            "2026-11-23T00:00:00+08:00",
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["packed"], 0);
    let out = ok(&pb(dir.path(), &["audit", "mismatches", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["type"], "weight_checked");
    assert_eq!(rows[0]["why"], "≈ 1 × SOCK-BLK missing, 40 g");
    assert_eq!(rows[0]["diff_g"], -40.0);
    assert_eq!(rows[1]["type"], "override");
    assert_eq!(rows[1]["who"], "E005");
    let out = ok(&pb(dir.path(), &["audit", "mismatches"]));
    assert!(out.contains("≈ 1 × SOCK-BLK missing, 40 g"));
    let out = pb(dir.path(), &["audit", "mismatches", "--from", "yesterday"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a date"));
}

#[test]
fn export_csv_keeps_chinese_for_spreadsheets_and_jsonl_has_every_event() {
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    pack_with_override(dir.path());
    let csv = pb(dir.path(), &["audit", "export", "--format", "csv"]).stdout;
    assert!(
        csv.starts_with("\u{feff}seq,at,type".as_bytes()),
        "UTF-8 BOM then header"
    );
    let text = String::from_utf8(csv).unwrap();
    let jsonl = ok(&pb(dir.path(), &["audit", "export", "--format", "jsonl"]));
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(rdr.records().count(), lines.len());
    assert!(lines
        .iter()
        .all(|l| l.get("event").is_some() && l.get("at").is_some() && l.get("hash").is_some()));
    assert!(lines
        .iter()
        .any(|l| l["event"] == "order_packed" && l["order_no"] == ORDER1));
    // Chinese text inside event data survives (the sign-in carries the packer's name 张伟).
    assert!(text.contains("张伟"));
    let out_file = dir.path().join("x.csv");
    ok(&pb(
        dir.path(),
        &[
            "audit",
            "export",
            "--format",
            "csv",
            "--out",
            out_file.to_str().unwrap(),
        ],
    ));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), text);
}

#[test]
fn verify_and_checkpoint_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    pack_with_override(dir.path());
    let out = ok(&pb(dir.path(), &["audit", "verify"]));
    assert!(out.starts_with("event log intact"), "{out}");
    let cp = dir.path().join("cp.json");
    ok(&pb(
        dir.path(),
        &["audit", "checkpoint", "--out", cp.to_str().unwrap()],
    ));
    ok(&pb(
        dir.path(),
        &["audit", "verify", "--checkpoint", cp.to_str().unwrap()],
    ));
    let s = rusqlite::Connection::open(dir.path().join("packbench.db")).unwrap();
    s
        .execute_batch("DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = (SELECT max(seq) FROM events);")
        .unwrap();
    drop(s);
    // Still a valid chain, but the checkpoint proves the truncation.
    ok(&pb(dir.path(), &["audit", "verify"]));
    let out = pb(
        dir.path(),
        &["audit", "verify", "--checkpoint", cp.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("event log NOT intact: the log ends at event"),
        "{err}"
    );
    let s = rusqlite::Connection::open(dir.path().join("packbench.db")).unwrap();
    s.execute_batch("DROP TRIGGER events_no_update; UPDATE events SET actor = 'X' WHERE seq = 5;")
        .unwrap();
    drop(s);
    let out = pb(dir.path(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("event 5 was changed"));
}

#[test]
fn db_option_config_and_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = pb(dir.path(), &["audit", "verify", "--db", "nope.db"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("database nope.db does not exist"));
    // A config's relative database is relative to the config's folder.
    let sub = dir.path().join("bench");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("station.toml"),
        "station_id = \"B7\"\ndatabase = \"data.db\"\n",
    )
    .unwrap();
    let c = fixtures().join("catalog.csv");
    ok(&pb(
        dir.path(),
        &[
            "--config",
            "bench/station.toml",
            "import",
            "catalog",
            c.to_str().unwrap(),
        ],
    ));
    assert!(sub.join("data.db").exists());
    let out = ok(&pb(
        dir.path(),
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--db",
            "bench/data.db",
        ],
    ));
    assert!(out.contains("\"station_id\":\"B7\""));
    // A broken config is one clear error.
    std::fs::write(sub.join("station.toml"), "station_id = 5\n").unwrap();
    let out = pb(
        dir.path(),
        &["--config", "bench/station.toml", "audit", "verify"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not valid"));
}

#[test]
fn command_sheet_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&pb(dir.path(), &["commands"]));
    for (c, _) in packbench::domain::commands::COMMANDS {
        assert!(out.contains(c.code()), "{}", c.code());
    }
}

/// `pb` on a write-protected copy, as someone who cannot write it: as root (who writes
/// anything) the command runs as `nobody`, so the permissions really hold.
fn pb_unprivileged(dir: &Path, args: &[&str]) -> Output {
    use std::os::unix::process::CommandExt;
    let mut c = Pb::new().dir(dir).args(args);
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        c.command().uid(65534).gid(65534);
    }
    c.output()
}

#[test]
fn audit_reads_a_write_protected_copy_and_never_writes_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    pack_with_override(dir.path());
    // The supervisor's USB stick: the file alone (checkpointed, no WAL beside it), 444, in a
    // 555 folder.
    let stick = dir.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    {
        let c = rusqlite::Connection::open(dir.path().join("packbench.db")).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    std::fs::copy(dir.path().join("packbench.db"), stick.join("copy.db")).unwrap();
    let before = std::fs::read(stick.join("copy.db")).unwrap();
    std::fs::set_permissions(
        stick.join("copy.db"),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&stick, std::fs::Permissions::from_mode(0o555)).unwrap();
    let db = ["--db", "copy.db"];
    let run = |args: &[&str]| {
        let out = pb_unprivileged(&stick, &[args, &db].concat());
        ok(&out)
    };
    let v: serde_json::Value =
        serde_json::from_str(&run(&["audit", "order", ORDER1, "--json"])).unwrap();
    assert_eq!(v["override_by"], "E005");
    assert!(run(&["audit", "verify"]).contains("event log intact"));
    assert!(run(&["audit", "mismatches"]).contains("E005"));
    assert!(run(&["audit", "export", "--format", "jsonl"]).contains("\"override\""));
    run(&["audit", "packer", "E003"]);
    // Nothing was written or made beside it.
    assert_eq!(std::fs::read(stick.join("copy.db")).unwrap(), before);
    let files: Vec<_> = std::fs::read_dir(&stick)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["copy.db"]);
    std::fs::set_permissions(&stick, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn audit_never_creates_or_migrates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = pb(dir.path(), &["audit", "verify", "--db", "none.db"]);
    assert!(!out.status.success());
    assert!(!dir.path().join("none.db").exists());
    // An older schema stays as it is.
    let old = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&old).unwrap();
        c.execute_batch(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, type TEXT NOT NULL,
               actor TEXT, station_id TEXT NOT NULL, order_no TEXT, data TEXT NOT NULL,
               prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    assert!(ok(&pb(dir.path(), &["audit", "verify", "--db", "old.db"])).contains("intact"));
    let c = rusqlite::Connection::open(&old).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1, "not migrated");
}

#[test]
fn an_exported_log_verifies_offline_and_a_changed_line_is_found() {
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    pack_with_override(dir.path());
    let export = ok(&pb(dir.path(), &["audit", "export", "--format", "jsonl"]));
    std::fs::write(dir.path().join("export.jsonl"), &export).unwrap();
    let out = ok(&pb(
        dir.path(),
        &["audit", "verify", "--file", "export.jsonl", "--json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    let n = export.lines().count() as i64;
    assert_eq!(v["events"], n);
    // Change a weight in the chain data of the override's line.
    let tampered: String = export
        .lines()
        .map(|l| {
            if l.contains("\"event\":\"override\"") {
                l.replace("225.0", "265.0")
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(tampered, export);
    std::fs::write(dir.path().join("bad.jsonl"), &tampered).unwrap();
    let out = pb(dir.path(), &["audit", "verify", "--file", "bad.jsonl"]);
    assert_eq!(out.status.code(), Some(3));
    let seq = export
        .lines()
        .find(|l| l.contains("\"event\":\"override\""))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].clone())
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&format!("event {seq} was changed")), "{err}");
    // A line dropped from the middle is found too.
    let dropped: String = export
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 5)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("gap.jsonl"), dropped).unwrap();
    let out = pb(dir.path(), &["audit", "verify", "--file", "gap.jsonl"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn the_log_refuses_replace_into_events() {
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    pack_with_override(dir.path());
    let c = rusqlite::Connection::open(dir.path().join("packbench.db")).unwrap();
    for sql in [
        "REPLACE INTO events SELECT * FROM events WHERE seq = 3",
        "INSERT OR REPLACE INTO events SELECT * FROM events WHERE seq = 3",
        "INSERT INTO events SELECT * FROM events WHERE seq = 3 ON CONFLICT DO NOTHING",
    ] {
        let e = c.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    assert!(ok(&pb(dir.path(), &["audit", "verify"])).contains("intact"));
}

#[test]
fn a_csv_export_never_hands_a_spreadsheet_a_formula() {
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    std::fs::write(
        dir.path().join("evil.csv"),
        "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty\n\
         =HYPERLINK(\"http://x\"),@WB1,顺丰速运,孙浩,CN,addr,,LATIAO-106,1\n",
    )
    .unwrap();
    ok(&pb(dir.path(), &["import", "orders", "evil.csv"]));
    {
        let s = SqliteStore::open(dir.path().join("packbench.db")).unwrap();
        let mut b = Bench::open(s, cfg()).unwrap();
        b.scan(PACKER, None, t(1)).unwrap();
        b.scan("=HYPERLINK(\"http://x\")", None, t(2)).unwrap();
    }
    let csv = ok(&pb(dir.path(), &["audit", "export", "--format", "csv"]));
    // As a spreadsheet reads the file: the order number cell starts with a quote.
    let mut r = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let cells: Vec<String> = r
        .records()
        .map(|x| x.unwrap())
        .filter(|x| &x[2] == "order_loaded")
        .map(|x| x[5].to_string())
        .collect();
    assert_eq!(cells, ["'=HYPERLINK(\"http://x\")"]);
    assert!(csv.contains("'=HYPERLINK"));
    for line in csv.lines() {
        for cell in csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .flatten()
            .flat_map(|r| r.iter().map(str::to_string).collect::<Vec<_>>())
        {
            assert!(!cell.starts_with(['=', '+', '@', '\t', '\r']), "{cell}");
        }
    }
}

#[test]
fn employee_pin_sets_a_hash_only() {
    use packbench::store::ReferenceData;
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    let set = |id: &str, pin: &str| {
        Pb::new()
            .dir(dir.path())
            .args(["employee", "pin", id])
            .stdin(format!("{pin}\n"))
            .output()
    };
    let out = set("E003", "4821");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("4821"), "{said}");
    let s = SqliteStore::open(dir.path().join("packbench.db")).unwrap();
    let h = s.employee("E003").unwrap().unwrap().pin_hash.unwrap();
    assert!(h.as_str().starts_with("$argon2id$") && !h.as_str().contains("4821"));
    assert!(h.verify(&Pin::new("4821")));
    assert!(!h.verify(&Pin::new("3333")), "the imported PIN is replaced");
    // A bad PIN or an unknown employee changes nothing.
    let out = set("E003", "12");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 to 8 digits"));
    let out = set("E999", "1234");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no employee E999"));
    let s = SqliteStore::open(dir.path().join("packbench.db")).unwrap();
    assert!(s
        .employee("E003")
        .unwrap()
        .unwrap()
        .pin_hash
        .unwrap()
        .verify(&Pin::new("4821")));
}

/// The window's lookup worker on a read-only connection: it answers, and the connection
/// cannot write even through the store's own append.
#[test]
fn the_lookup_worker_reads_a_write_protected_copy_read_only() {
    use packbench::store::EventLog;
    use packbench::ui::lookup::{serve, Query, Reply};
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    pack_with_override(dir.path());
    {
        let c = rusqlite::Connection::open(dir.path().join("packbench.db")).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    let stick = dir.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    std::fs::copy(dir.path().join("packbench.db"), stick.join("copy.db")).unwrap();
    std::fs::set_permissions(
        stick.join("copy.db"),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    std::fs::set_permissions(&stick, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut store = packbench::store::open_read_only(&stick.join("copy.db")).unwrap();
    let e = store
        .append(&[packbench::domain::NewEvent::new(
            packbench::domain::EventType::Device,
            t(100),
            "X",
        )])
        .unwrap_err();
    assert!(
        e.to_string().contains("readonly")
            || e.to_string().contains("read-only")
            || e.to_string().contains("read only"),
        "{e}"
    );
    let (tx, rx) = std::sync::mpsc::channel();
    tx.send(Query::EmployeeNumber("3".into())).unwrap();
    tx.send(Query::Open {
        key: format!("order:{ORDER1}"),
        lang: packbench::text::Lang::Zh,
    })
    .unwrap();
    drop(tx);
    let replies = std::cell::RefCell::new(Vec::new());
    let scanned = std::cell::RefCell::new(Vec::new());
    serve(
        store,
        None,
        Box::new(|| t(200)),
        rx,
        |b| scanned.borrow_mut().push(b),
        |r| replies.borrow_mut().push(r),
    );
    let replies = replies.into_inner();
    assert_eq!(replies[0], Reply::Keypad(Ok("BADGE-E003".into())));
    assert!(
        matches!(&replies[1], Reply::Timeline { title, .. } if title.starts_with(ORDER1)),
        "{:?}",
        replies[1]
    );
    // Read in the language asked for: the events by their Chinese names.
    let Reply::Timeline { rows, .. } = &replies[1] else {
        unreachable!()
    };
    let names: Vec<String> = rows.iter().map(|r| r.event.to_string()).collect();
    assert!(names.iter().any(|n| n == "打开订单"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains('_')), "{names:?}");
    assert_eq!(scanned.into_inner(), ["BADGE-E003"]);
    assert_eq!(
        std::fs::read_dir(&stick).unwrap().count(),
        1,
        "nothing made beside it"
    );
    std::fs::set_permissions(&stick, std::fs::Permissions::from_mode(0o755)).unwrap();
}
