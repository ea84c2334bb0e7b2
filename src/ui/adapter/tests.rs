//! The station's mappings with plain `#[test]`s: a view in, what the screen shows out.

use super::*;
use crate::domain::event::RejectReason;
use crate::domain::session::WeightCheck;
use crate::domain::weight::{Hint, HintTerm};
use crate::station::view::{Alert, DispatchPanel, LinePanel, OrderPanel};

fn view() -> StationView {
    StationView {
        station_id: "BENCH-T".into(),
        step: NextStep::ScanItems { remaining: 2 },
        packer_id: Some("E003".into()),
        packer_name: Some("张伟".into()),
        order: Some(OrderPanel {
            order_no: "TB20261122001".into(),
            waybill_no: "SF1498369006026".into(),
            carrier: "顺丰速运".into(),
            recipient: "李娜".into(),
            country: "CN".into(),
            buyer_note: "<b>URGENT</b> '; DROP TABLE orders; --\u{202E}x\n".into(),
            picker_id: Some("E001".into()),
            packaging: None,
            expected_g: 265.0,
            tolerance_g: 15.0,
            lines: vec![
                LinePanel {
                    sku: "T-BLU-L".into(),
                    name: "纯棉T恤 蓝色 Cotton T-shirt".into(),
                    attributes: "colour=蓝 size=L".into(),
                    qty: 1,
                    scanned: 1,
                    gift: false,
                    done: true,
                    barcodes: vec!["6975432100137".into()],
                },
                LinePanel {
                    sku: "SOCK-BLK".into(),
                    name: "Socks".into(),
                    attributes: String::new(),
                    qty: 2,
                    scanned: 0,
                    gift: true,
                    done: false,
                    barcodes: vec![],
                },
            ],
            units_scanned: 1,
            units_ordered: 3,
            last_line: Some(0),
        }),
        scale_g: Some(266.0),
        scale_stable: true,
        last_check: None,
        alert: None,
        devices: BTreeMap::new(),
        dispatch: None,
        last_packed: None,
        queued_labels: 0,
        label_preview: None,
        label_print: None,
        supervisor: None,
        auth: None,
        returns: None,
    }
}

#[test]
fn order_lines_and_weights_map_to_rows() {
    let s = UiState::from_view(&view());
    assert_eq!((s.step, s.remaining), (Step::ScanItems, 2));
    assert!(s.has_order);
    assert_eq!(s.lines.len(), 2);
    assert!(s.lines[0].done && !s.lines[1].done);
    assert!(s.lines[1].gift);
    assert_eq!((s.lines[1].scanned, s.lines[1].qty), (0, 2));
    assert_eq!(s.expected_text, "265 g");
    assert_eq!(s.tolerance_text, "± 15 g");
    assert_eq!(s.band_text, "250 – 280 g");
    assert_eq!(s.scale_text, "266 g");
    assert_eq!(s.scale_zone, ScaleZone::Inside);
    assert!(s.gauge_low < s.gauge_value && s.gauge_value < s.gauge_high);
    assert_eq!((s.units_scanned, s.units_ordered), (1, 3));
    assert_eq!(s.packer_name, "张伟");
    // The line just scanned, its barcodes for the search, and the counts.
    assert_eq!(s.current_line, 0);
    assert!(s.lines[0].current && !s.lines[1].current);
    assert_eq!(s.lines[0].codes, "6975432100137");
    assert_eq!((s.lines_done, s.skus_done, s.skus_total), (1, 1, 2));
}

/// A packer reads whole grams: the reading, the expected weight, the band and the tolerance
/// the engine checks with (16.65 g from a 3 % rule is 17 g in the engine already).
#[test]
fn weights_show_whole_grams() {
    let mut v = view();
    let o = v.order.as_mut().unwrap();
    o.expected_g = 555.5;
    o.tolerance_g = crate::domain::weight::tolerance_g(
        crate::domain::weight::ToleranceRule {
            tolerance_g: 15.0,
            tolerance_pct: 3.0,
        },
        555.0,
        &[],
    );
    v.scale_g = Some(540.4);
    let s = UiState::from_view(&v);
    assert_eq!(s.tolerance_text, "± 17 g");
    assert_eq!(s.expected_text, "556 g");
    assert_eq!(s.band_text, "539 – 573 g");
    assert_eq!(s.scale_text, "540 g");
    v.last_check = Some(WeightCheck {
        measured_g: 540.4,
        expected_g: 555.5,
        tolerance_g: 17.0,
        ok: true,
        hint: None,
    });
    let s = UiState::from_view(&v);
    assert_eq!(
        (s.check_measured.as_str(), s.check_tolerance.as_str()),
        ("540 g", "17 g")
    );
    assert_eq!(s.check_diff.en, "15 g under");
}

