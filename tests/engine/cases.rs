// The engine tests, run on each backend: included by tests/engine.rs (SQLite) and
// tests/engine_memory.rs (the in-memory store of tests/common/memory.rs).
#[test]
fn whole_order_packs_with_imported_picker() {
    let mut b = bench();
    let ev = b.scan(PACKER, None, t(1)).unwrap();
    assert_eq!(
        only(&ev, EventType::PackerSignedIn).str("packer_id"),
        Some("E003")
    );
    let ev = b.scan(ORDER1_WAYBILL, None, t(2)).unwrap();
    let loaded = only(&ev, EventType::OrderLoaded);
    assert_eq!(loaded.order_no.as_deref(), Some(ORDER1));
    assert_eq!(loaded.data["lines"].as_array().unwrap().len(), 2);
    assert_eq!(loaded.data["expected_g"], 265.0);
    let ev = b.scan(T_BLU_L, Some("scanner-1"), t(3)).unwrap();
    let acc = only(&ev, EventType::ItemAccepted);
    assert_eq!(acc.str("sku"), Some("T-BLU-L"));
    assert_eq!((acc.u64("scanned"), acc.u64("qty")), (Some(1), Some(1)));
    assert_eq!(acc.str("scanner"), Some("scanner-1"));
    b.scan(SOCK_BLK, None, t(4)).unwrap();
    assert_eq!(b.state().next_step(), NextStep::ScanItems { remaining: 1 });
    // A weight before the order is complete decides nothing.
    assert!(b.weight(225.0, true, t(5)).unwrap().is_empty());
    b.scan(SOCK_BLK, None, t(6)).unwrap();
    assert_eq!(b.state().next_step(), NextStep::Weigh);
    // Moving readings are not weights.
    assert!(b.weight(263.0, false, t(7)).unwrap().is_empty());
    let ev = b.weight(266.0, true, t(8)).unwrap();
    assert_eq!(
        kinds(&ev),
        vec![EventType::WeightChecked, EventType::OrderPacked]
    );
    let wc = &ev[0];
    assert_eq!(wc.bool("ok"), Some(true));
    assert_eq!(wc.f64("expected_g"), Some(265.0));
    assert_eq!(wc.f64("tolerance_g"), Some(15.0));
    let packed = &ev[1];
    assert_eq!(packed.str("picker_id"), Some("E001"));
    assert_eq!(packed.str("packer_id"), Some("E003"));
    assert_eq!(packed.f64("measured_g"), Some(266.0));
    assert_eq!(b.state().next_step(), NextStep::ScanOrder);
    assert_eq!(b.state().last_packed.as_deref(), Some(ORDER1));
}

#[test]
fn no_packer_rejects_everything_but_badges() {
    let mut b = bench();
    for code in [ORDER1, T_BLU_L, "PB-UNDO", PKG_BAG_M, "nonsense"] {
        let ev = b.scan(code, None, t(1)).unwrap();
        rejected(&ev, "no_packer");
    }
}

#[test]
fn badge_without_packer_role_cannot_sign_in() {
    let mut b = bench();
    rejected(&b.scan(PICKER, None, t(1)).unwrap(), "not_allowed");
    // A supervisor may sign in, with their PIN, for returns check-in only (tests in
    // engine/returns.rs): the badge alone signs nobody in.
    only(
        &b.scan(SUPERVISOR, None, t(1)).unwrap(),
        EventType::PinRequired,
    );
    assert!(b.state().packer.is_none());
}

#[test]
fn unknown_and_bad_check_digit() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    let e = rejected(
        &b.scan("ZZZ-NOT-A-THING", None, t(2)).unwrap(),
        "unknown_barcode",
    );
    assert_eq!(e.str("code"), Some("ZZZ-NOT-A-THING"));
    // T-BLU-L's EAN with its last digit wrong.
    rejected(
        &b.scan("6975432100138", None, t(3)).unwrap(),
        "bad_check_digit",
    );
}

#[test]
fn not_in_order_and_over_quantity() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    let e = rejected(&b.scan(LIP_R02, None, t(3)).unwrap(), "not_in_order");
    assert_eq!(e.str("sku"), Some("LIP-R02"));
    b.scan(T_BLU_L, None, t(4)).unwrap();
    let e = rejected(&b.scan(T_BLU_L, None, t(5)).unwrap(), "over_quantity");
    assert_eq!((e.u64("scanned"), e.u64("qty")), (Some(1), Some(1)));
    // The rejected unit was not counted.
    let rec = packbench::audit::order_record(b.store(), ORDER1)
        .unwrap()
        .unwrap();
    assert_eq!(rec.lines[0].scanned, 1);
}

#[test]
fn already_packed_names_who_and_when() {
    let mut b = bench();
    order1_complete(&mut b);
    b.weight(265.0, true, t(10)).unwrap();
    let e = rejected(
        &b.scan(ORDER1, None, t(11)).unwrap(),
        "order_already_packed",
    );
    assert_eq!(e.str("packed_by"), Some("E003"));
    assert_eq!(e.str("packed_station"), Some("BENCH-T"));
    assert_eq!(e.str("packed_at"), Some(t(10).to_rfc3339().as_str()));
    assert!(e.str("detail").unwrap().contains("E003"));
}

#[test]
fn cancelled_order_refused() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    rejected(&b.scan(CANCELLED, None, t(2)).unwrap(), "order_cancelled");
    assert!(b.state().open.is_none());
}

fn reimport_order1(b: &mut Bench<TestStore>, qty_socks: u32, status: &str) {
    import_csv(
        b,
        packbench::import::Kind::Orders,
        &format!(
            "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty,picker_id,gift,status\n\
             {ORDER1},{ORDER1_WAYBILL},顺丰速运,李娜,CN,浙江省杭州市西湖区文三路398号东信大厦12楼,,T-BLU-L,1,E001,,{status}\n\
             {ORDER1},{ORDER1_WAYBILL},顺丰速运,李娜,CN,浙江省杭州市西湖区文三路398号东信大厦12楼,,SOCK-BLK,{qty_socks},E001,,{status}\n"
        ),
    );
}

