//! The console's answers as rows for its window: the bench board and its tallies, the review
//! queue, search hits and the reports. Pure functions of the centre's rows and the time.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};

use super::model;
use super::worker::Week;
use crate::central::{self, BoardRow, HourlyRow, LastRefusal, Report, ReviewItem, SearchHit};
use crate::domain::event::DeviceStatus;
use crate::text;
use crate::text::{Lang, Text};
use crate::ui::adapter::plain;
use crate::ui::{BenchRow, FloorHit, HitKind, ReportLine, ReviewRow, Severity, Tally};

/// One tally above the board: its name in both languages (the window shows the one of its
/// language), its value the same in both.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Count {
    /// Stable across languages: the tally's accessible name ("tally online").
    pub key: &'static str,
    pub label: Text,
    pub value: String,
    pub level: Severity,
}

impl Count {
    pub fn row(&self, lang: Lang) -> Tally {
        Tally {
            key: self.key.into(),
            label: self.label.pick(lang).into(),
            value: self.value.as_str().into(),
            level: self.level,
        }
    }
}

/// "12 min", "1 h 05".
fn held_for(since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(s) = since else { return String::new() };
    let m = (now - s).num_minutes().max(0);
    if m < 60 {
        format!("{m} min")
    } else {
        format!("{} h {:02}", m / 60, m % 60)
    }
}

fn refusal_text(r: &LastRefusal) -> String {
    // HH:MM of the bench's own time.
    let at = r.at.get(11..16).unwrap_or(&r.at);
    plain(&format!(
        "{at} {} {}",
        r.reason.as_deref().unwrap_or(""),
        r.code.as_deref().unwrap_or("")
    ))
    .trim()
    .to_string()
}

/// The board's rows and the tallies above them. Hours run from the floor's first busy hour
/// today to now, each bar scaled against the busiest bench-hour.
pub(super) fn board_rows(
    rows: &[BoardRow],
    hourly: &[HourlyRow],
    at: DateTime<FixedOffset>,
) -> (Vec<BenchRow>, Vec<Count>) {
    let now = at.with_timezone(&Utc);
    let first = hourly.iter().map(|h| h.hour).min();
    let last_hour = hourly.iter().map(|h| h.hour).max().max(first);
    let span = match (first, last_hour) {
        (Some(a), Some(b)) => ((b - a).num_hours().max(0) as usize + 1).min(24),
        _ => 0,
    };
    let peak = hourly.iter().map(|h| h.orders).max().unwrap_or(0).max(1) as f32;
    let mut per: BTreeMap<&str, Vec<f32>> = BTreeMap::new();
    if let Some(first) = first {
        for h in hourly {
            let i = (h.hour - first).num_hours() as usize;
            if i < span {
                per.entry(h.station_id.as_str())
                    .or_insert_with(|| vec![0.0; span])[i] = h.orders as f32 / peak;
            }
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let lost: Vec<String> = r
            .devices
            .iter()
            .filter(|(_, s)| DeviceStatus::parse(s).is_some_and(DeviceStatus::is_lost))
            .map(|(d, s)| format!("{d} {s}"))
            .collect();
        let devices = if r.devices.is_empty() {
            String::new()
        } else if lost.is_empty() {
            format!("{} ok", r.devices.len())
        } else {
            lost.join(", ")
        };
        let trouble = if r.open_alarms > 0 {
            format!(
                "{} alarm(s): {}",
                r.open_alarms,
                r.last_alarm.as_deref().unwrap_or("")
            )
        } else {
            r.last_refusal
                .as_ref()
                .map(refusal_text)
                .unwrap_or_default()
        };
        out.push(BenchRow {
            station: plain(&r.station_id).into(),
            online: r.online,
            who: match (&r.packer_id, &r.packer_name) {
                (Some(id), Some(n)) => format!("{id} {}", plain(n)),
                (Some(id), None) => id.clone(),
                _ => String::new(),
            }
            .into(),
            order: r.held_order.clone().unwrap_or_default().into(),
            held_for: held_for(r.held_since, now).into(),
            orders: r.orders_today as i32,
            units: r.units_today as i32,
            this_hour: r.orders_this_hour as i32,
            hours: model(
                per.get(r.station_id.as_str())
                    .cloned()
                    .unwrap_or_else(|| vec![0.0; span]),
            ),
            devices: devices.into(),
            backlog: r.backlog.map(|b| b.to_string()).unwrap_or_default().into(),
            trouble: trouble.into(),
            level: if r.trouble >= 10 {
                Severity::Error
            } else if r.trouble > 0 {
                Severity::Warning
            } else {
                Severity::Ok
            },
        });
    }
    let online = rows.iter().filter(|r| r.online).count();
    let troubled = rows.iter().filter(|r| r.trouble > 0).count();
    let sum = |f: fn(&BoardRow) -> i64| rows.iter().map(f).sum::<i64>();
    let tally = |key: &'static str, label: Text, value: String, level: Severity| Count {
        key,
        label,
        value,
        level,
    };
    let tallies = vec![
        tally(
            "online",
            text!("console.tally_online"),
            format!("{online} / {}", rows.len()),
            if online < rows.len() {
                Severity::Warning
            } else {
                Severity::Ok
            },
        ),
        tally(
            "orders",
            text!("console.tally_orders"),
            sum(|r| r.orders_today).to_string(),
            Severity::Ok,
        ),
        tally(
            "units",
            text!("console.tally_units"),
            sum(|r| r.units_today).to_string(),
            Severity::Ok,
        ),
        tally(
            "this hour",
            text!("console.tally_this_hour"),
            sum(|r| r.orders_this_hour).to_string(),
            Severity::Ok,
        ),
        tally(
            "trouble",
            text!("console.tally_trouble"),
            troubled.to_string(),
            if troubled > 0 {
                Severity::Error
            } else {
                Severity::Ok
            },
        ),
        tally(
            "unsynced",
            text!("console.tally_unsynced"),
            sum(|r| r.backlog.unwrap_or(0)).to_string(),
            Severity::Ok,
        ),
    ];
    (out, tallies)
}

