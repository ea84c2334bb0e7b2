// The approval-lapse tests: included by tests/engine.rs.
//
// Issue 22 item 7: an approval (badge + PIN) is bound to the order and the weighing it saw,
// and lapses after `[security] approval_timeout_s` or at any other input for the order.

/// Order 1 one sock short on the scale (225 g at t(10)), E005's badge at t(20) and PIN at
/// t(21): the approval waits for its reason.
fn approval_waiting_for_reason(b: &mut Bench<TestStore>) {
    order1_mismatch(b);
    only(
        &b.scan(SUPERVISOR, None, t(20)).unwrap(),
        EventType::PinRequired,
    );
    only(
        &b.pin(&Pin::new(SUPERVISOR_PIN), t(21)).unwrap(),
        EventType::ReasonRequired,
    );
    assert_eq!(
        b.state().next_step(),
        NextStep::ChooseReason {
            supervisor_id: "E005".into()
        }
    );
}

/// The parcel is still waiting for a supervisor, nothing was approved, and the lapse is the
/// first event of `ev`, with `cause`.
fn lapsed_first(b: &Bench<TestStore>, ev: &[packbench::domain::event::StoredEvent], cause: &str) {
    assert_eq!(ev[0].kind, EventType::ApprovalLapsed, "{:?}", kinds(ev));
    let l = only(ev, EventType::ApprovalLapsed);
    assert_eq!(l.str("cause"), Some(cause), "{l:?}");
    assert_eq!(l.str("supervisor_id"), Some("E005"));
    assert_eq!(l.order_no.as_deref(), Some(ORDER1));
    assert_eq!(l.str("approves"), Some("weight_mismatch"));
    assert_eq!(l.f64("measured_g"), Some(225.0), "the weighing it was for");
    assert!(!kinds(ev).contains(&EventType::Override));
    assert!(
        b.state().auth.is_none(),
        "the pad or reason choice is closed"
    );
}

#[test]
fn an_approval_lapses_after_its_timeout() {
    // 121 s after the badge the reason comes too late: nothing is approved.
    let mut b = bench();
    approval_waiting_for_reason(&mut b);
    let ev = b.reason(ApprovalReason::ScaleDrift, t(20 + 121)).unwrap();
    lapsed_first(&b, &ev, "timeout");
    assert_eq!(
        kinds(&ev),
        vec![EventType::ApprovalLapsed, EventType::ScanRejected]
    );
    rejected(&ev, "not_allowed");
    let l = only(&ev, EventType::ApprovalLapsed);
    assert_eq!(l.u64("waited_s"), Some(121));
    assert_eq!(l.bool("pin_given"), Some(true));
    assert_eq!(b.state().next_step(), NextStep::ResolveMismatch);
    // The same by the command barcode.
    let mut b = bench();
    approval_waiting_for_reason(&mut b);
    let ev = b.scan("PB-REASON-SCALE_DRIFT", None, t(20 + 120)).unwrap();
    lapsed_first(&b, &ev, "timeout");
    // A new approval is badge, PIN and reason again, and works.
    only(
        &b.scan(SUPERVISOR, None, t(150)).unwrap(),
        EventType::PinRequired,
    );
    b.pin(&Pin::new(SUPERVISOR_PIN), t(151)).unwrap();
    let ev = b.reason(ApprovalReason::ScaleDrift, t(152)).unwrap();
    assert_eq!(
        only(&ev, EventType::Override).f64("measured_g"),
        Some(225.0)
    );
    only(&ev, EventType::OrderPacked);
}

#[test]
fn within_its_timeout_an_approval_works_as_before() {
    let mut b = bench();
    approval_waiting_for_reason(&mut b);
    // The same parcel still on the scale (a repeat of the reading) changes nothing.
    assert!(b.weight(225.0, true, t(60)).unwrap().is_empty());
    let ev = b.reason(ApprovalReason::ScaleDrift, t(20 + 119)).unwrap();
    let o = only(&ev, EventType::Override);
    assert_eq!(o.str("supervisor_id"), Some("E005"));
    assert_eq!(o.f64("measured_g"), Some(225.0));
    only(&ev, EventType::OrderPacked);
    assert!(!kinds(&ev).contains(&EventType::ApprovalLapsed));
}

