//! The supervisors' console (`packbench console`): the bench board, the review queue, search
//! with cross-bench timelines, and reports, read from the central database on an office PC
//! without devices.
//!
//! The window only shows and forwards. Every question goes to one worker thread that owns
//! the central connection ([`CentralReader`]); answers come back as plain data through an
//! inbox and become Slint rows on the UI thread ([`Shown`]), so a slow database never
//! freezes the screen and the 2 s refresh never piles up (the worker keeps only the newest
//! of each kind of question).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::adapter::plain;
use super::lookup::{self, Reply, Words};
use super::{
    BenchRow, ConsolePage, ConsoleTab, ConsoleWindow, ExportFormat, Floor, FloorHit, HitKind,
    Language, ReportLine, ReviewRow, Severity, Tally,
};
use crate::audit::{floor as sheets, sheet};
use crate::central::{
    self, BoardRow, Central, CentralReader, HourlyRow, LastRefusal, Report, ReviewItem, SearchHit,
    SignInRefusal, SEARCH_MIN_CHARS,
};
use crate::domain::event::DeviceStatus;
use crate::domain::pin::{Pin, PinHash, LOCK_MINUTES};
use crate::store::ReferenceData;

/// A bench that reported within this long is online.
pub const ONLINE_WITHIN: Duration = Duration::from_secs(10);
/// A device lost for longer than this is put in the review queue.
pub const DEVICE_LOST_AFTER: Duration = Duration::from_secs(300);
/// How many review items the queue shows (newest first).
pub const QUEUE_LIMIT: i64 = 500;
/// Hits per kind a search shows.
pub const SEARCH_LIMIT: i64 = 20;
/// Weeks of error rates the packers' chart shows.
pub const WEEKS: usize = 8;

pub type SharedClock = Arc<dyn Fn() -> DateTime<FixedOffset> + Send + Sync>;

/// What the window asks.
#[derive(Debug, Clone, PartialEq)]
enum Ask {
    SignIn {
        who: String,
        pin: String,
    },
    SignOut,
    Board,
    Review {
        include_reviewed: bool,
    },
    Search(String),
    Open {
        kind: central::HitKind,
        key: String,
    },
    Mark {
        id: String,
        note: String,
    },
    Report {
        from: String,
        to: String,
    },
    Export {
        tab: Tab,
        format: ExportFormat,
        include_reviewed: bool,
        query: String,
        from: String,
        to: String,
    },
}

