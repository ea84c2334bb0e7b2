// Returns check-in (退货签收), through a bench on each backend: included by tests/engine.rs
// (SQLite) and tests/engine_memory.rs (the in-memory store).

/// ORDER1 packed at t(10) by E003, picker E001 from the import, 266 g of 265 g; then
/// returns mode on.
fn order1_packed_and_returns_on() -> Bench<TestStore> {
    let mut b = bench();
    order1_complete(&mut b);
    let ev = b.weight(266.0, true, t(10)).unwrap();
    assert!(kinds(&ev).contains(&EventType::OrderPacked));
    only(
        &b.scan("PB-RETURNS", None, t(20)).unwrap(),
        EventType::ReturnsStarted,
    );
    b
}

fn events_of(b: &Bench<TestStore>, kind: EventType) -> Vec<packbench::domain::event::StoredEvent> {
    b.store()
        .events(&packbench::store::EventFilter {
            types: vec![kind.as_str()],
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn a_return_opens_by_waybill_or_order_number_with_the_pack_record() {
    let mut b = order1_packed_and_returns_on();
    assert_eq!(b.state().next_step(), NextStep::ScanReturn);
    let ev = b.scan(ORDER1_WAYBILL, None, t(21)).unwrap();
    let o = only(&ev, EventType::ReturnOpened);
    assert_eq!(o.order_no.as_deref(), Some(ORDER1));
    assert_eq!(o.str("return_id"), Some("TB20261122001-R1"));
    assert_eq!(o.actor.as_deref(), Some("E003"));
    assert_eq!(o.str("waybill_no"), Some(ORDER1_WAYBILL));
    // The pack record: who, where, when, the weight.
    assert_eq!(o.str("packer_id"), Some("E003"));
    assert_eq!(o.str("picker_id"), Some("E001"));
    assert_eq!(o.str("packed_station"), Some("BENCH-T"));
    assert_eq!(o.str("packed_at"), Some(t(10).to_rfc3339().as_str()));
    assert_eq!(
        (
            o.f64("measured_g"),
            o.f64("expected_g"),
            o.bool("weight_ok")
        ),
        (Some(266.0), Some(265.0), Some(true))
    );
    let lines = o.data["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["sku"], "SOCK-BLK");
    assert_eq!(
        (lines[1]["packed"].as_u64(), lines[1]["returned"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        b.state().next_step(),
        NextStep::CheckReturn {
            return_id: "TB20261122001-R1".into()
        }
    );
    let open = b.state().returns.as_ref().unwrap().open.as_ref().unwrap();
    assert!(open.pack.clean(), "weighed right with every unit scanned");
    assert_eq!(open.units_packed(), 3);
    // The open return's parcel again (by its order number) repeats it for a re-sync.
    let again = only(
        &b.scan(ORDER1, None, t(22)).unwrap(),
        EventType::ReturnOpened,
    );
    assert_eq!(again.bool("repeat"), Some(true));
    assert_eq!(again.str("return_id"), Some("TB20261122001-R1"));
    // Another order while it is open: refused, the return stays.
    let r = rejected(
        &b.scan(CASE_ORDER, None, t(23)).unwrap(),
        "order_in_progress",
    );
    assert!(
        r.str("detail").unwrap().contains("TB20261122001-R1"),
        "{r:?}"
    );
}

#[test]
fn a_return_of_a_cancelled_never_packed_or_held_order_is_refused_not_shipped() {
    let mut b = order1_packed_and_returns_on();
    // TB20261122004 held at the bench first (returns off, an order, a hold, returns on).
    b.scan("PB-RETURNS-END", None, t(24)).unwrap();
    b.scan("TB20261122004", None, t(25)).unwrap();
    b.scan("PB-HOLD-SHORT", None, t(26)).unwrap();
    b.scan("PB-RETURNS", None, t(27)).unwrap();
    for (code, why) in [
        (CANCELLED, "cancelled"),
        (ORDER2, "never packed"),
        ("TB20261122004", "on hold"),
    ] {
        let before = b.store().head().unwrap();
        let r = rejected(&b.scan(code, None, t(30)).unwrap(), "not_shipped");
        assert!(r.str("detail").unwrap().contains(why), "{code}: {r:?}");
        assert!(r.order_no.is_some());
        // Nothing opened: only the refusal was written.
        assert_eq!(b.store().head().unwrap().unwrap().0, before.unwrap().0 + 1);
        assert_eq!(b.state().next_step(), NextStep::ScanReturn);
    }
    assert!(events_of(&b, EventType::ReturnOpened).is_empty());
}

#[test]
fn units_count_against_what_was_packed_and_one_more_is_refused() {
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    let i = only(
        &b.scan(T_BLU_L, Some("scanner-1"), t(22)).unwrap(),
        EventType::ReturnItem,
    );
    assert_eq!(i.str("sku"), Some("T-BLU-L"));
    assert_eq!(i.str("condition"), Some("ok"), "ok unless said otherwise");
    assert_eq!(
        (i.u64("returned"), i.u64("packed"), i.u64("units")),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(i.str("return_id"), Some("TB20261122001-R1"));
    // The same SKU by its older EAN: one more than packed.
    let r = rejected(&b.scan(T_BLU_L_OLD, None, t(23)).unwrap(), "over_quantity");
    assert_eq!(r.str("sku"), Some("T-BLU-L"));
    assert_eq!((r.u64("scanned"), r.u64("qty")), (Some(1), Some(1)));
    b.scan(SOCK_BLK, None, t(24)).unwrap();
    let i = only(
        &b.scan(SOCK_BLK, None, t(25)).unwrap(),
        EventType::ReturnItem,
    );
    assert_eq!((i.u64("returned"), i.u64("packed")), (Some(2), Some(2)));
    rejected(&b.scan(SOCK_BLK, None, t(26)).unwrap(), "over_quantity");
    // A misread EAN is no unit at all.
    rejected(
        &b.scan("6975432100138", None, t(27)).unwrap(),
        "bad_check_digit",
    );
    let open = b.state().returns.as_ref().unwrap().open.as_ref().unwrap();
    assert_eq!((open.order_units(), open.foreign_units()), (3, 0));
}

#[test]
fn case_codes_and_gs1_count_as_in_packing() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    b.scan(CASE_ORDER, None, t(2)).unwrap();
    b.scan(LATIAO_CASE, None, t(3)).unwrap();
    let ev = b.weight(1344.0, true, t(4)).unwrap();
    assert!(kinds(&ev).contains(&EventType::OrderPacked), "{ev:?}");
    b.scan("PB-RETURNS", None, t(5)).unwrap();
    b.scan(CASE_ORDER, None, t(6)).unwrap();
    // One unit back, then a whole case is more than the 11 still out.
    b.scan(LATIAO_UNIT, None, t(7)).unwrap();
    let r = rejected(&b.scan(LATIAO_CASE, None, t(8)).unwrap(), "over_quantity");
    assert_eq!(
        (r.u64("units"), r.u64("scanned"), r.u64("qty")),
        (Some(12), Some(1), Some(12))
    );
    b.scan("PB-UNDO", None, t(9)).unwrap();
    let i = only(
        &b.scan(LATIAO_CASE, None, t(10)).unwrap(),
        EventType::ReturnItem,
    );
    assert_eq!((i.u64("units"), i.u64("returned")), (Some(12), Some(12)));

    // GS1 on ORDER1's return: matched on the GTIN, lot and serial kept as evidence.
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    let gs1 = format!("]C101{}{}10LOT42\u{1d}21SER7", "0", T_BLU_L);
    let i = only(&b.scan(&gs1, None, t(22)).unwrap(), EventType::ReturnItem);
    assert_eq!(i.str("sku"), Some("T-BLU-L"));
    assert_eq!(
        (i.str("lot"), i.str("serial")),
        (Some("LOT42"), Some("SER7"))
    );
}

#[test]
fn a_unit_never_in_the_order_is_recorded_as_foreign_not_refused() {
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    // A lipstick in a parcel of T-shirts and socks: a known SKU, not the order's.
    let f = only(
        &b.scan(LIP_R02, None, t(22)).unwrap(),
        EventType::ForeignItem,
    );
    assert_eq!(f.str("sku"), Some("LIP-R02"));
    assert_eq!(f.str("code"), Some(LIP_R02));
    assert_eq!(f.str("condition"), Some("ok"));
    // A code nobody knows: foreign too, without a SKU.
    let f = only(
        &b.scan("ZZZ-NOT-A-THING", None, t(23)).unwrap(),
        EventType::ForeignItem,
    );
    assert_eq!(f.data["sku"], serde_json::Value::Null);
    // A foreign unit is no refusal and counts nothing against the order.
    let open = b.state().returns.as_ref().unwrap().open.as_ref().unwrap();
    assert_eq!((open.order_units(), open.foreign_units()), (0, 2));
    assert!(events_of(&b, EventType::ScanRejected).is_empty());
}

#[test]
fn condition_of_the_last_unit_and_the_buyers_reason_go_into_the_summary() {
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    // No unit yet: no condition to give; no reason yet: no close.
    rejected(
        &b.scan("PB-COND-DAMAGED", None, t(22)).unwrap(),
        "not_allowed",
    );
    b.scan(T_BLU_L, None, t(23)).unwrap();
    let c = only(
        &b.scan("PB-COND-DAMAGED", None, t(24)).unwrap(),
        EventType::ReturnCondition,
    );
    assert_eq!(
        (c.u64("item"), c.str("sku"), c.str("condition")),
        (Some(1), Some("T-BLU-L"), Some("damaged"))
    );
    b.scan(SOCK_BLK, None, t(25)).unwrap();
    b.scan("PB-COND-USED", None, t(26)).unwrap();
    // The last one given counts.
    let c = only(
        &b.scan("PB-COND-WRONG-VARIANT", None, t(27)).unwrap(),
        EventType::ReturnCondition,
    );
    assert_eq!(
        (c.u64("item"), c.str("condition")),
        (Some(2), Some("wrong_variant"))
    );
    rejected(
        &b.scan("PB-RETURN-CLOSE", None, t(28)).unwrap(),
        "no_return_reason",
    );
    only(
        &b.scan("PB-RET-REASON-QUALITY", None, t(29)).unwrap(),
        EventType::ReturnReasonGiven,
    );
    let r = only(
        &b.scan("PB-RET-REASON-SIZE", None, t(30)).unwrap(),
        EventType::ReturnReasonGiven,
    );
    assert_eq!(r.str("reason"), Some("size"));
    let ev = b.command(Command::ReturnClose, t(31)).unwrap();
    let c = only(&ev, EventType::ReturnClosed);
    assert_eq!(c.str("reason"), Some("size"));
    assert_eq!(c.str("handler_id"), Some("E003"));
    assert_eq!(c.actor.as_deref(), Some("E003"));
    assert_eq!(c.u64("units"), Some(2));
    assert_eq!(
        c.data["conditions"],
        serde_json::json!({"damaged": 1, "wrong_variant": 1})
    );
    assert_eq!(
        (c.u64("returned_units"), c.u64("packed_units")),
        (Some(2), Some(3))
    );
    assert_eq!(c.bool("packed_clean"), Some(true));
    // Size blames nothing at the bench.
    assert_eq!(c.data["confirmed"], serde_json::Value::Null);
    assert_eq!(b.state().next_step(), NextStep::ScanReturn);
    // What the log says reads back as it was written.
    let rec = packbench::audit::order_record(b.store(), ORDER1)
        .unwrap()
        .unwrap();
    assert_eq!(rec.returns.len(), 1);
    let items = &rec.returns[0].items;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].sku.as_deref(), Some("T-BLU-L"));
    assert_eq!(items[0].condition.as_str(), "damaged");
}

#[test]
fn several_returns_of_one_order_never_bring_back_more_than_was_packed() {
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    b.scan(T_BLU_L, None, t(22)).unwrap();
    b.scan(SOCK_BLK, None, t(23)).unwrap();
    b.scan("PB-RET-REASON-SIZE", None, t(24)).unwrap();
    b.scan("PB-RETURN-CLOSE", None, t(25)).unwrap();
    // The second parcel of the same order.
    let o = only(
        &b.scan(ORDER1_WAYBILL, None, t(26)).unwrap(),
        EventType::ReturnOpened,
    );
    assert_eq!(o.str("return_id"), Some("TB20261122001-R2"));
    let socks = &o.data["lines"][1];
    assert_eq!(
        (socks["packed"].as_u64(), socks["returned"].as_u64()),
        (Some(2), Some(1))
    );
    rejected(&b.scan(T_BLU_L, None, t(27)).unwrap(), "over_quantity");
    let i = only(
        &b.scan(SOCK_BLK, None, t(28)).unwrap(),
        EventType::ReturnItem,
    );
    assert_eq!(i.u64("returned"), Some(2), "over both returns");
    rejected(&b.scan(SOCK_BLK, None, t(29)).unwrap(), "over_quantity");
    b.scan("PB-RET-REASON-CHANGED_MIND", None, t(30)).unwrap();
    let c = only(
        &b.scan("PB-RETURN-CLOSE", None, t(31)).unwrap(),
        EventType::ReturnClosed,
    );
    assert_eq!(
        (c.u64("units"), c.u64("returned_units")),
        (Some(1), Some(3))
    );
    // Both in the record, in order; and the third parcel finds nothing left to return.
    let rec = packbench::audit::order_record(b.store(), ORDER1)
        .unwrap()
        .unwrap();
    let ids: Vec<&str> = rec.returns.iter().map(|r| r.return_id.as_str()).collect();
    assert_eq!(ids, ["TB20261122001-R1", "TB20261122001-R2"]);
    b.scan(ORDER1, None, t(32)).unwrap();
    for code in [T_BLU_L, SOCK_BLK] {
        rejected(&b.scan(code, None, t(33)).unwrap(), "over_quantity");
    }
}

#[test]
fn a_packing_claim_is_confirmed_or_contradicted_by_the_check_in() {
    let close = |b: &mut Bench<TestStore>, reason: &str, at: i64| {
        b.scan(&format!("PB-RET-REASON-{reason}"), None, t(at))
            .unwrap();
        only(
            &b.scan("PB-RETURN-CLOSE", None, t(at + 1)).unwrap(),
            EventType::ReturnClosed,
        )
    };
    // Wrong item sent, and a lipstick came back that was never in the order: confirmed.
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    b.scan(LIP_R02, None, t(22)).unwrap();
    let c = close(&mut b, "WRONG_ITEM_SENT", 23);
    assert_eq!(c.bool("confirmed"), Some(true));
    assert_eq!(c.u64("foreign_units"), Some(1));
    assert_eq!(
        (c.str("packer_id"), c.str("picker_id")),
        (Some("E003"), Some("E001"))
    );
    // Wrong item sent, and a unit of the order marked the wrong variant: confirmed.
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    for code in [T_BLU_L, "PB-COND-WRONG-VARIANT", SOCK_BLK, SOCK_BLK] {
        b.scan(code, None, t(22)).unwrap();
    }
    assert_eq!(
        close(&mut b, "WRONG_ITEM_SENT", 23).bool("confirmed"),
        Some(true)
    );
    // Missing item with one sock short in the parcel: confirmed.
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    b.scan(T_BLU_L, None, t(22)).unwrap();
    b.scan(SOCK_BLK, None, t(22)).unwrap();
    assert_eq!(
        close(&mut b, "MISSING_ITEM", 23).bool("confirmed"),
        Some(true)
    );
    // Missing item, yet every packed unit came back and all are right: contradicted.
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    for code in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
        b.scan(code, None, t(22)).unwrap();
    }
    let c = close(&mut b, "MISSING_ITEM", 23);
    assert_eq!(c.bool("confirmed"), Some(false));
    assert_eq!(c.bool("packed_clean"), Some(true));
    let rows = packbench::audit::returns::returns_report(b.store(), None, None).unwrap();
    assert_eq!(rows[0].verdict.as_deref(), Some("contradicted"));
}

#[test]
fn confirmed_packing_errors_count_against_the_packer_and_the_picker() {
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    b.scan(LIP_R02, None, t(22)).unwrap();
    b.scan("PB-RET-REASON-WRONG_ITEM_SENT", None, t(23))
        .unwrap();
    b.scan("PB-RETURN-CLOSE", None, t(24)).unwrap();
    // A second return of the same order, its claim contradicted: not counted.
    b.scan(ORDER1, None, t(25)).unwrap();
    for code in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
        b.scan(code, None, t(26)).unwrap();
    }
    b.scan("PB-RET-REASON-MISSING_ITEM", None, t(27)).unwrap();
    b.scan("PB-RETURN-CLOSE", None, t(28)).unwrap();
    let packer = packbench::audit::packer_report(b.store(), "E003", None, None).unwrap();
    assert_eq!(packer.packed, 1);
    assert_eq!(packer.packing_errors, 1);
    assert_eq!(packer.packing_error_rate, Some(1.0));
    assert_eq!(
        packer.packing_error_returns[0].return_id,
        "TB20261122001-R1"
    );
    assert_eq!(packer.packing_error_returns[0].role, "packer");
    assert_eq!(packer.packing_error_returns[0].reason, "wrong_item_sent");
    let picker = packbench::audit::packer_report(b.store(), "E001", None, None).unwrap();
    assert_eq!((picker.picked, picker.packing_errors), (1, 1));
    assert_eq!(picker.packing_error_returns[0].role, "picker");
    // Someone else is not blamed, and the period counts by when the return was closed.
    let other = packbench::audit::packer_report(b.store(), "E004", None, None).unwrap();
    assert_eq!((other.packing_errors, other.packing_error_rate), (0, None));
    let before = packbench::audit::packer_report(b.store(), "E003", None, Some(t(23))).unwrap();
    assert_eq!(before.packing_errors, 0);
}

#[test]
fn a_stable_reading_while_a_return_is_open_is_recorded_once_per_parcel() {
    let mut b = order1_packed_and_returns_on();
    // No return open: the scale is only read.
    assert!(b.weight(300.0, true, t(21)).unwrap().is_empty());
    b.scan(ORDER1, None, t(22)).unwrap();
    assert!(b.weight(180.0, false, t(23)).unwrap().is_empty(), "moving");
    let w = only(
        &b.weight(181.4, true, t(24)).unwrap(),
        EventType::ReturnWeighed,
    );
    assert_eq!(w.f64("measured_g"), Some(181.4));
    assert_eq!(w.f64("packed_g"), Some(266.0));
    assert!(
        b.weight(181.6, true, t(25)).unwrap().is_empty(),
        "the same parcel"
    );
    b.weight(0.0, true, t(26)).unwrap();
    only(
        &b.weight(181.4, true, t(27)).unwrap(),
        EventType::ReturnWeighed,
    );
    b.scan(T_BLU_L, None, t(28)).unwrap();
    b.scan("PB-RET-REASON-SIZE", None, t(29)).unwrap();
    let c = only(
        &b.scan("PB-RETURN-CLOSE", None, t(30)).unwrap(),
        EventType::ReturnClosed,
    );
    assert_eq!(c.f64("measured_g"), Some(181.4));
}

#[test]
fn undo_takes_the_last_unit_back_out_of_the_return() {
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    rejected(&b.scan("PB-UNDO", None, t(22)).unwrap(), "nothing_to_undo");
    b.scan(T_BLU_L, None, t(23)).unwrap();
    b.scan(LIP_R02, None, t(24)).unwrap();
    let u = only(
        &b.scan("PB-UNDO", None, t(25)).unwrap(),
        EventType::ReturnUndone,
    );
    assert_eq!((u.u64("item"), u.str("sku")), (Some(2), Some("LIP-R02")));
    b.scan("PB-UNDO", None, t(26)).unwrap();
    // The T-shirt can come back again: nothing of it is counted now.
    only(
        &b.scan(T_BLU_L, None, t(27)).unwrap(),
        EventType::ReturnItem,
    );
    b.scan("PB-RET-REASON-OTHER", None, t(28)).unwrap();
    let c = only(
        &b.scan("PB-RETURN-CLOSE", None, t(29)).unwrap(),
        EventType::ReturnClosed,
    );
    assert_eq!((c.u64("units"), c.u64("foreign_units")), (Some(1), Some(0)));
}

#[test]
fn returns_mode_starts_and_ends_only_when_nothing_else_is_open() {
    let mut b = bench();
    b.scan(PACKER, None, t(1)).unwrap();
    // Return commands outside returns mode.
    for code in [
        "PB-RETURN-CLOSE",
        "PB-COND-OK",
        "PB-RET-REASON-SIZE",
        "PB-RETURNS-END",
    ] {
        rejected(&b.scan(code, None, t(2)).unwrap(), "not_allowed");
    }
    // An order with units scanned must be finished or held first; an untouched one is
    // released.
    b.scan(ORDER1, None, t(3)).unwrap();
    b.scan(T_BLU_L, None, t(4)).unwrap();
    rejected(
        &b.scan("PB-RETURNS", None, t(5)).unwrap(),
        "order_in_progress",
    );
    b.scan("PB-HOLD", None, t(6)).unwrap();
    b.scan(ORDER2, None, t(7)).unwrap();
    let ev = b.scan("PB-RETURNS", None, t(8)).unwrap();
    assert_eq!(
        kinds(&ev),
        [EventType::OrderReleased, EventType::ReturnsStarted]
    );
    assert!(b.state().open.is_none());
    assert_eq!(
        only(
            &b.scan("PB-RETURNS", None, t(9)).unwrap(),
            EventType::ReturnsStarted
        )
        .bool("repeat"),
        Some(true)
    );
    // No return open yet: units, conditions and close have nothing to go to.
    rejected(&b.scan(T_BLU_L, None, t(10)).unwrap(), "no_order");
    rejected(&b.scan("PB-RETURN-CLOSE", None, t(10)).unwrap(), "no_order");
    rejected(&b.scan(PKG_BAG_M, None, t(10)).unwrap(), "not_allowed");
    // No courier handover from returns mode, nor returns mode from a handover.
    rejected(&b.scan("PB-DISPATCH", None, t(11)).unwrap(), "not_allowed");
    only(
        &b.scan("PB-RETURNS-END", None, t(12)).unwrap(),
        EventType::ReturnsEnded,
    );
    assert_eq!(b.state().next_step(), NextStep::ScanOrder);
    b.scan("PB-DISPATCH", None, t(13)).unwrap();
    rejected(&b.scan("PB-RETURNS", None, t(14)).unwrap(), "not_allowed");
}

#[test]
fn an_open_return_must_be_closed_before_the_mode_ends_and_a_sign_out_leaves_it_open() {
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    b.scan(T_BLU_L, None, t(22)).unwrap();
    rejected(
        &b.scan("PB-RETURNS-END", None, t(23)).unwrap(),
        "order_in_progress",
    );
    let ev = b.scan("PB-SIGNOUT", None, t(24)).unwrap();
    assert_eq!(
        kinds(&ev),
        [EventType::ReturnsEnded, EventType::PackerSignedOut]
    );
    assert_eq!(ev[0].str("open_return"), Some("TB20261122001-R1"));
    assert!(b.state().returns.is_none());
    // Left open, the return is in the report without a close.
    let rows = packbench::audit::returns::returns_report(b.store(), None, None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].closed_at.as_deref(), rows[0].units), (None, 1));
    // The next return of the order comes after it, and it still counts what came back.
    b.scan(PACKER, None, t(25)).unwrap();
    b.scan("PB-RETURNS", None, t(26)).unwrap();
    let o = only(
        &b.scan(ORDER1, None, t(27)).unwrap(),
        EventType::ReturnOpened,
    );
    assert_eq!(o.str("return_id"), Some("TB20261122001-R2"));
    rejected(&b.scan(T_BLU_L, None, t(28)).unwrap(), "over_quantity");
}

