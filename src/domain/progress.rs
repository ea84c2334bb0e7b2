//! An order's state, derived from its events alone: the log is the truth, so a restart or a
//! second bench sees exactly the counts the first one acknowledged.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::event::{EventData, StoredEvent};
use super::order::Order;
use super::returns::{self, PackRecord, ReturnRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Packing,
    Packed,
    Held,
    Dispatched,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Packing => "packing",
            OrderStatus::Packed => "packed",
            OrderStatus::Held => "held",
            OrderStatus::Dispatched => "dispatched",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

/// One accepted scan still in the box: which lines it counted against, for undo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accepted {
    pub sku: String,
    /// (line index, units) pairs.
    pub alloc: Vec<(usize, u32)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderProgress {
    pub status: OrderStatus,
    /// Units scanned per order line, for the order's current version.
    pub scanned: Vec<u32>,
    /// Accepted scans not undone, oldest first (current version only).
    pub stack: Vec<Accepted>,
    /// Version of the order the counts belong to, when it was opened at a bench.
    pub loaded_version: Option<String>,
    /// Scans made against an older version of the order and no longer counted.
    pub stale_scans: u32,
    pub picker_id: Option<String>,
    pub packer_id: Option<String>,
    pub station_id: Option<String>,
    pub packaging: Option<String>,
    pub tare_g: Option<f64>,
    pub expected_weight_g: Option<f64>,
    pub measured_weight_g: Option<f64>,
    pub tolerance_g: Option<f64>,
    pub weight_ok: Option<bool>,
    pub override_by: Option<String>,
    pub packed_at: Option<DateTime<FixedOffset>>,
    pub dispatched_at: Option<DateTime<FixedOffset>>,
    pub held_reason: Option<String>,
    pub labels_printed: u32,
    /// Returns checked in for the order, oldest first.
    pub returns: Vec<ReturnRecord>,
}

impl OrderProgress {
    /// Folds an order's events (oldest first) into its state.
    pub fn derive(order: &Order, events: &[StoredEvent]) -> OrderProgress {
        let version = order.version();
        let mut p = OrderProgress {
            status: OrderStatus::Pending,
            scanned: vec![0; order.lines.len()],
            stack: Vec::new(),
            loaded_version: None,
            stale_scans: 0,
            picker_id: order.picker_id.clone(),
            packer_id: None,
            station_id: None,
            packaging: None,
            tare_g: None,
            expected_weight_g: None,
            measured_weight_g: None,
            tolerance_g: None,
            weight_ok: None,
            override_by: None,
            packed_at: None,
            dispatched_at: None,
            held_reason: None,
            labels_printed: 0,
            returns: returns::fold(events),
        };
        // Events of an older version of the order (before a re-import changed it) no longer
        // count; an event that names no version counts.
        let current = |v: &str| v.is_empty() || v == version;
        for e in events {
            let Some(data) = e.payload() else { continue };
            match data {
                EventData::OrderLoaded(l) => {
                    if matches!(
                        p.status,
                        OrderStatus::Pending | OrderStatus::Held | OrderStatus::Packing
                    ) {
                        p.status = OrderStatus::Packing;
                    }
                    p.loaded_version = Some(l.version);
                    p.station_id = Some(e.station_id.clone());
                }
                EventData::OrderReleased(_) if p.status == OrderStatus::Packing => {
                    p.status = OrderStatus::Pending;
                }
                EventData::ItemAccepted(a) => {
                    if !current(&a.version) {
                        p.stale_scans += a.units;
                        continue;
                    }
                    for &(line, units) in &a.alloc {
                        if let Some(s) = p.scanned.get_mut(line) {
                            *s += units;
                        }
                    }
                    p.stack.push(Accepted {
                        sku: a.sku,
                        alloc: a.alloc,
                    });
                }
                EventData::ScanUndone(u) => {
                    if !current(&u.version) {
                        continue;
                    }
                    if let Some(last) = p.stack.pop() {
                        for (line, units) in last.alloc {
                            if let Some(s) = p.scanned.get_mut(line) {
                                *s = s.saturating_sub(units);
                            }
                        }
                    }
                }
                EventData::PickerSet(ps) => p.picker_id = Some(ps.picker_id),
                EventData::PackagingSet(ps) => {
                    p.packaging = Some(ps.packaging);
                    p.tare_g = Some(ps.tare_g);
                }
                EventData::WeightChecked(w) => {
                    p.measured_weight_g = Some(w.measured_g);
                    p.expected_weight_g = Some(w.expected_g);
                    p.tolerance_g = Some(w.tolerance_g);
                    p.weight_ok = Some(w.ok);
                }
                EventData::Override(o) => p.override_by = Some(o.supervisor_id),
                EventData::OrderPacked(pk) => {
                    p.status = OrderStatus::Packed;
                    p.packed_at = Some(e.at);
                    p.packer_id = pk.packer_id;
                    if let Some(picker) = pk.picker_id {
                        p.picker_id = Some(picker);
                    }
                    p.station_id = Some(e.station_id.clone());
                    p.measured_weight_g = Some(pk.measured_g);
                }
                EventData::OrderHeld(h)
                    if matches!(p.status, OrderStatus::Packing | OrderStatus::Pending) =>
                {
                    p.status = OrderStatus::Held;
                    p.held_reason = Some(h.reason.as_str().to_string());
                }
                EventData::OrderDispatched(_) => {
                    p.status = OrderStatus::Dispatched;
                    p.dispatched_at = Some(e.at);
                }
                EventData::LabelPrinted(_) => p.labels_printed += 1,
                _ => {}
            }
        }
        if order.cancelled && !matches!(p.status, OrderStatus::Packed | OrderStatus::Dispatched) {
            p.status = OrderStatus::Cancelled;
        }
        p
    }

    /// Whether the order left the bench: packed (or handed over). A cancellation after
    /// packing does not unpack it.
    pub fn shipped(&self) -> bool {
        matches!(self.status, OrderStatus::Packed | OrderStatus::Dispatched)
    }

    /// How the order left, as the evidence beside a return of it.
    pub fn pack_record(&self, units_ordered: u32) -> PackRecord {
        let p = self;
        PackRecord {
            packer_id: p.packer_id.clone(),
            picker_id: p.picker_id.clone(),
            station_id: p.station_id.clone(),
            packed_at: p.packed_at,
            dispatched_at: p.dispatched_at,
            measured_g: p.measured_weight_g.filter(|g| !g.is_nan()),
            expected_g: p.expected_weight_g.filter(|g| !g.is_nan()),
            tolerance_g: p.tolerance_g.filter(|g| !g.is_nan()),
            weight_ok: p.weight_ok,
            override_by: p.override_by.clone(),
            labels_printed: p.labels_printed,
            units_scanned: p.scanned.iter().sum(),
            units_ordered,
        }
    }

    /// Units of `sku` back over all the order's returns.
    pub fn returned_of(&self, sku: &str) -> u32 {
        self.returns.iter().map(|r| r.units_of(sku)).sum()
    }

    /// Units scanned of one SKU over all its lines.
    pub fn scanned_of(&self, order: &Order, sku: &str) -> u32 {
        order
            .lines
            .iter()
            .zip(&self.scanned)
            .filter(|(l, _)| l.sku == sku)
            .map(|(_, s)| *s)
            .sum()
    }
}
