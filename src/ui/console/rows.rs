//! The console's answers as rows for its window: the bench board and its tallies, the review
//! queue, search hits and the reports. Pure functions of the centre's rows and the time.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};

use super::model;
use super::worker::Week;
use crate::audit::floor::percent;
use crate::central::{
    self, BoardRow, HourlyRow, LastRefusal, Report, ReviewItem, SearchHit, Waiting,
};
use crate::domain::commands::{Command, HoldReason};
use crate::domain::event::{ApprovalReason, DeviceStatus, RejectReason};
use crate::text;
use crate::text::{Lang, Text, Words};
use crate::ui::adapter::{plain, reason_words};
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
fn held_for(since: Option<DateTime<Utc>>, now: DateTime<Utc>, l: Lang) -> String {
    let Some(s) = since else { return String::new() };
    let m = (now - s).num_minutes().max(0);
    if m < 60 {
        text!("console.minutes", m = m).pick(l).to_string()
    } else {
        text!(
            "console.hours_minutes",
            h = m / 60,
            m = format!("{:02}", m % 60)
        )
        .pick(l)
        .to_string()
    }
}

/// A cause of waiting, as in `override`, in words; a cause this console does not know yet
/// is shown as it came.
pub(super) fn cause_words(cause: &str) -> Words {
    match cause {
        "weight_mismatch" => text!("console.cause_weight_mismatch").words(),
        "picker_unknown" => text!("console.cause_picker_unknown").words(),
        "dispatch_weight_mismatch" => text!("console.cause_dispatch_weight_mismatch").words(),
        other => Words::same(plain(other)),
    }
}

/// A review item's kind in words.
fn kind_words(kind: &str) -> Words {
    match kind {
        "override" => text!("console.kind_override").words(),
        "hold" => text!("console.kind_hold").words(),
        "device_lost" => text!("console.kind_device_lost").words(),
        "badge_locked" => text!("console.kind_badge_locked").words(),
        "claim_conflict" => text!("console.kind_claim_conflict").words(),
        "unbacked_packed" => text!("console.kind_unbacked_packed").words(),
        "packaging_after_mismatch" => text!("console.kind_packaging_after_mismatch").words(),
        "fork" | "bad_chain" | "bad_hash" | "gap" | "bad_event" => {
            text!("console.kind_log").words()
        }
        cause => cause_words(cause),
    }
}

/// A device and its state in words ("printer error" / 「打印机故障」).
fn device_words(device: &str, state: &str) -> Words {
    let device = match device {
        "scale" => text!("console.device_scale").words(),
        "scanner" => text!("console.device_scanner").words(),
        "printer" => text!("console.device_printer").words(),
        other => Words::same(plain(other)),
    };
    let state = match DeviceStatus::parse(state) {
        Some(DeviceStatus::Disconnected) => text!("console.state_disconnected").words(),
        Some(DeviceStatus::Error) => text!("console.state_error").words(),
        _ => Words::same(plain(state)),
    };
    text!("console.device_state", device = device, state = state)
}

/// A person as the console names them: the name, the id in brackets ("张伟 (E003)"); the id
/// alone when the centre has no name for it.
pub(super) fn person(id: Option<&str>, name: Option<&str>) -> String {
    match (id, name) {
        (Some(id), Some(n)) if !n.is_empty() => format!("{} ({})", plain(n), plain(id)),
        (Some(id), _) => plain(id),
        _ => String::new(),
    }
}

fn refusal_text(r: &LastRefusal, l: Lang) -> String {
    // HH:MM of the bench's own time.
    let at = r.at.get(11..16).unwrap_or(&r.at);
    let reason = r
        .reason
        .as_deref()
        .map(|why| {
            serde_json::from_value::<RejectReason>(serde_json::Value::String(why.into()))
                .map(|r| reason_words(r).pick(l).to_string())
                .unwrap_or_else(|_| why.to_string())
        })
        .unwrap_or_default();
    plain(&format!(
        "{at} {reason} {}",
        r.code.as_deref().unwrap_or("")
    ))
    .trim()
    .to_string()
}

/// Minutes a bench has waited for a supervisor, and whether that is past
/// [`super::WAITING_RED_AFTER`].
fn waited(w: &Waiting, now: DateTime<Utc>) -> (i64, bool) {
    let waited = (now - w.since).max(chrono::Duration::zero());
    (
        waited.num_minutes(),
        waited.to_std().unwrap_or_default() >= super::WAITING_RED_AFTER,
    )
}