/// Imports `csv` into the bench's store while the bench runs, as `packbench import` does.
fn import_csv(b: &mut Bench<TestStore>, kind: packbench::import::Kind, csv: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("import.csv");
    std::fs::write(&p, csv).unwrap();
    packbench::import::import_file(
        b.store_mut(),
        kind,
        &p,
        &packbench::import::ReadOptions::default(),
        "TEST",
        t(100),
        &mut |_| {},
    )
    .unwrap();
}

#[test]
fn order_changed_after_opening_is_refused_until_rescanned() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    b.scan(T_BLU_L, None, t(3)).unwrap();
    reimport_order1(&mut b, 3, "");
    rejected(&b.scan(SOCK_BLK, None, t(4)).unwrap(), "order_changed");
    // Rescanning the order picks up the new version; old scans no longer count.
    let ev = b.scan(ORDER1, None, t(5)).unwrap();
    let loaded = only(&ev, EventType::OrderLoaded);
    assert_eq!(loaded.bool("changed"), Some(true));
    assert_eq!(loaded.u64("discarded_units"), Some(1));
    let lines = loaded.data["lines"].as_array().unwrap();
    assert_eq!(lines[1]["qty"], 3);
    assert!(lines.iter().all(|l| l["scanned"] == 0));
    for (i, code) in [T_BLU_L, SOCK_BLK, SOCK_BLK, SOCK_BLK].iter().enumerate() {
        only(
            &b.scan(code, None, t(6 + i as i64)).unwrap(),
            EventType::ItemAccepted,
        );
    }
    let ev = b.weight(305.0, true, t(20)).unwrap();
    assert!(kinds(&ev).contains(&EventType::OrderPacked));
}

#[test]
fn order_changed_between_last_scan_and_weighing_is_not_packed() {
    let mut b = bench();
    order1_complete(&mut b);
    reimport_order1(&mut b, 3, "");
    let e = rejected(&b.weight(265.0, true, t(10)).unwrap(), "order_changed");
    assert_eq!(e.order_no.as_deref(), Some(ORDER1));
    assert_ne!(b.state().next_step(), NextStep::ScanOrder);
}

#[test]
fn order_cancelled_while_on_the_scale_is_not_packed() {
    let mut b = bench();
    order1_complete(&mut b);
    // Readings of a moving parcel decide nothing; the import lands meanwhile.
    assert!(b.weight(120.0, false, t(8)).unwrap().is_empty());
    reimport_order1(&mut b, 2, "cancelled");
    assert!(b.weight(200.0, false, t(9)).unwrap().is_empty());
    let e = rejected(&b.weight(265.0, true, t(10)).unwrap(), "order_cancelled");
    assert_eq!(e.order_no.as_deref(), Some(ORDER1));
    assert!(
        !kinds(&b.store().events(&Default::default()).unwrap()).contains(&EventType::OrderPacked),
        "a cancelled order is never packed"
    );
}

#[test]
fn a_catalog_and_orders_import_reach_a_running_bench() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    rejected(&b.scan("6975432999991", None, t(2)).unwrap(), "unknown_barcode");
    rejected(&b.scan("SO-NEW-1", None, t(3)).unwrap(), "unknown_barcode");
    // Imported while the bench runs, as `packbench import` or the centre's feed does.
    import_csv(
        &mut b,
        packbench::import::Kind::Catalog,
        "sku,name,barcodes,unit_weight_g,weight_tolerance_g,attributes\n\
         MUG-WHT,Mug,6975432999991,310,,\n",
    );
    import_csv(
        &mut b,
        packbench::import::Kind::Orders,
        "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty,picker_id,gift,status\n\
         SO-NEW-1,SF9000000001,顺丰速运,王芳,CN,上海市,,MUG-WHT,1,E001,,\n",
    );
    only(&b.scan("SO-NEW-1", None, t(4)).unwrap(), EventType::OrderLoaded);
    let ev = b.scan("6975432999991", None, t(5)).unwrap();
    assert_eq!(only(&ev, EventType::ItemAccepted).str("sku"), Some("MUG-WHT"));
}

#[test]
fn a_supervisor_imported_while_the_bench_runs_opens_the_supervisor_view() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    rejected(&b.supervisor_view("BADGE-E099", t(2)).unwrap(), "unknown_barcode");
    add_employees(&mut b, "E099,New Supervisor,supervisor,BADGE-E099,999999,1\n");
    let ev = b.supervisor_view("BADGE-E099", t(3)).unwrap();
    assert_eq!(only(&ev, EventType::PinRequired).str("purpose"), Some("supervisor_view"));
    let ev = b.pin(&Pin::new("999999"), t(4)).unwrap();
    assert_eq!(
        only(&ev, EventType::SupervisorViewOpened).str("supervisor_id"),
        Some("E099")
    );
}

#[test]
fn order_cancelled_after_opening_is_refused() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    reimport_order1(&mut b, 2, "cancelled");
    rejected(&b.scan(T_BLU_L, None, t(3)).unwrap(), "order_cancelled");
    rejected(&b.scan(ORDER1, None, t(4)).unwrap(), "order_cancelled");
}

#[test]
fn picker_badge_and_roles() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER2, None, t(2)).unwrap();
    // Another packer cannot take over without signing out.
    rejected(&b.scan(PACKER2, None, t(3)).unwrap(), "not_allowed");
    let ev = b.scan(PICKER, None, t(4)).unwrap();
    assert_eq!(
        only(&ev, EventType::PickerSet).str("picker_id"),
        Some("E007")
    );
    // A picker|packer is recorded as picker while an order is open.
    let ev = b.scan(PICKER_PACKER, None, t(5)).unwrap();
    assert_eq!(
        only(&ev, EventType::PickerSet).str("picker_id"),
        Some("E002")
    );
    assert_eq!(b.state().packer.as_ref().unwrap().id, "E003");
    // Own badge repeats the sign-in.
    let ev = b.scan(PACKER, None, t(6)).unwrap();
    assert_eq!(
        only(&ev, EventType::PackerSignedIn).bool("repeat"),
        Some(true)
    );
}

