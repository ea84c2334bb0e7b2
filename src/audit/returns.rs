//! Returns for the shop's refund process (`audit returns`) and the order record's returns:
//! each return with its order, units and their conditions, foreign items, the buyer's reason,
//! the handler, the times, and whether the check-in confirmed a packing claim.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::sheet::{Cell, Sheet};
use crate::domain::event::{EventType, StoredEvent};
use crate::domain::returns::{self, Condition, ReturnOpened, ReturnRecord};
use crate::store::{EventFilter, Store, StoreError};

/// Units of one SKU in one condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnedQty {
    /// `null` for a foreign unit whose barcode is not in the catalog.
    pub sku: Option<String>,
    pub qty: u32,
    pub condition: Condition,
    /// The barcodes scanned (for foreign units: the evidence).
    pub codes: Vec<String>,
}

/// One return as the refund process needs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnRow {
    pub return_id: String,
    pub order_no: String,
    pub waybill_no: String,
    pub station_id: String,
    pub handler_id: Option<String>,
    pub opened_at: String,
    /// `null` while the return is still open (or was left open at a sign-out).
    pub closed_at: Option<String>,
    pub reason: Option<String>,
    /// Every unit back in this return, foreign ones included.
    pub units: u32,
    /// The order's units back, by SKU and condition.
    pub items: Vec<ReturnedQty>,
    /// Units that were never in the order.
    pub foreign: Vec<ReturnedQty>,
    pub packed_units: Option<u32>,
    /// The order's units back over all its returns up to this one.
    pub returned_units: Option<u32>,
    /// `confirmed`, `contradicted`, or `null` when the reason blames nothing at the bench
    /// (or the return is not closed).
    pub verdict: Option<String>,
    pub confirmed: Option<bool>,
    pub packer_id: Option<String>,
    pub picker_id: Option<String>,
    /// The parcel weighed right with every unit scanned when it was packed.
    pub packed_clean: Option<bool>,
    pub measured_g: Option<f64>,
}

fn group(r: &ReturnRecord, foreign: bool) -> Vec<ReturnedQty> {
    let mut out: Vec<ReturnedQty> = Vec::new();
    for u in r.units.iter().filter(|u| u.foreign == foreign) {
        match out
            .iter_mut()
            .find(|q| q.sku == u.sku && q.condition == u.condition)
        {
            Some(q) => {
                q.qty += u.units;
                if !q.codes.contains(&u.code) {
                    q.codes.push(u.code.clone());
                }
            }
            None => out.push(ReturnedQty {
                sku: u.sku.clone(),
                qty: u.units,
                condition: u.condition,
                codes: vec![u.code.clone()],
            }),
        }
    }
    out
}

/// A return as a report row; `waybill_no` from the order.
pub fn row(r: &ReturnRecord, waybill_no: &str) -> ReturnRow {
    let c = r.closed.as_ref();
    ReturnRow {
        return_id: r.return_id.clone(),
        order_no: r.order_no.clone(),
        waybill_no: waybill_no.to_string(),
        station_id: r.station_id.clone(),
        handler_id: c.map(|c| c.handler_id.clone()).or(r.handler_id.clone()),
        opened_at: r.opened_at.to_rfc3339(),
        closed_at: r.closed_at.map(|t| t.to_rfc3339()),
        reason: r.reason.map(|x| x.as_str().to_string()),
        units: r.all_units(),
        items: group(r, false),
        foreign: group(r, true),
        packed_units: c.map(|c| c.packed_units),
        returned_units: c.map(|c| c.returned_units),
        verdict: r.confirmed().map(|ok| {
            if ok {
                "confirmed".to_string()
            } else {
                "contradicted".to_string()
            }
        }),
        confirmed: r.confirmed(),
        packer_id: c.and_then(|c| c.packer_id.clone()),
        picker_id: c.and_then(|c| c.picker_id.clone()),
        packed_clean: c.map(|c| c.packed_clean),
        measured_g: r.weighed_g,
    }
}

/// The returns opened from `from` to `to` (inclusive), oldest first, each read whole from its
/// order's events (so a return opened in the period and closed after it is complete).
pub fn returns_report<S: Store + ?Sized>(
    store: &S,
    from: Option<DateTime<FixedOffset>>,
    to: Option<DateTime<FixedOffset>>,
) -> Result<Vec<ReturnRow>, StoreError> {
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    let mut orders: Vec<String> = Vec::new();
    store.scan_events(
        &EventFilter {
            from,
            to,
            types: vec![EventType::ReturnOpened.as_str()],
            ..Default::default()
        },
        &mut |e| {
            if let (Some(o), Some(r)) = (&e.order_no, e.payload_as::<ReturnOpened>()) {
                if !r.repeat {
                    wanted.insert((e.station_id.clone(), r.return_id));
                    if !orders.contains(o) {
                        orders.push(o.clone());
                    }
                }
            }
            true
        },
    )?;
    let mut rows = Vec::new();
    for o in orders {
        let events: Vec<StoredEvent> = store.events(&EventFilter {
            order_no: Some(o.clone()),
            ..Default::default()
        })?;
        let waybill = store
            .find_order(&o)?
            .map(|x| x.waybill_no)
            .unwrap_or_default();
        for r in returns::fold(&events) {
            if wanted.contains(&(r.station_id.clone(), r.return_id.clone())) {
                rows.push((r.opened_at, row(&r, &waybill)));
            }
        }
    }
    rows.sort_by_key(|(at, r)| (*at, r.station_id.clone(), r.return_id.clone()));
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

/// One line per SKU and condition of each return: what a refund clerk ticks off.
pub fn sheet(rows: &[ReturnRow]) -> Sheet {
    let mut s = Sheet::new(
        "returns",
        &[
            "order",
            "waybill",
            "return",
            "sku",
            "qty",
            "condition",
            "foreign",
            "reason",
            "handler",
            "opened",
            "closed",
            "confirmed",
        ],
    );
    for r in rows {
        let confirmed: Cell = match r.confirmed {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => Cell::Empty,
        };
        let lines = r
            .items
            .iter()
            .map(|q| (q, false))
            .chain(r.foreign.iter().map(|q| (q, true)));
        let mut any = false;
        for (q, foreign) in lines {
            any = true;
            let sku = q.sku.clone().unwrap_or_else(|| q.codes.join(" "));
            s.push(vec![
                r.order_no.as_str().into(),
                r.waybill_no.as_str().into(),
                r.return_id.as_str().into(),
                sku.into(),
                i64::from(q.qty).into(),
                q.condition.as_str().into(),
                if foreign { "yes" } else { "" }.into(),
                r.reason.clone().into(),
                r.handler_id.clone().into(),
                r.opened_at.as_str().into(),
                r.closed_at.clone().into(),
                confirmed.clone(),
            ]);
        }
        if !any {
            // An empty parcel is a return too (a "missing item" claim with nothing in it).
            s.push(vec![
                r.order_no.as_str().into(),
                r.waybill_no.as_str().into(),
                r.return_id.as_str().into(),
                Cell::Empty,
                0i64.into(),
                Cell::Empty,
                Cell::Empty,
                r.reason.clone().into(),
                r.handler_id.clone().into(),
                r.opened_at.as_str().into(),
                r.closed_at.clone().into(),
                confirmed.clone(),
            ]);
        }
    }
    s
}
