//! The station's words in both languages, from the text catalogue: refusals, the weight
//! check and its hint, the PIN pad, and a return's conditions, reason and verdict.

use crate::domain::event::{AuthPurpose, RejectReason};
use crate::domain::returns::{Condition, ReturnReason};
use crate::domain::session::WeightCheck;
use crate::domain::weight::{self, Hint, HintTerm};
use crate::station::view::ClosedReturn;
use crate::text;
use crate::text::{Lang, Text, Words};

use super::plain;

/// A refusal's detail as the log has it (English), in both languages for the screen: read back
/// through the catalogue's refusal texts. English no text says (a log alarm's technical
/// detail, a log written by an older bench) shows as written in either language.
pub fn said(detail: &str) -> Words {
    let w = text::read_back("refuse.", detail)
        .or_else(|| text::read_back("alarm.", detail))
        .unwrap_or_else(|| Words::same(detail.to_string()));
    Words {
        en: plain(&w.en),
        zh: plain(&w.zh),
    }
}

/// A refusal reason in words (the banner shows both languages).
pub fn reason_words(reason: RejectReason) -> Text {
    match reason {
        RejectReason::UnknownBarcode => text!("reject.unknown_barcode"),
        RejectReason::BadCheckDigit => text!("reject.bad_check_digit"),
        RejectReason::NotInOrder => text!("reject.not_in_order"),
        RejectReason::OverQuantity => text!("reject.over_quantity"),
        RejectReason::OrderAlreadyPacked => text!("reject.order_already_packed"),
        RejectReason::OrderCancelled => text!("reject.order_cancelled"),
        RejectReason::OrderChanged => text!("reject.order_changed"),
        RejectReason::NoPacker => text!("reject.no_packer"),
        RejectReason::NotAllowed => text!("reject.not_allowed"),
        RejectReason::LogAlarm => text!("reject.log_alarm"),
        RejectReason::BadgeInactive => text!("reject.badge_inactive"),
        RejectReason::BadgeLocked => text!("reject.badge_locked"),
        RejectReason::SelfApproval => text!("reject.self_approval"),
        RejectReason::PinNotSet => text!("reject.pin_not_set"),
        RejectReason::NotRecorded => text!("reject.not_recorded"),
        RejectReason::PickerFromImport => text!("reject.picker_from_import"),
        RejectReason::OrderInProgress => text!("reject.order_in_progress"),
        RejectReason::NoOrder => text!("reject.no_order"),
        RejectReason::NothingToUndo => text!("reject.nothing_to_undo"),
        RejectReason::NothingToReprint => text!("reject.nothing_to_reprint"),
        RejectReason::NotPacked => text!("reject.not_packed"),
        RejectReason::OrderHeld => text!("reject.order_held"),
        RejectReason::AlreadyDispatched => text!("reject.already_dispatched"),
        RejectReason::WrongCarrier => text!("reject.wrong_carrier"),
        RejectReason::OrderClaimedElsewhere => text!("reject.order_claimed_elsewhere"),
        RejectReason::CentralUnreachable => text!("reject.central_unreachable"),
        RejectReason::NotShipped => text!("reject.not_shipped"),
        RejectReason::NoReturnReason => text!("reject.no_return_reason"),
    }
}

/// What the PIN pad asks the PIN for.
pub fn purpose_words(purpose: AuthPurpose) -> Text {
    match purpose {
        AuthPurpose::SignIn => text!("station.auth_sign_in"),
        AuthPurpose::Approval => text!("station.auth_approval"),
        AuthPurpose::SupervisorView => text!("station.auth_supervisor_view"),
    }
}

/// A returned unit's condition in words.
pub fn condition_text(c: Condition) -> Text {
    match c {
        Condition::Ok => text!("returns.condition_ok"),
        Condition::Damaged => text!("returns.condition_damaged"),
        Condition::Used => text!("returns.condition_used"),
        Condition::WrongVariant => text!("returns.condition_wrong_variant"),
    }
}

/// The buyer's reason for a return in words.
pub fn return_reason_text(r: ReturnReason) -> Text {
    match r {
        ReturnReason::Size => text!("returns.reason_size"),
        ReturnReason::Quality => text!("returns.reason_quality"),
        ReturnReason::NotAsDescribed => text!("returns.reason_not_as_described"),
        ReturnReason::WrongItemSent => text!("returns.reason_wrong_item_sent"),
        ReturnReason::MissingItem => text!("returns.reason_missing_item"),
        ReturnReason::ChangedMind => text!("returns.reason_changed_mind"),
        ReturnReason::DamagedInTransit => text!("returns.reason_damaged_in_transit"),
        ReturnReason::Other => text!("returns.reason_other"),
    }
}