#[test]
fn imported_picker_is_not_replaced() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    rejected(&b.scan(PICKER, None, t(3)).unwrap(), "picker_from_import");
}

#[test]
fn weight_ok_without_picker_waits_for_picker_badge() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER2, None, t(2)).unwrap();
    for c in [LIP_R02, SUN_50, SERUM_GIFT] {
        only(&b.scan(c, None, t(3)).unwrap(), EventType::ItemAccepted);
    }
    let ev = b.weight(107.0, true, t(4)).unwrap();
    assert_eq!(kinds(&ev), vec![EventType::WeightChecked]);
    assert_eq!(b.state().next_step(), NextStep::ScanPicker);
    let ev = b.scan(PICKER, None, t(5)).unwrap();
    assert_eq!(
        kinds(&ev),
        vec![EventType::PickerSet, EventType::OrderPacked]
    );
    assert_eq!(ev[1].str("picker_id"), Some("E007"));
}

#[test]
fn gift_line_must_be_scanned() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER2, None, t(2)).unwrap();
    b.scan(PICKER, None, t(2)).unwrap();
    b.scan(LIP_R02, None, t(3)).unwrap();
    b.scan(SUN_50, None, t(3)).unwrap();
    // Without the gift the order is incomplete: no weight check.
    assert!(b.weight(97.5, true, t(4)).unwrap().is_empty());
    let ev = b.scan(SERUM_GIFT, None, t(5)).unwrap();
    assert_eq!(
        only(&ev, EventType::ItemAccepted).bool("complete"),
        Some(true)
    );
}

#[test]
fn tolerance_at_bound_passes_and_just_past_fails() {
    // 265 g expected, tolerance max(15, 3% of 265) = 15.
    for (grams, ok) in [
        (280.0, true),
        (250.0, true),
        (280.01, false),
        (249.99, false),
    ] {
        let mut b = bench();
        order1_complete(&mut b);
        let ev = b.weight(grams, true, t(10)).unwrap();
        let wc = only(&ev, EventType::WeightChecked);
        assert_eq!(wc.bool("ok"), Some(ok), "{grams} g");
        assert_eq!(
            kinds(&ev).contains(&EventType::OrderPacked),
            ok,
            "{grams} g"
        );
    }
}

#[test]
fn percent_tolerance_and_per_sku_tolerance() {
    // TB20261122008: TEA-LJ-250 (262, ±5), TEA-TGY-500 (±8), MANGO-DRY-100 ×2 (±4), NUT ×6, COFFEE.
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    let ev = b.scan("TB20261122008", None, t(2)).unwrap();
    let loaded = only(&ev, EventType::OrderLoaded);
    let expected = loaded.f64("expected_g").unwrap();
    let store = b.store();
    let cat = packbench::domain::catalog::Catalog::new(store.load_catalog().unwrap()).unwrap();
    let lines = loaded.data["lines"].as_array().unwrap().clone();
    for l in &lines {
        let sku = cat.get(l["sku"].as_str().unwrap()).unwrap();
        let code = &sku.barcodes[0].code;
        for _ in 0..l["qty"].as_u64().unwrap() {
            only(&b.scan(code, None, t(3)).unwrap(), EventType::ItemAccepted);
        }
    }
    // Base: max(15, 3% of expected); widened by 5 + 8 + 2×4 = 21.
    let base = (0.03 * expected).max(15.0);
    let tol = ((base + 21.0) * 100.0).round() / 100.0;
    let ev = b.weight(expected + tol, true, t(4)).unwrap();
    let wc = only(&ev, EventType::WeightChecked);
    assert_eq!(wc.f64("tolerance_g"), Some(tol));
    assert_eq!(wc.bool("ok"), Some(true));
}

#[test]
fn mismatch_hint_then_reweigh_and_override() {
    let mut b = bench();
    order1_complete(&mut b);
    // One sock short: 225 g.
    let ev = b.weight(225.0, true, t(10)).unwrap();
    let wc = only(&ev, EventType::WeightChecked);
    assert_eq!(wc.bool("ok"), Some(false));
    assert_eq!(wc.str("hint"), Some("≈ 1 × SOCK-BLK missing, 40 g"));
    assert_eq!(b.state().next_step(), NextStep::ResolveMismatch);
    // The same reading repeated by a continuous scale is not a new check.
    assert!(b.weight(225.0, true, t(11)).unwrap().is_empty());
    // A new stable reading is checked again.
    let ev = b.weight(226.5, true, t(12)).unwrap();
    assert_eq!(only(&ev, EventType::WeightChecked).bool("ok"), Some(false));
    // Lifting the parcel and putting it back counts as a re-weigh, even at the same weight.
    b.weight(0.0, true, t(13)).unwrap();
    let ev = b.weight(226.5, true, t(14)).unwrap();
    only(&ev, EventType::WeightChecked);
    // A packer's badge is no override.
    rejected(&b.scan(PACKER2, None, t(15)).unwrap(), "not_allowed");
    // The supervisor's badge asks for the PIN, the PIN for the reason.
    let ev = b.scan(SUPERVISOR, None, t(16)).unwrap();
    let req = only(&ev, EventType::PinRequired);
    assert_eq!(req.str("employee_id"), Some("E005"));
    assert_eq!(req.str("purpose"), Some("approval"));
    let ev = b.pin(&Pin::new(SUPERVISOR_PIN), t(17)).unwrap();
    assert_eq!(
        only(&ev, EventType::ReasonRequired).str("cause"),
        Some("weight_mismatch")
    );
    assert_eq!(
        b.state().next_step(),
        NextStep::ChooseReason {
            supervisor_id: "E005".into()
        }
    );
    let ev = b.scan("PB-REASON-PACKAGING_HEAVIER", None, t(18)).unwrap();
    assert_eq!(
        kinds(&ev),
        vec![EventType::Override, EventType::OrderPacked]
    );
    assert_eq!(ev[0].str("supervisor_id"), Some("E005"));
    assert_eq!(ev[0].actor.as_deref(), Some("E005"));
    assert_eq!(ev[0].str("reason"), Some("packaging_heavier"));
    assert_eq!(ev[0].str("cause"), Some("weight_mismatch"));
    assert_eq!(ev[1].str("override_by"), Some("E005"));
    assert_eq!(ev[1].bool("weight_ok"), Some(false));
    let rec = packbench::audit::order_record(b.store(), ORDER1)
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, "packed");
    assert_eq!(rec.override_by.as_deref(), Some("E005"));
    assert_eq!(rec.weight_ok, Some(false));
}

