//! The station window driven like a packer would: taps on the screen, codes typed by a
//! keyboard-wedge scanner, the demo scale. Behind it the real station loop, store (fixture
//! data in a temporary SQLite file), lookup worker and file printer.

mod ui_harness;

use std::time::{Duration, Instant};

use packbench::audit;
use packbench::domain::event::EventData;
use packbench::store::SqliteStore;
use packbench::ui::BuyerReason;
use slint::ComponentHandle;
use ui_harness::*;

fn record(b: &TestBench, order: &str) -> audit::OrderRecord {
    let store = SqliteStore::open(&b.db).unwrap();
    audit::order_record(&store, order)
        .unwrap()
        .expect("order in the log")
}

fn line(b: &TestBench, sku: &str) -> String {
    b.value(sku)
}

fn sign_in_and_fill_order1(b: &TestBench) {
    b.wedge(PACKER);
    assert_eq!(b.step(), Step::ScanOrder);
    b.wedge(ORDER1);
    for code in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
        b.wedge(code);
    }
    assert_eq!(b.step(), Step::Weigh);
}

#[test]
fn a_whole_order_through_the_screen() {
    let b = TestBench::new();
    // Sign-in screen: the banner, the keypad.
    assert_eq!(b.step(), Step::SignIn);
    assert!(b.has("Scan your badge to sign in"));
    b.find("key ok");
    // Employee number 3 on the keypad: Rust finds E003's badge and scans it.
    b.tap("key 3");
    assert_eq!(b.value("typed employee number"), "3");
    b.tap("key ok");
    // A typed number is no proof: the PIN pad asks for E003's PIN.
    assert_eq!(b.step(), Step::EnterPin);
    b.pin(PACKER_PIN);
    assert_eq!(b.step(), Step::ScanOrder);
    assert_eq!(b.value("packer"), "张伟 (E003)");
    assert!(!b.has("key ok"), "the keypad is gone after sign-in");

    // The waybill typed by a wedge scanner opens the order.
    b.wedge(ORDER1_WAYBILL);
    assert_eq!(b.value("order number"), ORDER1);
    assert!(b.has("SF1498369006026"));
    assert!(b.has("顺丰速运"));
    assert_eq!(line(&b, "T-BLU-L"), "0/1");
    assert_eq!(line(&b, "SOCK-BLK"), "0/2");
    assert_eq!(b.value("next step"), "Scan the items: 3 to go");
    assert!(b.has("Scan the items: 3 to go"));

    b.wedge(T_BLU_L);
    assert_eq!(line(&b, "T-BLU-L"), "1/1 done");

    // A lipstick is not in this order: the red banner says why, in both languages.
    b.wedge(LIP_R02);
    assert_eq!(b.value("alert"), "not_in_order");
    assert!(b.has("Wrong item: not in this order"));
    assert!(b.has("错货:此商品不在本订单中"));
    assert_eq!(line(&b, "SOCK-BLK"), "0/2", "nothing counted for it");

    // The socks from the simulated scanner panel; the next good scan clears the banner.
    b.tap(&format!("sim {SOCK_BLK}"));
    assert!(!b.has("alert"), "a good scan clears the alert");
    b.tap(&format!("sim {SOCK_BLK}"));
    assert_eq!(line(&b, "SOCK-BLK"), "2/2 done");
    assert_eq!(b.step(), Step::Weigh);
    assert!(b.has("Put the parcel on the scale"));

    // The right parcel on the simulated scale: weight OK, packed, label printed.
    b.tap("sim scale right");
    assert_eq!(b.step(), Step::ScanOrder);
    assert_eq!(b.api().get_last_packed(), ORDER1);
    assert!(b.has("Packed: TB20261122001"));
    let preview = b.value("label preview");
    assert!(preview.contains(ORDER1), "label preview: {preview}");
    assert!(
        preview.contains("李娜"),
        "recipient on the label: {preview}"
    );

    let r = record(&b, ORDER1);
    assert_eq!(r.status, "packed");
    assert_eq!(r.packer_id.as_deref(), Some("E003"));
    assert_eq!(r.weight_ok, Some(true));
    assert_eq!(r.measured_weight_g, Some(266.0));
    // The file printer got the label.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&b.labels).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(
            Instant::now() < deadline,
            "no label in {}",
            b.labels.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_weight_mismatch_is_resolved_by_a_supervisor_override() {
    let b = TestBench::new();
    sign_in_and_fill_order1(&b);
    // One sock short on the scale.
    b.tap("sim scale wrong");
    assert_eq!(b.step(), Step::ResolveMismatch);
    b.find("weight mismatch");
    assert!(b.has("Weight does not match"));
    assert!(b.has("225 g"), "measured");
    assert!(b.has("40 g under"));
    let hint = b.value("hint");
    assert!(hint.contains("SOCK-BLK"), "hint: {hint}");
    // The ways out are on screen.
    b.find_id("MismatchPanel::mm-undo");
    b.find_id("MismatchPanel::mm-hold");
    assert!(b.has("Supervisor: scan your badge to accept this weight."));
    assert!(b.has("Re-weigh: fix the parcel, lift it and put it back."));

    // A packer's badge does nothing for it; the supervisor's badge packs it.
    b.wedge(PACKER2);
    assert_eq!(b.step(), Step::ResolveMismatch);
    assert_eq!(b.value("alert"), "not_allowed");
    b.wedge(SUPERVISOR);
    assert_eq!(b.step(), Step::EnterPin);
    b.pin(SUPERVISOR_PIN);
    assert_eq!(b.step(), Step::ChooseReason);
    b.tap("reason catalog_weight_wrong");
    assert_eq!(b.step(), Step::ScanOrder);
    assert_eq!(b.api().get_last_packed(), ORDER1);
    let r = record(&b, ORDER1);
    assert_eq!(r.status, "packed");
    assert_eq!(r.override_by.as_deref(), Some("E005"));
    assert_eq!(r.measured_weight_g, Some(225.0));
}

#[test]
fn a_mismatch_can_be_weighed_again_or_undone() {
    let b = TestBench::new();
    sign_in_and_fill_order1(&b);
    b.tap("sim scale heavy");
    assert_eq!(b.step(), Step::ResolveMismatch);
    assert!(b.has("185 g over"), "diff shown");
    // Undo from the mismatch panel takes the last sock out again.
    b.tap_id("MismatchPanel::mm-undo");
    assert_eq!(line(&b, "SOCK-BLK"), "1/2");
    b.wedge(SOCK_BLK);
    // Re-weigh: the right parcel now.
    b.tap("sim scale lift");
    b.tap("sim scale right");
    assert_eq!(b.step(), Step::ScanOrder);
    assert_eq!(record(&b, ORDER1).override_by, None);
}

#[test]
fn language_switches_at_run_time() {
    let b = TestBench::new();
    assert_eq!(b.api().get_language(), Language::En);
    assert!(b.has("Scan your badge to sign in"));
    b.tap("language");
    assert_eq!(b.api().get_language(), Language::Zh);
    assert!(b.has("请扫描工牌签到"), "the banner in Chinese");
    assert!(b.has("工号"), "the keypad caption in Chinese");
    assert!(!b.has("Scan your badge to sign in"));
    // Data and the engine's words follow too: an alert shows Chinese first.
    b.wedge(PACKER);
    b.wedge(ORDER1);
    b.wedge(LIP_R02);
    assert!(b.has("错货:此商品不在本订单中"));
    assert!(b.has("撤销"), "the action bar in Chinese");
    b.tap("language");
    assert_eq!(b.api().get_language(), Language::En);
    assert!(b.has("Undo"));
    assert!(!b.has("撤销"));
}

#[test]
fn the_supervisor_view_refuses_a_packer_and_opens_for_a_supervisor() {
    let b = TestBench::new();
    b.tap_id("TopBar::supervisor");
    b.find("supervisor badge");
    // A packer's badge: refused with a message (the station decides and logs it), and not
    // taken for a sign-in, nor shown as a refused scan at the bench.
    b.wedge(PACKER);
    let msg = b.value("supervisor message");
    assert_eq!(
        msg,
        "张伟 (E003) is not a supervisor: the supervisor view stays closed"
    );
    assert!(!b.has("supervisor view"));
    assert_eq!(b.step(), Step::SignIn, "the packer was not signed in by it");
    assert!(!b.has("alert"), "no refusal banner at the bench");
    // Unknown codes are refused too.
    b.wedge("NOT-A-BADGE");
    assert!(b.value("supervisor message").contains("not a badge"));
    // The supervisor's badge and PIN open the view.
    b.wedge(SUPERVISOR);
    b.pin(SUPERVISOR_PIN);
    b.find("supervisor view");
    assert_eq!(b.value("supervisor name"), "刘洋 (E005)");
    b.tap_id("SupervisorScreen::close");
    assert!(!b.has("supervisor view"));
    assert!(!b.has("supervisor badge"));
    // The log says who tried and who opened it.
    let store = SqliteStore::open(&b.db).unwrap();
    let events = packbench::store::EventLog::events(&store, &Default::default()).unwrap();
    let tried: Vec<_> = events
        .iter()
        .filter_map(|e| match e.payload() {
            Some(EventData::ScanRejected(r)) if r.supervisor_view => {
                Some((r.reason.as_str(), r.employee_id))
            }
            Some(EventData::SupervisorViewOpened(o)) => Some(("opened", Some(o.supervisor_id))),
            _ => None,
        })
        .collect();
    assert_eq!(
        tried,
        [
            ("not_allowed", Some("E003".to_string())),
            ("unknown_barcode", None),
            ("opened", Some("E005".to_string())),
        ]
    );
}

#[test]
fn the_supervisor_view_searches_orders_and_shows_todays_figures() {
    let b = TestBench::new();
    // Some history: one packed order with an override.
    sign_in_and_fill_order1(&b);
    b.tap("sim scale wrong");
    b.approve("scale_drift");
    assert_eq!(b.step(), Step::ScanOrder);

    b.tap_id("TopBar::supervisor");
    b.wedge(SUPERVISOR);
    b.pin(SUPERVISOR_PIN);
    b.find("supervisor view");
    // Search by waybill: one hit opens the order's timeline.
    let search = b.find_id("SearchPane::search-box");
    search.set_accessible_value(ORDER1_WAYBILL);
    b.tap_id("SearchPane::search");
    let title = b.value("timeline title");
    assert!(title.starts_with(ORDER1), "{title}");
    // The events by name, in the window's language.
    for event in [
        "order opened",
        "unit scanned",
        "weighed",
        "approved by a supervisor",
        "packed",
    ] {
        b.find(event);
    }
    // By person.
    search.set_accessible_value("E003");
    b.tap_id("SearchPane::search");
    b.tap("hit person:E003");
    assert!(b.value("timeline title").starts_with("E003"));
    b.find(ORDER1);

    // Today's mismatches: the check and the override.
    b.tap_id("SupervisorScreen::tab-mismatches");
    let rows: Vec<_> = i_slint_backend_testing::ElementHandle::find_by_accessible_label(
        b.app(),
        "mismatch TB20261122001",
    )
    .collect();
    assert_eq!(rows.len(), 2, "mismatch and override rows");
    // Per packer.
    b.tap_id("SupervisorScreen::tab-packers");
    assert_eq!(b.value("packer E003"), "1 packed");
    assert!(b.has("张伟 (E003)"));
}

#[test]
fn hold_with_a_reason_reprint_and_courier_handover() {
    let b = TestBench::new();
    sign_in_and_fill_order1(&b);
    b.tap("sim scale right");
    assert_eq!(b.step(), Step::ScanOrder);

    // Reprint the last label.
    b.tap_id("ActionBar::reprint");
    let r = record(&b, ORDER1);
    assert_eq!(r.reprints, 1);

    // Hold: the dialog offers the reasons of the command sheet.
    b.wedge(ORDER2);
    assert_eq!(b.value("order number"), ORDER2);
    assert!(b.has("GIFT"), "the free gift line is marked");
    b.tap_id("ActionBar::hold");
    b.find("hold dialog");
    b.tap_id("HoldDialog::hold-short");
    assert!(!b.has("hold dialog"));
    assert_eq!(
        b.step(),
        Step::ScanOrder,
        "alert {} {}",
        b.api().get_alert_reason(),
        b.api().get_alert_detail().en
    );
    let r = record(&b, ORDER2);
    assert_eq!(r.status, "held");
    assert_eq!(r.held_reason.as_deref(), Some("short"));

    // Courier handover: the packed parcel counts, the held one is refused.
    b.tap_id("ActionBar::dispatch");
    assert_eq!(b.step(), Step::Dispatch);
    assert!(b.has("Courier handover"));
    b.wedge(ORDER1_WAYBILL);
    assert_eq!(b.value("parcels counted"), "1");
    assert!(b.has("顺丰速运"), "carrier set by the first parcel");
    b.wedge(ORDER2);
    assert_eq!(b.value("alert"), "order_held");
    assert_eq!(b.value("parcels counted"), "1");
    b.tap_id("DispatchScreen::end");
    assert_eq!(b.step(), Step::ScanOrder);
    assert_eq!(record(&b, ORDER1).status, "dispatched");
}

#[test]
fn the_buyer_note_is_shown_as_plain_text() {
    let b = TestBench::new();
    b.wedge(PACKER);
    b.wedge(HOSTILE_NOTE_ORDER);
    let note = b.value("buyer note");
    assert_eq!(note, "<b>URGENT</b> '; DROP TABLE orders; --");
}

#[test]
fn settings_show_config_and_devices_read_only() {
    let b = TestBench::new();
    b.tap_id("TopBar::settings");
    assert_eq!(b.value("setting station"), "DEMO-01");
    assert!(b.value("setting printer").starts_with("file://"));
    assert!(b.value("setting scale").contains("simulator"));
    // Simulated scanner and scale, and the printer not heard from yet.
    assert_eq!(b.value("scanner"), "simulated");
    assert_eq!(b.value("scale"), "simulated");
    b.tap_id("SettingsScreen::close");
    assert!(!b.has("setting station"));
}

#[test]
fn wedge_codes_need_no_focused_field_and_stray_keys_do_not_stick() {
    let b = TestBench::new();
    // Escape drops half a code.
    let w = b.app().window();
    for c in "XYZ".chars() {
        w.dispatch_event(slint::platform::WindowEvent::KeyPressed {
            text: c.to_string().into(),
        });
    }
    w.dispatch_event(slint::platform::WindowEvent::KeyPressed {
        text: slint::platform::Key::Escape.into(),
    });
    b.wedge(PACKER);
    assert_eq!(b.step(), Step::ScanOrder, "the badge alone was scanned");
    assert_eq!(b.value("packer"), "张伟 (E003)");
}

/// Every button on every screen is a touch target of at least 48×48 px, at the smallest
/// supported screen and at full HD.
#[test]
fn touch_targets_are_at_least_48_px() {
    for (w, h) in [(1024.0, 600.0), (1920.0, 1080.0)] {
        let b = TestBench::with_size(w, h);
        let check = |b: &TestBench, screen: &str| {
            let buttons = i_slint_backend_testing::ElementQuery::from_root(b.app())
                .match_accessible_role(i_slint_backend_testing::AccessibleRole::Button)
                .find_all();
            assert!(buttons.len() >= 4, "{screen}: {} buttons", buttons.len());
            for e in buttons {
                let s = e.size();
                let p = e.absolute_position();
                // Buttons scrolled out of a list are not on screen.
                if p.y + s.height <= 0.0 || p.y >= h {
                    continue;
                }
                assert!(
                    s.height >= 48.0 && s.width >= 48.0,
                    "{screen} at {w}×{h}: {:?} is {}×{}",
                    e.accessible_label(),
                    s.width,
                    s.height
                );
                assert!(
                    p.x + s.width <= w + 0.5,
                    "{screen}: {:?} off the right edge",
                    e.accessible_label()
                );
            }
        };
        check(&b, "sign-in");
        b.wedge(PACKER);
        b.wedge(ORDER1);
        check(&b, "pack");
        b.tap_id("ActionBar::hold");
        check(&b, "hold");
        b.tap_id("HoldDialog::cancel");
        b.tap_id("TopBar::settings");
        check(&b, "settings");
    }
}

#[test]
fn the_pin_pad_masks_digits_counts_wrong_pins_and_can_be_cancelled() {
    let b = TestBench::new();
    sign_in_and_fill_order1(&b);
    b.tap("sim scale wrong");
    b.wedge(SUPERVISOR);
    assert_eq!(b.step(), Step::EnterPin);
    // Digits typed show as their count only.
    for d in "1234".chars() {
        b.tap(&format!("pin {d}"));
    }
    assert_eq!(b.value("pin digits"), "4");
    assert!(!b.has("1234"), "the digits are not on screen");
    b.tap("pin ok");
    assert_eq!(b.step(), Step::EnterPin, "a wrong PIN asks again");
    assert_eq!(b.value("pin message"), "Wrong PIN: 4 tries left");
    b.tap("language");
    assert_eq!(b.value("pin message"), "PIN 错误:还可尝试 4 次");
    b.tap("language");
    // Cancel closes the pad; the parcel still waits for a supervisor.
    b.tap("pin cancel");
    assert_eq!(b.step(), Step::ResolveMismatch);
    assert!(!b.has("pin pad"));
    // The packer's own badge is refused as self-approval, on the banner.
    b.wedge(PACKER);
    assert_eq!(b.value("alert"), "self_approval");
    // A PIN typed on a keyboard while the pad shows is a PIN, never a scan.
    b.wedge(SUPERVISOR);
    b.wedge(SUPERVISOR_PIN);
    assert_eq!(b.step(), Step::ChooseReason);
    b.tap("reason cancel");
    assert_eq!(b.step(), Step::ResolveMismatch);
    let store = SqliteStore::open(&b.db).unwrap();
    let events = packbench::store::EventLog::events(&store, &Default::default()).unwrap();
    // (Import events are left out: a file's sha256 may hold any four digits.)
    for e in events.iter().filter(|e| e.kind.as_str() != "imported") {
        let text = serde_json::to_string(&e.data).unwrap();
        assert!(
            !text.contains(SUPERVISOR_PIN) && !text.contains("1234"),
            "{text}"
        );
    }
    assert!(events.iter().any(|e| e.kind.as_str() == "pin_failed"));
}

/// A supervisor signs in with badge and PIN to check in returns: the screen says how to start,
/// and an order scanned for packing is refused on the banner.
#[test]
fn a_supervisor_signs_in_for_returns_check_in() {
    let b = TestBench::new();
    b.wedge(SUPERVISOR);
    assert_eq!(b.step(), Step::EnterPin);
    b.pin(SUPERVISOR_PIN);
    assert_eq!(b.step(), Step::StartReturns);
    assert_eq!(b.api().get_packer_id(), "E005");
    assert_eq!(b.value("next step"), "Scan PB-RETURNS to check in returns");
    b.tap("language");
    assert_eq!(b.value("next step"), "请扫描 PB-RETURNS 开始退货签收");
    b.tap("language");
    b.wedge(ORDER1);
    assert_eq!(b.value("alert"), "not_allowed");
    assert_eq!(b.step(), Step::StartReturns);
    b.tap_id("ActionBar::returns");
    assert_eq!(b.step(), Step::ScanReturn);
}

/// Returns check-in on the smallest bench screen: the returned parcel checked against its
/// pack record, conditions and the buyer's reason by button, the verdict, the close.
#[test]
fn a_whole_return_through_the_screen() {
    let (w, h) = (1024.0, 600.0);
    let b = TestBench::with_size(w, h);
    b.api().set_simulator_open(false);
    sign_in_and_fill_order1(&b);
    b.weigh(266.0);
    assert_eq!(b.api().get_last_packed(), ORDER1);

    b.tap_id("ActionBar::returns");
    assert_eq!(b.step(), Step::ScanReturn);
    assert_eq!(
        b.value("next step"),
        "Returns: scan the returned parcel's waybill"
    );
    b.find_id("ReturnsScreen::end");
    assert_eq!(
        b.find_id("ActionBar::dispatch").accessible_enabled(),
        Some(false),
        "no courier handover in returns mode"
    );
    // An order never packed cannot come back: the red banner says so.
    b.wedge(ORDER2);
    assert_eq!(b.value("alert"), "not_shipped");
    assert!(b.has("Never shipped: no return for this order"));

    b.wedge(ORDER1_WAYBILL);
    assert_eq!(b.step(), Step::CheckReturn);
    assert_eq!(b.value("return id"), "TB20261122001-R1");
    assert!(!b.has("alert"), "a good scan clears the alert");
    // The pack record beside it: who, where, the weight, and that it left complete.
    assert_eq!(b.value("pack record"), "clean");
    assert!(b.has("Weighed right with every unit scanned"));
    assert!(b.has("E003") && b.has("E001"), "packer and picker");
    assert!(b.has("266 g") && b.has("265 g"), "measured and expected");
    assert!(b.has("3 / 3"), "every unit scanned");
    assert_eq!(b.value("return T-BLU-L"), "0/1");

    // The close waits for the buyer's reason; conditions wait for a unit.
    assert_eq!(
        b.find_id("ActionBar::returns")
            .accessible_label()
            .map(|l| l.to_string()),
        Some("Close return".to_string())
    );
    assert_eq!(
        b.find_id("ActionBar::returns").accessible_enabled(),
        Some(false)
    );
    assert_eq!(
        b.find_id("ReturnsScreen::cond-damaged")
            .accessible_enabled(),
        Some(false)
    );
    b.wedge(T_BLU_L);
    assert_eq!(b.value("return T-BLU-L"), "1/1");
    b.tap_id("ReturnsScreen::cond-damaged");
    assert!(b.has("1 damaged"), "the line says how it came back");
    b.wedge(SOCK_BLK);
    // One more T-shirt than was packed: refused.
    b.wedge(T_BLU_L);
    assert_eq!(b.value("alert"), "over_quantity");
    // A lipstick that was never in the order: shown as foreign evidence.
    b.wedge(LIP_R02);
    assert_eq!(b.value(&format!("foreign {LIP_R02}")), "LIP-R02");
    assert!(b.has("Not from this order"));
    b.tap_id("ReturnsScreen::ret-wrong-item-sent");
    assert_eq!(b.api().get_return_reason(), BuyerReason::WrongItemSent);
    assert_eq!(b.value("return verdict"), "confirmed");
    b.weigh(270.0);
    assert!(b.has("270 g"), "the returned parcel's weight");

    // Every button of the return fits the smallest screen, above the action bar, and is big
    // enough for gloves.
    let bar_top = b.find_id("ActionBar::undo").absolute_position().y;
    for id in [
        "cond-ok",
        "cond-damaged",
        "cond-used",
        "cond-wrong-variant",
        "ret-size",
        "ret-quality",
        "ret-not-as-described",
        "ret-changed-mind",
        "ret-wrong-item-sent",
        "ret-missing-item",
        "ret-damaged-in-transit",
        "ret-other",
    ] {
        let e = b.find_id(&format!("ReturnsScreen::{id}"));
        let (p, s) = (e.absolute_position(), e.size());
        assert!(
            s.height >= 48.0 && s.width >= 48.0,
            "{id} is {}×{}",
            s.width,
            s.height
        );
        assert!(
            p.x >= 0.0 && p.y >= 0.0 && p.x + s.width <= w + 0.5 && p.y + s.height <= bar_top,
            "{id} is not all on the {w}×{h} screen above the action bar: {p:?} {s:?}"
        );
    }
    // Undo in the action bar takes the lipstick back out; it goes back in.
    b.tap_id("ActionBar::undo");
    assert!(!b.has(&format!("foreign {LIP_R02}")));
    b.wedge(LIP_R02);
    assert_eq!(b.value("return verdict"), "confirmed");
    b.tap_id("ActionBar::returns");
    assert_eq!(b.step(), Step::ScanReturn);
    let last = b.value("last return");
    assert!(
        last.starts_with("Return TB20261122001-R1 closed: 3 units, wrong item sent"),
        "{last}"
    );
    // The log has it all, and the audit counts it against the packer and the picker.
    let store = SqliteStore::open(&b.db).unwrap();
    let rows = audit::returns::returns_report(&store, None, None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].confirmed, Some(true));
    assert_eq!(rows[0].foreign[0].sku.as_deref(), Some("LIP-R02"));
    let damaged = rows[0]
        .items
        .iter()
        .find(|q| q.sku.as_deref() == Some("T-BLU-L"))
        .unwrap();
    assert_eq!(damaged.condition.as_str(), "damaged");
    for id in ["E003", "E001"] {
        let p = audit::packer_report(&store, id, None, None).unwrap();
        assert_eq!(p.packing_errors, 1, "{id}");
    }

    // The supervisor view: the picker's day shows the return that confirmed the error.
    b.tap_id("TopBar::supervisor");
    b.wedge(SUPERVISOR);
    b.pin(SUPERVISOR_PIN);
    let search = b.find_id("SearchPane::search-box");
    search.set_accessible_value("E001");
    b.tap_id("SearchPane::search");
    b.tap("hit person:E001");
    let details: Vec<String> =
        i_slint_backend_testing::ElementHandle::find_by_accessible_label(b.app(), ORDER1)
            .filter_map(|e| e.accessible_value().map(|v| v.to_string()))
            .collect();
    assert!(
        details
            .iter()
            .any(|d| d == "return TB20261122001-R1 confirmed wrong_item_sent"),
        "{details:?}"
    );
    b.tap_id("SupervisorScreen::close");
    assert_eq!(b.step(), Step::ScanReturn);

    // In Chinese, then out of returns mode.
    b.tap("language");
    assert!(b.has("退货签收:请扫描退回包裹的运单号"));
    assert!(b.has("结束退货签收"));
    b.tap_id("ReturnsScreen::end");
    assert_eq!(b.step(), Step::ScanOrder);
    assert!(!b.api().get_returns_active());
}

