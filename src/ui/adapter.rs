//! StationView → what the screen shows. Pure functions: no window, no clock, no store, so
//! every mapping is tested with plain `#[test]`s. `UiState::apply` is the only glue that
//! touches the Slint globals, and it decides nothing.

mod lines;
mod returns;
#[cfg(test)]
mod tests;
mod words;

use std::collections::BTreeMap;

use slint::{ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel};

use crate::domain::event as ev;
use crate::domain::session::NextStep;
use crate::domain::weight;
use crate::station::view::{DeviceState, LabelPrint, StationView};
use crate::text::{Lang, Words};

use super::{
    Api, Bilingual, BuyerReason, CodeButton, DeviceKind, DeviceRow, DeviceStatus, ForeignRow,
    LineRow, PackRecordView, ReturnLineRow, ReturnVerdict, ScaleZone, Severity, Step,
    UnitCondition,
};
pub use lines::LineModel;
pub use returns::{buyer_reason, pack_record_view, unit_condition};
pub use words::{
    closed_words, condition_text, condition_words, diff_words, event_fields, hint_words,
    purpose_words, reason_words, return_reason_text, said, verdict_words,
};

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
    /// The line just scanned (-1: none).
    pub current_line: i32,
    pub lines_done: i32,
    pub skus_done: i32,
    pub skus_total: i32,

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
    pub check_diff: Words,
    pub auth_who: String,
    pub auth_purpose: Words,
    pub pin_message: Words,
    pub check_hint: Words,

    pub alert_shown: bool,
    pub alert_reason: String,
    pub alert: Words,
    pub alert_detail: Words,
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
    pub return_closed: Words,
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

/// Grams as a packer reads them: whole, rounded half up like the tolerance.
pub fn grams(g: f64) -> String {
    format!("{} g", weight::round_whole(g))
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
    match d.state {
        ev::DeviceStatus::Connected => (DeviceStatus::Connected, Severity::Ok),
        ev::DeviceStatus::Simulated => (DeviceStatus::Simulated, Severity::Ok),
        ev::DeviceStatus::Disconnected => (DeviceStatus::Disconnected, Severity::Error),
        ev::DeviceStatus::Error => (DeviceStatus::Error, Severity::Error),
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
            s.current_line = o.last_line.map_or(-1, |i| i as i32);
            s.lines = o
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| LineRow {
                    sku: plain(&l.sku).into(),
                    name: plain(&l.name).into(),
                    attributes: plain(&l.attributes).into(),
                    qty: l.qty as i32,
                    scanned: l.scanned as i32,
                    gift: l.gift,
                    done: l.done,
                    codes: plain(&l.barcodes.join(" ")).into(),
                    current: s.current_line == i as i32,
                })
                .collect();
            s.lines_done = o.lines.iter().filter(|l| l.done).count() as i32;
            // By SKU: a SKU on two lines (bought and given) is done when both are.
            let mut skus: BTreeMap<&str, bool> = BTreeMap::new();
            for l in &o.lines {
                *skus.entry(&l.sku).or_insert(true) &= l.done;
            }
            s.skus_total = skus.len() as i32;
            s.skus_done = skus.values().filter(|d| **d).count() as i32;
            s.expected_text = grams(o.expected_g);
            s.tolerance_text = format!("± {}", grams(o.tolerance_g));
            s.band_text = format!(
                "{} – {}",
                weight::round_whole(o.expected_g - o.tolerance_g),
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
            s.check_diff = diff_words(c);
            s.check_hint = hint_words(c.hint.as_ref());
        }
        if let Some(a) = &v.alert {
            s.alert_shown = true;
            s.alert_reason = a.reason.as_str().to_string();
            s.alert = reason_words(a.reason).words();
            s.alert_detail = said(&a.detail);
            s.alert_code = plain(&a.code);
        }
        if let Some(a) = &v.auth {
            s.auth_who = format!("{} {}", plain(&a.employee_id), plain(&a.name));
            s.auth_purpose = purpose_words(a.purpose).words();
            if let Some(n) = a.remaining {
                s.pin_message = crate::text!("station.wrong_pin", n = n);
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
    /// scale readings does not rebuild the order lines 20 times a second; the order's lines
    /// live in `lines`, where a scan changes only the rows it touched.
    pub fn apply(&self, api: &Api, previous: Option<&UiState>, lines: &LineModel) {
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
            lines.update(&self.lines);
        }
        api.set_current_row(lines.shown_index(self.current_line));
        api.set_lines_done(self.lines_done);
        api.set_lines_total(self.lines.len() as i32);
        api.set_skus_done(self.skus_done);
        api.set_skus_total(self.skus_total);
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
        api.set_check_diff(bilingual(&self.check_diff));
        api.set_auth_who(str_(&self.auth_who));
        api.set_auth_purpose(bilingual(&self.auth_purpose));
        api.set_pin_message(bilingual(&self.pin_message));
        api.set_check_hint(bilingual(&self.check_hint));
        api.set_alert_shown(self.alert_shown);
        api.set_alert_reason(str_(&self.alert_reason));
        api.set_alert(bilingual(&self.alert));
        api.set_alert_detail(bilingual(&self.alert_detail));
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
        api.set_return_closed(bilingual(&self.return_closed));
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

/// Rust's text in both languages for the window, which shows the one of its language.
pub fn bilingual(w: &Words) -> Bilingual {
    Bilingual {
        en: w.en.as_str().into(),
        zh: w.zh.as_str().into(),
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
    lang: Lang,
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
                label: crate::text!("station.sim_not_in_order", sku = sku.as_str())
                    .pick(lang)
                    .into(),
                code: code.into(),
            });
        }
    }
    out.push(CodeButton {
        label: crate::text!("station.sim_unknown_code").pick(lang).into(),
        code: "6901234567892".into(),
    });
    out.push(CodeButton {
        label: crate::text!("station.sim_misread_ean").pick(lang).into(),
        code: "6975432100138".into(),
    });
    out.push(CodeButton {
        label: "PKG-BAG-M 18 g".into(),
        code: "PKG-BAG-M".into(),
    });
    out
}
