//! Supervisors across the floor: freeing an order a gone bench holds, the board, review,
//! search and reports.

use super::*;

#[test]
fn a_supervisor_frees_an_order_held_by_a_bench_that_is_gone() {
    let floor = Floor::new();
    let rig_a = floor.bench("BENCH-J", 43, "finish");
    let rig_b = floor.bench("BENCH-K", 43, "finish");
    floor.import(&rig_a.orders_csv());
    let o = rig_a.orders[0].clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o.order_no);
    copied(&rig_b, &o.order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");
    assert_eq!(open(&mut a, &o.order_no, WAIT)["event"], "order_loaded");
    // The bench dies holding the order.
    a.kill();
    assert_eq!(
        open(&mut b, &o.order_no, WAIT)["reason"],
        "order_claimed_elsewhere"
    );
    // A packer may not release it; a supervisor may, with a reason, on the record.
    let err = pb_fails(&[
        "central",
        "release",
        &o.order_no,
        "--by",
        "E003",
        "--reason",
        "bench dead",
        "--url",
        &floor.db.url,
    ]);
    assert!(err.contains("not a supervisor"), "{err}");
    // The supervisor's PIN is asked for and checked by the centre: a wrong one frees nothing.
    let release = [
        "central",
        "release",
        &o.order_no,
        "--by",
        "E005",
        "--reason",
        "bench J dead",
        "--url",
        &floor.db.url,
    ];
    let err = pb_fails_with(&release, "000000\n");
    assert!(
        err.contains("wrong PIN for E005: nothing was changed"),
        "{err}"
    );
    assert_eq!(
        open(&mut b, &o.order_no, WAIT)["reason"],
        "order_claimed_elsewhere"
    );
    let out = pb(&[
        "central",
        "release",
        &o.order_no,
        "--by",
        "E005",
        "--reason",
        "bench J dead",
        "--url",
        &floor.db.url,
    ]);
    assert!(out.contains("released from BENCH-J"), "{out}");
    pack(&rig_b, &mut b, &o, WAIT);
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o.order_no))
        .unwrap();
    let released = events
        .iter()
        .find(|e| e.kind == "claim_released")
        .unwrap_or_else(|| panic!("no claim_released: {events:#?}"));
    assert_eq!(released.data["by"], "E005");
    assert_eq!(released.data["reason"], "bench J dead");
    b.term();
}