#[test]
fn buyer_note_stays_literal_text_with_controls_escaped() {
    let s = UiState::from_view(&view());
    assert_eq!(
        s.buyer_note,
        "<b>URGENT</b> '; DROP TABLE orders; --\\u{202E}x "
    );
}

#[test]
fn readings_outside_the_band_are_coloured_by_side() {
    let mut v = view();
    v.scale_g = Some(225.0);
    assert_eq!(UiState::from_view(&v).scale_zone, ScaleZone::Below);
    v.scale_g = Some(281.0);
    assert_eq!(UiState::from_view(&v).scale_zone, ScaleZone::Above);
    v.scale_g = Some(280.0);
    assert_eq!(
        UiState::from_view(&v).scale_zone,
        ScaleZone::Inside,
        "the bound is inside"
    );
    v.scale_g = None;
    let s = UiState::from_view(&v);
    assert_eq!(
        (s.scale_zone, s.scale_text.as_str()),
        (ScaleZone::None, "—")
    );
}

#[test]
fn alerts_carry_both_languages_and_the_engine_detail() {
    let mut v = view();
    v.alert = Some(Alert {
        reason: RejectReason::NotInOrder,
        code: "6921568310025".into(),
        detail: "LIP-R02 is not in TB20261122001".into(),
    });
    let s = UiState::from_view(&v);
    assert!(s.alert_shown);
    assert_eq!(s.alert.en, "Wrong item: not in this order");
    assert_eq!(s.alert.zh, "错货:此商品不在本订单中");
    assert_eq!(s.alert_code, "6921568310025");
    assert_eq!(s.alert_reason, "not_in_order");
}

#[test]
fn mismatch_gives_diff_and_hint_in_both_languages() {
    let mut v = view();
    v.step = NextStep::ResolveMismatch;
    v.last_check = Some(WeightCheck {
        measured_g: 225.0,
        expected_g: 265.0,
        tolerance_g: 15.0,
        ok: false,
        hint: Some(Hint {
            terms: vec![HintTerm {
                sku: "SOCK-BLK".into(),
                units: -1,
                weight_g: -40.0,
            }],
            alternatives: vec![],
            explained: true,
            diff_g: -40.0,
            text: "≈ 1 × SOCK-BLK missing, 40 g".into(),
            partial: false,
        }),
    });
    let s = UiState::from_view(&v);
    assert_eq!(s.step, Step::ResolveMismatch);
    assert!(s.check_has && !s.check_ok);
    assert_eq!(s.check_measured, "225 g");
    assert_eq!(s.check_diff.en, "40 g under");
    assert_eq!(s.check_diff.zh, "不足 40 g");
    assert_eq!(s.check_hint.en, "≈ 1 × SOCK-BLK missing, 40 g");
    assert_eq!(s.check_hint.zh, "≈ 缺 1 × SOCK-BLK(40 g)");
    let Words { zh, .. } = hint_words(Some(&Hint {
        terms: vec![],
        alternatives: vec![],
        explained: false,
        diff_g: 90.0,
        text: "no combination".into(),
        partial: false,
    }));
    assert!(zh.contains("超出的 90 g"), "{zh}");
}

#[test]
fn devices_always_list_scanner_scale_printer() {
    let mut v = view();
    v.devices.insert(
        "printer".into(),
        DeviceState {
            state: crate::domain::event::DeviceStatus::Error,
            detail: "paper out".into(),
        },
    );
    v.devices.insert(
        "scanner2".into(),
        DeviceState {
            state: crate::domain::event::DeviceStatus::Connected,
            detail: String::new(),
        },
    );
    let rows = UiState::from_view(&v).devices;
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["scanner", "scale", "printer", "scanner2"]);
    assert_eq!(rows[0].state, DeviceStatus::Unreported);
    assert_eq!(rows[0].state_name, "unknown");
    assert_eq!(
        (rows[0].kind, rows[2].state, rows[3].kind),
        (DeviceKind::Scanner, DeviceStatus::Error, DeviceKind::Other)
    );
    assert_eq!(
        (rows[2].level, rows[3].level),
        (Severity::Error, Severity::Ok)
    );
}