#[test]
fn a_restart_restores_returns_mode_and_the_open_return_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    {
        let mut s = packbench::store::SqliteStore::open(&db).unwrap();
        import_fixtures(&mut s);
        let mut b = Bench::open(s, cfg()).unwrap();
        order1_complete(&mut b);
        b.weight(266.0, true, t(10)).unwrap();
        b.scan("PB-RETURNS", None, t(20)).unwrap();
        b.scan(ORDER1, None, t(21)).unwrap();
        b.scan(SOCK_BLK, None, t(22)).unwrap();
        b.scan("PB-COND-DAMAGED", None, t(23)).unwrap();
        b.scan(LIP_R02, None, t(24)).unwrap();
        b.scan("PB-RET-REASON-MISSING_ITEM", None, t(25)).unwrap();
        b.weight(120.0, true, t(26)).unwrap();
    }
    let mut b = Bench::open(packbench::store::SqliteStore::open(&db).unwrap(), cfg()).unwrap();
    let open = b.state().returns.as_ref().unwrap().open.as_ref().unwrap();
    assert_eq!(open.return_id, "TB20261122001-R1");
    assert_eq!((open.order_units(), open.foreign_units()), (1, 1));
    assert_eq!(open.units[0].condition.as_str(), "damaged");
    assert_eq!(open.reason.map(|r| r.as_str()), Some("missing_item"));
    assert_eq!(open.weighed_g, Some(120.0));
    assert!(
        open.before.is_empty(),
        "its own units are not 'earlier returns'"
    );
    // Counting goes on where it was.
    b.scan(SOCK_BLK, None, t(30)).unwrap();
    rejected(&b.scan(SOCK_BLK, None, t(31)).unwrap(), "over_quantity");
    let c = only(
        &b.scan("PB-RETURN-CLOSE", None, t(32)).unwrap(),
        EventType::ReturnClosed,
    );
    assert_eq!(
        c.data["conditions"],
        serde_json::json!({"damaged": 1, "ok": 2})
    );
    assert_eq!(
        c.bool("confirmed"),
        Some(true),
        "a foreign unit and a T-shirt short"
    );
    drop(b);
    // Returns mode itself survives a restart too.
    let b = Bench::open(packbench::store::SqliteStore::open(&db).unwrap(), cfg()).unwrap();
    assert_eq!(b.state().next_step(), NextStep::ScanReturn);
}

