//! Returns check-in in the engine: a returned parcel opened by its waybill or order number,
//! each unit counted against what was packed, conditions, the buyer's reason, the scale, and
//! the summary. Pure like the rest of the session: events out, next state back.

use crate::text;
use std::collections::BTreeMap;

use super::{Engine, OrderView, Out, Resolved, Scan, State, RECHECK_DELTA_G};
use crate::domain::catalog::ItemMatch;
use crate::domain::commands::Command;
use crate::domain::event::{Gs1Fields, OrderReleased, RejectReason, ScanRejected};
use crate::domain::order::Order;
use crate::domain::progress::OrderStatus;
use crate::domain::returns::{
    self, Condition, Evidence, ForeignItem, PackRecord, PackedLine, ReturnClosed, ReturnCondition,
    ReturnItem, ReturnOpened, ReturnReason, ReturnReasonGiven, ReturnRecord, ReturnUndone,
    ReturnWeighed, ReturnedUnit, ReturnsEnded, ReturnsStarted,
};
use crate::domain::session::LineInfo;
use crate::domain::weight;

/// Returns check-in is on at the bench.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReturnsMode {
    pub open: Option<OpenReturn>,
}

/// The return being checked in, with the pack record it is checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenReturn {
    pub return_id: String,
    pub order: Order,
    pub lines: Vec<LineInfo>,
    /// Units packed, per order line.
    pub packed: Vec<u32>,
    /// Units back by the order's earlier returns, per SKU.
    pub before: BTreeMap<String, u32>,
    /// This return's scans, oldest first.
    pub units: Vec<ReturnedUnit>,
    pub reason: Option<ReturnReason>,
    pub weighed_g: Option<f64>,
    pub pack: PackRecord,
    /// The next stable reading is recorded (set when opened or the parcel was lifted).
    pub armed: bool,
}

impl OpenReturn {
    /// The return `return_id` of a packed order; `record` holds what the log already has of
    /// it (after a restart), and every other return of the order counts as "before".
    pub fn new(view: &OrderView, return_id: &str, record: Option<&ReturnRecord>) -> OpenReturn {
        let p = &view.progress;
        let mut before = BTreeMap::new();
        for r in p.returns.iter().filter(|r| {
            record
                .is_none_or(|own| !(r.return_id == own.return_id && r.station_id == own.station_id))
        }) {
            for u in r.units.iter().filter(|u| !u.foreign) {
                if let Some(sku) = &u.sku {
                    *before.entry(sku.clone()).or_insert(0) += u.units;
                }
            }
        }
        OpenReturn {
            return_id: return_id.to_string(),
            order: view.order.clone(),
            lines: view.lines.clone(),
            packed: p.scanned.clone(),
            before,
            units: record.map(|r| r.units.clone()).unwrap_or_default(),
            reason: record.and_then(|r| r.reason),
            weighed_g: record.and_then(|r| r.weighed_g),
            pack: p.pack_record(view.order.total_units()),
            armed: true,
        }
    }