impl Ask {
    /// Questions whose older copies a newer one makes pointless.
    fn kind(&self) -> Option<u8> {
        match self {
            Ask::Board => Some(0),
            Ask::Review { .. } => Some(1),
            Ask::Search(_) => Some(2),
            Ask::Report { .. } => Some(3),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Board,
    Review,
    Search,
    Reports,
}

/// One week of the packers' chart.
#[derive(Debug, Clone, PartialEq)]
struct Week {
    start: NaiveDate,
    report: Report,
}

/// What the worker answers, as plain data (Slint rows are built on the UI thread).
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    SignedIn(Result<(String, String), Words>),
    SignedOut,
    Board {
        rows: Vec<BoardRow>,
        hourly: Vec<HourlyRow>,
        at: DateTime<FixedOffset>,
        ms: u128,
    },
    Review {
        items: Vec<ReviewItem>,
        at: DateTime<FixedOffset>,
    },
    Hits {
        hits: Vec<SearchHit>,
        message: Words,
    },
    Lookup(Reply),
    Marked(Result<String, Words>),
    Report {
        report: Report,
        weeks: Vec<Week>,
    },
    Exported(Result<PathBuf, Words>),
    Failed(Words),
}

/// How the console starts: the centre, where exports go, and the clock ("today").
pub struct Setup {
    pub central: Central,
    pub exports: PathBuf,
    pub clock: SharedClock,
    /// Tests drain the inbox themselves; a real window is woken through its event loop.
    pub wake_event_loop: bool,
}

/// A running console window and its worker.
pub struct Console {
    pub window: ConsoleWindow,
    /// Shared with the window's callbacks; taken at shutdown so the worker sees the end.
    tx: Rc<RefCell<Option<Sender<Ask>>>>,
    pending: Arc<AtomicUsize>,
    inbox: Arc<Mutex<Vec<Answer>>>,
    state: Rc<RefCell<Shown>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

/// What the UI thread keeps to redraw in the other language.
struct Shown {
    language: Language,
    clock: SharedClock,
    sign_in: Option<Words>,
    status: Option<(Words, bool)>,
    review: Option<Words>,
    report: Option<Words>,
    search: Option<Words>,
    export: Option<Words>,
}

fn words(en: impl Into<String>, zh: impl Into<String>) -> Words {
    Words {
        en: en.into(),
        zh: zh.into(),
    }
}

impl Console {
    /// Wires the window to a new worker; the window shows the sign-in page.
    pub fn start(window: ConsoleWindow, setup: Setup) -> Result<Console> {
        let reader = CentralReader::new(setup.central).context("starting the console's worker")?;
        let (tx, rx) = channel::<Ask>();
        let pending = Arc::new(AtomicUsize::new(0));
        let inbox: Arc<Mutex<Vec<Answer>>> = Arc::default();
        let wake: Box<dyn Fn() + Send> = if setup.wake_event_loop {
            let weak = window.as_weak();
            Box::new(move || {
                let _ = weak.upgrade_in_event_loop(|w| w.global::<Floor>().invoke_drain());
            })
        } else {
            Box::new(|| {})
        };
        let worker = {
            let inbox = inbox.clone();
            let pending = pending.clone();
            let clock = setup.clock.clone();
            let exports = setup.exports.clone();
            std::thread::Builder::new()
                .name("console".into())
                .spawn(move || {
                    let mut w = Worker {
                        reader,
                        clock,
                        exports,
                        signed_in: None,
                        proof: None,
                        last_hits: Vec::new(),
                    };
                    w.serve(rx, |a, n| {
                        inbox.lock().unwrap_or_else(|e| e.into_inner()).push(a);
                        pending.fetch_sub(n, Ordering::SeqCst);
                        wake();
                    })
                })
                .context("starting the console's worker")?
        };
        let state = Rc::new(RefCell::new(Shown {
            language: Language::En,
            clock: setup.clock.clone(),
            sign_in: None,
            status: None,
            review: None,
            report: None,
            search: None,
            export: None,
        }));
        let console = Console {
            window,
            tx: Rc::new(RefCell::new(Some(tx))),
            pending,
            inbox,
            state,
            worker: Some(worker),
        };
        console.wire();
        Ok(console)
    }

