//! Audit: who picked and packed what, every weight mismatch, the raw log, and its proof.

pub mod table;

use std::io::Write;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, TimeZone};
use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::event::{EventType, StoredEvent};
use crate::domain::progress::OrderProgress;
use crate::store::{EventFilter, Store, StoreError};

/// Parses `--from`/`--to`: a date (local midnight to end of day) or an RFC 3339 time.
pub fn parse_bound(s: &str, end_of_day: bool) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"))?;
    let t = if end_of_day {
        d.and_hms_milli_opt(23, 59, 59, 999).expect("valid time")
    } else {
        d.and_hms_opt(0, 0, 0).expect("valid time")
    };
    Local
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.fixed_offset())
        .ok_or_else(|| format!("{s:?} does not exist in the local time zone"))
}

#[derive(Debug, Serialize)]
pub struct EventRow {
    pub seq: i64,
    pub at: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: Option<String>,
    pub station_id: String,
    pub data: Value,
}

impl From<&StoredEvent> for EventRow {
    fn from(e: &StoredEvent) -> Self {
        EventRow {
            seq: e.seq,
            at: e.at.to_rfc3339(),
            kind: e.kind.as_str().into(),
            actor: e.actor.clone(),
            station_id: e.station_id.clone(),
            data: Value::Object(e.data.clone()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LineRecord {
    pub sku: String,
    pub qty: u32,
    pub scanned: u32,
    pub gift: bool,
}

#[derive(Debug, Serialize)]
pub struct OrderRecord {
    pub order_no: String,
    pub waybill_no: String,
    pub carrier: String,
    pub recipient: String,
    pub country: String,
    pub buyer_note: String,
    pub status: String,
    pub picker_id: Option<String>,
    pub packer_id: Option<String>,
    pub station_id: Option<String>,
    pub expected_weight_g: Option<f64>,
    pub measured_weight_g: Option<f64>,
    pub tolerance_g: Option<f64>,
    pub weight_ok: Option<bool>,
    pub override_by: Option<String>,
    pub packed_at: Option<String>,
    pub dispatched_at: Option<String>,
    pub held_reason: Option<String>,
    pub labels_printed: u32,
    pub reprints: u32,
    pub lines: Vec<LineRecord>,
    pub events: Vec<EventRow>,
}

/// The full record of one order, found by order number or waybill.
pub fn order_record<S: Store + ?Sized>(
    store: &S,
    code: &str,
) -> Result<Option<OrderRecord>, StoreError> {
    let Some(order) = store.find_order(code)? else {
        return Ok(None);
    };
    let events = store.events(&EventFilter {
        order_no: Some(order.order_no.clone()),
        ..Default::default()
    })?;
    let p = OrderProgress::derive(&order, &events);
    let reprints = events
        .iter()
        .filter(|e| e.kind == EventType::ReprintRequested)
        .count() as u32;
    Ok(Some(OrderRecord {
        lines: order
            .lines
            .iter()
            .zip(&p.scanned)
            .map(|(l, s)| LineRecord {
                sku: l.sku.clone(),
                qty: l.qty,
                scanned: *s,
                gift: l.gift,
            })
            .collect(),
        order_no: order.order_no,
        waybill_no: order.waybill_no,
        carrier: order.carrier,
        recipient: order.recipient,
        country: order.country,
        buyer_note: order.buyer_note,
        status: p.status.as_str().into(),
        picker_id: p.picker_id,
        packer_id: p.packer_id,
        station_id: p.station_id,
        expected_weight_g: p.expected_weight_g,
        measured_weight_g: p.measured_weight_g,
        tolerance_g: p.tolerance_g,
        weight_ok: p.weight_ok,
        override_by: p.override_by,
        packed_at: p.packed_at.map(|t| t.to_rfc3339()),
        dispatched_at: p.dispatched_at.map(|t| t.to_rfc3339()),
        held_reason: p.held_reason,
        labels_printed: p.labels_printed,
        reprints,
        events: events.iter().map(EventRow::from).collect(),
    }))
}

#[derive(Debug, Serialize)]
pub struct PackerOrder {
    pub order_no: String,
    pub role: String,
    pub at: String,
    pub station_id: String,
    pub measured_g: Option<f64>,
    pub expected_g: Option<f64>,
    pub weight_ok: Option<bool>,
    pub override_by: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PackerReport {
    pub id: String,
    pub name: Option<String>,
    pub packed: usize,
    pub picked: usize,
    pub mismatches: usize,
    pub overrides: usize,
    pub rejected_scans: usize,
    pub orders: Vec<PackerOrder>,
    pub mismatch_events: Vec<EventRow>,
}

/// What one person picked and packed in a period, with weights and mismatches.
pub fn packer_report<S: Store + ?Sized>(
    store: &S,
    id: &str,
    from: Option<DateTime<FixedOffset>>,
    to: Option<DateTime<FixedOffset>>,
) -> Result<PackerReport, StoreError> {
    let name = store.employee(id)?.map(|e| e.name);
    let mut r = PackerReport {
        id: id.into(),
        name,
        packed: 0,
        picked: 0,
        mismatches: 0,
        overrides: 0,
        rejected_scans: 0,
        orders: Vec::new(),
        mismatch_events: Vec::new(),
    };
    store.scan_events(
        &EventFilter {
            from,
            to,
            types: vec![
                EventType::OrderPacked.as_str(),
                EventType::WeightChecked.as_str(),
                EventType::ScanRejected.as_str(),
            ],
            ..Default::default()
        },
        &mut |e| {
            match e.kind {
                EventType::OrderPacked => {
                    let packed = e.str("packer_id") == Some(id);
                    let picked = e.str("picker_id") == Some(id);
                    if packed || picked {
                        r.packed += packed as usize;
                        r.picked += picked as usize;
                        if packed && e.str("override_by").is_some() {
                            r.overrides += 1;
                        }
                        let role = match (picked, packed) {
                            (true, true) => "picker+packer",
                            (true, false) => "picker",
                            _ => "packer",
                        };
                        r.orders.push(PackerOrder {
                            order_no: e.order_no.clone().unwrap_or_default(),
                            role: role.into(),
                            at: e.at.to_rfc3339(),
                            station_id: e.station_id.clone(),
                            measured_g: e.f64("measured_g"),
                            expected_g: e.f64("expected_g"),
                            weight_ok: e.bool("weight_ok"),
                            override_by: e.str("override_by").map(str::to_string),
                        });
                    }
                }
                EventType::WeightChecked
                    if e.actor.as_deref() == Some(id) && e.bool("ok") == Some(false) =>
                {
                    r.mismatches += 1;
                    r.mismatch_events.push(EventRow::from(&e));
                }
                EventType::ScanRejected if e.actor.as_deref() == Some(id) => {
                    r.rejected_scans += 1;
                }
                _ => {}
            }
            true
        },
    )?;
    Ok(r)
}

#[derive(Debug, Serialize)]
pub struct MismatchRow {
    pub seq: i64,
    pub at: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub order_no: Option<String>,
    pub station_id: String,
    /// Packer for a mismatch, supervisor for an override.
    pub who: Option<String>,
    pub measured_g: Option<f64>,
    pub expected_g: Option<f64>,
    pub tolerance_g: Option<f64>,
    pub diff_g: Option<f64>,
    /// The hint for a mismatch, the reason for an override.
    pub why: Option<String>,
}

/// Every weight mismatch and every override, oldest first.
pub fn mismatches<S: Store + ?Sized>(
    store: &S,
    from: Option<DateTime<FixedOffset>>,
    to: Option<DateTime<FixedOffset>>,
) -> Result<Vec<MismatchRow>, StoreError> {
    let mut out = Vec::new();
    store.scan_events(
        &EventFilter {
            from,
            to,
            types: vec![
                EventType::WeightChecked.as_str(),
                EventType::Override.as_str(),
            ],
            ..Default::default()
        },
        &mut |e| {
            let is_override = e.kind == EventType::Override;
            if !is_override && e.bool("ok") != Some(false) {
                return true;
            }
            let m = e.f64("measured_g");
            let x = e.f64("expected_g");
            out.push(MismatchRow {
                seq: e.seq,
                at: e.at.to_rfc3339(),
                kind: e.kind.as_str().into(),
                order_no: e.order_no.clone(),
                station_id: e.station_id.clone(),
                who: e.actor.clone(),
                measured_g: m,
                expected_g: x,
                tolerance_g: e.f64("tolerance_g"),
                diff_g: m.zip(x).map(|(m, x)| crate::domain::weight::round2(m - x)),
                why: if is_override {
                    e.str("reason").map(str::to_string)
                } else {
                    e.str("hint").map(str::to_string)
                },
            });
            true
        },
    )?;
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

/// Streams the raw log. CSV starts with a UTF-8 byte-order mark so spreadsheet programs keep
/// Chinese text intact.
pub fn export<S: Store + ?Sized>(
    store: &S,
    format: ExportFormat,
    from: Option<DateTime<FixedOffset>>,
    to: Option<DateTime<FixedOffset>>,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut n = 0u64;
    let mut err: Option<anyhow::Error> = None;
    let filter = EventFilter {
        from,
        to,
        ..Default::default()
    };
    match format {
        ExportFormat::Jsonl => {
            store.scan_events(&filter, &mut |e| {
                let mut line = e.to_line();
                line["hash"] = json!(e.hash);
                match serde_json::to_writer(&mut *out, &line)
                    .map_err(anyhow::Error::from)
                    .and_then(|_| out.write_all(b"\n").map_err(anyhow::Error::from))
                {
                    Ok(()) => {
                        n += 1;
                        true
                    }
                    Err(x) => {
                        err = Some(x);
                        false
                    }
                }
            })?;
        }
        ExportFormat::Csv => {
            out.write_all("\u{feff}".as_bytes())?;
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record([
                "seq",
                "at",
                "type",
                "actor",
                "station_id",
                "order_no",
                "data",
                "hash",
            ])?;
            store.scan_events(&filter, &mut |e| {
                let data = serde_json::to_string(&e.data).unwrap_or_default();
                match w.write_record([
                    e.seq.to_string().as_str(),
                    &e.at.to_rfc3339(),
                    e.kind.as_str(),
                    e.actor.as_deref().unwrap_or(""),
                    &e.station_id,
                    e.order_no.as_deref().unwrap_or(""),
                    &data,
                    &e.hash,
                ]) {
                    Ok(()) => {
                        n += 1;
                        true
                    }
                    Err(x) => {
                        err = Some(x.into());
                        false
                    }
                }
            })?;
            w.flush()?;
        }
    }
    match err {
        Some(e) => Err(e),
        None => Ok(n),
    }
}