    /// Units of `sku` packed (over all its lines).
    pub fn packed_of(&self, sku: &str) -> u32 {
        self.lines
            .iter()
            .zip(&self.packed)
            .filter(|(l, _)| l.sku == sku)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Units of `sku` in this return.
    pub fn now_of(&self, sku: &str) -> u32 {
        self.units
            .iter()
            .filter(|u| !u.foreign && u.sku.as_deref() == Some(sku))
            .map(|u| u.units)
            .sum()
    }

    /// Units of `sku` back over all returns of the order, this one included.
    pub fn returned_of(&self, sku: &str) -> u32 {
        self.before.get(sku).copied().unwrap_or(0) + self.now_of(sku)
    }

    pub fn units_packed(&self) -> u32 {
        self.packed.iter().sum()
    }

    /// Units of the order back over all its returns, this one included.
    pub fn units_returned(&self) -> u32 {
        self.before.values().sum::<u32>() + self.order_units()
    }

    /// Units of the order's SKUs in this return.
    pub fn order_units(&self) -> u32 {
        crate::domain::returns::units_where(&self.units, false)
    }

    pub fn foreign_units(&self) -> u32 {
        crate::domain::returns::units_where(&self.units, true)
    }

    pub fn evidence(&self) -> Evidence {
        Evidence {
            foreign_units: self.foreign_units(),
            wrong_variant_units: self
                .units
                .iter()
                .filter(|u| !u.foreign && u.condition == Condition::WrongVariant)
                .map(|u| u.units)
                .sum(),
            returned_units: self.units_returned(),
            packed_units: self.units_packed(),
        }
    }

    /// What closing now would say of a packing claim ([`returns::confirms`]).
    pub fn verdict(&self) -> Option<bool> {
        self.reason
            .and_then(|r| returns::confirms(r, &self.evidence()))
    }
}

/// `returns_ended` for returns mode closed by a sign-out.
pub(super) fn end_returns(out: &mut Out, actor: Option<&str>, r: &ReturnsMode) {
    out.ev(
        ReturnsEnded {
            open_return: r.open.as_ref().map(|o| o.return_id.clone()),
        },
        actor,
        r.open.as_ref().map(|o| o.order.order_no.as_str()),
    );
}

fn gs1_of(scan: &Scan) -> Option<Gs1Fields> {
    scan.code.gs1.as_ref().map(|g| Gs1Fields {
        gtin: g.gtin.clone(),
        lot: g.lot.clone(),
        serial: g.serial.clone(),
        expiry: g.expiry.clone(),
    })
}

impl Engine {
    /// A scan in returns mode (the packer is signed in).
    pub(super) fn returns_scan(&self, s: &mut State, out: &mut Out, scan: &Scan) {
        let code = scan.code.text.as_str();
        // A refusal while a return is open is about its order.
        let order = self.open_return_of(s).map(|o| o.order.order_no.clone());
        match &scan.resolved {
            Resolved::Order(view) => self.open_return(s, out, view, code),
            Resolved::Item(m) => self.return_unit(s, out, scan, Some(m)),
            Resolved::Unknown if scan.code.check_digit_error => out.reject(
                s,
                code,
                RejectReason::BadCheckDigit,
                text!("refuse.bad_check_digit", code = code),
                order.as_deref(),
            ),
            // A code nobody knows, inside a returned parcel, is evidence too.
            Resolved::Unknown if self.open_return_of(s).is_some() => {
                self.return_unit(s, out, scan, None)
            }
            Resolved::Unknown => out.reject(
                s,
                code,
                RejectReason::UnknownBarcode,
                text!("refuse.unknown_code", code = code),
                None,
            ),
            Resolved::Packaging(_) => out.reject(
                s,
                code,
                RejectReason::NotAllowed,
                text!("refuse.returns_packaging"),
                order.as_deref(),
            ),
            Resolved::Command(_) | Resolved::Badge(_) => unreachable!("handled by scan"),
        }
    }