#[test]
fn supervisor_without_pending_mismatch_is_refused() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    rejected(&b.scan(SUPERVISOR, None, t(3)).unwrap(), "not_allowed");
}

#[test]
fn fix_and_reweigh_packs_without_override() {
    let mut b = bench();
    order1_complete(&mut b);
    b.weight(305.0, true, t(10)).unwrap(); // an extra sock in the box
    let ev = b.weight(265.5, true, t(11)).unwrap();
    assert!(kinds(&ev).contains(&EventType::OrderPacked));
}

#[test]
fn packaging_tare_counts() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    let ev = b.scan(PKG_BAG_M, None, t(3)).unwrap();
    assert_eq!(only(&ev, EventType::PackagingSet).f64("tare_g"), Some(18.0));
    for c in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
        b.scan(c, None, t(4)).unwrap();
    }
    let ev = b.weight(283.0, true, t(5)).unwrap();
    assert_eq!(
        only(&ev, EventType::WeightChecked).f64("expected_g"),
        Some(283.0)
    );
    assert!(kinds(&ev).contains(&EventType::OrderPacked));
}

#[test]
fn undo_last_scan() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    rejected(&b.scan("PB-UNDO", None, t(3)).unwrap(), "nothing_to_undo");
    b.scan(T_BLU_L, None, t(4)).unwrap();
    b.scan(SOCK_BLK, None, t(5)).unwrap();
    let ev = b.scan("PB-UNDO", None, t(6)).unwrap();
    let u = only(&ev, EventType::ScanUndone);
    assert_eq!(
        (u.str("sku"), u.u64("scanned")),
        (Some("SOCK-BLK"), Some(0))
    );
    let ev = b.command(Command::UndoLastScan, t(7)).unwrap();
    assert_eq!(only(&ev, EventType::ScanUndone).str("sku"), Some("T-BLU-L"));
    let rec = packbench::audit::order_record(b.store(), ORDER1)
        .unwrap()
        .unwrap();
    assert!(rec.lines.iter().all(|l| l.scanned == 0));
    // Undo after completion takes the order back out of weighing.
    for c in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
        b.scan(c, None, t(8)).unwrap();
    }
    b.scan("PB-UNDO", None, t(9)).unwrap();
    assert!(b.weight(265.0, true, t(10)).unwrap().is_empty());
}

#[test]
fn hold_and_resume() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    b.scan(T_BLU_L, None, t(3)).unwrap();
    let ev = b.scan("PB-HOLD-SHORT", None, t(4)).unwrap();
    assert_eq!(only(&ev, EventType::OrderHeld).str("reason"), Some("short"));
    assert!(b.state().open.is_none());
    let rec = packbench::audit::order_record(b.store(), ORDER1)
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, "held");
    assert_eq!(rec.held_reason.as_deref(), Some("short"));
    rejected(
        &b.command(Command::Hold(HoldReason::Other), t(5)).unwrap(),
        "no_order",
    );
    // Resuming keeps the count.
    let ev = b.scan(ORDER1, None, t(6)).unwrap();
    let lines = only(&ev, EventType::OrderLoaded).data["lines"].clone();
    assert_eq!(lines[0]["scanned"], 1);
}

#[test]
fn opening_another_order_mid_way_is_refused() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    // Nothing scanned yet: switching releases the first order.
    let ev = b.scan(ORDER2, None, t(3)).unwrap();
    assert_eq!(
        kinds(&ev),
        vec![EventType::OrderReleased, EventType::OrderLoaded]
    );
    b.scan(LIP_R02, None, t(4)).unwrap();
    rejected(&b.scan(ORDER1, None, t(5)).unwrap(), "order_in_progress");
    let rec = packbench::audit::order_record(b.store(), ORDER1)
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, "pending");
}

#[test]
fn rescanning_open_order_repeats_its_state() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    b.scan(SOCK_BLK, None, t(3)).unwrap();
    let ev = b.scan(ORDER1_WAYBILL, None, t(4)).unwrap();
    let l = only(&ev, EventType::OrderLoaded);
    assert_eq!(l.bool("repeat"), Some(true));
    assert_eq!(l.data["lines"][1]["scanned"], 1);
}