#[test]
fn the_view_shows_the_return_beside_its_pack_record() {
    use packbench::station::view::{build, ViewMemory};
    let mut b = order1_packed_and_returns_on();
    b.scan(ORDER1, None, t(21)).unwrap();
    b.scan(SOCK_BLK, None, t(22)).unwrap();
    b.scan("PB-COND-DAMAGED", None, t(23)).unwrap();
    b.scan(LIP_R02, None, t(24)).unwrap();
    b.scan("PB-RET-REASON-MISSING_ITEM", None, t(25)).unwrap();
    let v = build(
        "BENCH-T",
        b.state(),
        &ViewMemory::default(),
        b.config().rule,
        0,
        b.catalog(),
    );
    let r = v
        .returns
        .expect("returns mode")
        .open
        .expect("a return open");
    assert_eq!(r.return_id, "TB20261122001-R1");
    assert_eq!((r.units, r.units_packed, r.units_returned), (2, 3, 1));
    let socks = r.lines.iter().find(|l| l.sku == "SOCK-BLK").unwrap();
    assert_eq!((socks.packed, socks.before, socks.now), (2, 0, 1));
    assert_eq!(socks.conditions[0].0.as_str(), "damaged");
    assert_eq!(r.foreign.len(), 1);
    assert_eq!(r.foreign[0].sku.as_deref(), Some("LIP-R02"));
    assert_eq!(r.last_unit.as_ref().map(|u| u.0.as_str()), Some("LIP-R02"));
    assert_eq!(r.verdict, Some(true));
    // The pack record: packer, picker, bench, time, units, weights, label.
    let p = &r.pack;
    assert_eq!(
        (p.packer_id.as_deref(), p.picker_id.as_deref()),
        (Some("E003"), Some("E001"))
    );
    assert_eq!(p.station_id.as_deref(), Some("BENCH-T"));
    assert_eq!(p.packed_at, Some(t(10)));
    assert_eq!((p.units_scanned, p.units_ordered), (3, 3));
    assert_eq!(
        (p.measured_g, p.expected_g, p.weight_ok),
        (Some(266.0), Some(265.0), Some(true))
    );
    assert_eq!(p.labels_printed, 0, "no printer here: no label_printed");
    assert!(p.clean());
}