#[test]
fn an_approval_waiting_for_its_pin_lapses_too_and_wrong_pins_still_count() {
    let mut b = bench();
    order1_mismatch(&mut b);
    b.scan(SUPERVISOR, None, t(20)).unwrap();
    for n in 1..=2u64 {
        let ev = b.pin(&Pin::new("9999"), t(20 + n as i64)).unwrap();
        assert_eq!(only(&ev, EventType::PinFailed).u64("failures"), Some(n));
    }
    // The right PIN, too late: the approval lapsed, the PIN is not even checked.
    let ev = b.pin(&Pin::new(SUPERVISOR_PIN), t(20 + 121)).unwrap();
    lapsed_first(&b, &ev, "timeout");
    assert_eq!(
        only(&ev, EventType::ApprovalLapsed).bool("pin_given"),
        Some(false)
    );
    rejected(&ev, "not_allowed");
    assert!(!kinds(&ev).contains(&EventType::PinFailed));
    // A lapse neither forgives nor adds wrong PINs: the next one is the third.
    b.scan(SUPERVISOR, None, t(150)).unwrap();
    let ev = b.pin(&Pin::new("9999"), t(151)).unwrap();
    assert_eq!(only(&ev, EventType::PinFailed).u64("failures"), Some(3));
}

#[test]
fn an_approval_lapses_at_any_other_input_for_the_order() {
    type Input = fn(&mut Bench<TestStore>) -> Vec<packbench::domain::event::StoredEvent>;
    let inputs: [(&str, Input); 6] = [
        // Refused (order 1 has both socks already), and still an input for the order.
        ("item scan", |b| b.scan(SOCK_BLK, None, t(30)).unwrap()),
        ("undo", |b| b.scan("PB-UNDO", None, t(30)).unwrap()),
        ("packaging", |b| b.scan(PKG_BAG_M, None, t(30)).unwrap()),
        ("order again", |b| b.scan(ORDER1, None, t(30)).unwrap()),
        ("another badge", |b| b.scan(PICKER, None, t(30)).unwrap()),
        ("hold", |b| {
            b.command(Command::Hold(HoldReason::Other), t(30)).unwrap()
        }),
    ];
    for (what, input) in inputs {
        let mut b = bench();
        approval_waiting_for_reason(&mut b);
        let ev = input(&mut b);
        assert_eq!(
            ev[0].kind,
            EventType::ApprovalLapsed,
            "{what}: {:?}",
            kinds(&ev)
        );
        assert_eq!(ev[0].str("cause"), Some("other_input"), "{what}");
        assert!(b.state().auth.is_none(), "{what}");
        // The reason that follows approves nothing.
        let ev = b.reason(ApprovalReason::Other, t(31)).unwrap();
        rejected(&ev, "not_allowed");
        assert!(!kinds(&ev).contains(&EventType::Override), "{what}");
        assert!(!kinds(&ev).contains(&EventType::OrderPacked), "{what}");
    }
}

#[test]
fn an_approval_is_for_the_weighing_it_saw() {
    // A new stable reading, different from the approved one: the approval lapses with it.
    let mut b = bench();
    approval_waiting_for_reason(&mut b);
    let ev = b.weight(231.0, true, t(30)).unwrap();
    assert_eq!(
        kinds(&ev),
        vec![EventType::WeightChecked, EventType::ApprovalLapsed]
    );
    let l = only(&ev, EventType::ApprovalLapsed);
    assert_eq!(l.str("cause"), Some("measurement_changed"));
    assert_eq!(
        l.f64("measured_g"),
        Some(225.0),
        "the weighing it had approved"
    );
    let ev = b.reason(ApprovalReason::ScaleDrift, t(31)).unwrap();
    rejected(&ev, "not_allowed");
    assert!(!kinds(&ev).contains(&EventType::Override));
    assert_eq!(b.state().next_step(), NextStep::ResolveMismatch);

    // Between the badge and the PIN too: the PIN then has nothing to answer.
    let mut b = bench();
    order1_mismatch(&mut b);
    b.scan(SUPERVISOR, None, t(20)).unwrap();
    let ev = b.weight(231.0, true, t(21)).unwrap();
    assert_eq!(
        only(&ev, EventType::ApprovalLapsed).str("cause"),
        Some("measurement_changed")
    );
    rejected(
        &b.pin(&Pin::new(SUPERVISOR_PIN), t(22)).unwrap(),
        "not_allowed",
    );

    // Lifted and put back reading exactly what was approved: the same weighing, still
    // approved, and the override records it.
    let mut b = bench();
    approval_waiting_for_reason(&mut b);
    assert!(b.weight(0.0, true, t(30)).unwrap().is_empty());
    only(
        &b.weight(225.0, true, t(31)).unwrap(),
        EventType::WeightChecked,
    );
    let ev = b.reason(ApprovalReason::ScaleDrift, t(32)).unwrap();
    assert_eq!(
        only(&ev, EventType::Override).f64("measured_g"),
        Some(225.0)
    );

    // A missing sock added and the parcel weighed right: packed without the approval, which
    // lapses as it approved another weighing.
    let mut b = bench();
    approval_waiting_for_reason(&mut b);
    let ev = b.weight(265.0, true, t(30)).unwrap();
    assert_eq!(
        kinds(&ev),
        vec![
            EventType::WeightChecked,
            EventType::OrderPacked,
            EventType::ApprovalLapsed
        ]
    );
    let packed = only(&ev, EventType::OrderPacked);
    assert_eq!(packed.data["override_by"], serde_json::Value::Null);
}