#[test]
fn case_code_counts_its_units() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(CASE_ORDER, None, t(2)).unwrap();
    b.scan(LATIAO_UNIT, None, t(3)).unwrap();
    // 11 still needed: a case of 12 is too many.
    let e = rejected(&b.scan(LATIAO_CASE, None, t(4)).unwrap(), "over_quantity");
    assert_eq!(e.u64("units"), Some(12));
    b.scan("PB-UNDO", None, t(5)).unwrap();
    let ev = b.scan(LATIAO_CASE, None, t(6)).unwrap();
    let acc = only(&ev, EventType::ItemAccepted);
    assert_eq!((acc.u64("units"), acc.u64("scanned")), (Some(12), Some(12)));
    assert_eq!(acc.bool("complete"), Some(true));
    // Undo takes the whole case back.
    let ev = b.scan("PB-UNDO", None, t(7)).unwrap();
    assert_eq!(only(&ev, EventType::ScanUndone).u64("units"), Some(12));
    // A GS1 case label: the contained item's GTIN (AI 02) and its count (AI 37).
    let ev = b.scan("(02)06924187710603(37)12", None, t(8)).unwrap();
    let acc = only(&ev, EventType::ItemAccepted);
    assert_eq!(acc.str("sku"), Some("LATIAO-106"));
    assert_eq!((acc.u64("units"), acc.u64("scanned")), (Some(12), Some(12)));
    b.scan("PB-UNDO", None, t(9)).unwrap();
    // A count of 13 is more than the order holds.
    let e = rejected(
        &b.scan("]C102069241877106033713", None, t(10)).unwrap(),
        "over_quantity",
    );
    assert_eq!(e.u64("units"), Some(13));
}

#[test]
fn gs1_scan_matches_gtin_and_keeps_lot_serial_expiry() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    // GS1-128 with AIM prefix: (01) GTIN-14 of T-BLU-L's EAN, (10) lot, (21) serial, (17) expiry.
    let code = format!("]C101{}{}10LOT42\u{1d}21SER7\u{1d}17271231", "0", T_BLU_L);
    let ev = b.scan(&code, None, t(3)).unwrap();
    let acc = only(&ev, EventType::ItemAccepted);
    assert_eq!(acc.str("sku"), Some("T-BLU-L"));
    assert_eq!(acc.str("aim"), Some("]C1"));
    assert_eq!(acc.str("gtin"), Some("06975432100137"));
    assert_eq!(acc.str("lot"), Some("LOT42"));
    assert_eq!(acc.str("serial"), Some("SER7"));
    assert_eq!(acc.str("expiry"), Some("271231"));
}

#[test]
fn upc_ean_and_gtin14_forms_match_one_product() {
    // CANDLE-LAV is catalogued as UPC-A 812376045185.
    for form in [
        "812376045185",
        "0812376045185",
        "00812376045185",
        "]E00812376045185",
    ] {
        let mut b = bench();
        b.scan(PACKER, None, t(1)).unwrap();
        b.scan("AE8012345719", None, t(2)).unwrap();
        let ev = b.scan(form, None, t(3)).unwrap();
        let e = ev
            .iter()
            .find(|e| e.kind != EventType::OrderLoaded)
            .unwrap();
        // Whether or not the order holds a candle, the code must be known as CANDLE-LAV.
        assert_ne!(e.str("reason"), Some("unknown_barcode"), "{form}: {e:?}");
        assert_eq!(e.str("sku"), Some("CANDLE-LAV"), "{form}: {e:?}");
    }
    // Both EANs of T-BLU-L are the same SKU.
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    let ev = b.scan(T_BLU_L_OLD, None, t(3)).unwrap();
    assert_eq!(
        only(&ev, EventType::ItemAccepted).str("sku"),
        Some("T-BLU-L")
    );
}

#[test]
fn packaging_without_order_and_reprint_without_label() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    rejected(&b.scan(PKG_BAG_M, None, t(2)).unwrap(), "no_order");
    rejected(&b.scan(T_BLU_L, None, t(2)).unwrap(), "no_order");
    rejected(
        &b.scan("PB-REPRINT", None, t(3)).unwrap(),
        "nothing_to_reprint",
    );
    b.scan(PACKER, None, t(4)).unwrap();
    order1_complete(&mut b);
    b.weight(265.0, true, t(10)).unwrap();
    let ev = b.scan("PB-REPRINT", None, t(11)).unwrap();
    assert_eq!(
        only(&ev, EventType::ReprintRequested).order_no.as_deref(),
        Some(ORDER1)
    );
}

#[test]
fn dispatch_mode_hands_over_packed_parcels_only() {
    let mut b = bench();
    order1_complete(&mut b);
    b.weight(265.0, true, t(10)).unwrap();
    // TB20261122004 (SF too) not packed; ORDER2 goes with another carrier.
    let ev = b.scan("PB-DISPATCH", None, t(20)).unwrap();
    let batch = only(&ev, EventType::DispatchStarted)
        .str("batch_id")
        .unwrap()
        .to_string();
    assert_eq!(b.state().next_step(), NextStep::Dispatch);
    rejected(&b.scan("TB20261122004", None, t(21)).unwrap(), "not_packed");
    rejected(&b.scan(CANCELLED, None, t(22)).unwrap(), "order_cancelled");
    rejected(&b.scan(T_BLU_L, None, t(22)).unwrap(), "not_allowed");
    let ev = b.scan(ORDER1_WAYBILL, None, t(23)).unwrap();
    let d = only(&ev, EventType::OrderDispatched);
    assert_eq!(d.str("batch_id"), Some(batch.as_str()));
    assert_eq!(d.str("carrier"), Some("顺丰速运"));
    rejected(&b.scan(ORDER1, None, t(24)).unwrap(), "already_dispatched");
    let ev = b.scan("PB-DISPATCH-END", None, t(25)).unwrap();
    let c = only(&ev, EventType::DispatchClosed);
    assert_eq!(c.u64("count"), Some(1));
    let rec = packbench::audit::order_record(b.store(), ORDER1)
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, "dispatched");
    assert!(rec.dispatched_at.is_some());
}

