//! Audit: who picked and packed what, every weight mismatch, the raw log, and its proof.

pub mod floor;
pub mod returns;
pub mod sheet;
pub mod table;
pub mod tables;
pub mod verify;

pub use verify::{check_log, read_checkpoint, CheckError, LogSource};

use std::io::Write;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, TimeZone};
use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::event::{
    EventData, EventType, OrderPacked, RejectReason, ReturnClosed, ScanRejected, StoredEvent,
    WeightChecked,
};
use crate::domain::progress::OrderProgress;
use crate::store::{EventFilter, Store, StoreError};

/// A `--from`/`--to` that names no time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundError {
    #[error("{0:?} is not a date (YYYY-MM-DD) or an RFC 3339 time")]
    NotADate(String),
    #[error("{0:?} does not exist in the local time zone")]
    NotLocal(String),
}

/// Parses `--from`/`--to`: a date (local midnight to end of day) or an RFC 3339 time.
pub fn parse_bound(s: &str, end_of_day: bool) -> Result<DateTime<FixedOffset>, BoundError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| BoundError::NotADate(s.to_string()))?;
    let t = if end_of_day {
        d.and_hms_milli_opt(23, 59, 59, 999).expect("valid time")
    } else {
        d.and_hms_opt(0, 0, 0).expect("valid time")
    };
    Local
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.fixed_offset())
        .ok_or_else(|| BoundError::NotLocal(s.to_string()))
}

/// Midnight today, local time: where "today" starts for the floor's board.
pub fn start_of_today() -> DateTime<chrono::Utc> {
    Local::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| Local.from_local_datetime(&t).earliest())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now)
}

