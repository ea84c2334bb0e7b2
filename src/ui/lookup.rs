//! Read-only questions the screen asks of the database, answered on a worker thread with its
//! own connection (SQLite in WAL mode lets it read while the station loop writes), so the UI
//! thread never waits on the disk. Nothing here writes or decides: a keypad sign-in only
//! finds the badge and hands it to the station loop as an ordinary scan, where the engine
//! decides (as it does for a badge offered to open the supervisor view).

use std::collections::BTreeMap;
use std::sync::mpsc::Receiver;

use chrono::{DateTime, FixedOffset, TimeZone};
use serde::Deserialize;

use crate::audit;
use crate::domain::event::{EventType, OrderPacked, StoredEvent, WeightChecked};
use crate::domain::weight;
use crate::domain::Employee;
use crate::store::{EventFilter, Store, StoreError};

use super::adapter::{event_fields, hint_words, plain};
use super::{HitKind, MismatchRow, PackerRow, SearchHit, Severity, TimelineRow};
use crate::domain::commands::Command;
use crate::text;
/// Messages come in both languages: the screen picks by its language when it shows them.
pub use crate::text::Words;
use crate::text::{Lang, Text};

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// The keypad's employee number: find the badge and scan it.
    EmployeeNumber(String),
    /// Search text; a single order found opens in `lang`.
    Search {
        text: String,
        lang: Lang,
    },
    /// "order:NO" or "person:ID", from a search hit, read in the window's language.
    Open {
        key: String,
        lang: Lang,
    },
    /// Today's mismatches and overrides, their hints and reasons in `lang`.
    Mismatches {
        lang: Lang,
    },
    Packers,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The keypad number was found and its badge sent to the station (or not: why).
    Keypad(Result<String, Words>),
    Hits {
        hits: Vec<SearchHit>,
        message: Words,
    },
    Timeline {
        /// What it is of ("order:NO", "person:ID"): to read it again in another language.
        key: String,
        title: String,
        summary: String,
        rows: Vec<TimelineRow>,
    },
    Mismatches(Vec<MismatchRow>),
    Packers(Vec<PackerRow>),
    Failed(Words),
}

pub type Clock = Box<dyn Fn() -> DateTime<FixedOffset> + Send>;