#[test]
fn dispatch_refuses_held_and_wrong_carrier() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER2, None, t(2)).unwrap();
    b.scan(LIP_R02, None, t(3)).unwrap();
    b.scan("PB-HOLD", None, t(4)).unwrap();
    order1_complete(&mut b);
    b.weight(265.0, true, t(10)).unwrap();
    // Pack the case order too (SF, picker E008): 12 × 112 g.
    b.scan(CASE_ORDER, None, t(11)).unwrap();
    b.scan(LATIAO_CASE, None, t(12)).unwrap();
    b.weight(1344.0, true, t(13)).unwrap();
    b.scan("PB-DISPATCH", None, t(20)).unwrap();
    rejected(&b.scan(ORDER2, None, t(21)).unwrap(), "order_held");
    b.scan(ORDER1, None, t(22)).unwrap();
    // Same carrier: accepted.
    only(
        &b.scan(CASE_ORDER, None, t(23)).unwrap(),
        EventType::OrderDispatched,
    );
    b.scan("PB-DISPATCH-END", None, t(24)).unwrap();
    rejected(
        &b.scan("PB-DISPATCH-END", None, t(25)).unwrap(),
        "not_allowed",
    );
}

#[test]
fn dispatch_refuses_a_parcel_of_another_carrier() {
    let mut b = bench();
    order1_complete(&mut b); // 顺丰速运
    b.weight(265.0, true, t(10)).unwrap();
    b.scan(ORDER2, None, t(11)).unwrap(); // 中通快递
    for c in [LIP_R02, SUN_50, SERUM_GIFT, PICKER] {
        b.scan(c, None, t(12)).unwrap();
    }
    let ev = b.weight(107.0, true, t(13)).unwrap();
    assert!(kinds(&ev).contains(&EventType::OrderPacked));
    b.scan("PB-DISPATCH", None, t(20)).unwrap();
    only(
        &b.scan(ORDER1, None, t(21)).unwrap(),
        EventType::OrderDispatched,
    );
    let e = rejected(&b.scan(ORDER2, None, t(22)).unwrap(), "wrong_carrier");
    assert!(e.str("detail").unwrap().contains("中通快递"));
    // Signing out closes the handover.
    let ev = b.scan("PB-SIGNOUT", None, t(23)).unwrap();
    assert_eq!(
        kinds(&ev),
        vec![EventType::DispatchClosed, EventType::PackerSignedOut]
    );
}

#[test]
fn sign_out_closes_the_bench_and_another_packer_can_continue() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    b.scan(T_BLU_L, None, t(3)).unwrap();
    let ev = b.scan("PB-SIGNOUT", None, t(4)).unwrap();
    assert_eq!(
        only(&ev, EventType::PackerSignedOut).str("open_order"),
        Some(ORDER1)
    );
    assert_eq!(b.state().next_step(), NextStep::SignIn);
    b.scan(PACKER2, None, t(5)).unwrap();
    let ev = b.scan(ORDER1, None, t(6)).unwrap();
    assert_eq!(
        only(&ev, EventType::OrderLoaded).data["lines"][0]["scanned"],
        1
    );
    b.scan(SOCK_BLK, None, t(7)).unwrap();
    b.scan(SOCK_BLK, None, t(8)).unwrap();
    let ev = b.weight(265.0, true, t(9)).unwrap();
    assert_eq!(
        only(&ev, EventType::OrderPacked).str("packer_id"),
        Some("E004")
    );
}

#[test]
fn hostile_text_is_stored_as_given() {
    let b = bench();
    let rec = packbench::audit::order_record(b.store(), "AE8012345719")
        .unwrap()
        .unwrap();
    assert_eq!(rec.buyer_note, "<b>URGENT</b> '; DROP TABLE orders; --");
    // The orders table survived the note.
    assert!(b.store().find_order(ORDER1).unwrap().is_some());
}

#[test]
fn the_supervisor_view_opens_for_a_supervisor_badge_only() {
    let mut b = bench();
    // Refused, and logged with whose badge it was; the bench is not signed in by it.
    let e = rejected(&b.supervisor_view(PACKER, t(1)).unwrap(), "not_allowed");
    assert_eq!(e.bool("supervisor_view"), Some(true));
    assert_eq!(e.str("employee_id"), Some("E003"));
    assert_eq!(e.str("name"), Some("张伟"));
    assert_eq!(b.state().next_step(), NextStep::SignIn);
    let e = rejected(
        &b.supervisor_view("NOT-A-BADGE", t(2)).unwrap(),
        "unknown_barcode",
    );
    assert_eq!(e.str("employee_id"), None);
    // A supervisor's badge opens it, whatever the bench is doing, and changes nothing there.
    b.scan(PACKER, None, t(3)).unwrap();
    b.scan(ORDER1, None, t(4)).unwrap();
    let before = b.state().clone();
    // Badge, then PIN (a wrong one first).
    let ev = b.supervisor_view(SUPERVISOR, t(5)).unwrap();
    assert_eq!(
        only(&ev, EventType::PinRequired).str("purpose"),
        Some("supervisor_view")
    );
    let ev = b.pin(&Pin::new("1234"), t(5)).unwrap();
    assert_eq!(only(&ev, EventType::PinFailed).u64("remaining"), Some(4));
    let ev = b.pin(&Pin::new(SUPERVISOR_PIN), t(5)).unwrap();
    let o = only(&ev, EventType::SupervisorViewOpened);
    assert_eq!(o.str("supervisor_id"), Some("E005"));
    assert_eq!(o.actor.as_deref(), Some("E005"));
    assert_eq!(o.order_no, None);
    assert_eq!(b.state(), &before);
    let e = rejected(&b.supervisor_view(PACKER2, t(6)).unwrap(), "not_allowed");
    assert_eq!(e.actor.as_deref(), Some("E003"), "the signed-in packer");
    assert_eq!(e.order_no, None, "not about the open order");
}

/// A scanned order 1 weighed one sock short: waiting for a supervisor.
fn order1_mismatch(b: &mut Bench<TestStore>) {
    order1_complete(b);
    let ev = b.weight(225.0, true, t(10)).unwrap();
    assert_eq!(only(&ev, EventType::WeightChecked).bool("ok"), Some(false));
    assert_eq!(b.state().next_step(), NextStep::ResolveMismatch);
}