/// A report's period from `--from`/`--to` as given: each a date or a time, today when not
/// given; the end inclusive (one millisecond past the last moment, for a half-open range).
pub fn report_period(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(DateTime<chrono::Utc>, DateTime<chrono::Utc>), BoundError> {
    let today = Local::now().format("%Y-%m-%d").to_string();
    let from = parse_bound(from.unwrap_or(&today), false)?.with_timezone(&chrono::Utc);
    let to = parse_bound(to.unwrap_or(&today), true)?.with_timezone(&chrono::Utc)
        + chrono::Duration::milliseconds(1);
    Ok((from, to))
}

/// Since when the review queue is shown: `--from` as given, else 7 days ago.
pub fn review_since(from: Option<&str>) -> Result<DateTime<chrono::Utc>, BoundError> {
    Ok(match from {
        Some(s) => parse_bound(s, false)?.with_timezone(&chrono::Utc),
        None => chrono::Utc::now() - chrono::Duration::days(7),
    })
}

/// A stored weight as the reports show it: a reading that was not a number (stored as
/// `null`) is no weight.
fn grams(g: f64) -> Option<f64> {
    (!g.is_nan()).then_some(g)
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

/// One line of an event's own fields, `key=value` joined by `separator`: nulls and the bulky
/// fields (order lines, allocations, the hint's parts, the version hash) and any in
/// `leave_out` are left out. Shared by `audit order` and the supervisor view's timeline.
pub fn event_summary(data: &Value, leave_out: &[&str], separator: &str) -> String {
    shown_fields(data, leave_out)
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(separator)
}

/// The fields of an event a summary shows (see [`event_summary`]), in the log's order.
pub fn shown_fields<'a>(
    data: &'a Value,
    leave_out: &'a [&str],
) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
    data.as_object()
        .into_iter()
        .flatten()
        .filter(move |(k, v)| {
            !v.is_null()
                && !matches!(k.as_str(), "lines" | "alloc" | "hint_detail" | "version")
                && !leave_out.contains(&k.as_str())
        })
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
    /// Returns checked in for the order (their events are among `events` too).
    pub returns: Vec<returns::ReturnRow>,
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
        order_no: order.order_no.clone(),
        waybill_no: order.waybill_no.clone(),
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
        returns: p
            .returns
            .iter()
            .map(|r| returns::row(r, &order.waybill_no))
            .collect(),
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

/// A return that confirmed a packing claim against an order this person packed or picked.
#[derive(Debug, Serialize)]
pub struct PackingError {
    pub order_no: String,
    pub return_id: String,
    /// `wrong_item_sent` or `missing_item`.
    pub reason: String,
    /// `packer`, `picker` or `picker+packer`.
    pub role: String,
    /// When the return was closed.
    pub at: String,
    pub station_id: String,
    pub handler_id: String,
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
    /// Returns closed in the period whose check-in confirmed a wrong or missing item of an
    /// order this person packed or picked.
    pub packing_errors: usize,
    /// Orders packed or picked in the period in which a wrong, extra or unknown item was
    /// refused or a weighing failed: each order once.
    pub orders_with_caught_error: usize,
    /// `orders_with_caught_error` over the orders packed or picked (`null` without any).
    pub caught_error_rate: Option<f64>,
    /// Orders packed or picked in the period whose return (closed whenever) confirmed a
    /// packing error: each order once.
    pub orders_with_packing_error: usize,
    /// `orders_with_packing_error` over the orders packed or picked (`null` without any).
    pub packing_error_rate: Option<f64>,
    pub orders: Vec<PackerOrder>,
    pub mismatch_events: Vec<EventRow>,
    pub packing_error_returns: Vec<PackingError>,
}

/// A refusal that stopped a wrong, extra or unknown item going into a parcel: what the
/// reports count as a caught error (the centre's `pb_work_of` names the same three).
fn catches_a_wrong_item(reason: RejectReason) -> bool {
    matches!(
        reason,
        RejectReason::NotInOrder | RejectReason::OverQuantity | RejectReason::UnknownBarcode
    )
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
        packing_errors: 0,
        orders_with_caught_error: 0,
        caught_error_rate: None,
        orders_with_packing_error: 0,
        packing_error_rate: None,
        orders: Vec::new(),
        mismatch_events: Vec::new(),
        packing_error_returns: Vec::new(),
    };
    // Orders with a wrong, extra or unknown item refused or a weighing failed.
    let mut caught = std::collections::BTreeSet::new();
    store.scan_events(
        &EventFilter {
            from,
            to,
            types: vec![
                EventType::OrderPacked.as_str(),
                EventType::WeightChecked.as_str(),
                EventType::ScanRejected.as_str(),
                EventType::ReturnClosed.as_str(),
            ],
            ..Default::default()
        },
        &mut |e| {
            match e.kind {
                EventType::ReturnClosed => {
                    let Some(c) = e.payload_as::<ReturnClosed>() else {
                        return true;
                    };
                    let packed = c.packer_id.as_deref() == Some(id);
                    let picked = c.picker_id.as_deref() == Some(id);
                    if (packed || picked) && crate::domain::returns::counts_as_packing_error(&c) {
                        r.packing_errors += 1;
                        r.packing_error_returns.push(PackingError {
                            order_no: e.order_no.clone().unwrap_or_default(),
                            return_id: c.return_id,
                            reason: c.reason.as_str().into(),
                            role: match (picked, packed) {
                                (true, true) => "picker+packer",
                                (true, false) => "picker",
                                _ => "packer",
                            }
                            .into(),
                            at: e.at.to_rfc3339(),
                            station_id: e.station_id.clone(),
                            handler_id: c.handler_id,
                        });
                    }
                }
                EventType::OrderPacked => {
                    let Some(p) = e.payload_as::<OrderPacked>() else {
                        return true;
                    };
                    let packed = p.packer_id.as_deref() == Some(id);
                    let picked = p.picker_id.as_deref() == Some(id);
                    if packed || picked {
                        r.packed += packed as usize;
                        r.picked += picked as usize;
                        if packed && p.override_by.is_some() {
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
                            measured_g: grams(p.measured_g),
                            expected_g: grams(p.expected_g),
                            weight_ok: Some(p.weight_ok),
                            override_by: p.override_by,
                        });
                    }
                }
                EventType::WeightChecked
                    if e.payload_as::<WeightChecked>().is_some_and(|w| !w.ok) =>
                {
                    caught.extend(e.order_no.clone());
                    if e.actor.as_deref() == Some(id) {
                        r.mismatches += 1;
                        r.mismatch_events.push(EventRow::from(&e));
                    }
                }
                EventType::ScanRejected => {
                    if e.payload_as::<ScanRejected>()
                        .is_some_and(|s| catches_a_wrong_item(s.reason))
                    {
                        caught.extend(e.order_no.clone());
                    }
                    if e.actor.as_deref() == Some(id) {
                        r.rejected_scans += 1;
                    }
                }
                _ => {}
            }
            true
        },
    )?;
    // A return may close after the period: every confirmed one in the log counts for the
    // order it is of.
    let mut returned = std::collections::BTreeSet::new();
    store.scan_events(
        &EventFilter {
            types: vec![EventType::ReturnClosed.as_str()],
            ..Default::default()
        },
        &mut |e| {
            if e.payload_as::<ReturnClosed>()
                .is_some_and(|c| crate::domain::returns::counts_as_packing_error(&c))
            {
                returned.extend(e.order_no.clone());
            }
            true
        },
    )?;
    let orders: std::collections::BTreeSet<&str> =
        r.orders.iter().map(|o| o.order_no.as_str()).collect();
    let n = orders.len() as i64;
    r.orders_with_caught_error = orders.iter().filter(|o| caught.contains(**o)).count();
    r.orders_with_packing_error = orders.iter().filter(|o| returned.contains(**o)).count();
    r.caught_error_rate = crate::central::per_order_rate(r.orders_with_caught_error as i64, n);
    r.packing_error_rate = crate::central::per_order_rate(r.orders_with_packing_error as i64, n);
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
    /// The same, as the event has it, for a screen to say in its language.
    #[serde(skip)]
    pub why_of: Option<Why>,
}