/// A return's units by condition: "1 OK · 1 damaged" / "完好 1 · 损坏 1".
pub fn condition_words(conditions: &[(Condition, u32)]) -> Words {
    let parts: Vec<Words> = conditions
        .iter()
        .map(|(c, n)| {
            text!(
                "returns.condition_count",
                n = n,
                condition = condition_text(*c)
            )
        })
        .collect();
    Words::join(&parts, " · ", " · ")
}

/// A packing claim's verdict in words; `None` without one.
pub fn verdict_words(verdict: Option<bool>) -> Option<Text> {
    match verdict {
        Some(true) => Some(text!("returns.verdict_confirmed")),
        Some(false) => Some(text!("returns.verdict_contradicted")),
        None => None,
    }
}

/// "Return TB…-R1 closed: 3 units, missing item — packing error confirmed", both languages.
pub fn closed_words(c: &ClosedReturn) -> Words {
    let s = &c.summary;
    let id = plain(&s.return_id);
    let reason = return_reason_text(s.reason);
    match verdict_words(s.confirmed) {
        Some(verdict) => text!(
            "returns.closed_with_verdict",
            id = id,
            units = s.units,
            reason = reason,
            verdict = verdict
        ),
        None => text!("returns.closed", id = id, units = s.units, reason = reason),
    }
}

/// "40 g under" / "不足 40 g".
pub fn diff_words(check: &WeightCheck) -> Words {
    // Whole grams, as the screen shows the weights it is the difference of.
    let d = weight::round_whole(check.measured_g - check.expected_g);
    let g = d.abs();
    if d > 0.0 {
        text!("station.weight_over", g = g)
    } else if d < 0.0 {
        text!("station.weight_under", g = g)
    } else {
        text!("station.weight_on_expected").words()
    }
}

/// The engine's hint in both languages: its own English text (as the event stores it), and
/// the same terms in Chinese.
pub fn hint_words(hint: Option<&Hint>) -> Words {
    let Some(h) = hint else {
        return Words::default();
    };
    let zh_terms = |terms: &[HintTerm]| -> String {
        terms
            .iter()
            .map(|t| {
                let term = if t.units < 0 {
                    text!("station.hint_missing")
                } else {
                    text!("station.hint_extra")
                };
                term.fill(&[("n", &t.units.abs()), ("sku", &t.sku)]).zh
            })
            .collect::<Vec<_>>()
            .join(text!("station.hint_and").zh)
    };
    let zh = if h.explained {
        let g = weight::fmt_g(h.terms.iter().map(|t| t.weight_g).sum::<f64>().abs());
        let mut s = text!("station.hint_explained", terms = zh_terms(&h.terms), g = g).zh;
        for alt in &h.alternatives {
            s.push_str(&text!("station.hint_or", terms = zh_terms(alt)).zh);
        }
        s
    } else {
        let g = weight::fmt_g(h.diff_g.abs());
        if h.diff_g > 0.0 {
            text!("station.hint_unexplained_over", g = g).zh
        } else {
            text!("station.hint_unexplained_under", g = g).zh
        }
    };
    Words {
        en: plain(&h.text),
        zh,
    }
}

