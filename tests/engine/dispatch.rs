// The engine tests of the courier's handover, signing out, and hostile text, run on each
// backend: included by tests/engine.rs (SQLite) and tests/engine_memory.rs (the in-memory store).
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
