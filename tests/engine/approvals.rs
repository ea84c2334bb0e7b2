// The engine tests of supervisors: the supervisor view, approvals and their reasons, PINs and
// locked badges, run on each backend: included by tests/engine.rs (SQLite) and
// tests/engine_memory.rs (the in-memory store).
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