/// Keys typed by hand into the focused field: a pause between keys, as a person types.
fn type_by_hand(b: &TestBench, text: &str) {
    let w = b.app().window();
    for c in text.chars() {
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(150));
        let t: slint::SharedString = c.to_string().into();
        w.dispatch_event(slint::platform::WindowEvent::KeyPressed { text: t.clone() });
        w.dispatch_event(slint::platform::WindowEvent::KeyReleased { text: t });
    }
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(150));
}

fn press(b: &TestBench, key: slint::platform::Key) {
    let w = b.app().window();
    let t: slint::SharedString = key.into();
    w.dispatch_event(slint::platform::WindowEvent::KeyPressed { text: t.clone() });
    w.dispatch_event(slint::platform::WindowEvent::KeyReleased { text: t });
    b.settle();
}

/// The row of `sku` is on screen inside the list's box (not scrolled away).
fn in_view(b: &TestBench, sku: &str) -> bool {
    // Drawn as a window shows it: the list lays out its rows when drawn, and the next turn of
    // the event loop runs the change handlers that layout set off (the list's height is
    // known then) before it draws again.
    let _ = b.snapshot();
    slint::platform::update_timers_and_animations();
    let _ = b.snapshot();
    let list = b.find("order lines");
    let (lp, ls) = (list.absolute_position(), list.size());
    b.find(sku);
    i_slint_backend_testing::ElementHandle::find_by_accessible_label(b.app(), sku).any(|row| {
        let (p, s) = (row.absolute_position(), row.size());
        // The whole row inside the list's viewport, not only its top.
        p.y >= lp.y - 0.5 && p.y + s.height <= lp.y + ls.height + 0.5 && s.height > 0.0
    })
}