    fn open_return_of<'a>(&self, s: &'a State) -> Option<&'a OpenReturn> {
        s.returns.as_ref().and_then(|r| r.open.as_ref())
    }

    /// The parcel's waybill or order number opens a return of a packed order.
    fn open_return(&self, s: &mut State, out: &mut Out, view: &OrderView, code: &str) {
        let order = &view.order;
        let o = order.order_no.as_str();
        let handler = s.packer.as_ref().map(|p| p.id.clone());
        if let Some(open) = self.open_return_of(s) {
            if open.order.order_no == order.order_no {
                // Re-sync: the open return's parcel scanned again repeats it.
                let mut opened = return_opened(open);
                opened.repeat = true;
                out.ev(opened, handler.as_deref(), Some(o));
                return;
            }
            let id = open.return_id.clone();
            out.reject(
                s,
                code,
                RejectReason::OrderInProgress,
                text!("refuse.close_return_before_open", id = id),
                Some(o),
            );
            return;
        }
        let p = &view.progress;
        if !p.shipped() {
            let why = if order.cancelled {
                text!("refuse.return_cancelled", o = o)
            } else {
                match p.status {
                    OrderStatus::Held => text!("refuse.return_held", o = o),
                    _ => text!("refuse.return_never_packed", o = o),
                }
            };
            out.reject(s, code, RejectReason::NotShipped, why, Some(o));
            return;
        }
        let return_id = format!("{o}-R{}", p.returns.len() + 1);
        let open = OpenReturn::new(view, &return_id, None);
        out.ev(return_opened(&open), handler.as_deref(), Some(o));
        if let Some(r) = s.returns.as_mut() {
            r.open = Some(open);
        }
    }

    /// A unit of the open return: counted against what was packed, or recorded as foreign.
    fn return_unit(&self, s: &mut State, out: &mut Out, scan: &Scan, m: Option<&ItemMatch>) {
        let code = scan.code.text.as_str();
        let handler = s.packer.as_ref().map(|p| p.id.clone());
        let Some(open) = self.open_return_of(s) else {
            out.reject(
                s,
                code,
                RejectReason::NoOrder,
                text!("refuse.return_parcel_first"),
                None,
            );
            return;
        };
        let o = open.order.order_no.clone();
        let id = open.return_id.clone();
        let (sku, units) = match m {
            Some(m) => (Some(m.sku.clone()), m.units),
            None => (None, 1),
        };
        let packed = sku.as_deref().map_or(0, |k| open.packed_of(k));
        if packed == 0 {
            out.ev(
                ForeignItem {
                    return_id: id,
                    code: code.to_string(),
                    sku: sku.clone(),
                    units,
                    condition: Condition::Ok,
                    gs1: gs1_of(scan),
                },
                handler.as_deref(),
                Some(&o),
            );
            push(s, sku, code, units, true);
            return;
        }
        let sku = sku.expect("packed > 0 has a SKU");
        let back = open.returned_of(&sku);
        if back + units > packed {
            let detail = if units > 1 {
                text!(
                    "refuse.return_pack_too_many",
                    units = units,
                    sku = sku,
                    left = packed - back,
                    packed = packed
                )
                .en
            } else {
                text!(
                    "refuse.return_one_too_many",
                    sku = sku,
                    back = back,
                    packed = packed
                )
                .en
            };
            let mut r = ScanRejected::new(code, RejectReason::OverQuantity, detail);
            r.sku = Some(sku);
            r.scanned = Some(back);
            r.qty = Some(packed);
            r.units = Some(units);
            out.refuse(s, r, Some(&o));
            return;
        }
        out.ev(
            ReturnItem {
                return_id: id,
                sku: sku.clone(),
                units,
                code: code.to_string(),
                condition: Condition::Ok,
                returned: back + units,
                packed,
                gs1: gs1_of(scan),
            },
            handler.as_deref(),
            Some(&o),
        );
        push(s, Some(sku), code, units, false);
    }

    /// A stable reading while a return is open is recorded once per parcel placed.
    pub(super) fn return_weight(&self, s: &mut State, out: &mut Out, grams: f64, stable: bool) {
        let min = self.cfg.min_weight_g;
        let handler = s.packer.as_ref().map(|p| p.id.clone());
        let Some(open) = s.returns.as_mut().and_then(|r| r.open.as_mut()) else {
            return;
        };
        if !stable || !grams.is_finite() || grams < min {
            open.armed = true;
            return;
        }
        let moved = open
            .weighed_g
            .is_none_or(|w| (w - grams).abs() >= RECHECK_DELTA_G);
        if !open.armed && !moved {
            return;
        }
        open.armed = false;
        let measured = weight::round2(grams);
        open.weighed_g = Some(measured);
        out.ev(
            ReturnWeighed {
                return_id: open.return_id.clone(),
                measured_g: measured,
                packed_g: open.pack.measured_g,
            },
            handler.as_deref(),
            Some(&open.order.order_no.clone()),
        );
    }

    /// The returns commands, and the packing commands that mean something else (or nothing)
    /// in returns mode. True when `c` was handled here.
    pub(super) fn returns_command(
        &self,
        s: &mut State,
        out: &mut Out,
        c: &Command,
        code: &str,
        handler: &str,
    ) -> bool {
        let actor = Some(handler);
        let in_returns = s.returns.is_some();
        // A refusal while a return is open is about its order.
        let order = self.open_return_of(s).map(|o| o.order.order_no.clone());
        let refuse = |s: &State, out: &mut Out, reason: RejectReason, detail: text::Words| {
            out.reject(s, code, reason, detail, order.as_deref());
        };
        match c {
            Command::ReturnsStart => {
                if in_returns {
                    out.ev(ReturnsStarted { repeat: true }, actor, None);
                    return true;
                }
                if s.dispatch.is_some() {
                    refuse(
                        s,
                        out,
                        RejectReason::NotAllowed,
                        text!("refuse.end_handover_before_returns").into(),
                    );
                    return true;
                }
                if let Some(open) = &s.open {
                    let o = open.order.order_no.clone();
                    if open.units_scanned() > 0 {
                        refuse(
                            s,
                            out,
                            RejectReason::OrderInProgress,
                            text!("refuse.finish_before_returns", o = o),
                        );
                        return true;
                    }
                    out.ev(OrderReleased {}, actor, Some(&o));
                    s.open = None;
                }
                out.ev(ReturnsStarted { repeat: false }, actor, None);
                s.returns = Some(ReturnsMode::default());
            }
            Command::ReturnsEnd => {
                let Some(r) = &s.returns else {
                    refuse(
                        s,
                        out,
                        RejectReason::NotAllowed,
                        text!("refuse.not_in_returns").into(),
                    );
                    return true;
                };
                if let Some(open) = &r.open {
                    let id = open.return_id.clone();
                    refuse(
                        s,
                        out,
                        RejectReason::OrderInProgress,
                        text!("refuse.close_return_before_end", id = id),
                    );
                    return true;
                }
                out.ev(ReturnsEnded { open_return: None }, actor, None);
                s.returns = None;
            }
            Command::ReturnClose | Command::Condition(_) | Command::ReturnReason(_) => {
                if !in_returns {
                    refuse(
                        s,
                        out,
                        RejectReason::NotAllowed,
                        text!("refuse.returns_first").into(),
                    );
                    return true;
                }
                let Some(open) = self.open_return_of(s) else {
                    refuse(
                        s,
                        out,
                        RejectReason::NoOrder,
                        text!("refuse.no_return_open").into(),
                    );
                    return true;
                };
                let o = open.order.order_no.clone();
                let id = open.return_id.clone();
                match c {
                    Command::Condition(cond) => {
                        let Some(last) = open.units.last() else {
                            refuse(
                                s,
                                out,
                                RejectReason::NotAllowed,
                                text!("refuse.unit_before_condition").into(),
                            );
                            return true;
                        };
                        out.ev(
                            ReturnCondition {
                                return_id: id,
                                item: open.units.len() as u32,
                                sku: last.sku.clone(),
                                condition: *cond,
                            },
                            actor,
                            Some(&o),
                        );
                        if let Some(u) = open_mut(s).and_then(|r| r.units.last_mut()) {
                            u.condition = *cond;
                        }
                    }
                    Command::ReturnReason(reason) => {
                        out.ev(
                            ReturnReasonGiven {
                                return_id: id,
                                reason: *reason,
                            },
                            actor,
                            Some(&o),
                        );
                        if let Some(r) = open_mut(s) {
                            r.reason = Some(*reason);
                        }
                    }
                    _ => {
                        let Some(reason) = open.reason else {
                            refuse(
                                s,
                                out,
                                RejectReason::NoReturnReason,
                                text!("refuse.reason_before_close", id = id),
                            );
                            return true;
                        };
                        let closed = summary(open, reason, handler);
                        out.ev(closed, actor, Some(&o));
                        if let Some(r) = s.returns.as_mut() {
                            r.open = None;
                        }
                    }
                }
            }
            Command::UndoLastScan if in_returns => {
                let Some(open) = self.open_return_of(s).filter(|o| !o.units.is_empty()) else {
                    refuse(
                        s,
                        out,
                        RejectReason::NothingToUndo,
                        text!("refuse.no_returned_unit_to_undo").into(),
                    );
                    return true;
                };
                let o = open.order.order_no.clone();
                let last = open.units.last().expect("not empty").clone();
                out.ev(
                    ReturnUndone {
                        return_id: open.return_id.clone(),
                        item: open.units.len() as u32,
                        sku: last.sku,
                        units: last.units,
                    },
                    actor,
                    Some(&o),
                );
                if let Some(r) = open_mut(s) {
                    r.units.pop();
                }
            }
            Command::DispatchStart | Command::DispatchEnd if in_returns => {
                refuse(
                    s,
                    out,
                    RejectReason::NotAllowed,
                    text!("refuse.end_returns_before_handover").into(),
                );
            }
            _ => return false,
        }
        true
    }
}