/// A time as the console shows it: the clock time today, else the date too.
fn when(t: DateTime<Utc>, now: DateTime<FixedOffset>) -> String {
    let t = t.with_timezone(now.offset());
    if t.date_naive() == now.date_naive() {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%m-%d %H:%M").to_string()
    }
}

pub(super) fn review_row(i: &ReviewItem, now: DateTime<FixedOffset>) -> ReviewRow {
    let reviewed = i.reviewed_by.is_some();
    ReviewRow {
        id: i.id.clone().into(),
        kind: i.kind.clone().into(),
        at: when(i.at, now).into(),
        station: plain(i.station_id.as_deref().unwrap_or("")).into(),
        order: plain(i.order_no.as_deref().unwrap_or("")).into(),
        actor: plain(i.actor.as_deref().unwrap_or("")).into(),
        detail: plain(&i.detail).into(),
        reviewed,
        reviewed_text: if reviewed {
            format!(
                "{} {} · {}",
                i.reviewed_by.as_deref().unwrap_or(""),
                i.reviewed_at.map(|t| when(t, now)).unwrap_or_default(),
                plain(i.note.as_deref().unwrap_or(""))
            )
        } else {
            String::new()
        }
        .into(),
        level: match i.kind.as_str() {
            "override" | "hold" | "device_lost" => Severity::Warning,
            _ => Severity::Error,
        },
    }
}

pub(super) fn hit_row(h: &SearchHit) -> FloorHit {
    let detail = [
        h.state.as_deref().unwrap_or(""),
        h.station_id.as_deref().unwrap_or(""),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" · ");
    FloorHit {
        kind: match h.kind {
            central::HitKind::Order => HitKind::Order,
            central::HitKind::Employee => HitKind::Person,
            central::HitKind::Sku => HitKind::Sku,
        },
        key: plain(&h.key).into(),
        title: format!("{} · {}", plain(&h.key), plain(&h.label)).into(),
        detail: detail.into(),
    }
}

/// Errors per order: wrong items stopped at the bench, weight mismatches and errors found
/// after shipping, over the orders packed.
pub(super) fn error_rate(r: &crate::central::ReportRow) -> Option<f64> {
    (r.orders > 0).then(|| {
        (r.wrong_items_caught + r.mismatches + r.errors_after_shipping) as f64 / r.orders as f64
    })
}