/// The number of an employee id, as typed on a keypad: its digits read as a number
/// ("E003" is 3). `None` for an id without digits.
pub fn employee_number(id: &str) -> Option<u64> {
    let digits: String = id.chars().filter(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Answers queries until the sender is dropped. `scan` hands a found badge to the station.
/// Answers the screen's questions: the keypad from the bench's own copy (sign-in never waits
/// on the network), the supervisor's from `wide` — the central database when the bench has
/// one, so the view spans every bench.
pub fn serve<S: Store>(
    store: S,
    wide: Option<Box<dyn Store + Send>>,
    clock: Clock,
    rx: Receiver<Query>,
    scan: impl Fn(String),
    reply: impl Fn(Reply),
) {
    while let Ok(q) = rx.recv() {
        let keypad = matches!(q, Query::EmployeeNumber(_));
        let r = match &wide {
            Some(w) if !keypad => answer(w.as_ref(), &clock, q, &scan),
            _ => answer(&store, &clock, q, &scan),
        };
        let r = r.unwrap_or_else(|e| {
            Reply::Failed(text!("lookup.database_error", error = e.to_string()))
        });
        reply(r);
    }
}

/// Midnight of `now`'s day, in `now`'s offset (the station's day, not the machine's zone).
pub fn day_start(now: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).expect("valid time");
    now.offset()
        .from_local_datetime(&midnight)
        .single()
        .unwrap_or(now)
}

/// The employee a keypad number means: the one whose id it is, or else the one whose id
/// carries that number ("3" and "003" find E003). Two people with the same number are not
/// guessed between.
fn keypad_employee<S: Store + ?Sized>(store: &S, typed: &str) -> Result<Reply, StoreError> {
    let no_one = || {
        Reply::Keypad(Err(text!(
            "lookup.no_employee_number",
            typed = plain(typed)
        )))
    };
    if let Some(e) = store.employee(typed)? {
        return Ok(Reply::Keypad(Ok(e.badge)));
    }
    let Some(n) = typed
        .chars()
        .all(|c| c.is_ascii_digit())
        .then(|| typed.parse::<u64>().ok())
        .flatten()
    else {
        return Ok(no_one());
    };
    let found: Vec<Employee> = store
        .employees()?
        .into_iter()
        .filter(|e| employee_number(&e.id) == Some(n))
        .collect();
    Ok(match found.as_slice() {
        [e] => Reply::Keypad(Ok(e.badge.clone())),
        [] => no_one(),
        several => {
            let list = several
                .iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            Reply::Keypad(Err(text!(
                "lookup.employee_number_ambiguous",
                n = n,
                ids = list
            )))
        }
    })
}

fn answer<S: Store + ?Sized>(
    store: &S,
    clock: &Clock,
    q: Query,
    scan: &dyn Fn(String),
) -> Result<Reply, StoreError> {
    Ok(match q {
        Query::EmployeeNumber(typed) => {
            let reply = keypad_employee(store, typed.trim())?;
            if let Reply::Keypad(Ok(badge)) = &reply {
                scan(badge.clone());
            }
            reply
        }
        Query::Search { text, lang } => search(store, text.trim(), lang)?,
        Query::Open { key, lang } => match key.split_once(':') {
            Some(("order", no)) => timeline(store, no, lang)?,
            Some(("person", id)) => person(store, id, day_start(clock()), lang)?,
            _ => Reply::Failed(text!("lookup.nothing_to_open").words()),
        },
        Query::Mismatches { lang } => {
            Reply::Mismatches(mismatch_rows(store, day_start(clock()), lang)?)
        }
        Query::Packers => {
            let events = store.events(&EventFilter {
                from: Some(day_start(clock())),
                types: vec![
                    EventType::PackerSignedIn.as_str(),
                    EventType::ItemAccepted.as_str(),
                    EventType::ScanRejected.as_str(),
                    EventType::WeightChecked.as_str(),
                    EventType::OrderPacked.as_str(),
                ],
                ..Default::default()
            })?;
            let mut rows = packer_stats(&events);
            for r in &mut rows {
                if let Some(e) = store.employee(&r.id)? {
                    r.name = plain(&e.name).into();
                }
            }
            Reply::Packers(rows)
        }
    })
}

fn search<S: Store + ?Sized>(store: &S, text: &str, lang: Lang) -> Result<Reply, StoreError> {
    if text.is_empty() {
        return Ok(Reply::Hits {
            hits: vec![],
            message: text!("lookup.search_prompt").words(),
        });
    }
    let mut hits = Vec::new();
    if let Some(o) = store.find_order(text)? {
        hits.push(SearchHit {
            kind: HitKind::Order,
            key: format!("order:{}", o.order_no).into(),
            title: format!("{} · {}", o.order_no, plain(&o.carrier)).into(),
            detail: format!("{} · {}", o.waybill_no, plain(&o.recipient)).into(),
        });
    }
    let person = match store.employee(text)? {
        Some(e) => Some(e),
        None => store.employee_by_badge(text)?,
    };
    if let Some(e) = person {
        hits.push(SearchHit {
            kind: HitKind::Person,
            key: format!("person:{}", e.id).into(),
            title: format!("{} · {}", e.id, plain(&e.name)).into(),
            detail: e.roles.words().pick(lang).into(),
        });
    }
    // One hit: open it at once, the usual case for a scanned waybill.
    if hits.len() == 1 {
        let key = hits[0].key.to_string();
        if let Some(no) = key.strip_prefix("order:") {
            return timeline(store, no, lang);
        }
    }
    let message = if hits.is_empty() {
        text!("lookup.nothing_found", text = plain(text))
    } else {
        text!("lookup.found", n = hits.len())
    };
    Ok(Reply::Hits { hits, message })
}

/// "10:02:03" from an RFC 3339 time.
fn clock_time(at: &str) -> String {
    at.get(11..19).unwrap_or(at).to_string()
}

/// One event of an order's record: its own fields on one line, bulky ones and names left
/// out.
fn event_row(e: &audit::EventRow, lang: Lang) -> TimelineRow {
    let detail = event_fields(&e.data, &["name", "bytes"], lang);
    let event = match EventType::parse(&e.kind) {
        Some(kind) => event_name(kind).pick(lang).to_string(),
        // A type this build does not know (a newer bench's): its name as recorded.
        None => plain(&e.kind),
    };
    TimelineRow {
        at: clock_time(&e.at).into(),
        station: e.station_id.clone().into(),
        event: event.into(),
        actor: e.actor.clone().unwrap_or_default().into(),
        // Shop data in the fields (names, notes) is cleaned as each is shown.
        detail: detail.into(),
        level: match EventType::parse(&e.kind) {
            Some(EventType::ScanRejected | EventType::PrintFailed) => Severity::Error,
            Some(EventType::WeightChecked)
                if WeightChecked::deserialize(&e.data).is_ok_and(|w| !w.ok) =>
            {
                Severity::Error
            }
            Some(
                EventType::Override
                | EventType::ReprintRequested
                | EventType::OrderHeld
                | EventType::OrderChanged
                | EventType::OrderCancelled,
            ) => Severity::Warning,
            _ => Severity::Ok,
        },
    }
}

/// An event type as a timeline names it.
pub(crate) fn event_name(kind: EventType) -> Text {
    match kind {
        EventType::PackerSignedIn => text!("event.packer_signed_in"),
        EventType::PackerSignedOut => text!("event.packer_signed_out"),
        EventType::OrderLoaded => text!("event.order_loaded"),
        EventType::OrderReleased => text!("event.order_released"),
        EventType::ItemAccepted => text!("event.item_accepted"),
        EventType::ScanRejected => text!("event.scan_rejected"),
        EventType::ScanUndone => text!("event.scan_undone"),
        EventType::PickerSet => text!("event.picker_set"),
        EventType::PackagingSet => text!("event.packaging_set"),
        EventType::WeightChecked => text!("event.weight_checked"),
        EventType::Override => text!("event.override"),
        EventType::OrderPacked => text!("event.order_packed"),
        EventType::OrderHeld => text!("event.order_held"),
        EventType::ReprintRequested => text!("event.reprint_requested"),
        EventType::LabelPrinted => text!("event.label_printed"),
        EventType::PrintFailed => text!("event.print_failed"),
        EventType::DispatchStarted => text!("event.dispatch_started"),
        EventType::OrderDispatched => text!("event.order_dispatched"),
        EventType::DispatchClosed => text!("event.dispatch_closed"),
        EventType::Device => text!("event.device"),
        EventType::Imported => text!("event.imported"),
        EventType::OrderChanged => text!("event.order_changed"),
        EventType::OrderCancelled => text!("event.order_cancelled"),
        EventType::SupervisorViewOpened => text!("event.supervisor_view_opened"),
        EventType::OrderClaimed => text!("event.order_claimed"),
        EventType::ClaimReleased => text!("event.claim_released"),
        EventType::ClaimConflict => text!("event.claim_conflict"),
        EventType::Reviewed => text!("event.reviewed"),
        EventType::PinRequired => text!("event.pin_required"),
        EventType::PinFailed => text!("event.pin_failed"),
        EventType::BadgeLocked => text!("event.badge_locked"),
        EventType::ReasonRequired => text!("event.reason_required"),
        EventType::ApprovalLapsed => text!("event.approval_lapsed"),
        EventType::LogAlarm => text!("event.log_alarm"),
        EventType::ReturnsStarted => text!("event.returns_started"),
        EventType::ReturnsEnded => text!("event.returns_ended"),
        EventType::ReturnOpened => text!("event.return_opened"),
        EventType::ReturnItem => text!("event.return_item"),
        EventType::ForeignItem => text!("event.foreign_item"),
        EventType::ReturnCondition => text!("event.return_condition"),
        EventType::ReturnReasonGiven => text!("event.return_reason"),
        EventType::ReturnUndone => text!("event.return_undone"),
        EventType::ReturnWeighed => text!("event.return_weighed"),
        EventType::ReturnClosed => text!("event.return_closed"),
    }
}

/// An order's record: who, weights, overrides and reprints, every event in order.
pub(crate) fn timeline<S: Store + ?Sized>(
    store: &S,
    code: &str,
    lang: Lang,
) -> Result<Reply, StoreError> {
    let Some(r) = audit::order_record(store, code)? else {
        return Ok(Reply::Hits {
            hits: vec![],
            message: text!("lookup.no_order", order = plain(code)),
        });
    };
    let g = |x: Option<f64>| x.map(weight::fmt_g).unwrap_or_else(|| "—".into());
    let status = match r.status.as_str() {
        "pending" => text!("lookup.status_pending").words(),
        "packing" => text!("lookup.status_packing").words(),
        "packed" => text!("lookup.status_packed").words(),
        "held" => text!("lookup.status_held").words(),
        "dispatched" => text!("lookup.status_dispatched").words(),
        "cancelled" => text!("lookup.status_cancelled").words(),
        other => Words::same(plain(other)),
    };
    let mut summary_parts = vec![text!(
        "lookup.order_summary",
        status = status,
        picker = r.picker_id.as_deref().unwrap_or("—"),
        packer = r.packer_id.as_deref().unwrap_or("—"),
        measured = g(r.measured_weight_g),
        expected = g(r.expected_weight_g),
        tolerance = g(r.tolerance_g),
        labels = r.labels_printed,
        reprints = r.reprints
    )
    .pick(lang)
    .to_string()];
    if let Some(o) = &r.override_by {
        summary_parts.push(
            text!("lookup.override_by", who = o.as_str())
                .pick(lang)
                .to_string(),
        );
    }
    if let Some(h) = &r.held_reason {
        summary_parts.push(
            text!("lookup.held", reason = plain(h))
                .pick(lang)
                .to_string(),
        );
    }
    let rows = r.events.iter().map(|e| event_row(e, lang)).collect();
    Ok(Reply::Timeline {
        key: format!("order:{}", r.order_no),
        title: format!("{} · {} · {}", r.order_no, r.waybill_no, plain(&r.carrier)),
        summary: summary_parts.join(" · "),
        rows,
    })
}

/// What one person picked and packed today, as timeline rows.
pub(crate) fn person<S: Store + ?Sized>(
    store: &S,
    id: &str,
    from: DateTime<FixedOffset>,
    lang: Lang,
) -> Result<Reply, StoreError> {
    let r = audit::packer_report(store, id, Some(from), None)?;
    let g = |x: Option<f64>| x.map(weight::fmt_g).unwrap_or_else(|| "—".into());
    let mut rows: Vec<TimelineRow> = r
        .orders
        .iter()
        .map(|o| TimelineRow {
            at: clock_time(&o.at).into(),
            station: o.station_id.clone().into(),
            event: o.order_no.clone().into(),
            actor: o.role.clone().into(),
            detail: format!(
                "{} g / {} g{}",
                g(o.measured_g),
                g(o.expected_g),
                o.override_by
                    .as_ref()
                    .map(|s| format!(
                        "  {}",
                        text!("lookup.override_by", who = s.as_str()).pick(lang)
                    ))
                    .unwrap_or_default()
            )
            .into(),
            level: if o.override_by.is_some() {
                Severity::Warning
            } else {
                Severity::Ok
            },
        })
        .collect();
    // Returns check-in: a wrong or missing item a return confirmed counts against them.
    // The rest of the row (more columns as the timeline grows) stays empty.
    #[allow(clippy::needless_update)]
    rows.extend(r.packing_error_returns.iter().map(|p| {
        TimelineRow {
            at: clock_time(&p.at).into(),
            event: p.order_no.clone().into(),
            actor: p.role.clone().into(),
            detail: text!(
                "lookup.return_confirmed",
                id = plain(&p.return_id),
                reason = plain(&p.reason)
            )
            .pick(lang)
            .into(),
            level: Severity::Error,
            ..Default::default()
        }
    }));
    Ok(Reply::Timeline {
        key: format!("person:{}", r.id),
        title: format!("{} · {}", r.id, plain(r.name.as_deref().unwrap_or(""))),
        summary: text!(
            "lookup.person_summary",
            packed = r.packed,
            picked = r.picked,
            mismatches = r.mismatches,
            overrides = r.overrides,
            rejected = r.rejected_scans,
            errors = r.packing_errors
        )
        .pick(lang)
        .to_string(),
        rows,
    })
}

fn mismatch_rows<S: Store + ?Sized>(
    store: &S,
    from: DateTime<FixedOffset>,
    lang: Lang,
) -> Result<Vec<MismatchRow>, StoreError> {
    let g = |x: Option<f64>| x.map(grams_or_dash).unwrap_or_else(|| "—".into());
    Ok(audit::mismatches(store, Some(from), None)?
        .into_iter()
        .rev() // newest first
        .map(|m| MismatchRow {
            at: clock_time(&m.at).into(),
            order: m.order_no.unwrap_or_default().into(),
            who: m.who.unwrap_or_default().into(),
            measured: g(m.measured_g).into(),
            expected: g(m.expected_g).into(),
            diff: m
                .diff_g
                .map(|d| format!("{}{}", if d > 0.0 { "+" } else { "" }, weight::fmt_g(d)))
                .unwrap_or_default()
                .into(),
            why: match &m.why_of {
                Some(audit::Why::Hint(h)) => hint_words(Some(h)).pick(lang).to_string(),
                Some(audit::Why::Reason(r)) => Command::Reason(*r).words().pick(lang).to_string(),
                // A log from before hints were kept whole: its English as written.
                None => plain(m.why.as_deref().unwrap_or_default()),
            }
            .into(),
            is_override: m.kind == EventType::Override.as_str(),
        })
        .collect())
}

fn grams_or_dash(g: f64) -> String {
    format!("{} g", weight::fmt_g(g))
}

/// Per packer today: orders packed, orders per hour (over the time from their first event
/// to their last packed order, at least 15 minutes so a first order does not read as
/// hundreds per hour), and the error rate (refused scans out of all scans of items).
pub fn packer_stats(events: &[StoredEvent]) -> Vec<PackerRow> {
    #[derive(Default)]
    struct Acc {
        first: Option<DateTime<FixedOffset>>,
        last_packed: Option<DateTime<FixedOffset>>,
        packed: i32,
        accepted: i32,
        rejected: i32,
        mismatches: i32,
    }
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    for e in events {
        let who = match e.kind {
            EventType::OrderPacked => e.payload_as::<OrderPacked>().and_then(|p| p.packer_id),
            _ => e.actor.clone(),
        };
        let Some(who) = who else { continue };
        let a = by.entry(who).or_default();
        a.first = Some(a.first.map_or(e.at, |f| f.min(e.at)));
        match e.kind {
            EventType::OrderPacked => {
                a.packed += 1;
                a.last_packed = Some(a.last_packed.map_or(e.at, |l| l.max(e.at)));
            }
            EventType::ItemAccepted => a.accepted += 1,
            EventType::ScanRejected => a.rejected += 1,
            EventType::WeightChecked if e.payload_as::<WeightChecked>().is_some_and(|w| !w.ok) => {
                a.mismatches += 1
            }
            _ => {}
        }
    }
    by.into_iter()
        .filter(|(_, a)| a.packed > 0 || a.accepted > 0 || a.rejected > 0)
        .map(|(id, a)| {
            let hours = match (a.first, a.last_packed) {
                (Some(f), Some(l)) => ((l - f).num_seconds() as f64 / 3600.0).max(0.25),
                _ => 0.25,
            };
            let scans = a.accepted + a.rejected;
            PackerRow {
                name: String::new().into(),
                per_hour: format!("{:.1}", a.packed as f64 / hours).into(),
                error_rate: if scans == 0 {
                    "—".into()
                } else {
                    format!("{:.1} %", 100.0 * a.rejected as f64 / scans as f64).into()
                },
                id: id.into(),
                packed: a.packed,
                mismatches: a.mismatches,
                rejected: a.rejected,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::EventData;
    use crate::store::SqliteStore;
    use chrono::Duration;

    fn at(min: i64) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
            .unwrap()
            + Duration::minutes(min)
    }

    /// An event whose fields do not matter here.
    fn ev(kind: EventType, min: i64, actor: &str) -> StoredEvent {
        StoredEvent {
            seq: min,
            at: at(min),
            kind,
            actor: Some(actor.into()),
            station_id: "B".into(),
            order_no: None,
            data: Default::default(),
            hash: String::new(),
        }
    }

    fn with(data: impl Into<EventData>, min: i64, actor: &str) -> StoredEvent {
        let data = data.into();
        StoredEvent {
            data: data.to_map(),
            ..ev(data.kind(), min, actor)
        }
    }

    fn packed(by: &str, min: i64) -> StoredEvent {
        with(
            OrderPacked {
                picker_id: None,
                packer_id: Some(by.into()),
                measured_g: 266.0,
                expected_g: 265.0,
                tolerance_g: 15.0,
                weight_ok: true,
                override_by: None,
                packaging: None,
                version: "v".into(),
            },
            min,
            by,
        )
    }

    #[test]
    fn packer_stats_count_rates_per_person() {
        let mut events = vec![ev(EventType::PackerSignedIn, 0, "E003")];
        for i in 0..6 {
            events.push(ev(EventType::ItemAccepted, 10 * i + 1, "E003"));
            events.push(packed("E003", 10 * i + 5));
        }
        events.push(ev(EventType::ScanRejected, 20, "E003"));
        events.push(ev(EventType::ScanRejected, 21, "E003"));
        let check = |ok| WeightChecked {
            measured_g: 225.0,
            expected_g: 265.0,
            tolerance_g: 15.0,
            ok,
            packaging: None,
            hint: None,
            hint_detail: None,
        };
        events.push(with(check(false), 22, "E003"));
        events.push(with(check(true), 23, "E003"));
        events.push(ev(EventType::ItemAccepted, 3, "E004"));
        let rows = packer_stats(&events);
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!(r.id, "E003");
        assert_eq!((r.packed, r.rejected, r.mismatches), (6, 2, 1));
        // 6 orders from 10:00 to 10:55.
        assert_eq!(r.per_hour, "6.5");
        // 2 refused out of 8 item scans.
        assert_eq!(r.error_rate, "25.0 %");
        assert_eq!((rows[1].id.as_str(), rows[1].packed), ("E004", 0));
        assert_eq!(rows[1].per_hour, "0.0");
    }

    fn staff(csv: &str) -> SqliteStore {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("employees.csv");
        std::fs::write(&p, csv).unwrap();
        let mut store = SqliteStore::open_in_memory().unwrap();
        crate::import::import_file(
            &mut store,
            crate::import::Kind::Employees,
            &p,
            &Default::default(),
            "T",
            at(0),
            &mut |_| {},
        )
        .unwrap();
        store
    }

    fn badge(r: Reply) -> Result<String, String> {
        match r {
            Reply::Keypad(Ok(b)) => Ok(b),
            Reply::Keypad(Err(w)) => Err(w.en),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keypad_numbers_are_the_numbers_in_the_staff_ids() {
        let s = staff(
            "id,name,roles,badge\n\
             E003,张伟,packer,BADGE-E003\n\
             W12,Ann,packer,B-W12\n\
             X7,Bo,packer,B-X7\n\
             Y007,Cy,packer,B-Y007\n",
        );
        let find = |typed: &str| badge(keypad_employee(&s, typed).unwrap());
        assert_eq!(find("3"), Ok("BADGE-E003".into()));
        assert_eq!(find("003"), Ok("BADGE-E003".into()));
        assert_eq!(find("E003"), Ok("BADGE-E003".into()), "the id itself");
        // No fixed prefix or width: whatever the ids look like.
        assert_eq!(find("12"), Ok("B-W12".into()));
        assert_eq!(find("4"), Err("No employee number 4".into()));
        assert_eq!(find("E00"), Err("No employee number E00".into()));
        // Two people numbered 7: not guessed between.
        assert_eq!(
            find("7"),
            Err("Employee number 7 is X7, Y007: scan your badge".into())
        );
        assert_eq!(employee_number("E003"), Some(3));
        assert_eq!(employee_number("BOSS"), None);
    }

    #[test]
    fn day_start_is_the_stations_midnight() {
        let d = day_start(at(125));
        assert_eq!(d.to_rfc3339(), "2026-11-22T00:00:00+08:00");
    }
}