/// ORDER1 packed by E003, who then signs out: the bench is free for whoever checks in returns.
fn order1_packed_and_signed_out() -> Bench<TestStore> {
    let mut b = bench();
    order1_complete(&mut b);
    assert!(kinds(&b.weight(266.0, true, t(10)).unwrap()).contains(&EventType::OrderPacked));
    only(
        &b.scan("PB-SIGNOUT", None, t(11)).unwrap(),
        EventType::PackerSignedOut,
    );
    b
}

#[test]
fn a_supervisor_signs_in_with_the_pin_for_returns_only() {
    let mut b = order1_packed_and_signed_out();
    // supervisor_pin is on by default: the badge alone does not sign a supervisor in.
    let req = only(
        &b.scan(SUPERVISOR, None, t(20)).unwrap(),
        EventType::PinRequired,
    );
    assert_eq!(req.str("purpose"), Some("sign_in"));
    assert!(b.state().packer.is_none());
    let ev = b.pin(&Pin::new(SUPERVISOR_PIN), t(21)).unwrap();
    let s = only(&ev, EventType::PackerSignedIn);
    assert_eq!(s.str("packer_id"), Some("E005"));
    assert_eq!(s.bool("returns_only"), Some(true));
    assert_eq!(b.state().next_step(), NextStep::StartReturns);
    // Packing is not theirs: an order is refused and nothing is claimed or loaded.
    let ev = b.scan(ORDER2, None, t(22)).unwrap();
    let r = rejected(&ev, "not_allowed");
    assert!(r.str("detail").unwrap().contains("PB-RETURNS"), "{r:?}");
    assert_eq!(kinds(&ev), vec![EventType::ScanRejected]);
    assert!(b.state().open.is_none());
    // Returns check-in is: the whole return, handled by E005.
    let started = only(
        &b.scan("PB-RETURNS", None, t(23)).unwrap(),
        EventType::ReturnsStarted,
    );
    assert_eq!(started.actor.as_deref(), Some("E005"));
    let o = only(
        &b.scan(ORDER1_WAYBILL, None, t(24)).unwrap(),
        EventType::ReturnOpened,
    );
    assert_eq!(o.actor.as_deref(), Some("E005"));
    assert_eq!(
        o.str("packer_id"),
        Some("E003"),
        "the pack record is E003's"
    );
    only(
        &b.scan(SOCK_BLK, None, t(25)).unwrap(),
        EventType::ReturnItem,
    );
    b.scan("PB-RET-REASON-MISSING_ITEM", None, t(26)).unwrap();
    let c = only(
        &b.scan("PB-RETURN-CLOSE", None, t(27)).unwrap(),
        EventType::ReturnClosed,
    );
    assert_eq!(c.str("handler_id"), Some("E005"));
    assert_eq!(c.bool("confirmed"), Some(true), "two of three units back");
    // Out of returns mode they are still not a packer.
    b.scan("PB-RETURNS-END", None, t(28)).unwrap();
    assert_eq!(b.state().next_step(), NextStep::StartReturns);
    rejected(&b.scan(ORDER2, None, t(29)).unwrap(), "not_allowed");
    // Signing out ends it: a packer signs in and packs as always.
    only(
        &b.scan("PB-SIGNOUT", None, t(30)).unwrap(),
        EventType::PackerSignedOut,
    );
    let s = only(
        &b.scan(PACKER, None, t(31)).unwrap(),
        EventType::PackerSignedIn,
    );
    assert_eq!(
        s.bool("returns_only"),
        None,
        "a packer's sign-in is unchanged"
    );
    only(
        &b.scan(ORDER2, None, t(32)).unwrap(),
        EventType::OrderLoaded,
    );
}