#[test]
fn an_unfinished_approval_leaves_the_screen_when_its_time_is_up() {
    use packbench::station::label::LabelSetup;
    use packbench::station::runtime::{Msg, StationLoop};
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    let clock = Arc::new(AtomicI64::new(20));
    let now = clock.clone();
    let mut st = StationLoop::new(bench(), LabelSetup::default(), None, Vec::new())
        .with_clock(Box::new(move || t(now.load(Ordering::SeqCst))));
    for code in [PACKER, ORDER1, T_BLU_L, SOCK_BLK, SOCK_BLK] {
        st.handle(Msg::Scan {
            code: code.into(),
            scanner: "s".into(),
        });
    }
    st.handle(Msg::Weight {
        grams: 225.0,
        stable: true,
    });
    st.handle(Msg::Scan {
        code: SUPERVISOR.into(),
        scanner: "s".into(),
    });
    st.handle(Msg::Pin(Pin::new(SUPERVISOR_PIN)));
    assert!(st.view().auth.is_some(), "the reason choice shows");
    let logged = |st: &StationLoop<TestStore, Vec<u8>>| {
        st.bench()
            .store()
            .events(&packbench::store::EventFilter::default())
            .unwrap()
            .iter()
            .filter(|e| e.kind == EventType::ApprovalLapsed)
            .count()
    };
    // Before its time the timer does nothing.
    clock.store(20 + 119, Ordering::SeqCst);
    st.tick();
    assert!(st.view().auth.is_some());
    assert_eq!(logged(&st), 0);
    // At its time it lapses with no input at all: logged, and off the screen.
    clock.store(20 + 120, Ordering::SeqCst);
    st.tick();
    assert_eq!(logged(&st), 1);
    assert!(st.view().auth.is_none());
    assert_eq!(st.view().step, NextStep::ResolveMismatch);
    // The banner says why the reason choice went away.
    let alert = st.view().alert.expect("a banner");
    assert!(
        alert.detail.contains("E005") && alert.detail.contains("time ran out"),
        "{}",
        alert.detail
    );
    // Once only.
    clock.store(20 + 200, Ordering::SeqCst);
    st.tick();
    assert_eq!(logged(&st), 1);
}

#[test]
fn the_approval_timeout_is_the_configured_one() {
    let mut c = cfg();
    c.security.approval_timeout_s = 10;
    let mut b = Bench::open(test_store_with_fixtures(), c).unwrap();
    approval_waiting_for_reason(&mut b);
    let ev = b.reason(ApprovalReason::Other, t(20 + 10)).unwrap();
    lapsed_first(&b, &ev, "timeout");
}

/// A centre that counts the PINs a bench asks it to check, and answers none (as offline).
struct PinCountingCentre(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl packbench::store::Claims for PinCountingCentre {
    fn claim(&mut self, _order_no: &str, _packer_id: &str) -> packbench::store::ClaimOutcome {
        packbench::store::ClaimOutcome::Granted {
            epoch: Some(1),
            history: Vec::new(),
        }
    }

    fn check_pin(
        &mut self,
        _employee_id: &str,
        _pin: &Pin,
    ) -> Option<packbench::central::PinCheck> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        None
    }
}

#[test]
fn a_pin_after_the_approval_lapsed_is_not_sent_to_the_centre() {
    use std::sync::atomic::Ordering;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut b = bench().with_claims(Box::new(PinCountingCentre(sent.clone())));
    order1_mismatch(&mut b);
    b.scan(SUPERVISOR, None, t(20)).unwrap();
    only(
        &b.pin(&Pin::new("999999"), t(21)).unwrap(),
        EventType::PinFailed,
    );
    assert_eq!(
        sent.load(Ordering::SeqCst),
        1,
        "in time: checked at the centre"
    );
    // Too late: it lapses here, and the centre counts no wrong PIN for it.
    let ev = b.pin(&Pin::new("999999"), t(20 + 121)).unwrap();
    lapsed_first(&b, &ev, "timeout");
    assert!(!kinds(&ev).contains(&EventType::PinFailed));
    assert_eq!(sent.load(Ordering::SeqCst), 1);
}
