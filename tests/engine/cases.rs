// The engine tests of opening orders and scanning them (refusals, changed and cancelled orders,
// imports reaching a running bench, pickers), run on each backend: included by tests/engine.rs
// (SQLite) and tests/engine_memory.rs (the in-memory store of tests/common/memory.rs).
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