#[test]
fn without_supervisor_pin_the_supervisors_badge_signs_in_and_a_picker_still_cannot() {
    let mut c = cfg();
    c.security.supervisor_pin = false;
    let mut b = Bench::open(test_store_with_fixtures(), c).unwrap();
    rejected(&b.scan(PICKER, None, t(1)).unwrap(), "not_allowed");
    let s = only(
        &b.scan(SUPERVISOR, None, t(2)).unwrap(),
        EventType::PackerSignedIn,
    );
    assert_eq!(s.bool("returns_only"), Some(true));
    // Their badge again is a re-sync that keeps saying so.
    let again = only(
        &b.scan(SUPERVISOR, None, t(3)).unwrap(),
        EventType::PackerSignedIn,
    );
    assert_eq!(
        (again.bool("repeat"), again.bool("returns_only")),
        (Some(true), Some(true))
    );
    rejected(&b.scan(ORDER1, None, t(4)).unwrap(), "not_allowed");
    only(
        &b.scan("PB-RETURNS", None, t(5)).unwrap(),
        EventType::ReturnsStarted,
    );
    // ORDER1 was never packed here: the usual refusal, not a packing one.
    rejected(&b.scan(ORDER1, None, t(6)).unwrap(), "not_shipped");
}

#[test]
fn a_restart_keeps_a_supervisor_signed_in_for_returns_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    {
        let mut s = packbench::store::SqliteStore::open(&db).unwrap();
        import_fixtures(&mut s);
        let mut b = Bench::open(s, cfg()).unwrap();
        b.scan(SUPERVISOR, None, t(1)).unwrap();
        only(
            &b.pin(&Pin::new(SUPERVISOR_PIN), t(2)).unwrap(),
            EventType::PackerSignedIn,
        );
    }
    let mut b = Bench::open(packbench::store::SqliteStore::open(&db).unwrap(), cfg()).unwrap();
    assert_eq!(
        b.state().packer.as_ref().map(|p| p.id.as_str()),
        Some("E005")
    );
    assert_eq!(b.state().next_step(), NextStep::StartReturns);
    rejected(&b.scan(ORDER1, None, t(3)).unwrap(), "not_allowed");
    b.scan("PB-SIGNOUT", None, t(4)).unwrap();
    drop(b);
    let b = Bench::open(packbench::store::SqliteStore::open(&db).unwrap(), cfg()).unwrap();
    assert!(!b.state().returns_only && b.state().packer.is_none());
}