#[test]
fn another_device_is_shown_with_its_state() {
    let mut v = view();
    v.devices.insert(
        "central".into(),
        DeviceState {
            state: crate::domain::event::DeviceStatus::Disconnected,
            detail: String::new(),
        },
    );
    let rows = UiState::from_view(&v).devices;
    let c = &rows[3];
    assert_eq!((c.kind, c.name.as_str()), (DeviceKind::Other, "central"));
    assert_eq!(
        (c.state, c.state_name.as_str()),
        (DeviceStatus::Disconnected, "disconnected")
    );
    assert_eq!(c.level, Severity::Error);
}

#[test]
fn dispatch_and_sign_in_steps() {
    let mut v = view();
    v.order = None;
    v.step = NextStep::Dispatch;
    v.dispatch = Some(DispatchPanel {
        batch_id: "B1".into(),
        carrier: Some("顺丰速运".into()),
        count: 3,
    });
    let s = UiState::from_view(&v);
    assert_eq!(s.step, Step::Dispatch);
    assert!(s.dispatch_active && !s.has_order);
    assert_eq!(
        (s.dispatch_count, s.dispatch_carrier.as_str()),
        (3, "顺丰速运")
    );
    v.step = NextStep::SignIn;
    assert_eq!(UiState::from_view(&v).step, Step::SignIn);
}

#[test]
fn a_return_maps_beside_its_pack_record_in_both_languages() {
    use crate::domain::returns::{Condition, PackRecord, ReturnClosed, ReturnReason};
    use crate::station::view::{
        ClosedReturn, ForeignPanel, ReturnLinePanel, ReturnPanel, ReturnsPanel,
    };
    let mut v = view();
    v.order = None;
    v.step = NextStep::CheckReturn {
        return_id: "TB20261122001-R1".into(),
    };
    let pack = PackRecord {
        packer_id: Some("E003".into()),
        picker_id: Some("E001".into()),
        station_id: Some("BENCH-T".into()),
        measured_g: Some(266.0),
        expected_g: Some(265.0),
        weight_ok: Some(true),
        units_scanned: 3,
        units_ordered: 3,
        labels_printed: 1,
        ..Default::default()
    };
    v.returns = Some(ReturnsPanel {
        open: Some(ReturnPanel {
            return_id: "TB20261122001-R1".into(),
            order_no: "TB20261122001".into(),
            waybill_no: "SF1498369006026".into(),
            carrier: "顺丰速运".into(),
            recipient: "李娜\u{202E}".into(),
            lines: vec![ReturnLinePanel {
                sku: "SOCK-BLK".into(),
                name: "Socks".into(),
                attributes: String::new(),
                packed: 2,
                before: 0,
                now: 2,
                conditions: vec![(Condition::Ok, 1), (Condition::Damaged, 1)],
            }],
            foreign: vec![ForeignPanel {
                code: "=SUM(A1)".into(),
                sku: None,
                units: 1,
                condition: Condition::WrongVariant,
            }],
            last_unit: Some(("=SUM(A1)".into(), Condition::WrongVariant)),
            units: 3,
            units_packed: 3,
            units_returned: 2,
            reason: Some(ReturnReason::MissingItem),
            weighed_g: Some(205.5),
            verdict: Some(true),
            pack,
        }),
        last_closed: None,
    });
    let s = UiState::from_view(&v);
    assert_eq!(s.step, Step::CheckReturn);
    assert!(s.returns_active && s.has_return);
    assert_eq!(
        s.return_recipient, "李娜\\u{202E}",
        "shop data stays plain text"
    );
    assert_eq!(s.return_lines[0].conditions.en, "1 OK · 1 damaged");
    assert_eq!(s.return_lines[0].conditions.zh, "完好 1 · 损坏 1");
    assert_eq!((s.return_lines[0].now, s.return_lines[0].packed), (2, 2));
    assert_eq!(s.return_foreign[0].code, "=SUM(A1)");
    assert_eq!(s.return_foreign[0].condition.zh, "规格不符");
    assert_eq!(s.return_reason, BuyerReason::MissingItem);
    assert_eq!(s.return_last_condition, UnitCondition::WrongVariant);
    assert_eq!(s.return_weighed, "206 g", "whole grams, half up");
    assert_eq!(s.return_verdict, ReturnVerdict::Confirmed);
    let p = &s.pack_record;
    assert!(p.clean && p.weight_ok);
    assert_eq!((p.packer.as_str(), p.picker.as_str()), ("E003", "E001"));
    assert_eq!(
        (p.measured.as_str(), p.expected.as_str()),
        ("266 g", "265 g")
    );
    assert_eq!((p.units.as_str(), p.labels), ("3 / 3", 1));

    // Closed: the summary in both languages; with no reason blamed on packing, no verdict.
    let mut r = v.returns.take().unwrap();
    r.open = None;
    let closed = |reason, confirmed| ClosedReturn {
        order_no: "TB20261122001".into(),
        summary: ReturnClosed {
            return_id: "TB20261122001-R1".into(),
            reason,
            handler_id: "E003".into(),
            units: 3,
            conditions: Default::default(),
            foreign_units: 1,
            returned_units: 2,
            packed_units: 3,
            measured_g: None,
            packed_clean: true,
            confirmed,
            packer_id: None,
            picker_id: None,
        },
    };
    r.last_closed = Some(closed(ReturnReason::MissingItem, Some(false)));
    v.returns = Some(r.clone());
    v.step = NextStep::ScanReturn;
    let s = UiState::from_view(&v);
    assert!(s.returns_active && !s.has_return);
    assert_eq!(
        s.return_closed.en,
        "Return TB20261122001-R1 closed: 3 units, missing item — the evidence contradicts the claim"
    );
    assert_eq!(
        s.return_closed.zh,
        "退货 TB20261122001-R1 已签收:3 件,少发漏发——证据与买家说法不符"
    );
    r.last_closed = Some(closed(ReturnReason::Size, None));
    v.returns = Some(r);
    assert_eq!(
        UiState::from_view(&v).return_closed.en,
        "Return TB20261122001-R1 closed: 3 units, size"
    );
}

