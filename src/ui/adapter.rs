//! StationView → what the screen shows. Pure functions: no window, no clock, no store, so
//! every mapping is tested with plain `#[test]`s. `UiState::apply` is the only glue that
//! touches the Slint globals, and it decides nothing.

use std::collections::BTreeMap;

use slint::{ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel};

use crate::domain::event::{self as ev, AuthPurpose, RejectReason};
use crate::domain::session::{NextStep, WeightCheck};
use crate::domain::weight::{self, Hint};
use crate::station::view::{DeviceState, LabelPrint, StationView};

use super::{
    Api, BuyerReason, CodeButton, DeviceKind, DeviceRow, DeviceStatus, ForeignRow, LineRow,
    PackRecordView, ReturnLineRow, ReturnVerdict, ScaleZone, Severity, Step, UnitCondition,
};
use crate::domain::returns::{Condition, PackRecord, ReturnReason};
use crate::station::view::{ClosedReturn, ReturnsPanel};

/// Everything the station part of the screen shows, ready for the Slint globals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UiState {
    pub station_id: String,
    pub step: Step,
    pub remaining: i32,
    pub packer_id: String,
    pub packer_name: String,
    pub last_packed: String,
    pub queued_labels: i32,
    pub label_preview: String,
    /// The last label's bytes, drawn as printed when they change.
    pub label_print: Option<LabelPrint>,

    pub has_order: bool,
    pub order_no: String,
    pub waybill: String,
    pub carrier: String,
    pub recipient: String,
    pub country: String,
    pub buyer_note: String,
    pub picker: String,
    pub packaging: String,
    pub units_scanned: i32,
    pub units_ordered: i32,
    pub lines: Vec<LineRow>,

    pub scale_has: bool,
    pub scale_stable: bool,
    pub scale_text: String,
    pub expected_text: String,
    pub tolerance_text: String,
    pub band_text: String,
    pub scale_zone: ScaleZone,
    pub gauge_value: f32,
    pub gauge_low: f32,
    pub gauge_high: f32,

    pub check_has: bool,
    pub check_ok: bool,
    pub check_measured: String,
    pub check_expected: String,
    pub check_tolerance: String,
    pub check_diff_en: String,
    pub check_diff_zh: String,
    pub auth_who: String,
    pub auth_purpose_en: String,
    pub auth_purpose_zh: String,
    pub pin_message_en: String,
    pub pin_message_zh: String,
    pub check_hint_en: String,
    pub check_hint_zh: String,

    pub alert_shown: bool,
    pub alert_reason: String,
    pub alert_en: String,
    pub alert_zh: String,
    pub alert_detail: String,
    pub alert_code: String,

    pub devices: Vec<DeviceRow>,
    pub dispatch_active: bool,
    pub dispatch_carrier: String,
    pub dispatch_batch: String,
    pub dispatch_count: i32,

    pub returns_active: bool,
    pub has_return: bool,
    pub return_id: String,
    pub return_order: String,
    pub return_waybill: String,
    pub return_recipient: String,
    pub return_lines: Vec<ReturnLineRow>,
    pub return_foreign: Vec<ForeignRow>,
    pub return_units: i32,
    pub return_units_packed: i32,
    pub return_units_returned: i32,
    pub return_reason: BuyerReason,
    pub return_last_unit: String,
    pub return_last_condition: UnitCondition,
    pub return_weighed: String,
    pub return_verdict: ReturnVerdict,
    pub pack_record: PackRecordView,
    pub return_closed_en: String,
    pub return_closed_zh: String,
}

/// The screen's step, and the units still to scan.
pub fn step_of(step: &NextStep) -> (Step, i32) {
    match step {
        NextStep::SignIn => (Step::SignIn, 0),
        NextStep::ScanOrder => (Step::ScanOrder, 0),
        NextStep::StartReturns => (Step::StartReturns, 0),
        NextStep::ScanItems { remaining } => (Step::ScanItems, *remaining as i32),
        NextStep::Weigh => (Step::Weigh, 0),
        NextStep::ScanPicker => (Step::ScanPicker, 0),
        NextStep::ResolveMismatch => (Step::ResolveMismatch, 0),
        NextStep::Dispatch => (Step::Dispatch, 0),
        NextStep::EnterPin { .. } => (Step::EnterPin, 0),
        NextStep::ChooseReason { .. } => (Step::ChooseReason, 0),
        NextStep::ScanReturn => (Step::ScanReturn, 0),
        NextStep::CheckReturn { .. } => (Step::CheckReturn, 0),
    }
}

