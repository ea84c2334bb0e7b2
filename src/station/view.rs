//! What a screen shows, derived from the bench's state and the events it has seen. The
//! touchscreen renders this and decides nothing; the headless station can print it too.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::catalog::Catalog;
use crate::domain::event::{
    ApprovalLapsed, AuthPurpose, Device, DeviceStatus, EventType, LapseCause, LogAlarm, PinFailed,
    RejectReason, ScanRejected, StoredEvent, SupervisorViewOpened,
};
use crate::domain::returns::{Condition, PackRecord, ReturnClosed, ReturnReason};
use crate::domain::session::{NextStep, OpenReturn, State, WeightCheck};
use crate::domain::weight;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinePanel {
    pub sku: String,
    pub name: String,
    /// "colour=蓝 size=L"
    pub attributes: String,
    pub qty: u32,
    pub scanned: u32,
    pub gift: bool,
    pub done: bool,
    /// The SKU's barcodes from the catalog, so the screen's search finds a line by one.
    pub barcodes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderPanel {
    pub order_no: String,
    pub waybill_no: String,
    pub carrier: String,
    pub recipient: String,
    pub country: String,
    pub buyer_note: String,
    pub picker_id: Option<String>,
    pub packaging: Option<String>,
    pub expected_g: f64,
    pub tolerance_g: f64,
    pub lines: Vec<LinePanel>,
    pub units_scanned: u32,
    pub units_ordered: u32,
    /// The line the last unit still counted went to (the one just scanned).
    pub last_line: Option<usize>,
}

/// The red banner: the last refusal, until the next good scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub reason: RejectReason,
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceState {
    pub state: DeviceStatus,
    pub detail: String,
}

/// The station's answer to the last code offered at the supervisor view. `number` counts
/// the answers, so a screen can tell a new one from one it has acted on already.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupervisorAnswer {
    pub number: u64,
    pub outcome: SupervisorOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SupervisorOutcome {
    Opened {
        supervisor_id: String,
        name: String,
    },
    Refused {
        code: String,
        reason: RejectReason,
        /// Whose badge it was, when it was one.
        employee_id: Option<String>,
        name: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DispatchPanel {
    pub batch_id: String,
    pub carrier: Option<String>,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StationView {
    pub station_id: String,
    pub step: NextStep,
    pub packer_id: Option<String>,
    pub packer_name: Option<String>,
    pub order: Option<OrderPanel>,
    pub scale_g: Option<f64>,
    pub scale_stable: bool,
    pub last_check: Option<WeightCheck>,
    pub alert: Option<Alert>,
    pub devices: BTreeMap<String, DeviceState>,
    pub dispatch: Option<DispatchPanel>,
    pub last_packed: Option<String>,
    pub queued_labels: usize,
    /// Text preview of the last label sent to the printer.
    pub label_preview: Option<String>,
    /// The last label's bytes as the printer got them, for the printed-image preview.
    #[serde(skip)]
    pub label_print: Option<LabelPrint>,
    pub supervisor: Option<SupervisorAnswer>,
    /// The badge waiting for its PIN or reason: who, and how many tries are left after a
    /// wrong PIN (never the PIN or its length).
    pub auth: Option<AuthPanel>,
    /// Returns check-in, when it is on.
    pub returns: Option<ReturnsPanel>,
}

/// Returns check-in: the open return beside its pack record, and the last one closed here.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnsPanel {
    pub open: Option<ReturnPanel>,
    pub last_closed: Option<ClosedReturn>,
}

/// One SKU of the order: packed, back by earlier returns, back in this one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnLinePanel {
    pub sku: String,
    pub name: String,
    pub attributes: String,
    pub packed: u32,
    pub before: u32,
    pub now: u32,
    /// This return's units of the SKU by condition.
    pub conditions: Vec<(Condition, u32)>,
}

/// A unit that was never in the order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForeignPanel {
    pub code: String,
    pub sku: Option<String>,
    pub units: u32,
    pub condition: Condition,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnPanel {
    pub return_id: String,
    pub order_no: String,
    pub waybill_no: String,
    pub carrier: String,
    pub recipient: String,
    pub lines: Vec<ReturnLinePanel>,
    pub foreign: Vec<ForeignPanel>,
    /// The unit scanned last (its SKU, or its code when it has none) and its condition.
    pub last_unit: Option<(String, Condition)>,
    /// Units in this return, foreign ones included.
    pub units: u32,
    pub units_packed: u32,
    /// Units of the order back over all its returns, this one included.
    pub units_returned: u32,
    pub reason: Option<ReturnReason>,
    pub weighed_g: Option<f64>,
    /// What closing now would record of a packing claim (`None`: no claim, or no reason yet).
    pub verdict: Option<bool>,
    pub pack: PackRecord,
}

/// The last return closed at this bench, as its summary said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedReturn {
    pub order_no: String,
    pub summary: ReturnClosed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthPanel {
    pub employee_id: String,
    pub name: String,
    pub purpose: AuthPurpose,
    /// Tries left after the last wrong PIN, if one was wrong.
    pub remaining: Option<u32>,
}

/// A label job as sent: its ESC/POS bytes and the paper they were laid out for.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPrint {
    pub bytes: std::sync::Arc<[u8]>,
    pub paper: packbench_drivers::label::PaperWidth,
}

/// What the view remembers from events (the engine's state does not hold these).
#[derive(Debug, Clone, Default)]
pub struct ViewMemory {
    pub alert: Option<Alert>,
    pub devices: BTreeMap<String, DeviceState>,
    pub label_preview: Option<String>,
    pub label_print: Option<LabelPrint>,
    pub supervisor: Option<SupervisorAnswer>,
    /// Tries left after the last wrong PIN of the badge now asked for.
    pub pin_remaining: Option<u32>,
    /// The last return closed at this bench.
    pub last_return: Option<ClosedReturn>,
}

impl ViewMemory {
    /// Answers the supervisor view's last request.
    pub fn answer_supervisor(&mut self, outcome: SupervisorOutcome) {
        let number = self.supervisor.as_ref().map_or(1, |a| a.number + 1);
        self.supervisor = Some(SupervisorAnswer { number, outcome });
    }

    /// Follows the events of one input: a refusal raises the alert, a good scan clears it.
    /// A code refused at the supervisor view is answered there, not on the bench's banner.
    pub fn observe(&mut self, events: &[StoredEvent]) {
        for e in events {
            match e.kind {
                EventType::PinFailed => {
                    self.pin_remaining = e.payload_as::<PinFailed>().map(|f| f.remaining);
                }
                EventType::PinRequired => self.pin_remaining = None,
                // Stays up until the station restarts with a sound log.
                EventType::LogAlarm => {
                    if let Some(a) = e.payload_as::<LogAlarm>() {
                        self.alert = Some(Alert {
                            reason: RejectReason::LogAlarm,
                            code: String::new(),
                            detail: a.detail,
                        });
                    }
                }
                // The PIN pad or reason choice closes on a lapse: the banner says why (what
                // the input that caused it did, if anything, comes after and wins).
                EventType::ApprovalLapsed => {
                    let Some(l) = e.payload_as::<ApprovalLapsed>() else {
                        continue;
                    };
                    if self.alert.as_ref().map(|a| a.reason) == Some(RejectReason::LogAlarm) {
                        continue;
                    }
                    let who = &l.supervisor_id;
                    let detail = match l.cause {
                        LapseCause::Timeout => crate::text!("refuse.lapsed_timeout", who = who),
                        LapseCause::OtherInput => {
                            crate::text!("refuse.lapsed_other_input", who = who)
                        }
                        LapseCause::MeasurementChanged => {
                            crate::text!("refuse.lapsed_reweighed", who = who)
                        }
                    };
                    self.alert = Some(Alert {
                        reason: RejectReason::NotAllowed,
                        code: String::new(),
                        detail: detail.en,
                    });
                }
                // The pad closes on a lock: the banner says why.
                EventType::BadgeLocked => {
                    if let Some(l) = e.payload_as::<crate::domain::event::BadgeLocked>() {
                        self.alert = Some(Alert {
                            reason: RejectReason::BadgeLocked,
                            code: String::new(),
                            detail: crate::text!(
                                "refuse.locked_until",
                                who = l.employee_id,
                                until = l.until
                            )
                            .en,
                        });
                    }
                }
                EventType::ScanRejected => {
                    let Some(r) = e.payload_as::<ScanRejected>() else {
                        continue;
                    };
                    if r.supervisor_view {
                        self.answer_supervisor(SupervisorOutcome::Refused {
                            code: r.code,
                            reason: r.reason,
                            employee_id: r.employee_id,
                            name: r.name,
                        });
                    } else {
                        if self.alert.as_ref().map(|a| a.reason) == Some(RejectReason::LogAlarm) {
                            continue;
                        }
                        self.alert = Some(Alert {
                            reason: r.reason,
                            code: r.code,
                            detail: r.detail,
                        });
                    }
                }
                EventType::SupervisorViewOpened => {
                    if let Some(o) = e.payload_as::<SupervisorViewOpened>() {
                        self.answer_supervisor(SupervisorOutcome::Opened {
                            supervisor_id: o.supervisor_id,
                            name: o.name,
                        });
                    }
                }
                EventType::ReturnClosed => {
                    if let Some(c) = e.payload_as::<ReturnClosed>() {
                        self.last_return = Some(ClosedReturn {
                            order_no: e.order_no.clone().unwrap_or_default(),
                            summary: c,
                        });
                    }
                    if self.alert.as_ref().map(|a| a.reason) != Some(RejectReason::LogAlarm) {
                        self.alert = None;
                    }
                }
                EventType::Device => {
                    if let Some(d) = e.payload_as::<Device>() {
                        self.devices.insert(
                            d.device,
                            DeviceState {
                                state: d.state,
                                detail: d.detail,
                            },
                        );
                    }
                }
                EventType::ItemAccepted
                | EventType::OrderLoaded
                | EventType::PackerSignedIn
                | EventType::PickerSet
                | EventType::PackagingSet
                | EventType::ScanUndone
                | EventType::OrderPacked
                | EventType::OrderHeld
                | EventType::OrderDispatched
                | EventType::DispatchStarted
                | EventType::DispatchClosed
                | EventType::PackerSignedOut
                | EventType::ReturnsStarted
                | EventType::ReturnsEnded
                | EventType::ReturnOpened
                | EventType::ReturnItem
                | EventType::ForeignItem
                | EventType::ReturnCondition
                | EventType::ReturnReasonGiven
                | EventType::ReturnUndone
                    if self.alert.as_ref().map(|a| a.reason) != Some(RejectReason::LogAlarm) =>
                {
                    self.alert = None;
                }
                _ => {}
            }
        }
    }
}

pub fn build(
    station_id: &str,
    state: &State,
    memory: &ViewMemory,
    rule: weight::ToleranceRule,
    queued_labels: usize,
    catalog: &Catalog,
) -> StationView {
    let order = state.open.as_ref().map(|o| {
        let expected = o.expected_g();
        let lw: Vec<weight::LineWeight> = o
            .lines
            .iter()
            .map(|l| weight::LineWeight {
                sku: l.sku.clone(),
                qty: l.qty,
                unit_weight_g: l.unit_weight_g,
                unit_tolerance_g: l.unit_tolerance_g,
            })
            .collect();
        OrderPanel {
            order_no: o.order.order_no.clone(),
            waybill_no: o.order.waybill_no.clone(),
            carrier: o.order.carrier.clone(),
            recipient: o.order.recipient.clone(),
            country: o.order.country.clone(),
            buyer_note: o.order.buyer_note.clone(),
            picker_id: o.picker_id.clone(),
            packaging: o.packaging.as_ref().map(|p| p.code.clone()),
            expected_g: expected,
            tolerance_g: weight::tolerance_g(rule, expected, &lw),
            lines: o
                .lines
                .iter()
                .zip(&o.scanned)
                .map(|(l, s)| LinePanel {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    attributes: attributes_text(&l.attributes),
                    qty: l.qty,
                    scanned: *s,
                    gift: l.gift,
                    done: *s >= l.qty,
                    barcodes: catalog
                        .get(&l.sku)
                        .map(|k| k.barcodes.iter().map(|b| b.code.clone()).collect())
                        .unwrap_or_default(),
                })
                .collect(),
            units_scanned: o.units_scanned(),
            units_ordered: o.units_ordered(),
            last_line: o
                .stack
                .last()
                .and_then(|a| a.alloc.last())
                .map(|&(line, _)| line),
        }
    });
    StationView {
        station_id: station_id.to_string(),
        step: state.next_step(),
        packer_id: state.packer.as_ref().map(|p| p.id.clone()),
        packer_name: state.packer.as_ref().map(|p| p.name.clone()),
        order,
        scale_g: state.scale.map(|s| s.0),
        scale_stable: state.scale.is_some_and(|s| s.1),
        last_check: state.open.as_ref().and_then(|o| o.last_check.clone()),
        alert: memory.alert.clone(),
        devices: memory.devices.clone(),
        dispatch: state.dispatch.as_ref().map(|d| DispatchPanel {
            batch_id: d.batch_id.clone(),
            carrier: d.carrier.clone(),
            count: d.count,
        }),
        last_packed: state.last_packed.clone(),
        queued_labels,
        label_preview: memory.label_preview.clone(),
        label_print: memory.label_print.clone(),
        supervisor: memory.supervisor.clone(),
        auth: state.auth.as_ref().map(|a| AuthPanel {
            employee_id: a.employee.id.clone(),
            name: a.employee.name.clone(),
            purpose: a.purpose,
            remaining: memory.pin_remaining.filter(|_| !a.pin_ok),
        }),
        returns: state.returns.as_ref().map(|r| ReturnsPanel {
            open: r.open.as_ref().map(return_panel),
            last_closed: memory.last_return.clone(),
        }),
    }
}

fn return_panel(o: &OpenReturn) -> ReturnPanel {
    let mut lines: Vec<ReturnLinePanel> = Vec::new();
    for (l, n) in o.lines.iter().zip(&o.packed) {
        // One row per SKU (a SKU bought and given as a gift is one product coming back).
        if let Some(x) = lines.iter_mut().find(|x| x.sku == l.sku) {
            x.packed += n;
            continue;
        }
        let mut conditions: Vec<(Condition, u32)> = Vec::new();
        for u in o
            .units
            .iter()
            .filter(|u| !u.foreign && u.sku.as_deref() == Some(&l.sku))
        {
            match conditions.iter_mut().find(|(c, _)| *c == u.condition) {
                Some((_, k)) => *k += u.units,
                None => conditions.push((u.condition, u.units)),
            }
        }
        conditions.sort();
        lines.push(ReturnLinePanel {
            sku: l.sku.clone(),
            name: l.name.clone(),
            attributes: attributes_text(&l.attributes),
            packed: *n,
            before: o.before.get(&l.sku).copied().unwrap_or(0),
            now: o.now_of(&l.sku),
            conditions,
        });
    }
    ReturnPanel {
        return_id: o.return_id.clone(),
        order_no: o.order.order_no.clone(),
        waybill_no: o.order.waybill_no.clone(),
        carrier: o.order.carrier.clone(),
        recipient: o.order.recipient.clone(),
        lines,
        foreign: o
            .units
            .iter()
            .filter(|u| u.foreign)
            .map(|u| ForeignPanel {
                code: u.code.clone(),
                sku: u.sku.clone(),
                units: u.units,
                condition: u.condition,
            })
            .collect(),
        last_unit: o
            .units
            .last()
            .map(|u| (u.sku.clone().unwrap_or_else(|| u.code.clone()), u.condition)),
        units: o.units.iter().map(|u| u.units).sum(),
        units_packed: o.units_packed(),
        units_returned: o.units_returned(),
        reason: o.reason,
        weighed_g: o.weighed_g,
        verdict: o.verdict(),
        pack: o.pack.clone(),
    }
}

/// A line's attributes as the screen shows them: `colour=blue size=L`.
fn attributes_text(attributes: &[(String, String)]) -> String {
    attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