#[test]
fn supervisors_see_the_whole_floor_review_search_and_report() {
    let floor = Floor::new();
    let url = floor.db.url.clone();
    let rig_a = floor.bench("BENCH-S1", 51, "finish");
    let rig_b = floor.bench("BENCH-S2", 51, "finish");
    floor.import(&rig_a.orders_csv());
    let o = rig_a.orders.clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o[3].order_no);
    copied(&rig_b, &o[3].order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");

    // Bench 1: one parcel as it should be; one with a wrong item stopped and a parcel
    // 500 g heavy, approved by a supervisor.
    pack(&rig_a, &mut a, &o[0], WAIT);
    let loaded = open(&mut a, &o[1].order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    let stranger = rig_a
        .items
        .iter()
        .enumerate()
        .find(|(i, _)| !o[1].lines.iter().any(|l| l.0 == *i))
        .map(|(_, it)| it.barcode.clone())
        .unwrap();
    a.scan(&stranger);
    let refused = a.until(WAIT, |v| v["event"] == "scan_rejected").unwrap().1;
    assert_eq!(refused["reason"], "not_in_order", "{refused}");
    scan_rest(&rig_a, &mut a, &loaded, WAIT);
    rig_a.place(o[1].expected_g + 500.0);
    let check = a.until(WAIT, |v| v["event"] == "weight_checked").unwrap().1;
    assert_eq!(check["ok"], false, "{check}");
    // The supervisor's badge, PIN and reason (the fixture's PIN of E005 is 555555).
    a.scan("BADGE-E005");
    a.until(WAIT, |v| v["event"] == "pin_required")
        .unwrap_or_else(|| panic!("no PIN asked; seen {:#?}", a.seen));
    a.scan("@pin 555555");
    a.until(WAIT, |v| v["event"] == "reason_required")
        .unwrap_or_else(|| panic!("no reason asked; seen {:#?}", a.seen));
    a.scan("PB-REASON-SCALE_DRIFT");
    a.until(WAIT, |v| v["event"] == "order_packed")
        .unwrap_or_else(|| panic!("no override; seen {:#?}", a.seen));
    rig_a.place(0.0);
    // Bench 2: one parcel.
    pack(&rig_b, &mut b, &o[2], WAIT);
    floor.drained("BENCH-S1", &rig_a);
    floor.drained("BENCH-S2", &rig_b);

    // The board: both benches, who is on them, what they did today, their devices.
    let board = pb_json(&["audit", "board", "--central", &url, "--json"]);
    let rows = board.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{board:#}");
    let s1 = rows.iter().find(|r| r["station_id"] == "BENCH-S1").unwrap();
    let s2 = rows.iter().find(|r| r["station_id"] == "BENCH-S2").unwrap();
    assert_eq!(s1["orders_today"], 2, "{s1:#}");
    assert_eq!(
        s1["units_today"].as_u64().unwrap(),
        (o[0].units() + o[1].units()) as u64
    );
    assert_eq!(s2["orders_today"], 1, "{s2:#}");
    assert_eq!(s2["units_today"].as_u64().unwrap(), o[2].units() as u64);
    assert_eq!(s1["online"], true);
    assert_eq!(s1["packer_id"], "E003");
    assert_eq!(s1["packer_name"], "张伟");
    assert_eq!(s2["packer_id"], "E004");
    assert_eq!(s1["last_refusal"]["reason"], "not_in_order", "{s1:#}");
    assert!(s2["last_refusal"].is_null(), "{s2:#}");
    let devices: Vec<&str> = s1["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[0].as_str().unwrap())
        .collect();
    assert!(devices.contains(&"scale"), "{devices:?}");
    assert!(devices.contains(&"central"), "{devices:?}");
    let table = pb(&["audit", "board", "--central", &url]);
    assert!(
        table.contains("BENCH-S1") && table.contains("张伟"),
        "{table}"
    );

    // The review queue: the mismatch and the override of bench 1, nothing of bench 2.
    let queue = pb_json(&["audit", "review", "--central", &url, "--json"]);
    let items = queue.as_array().unwrap();
    let mismatch = items
        .iter()
        .find(|i| i["kind"] == "weight_mismatch")
        .unwrap_or_else(|| panic!("{queue:#}"));
    assert_eq!(mismatch["station_id"], "BENCH-S1");
    assert_eq!(mismatch["order_no"], o[1].order_no.as_str());
    let ov = items.iter().find(|i| i["kind"] == "override").unwrap();
    let detail = ov["detail"].as_str().unwrap();
    assert!(
        detail.contains("E005") && detail.contains("scale_drift"),
        "{ov}"
    );
    assert!(
        items.iter().all(|i| i["station_id"] != "BENCH-S2"),
        "{queue:#}"
    );
    let id = mismatch["id"].as_str().unwrap().to_string();
    // A packer may not mark it; a supervisor may, once, with a note.
    let err = pb_fails(&[
        "audit",
        "review",
        &id,
        "--note",
        "ok",
        "--by",
        "E003",
        "--central",
        &url,
    ]);
    assert!(err.contains("not a supervisor"), "{err}");
    let note = "=HYPERLINK(\"http://x\") 秤已校准";
    let wrong = pb_fails_with(
        &[
            "audit",
            "review",
            &id,
            "--note",
            note,
            "--by",
            "E005",
            "--central",
            &url,
        ],
        "123456\n",
    );
    assert!(wrong.contains("wrong PIN for E005"), "{wrong}");
    let said = pb(&[
        "audit",
        "review",
        &id,
        "--note",
        note,
        "--by",
        "E005",
        "--central",
        &url,
    ]);
    assert!(said.contains("reviewed by E005"), "{said}");
    let again = pb_fails(&[
        "audit",
        "review",
        &id,
        "--note",
        "again",
        "--by",
        "E006",
        "--central",
        &url,
    ]);
    assert!(again.contains("already reviewed by E005"), "{again}");
    let queue = pb_json(&["audit", "review", "--central", &url, "--json"]);
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != id.as_str()),
        "{queue:#}"
    );
    let all = pb_json(&["audit", "review", "--all", "--central", &url, "--json"]);
    let done = all
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    assert_eq!(done["reviewed_by"], "E005");
    assert_eq!(done["note"], note);
    // The review is an event of the centre's chain, and the chain still verifies.
    let central_events = floor
        .rt
        .block_on(floor.central.events(&packbench::store::EventFilter {
            station_id: Some("central".into()),
            ..Default::default()
        }))
        .unwrap();
    let reviewed = central_events
        .iter()
        .find(|e| e.kind == "reviewed")
        .unwrap();
    assert_eq!(reviewed.actor.as_deref(), Some("E005"));
    assert_eq!(reviewed.data["item"], id.as_str());
    let report = floor.rt.block_on(floor.central.verify(None)).unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    // As CSV the note is text, not a formula; the Chinese text is intact.
    let csv = pb(&[
        "audit",
        "review",
        "--all",
        "--central",
        &url,
        "--format",
        "csv",
    ]);
    assert!(csv.starts_with('\u{feff}'), "no BOM");
    assert!(
        csv.contains("'=HYPERLINK(\"\"http://x\"\") 秤已校准"),
        "{csv}"
    );

    // Search by a part of a waybill finds the order, where it was packed.
    let waybill = format!("WB{}", &o[2].order_no[4..]);
    let part = &waybill[3..waybill.len() - 1];
    let hits = pb_json(&["audit", "search", part, "--central", &url, "--json"]);
    let hit = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "order" && h["key"] == o[2].order_no.as_str())
        .unwrap_or_else(|| panic!("{part}: {hits:#}"));
    assert_eq!(hit["station_id"], "BENCH-S2");
    assert_eq!(hit["state"], "packed");
    // By the start of an order number from two characters on, in order; two characters from
    // the middle of one are too few to match anywhere.
    let start = &o[0].order_no[..2];
    let by_start = pb_json(&["audit", "search", start, "--central", &url, "--json"]);
    let keys: Vec<&str> = by_start
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "order")
        .map(|h| h["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&o[0].order_no.as_str()), "{by_start:#}");
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    let inner = &o[0].order_no[o[0].order_no.len() - 3..o[0].order_no.len() - 1];
    let none = pb_json(&["audit", "search", inner, "--central", &url, "--json"]);
    assert!(
        none.as_array()
            .unwrap()
            .iter()
            .all(|h| h["kind"] != "order" || h["key"].as_str().unwrap().starts_with(inner)),
        "{inner}: {none:#}"
    );
    let by_name = pb_json(&["audit", "search", "刘洋", "--central", &url, "--json"]);
    assert_eq!(by_name[0]["kind"], "employee", "{by_name:#}");
    assert_eq!(by_name[0]["key"], "E005");
    // The order's timeline across benches opens from the hit.
    let timeline = pb_json(&[
        "audit",
        "order",
        &o[2].order_no,
        "--central",
        &url,
        "--json",
    ]);
    assert!(timeline.to_string().contains("BENCH-S2"), "{timeline:#}");

    // Today's report, per bench and per packer.
    let rep = pb_json(&["audit", "report", "--central", &url, "--json"]);
    let bench = |s: &str| {
        rep["per_bench"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == s)
            .cloned()
            .unwrap_or_else(|| panic!("{s}: {rep:#}"))
    };
    let r1 = bench("BENCH-S1");
    assert_eq!(r1["orders"], 2, "{r1}");
    assert_eq!(r1["wrong_items_caught"], 1, "{r1}");
    assert_eq!(r1["mismatches"], 1, "{r1}");
    assert_eq!(r1["overrides"], 1, "{r1}");
    assert_eq!(bench("BENCH-S2")["orders"], 1);
    let p = rep["per_packer"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "E003")
        .unwrap();
    assert_eq!(p["orders"], 2, "{p}");
    assert_eq!(p["name"], "张伟");
    // The same as .xlsx, read back by an independent reader.
    let xlsx = rig_a.dir.path().join("report.xlsx");
    pb(&[
        "audit",
        "report",
        "--central",
        &url,
        "--format",
        "xlsx",
        "--out",
        xlsx.to_str().unwrap(),
    ]);
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(book.sheet_names(), vec!["per packer", "per bench"]);
    let sheet = book.worksheet_range("per packer").unwrap();
    let cells: Vec<String> = sheet.cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(cells.iter().any(|c| c == "张伟"), "{cells:?}");
    assert!(cells.iter().any(|c| c == "E003"), "{cells:?}");
    a.term();
    b.term();
}