    fn asker(&self) -> impl Fn(Ask) + Clone + 'static {
        let tx = self.tx.clone();
        let pending = self.pending.clone();
        let weak = self.window.as_weak();
        move |a: Ask| {
            let Some(tx) = tx.borrow().clone() else {
                return;
            };
            pending.fetch_add(1, Ordering::SeqCst);
            if let Some(w) = weak.upgrade() {
                w.global::<Floor>().set_busy(true);
            }
            if tx.send(a).is_err() {
                pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    fn wire(&self) {
        let f = self.window.global::<Floor>();
        let today = (self.state.borrow().clock)().date_naive().to_string();
        f.set_report_from(today.clone().into());
        f.set_report_to(today.into());
        let ask = self.asker();
        {
            let ask = ask.clone();
            f.on_sign_in(move |who, pin| {
                ask(Ask::SignIn {
                    who: who.trim().to_string(),
                    pin: pin.to_string(),
                })
            });
        }
        {
            let ask = ask.clone();
            f.on_sign_out(move || ask(Ask::SignOut));
        }
        {
            let ask = ask.clone();
            let weak = self.window.as_weak();
            f.on_refresh(move || {
                let Some(w) = weak.upgrade() else { return };
                let f = w.global::<Floor>();
                match f.get_tab() {
                    ConsoleTab::Board => ask(Ask::Board),
                    ConsoleTab::Review => ask(Ask::Review {
                        include_reviewed: f.get_show_reviewed(),
                    }),
                    ConsoleTab::Reports => ask(Ask::Report {
                        from: f.get_report_from().into(),
                        to: f.get_report_to().into(),
                    }),
                    // Search answers what is typed; nothing to read again.
                    ConsoleTab::Search => {}
                }
            });
        }
        {
            let ask = ask.clone();
            f.on_open(move |kind, key| {
                let kind = match kind {
                    HitKind::Order => central::HitKind::Order,
                    HitKind::Person => central::HitKind::Employee,
                    HitKind::Sku => central::HitKind::Sku,
                };
                ask(Ask::Open {
                    kind,
                    key: key.to_string(),
                })
            });
        }
        {
            let ask = ask.clone();
            f.on_mark_reviewed(move |id, note| {
                ask(Ask::Mark {
                    id: id.to_string(),
                    note: note.to_string(),
                })
            });
        }
        {
            let ask = ask.clone();
            f.on_report(move |from, to| {
                ask(Ask::Report {
                    from: from.to_string(),
                    to: to.to_string(),
                })
            });
        }
        {
            let ask2 = ask.clone();
            let ask = ask.clone();
            let weak = self.window.as_weak();
            let query = Rc::new(RefCell::new(String::new()));
            let q = query.clone();
            f.on_export(move |format| {
                let Some(w) = weak.upgrade() else { return };
                let f = w.global::<Floor>();
                ask(Ask::Export {
                    tab: match f.get_tab() {
                        ConsoleTab::Board => Tab::Board,
                        ConsoleTab::Review => Tab::Review,
                        ConsoleTab::Search => Tab::Search,
                        ConsoleTab::Reports => Tab::Reports,
                    },
                    format,
                    include_reviewed: f.get_show_reviewed(),
                    query: q.borrow().clone(),
                    from: f.get_report_from().into(),
                    to: f.get_report_to().into(),
                })
            });
            // The last text searched for is what a search export exports.
            f.on_search(move |t| {
                *query.borrow_mut() = t.to_string();
                ask2(Ask::Search(t.to_string()))
            });
        }
        {
            let weak = self.window.as_weak();
            let state = self.state.clone();
            f.on_set_language(move |l| {
                let Some(w) = weak.upgrade() else { return };
                set_language(&w, &state, l);
                w.global::<Floor>().invoke_refresh();
            });
        }
        {
            let weak = self.window.as_weak();
            let inbox = self.inbox.clone();
            let state = self.state.clone();
            f.on_drain(move || {
                if let Some(w) = weak.upgrade() {
                    drain(&w, &inbox, &state);
                }
            });
        }
    }

    pub fn set_language(&self, language: Language) {
        set_language(&self.window, &self.state, language);
    }

    /// Shows every answer that has arrived (the event loop calls it through `drain`).
    pub fn drain(&self) {
        drain(&self.window, &self.inbox, &self.state);
    }

    /// Tests: waits until the worker answered everything asked, and shows it.
    pub fn settle(&self) -> bool {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            self.drain();
            if self.pending.load(Ordering::SeqCst) == 0
                && self
                    .inbox
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_empty()
            {
                return true;
            }
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the worker (its connection closes).
    pub fn shutdown(mut self) {
        self.tx.borrow_mut().take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn set_language(w: &ConsoleWindow, state: &Rc<RefCell<Shown>>, language: Language) {
    let bundle = match language {
        Language::Zh => "zh_CN",
        Language::En => "",
    };
    if let Err(e) = slint::select_bundled_translation(bundle) {
        tracing::warn!("cannot switch the console to {language:?}: {e}");
    }
    w.global::<Floor>().set_language(language);
    state.borrow_mut().language = language;
    show_words(w, &state.borrow());
}

fn pick(w: &Option<Words>, l: Language) -> SharedString {
    w.as_ref()
        .map(|w| w.pick(l).to_string())
        .unwrap_or_default()
        .into()
}

fn show_words(w: &ConsoleWindow, s: &Shown) {
    let f = w.global::<Floor>();
    let l = s.language;
    f.set_sign_in_message(pick(&s.sign_in, l));
    f.set_review_message(pick(&s.review, l));
    f.set_report_message(pick(&s.report, l));
    f.set_search_message(pick(&s.search, l));
    f.set_export_message(pick(&s.export, l));
    let (status, bad) = s
        .status
        .as_ref()
        .map(|(w, bad)| (w.pick(l).to_string(), *bad))
        .unwrap_or_default();
    f.set_status(status.into());
    f.set_status_error(bad);
}

fn model<T: Clone + 'static>(v: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(v))
}

fn drain(w: &ConsoleWindow, inbox: &Mutex<Vec<Answer>>, state: &RefCell<Shown>) {
    let answers = std::mem::take(&mut *inbox.lock().unwrap_or_else(|e| e.into_inner()));
    if answers.is_empty() {
        return;
    }
    let f = w.global::<Floor>();
    let mut st = state.borrow_mut();
    let now = (st.clock)();
    for a in answers {
        match a {
            Answer::SignedIn(Ok((id, name))) => {
                st.sign_in = None;
                f.set_supervisor(format!("{id} {}", plain(&name)).into());
                f.set_page(ConsolePage::Floor);
                f.set_tab(ConsoleTab::Board);
                f.invoke_refresh();
            }
            Answer::SignedIn(Err(why)) => st.sign_in = Some(why),
            Answer::SignedOut => {
                f.set_page(ConsolePage::SignIn);
                f.set_supervisor(SharedString::new());
                f.set_board(model(vec![]));
                f.set_review(model(vec![]));
                f.set_hits(model(vec![]));
                f.set_timeline(model(vec![]));
                f.set_timeline_title(SharedString::new());
                f.set_timeline_summary(SharedString::new());
                f.set_per_packer(model(vec![]));
                f.set_per_bench(model(vec![]));
                f.set_selected(SharedString::new());
                st.status = None;
                st.export = None;
            }
            Answer::Board {
                rows,
                hourly,
                at,
                ms,
            } => {
                let (benches, tallies) = board_rows(&rows, &hourly, at);
                f.set_board(model(benches));
                f.set_tallies(model(tallies));
                st.status = Some((
                    words(
                        format!(
                            "{} benches · read at {} in {ms} ms",
                            rows.len(),
                            at.format("%H:%M:%S")
                        ),
                        format!(
                            "{} 个工作台 · {} 读取,用时 {ms} 毫秒",
                            rows.len(),
                            at.format("%H:%M:%S")
                        ),
                    ),
                    false,
                ));
            }
            Answer::Review { items, at } => {
                let open = items.iter().filter(|i| i.reviewed_by.is_none()).count();
                f.set_review(model(items.iter().map(|i| review_row(i, now)).collect()));
                st.status = Some((
                    words(
                        format!("{open} to review · read at {}", at.format("%H:%M:%S")),
                        format!("{open} 项待复核 · {} 读取", at.format("%H:%M:%S")),
                    ),
                    false,
                ));
            }
            Answer::Hits { hits, message } => {
                f.set_hits(model(hits.iter().map(hit_row).collect()));
                st.search = Some(message);
            }
            Answer::Lookup(Reply::Timeline {
                title,
                summary,
                rows,
            }) => {
                f.set_timeline_title(title.into());
                f.set_timeline_summary(summary.into());
                f.set_timeline(model(rows));
            }
            Answer::Lookup(Reply::Hits { message, .. })
            | Answer::Lookup(Reply::Failed(message)) => st.search = Some(message),
            Answer::Lookup(_) => {}
            Answer::Marked(Ok(id)) => {
                f.set_selected(SharedString::new());
                st.review = Some(words(
                    format!("{id} marked reviewed"),
                    format!("{id} 已标记为已复核"),
                ));
                f.invoke_refresh();
            }
            Answer::Marked(Err(why)) => st.review = Some(why),
            Answer::Report { report, weeks } => {
                let (packers, benches, caption) = report_rows(&report, &weeks);
                f.set_per_packer(model(packers));
                f.set_per_bench(model(benches));
                f.set_weeks_caption(caption.into());
                st.report = Some(words(
                    format!(
                        "{} packers, {} benches",
                        report.per_packer.len(),
                        report.per_bench.len()
                    ),
                    format!(
                        "{} 名打包员,{} 个工作台",
                        report.per_packer.len(),
                        report.per_bench.len()
                    ),
                ));
            }
            Answer::Exported(Ok(path)) => {
                st.export = Some(words(
                    format!("saved {}", path.display()),
                    format!("已保存 {}", path.display()),
                ))
            }
            Answer::Exported(Err(why)) => st.export = Some(why),
            Answer::Failed(why) => st.status = Some((why, true)),
        }
    }
    f.set_busy(false);
    show_words(w, &st);
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
fn board_rows(
    rows: &[BoardRow],
    hourly: &[HourlyRow],
    at: DateTime<FixedOffset>,
) -> (Vec<BenchRow>, Vec<Tally>) {
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
    let tally = |label: &str, value: String, level: Severity| Tally {
        label: label.into(),
        value: value.into(),
        level,
    };
    let tallies = vec![
        tally(
            "online",
            format!("{online} / {}", rows.len()),
            if online < rows.len() {
                Severity::Warning
            } else {
                Severity::Ok
            },
        ),
        tally("orders", sum(|r| r.orders_today).to_string(), Severity::Ok),
        tally("units", sum(|r| r.units_today).to_string(), Severity::Ok),
        tally(
            "this hour",
            sum(|r| r.orders_this_hour).to_string(),
            Severity::Ok,
        ),
        tally(
            "trouble",
            troubled.to_string(),
            if troubled > 0 {
                Severity::Error
            } else {
                Severity::Ok
            },
        ),
        tally(
            "unsynced",
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

fn review_row(i: &ReviewItem, now: DateTime<FixedOffset>) -> ReviewRow {
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

fn hit_row(h: &SearchHit) -> FloorHit {
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
fn error_rate(r: &crate::central::ReportRow) -> Option<f64> {
    (r.orders > 0).then(|| {
        (r.wrong_items_caught + r.mismatches + r.errors_after_shipping) as f64 / r.orders as f64
    })
}

fn pct(x: Option<f64>) -> String {
    x.map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn report_rows(report: &Report, weeks: &[Week]) -> (Vec<ReportLine>, Vec<ReportLine>, String) {
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

/// The batch without the questions a newer one of the same kind makes pointless.
fn newest(batch: Vec<Ask>) -> Vec<Ask> {
    let kinds: Vec<Option<u8>> = batch.iter().map(Ask::kind).collect();
    batch
        .into_iter()
        .enumerate()
        .filter(|(i, a)| !a.kind().is_some_and(|k| kinds[i + 1..].contains(&Some(k))))
        .map(|(_, a)| a)
        .collect()
}

struct Worker {
    reader: CentralReader,
    clock: SharedClock,
    exports: PathBuf,
    /// The supervisor signed in: (id, name), and their PIN's proof from the centre, which
    /// every review sends for the centre to check again (held in memory only, never shown).
    signed_in: Option<(String, String)>,
    proof: Option<PinHash>,
    last_hits: Vec<SearchHit>,
}

fn db_words(e: impl std::fmt::Display) -> Words {
    words(
        format!("the central database: {e}"),
        format!("中央数据库:{e}"),
    )
}

impl Worker {
    fn serve(&mut self, rx: Receiver<Ask>, post: impl Fn(Answer, usize)) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let n = batch.len();
            let mut answers: Vec<Answer> =
                newest(batch).into_iter().map(|a| self.answer(a)).collect();
            let last = answers.pop();
            for a in answers {
                post(a, 0);
            }
            if let Some(a) = last {
                post(a, n);
            }
        }
    }

    fn today(&self) -> (DateTime<FixedOffset>, DateTime<Utc>) {
        let now = (self.clock)();
        (now, lookup::day_start(now).with_timezone(&Utc))
    }

    fn answer(&mut self, a: Ask) -> Answer {
        if !matches!(a, Ask::SignIn { .. }) && self.signed_in.is_none() {
            return Answer::SignedIn(Err(words(
                "sign in with a supervisor's badge and PIN first",
                "请先用主管工牌和 PIN 登录",
            )));
        }
        let c = self.reader.central().clone();
        match a {
            Ask::SignIn { who, pin } => Answer::SignedIn(self.sign_in(&who, &pin)),
            Ask::SignOut => {
                self.signed_in = None;
                self.proof = None;
                Answer::SignedOut
            }
            Ask::Board => {
                let (now, since) = self.today();
                let t = Instant::now();
                let got = self.reader.block_on(async {
                    let rows = c.board(ONLINE_WITHIN, since).await?;
                    let hourly = c.hourly(since).await?;
                    Ok::<_, crate::central::CentralError>((rows, hourly))
                });
                match got {
                    Ok((rows, hourly)) => Answer::Board {
                        rows,
                        hourly,
                        at: now,
                        ms: t.elapsed().as_millis(),
                    },
                    Err(e) => Answer::Failed(db_words(e)),
                }
            }
            Ask::Review { include_reviewed } => {
                let (now, since) = self.today();
                // The queue spans the last week: an item from yesterday still waits.
                let since = since - chrono::Duration::days(7);
                match self.reader.block_on(c.review_queue(
                    since,
                    DEVICE_LOST_AFTER,
                    include_reviewed,
                    QUEUE_LIMIT,
                )) {
                    Ok(items) => Answer::Review { items, at: now },
                    Err(e) => Answer::Failed(db_words(e)),
                }
            }
            Ask::Search(text) => {
                let text = text.trim().to_string();
                if text.chars().count() < SEARCH_MIN_CHARS {
                    self.last_hits.clear();
                    return Answer::Hits {
                        hits: vec![],
                        message: words(
                            format!("type at least {SEARCH_MIN_CHARS} characters"),
                            format!("请至少输入 {SEARCH_MIN_CHARS} 个字符"),
                        ),
                    };
                }
                match self.reader.block_on(c.search(&text, SEARCH_LIMIT)) {
                    Ok(hits) => {
                        self.last_hits = hits.clone();
                        let message = if hits.is_empty() {
                            words(
                                format!("nothing found for {}", plain(&text)),
                                format!("没有找到 {}", plain(&text)),
                            )
                        } else {
                            words(
                                format!("{} found", hits.len()),
                                format!("找到 {} 条", hits.len()),
                            )
                        };
                        Answer::Hits { hits, message }
                    }
                    Err(e) => Answer::Failed(db_words(e)),
                }
            }
            Ask::Open { kind, key } => {
                let (_, since) = self.today();
                let r = match kind {
                    central::HitKind::Order => lookup::timeline(&self.reader, &key),
                    central::HitKind::Employee => {
                        lookup::person(&self.reader, &key, since.fixed_offset())
                    }
                    central::HitKind::Sku => Ok(Reply::Failed(words(
                        "a SKU has no timeline: search its orders by number or waybill",
                        "商品没有时间线:请按订单号或运单号搜索",
                    ))),
                };
                match r {
                    Ok(r) => Answer::Lookup(r),
                    Err(e) => Answer::Failed(db_words(e)),
                }
            }
            Ask::Mark { id, note } => {
                let note = note.trim();
                if note.is_empty() {
                    return Answer::Marked(Err(words(
                        "write a short note before marking it reviewed",
                        "标记已复核前请写一句备注",
                    )));
                }
                let by = self
                    .signed_in
                    .as_ref()
                    .map(|s| s.0.clone())
                    .unwrap_or_default();
                match self
                    .reader
                    .block_on(c.review(&id, &by, self.proof.as_ref(), note))
                {
                    Ok(_) => Answer::Marked(Ok(id)),
                    Err(e) => Answer::Marked(Err(db_words(e))),
                }
            }
            Ask::Report { from, to } => match self.report(&from, &to) {
                Ok((report, weeks)) => Answer::Report { report, weeks },
                Err(w) => Answer::Failed(w),
            },
            Ask::Export {
                tab,
                format,
                include_reviewed,
                query,
                from,
                to,
            } => Answer::Exported(self.export(tab, format, include_reviewed, &query, &from, &to)),
        }
    }

    fn sign_in(&mut self, who: &str, pin: &str) -> Result<(String, String), Words> {
        let found = self
            .reader
            .employee(who)
            .and_then(|e| match e {
                Some(e) => Ok(Some(e)),
                None => self.reader.employee_by_badge(who),
            })
            .map_err(db_words)?;
        let id = found.as_ref().map_or(who, |e| e.id.as_str());
        let central = self.reader.central().clone();
        let typed = Pin::new(pin);
        let decided = central::admit(who, found.as_ref(), |e| {
            self.reader.block_on(central.check_pin(&e.id, &typed))
        })
        .map_err(db_words)?;
        let refusal = match decided {
            Ok((e, proof)) => {
                let me = (e.id.clone(), e.name.clone());
                self.signed_in = Some(me.clone());
                self.proof = Some(proof);
                return Ok(me);
            }
            Err(r) => r,
        };
        Err(match refusal {
            SignInRefusal::Unknown => words(
                format!("no badge or employee {}", plain(who)),
                format!("没有工牌或工号 {}", plain(who)),
            ),
            SignInRefusal::Inactive => words(format!("{id} is not active"), format!("{id} 已停用")),
            SignInRefusal::NotSupervisor => words(
                format!("{id} is not a supervisor"),
                format!("{id} 不是主管"),
            ),
            SignInRefusal::Locked { failures: n } => words(
                format!("{id} is locked for {LOCK_MINUTES} minutes after {n} wrong PINs"),
                format!("{id} 连续 {n} 次 PIN 错误,锁定 {LOCK_MINUTES} 分钟"),
            ),
            SignInRefusal::NoPin => {
                words(format!("{id} has no PIN set"), format!("{id} 未设置 PIN"))
            }
            SignInRefusal::WrongPin { tries_left: left } => words(
                format!("wrong PIN for {id} ({left} tries left)"),
                format!("{id} 的 PIN 错误(还可尝试 {left} 次)"),
            ),
        })
    }

    fn day(&self, s: &str, what: &str, what_zh: &str) -> Result<NaiveDate, Words> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            words(
                format!("{what}: {} is not a date (YYYY-MM-DD)", plain(s)),
                format!("{what_zh}:{} 不是日期(YYYY-MM-DD)", plain(s)),
            )
        })
    }

    fn at(&self, d: NaiveDate) -> DateTime<Utc> {
        let off = *(self.clock)().offset();
        off.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .expect("a fixed offset has every time")
            .with_timezone(&Utc)
    }

    /// The report from `from` to `to` (whole days, both included) and the packers' error
    /// rate in each of the [`WEEKS`] weeks that end with `to`.
    fn report(&self, from: &str, to: &str) -> Result<(Report, Vec<Week>), Words> {
        let f = self.day(from, "from", "开始")?;
        let t = self.day(to, "to", "结束")?;
        if t < f {
            return Err(words(
                format!("the report ends ({t}) before it starts ({f})"),
                format!("结束日期 {t} 早于开始日期 {f}"),
            ));
        }
        let c = self.reader.central().clone();
        let end = t + chrono::Duration::days(1);
        let report = self
            .reader
            .block_on(c.report(self.at(f), self.at(end)))
            .map_err(db_words)?;
        let mut weeks = Vec::with_capacity(WEEKS);
        for i in (0..WEEKS as i64).rev() {
            let start = end - chrono::Duration::days(7 * (i + 1));
            let r = self
                .reader
                .block_on(c.report(self.at(start), self.at(start + chrono::Duration::days(7))))
                .map_err(db_words)?;
            weeks.push(Week { start, report: r });
        }
        Ok((report, weeks))
    }

    fn export(
        &mut self,
        tab: Tab,
        format: ExportFormat,
        include_reviewed: bool,
        query: &str,
        from: &str,
        to: &str,
    ) -> Result<PathBuf, Words> {
        let c = self.reader.central().clone();
        let (now, since) = self.today();
        let (name, list): (&str, Vec<sheet::Sheet>) = match tab {
            Tab::Board => {
                let rows = self
                    .reader
                    .block_on(c.board(ONLINE_WITHIN, since))
                    .map_err(db_words)?;
                ("board", vec![sheets::board(&rows, now.with_timezone(&Utc))])
            }
            Tab::Review => {
                let items = self
                    .reader
                    .block_on(c.review_queue(
                        since - chrono::Duration::days(7),
                        DEVICE_LOST_AFTER,
                        include_reviewed,
                        QUEUE_LIMIT,
                    ))
                    .map_err(db_words)?;
                ("review", vec![sheets::review(&items)])
            }
            Tab::Search => {
                if query.trim().chars().count() >= SEARCH_MIN_CHARS {
                    self.last_hits = self
                        .reader
                        .block_on(c.search(query.trim(), SEARCH_LIMIT))
                        .map_err(db_words)?;
                }
                ("search", vec![sheets::search(&self.last_hits)])
            }
            Tab::Reports => {
                let (r, _) = self.report(from, to)?;
                let [a, b] = sheets::report(&r);
                ("report", vec![a, b])
            }
        };
        let refs: Vec<&sheet::Sheet> = list.iter().collect();
        let fail =
            |e: anyhow::Error| words(format!("cannot export: {e:#}"), format!("无法导出:{e:#}"));
        std::fs::create_dir_all(&self.exports)
            .with_context(|| format!("creating {}", self.exports.display()))
            .map_err(fail)?;
        let stamp = now.format("%Y%m%d-%H%M%S");
        let path = match format {
            ExportFormat::Xlsx => {
                let p = self.exports.join(format!("{name}-{stamp}.xlsx"));
                sheet::write_xlsx(&refs, &p).map_err(fail)?;
                p
            }
            ExportFormat::Csv => {
                let p = self.exports.join(format!("{name}-{stamp}.csv"));
                let mut f = std::fs::File::create(&p)
                    .with_context(|| format!("creating {}", p.display()))
                    .map_err(fail)?;
                sheet::write_csv(&refs, &mut f).map_err(fail)?;
                p
            }
        };
        tracing::info!(path = %path.display(), "console export");
        Ok(path)
    }
}

/// `packbench console`: the window on this machine's display.
pub fn run(central: Central, exports: PathBuf) -> Result<()> {
    if !super::display_available() {
        anyhow::bail!(
            "no display to open the console on (DISPLAY is not set); the same lists are \
             available as `packbench audit board|review|search|report --central URL`"
        );
    }
    let window = ConsoleWindow::new()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot open the console window")?;
    let clock: SharedClock = Arc::new(|| chrono::Local::now().fixed_offset());
    let console = Console::start(
        window,
        Setup {
            central,
            exports,
            clock,
            wake_event_loop: true,
        },
    )?;
    console.set_language(super::bridge::system_language());
    console
        .window
        .run()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the console window stopped")?;
    console.shutdown();
    Ok(())
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
        assert_eq!(tallies[1].value, "24");
        assert_eq!(tallies[4].value, "2");
        assert_eq!(tallies[5].value, "8");
    }

    #[test]
    fn older_questions_of_a_kind_are_dropped_for_the_newest() {
        let batch = [
            Ask::Board,
            Ask::Search("SF".into()),
            Ask::Board,
            Ask::Search("SF1".into()),
            Ask::Mark {
                id: "a".into(),
                note: "n".into(),
            },
        ];
        let kept = newest(batch.to_vec());
        assert_eq!(kept, batch[2..].to_vec());
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