/// Shop data (notes, names, addresses) is untrusted: characters that would hide or reorder
/// text are shown as `\u{..}`.
pub use packbench_drivers::text::for_screen as plain;

/// What a wedge scanner typed, without the keys that are not part of a code (control keys,
/// and the private-use characters Slint uses for arrows and function keys).
pub fn clean_scan(code: &str) -> Option<String> {
    let s: String = code
        .chars()
        .filter(|c| !c.is_control() && !('\u{E000}'..='\u{F8FF}').contains(c))
        .collect();
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

pub fn grams(g: f64) -> String {
    format!("{} g", weight::fmt_g(g))
}

/// A refusal reason in words, English and Chinese (the banner shows both).
pub fn reason_words(reason: RejectReason) -> (&'static str, &'static str) {
    match reason {
        RejectReason::UnknownBarcode => ("Unknown barcode", "无法识别的条码"),
        RejectReason::BadCheckDigit => (
            "Misread barcode (bad check digit): scan it again",
            "条码误读(校验位错误),请重新扫描",
        ),
        RejectReason::NotInOrder => ("Wrong item: not in this order", "错货:此商品不在本订单中"),
        RejectReason::OverQuantity => (
            "Too many: this item is already complete",
            "数量超出:此商品已扫够",
        ),
        RejectReason::OrderAlreadyPacked => ("This order is already packed", "此订单已打包"),
        RejectReason::OrderCancelled => ("Order cancelled: do not ship it", "订单已取消,请勿发货"),
        RejectReason::OrderChanged => (
            "The order changed: scan the order again",
            "订单已变更,请重新扫描订单",
        ),
        RejectReason::NoPacker => ("Nobody signed in: scan your badge", "未签到:请先扫描工牌"),
        RejectReason::NotAllowed => ("Not allowed", "不允许此操作"),
        RejectReason::LogAlarm => (
            "EVENT LOG ALARM: the log was changed. Call a supervisor",
            "事件日志告警:日志被改动,请联系主管",
        ),
        RejectReason::BadgeInactive => ("This badge is no longer active", "此工牌已停用"),
        RejectReason::BadgeLocked => (
            "Badge locked after 5 wrong PINs: wait 5 minutes",
            "PIN 连续输错 5 次,工牌已锁定 5 分钟",
        ),
        RejectReason::SelfApproval => (
            "Nobody approves their own parcel: call another supervisor",
            "不能审批自己的包裹:请另一位主管处理",
        ),
        RejectReason::PinNotSet => (
            "No PIN set for this badge: ask for one to be set",
            "此工牌尚未设置 PIN,请联系管理员设置",
        ),
        RejectReason::NotRecorded => (
            "Not recorded: the station cannot save (disk full?). Call a supervisor",
            "未记录:工作站无法保存(磁盘已满?),请联系主管",
        ),
        RejectReason::PickerFromImport => ("This order already has its picker", "此订单已有拣货员"),
        RejectReason::OrderInProgress => (
            "Finish or hold the open order first",
            "请先完成或挂起当前订单",
        ),
        RejectReason::NoOrder => ("Scan an order first", "请先扫描订单"),
        RejectReason::NothingToUndo => ("Nothing to undo", "没有可撤销的扫描"),
        RejectReason::NothingToReprint => ("Nothing to reprint", "没有可补打的面单"),
        RejectReason::NotPacked => ("Not packed: this parcel cannot go", "未打包:此包裹不能交接"),
        RejectReason::OrderHeld => ("On hold: this parcel cannot go", "已挂起:此包裹不能交接"),
        RejectReason::AlreadyDispatched => ("Already handed over", "此包裹已交接"),
        RejectReason::WrongCarrier => (
            "Another carrier: not for this courier",
            "快递公司不符:不属于本次交接",
        ),
        RejectReason::OrderClaimedElsewhere => (
            "Open at another bench: not here",
            "此订单正在其他工作台处理",
        ),
        RejectReason::CentralUnreachable => (
            "No answer from the central database: finish the open orders first",
            "中央数据库无响应:请先完成已打开的订单",
        ),
        RejectReason::NotShipped => (
            "Never shipped: no return for this order",
            "此订单未发货,不能退货签收",
        ),
        RejectReason::NoReturnReason => (
            "Give the buyer's reason before closing",
            "请先选择买家的退货原因",
        ),
    }
}

/// A return's units by condition: "1 OK · 1 damaged" / "完好 1 · 损坏 1".
pub fn condition_words(conditions: &[(Condition, u32)]) -> (String, String) {
    let en = conditions
        .iter()
        .map(|(c, n)| format!("{n} {}", c.words().0))
        .collect::<Vec<_>>()
        .join(" · ");
    let zh = conditions
        .iter()
        .map(|(c, n)| format!("{} {n}", c.words().1))
        .collect::<Vec<_>>()
        .join(" · ");
    (en, zh)
}

/// A packing claim's verdict in words.
pub fn verdict_words(verdict: Option<bool>) -> (&'static str, &'static str) {
    match verdict {
        Some(true) => ("packing error confirmed", "确认为打包差错"),
        Some(false) => ("the evidence contradicts the claim", "证据与买家说法不符"),
        None => ("", ""),
    }
}

/// The pack record for the screen.
pub fn pack_record_view(p: &PackRecord) -> PackRecordView {
    let g = |x: Option<f64>| x.map(grams).unwrap_or_default();
    PackRecordView {
        packer: p
            .packer_id
            .clone()
            .map(|s| plain(&s))
            .unwrap_or_default()
            .into(),
        picker: p
            .picker_id
            .clone()
            .map(|s| plain(&s))
            .unwrap_or_default()
            .into(),
        bench: p
            .station_id
            .clone()
            .map(|s| plain(&s))
            .unwrap_or_default()
            .into(),
        packed_at: p
            .packed_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
            .into(),
        units: format!("{} / {}", p.units_scanned, p.units_ordered).into(),
        measured: g(p.measured_g).into(),
        expected: g(p.expected_g).into(),
        weight_ok: p.weight_ok == Some(true),
        override_by: p
            .override_by
            .clone()
            .map(|s| plain(&s))
            .unwrap_or_default()
            .into(),
        labels: p.labels_printed as i32,
        clean: p.clean(),
    }
}

/// "Return TB…-R1 closed: 3 units, missing item — packing error confirmed", both languages.
pub fn closed_words(c: &ClosedReturn) -> (String, String) {
    let s = &c.summary;
    let (ren, rzh) = s.reason.words();
    let (ven, vzh) = verdict_words(s.confirmed);
    let tail = |v: &str, sep: &str| {
        if v.is_empty() {
            String::new()
        } else {
            format!("{sep}{v}")
        }
    };
    (
        format!(
            "Return {} closed: {} units, {ren}{}",
            plain(&s.return_id),
            s.units,
            tail(ven, " — ")
        ),
        format!(
            "退货 {} 已签收:{} 件,{rzh}{}",
            plain(&s.return_id),
            s.units,
            tail(vzh, "——")
        ),
    )
}

impl UiState {
    fn set_returns(&mut self, r: &ReturnsPanel) {
        self.returns_active = true;
        if let Some(c) = &r.last_closed {
            (self.return_closed_en, self.return_closed_zh) = closed_words(c);
        }
        let Some(o) = &r.open else { return };
        self.has_return = true;
        self.return_id = plain(&o.return_id);
        self.return_order = plain(&o.order_no);
        self.return_waybill = plain(&o.waybill_no);
        self.return_recipient = plain(&o.recipient);
        self.return_lines = o
            .lines
            .iter()
            .map(|l| {
                let (en, zh) = condition_words(&l.conditions);
                ReturnLineRow {
                    sku: plain(&l.sku).into(),
                    name: plain(&l.name).into(),
                    attributes: plain(&l.attributes).into(),
                    packed: l.packed as i32,
                    before: l.before as i32,
                    now: l.now as i32,
                    conditions_en: en.into(),
                    conditions_zh: zh.into(),
                }
            })
            .collect();
        self.return_foreign = o
            .foreign
            .iter()
            .map(|f| ForeignRow {
                code: plain(&f.code).into(),
                sku: f.sku.as_deref().map(plain).unwrap_or_default().into(),
                units: f.units as i32,
                condition_en: f.condition.words().0.into(),
                condition_zh: f.condition.words().1.into(),
            })
            .collect();
        self.return_units = o.units as i32;
        self.return_units_packed = o.units_packed as i32;
        self.return_units_returned = o.units_returned as i32;
        self.return_reason = o.reason.map_or(BuyerReason::None, buyer_reason);
        if let Some((unit, c)) = &o.last_unit {
            self.return_last_unit = plain(unit);
            self.return_last_condition = unit_condition(*c);
        }
        self.return_weighed = o.weighed_g.map(grams).unwrap_or_default();
        self.return_verdict = match o.verdict {
            Some(true) => ReturnVerdict::Confirmed,
            Some(false) => ReturnVerdict::Contradicted,
            None => ReturnVerdict::None,
        };
        self.pack_record = pack_record_view(&o.pack);
    }
}

/// "40 g under" / "不足 40 g".
pub fn diff_words(check: &WeightCheck) -> (String, String) {
    let d = weight::round2(check.measured_g - check.expected_g);
    let g = weight::fmt_g(d.abs());
    if d > 0.0 {
        (format!("{g} g over"), format!("超重 {g} g"))
    } else if d < 0.0 {
        (format!("{g} g under"), format!("不足 {g} g"))
    } else {
        ("on the expected weight".into(), "与预期重量相同".into())
    }
}

/// The engine's hint in both languages: its own English text, and the same terms in Chinese.
pub fn hint_words(hint: Option<&Hint>) -> (String, String) {
    let Some(h) = hint else {
        return (String::new(), String::new());
    };
    let zh_terms = |terms: &[weight::HintTerm]| -> String {
        terms
            .iter()
            .map(|t| {
                format!(
                    "{} {} × {}",
                    if t.units < 0 { "缺" } else { "多" },
                    t.units.abs(),
                    t.sku
                )
            })
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let zh = if h.explained {
        let mut s = format!(
            "≈ {}({} g)",
            zh_terms(&h.terms),
            weight::fmt_g(h.terms.iter().map(|t| t.weight_g).sum::<f64>().abs())
        );
        for alt in &h.alternatives {
            s.push_str(&format!(" 或 {}", zh_terms(alt)));
        }
        s
    } else {
        format!(
            "没有任何缺件或多件的组合能解释{} {} g",
            if h.diff_g > 0.0 {
                "超出的"
            } else {
                "不足的"
            },
            weight::fmt_g(h.diff_g.abs())
        )
    };
    (plain(&h.text), zh)
}

/// The buyer's reason as the screen's buttons know it.
pub fn buyer_reason(r: ReturnReason) -> BuyerReason {
    match r {
        ReturnReason::Size => BuyerReason::Size,
        ReturnReason::Quality => BuyerReason::Quality,
        ReturnReason::NotAsDescribed => BuyerReason::NotAsDescribed,
        ReturnReason::WrongItemSent => BuyerReason::WrongItemSent,
        ReturnReason::MissingItem => BuyerReason::MissingItem,
        ReturnReason::ChangedMind => BuyerReason::ChangedMind,
        ReturnReason::DamagedInTransit => BuyerReason::DamagedInTransit,
        ReturnReason::Other => BuyerReason::Other,
    }
}

/// A returned unit's condition as the screen's buttons know it.
pub fn unit_condition(c: Condition) -> UnitCondition {
    match c {
        Condition::Ok => UnitCondition::Ok,
        Condition::Damaged => UnitCondition::Damaged,
        Condition::Used => UnitCondition::Used,
        Condition::WrongVariant => UnitCondition::WrongVariant,
    }
}

fn device_kind(name: &str) -> DeviceKind {
    match ev::DeviceKind::parse(name) {
        Some(ev::DeviceKind::Scanner) => DeviceKind::Scanner,
        Some(ev::DeviceKind::Scale) => DeviceKind::Scale,
        Some(ev::DeviceKind::Printer) => DeviceKind::Printer,
        None => DeviceKind::Other,
    }
}

/// A device's state on screen and how much it wants attention; `None`: no report yet.
fn device_status(d: Option<&DeviceState>) -> (DeviceStatus, Severity) {
    let Some(d) = d else {
        return (DeviceStatus::Unreported, Severity::Warning);
    };
    match ev::DeviceStatus::parse(&d.state) {
        Some(ev::DeviceStatus::Connected) => (DeviceStatus::Connected, Severity::Ok),
        Some(ev::DeviceStatus::Simulated) => (DeviceStatus::Simulated, Severity::Ok),
        Some(ev::DeviceStatus::Disconnected) => (DeviceStatus::Disconnected, Severity::Error),
        Some(ev::DeviceStatus::Error) => (DeviceStatus::Error, Severity::Error),
        // A state this build does not know (a newer bench's log): shown as logged.
        None => (DeviceStatus::Other, Severity::Error),
    }
}

/// Scanner, scale and printer always, in that order, then any other device reported.
pub fn device_rows(devices: &BTreeMap<String, DeviceState>) -> Vec<DeviceRow> {
    let row = |name: &str, d: Option<&DeviceState>| {
        let (state, level) = device_status(d);
        DeviceRow {
            kind: device_kind(name),
            name: name.into(),
            state,
            state_name: d.map_or("unknown", |d| d.state.as_str()).into(),
            detail: d.map(|d| plain(&d.detail)).unwrap_or_default().into(),
            level,
        }
    };
    let mut rows: Vec<DeviceRow> = ev::DeviceKind::ALL
        .iter()
        .map(|k| row(k.as_str(), devices.get(k.as_str())))
        .collect();
    for (name, d) in devices {
        if ev::DeviceKind::parse(name).is_none() {
            rows.push(row(name, Some(d)));
        }
    }
    rows
}

/// Gauge positions (0..1) for a reading against `expected ± tolerance`: the band sits in the
/// middle third of the track.
pub fn gauge(reading: Option<f64>, expected: f64, tolerance: f64) -> (f32, f32, f32) {
    let half = (tolerance * 3.0).max(30.0);
    let min = expected - half;
    let pos = |g: f64| ((g - min) / (2.0 * half)).clamp(0.0, 1.0) as f32;
    (
        reading.map(pos).unwrap_or(0.0),
        pos(expected - tolerance),
        pos(expected + tolerance),
    )
}

impl UiState {
    pub fn from_view(v: &StationView) -> UiState {
        let (step, remaining) = step_of(&v.step);
        let mut s = UiState {
            station_id: plain(&v.station_id),
            step,
            remaining,
            packer_id: v.packer_id.clone().unwrap_or_default(),
            packer_name: plain(v.packer_name.as_deref().unwrap_or_default()),
            last_packed: v.last_packed.clone().unwrap_or_default(),
            queued_labels: v.queued_labels as i32,
            label_preview: v.label_preview.clone().unwrap_or_default(),
            label_print: v.label_print.clone(),
            scale_has: v.scale_g.is_some(),
            scale_stable: v.scale_stable,
            scale_text: v.scale_g.map(grams).unwrap_or_else(|| "—".into()),
            scale_zone: ScaleZone::None,
            devices: device_rows(&v.devices),
            ..Default::default()
        };
        if let Some(o) = &v.order {
            s.has_order = true;
            s.order_no = plain(&o.order_no);
            s.waybill = plain(&o.waybill_no);
            s.carrier = plain(&o.carrier);
            s.recipient = plain(&o.recipient);
            s.country = plain(&o.country);
            s.buyer_note = plain(&o.buyer_note);
            s.picker = o.picker_id.clone().unwrap_or_default();
            s.packaging = o.packaging.clone().unwrap_or_default();
            s.units_scanned = o.units_scanned as i32;
            s.units_ordered = o.units_ordered as i32;
            s.lines = o
                .lines
                .iter()
                .map(|l| LineRow {
                    sku: plain(&l.sku).into(),
                    name: plain(&l.name).into(),
                    attributes: plain(&l.attributes).into(),
                    qty: l.qty as i32,
                    scanned: l.scanned as i32,
                    gift: l.gift,
                    done: l.done,
                })
                .collect();
            s.expected_text = grams(o.expected_g);
            s.tolerance_text = format!("± {}", grams(o.tolerance_g));
            s.band_text = format!(
                "{} – {}",
                weight::fmt_g(o.expected_g - o.tolerance_g),
                grams(o.expected_g + o.tolerance_g)
            );
            let (value, low, high) = gauge(v.scale_g, o.expected_g, o.tolerance_g);
            (s.gauge_value, s.gauge_low, s.gauge_high) = (value, low, high);
            // The colour of the live number only; the engine's check is what counts.
            s.scale_zone = match v.scale_g {
                Some(g) if weight::within(g, o.expected_g, o.tolerance_g) => ScaleZone::Inside,
                Some(g) if g < o.expected_g => ScaleZone::Below,
                Some(_) => ScaleZone::Above,
                None => ScaleZone::None,
            };
        }
        if let Some(c) = &v.last_check {
            s.check_has = true;
            s.check_ok = c.ok;
            s.check_measured = grams(c.measured_g);
            s.check_expected = grams(c.expected_g);
            s.check_tolerance = grams(c.tolerance_g);
            (s.check_diff_en, s.check_diff_zh) = diff_words(c);
            (s.check_hint_en, s.check_hint_zh) = hint_words(c.hint.as_ref());
        }
        if let Some(a) = &v.alert {
            let (en, zh) = reason_words(a.reason);
            s.alert_shown = true;
            s.alert_reason = a.reason.as_str().to_string();
            s.alert_en = en.into();
            s.alert_zh = zh.into();
            s.alert_detail = plain(&a.detail);
            s.alert_code = plain(&a.code);
        }
        if let Some(a) = &v.auth {
            s.auth_who = format!("{} {}", plain(&a.employee_id), plain(&a.name));
            let (en, zh) = match a.purpose {
                AuthPurpose::SignIn => ("sign in", "签到"),
                AuthPurpose::Approval => ("approve this parcel", "审批此包裹"),
                AuthPurpose::SupervisorView => ("supervisor view", "主管视图"),
            };
            (s.auth_purpose_en, s.auth_purpose_zh) = (en.into(), zh.into());
            if let Some(n) = a.remaining {
                s.pin_message_en = format!("Wrong PIN: {n} tries left");
                s.pin_message_zh = format!("PIN 错误:还可尝试 {n} 次");
            }
        }
        if let Some(r) = &v.returns {
            s.set_returns(r);
        }
        if let Some(d) = &v.dispatch {
            s.dispatch_active = true;
            s.dispatch_carrier = plain(d.carrier.as_deref().unwrap_or_default());
            s.dispatch_batch = d.batch_id.clone();
            s.dispatch_count = d.count as i32;
        }
        s
    }

    /// Sets the globals. Models are replaced only when their rows changed, so a stream of
    /// scale readings does not rebuild the order lines 20 times a second.
    pub fn apply(&self, api: &Api, previous: Option<&UiState>) {
        let str_ = |s: &str| SharedString::from(s);
        api.set_station_id(str_(&self.station_id));
        api.set_step(self.step);
        api.set_remaining(self.remaining);
        api.set_packer_id(str_(&self.packer_id));
        api.set_packer_name(str_(&self.packer_name));
        api.set_last_packed(str_(&self.last_packed));
        api.set_queued_labels(self.queued_labels);
        api.set_label_preview(str_(&self.label_preview));
        if previous.map(|p| &p.label_print) != Some(&self.label_print) {
            api.set_label_image(
                self.label_print
                    .as_ref()
                    .map_or_else(slint::Image::default, label_image),
            );
        }
        api.set_has_order(self.has_order);
        api.set_order_no(str_(&self.order_no));
        api.set_waybill(str_(&self.waybill));
        api.set_carrier(str_(&self.carrier));
        api.set_recipient(str_(&self.recipient));
        api.set_country(str_(&self.country));
        api.set_buyer_note(str_(&self.buyer_note));
        api.set_picker(str_(&self.picker));
        api.set_packaging(str_(&self.packaging));
        api.set_units_scanned(self.units_scanned);
        api.set_units_ordered(self.units_ordered);
        if previous.map(|p| &p.lines) != Some(&self.lines) {
            api.set_lines(model(self.lines.clone()));
        }
        api.set_scale_has(self.scale_has);
        api.set_scale_stable(self.scale_stable);
        api.set_scale_text(str_(&self.scale_text));
        api.set_expected_text(str_(&self.expected_text));
        api.set_tolerance_text(str_(&self.tolerance_text));
        api.set_band_text(str_(&self.band_text));
        api.set_scale_zone(self.scale_zone);
        api.set_gauge_value(self.gauge_value);
        api.set_gauge_low(self.gauge_low);
        api.set_gauge_high(self.gauge_high);
        api.set_check_has(self.check_has);
        api.set_check_ok(self.check_ok);
        api.set_check_measured(str_(&self.check_measured));
        api.set_check_expected(str_(&self.check_expected));
        api.set_check_tolerance(str_(&self.check_tolerance));
        api.set_check_diff_en(str_(&self.check_diff_en));
        api.set_check_diff_zh(str_(&self.check_diff_zh));
        api.set_auth_who(str_(&self.auth_who));
        api.set_auth_purpose_en(str_(&self.auth_purpose_en));
        api.set_auth_purpose_zh(str_(&self.auth_purpose_zh));
        api.set_pin_message_en(str_(&self.pin_message_en));
        api.set_pin_message_zh(str_(&self.pin_message_zh));
        api.set_check_hint_en(str_(&self.check_hint_en));
        api.set_check_hint_zh(str_(&self.check_hint_zh));
        api.set_alert_shown(self.alert_shown);
        api.set_alert_reason(str_(&self.alert_reason));
        api.set_alert_en(str_(&self.alert_en));
        api.set_alert_zh(str_(&self.alert_zh));
        api.set_alert_detail(str_(&self.alert_detail));
        api.set_alert_code(str_(&self.alert_code));
        if previous.map(|p| &p.devices) != Some(&self.devices) {
            api.set_devices(model(self.devices.clone()));
        }
        api.set_dispatch_active(self.dispatch_active);
        api.set_dispatch_carrier(str_(&self.dispatch_carrier));
        api.set_dispatch_batch(str_(&self.dispatch_batch));
        api.set_dispatch_count(self.dispatch_count);
        api.set_returns_active(self.returns_active);
        api.set_has_return(self.has_return);
        api.set_return_id(str_(&self.return_id));
        api.set_return_order(str_(&self.return_order));
        api.set_return_waybill(str_(&self.return_waybill));
        api.set_return_recipient(str_(&self.return_recipient));
        if previous.map(|p| &p.return_lines) != Some(&self.return_lines) {
            api.set_return_lines(model(self.return_lines.clone()));
        }
        if previous.map(|p| &p.return_foreign) != Some(&self.return_foreign) {
            api.set_return_foreign(model(self.return_foreign.clone()));
        }
        api.set_return_units(self.return_units);
        api.set_return_units_packed(self.return_units_packed);
        api.set_return_units_returned(self.return_units_returned);
        api.set_return_reason(self.return_reason);
        api.set_return_last_unit(str_(&self.return_last_unit));
        api.set_return_last_condition(self.return_last_condition);
        api.set_return_weighed(str_(&self.return_weighed));
        api.set_return_verdict(self.return_verdict);
        api.set_pack_record(self.pack_record.clone());
        api.set_return_closed_en(str_(&self.return_closed_en));
        api.set_return_closed_zh(str_(&self.return_closed_zh));
    }
}

/// The label as the printer prints it, as a Slint image (an empty image if the bundled font
/// could not be read, which the log then says).
pub fn label_image(label: &LabelPrint) -> slint::Image {
    match crate::station::label::printed(&label.bytes, label.paper) {
        Ok(r) => {
            let mut buf = SharedPixelBuffer::<Rgb8Pixel>::new(r.width as u32, r.height as u32);
            for (px, &g) in buf.make_mut_slice().iter_mut().zip(&r.pixels) {
                *px = Rgb8Pixel { r: g, g, b: g };
            }
            slint::Image::from_rgb8(buf)
        }
        Err(e) => {
            tracing::error!("label preview not drawn: {e}");
            slint::Image::default()
        }
    }
}

pub fn model<T: Clone + 'static>(rows: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(rows))
}

/// The demo's scanner panel for the open order: each line's unit barcode (and case code),
/// then a wrong item, an unknown code and a misread EAN to try the alerts.
pub fn sim_items(
    v: &StationView,
    catalog: &BTreeMap<String, Vec<(String, u32)>>,
) -> Vec<CodeButton> {
    let mut out = Vec::new();
    // The open order's SKUs, or (returns check-in) those of the open return's order.
    let returned = v
        .returns
        .as_ref()
        .and_then(|r| r.open.as_ref())
        .map(|r| r.lines.iter().map(|l| l.sku.as_str()));
    let in_order: Vec<&str> = match returned {
        Some(skus) => skus.collect(),
        None => v
            .order
            .iter()
            .flat_map(|o| o.lines.iter().map(|l| l.sku.as_str()))
            .collect(),
    };
    for sku in &in_order {
        for (code, units) in catalog.get(*sku).into_iter().flatten() {
            let label = if *units > 1 {
                format!("{sku} ×{units}")
            } else {
                sku.to_string()
            };
            out.push(CodeButton {
                label: label.into(),
                code: code.into(),
            });
        }
    }
    if let Some((sku, codes)) = catalog
        .iter()
        .find(|(sku, _)| !in_order.contains(&sku.as_str()))
    {
        if let Some((code, _)) = codes.first() {
            out.push(CodeButton {
                label: format!("not in order: {sku}").into(),
                code: code.into(),
            });
        }
    }
    out.push(CodeButton {
        label: "unknown code".into(),
        code: "6901234567892".into(),
    });
    out.push(CodeButton {
        label: "misread EAN".into(),
        code: "6975432100138".into(),
    });
    out.push(CodeButton {
        label: "PKG-BAG-M 18 g".into(),
        code: "PKG-BAG-M".into(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::weight::HintTerm;
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
                    },
                    LinePanel {
                        sku: "SOCK-BLK".into(),
                        name: "Socks".into(),
                        attributes: String::new(),
                        qty: 2,
                        scanned: 0,
                        gift: true,
                        done: false,
                    },
                ],
                units_scanned: 1,
                units_ordered: 3,
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
        assert_eq!(s.alert_en, "Wrong item: not in this order");
        assert_eq!(s.alert_zh, "错货:此商品不在本订单中");
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
        assert_eq!(s.check_diff_en, "40 g under");
        assert_eq!(s.check_diff_zh, "不足 40 g");
        assert_eq!(s.check_hint_en, "≈ 1 × SOCK-BLK missing, 40 g");
        assert_eq!(s.check_hint_zh, "≈ 缺 1 × SOCK-BLK(40 g)");
        let (_, zh) = hint_words(Some(&Hint {
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
                state: "error".into(),
                detail: "paper out".into(),
            },
        );
        v.devices.insert(
            "scanner2".into(),
            DeviceState {
                state: "connected".into(),
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
    fn a_device_state_this_build_does_not_know_is_shown_as_logged() {
        let mut v = view();
        v.devices.insert(
            "central".into(),
            DeviceState {
                state: "warming".into(),
                detail: String::new(),
            },
        );
        let rows = UiState::from_view(&v).devices;
        let c = &rows[3];
        assert_eq!((c.kind, c.name.as_str()), (DeviceKind::Other, "central"));
        assert_eq!(
            (c.state, c.state_name.as_str()),
            (DeviceStatus::Other, "warming")
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
        assert_eq!(s.return_lines[0].conditions_en, "1 OK · 1 damaged");
        assert_eq!(s.return_lines[0].conditions_zh, "完好 1 · 损坏 1");
        assert_eq!((s.return_lines[0].now, s.return_lines[0].packed), (2, 2));
        assert_eq!(s.return_foreign[0].code, "=SUM(A1)");
        assert_eq!(s.return_foreign[0].condition_zh, "规格不符");
        assert_eq!(s.return_reason, BuyerReason::MissingItem);
        assert_eq!(s.return_last_condition, UnitCondition::WrongVariant);
        assert_eq!(s.return_weighed, "205.5 g");
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
            s.return_closed_en,
            "Return TB20261122001-R1 closed: 3 units, missing item — the evidence contradicts the claim"
        );
        assert_eq!(
            s.return_closed_zh,
            "退货 TB20261122001-R1 已签收:3 件,少发漏发——证据与买家说法不符"
        );
        r.last_closed = Some(closed(ReturnReason::Size, None));
        v.returns = Some(r);
        assert_eq!(
            UiState::from_view(&v).return_closed_en,
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
        let items = sim_items(&view(), &cat);
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
}
