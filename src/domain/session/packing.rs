//! Packing an order: opening it, packaging, each item scanned, the weighing, packed.

use super::{
    owned, Engine, OpenOrder, OpenOrderNow, OrderView, Out, Scan, State, WeightCheck,
    RECHECK_DELTA_G,
};
use crate::domain::catalog::ItemMatch;
use crate::domain::event::{
    Gs1Fields, ItemAccepted, LoadedLine, OrderLoaded, OrderPacked, OrderReleased, PackagingSet,
    RejectReason, ScanRejected, VersionChange, WeightChecked as WeightCheckedEvent,
};
use crate::domain::order::Packaging;
use crate::domain::progress::{Accepted, OrderStatus};
use crate::domain::weight;
use crate::text;
use crate::text::Words;

impl Engine {
    pub(super) fn pack(&self, s: &mut State, out: &mut Out, override_by: Option<&str>) {
        let open = s.open.take().expect("pack needs an open order");
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        let check = open.last_check.clone().expect("pack needs a weight check");
        out.ev(
            OrderPacked {
                picker_id: open.picker_id.clone(),
                packer_id: packer.clone(),
                measured_g: check.measured_g,
                expected_g: check.expected_g,
                tolerance_g: check.tolerance_g,
                weight_ok: check.ok,
                override_by: owned(override_by),
                packaging: open.packaging.as_ref().map(|p| p.code.clone()),
                version: open.version.clone(),
            },
            packer.as_deref(),
            Some(&open.order.order_no),
        );
        s.last_packed = Some(open.order.order_no);
    }

    pub(super) fn packaging(&self, s: &mut State, out: &mut Out, p: &Packaging, code: &str) {
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        let Some(open) = s.open.as_mut().filter(|_| s.dispatch.is_none()) else {
            out.reject(
                s,
                code,
                RejectReason::NoOrder,
                text!("refuse.packaging_first"),
                None,
            );
            return;
        };
        open.packaging = Some(p.clone());
        open.last_check = None;
        open.armed = open.complete();
        out.ev(
            PackagingSet {
                packaging: p.code.clone(),
                tare_g: p.tare_g,
            },
            packer.as_deref(),
            Some(&open.order.order_no),
        );
    }

    pub(super) fn open_order(&self, s: &mut State, out: &mut Out, view: &OrderView, code: &str) {
        let order = &view.order;
        if s.returns_only {
            let who = s.packer.as_ref().map(|p| p.id.clone()).unwrap_or_default();
            out.reject(
                s,
                code,
                RejectReason::NotAllowed,
                text!("refuse.returns_only", who = who),
                Some(&order.order_no),
            );
            return;
        }
        let version = order.version();
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        if let Some(open) = &s.open {
            if open.order.order_no == order.order_no {
                if open.version == version && !order.cancelled {
                    // Re-sync: the same order scanned again repeats its state.
                    let mut loaded = order_loaded(open);
                    loaded.repeat = true;
                    out.ev(loaded, packer.as_deref(), Some(&order.order_no));
                    return;
                }
                // Changed or cancelled since opened: fall through and load it afresh.
            } else if open.units_scanned() > 0 {
                let o = open.order.order_no.clone();
                out.reject(
                    s,
                    code,
                    RejectReason::OrderInProgress,
                    text!("refuse.finish_before_open", o = o),
                    Some(&order.order_no),
                );
                return;
            } else {
                let o = open.order.order_no.clone();
                out.ev(OrderReleased {}, packer.as_deref(), Some(&o));
                s.open = None;
            }
        }
        let p = &view.progress;
        if order.cancelled {
            s.open = None;
            out.reject(
                s,
                code,
                RejectReason::OrderCancelled,
                text!("refuse.cancelled", o = order.order_no),
                Some(&order.order_no),
            );
            return;
        }
        if matches!(p.status, OrderStatus::Packed | OrderStatus::Dispatched) {
            let by = p.packer_id.clone().unwrap_or_default();
            let at = p.packed_at.map(|t| t.to_rfc3339()).unwrap_or_default();
            let station = p.station_id.clone().unwrap_or_default();
            let mut r = ScanRejected::new(
                code,
                RejectReason::OrderAlreadyPacked,
                text!(
                    "refuse.already_packed",
                    o = order.order_no,
                    by = by,
                    station = station,
                    at = at
                )
                .en,
            );
            r.packed_by = Some(by);
            r.packed_at = Some(at);
            r.packed_station = Some(station);
            out.refuse(s, r, Some(&order.order_no));
            return;
        }
        let current = p.loaded_version.as_deref() == Some(version.as_str());
        let open = OpenOrder::from_view(view, self.cfg.default_packaging.as_ref());
        let mut loaded = order_loaded(&open);
        if !current && p.stale_scans > 0 {
            loaded.change = Some(VersionChange {
                changed: true,
                previous_version: p.loaded_version.clone(),
                discarded_units: p.stale_scans,
            });
        }
        out.ev(loaded, packer.as_deref(), Some(&order.order_no));
        s.open = Some(open);
    }