/// An event's own fields for the supervisor view's timeline, in the screen's language: each
/// field named in words, yes and no and a known identifier (a reason, a cause, a device) in
/// words, a refusal's detail and a weight hint read back, and data (codes, names, numbers) as
/// logged. A field or value this build has no word for (a newer bench's) shows as logged.
pub fn event_fields(data: &serde_json::Value, leave_out: &[&str], lang: Lang) -> String {
    use serde_json::Value;
    crate::audit::shown_fields(data, leave_out)
        .map(|(k, v)| {
            let name = FIELDS
                .iter()
                .find(|(f, _)| f == k)
                .map_or(k.as_str(), |(_, t)| t.pick(lang));
            let value = match (k.as_str(), v) {
                ("detail", Value::String(s)) => said(s).pick(lang).to_string(),
                ("hint", Value::String(s)) => {
                    let hint: Option<Hint> =
                        serde_json::from_value(data["hint_detail"].clone()).ok();
                    match hint {
                        Some(h) => hint_words(Some(&h)).pick(lang).to_string(),
                        None => plain(s),
                    }
                }
                (_, Value::Bool(b)) => {
                    let t = if *b {
                        text!("field.yes")
                    } else {
                        text!("field.no")
                    };
                    t.pick(lang).to_string()
                }
                (_, Value::String(s)) => {
                    value_words(s).map_or_else(|| plain(s), |t| t.pick(lang).to_string())
                }
                (_, other) => other.to_string(),
            };
            format!("{name}: {value}")
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// An identifier the log writes (a refusal, approval, hold or return reason, a condition, a
/// device and its state, a PIN's purpose) in words, if it is one.
fn value_words(v: &str) -> Option<Text> {
    // An enum's value as the log writes it: its serde name, exactly (a code that happens to
    // read "OK" is data).
    fn logged<T: serde::de::DeserializeOwned>(v: &str) -> Option<T> {
        serde_json::from_value(serde_json::Value::String(v.to_string())).ok()
    }
    VALUES
        .iter()
        .find(|(id, _)| *id == v)
        .map(|(_, t)| *t)
        .or_else(|| logged(v).map(reason_words))
        .or_else(|| logged(v).map(return_reason_text))
        .or_else(|| logged(v).map(condition_text))
}

/// The timeline's field names in words.
const FIELDS: &[(&str, Text)] = &[
    ("code", text!("field.code")),
    ("sku", text!("field.sku")),
    ("qty", text!("field.qty")),
    ("scanned", text!("field.scanned")),
    ("units", text!("field.units")),
    ("complete", text!("field.complete")),
    ("expected_g", text!("field.expected_g")),
    ("measured_g", text!("field.measured_g")),
    ("tolerance_g", text!("field.tolerance_g")),
    ("packed_g", text!("field.packed_g")),
    ("tare_g", text!("field.tare_g")),
    ("ok", text!("field.ok")),
    ("hint", text!("field.hint")),
    ("picker_id", text!("field.picker_id")),
    ("packer_id", text!("field.packer_id")),
    ("supervisor_id", text!("field.supervisor_id")),
    ("employee_id", text!("field.employee_id")),
    ("handler_id", text!("field.handler_id")),
    ("override_by", text!("field.override_by")),
    ("waybill_no", text!("field.waybill_no")),
    ("carrier", text!("field.carrier")),
    ("batch_id", text!("field.batch_id")),
    ("packaging", text!("field.packaging")),
    ("purpose", text!("field.purpose")),
    ("cause", text!("field.cause")),
    ("reason", text!("field.reason")),
    ("detail", text!("field.detail")),
    ("copy", text!("field.copy")),
    ("reprint", text!("field.reprint")),
    ("repeat", text!("field.repeat")),
    ("count", text!("field.count")),
    ("device", text!("field.device")),
    ("state", text!("field.state")),
    ("remaining", text!("field.remaining")),
    ("until", text!("field.until")),
    ("since", text!("field.since")),
    ("return_id", text!("field.return_id")),
    ("condition", text!("field.condition")),
    ("item", text!("field.item")),
    ("gift", text!("field.gift")),
    ("scanner", text!("field.scanner")),
    ("packed_by", text!("field.packed_by")),
    ("packed_at", text!("field.packed_at")),
    ("packed_station", text!("field.packed_station")),
    ("held_by", text!("field.held_by")),
    ("held_by_packer", text!("field.held_by_packer")),
    ("supervisor_view", text!("field.supervisor_view")),
    ("approves", text!("field.approves")),
    ("claim_epoch", text!("field.claim_epoch")),
    ("returns_only", text!("field.returns_only")),
    ("weight_ok", text!("field.weight_ok")),
    ("scanned_units", text!("field.scanned_units")),
    ("ordered_units", text!("field.ordered_units")),
    ("packed_units", text!("field.packed_units")),
    ("returned_units", text!("field.returned_units")),
    ("foreign_units", text!("field.foreign_units")),
    ("pin_given", text!("field.pin_given")),
    ("waited_s", text!("field.waited_s")),
    ("gtin", text!("field.gtin")),
    ("lot", text!("field.lot")),
    ("expiry", text!("field.expiry")),
    ("serial", text!("field.serial")),
    ("note", text!("field.note")),
];

/// Identifiers in words: the bench's and the console's words where they have them (a device,
/// its state, a PIN's purpose, a cause), the timeline's own otherwise.
const VALUES: &[(&str, Text)] = &[
    ("scale_drift", text!("value.scale_drift")),
    ("packaging_heavier", text!("value.packaging_heavier")),
    ("catalog_weight_wrong", text!("value.catalog_weight_wrong")),
    ("recounted_ok", text!("value.recounted_ok")),
    ("customer_request", text!("value.customer_request")),
    ("short", text!("value.short")),
    ("order_query", text!("value.order_query")),
    ("sign_in", text!("station.auth_sign_in")),
    ("approval", text!("station.auth_approval")),
    ("supervisor_view", text!("station.auth_supervisor_view")),
    ("timeout", text!("value.timeout")),
    ("other_input", text!("value.other_input")),
    ("measurement_changed", text!("value.measurement_changed")),
    ("scanner", text!("console.device_scanner")),
    ("scale", text!("console.device_scale")),
    ("printer", text!("console.device_printer")),
    ("connected", text!("value.connected")),
    ("disconnected", text!("console.state_disconnected")),
    ("simulated", text!("value.simulated")),
    ("error", text!("console.state_error")),
    ("not_given", text!("value.not_given")),
    ("screen", text!("value.screen")),
    ("keypad", text!("value.keypad")),
    ("weight_mismatch", text!("console.cause_weight_mismatch")),
    ("picker_unknown", text!("console.cause_picker_unknown")),
    (
        "dispatch_weight_mismatch",
        text!("console.cause_dispatch_weight_mismatch"),
    ),
];
