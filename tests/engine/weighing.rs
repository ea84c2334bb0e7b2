// The engine tests of the weighing (tolerances, hints, overrides, packaging), undo, hold, and
// the codes a scanner sends (cases, GS1, UPC/EAN/GTIN-14), run on each backend: included by
// tests/engine.rs (SQLite) and tests/engine_memory.rs (the in-memory store).
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
    // In whole grams, half up (the screen and the label show this number).
    let base = (0.03 * expected).max(15.0);
    let tol = (((base + 21.0) * 100.0).round() / 100.0 + 0.5).floor();
    assert_eq!(tol.fract(), 0.0);
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