    pub(super) fn item(
        &self,
        s: &mut State,
        out: &mut Out,
        scan: &Scan,
        m: &ItemMatch,
        open_now: Option<&OpenOrderNow>,
    ) {
        let code = scan.code.text.as_str();
        if s.dispatch.is_some() {
            out.reject(
                s,
                code,
                RejectReason::NotAllowed,
                text!("refuse.dispatch_no_items"),
                None,
            );
            return;
        }
        let Some(open) = &s.open else {
            out.reject(
                s,
                code,
                RejectReason::NoOrder,
                text!("refuse.order_first"),
                None,
            );
            return;
        };
        if let Some(reason) = stale(open, open_now) {
            let o = open.order.order_no.clone();
            out.reject(s, code, reason, stale_detail(reason, &o), None);
            return;
        }
        let (scanned, qty) = open.totals(&m.sku);
        if qty == 0 {
            let mut r = ScanRejected::new(
                code,
                RejectReason::NotInOrder,
                text!("refuse.not_in_order", sku = m.sku).en,
            );
            r.sku = Some(m.sku.clone());
            out.refuse(s, r, None);
            return;
        }
        if scanned + m.units > qty {
            let detail = if m.units > 1 {
                text!(
                    "refuse.pack_too_many",
                    units = m.units,
                    sku = m.sku,
                    left = qty - scanned
                )
                .en
            } else {
                text!(
                    "refuse.one_too_many",
                    sku = m.sku,
                    scanned = scanned,
                    qty = qty
                )
                .en
            };
            let mut r = ScanRejected::new(code, RejectReason::OverQuantity, detail);
            r.sku = Some(m.sku.clone());
            r.scanned = Some(scanned);
            r.qty = Some(qty);
            r.units = Some(m.units);
            out.refuse(s, r, None);
            return;
        }
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        let open = s.open.as_mut().expect("checked above");
        // Bought lines fill before gift lines of the same SKU.
        let mut left = m.units;
        let mut alloc = Vec::new();
        for gift in [false, true] {
            for (i, l) in open.lines.iter().enumerate() {
                if left == 0 || l.sku != m.sku || l.gift != gift {
                    continue;
                }
                let take = (l.qty - open.scanned[i]).min(left);
                if take > 0 {
                    open.scanned[i] += take;
                    left -= take;
                    alloc.push((i, take));
                }
            }
        }
        open.stack.push(Accepted {
            sku: m.sku.clone(),
            alloc: alloc.clone(),
        });
        open.last_check = None;
        let complete = open.complete();
        open.armed = complete;
        let order_no = open.order.order_no.clone();
        let version = open.version.clone();
        out.ev(
            ItemAccepted {
                sku: m.sku.clone(),
                units: m.units,
                scanned: scanned + m.units,
                qty,
                code: code.to_string(),
                aim: scan.code.aim.clone(),
                gs1: scan.code.gs1.as_ref().map(|g| Gs1Fields {
                    gtin: g.gtin.clone(),
                    lot: g.lot.clone(),
                    serial: g.serial.clone(),
                    expiry: g.expiry.clone(),
                }),
                scanner: scan.scanner.clone(),
                version,
                alloc,
                complete,
            },
            packer.as_deref(),
            Some(&order_no),
        );
    }