/// More employees, imported into the bench's store (the bench reloads them at its next input).
fn add_employees(b: &mut Bench<TestStore>, rows: &str) {
    import_csv(
        b,
        packbench::import::Kind::Employees,
        &format!("id,name,roles,badge,pin,active\n{rows}"),
    );
}

#[test]
fn every_reason_completes_an_approval_by_barcode_or_keypad_line() {
    for (i, reason) in ApprovalReason::CHOICES.into_iter().enumerate() {
        let mut b = bench();
        order1_mismatch(&mut b);
        only(&b.scan(SUPERVISOR, None, t(20)).unwrap(), EventType::PinRequired);
        only(&b.pin(&Pin::new(SUPERVISOR_PIN), t(21)).unwrap(), EventType::ReasonRequired);
        // Half by the command barcode, half as the screen or `@reason` gives it.
        let ev = if i % 2 == 0 {
            b.scan(Command::Reason(reason).code(), None, t(22)).unwrap()
        } else {
            b.reason(reason, t(22)).unwrap()
        };
        let o = only(&ev, EventType::Override);
        assert_eq!(o.str("reason"), Some(reason.as_str()));
        assert_eq!(o.str("supervisor_id"), Some("E005"));
        only(&ev, EventType::OrderPacked);
        assert_eq!(b.state().next_step(), NextStep::ScanOrder);
    }
}

#[test]
fn a_reason_without_an_approval_waiting_is_refused() {
    let mut b = bench();
    order1_mismatch(&mut b);
    rejected(&b.scan("PB-REASON-OTHER", None, t(20)).unwrap(), "not_allowed");
    // The badge alone (no PIN yet) is not enough either.
    b.scan(SUPERVISOR, None, t(21)).unwrap();
    rejected(&b.reason(ApprovalReason::Other, t(22)).unwrap(), "not_allowed");
    assert_eq!(
        b.state().next_step(),
        NextStep::EnterPin {
            employee_id: "E005".into(),
            purpose: packbench::domain::event::AuthPurpose::Approval
        }
    );
    assert!(b.state().open.is_some(), "nothing was packed");
}

#[test]
fn wrong_pins_lock_the_badge_for_five_minutes() {
    let mut b = bench();
    order1_mismatch(&mut b);
    b.scan(SUPERVISOR, None, t(20)).unwrap();
    for n in 1..=4u64 {
        let ev = b.pin(&Pin::new("9999"), t(20 + n as i64)).unwrap();
        let f = only(&ev, EventType::PinFailed);
        assert_eq!((f.u64("failures"), f.u64("remaining")), (Some(n), Some(5 - n)));
    }
    let ev = b.pin(&Pin::new("9999"), t(25)).unwrap();
    assert_eq!(kinds(&ev), vec![EventType::PinFailed, EventType::BadgeLocked]);
    assert_eq!(ev[1].str("employee_id"), Some("E005"));
    assert_eq!(ev[1].str("until"), Some(t(25 + 300).to_rfc3339().as_str()));
    // Locked: the badge is refused, and the right PIN has nothing to answer.
    let e = rejected(&b.scan(SUPERVISOR, None, t(30)).unwrap(), "badge_locked");
    assert_eq!(e.str("employee_id"), Some("E005"));
    rejected(&b.pin(&Pin::new(SUPERVISOR_PIN), t(31)).unwrap(), "not_allowed");
    rejected(&b.scan(SUPERVISOR, None, t(25 + 299)).unwrap(), "badge_locked");
    // Five minutes later it works again, with a fresh count.
    only(&b.scan(SUPERVISOR, None, t(25 + 300)).unwrap(), EventType::PinRequired);
    let ev = b.pin(&Pin::new("9999"), t(326)).unwrap();
    assert_eq!(only(&ev, EventType::PinFailed).u64("failures"), Some(1));
    only(&b.pin(&Pin::new(SUPERVISOR_PIN), t(327)).unwrap(), EventType::ReasonRequired);
}