pub(super) fn pct(x: Option<f64>) -> String {
    x.map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

pub(super) fn report_rows(
    report: &Report,
    weeks: &[Week],
) -> (Vec<ReportLine>, Vec<ReportLine>, String) {
    let mut rates: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
    for (i, w) in weeks.iter().enumerate() {
        for r in &w.report.per_packer {
            rates
                .entry(r.key.as_str())
                .or_insert_with(|| vec![None; weeks.len()])[i] = error_rate(r);
        }
    }
    let peak = rates
        .values()
        .flatten()
        .flatten()
        .fold(0.0f64, |a, &b| a.max(b));
    let line = |r: &crate::central::ReportRow, packer: bool| {
        let w = rates.get(r.key.as_str());
        ReportLine {
            key: plain(&r.key).into(),
            name: plain(r.name.as_deref().unwrap_or("")).into(),
            orders: r.orders as i32,
            units: r.units as i32,
            wrong: r.wrong_items_caught as i32,
            mismatches: r.mismatches as i32,
            overrides: r.overrides as i32,
            reprints: r.reprints as i32,
            after: r.errors_after_shipping as i32,
            rate: pct(error_rate(r)).into(),
            weeks: model(if packer {
                w.map(|w| {
                    w.iter()
                        .map(|x| match x {
                            Some(x) if peak > 0.0 => (*x / peak) as f32,
                            _ => 0.0,
                        })
                        .collect()
                })
                .unwrap_or_else(|| vec![0.0; weeks.len()])
            } else {
                vec![]
            }),
            weeks_text: w
                .map(|w| w.iter().map(|x| pct(*x)).collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
                .into(),
        }
    };
    let packers = report.per_packer.iter().map(|r| line(r, true)).collect();
    let benches = report.per_bench.iter().map(|r| line(r, false)).collect();
    let caption = match (weeks.first(), weeks.last()) {
        (Some(a), Some(b)) => format!(
            "{} – {} ({} wk, max {})",
            a.start.format("%m-%d"),
            (b.start + chrono::Duration::days(6)).format("%m-%d"),
            weeks.len(),
            pct(Some(peak))
        ),
        _ => String::new(),
    };
    (packers, benches, caption)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn bench(id: &str, online: bool, trouble: i64) -> BoardRow {
        BoardRow {
            station_id: id.into(),
            online,
            last_seen: None,
            packer_id: Some("E003".into()),
            packer_name: Some("张伟".into()),
            held_order: Some("TB1".into()),
            held_since: Some(t("2026-11-22T01:50:00Z")),
            orders_today: 12,
            units_today: 30,
            orders_this_hour: 3,
            last_refusal: Some(LastRefusal {
                seq: 7,
                at: "2026-11-22T09:58:01+08:00".into(),
                reason: Some("not_in_order".into()),
                code: Some("69\u{1b}1".into()),
                detail: None,
            }),
            open_alarms: 0,
            last_alarm: None,
            devices: vec![
                ("scale".into(), "connected".into()),
                ("printer".into(), "error".into()),
            ],
            backlog: Some(4),
            waiting: None,
            trouble,
        }
    }

    #[test]
    fn board_rows_scale_hours_and_say_what_is_wrong() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:05:00+08:00").unwrap();
        let hourly = vec![
            HourlyRow {
                station_id: "B1".into(),
                hour: t("2026-11-22T00:00:00Z"),
                orders: 10,
            },
            HourlyRow {
                station_id: "B1".into(),
                hour: t("2026-11-22T02:00:00Z"),
                orders: 5,
            },
            HourlyRow {
                station_id: "B2".into(),
                hour: t("2026-11-22T01:00:00Z"),
                orders: 20,
            },
        ];
        let (rows, tallies) = board_rows(
            &[bench("B1", true, 10), bench("B2", false, 100)],
            &hourly,
            at,
        );
        let hours = |i: usize| -> Vec<f32> {
            use slint::Model;
            rows[i].hours.iter().collect()
        };
        assert_eq!(hours(0), vec![0.5, 0.0, 0.25]);
        assert_eq!(hours(1), vec![0.0, 1.0, 0.0]);
        assert_eq!(rows[0].held_for, "15 min");
        assert_eq!(rows[0].devices, "printer error");
        assert_eq!(rows[0].level, Severity::Error);
        // A control byte in a scanned code is shown as data, never sent to the screen raw.
        assert!(!rows[0].trouble.contains('\u{1b}'), "{}", rows[0].trouble);
        assert!(
            rows[0].trouble.starts_with("09:58 not_in_order"),
            "{}",
            rows[0].trouble
        );
        assert_eq!(tallies[0].value, "1 / 2");
        // The names follow the window's language, the accessible key does not.
        let zh: Vec<Tally> = tallies.iter().map(|t| t.row(Lang::Zh)).collect();
        assert_eq!(
            (zh[0].key.as_str(), zh[0].label.as_str()),
            ("online", "在线")
        );
        assert_eq!(zh[3].label, "本小时");
        assert_eq!(tallies[3].row(Lang::En).label, "this hour");
        assert_eq!(tallies[1].value, "24");
        assert_eq!(tallies[4].value, "2");
        assert_eq!(tallies[5].value, "8");
    }

    #[test]
    fn error_rates_count_caught_mismatched_and_shipped_errors_per_order() {
        let r = crate::central::ReportRow {
            key: "E003".into(),
            orders: 40,
            wrong_items_caught: 1,
            mismatches: 2,
            errors_after_shipping: 1,
            ..Default::default()
        };
        assert_eq!(pct(error_rate(&r)), "10.0 %");
        assert_eq!(pct(error_rate(&Default::default())), "—");
    }
}
