//! An order's state, derived from its events alone: the log is the truth, so a restart or a
//! second bench sees exactly the counts the first one acknowledged.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use serde_json::Value;

use super::event::{EventType, StoredEvent};
use super::order::Order;

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
}

fn alloc_of(e: &StoredEvent) -> Vec<(usize, u32)> {
    e.data
        .get("alloc")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    let p = p.as_array()?;
                    Some((p.first()?.as_u64()? as usize, p.get(1)?.as_u64()? as u32))
                })
                .collect()
        })
        .unwrap_or_default()
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
        };
        for e in events {
            let current = e.str("version").map(|v| v == version).unwrap_or(true);
            match e.kind {
                EventType::OrderLoaded => {
                    if matches!(
                        p.status,
                        OrderStatus::Pending | OrderStatus::Held | OrderStatus::Packing
                    ) {
                        p.status = OrderStatus::Packing;
                    }
                    p.loaded_version = e.str("version").map(str::to_string);
                    p.station_id = Some(e.station_id.clone());
                }
                EventType::OrderReleased if p.status == OrderStatus::Packing => {
                    p.status = OrderStatus::Pending;
                }
                EventType::ItemAccepted => {
                    if !current {
                        p.stale_scans += e.u64("units").unwrap_or(0) as u32;
                        continue;
                    }
                    let alloc = alloc_of(e);
                    for &(line, units) in &alloc {
                        if let Some(s) = p.scanned.get_mut(line) {
                            *s += units;
                        }
                    }
                    p.stack.push(Accepted {
                        sku: e.str("sku").unwrap_or_default().to_string(),
                        alloc,
                    });
                }
                EventType::ScanUndone => {
                    if !current {
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
                EventType::PickerSet => {
                    p.picker_id = e.str("picker_id").map(str::to_string);
                }
                EventType::PackagingSet => {
                    p.packaging = e.str("packaging").map(str::to_string);
                    p.tare_g = e.f64("tare_g");
                }
                EventType::WeightChecked => {
                    p.measured_weight_g = e.f64("measured_g");
                    p.expected_weight_g = e.f64("expected_g");
                    p.tolerance_g = e.f64("tolerance_g");
                    p.weight_ok = e.bool("ok");
                }
                EventType::Override => {
                    p.override_by = e.str("supervisor_id").map(str::to_string);
                }
                EventType::OrderPacked => {
                    p.status = OrderStatus::Packed;
                    p.packed_at = Some(e.at);
                    p.packer_id = e.str("packer_id").map(str::to_string);
                    if let Some(pk) = e.str("picker_id") {
                        p.picker_id = Some(pk.to_string());
                    }
                    p.station_id = Some(e.station_id.clone());
                    if let Some(m) = e.f64("measured_g") {
                        p.measured_weight_g = Some(m);
                    }
                }
                EventType::OrderHeld
                    if matches!(p.status, OrderStatus::Packing | OrderStatus::Pending) =>
                {
                    p.status = OrderStatus::Held;
                    p.held_reason = e.str("reason").map(str::to_string);
                }
                EventType::OrderDispatched => {
                    p.status = OrderStatus::Dispatched;
                    p.dispatched_at = Some(e.at);
                }
                EventType::LabelPrinted => p.labels_printed += 1,
                _ => {}
            }
        }
        if order.cancelled && !matches!(p.status, OrderStatus::Packed | OrderStatus::Dispatched) {
            p.status = OrderStatus::Cancelled;
        }
        p
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
