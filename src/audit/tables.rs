//! The bench's own reports (`audit order`, `packer`, `mismatches`) as sheets for the
//! terminal: one place for their columns, printed by the CLI's one table printer.

use super::sheet::Sheet;
use super::table::clean;
use super::{event_summary, MismatchRow, OrderRecord, PackerReport};
use crate::domain::weight::fmt_g;

fn g(x: Option<f64>) -> String {
    x.map(fmt_g).unwrap_or_default()
}

fn flag(b: Option<bool>) -> String {
    b.map(|b| b.to_string()).unwrap_or_default()
}

impl OrderRecord {
    /// The order's fields, its lines, its events, and its returns when it has any.
    pub fn sheets(&self) -> Vec<Sheet> {
        let mut fields = Sheet::new("order", &["field", "value"]);
        for (k, v) in [
            ("order", self.order_no.clone()),
            ("waybill", self.waybill_no.clone()),
            ("carrier", self.carrier.clone()),
            ("recipient", self.recipient.clone()),
            ("status", self.status.clone()),
            ("picker", self.picker_id.clone().unwrap_or_default()),
            ("packer", self.packer_id.clone().unwrap_or_default()),
            ("station", self.station_id.clone().unwrap_or_default()),
            ("expected g", g(self.expected_weight_g)),
            ("measured g", g(self.measured_weight_g)),
            ("tolerance g", g(self.tolerance_g)),
            ("weight ok", flag(self.weight_ok)),
            ("override by", self.override_by.clone().unwrap_or_default()),
            ("packed at", self.packed_at.clone().unwrap_or_default()),
            (
                "dispatched at",
                self.dispatched_at.clone().unwrap_or_default(),
            ),
            ("buyer note", self.buyer_note.clone()),
        ] {
            fields.push(vec![k.into(), v.into()]);
        }
        let mut lines = Sheet::new("lines", &["sku", "scanned", ""]);
        for l in &self.lines {
            lines.push(vec![
                l.sku.as_str().into(),
                format!("{}/{}", l.scanned, l.qty).into(),
                if l.gift { "gift" } else { "" }.into(),
            ]);
        }
        let mut events = Sheet::new(
            "events",
            &["seq", "at", "event", "actor", "station", "data"],
        );
        for e in &self.events {
            events.push(vec![
                e.seq.to_string().into(),
                e.at.as_str().into(),
                e.kind.as_str().into(),
                e.actor.clone().unwrap_or_default().into(),
                e.station_id.as_str().into(),
                event_summary(&e.data, &[], " ").into(),
            ]);
        }
        let mut out = vec![fields, lines, events];
        if !self.returns.is_empty() {
            out.push(super::returns::sheet(&self.returns));
        }
        out
    }
}

impl PackerReport {
    /// The counts in one line, as the terminal shows them above the tables.
    pub fn summary(&self) -> String {
        format!(
            "{} {}: packed {}, picked {}, weight mismatches {}, overridden {}, rejected scans {}, \
             packing errors confirmed by returns {}{}, orders with a caught error {}{}",
            self.id,
            clean(self.name.as_deref().unwrap_or("")),
            self.packed,
            self.picked,
            self.mismatches,
            self.overrides,
            self.rejected_scans,
            self.packing_errors,
            self.packing_error_rate
                .map(|x| format!(" ({:.1} % of orders)", x * 100.0))
                .unwrap_or_default(),
            self.orders_with_caught_error,
            self.caught_error_rate
                .map(|x| format!(" ({:.1} % of orders)", x * 100.0))
                .unwrap_or_default()
        )
    }

    /// The orders, and the returns that confirmed a packing error when there are any.
    pub fn sheets(&self) -> Vec<Sheet> {
        let mut orders = Sheet::new(
            "orders",
            &[
                "order",
                "role",
                "at",
                "station",
                "measured g",
                "expected g",
                "ok",
                "override",
            ],
        );
        for o in &self.orders {
            orders.push(vec![
                o.order_no.as_str().into(),
                o.role.as_str().into(),
                o.at.as_str().into(),
                o.station_id.as_str().into(),
                g(o.measured_g).into(),
                g(o.expected_g).into(),
                flag(o.weight_ok).into(),
                o.override_by.clone().unwrap_or_default().into(),
            ]);
        }
        let mut out = vec![orders];
        if !self.packing_error_returns.is_empty() {
            let mut errs = Sheet::new(
                "packing errors",
                &[
                    "order",
                    "return",
                    "confirmed claim",
                    "role",
                    "closed at",
                    "handler",
                ],
            );
            for p in &self.packing_error_returns {
                errs.push(vec![
                    p.order_no.as_str().into(),
                    p.return_id.as_str().into(),
                    p.reason.as_str().into(),
                    p.role.as_str().into(),
                    p.at.as_str().into(),
                    p.handler_id.as_str().into(),
                ]);
            }
            out.push(errs);
        }
        out
    }
}

/// Every weight mismatch and override, as `audit mismatches` shows them.
pub fn mismatches(rows: &[MismatchRow]) -> Sheet {
    let mut s = Sheet::new(
        "mismatches",
        &[
            "at",
            "event",
            "order",
            "station",
            "who",
            "measured g",
            "expected g",
            "diff g",
            "hint / reason",
        ],
    );
    for m in rows {
        s.push(vec![
            m.at.as_str().into(),
            m.kind.as_str().into(),
            m.order_no.clone().unwrap_or_default().into(),
            m.station_id.as_str().into(),
            m.who.clone().unwrap_or_default().into(),
            g(m.measured_g).into(),
            g(m.expected_g).into(),
            g(m.diff_g).into(),
            m.why.clone().unwrap_or_default().into(),
        ]);
    }
    s
}