/// What a mismatch row's `why` says, for words.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    Hint(crate::domain::weight::Hint),
    Reason(crate::domain::event::ApprovalReason),
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
            let (m, x, tolerance, why, why_of) = match e.payload() {
                Some(EventData::WeightChecked(w)) if !w.ok => (
                    w.measured_g,
                    w.expected_g,
                    w.tolerance_g,
                    w.hint,
                    w.hint_detail.map(Why::Hint),
                ),
                Some(EventData::Override(o)) => (
                    o.measured_g,
                    o.expected_g,
                    o.tolerance_g,
                    Some(o.reason.as_str().to_string()),
                    Some(Why::Reason(o.reason)),
                ),
                _ => return true,
            };
            let (m, x) = (grams(m), grams(x));
            out.push(MismatchRow {
                seq: e.seq,
                at: e.at.to_rfc3339(),
                kind: e.kind.as_str().into(),
                order_no: e.order_no.clone(),
                station_id: e.station_id.clone(),
                who: e.actor.clone(),
                measured_g: m,
                expected_g: x,
                tolerance_g: grams(tolerance),
                diff_g: m.zip(x).map(|(m, x)| crate::domain::weight::round2(m - x)),
                why,
                why_of,
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

/// A CSV cell a spreadsheet will not run (the one rule of every export: [`sheet::neutralise`]).
pub use sheet::neutralise as csv_cell;

/// Why the raw log could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("event {0} does not read")]
    Unreadable(i64),
}

/// One JSON line of the export.
fn write_line(out: &mut dyn Write, line: &Value) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Streams the raw log. CSV starts with a UTF-8 byte-order mark so spreadsheet programs keep
/// Chinese text intact.
pub fn export<S: Store + ?Sized>(
    store: &S,
    format: ExportFormat,
    from: Option<DateTime<FixedOffset>>,
    to: Option<DateTime<FixedOffset>>,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let mut n = 0u64;
    let mut err: Option<ExportError> = None;
    let filter = EventFilter {
        from,
        to,
        ..Default::default()
    };
    // Each event written, or the first failure kept and the walk stopped.
    let mut wrote = |r: Result<(), ExportError>| match r {
        Ok(()) => {
            n += 1;
            true
        }
        Err(x) => {
            err = Some(x);
            false
        }
    };
    match format {
        ExportFormat::Jsonl => {
            // From a bench's own log each line carries its chain fields as stored, so the
            // export can be re-verified offline; the central log (one chain per bench) has
            // no single chain to give, and its lines go without.
            let mut chained = true;
            let walked = store.scan_chain(0, &mut |r| {
                let Some(e) = r.to_event() else {
                    return wrote(Err(ExportError::Unreadable(r.seq)));
                };
                if !filter.admits(&e) {
                    return true;
                }
                let mut line = e.to_line();
                line["hash"] = json!(e.hash);
                line["chain"] = json!(crate::store::chain::ExportedChain::from(&r));
                wrote(write_line(&mut *out, &line))
            });
            if let Err(StoreError::Invalid(_)) = walked {
                chained = false;
            } else {
                walked?;
            }
            if !chained {
                store.scan_events(&filter, &mut |e| {
                    let mut line = e.to_line();
                    line["hash"] = json!(e.hash);
                    wrote(write_line(&mut *out, &line))
                })?;
            }
        }
        ExportFormat::Csv => {
            let mut w = sheet::CsvWriter::new(&mut *out)?;
            w.text_row([
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
                wrote(
                    w.text_row([
                        e.seq.to_string().as_str(),
                        &e.at.to_rfc3339(),
                        e.kind.as_str(),
                        e.actor.as_deref().unwrap_or(""),
                        &e.station_id,
                        e.order_no.as_deref().unwrap_or(""),
                        &data,
                        &e.hash,
                    ])
                    .map_err(ExportError::from),
                )
            })?;
            w.flush()?;
        }
    }
    match err {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_never_start_a_formula() {
        for (cell, shown) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("TB20261122001", "TB20261122001"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(cell), shown);
        }
    }

    #[test]
    fn summary_leaves_out_nulls_and_bulky_fields() {
        let m = json!({"sku": "A", "lines": [1], "aim": null, "units": 2, "name": "x"});
        assert_eq!(event_summary(&m, &[], " "), "name=x sku=A units=2");
        assert_eq!(event_summary(&m, &["name"], "  "), "sku=A  units=2");
    }
}