fn open_mut(s: &mut State) -> Option<&mut OpenReturn> {
    s.returns.as_mut().and_then(|r| r.open.as_mut())
}

fn push(s: &mut State, sku: Option<String>, code: &str, units: u32, foreign: bool) {
    if let Some(r) = open_mut(s) {
        r.units.push(ReturnedUnit {
            sku,
            code: code.to_string(),
            units,
            condition: Condition::Ok,
            foreign,
        });
    }
}

fn return_opened(open: &OpenReturn) -> ReturnOpened {
    let mut lines: Vec<PackedLine> = Vec::new();
    for (l, n) in open.lines.iter().zip(&open.packed) {
        // One line per SKU: a SKU on two lines (bought and gift) is counted as one.
        match lines.iter_mut().find(|x| x.sku == l.sku) {
            Some(x) => x.packed += n,
            None => lines.push(PackedLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                packed: *n,
                returned: open.before.get(&l.sku).copied().unwrap_or(0),
            }),
        }
    }
    let p = &open.pack;
    ReturnOpened {
        return_id: open.return_id.clone(),
        waybill_no: open.order.waybill_no.clone(),
        lines,
        packer_id: p.packer_id.clone(),
        picker_id: p.picker_id.clone(),
        packed_at: p.packed_at.map(|t| t.to_rfc3339()),
        packed_station: p.station_id.clone(),
        measured_g: p.measured_g,
        expected_g: p.expected_g,
        weight_ok: p.weight_ok,
        repeat: false,
    }
}

fn summary(open: &OpenReturn, reason: ReturnReason, handler: &str) -> ReturnClosed {
    let mut conditions = BTreeMap::new();
    for u in &open.units {
        *conditions.entry(u.condition).or_insert(0) += u.units;
    }
    let e = open.evidence();
    ReturnClosed {
        return_id: open.return_id.clone(),
        reason,
        handler_id: handler.to_string(),
        units: open.units.iter().map(|u| u.units).sum(),
        conditions,
        foreign_units: e.foreign_units,
        returned_units: e.returned_units,
        packed_units: e.packed_units,
        measured_g: open.weighed_g,
        packed_clean: open.pack.clean(),
        confirmed: returns::confirms(reason, &e),
        packer_id: open.pack.packer_id.clone(),
        picker_id: open.pack.picker_id.clone(),
    }
}