/// The board's rows and the tallies above them. Hours run from the floor's first busy hour
/// today to now, each bar scaled against the busiest bench-hour.
pub(super) fn board_rows(
    rows: &[BoardRow],
    hourly: &[HourlyRow],
    at: DateTime<FixedOffset>,
    l: Lang,
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
            .map(|(d, s)| device_words(d, s).pick(l).to_string())
            .collect();
        let devices = if r.devices.is_empty() {
            String::new()
        } else if lost.is_empty() {
            text!("console.devices_ok", n = r.devices.len())
                .pick(l)
                .to_string()
        } else {
            lost.join(", ")
        };
        let trouble = if r.open_alarms > 0 {
            text!(
                "console.alarms",
                n = r.open_alarms,
                last = plain(r.last_alarm.as_deref().unwrap_or(""))
            )
            .pick(l)
            .to_string()
        } else {
            r.last_refusal
                .as_ref()
                .map(|x| refusal_text(x, l))
                .unwrap_or_default()
        };
        let (waiting, waiting_late) = match &r.waiting {
            Some(w) => {
                let (minutes, late) = waited(w, now);
                let said = text!(
                    "console.waiting",
                    cause = cause_words(&w.cause),
                    order = plain(w.order_no.as_deref().unwrap_or("")),
                    minutes = minutes
                );
                (said.pick(l).to_string(), late)
            }
            None => (String::new(), false),
        };
        out.push(BenchRow {
            station: plain(&r.station_id).into(),
            online: r.online,
            who: person(r.packer_id.as_deref(), r.packer_name.as_deref()).into(),
            order: r.held_order.clone().unwrap_or_default().into(),
            held_for: held_for(r.held_since, now, l).into(),
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
            waiting: waiting.into(),
            waiting_late,
            // Waiting: amber, red once it has waited too long.
            level: if r.waiting.is_some() {
                if waiting_late {
                    Severity::Error
                } else {
                    Severity::Warning
                }
            } else if r.trouble >= 10 {
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
    let waiting = rows.iter().filter(|r| r.waiting.is_some()).count();
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
            "waiting",
            text!("console.tally_waiting"),
            waiting.to_string(),
            if waiting > 0 {
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

/// A value of a review item's facts as the bench wrote it.
fn fact(facts: &serde_json::Value, key: &str) -> String {
    match &facts[key] {
        serde_json::Value::String(s) => plain(s),
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// A review item's detail in words, from its facts when the console knows its kind; the
/// centre's English detail otherwise (device and alarm texts).
fn review_detail(i: &ReviewItem, now: DateTime<FixedOffset>) -> Words {
    let Some(f) = &i.facts else {
        return Words::same(plain(&i.detail));
    };
    match i.kind.as_str() {
        "weight_mismatch" => text!(
            "console.detail_mismatch",
            measured = fact(f, "measured_g"),
            expected = fact(f, "expected_g"),
            tolerance = fact(f, "tolerance_g")
        ),
        "override" => {
            let reason: Option<ApprovalReason> = serde_json::from_value(f["reason"].clone()).ok();
            let reason = reason
                .map(|r| Command::Reason(r).words().words())
                .unwrap_or_else(|| cause_words(&fact(f, "reason")));
            let by = fact(f, "supervisor_id");
            let name = fact(f, "supervisor_name");
            text!(
                "console.detail_override",
                reason = reason,
                who = person(Some(&by), Some(&name)),
                measured = fact(f, "measured_g"),
                expected = fact(f, "expected_g")
            )
        }
        "hold" => {
            let reason: Option<HoldReason> = serde_json::from_value(f["reason"].clone()).ok();
            let reason = reason
                .map(|r| Command::Hold(r).words().words())
                .unwrap_or_else(|| cause_words(&fact(f, "reason")));
            text!(
                "console.detail_hold",
                reason = reason,
                scanned = fact(f, "scanned_units"),
                ordered = fact(f, "ordered_units")
            )
        }
        "device_lost" => text!(
            "console.detail_device_lost",
            device = device_words(&fact(f, "device"), &fact(f, "state")),
            minutes = fact(f, "minutes")
        ),
        "badge_locked" => {
            let until = chrono::DateTime::parse_from_rfc3339(&fact(f, "until"))
                .map(|t| when(t.with_timezone(&Utc), now))
                .unwrap_or_else(|_| fact(f, "until"));
            let id = fact(f, "employee_id");
            let name = fact(f, "employee_name");
            times(
                f,
                text!(
                    "console.detail_badge_locked",
                    who = person(Some(&id), Some(&name)),
                    until = until
                ),
            )
        }
        // The centre's alarms: what each kind means; the exact message stays in
        // `audit review` and its JSON.
        "claim_conflict" => times(f, text!("console.detail_claim_conflict").words()),
        "unbacked_packed" => times(f, text!("console.detail_unbacked_packed").words()),
        "packaging_after_mismatch" => {
            times(f, text!("console.detail_packaging_after_mismatch").words())
        }
        "fork" | "bad_chain" | "bad_hash" | "gap" | "bad_event" => {
            times(f, text!("console.detail_log").words())
        }
        _ => Words::same(plain(&i.detail)),
    }
}

/// An alarm's words, with how often it was raised when more than once.
fn times(facts: &serde_json::Value, what: Words) -> Words {
    match facts["count"].as_i64() {
        Some(n) if n > 1 => text!("console.detail_times", what = what, n = n),
        _ => what,
    }
}

pub(super) fn review_row(i: &ReviewItem, now: DateTime<FixedOffset>, l: Lang) -> ReviewRow {
    let reviewed = i.reviewed_by.is_some();
    ReviewRow {
        id: i.id.clone().into(),
        kind: kind_words(&i.kind).pick(l).into(),
        at: when(i.at, now).into(),
        station: plain(i.station_id.as_deref().unwrap_or("")).into(),
        order: plain(i.order_no.as_deref().unwrap_or("")).into(),
        actor: person(i.actor.as_deref(), i.actor_name.as_deref()).into(),
        detail: review_detail(i, now).pick(l).into(),
        reviewed,
        reviewed_text: if reviewed {
            format!(
                "{} {} · {}",
                person(i.reviewed_by.as_deref(), i.reviewed_by_name.as_deref()),
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

pub(super) fn hit_row(h: &SearchHit, l: Lang) -> FloorHit {
    let state = h.state.as_deref().map(|s| match s {
        "packed" => text!("console.state_packed").pick(l).to_string(),
        "held" => text!("console.state_held").pick(l).to_string(),
        "open" => text!("console.state_open").pick(l).to_string(),
        "cancelled" => text!("console.state_cancelled").pick(l).to_string(),
        other => plain(other),
    });
    let station = h.station_id.as_deref().map(plain);
    let detail = [state, station]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
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

pub(super) fn pct(x: Option<f64>) -> String {
    percent(x).unwrap_or_else(|| "—".into())
}

/// The report's lines, per packer and per bench, and the caption of the packers' weekly
/// bars: each packer's rate of orders with a caught error, week by week (each ≤ 100 %),
/// scaled against the highest on screen.
pub(super) fn report_rows(
    report: &Report,
    weeks: &[Week],
    l: Lang,
) -> (Vec<ReportLine>, Vec<ReportLine>, String) {
    let mut rates: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
    for (i, w) in weeks.iter().enumerate() {
        for r in &w.report.per_packer {
            rates
                .entry(r.key.as_str())
                .or_insert_with(|| vec![None; weeks.len()])[i] = r.caught_error_rate;
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
            caught_rate: pct(r.caught_error_rate).into(),
            packing_rate: pct(r.packing_error_rate).into(),
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
        (Some(a), Some(b)) => text!(
            "console.weeks_caption",
            from = a.start.format("%m-%d").to_string(),
            to = (b.start + chrono::Duration::days(6))
                .format("%m-%d")
                .to_string(),
            weeks = weeks.len(),
            max = pct(Some(peak))
        )
        .pick(l)
        .to_string(),
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
        let mut waits = bench("B3", true, 1000);
        waits.waiting = Some(Waiting {
            cause: "weight_mismatch".into(),
            order_no: Some("H1001".into()),
            since: t("2026-11-22T02:01:00Z"),
        });
        let (rows, tallies) = board_rows(
            &[
                bench("B1", true, 10),
                bench("B2", false, 100),
                waits.clone(),
            ],
            &hourly,
            at,
            Lang::En,
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
            rows[0]
                .trouble
                .starts_with("09:58 Wrong item: not in this order"),
            "{}",
            rows[0].trouble
        );
        assert_eq!(tallies[0].value, "2 / 3");
        // The names follow the window's language, the accessible key does not.
        let zh: Vec<Tally> = tallies.iter().map(|t| t.row(Lang::Zh)).collect();
        assert_eq!(
            (zh[0].key.as_str(), zh[0].label.as_str()),
            ("online", "在线")
        );
        assert_eq!(zh[3].label, "本小时");
        assert_eq!(tallies[3].row(Lang::En).label, "this hour");
        assert_eq!(tallies[1].value, "36");
        assert_eq!(tallies[4].value, "3");
        assert_eq!(
            (tallies[5].key, tallies[5].value.as_str()),
            ("waiting", "1")
        );
        assert_eq!(tallies[6].value, "12");
        assert_eq!(rows[2].waiting, "weight mismatch · H1001 · 4 min");
        assert!(rows[2].waiting_late);
    }

    #[test]
    fn a_waiting_bench_says_why_in_words_and_turns_red_after_three_minutes() {
        let mut b = bench("B3", true, 1000);
        b.waiting = Some(Waiting {
            cause: "weight_mismatch".into(),
            order_no: Some("H1001".into()),
            since: t("2026-11-22T02:03:00Z"),
        });
        let at = |hm: &str| DateTime::parse_from_rfc3339(&format!("2026-11-22T{hm}:00+08:00"));
        let (en, tallies) = board_rows(&[b.clone()], &[], at("10:05").unwrap(), Lang::En);
        assert_eq!(en[0].waiting, "weight mismatch · H1001 · 2 min");
        assert!(!en[0].waiting_late);
        assert_eq!(
            (tallies[5].key, tallies[5].value.as_str()),
            ("waiting", "1")
        );
        assert_eq!(tallies[4].value, "1", "a waiting bench is trouble");
        let (zh, _) = board_rows(&[b], &[], at("10:06").unwrap(), Lang::Zh);
        assert_eq!(zh[0].waiting, "重量不符 · H1001 · 3 分钟");
        assert!(zh[0].waiting_late, "3 min is the threshold");
        assert_eq!(zh[0].who, "张伟 (E003)");
        assert!(
            zh[0].trouble.starts_with("09:58 错货:此商品不在本订单中"),
            "{}",
            zh[0].trouble
        );
        assert_eq!(zh[0].devices, "打印机故障");
    }

    #[test]
    fn rates_count_orders_so_one_order_with_two_errors_reads_100_not_200() {
        let r = crate::central::ReportRow {
            key: "E003".into(),
            orders: 1,
            wrong_items_caught: 1,
            mismatches: 1,
            orders_with_caught_error: 1,
            caught_error_rate: crate::central::per_order_rate(1, 1),
            packing_error_rate: crate::central::per_order_rate(0, 1),
            ..Default::default()
        };
        let report = Report {
            per_packer: vec![r],
            ..Default::default()
        };
        let (packers, _, _) = report_rows(&report, &[], Lang::En);
        assert_eq!(
            (
                packers[0].caught_rate.as_str(),
                packers[0].packing_rate.as_str()
            ),
            ("100.0 %", "0.0 %")
        );
        assert_eq!(pct(None), "—");
    }

    #[test]
    fn devices_lost_badges_locked_and_alarms_are_said_in_words() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap();
        let item = |kind: &str, facts: serde_json::Value| ReviewItem {
            id: "B1:9".into(),
            kind: kind.into(),
            at: t("2026-11-22T01:00:00Z"),
            station_id: Some("B1".into()),
            order_no: None,
            actor: None,
            actor_name: None,
            detail: "the English of the centre".into(),
            facts: Some(facts),
            reviewed_by: None,
            reviewed_by_name: None,
            reviewed_at: None,
            note: None,
        };
        let zh = |i: ReviewItem| review_row(&i, now, Lang::Zh).detail.to_string();
        let lost = zh(item(
            "device_lost",
            serde_json::json!({"device": "printer", "state": "error", "minutes": 7}),
        ));
        assert_eq!(lost, "打印机故障 7 分钟");
        let locked = zh(item(
            "badge_locked",
            serde_json::json!({"employee_id": "E003", "employee_name": "张伟",
                               "until": "2026-11-22T02:05:00+00:00", "count": 2}),
        ));
        assert_eq!(locked, "张伟 (E003) PIN 连续错误,锁定至 10:05:00(共 2 次)");
        for kind in [
            "claim_conflict",
            "unbacked_packed",
            "packaging_after_mismatch",
            "gap",
        ] {
            let d = zh(item(kind, serde_json::json!({"count": 1})));
            assert!(!d.is_empty() && !d.is_ascii(), "{kind}: {d}");
        }
        // A kind this build does not know: the centre's words, as they are.
        assert_eq!(
            zh(item("new_kind", serde_json::json!({}))),
            "the English of the centre"
        );
    }
}