#[test]
fn wedge_codes_lose_control_and_special_keys() {
    assert_eq!(clean_scan("BADGE-E003").as_deref(), Some("BADGE-E003"));
    assert_eq!(
        clean_scan(" 6975\u{F702}432100137\u{8}\r").as_deref(),
        Some("6975432100137")
    );
    assert_eq!(clean_scan("\u{1b}\t"), None);
}

#[test]
fn demo_scanner_panel_lists_the_open_order_items_and_mistakes() {
    let mut cat = BTreeMap::new();
    cat.insert(
        "T-BLU-L".to_string(),
        vec![("6975432100137".to_string(), 1)],
    );
    cat.insert(
        "SOCK-BLK".to_string(),
        vec![("6975432201018".to_string(), 1)],
    );
    cat.insert(
        "LIP-R02".to_string(),
        vec![("6921568310025".to_string(), 1)],
    );
    let items = sim_items(&view(), &cat, Lang::En);
    let codes: Vec<&str> = items.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "6975432100137",
            "6975432201018",
            "6921568310025",
            "6901234567892",
            "6975432100138",
            "PKG-BAG-M"
        ]
    );
}

#[test]
fn a_logged_detail_is_shown_in_the_screens_language() {
    // A refusal and a log alarm, as the log has them: each read back in Chinese with its data.
    let w = said("TB1 is on hold: keep it back");
    assert_eq!(w.zh, "TB1 已挂起:请留下此包裹");
    let w = said("event 7 is missing from the log");
    assert_eq!(w.zh, "日志中缺少事件 7");
    // English no text says (an older bench's) shows as written, a control byte made visible.
    let w = said("an old detail\u{1b}[2J");
    let shown = "an old detail\\u{001B}[2J";
    assert_eq!((w.en.as_str(), w.zh.as_str()), (shown, shown));
}