#[test]
fn nobody_approves_their_own_parcel() {
    // E006 is packer and supervisor: signed in as the packer, their badge is no approval.
    let mut b = bench();
    b.scan("BADGE-E006", None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    for (i, code) in [T_BLU_L, SOCK_BLK, SOCK_BLK].into_iter().enumerate() {
        b.scan(code, None, t(3 + i as i64)).unwrap();
    }
    b.weight(225.0, true, t(10)).unwrap();
    let e = rejected(&b.scan("BADGE-E006", None, t(11)).unwrap(), "self_approval");
    assert_eq!(e.str("employee_id"), Some("E006"));
    assert_eq!(b.state().next_step(), NextStep::ResolveMismatch);

    // A supervisor who picked the parcel does not approve it either.
    let mut b = bench();
    add_employees(&mut b, "E009,周敏,picker|supervisor,BADGE-E009,909090,1\n");
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(NO_PICKER, None, t(2)).unwrap();
    b.scan(MASK, None, t(3)).unwrap();
    b.scan(LIP_R02, None, t(4)).unwrap();
    // Recorded as the picker first (a picker badge while the order is open) ...
    only(&b.scan("BADGE-E009", None, t(5)).unwrap(), EventType::PickerSet);
    let expected = b.state().open.as_ref().unwrap().expected_g();
    b.weight(expected + 100.0, true, t(6)).unwrap();
    // ... then refused as the approver.
    let e = rejected(&b.scan("BADGE-E009", None, t(7)).unwrap(), "self_approval");
    assert!(e.str("detail").unwrap().contains("picker"), "{e:?}");
    // Another supervisor does it.
    only(&b.scan(SUPERVISOR, None, t(8)).unwrap(), EventType::PinRequired);
    b.pin(&Pin::new(SUPERVISOR_PIN), t(9)).unwrap();
    only(&b.reason(ApprovalReason::ScaleDrift, t(10)).unwrap(), EventType::Override);
}

#[test]
fn an_inactive_badge_is_refused_and_its_past_work_stays() {
    let mut b = bench();
    // E003 packs an order, then leaves; E005 leaves too.
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(ORDER1, None, t(2)).unwrap();
    for (i, code) in [T_BLU_L, SOCK_BLK, SOCK_BLK].into_iter().enumerate() {
        b.scan(code, None, t(3 + i as i64)).unwrap();
    }
    b.weight(266.0, true, t(8)).unwrap();
    b.scan("PB-SIGNOUT", None, t(9)).unwrap();
    add_employees(
        &mut b,
        "E003,张伟,packer,BADGE-E003,3333,0\nE005,刘洋,supervisor,BADGE-E005,555555,0\n",
    );
    let e = rejected(&b.scan(PACKER, None, t(10)).unwrap(), "badge_inactive");
    assert_eq!(e.str("employee_id"), Some("E003"));
    assert!(b.state().packer.is_none());
    // At an approval too.
    b.scan(PACKER2, None, t(11)).unwrap();
    b.scan(ORDER2, None, t(12)).unwrap();
    for (i, code) in [LIP_R02, SUN_50, SERUM_GIFT].into_iter().enumerate() {
        b.scan(code, None, t(13 + i as i64)).unwrap();
    }
    b.weight(500.0, true, t(20)).unwrap();
    assert_eq!(b.state().next_step(), NextStep::ResolveMismatch);
    rejected(&b.scan(SUPERVISOR, None, t(21)).unwrap(), "badge_inactive");
    rejected(&b.supervisor_view(SUPERVISOR, t(22)).unwrap(), "badge_inactive");
    // The record still says who packed order 1.
    let rec = packbench::audit::order_record(b.store(), ORDER1)
        .unwrap()
        .unwrap();
    assert_eq!(rec.packer_id.as_deref(), Some("E003"));
    assert_eq!(rec.status, "packed");
}

#[test]
fn a_keypad_sign_in_needs_the_pin() {
    let mut b = bench();
    let ev = b.scan(PACKER, Some(KEYPAD), t(1)).unwrap();
    assert_eq!(
        only(&ev, EventType::PinRequired).str("purpose"),
        Some("sign_in")
    );
    assert!(b.state().packer.is_none(), "not signed in by the number alone");
    // Anything but the PIN leaves the bench signed out.
    rejected(&b.scan(ORDER1, None, t(2)).unwrap(), "no_packer");
    only(&b.pin(&Pin::new("0000"), t(3)).unwrap(), EventType::PinFailed);
    assert!(b.state().packer.is_none());
    let ev = b.pin(&Pin::new("3333"), t(4)).unwrap();
    assert_eq!(
        only(&ev, EventType::PackerSignedIn).str("packer_id"),
        Some("E003")
    );
    // A scanned badge signs in without one (sign_in_pin is off by default) ...
    b.scan("PB-SIGNOUT", None, t(5)).unwrap();
    only(&b.scan(PACKER, None, t(6)).unwrap(), EventType::PackerSignedIn);
}

#[test]
fn sign_in_pin_and_a_missing_pin() {
    let mut c = cfg();
    c.security.sign_in_pin = true;
    let mut b = Bench::open(test_store_with_fixtures(), c).unwrap();
    only(&b.scan(PACKER, None, t(1)).unwrap(), EventType::PinRequired);
    only(&b.pin(&Pin::new("3333"), t(2)).unwrap(), EventType::PackerSignedIn);
    // Someone without a PIN cannot sign in where one is needed.
    add_employees(&mut b, "E010,吴军,packer,BADGE-E010,,1\n");
    b.scan("PB-SIGNOUT", None, t(3)).unwrap();
    rejected(&b.scan("BADGE-E010", None, t(4)).unwrap(), "pin_not_set");
    // With supervisor_pin off, an approval is badge and reason.
    let mut c = cfg();
    c.security.supervisor_pin = false;
    let mut b = Bench::open(test_store_with_fixtures(), c).unwrap();
    order1_mismatch(&mut b);
    only(&b.scan(SUPERVISOR, None, t(20)).unwrap(), EventType::ReasonRequired);
    only(&b.reason(ApprovalReason::Other, t(21)).unwrap(), EventType::Override);
}

#[test]
fn a_cheaper_pin_hash_is_made_again_at_todays_cost_on_the_next_right_entry() {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let mut b = bench();
    // E005's PIN as an earlier packbench hashed it (the argon2 crate's defaults).
    let cheap = packbench::domain::pin::PinHash::parse(
        &argon2::Argon2::default()
            .hash_password(SUPERVISOR_PIN.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string(),
    )
    .unwrap();
    assert!(cheap.needs_rehash());
    packbench::import::set_pin(b.store_mut(), "E005", Some(&cheap)).unwrap();
    b.scan(PACKER, None, t(1)).unwrap();
    let hash = |b: &Bench<TestStore>| b.store().employee("E005").unwrap().unwrap().pin_hash;
    // A wrong PIN changes nothing.
    only(&b.supervisor_view(SUPERVISOR, t(2)).unwrap(), EventType::PinRequired);
    only(&b.pin(&Pin::new("000000"), t(3)).unwrap(), EventType::PinFailed);
    assert_eq!(hash(&b).as_ref(), Some(&cheap));
    // The right one opens the view and leaves a hash at 64 MiB and 3 passes.
    only(&b.pin(&Pin::new(SUPERVISOR_PIN), t(4)).unwrap(), EventType::SupervisorViewOpened);
    let now = hash(&b).unwrap();
    assert!(!now.needs_rehash(), "{}", now.as_str().split('$').nth(3).unwrap_or(""));
    assert!(now.as_str().contains("$m=65536,t=3,p=1$"));
    assert!(now.verify(&Pin::new(SUPERVISOR_PIN)));
}