    pub(super) fn weight(
        &self,
        s: &mut State,
        out: &mut Out,
        grams: f64,
        stable: bool,
        open_now: Option<&OpenOrderNow>,
    ) {
        s.scale = Some((grams, stable));
        if s.dispatch.is_some() {
            return;
        }
        if s.returns.is_some() {
            return self.return_weight(s, out, grams, stable);
        }
        let min = self.cfg.min_weight_g;
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        let Some(open) = s.open.as_mut() else {
            return;
        };
        if !open.complete() {
            return;
        }
        if !stable || grams < min {
            // The parcel moved or was lifted off: the next stable reading is a re-weigh.
            open.armed = true;
            return;
        }
        let moved = open
            .last_check
            .as_ref()
            .is_none_or(|c| (c.measured_g - grams).abs() >= RECHECK_DELTA_G);
        if !open.armed && !moved {
            return;
        }
        open.armed = false;
        if let Some(reason) = stale(open, open_now) {
            let o = open.order.order_no.clone();
            out.reject(s, "", reason, stale_detail(reason, &o), None);
            return;
        }
        let expected = open.expected_g();
        let lines = open.line_weights();
        let tolerance = weight::tolerance_g(self.cfg.rule, expected, &lines);
        let measured = weight::round2(grams);
        let ok = weight::within(measured, expected, tolerance);
        let hint = (!ok).then(|| weight::hint(measured - expected, &lines, tolerance));
        let order_no = open.order.order_no.clone();
        out.ev(
            WeightCheckedEvent {
                measured_g: measured,
                expected_g: expected,
                tolerance_g: tolerance,
                ok,
                packaging: open.packaging.as_ref().map(|p| p.code.clone()),
                hint: hint.as_ref().map(|h| h.text.clone()),
                hint_detail: hint.clone(),
            },
            packer.as_deref(),
            Some(&order_no),
        );
        open.last_check = Some(WeightCheck {
            measured_g: measured,
            expected_g: expected,
            tolerance_g: tolerance,
            ok,
            hint,
        });
        if ok && open.picker_id.is_some() {
            self.pack(s, out, None);
        }
    }
}

pub(super) fn stale(open: &OpenOrder, now: Option<&OpenOrderNow>) -> Option<RejectReason> {
    match now {
        None => Some(RejectReason::OrderChanged),
        Some(n) if n.cancelled => Some(RejectReason::OrderCancelled),
        Some(n) if n.version != open.version => Some(RejectReason::OrderChanged),
        Some(_) => None,
    }
}

pub(super) fn stale_detail(reason: RejectReason, order_no: &str) -> Words {
    if reason == RejectReason::OrderCancelled {
        text!("refuse.stale_cancelled", o = order_no)
    } else {
        text!("refuse.stale_changed", o = order_no)
    }
}

/// The `order_loaded` of an open order: its lines with their counts so far.
pub(super) fn order_loaded(open: &OpenOrder) -> OrderLoaded {
    OrderLoaded {
        lines: open
            .lines
            .iter()
            .zip(&open.scanned)
            .map(|(l, s)| LoadedLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                qty: l.qty,
                scanned: *s,
                gift: l.gift,
            })
            .collect(),
        version: open.version.clone(),
        waybill_no: open.order.waybill_no.clone(),
        picker_id: open.picker_id.clone(),
        packaging: open.packaging.as_ref().map(|p| p.code.clone()),
        expected_g: open.expected_g(),
        repeat: false,
        change: None,
    }
}