fn description(b: &TestBench, sku: &str) -> String {
    b.find(sku)
        .accessible_description()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// A 600-line wholesale order at the smallest screen: the line just scanned is brought into
/// view and highlighted, the counts follow, the search finds lines by SKU, name or barcode,
/// and the scanner keeps working while and after the search is used.
#[test]
fn a_600_line_order_shows_the_line_just_scanned_and_finds_lines() {
    let b = TestBench::with_size(1024.0, 600.0);
    b.api().set_simulator_open(false);
    let codes = big_order(&b);
    b.wedge(PACKER);
    b.wedge(BIG_ORDER);
    assert_eq!(b.value("order number"), BIG_ORDER);
    assert_eq!(b.api().get_lines_total(), 600);
    assert_eq!(
        b.value("order summary"),
        "Lines 0/600 · SKUs 0/600 · Units 0/800"
    );
    // Virtualised: far fewer rows exist than the order has.
    let rows = i_slint_backend_testing::ElementQuery::from_root(b.app())
        .match_predicate(|e| e.accessible_label().is_some_and(|l| l.starts_with("BIG-")))
        .find_all()
        .len();
    assert!((1..60).contains(&rows), "{rows} line rows exist");
    assert!(in_view(&b, "BIG-000"));
    assert!(
        !b.has("BIG-449"),
        "line 450 is not on screen before its scan"
    );

    // The 450th line's barcode: its row is brought into view and highlighted.
    b.wedge(&codes[449]);
    assert!(in_view(&b, "BIG-449"), "line 450 brought into view");
    assert_eq!(b.value("BIG-449"), "1/1 done");
    assert_eq!(description(&b, "BIG-449"), "just scanned");
    assert_eq!(
        b.value("order summary"),
        "Lines 1/600 · SKUs 1/600 · Units 1/800"
    );
    // A line of two units, scanned once: not done; the highlight moves to it.
    b.wedge(&codes[3]);
    assert!(in_view(&b, "BIG-003"));
    assert_eq!(b.value("BIG-003"), "1/2");
    assert_eq!(description(&b, "BIG-003"), "just scanned");
    assert!(!b.has("BIG-449"), "line 450 scrolled away again");
    assert_eq!(
        b.value("order summary"),
        "Lines 1/600 · SKUs 1/600 · Units 2/800"
    );
    b.wedge(&codes[3]);
    assert_eq!(b.value("BIG-003"), "2/2 done");
    assert_eq!(
        b.value("order summary"),
        "Lines 2/600 · SKUs 2/600 · Units 3/800"
    );

    // The search, typed by hand: by SKU.
    b.find("find in order")
        .mock_single_click(slint::platform::PointerEventButton::Left);
    type_by_hand(&b, "big-12");
    b.settle();
    assert_eq!(b.value("found lines"), "10", "BIG-120 … BIG-129");
    assert!(in_view(&b, "BIG-120"), "the list starts at the first found");
    assert!(!b.has("BIG-003"));
    // Enter gives the keyboard back: the next code from the wedge is a scan.
    press(&b, slint::platform::Key::Return);
    b.wedge(&codes[125]);
    assert_eq!(b.value("BIG-125"), "1/1 done");
    assert_eq!(description(&b, "BIG-125"), "just scanned");
    assert_eq!(
        b.value("found lines"),
        "10",
        "the search stays until cleared"
    );

    // By name, then by barcode, then a scanner typing into the focused field.
    let field = b.find("find in order");
    field.set_accessible_value("");
    field.mock_single_click(slint::platform::PointerEventButton::Left);
    type_by_hand(&b, "item 31");
    b.settle();
    assert_eq!(b.value("found lines"), "10", "Item 310 … 319");
    field.set_accessible_value("");
    type_by_hand(&b, &codes[500][..13]);
    b.settle();
    assert_eq!(b.value("found lines"), "1");
    assert!(in_view(&b, "BIG-500"));
    // The scanner fires a code (no pause between its keys) into the field: a scan, not a
    // search; what was typed by hand stays in the field.
    field.set_accessible_value("");
    type_by_hand(&b, "BIG-5");
    b.wedge(&codes[501]);
    assert_eq!(b.value("BIG-501"), "1/2", "the scan reached the station");
    assert_eq!(field.accessible_value().unwrap(), "BIG-5");
    assert_eq!(
        b.value("order summary"),
        "Lines 3/600 · SKUs 3/600 · Units 5/800"
    );

    // Escape clears the search and gives the keyboard back.
    field.mock_single_click(slint::platform::PointerEventButton::Left);
    press(&b, slint::platform::Key::Escape);
    assert!(!b.has("found lines"));
    assert_eq!(field.accessible_value().unwrap(), "");
    b.wedge(&codes[599]);
    assert!(in_view(&b, "BIG-599"), "the last line brought into view");
    assert_eq!(b.value("BIG-599"), "1/1 done");
    assert_eq!(b.step(), Step::ScanItems);
}
