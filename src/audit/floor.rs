//! The whole floor as sheets (board, review queue, search, reports), for the terminal, CSV
//! and .xlsx alike: the CLI and the console export the same columns.

use chrono::{DateTime, Local, Utc};

use super::sheet::{Cell, Sheet};
use crate::central::{BenchState, BoardRow, Report, ReportRow, ReviewItem, SearchHit};

fn local(t: Option<DateTime<Utc>>) -> Cell {
    t.map(|t| {
        t.with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    })
    .into()
}

/// A rate of the reports as people read it: "12.5 %" (the console shows the same).
pub fn percent(rate: Option<f64>) -> Option<String> {
    rate.map(|x| format!("{:.1} %", x * 100.0))
}

/// Minutes from `t` to `now`, for "holds the order for …".
fn minutes_since(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Cell {
    t.map(|t| (now - t).num_minutes().max(0)).into()
}

/// `central status`: every bench's link, head and what it holds.
pub fn status(benches: &[BenchState]) -> Sheet {
    let mut s = Sheet::new(
        "status",
        &[
            "bench",
            "link",
            "last seen",
            "backlog",
            "central seq",
            "packer",
            "holds",
            "alarms",
        ],
    );
    for b in benches {
        s.push(vec![
            b.station_id.as_str().into(),
            if b.online { "online" } else { "offline" }.into(),
            local(b.last_seen),
            b.backlog.into(),
            b.head_seq.into(),
            b.packer_id.clone().into(),
            b.held_order.clone().into(),
            b.open_alarms.into(),
        ]);
    }
    s
}

pub fn board(rows: &[BoardRow], now: DateTime<Utc>) -> Sheet {
    let mut s = Sheet::new(
        "board",
        &[
            "bench",
            "online",
            "waiting",
            "last seen",
            "packer",
            "name",
            "order held",
            "held min",
            "orders today",
            "units today",
            "orders this hour",
            "last refusal",
            "open alarms",
            "last alarm",
            "devices",
            "backlog",
        ],
    );
    for r in rows {
        let refusal = r.last_refusal.as_ref().map(|v| {
            format!(
                "{} {} {}",
                v.at,
                v.reason.as_deref().unwrap_or(""),
                v.code.as_deref().unwrap_or("")
            )
            .trim()
            .to_string()
        });
        let devices = r
            .devices
            .iter()
            .map(|(d, s)| format!("{d} {s}"))
            .collect::<Vec<_>>()
            .join(", ");
        // "weight_mismatch H1001 4 min": who needs a supervisor, first on the board.
        let waiting = r.waiting.as_ref().map(|w| {
            format!(
                "{} {} {} min",
                w.cause,
                w.order_no.as_deref().unwrap_or(""),
                (now - w.since).num_minutes().max(0)
            )
        });
        s.push(vec![
            r.station_id.as_str().into(),
            if r.online { "yes" } else { "NO" }.into(),
            waiting.into(),
            local(r.last_seen),
            r.packer_id.clone().into(),
            r.packer_name.clone().into(),
            r.held_order.clone().into(),
            minutes_since(r.held_since, now),
            r.orders_today.into(),
            r.units_today.into(),
            r.orders_this_hour.into(),
            refusal.into(),
            r.open_alarms.into(),
            r.last_alarm.clone().into(),
            devices.into(),
            r.backlog.into(),
        ]);
    }
    s
}

pub fn review(items: &[ReviewItem]) -> Sheet {
    let mut s = Sheet::new(
        "review",
        &[
            "item",
            "kind",
            "at",
            "bench",
            "order",
            "who",
            "detail",
            "reviewed by",
            "reviewed at",
            "note",
        ],
    );
    for i in items {
        s.push(vec![
            i.id.as_str().into(),
            i.kind.as_str().into(),
            local(Some(i.at)),
            i.station_id.clone().into(),
            i.order_no.clone().into(),
            i.actor.clone().into(),
            i.detail.as_str().into(),
            i.reviewed_by.clone().into(),
            local(i.reviewed_at),
            i.note.clone().into(),
        ]);
    }
    s
}

pub fn search(hits: &[SearchHit]) -> Sheet {
    let mut s = Sheet::new("search", &["kind", "key", "what", "bench", "state"]);
    for h in hits {
        s.push(vec![
            h.kind.as_str().into(),
            h.key.as_str().into(),
            h.label.as_str().into(),
            h.station_id.clone().into(),
            h.state.clone().into(),
        ]);
    }
    s
}

fn report_rows(title: &str, first: &str, rows: &[ReportRow], named: bool) -> Sheet {
    let mut headers = vec![first];
    if named {
        headers.push("name");
    }
    headers.extend([
        "orders",
        "units",
        "wrong items caught",
        "mismatches",
        "overrides",
        "reprints",
        "errors after shipping",
        "orders with caught error",
        "caught error rate",
        "orders with packing error",
        "packing error rate",
    ]);
    let mut s = Sheet::new(title, &headers);
    for r in rows {
        let mut row: Vec<Cell> = vec![r.key.as_str().into()];
        if named {
            row.push(r.name.clone().into());
        }
        row.extend([
            r.orders.into(),
            r.units.into(),
            r.wrong_items_caught.into(),
            r.mismatches.into(),
            r.overrides.into(),
            r.reprints.into(),
            r.errors_after_shipping.into(),
            r.orders_with_caught_error.into(),
            percent(r.caught_error_rate).into(),
            r.orders_with_packing_error.into(),
            percent(r.packing_error_rate).into(),
        ]);
        s.push(row);
    }
    s
}

/// Two sheets: per packer, then per bench.
pub fn report(r: &Report) -> [Sheet; 2] {
    [
        report_rows("per packer", "packer", &r.per_packer, true),
        report_rows("per bench", "bench", &r.per_bench, false),
    ]
}
