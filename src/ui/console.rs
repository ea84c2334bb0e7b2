//! The supervisors' console (`packbench console`): the bench board, the review queue, search
//! with cross-bench timelines, and reports, read from the central database on an office PC
//! without devices.
//!
//! The window only shows and forwards. Every question goes to one worker thread that owns
//! the central connection ([`CentralReader`]); answers come back as plain data through an
//! inbox and become Slint rows on the UI thread ([`Shown`]), so a slow database never
//! freezes the screen and the 2 s refresh never piles up (the worker keeps only the newest
//! of each kind of question).

mod rows;
mod worker;

use crate::station::sound::{Cue, Output, Sounder};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::adapter::plain;
use super::bridge::Mailbox;
use super::lookup::Reply;
use super::{ConsolePage, ConsoleTab, ConsoleWindow, Floor, HitKind, Language};
use crate::central::{self, Central, CentralReader};
use crate::text;
use crate::text::{Lang, Words};
use rows::{board_rows, hit_row, report_rows, review_row, Count};
use worker::{Answer, Ask, Tab, Worker};

/// Why the console could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("no display to open the console on (DISPLAY is not set); the same lists are available as `packbench audit board|review|search|report --central URL`")]
    NoDisplay,
    #[error("starting the console's worker: {0}")]
    Worker(#[source] std::io::Error),
    #[error("cannot open the console window: {0}")]
    Window(#[source] slint::PlatformError),
    #[error("the console window stopped: {0}")]
    Stopped(#[source] slint::PlatformError),
}

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
/// A bench waiting for a supervisor this long turns red on the board (its row is amber
/// before): someone has stood at it for three minutes.
pub const WAITING_RED_AFTER: Duration = Duration::from_secs(180);

pub type SharedClock = Arc<dyn Fn() -> DateTime<FixedOffset> + Send + Sync>;

/// How the console starts: the centre, where exports go, and the clock ("today").
pub struct Setup {
    pub central: Central,
    pub exports: PathBuf,
    pub clock: SharedClock,
    /// Tests drain the inbox themselves; a real window is woken through its event loop.
    pub wake_event_loop: bool,
    /// How the console sounds its alert when a bench starts waiting (`[sound]` of the
    /// config, as at a bench); silent where the machine has no sound.
    pub sound: Output,
}

/// A running console window and its worker.
pub struct Console {
    pub window: ConsoleWindow,
    /// Shared with the window's callbacks; taken at shutdown so the worker sees the end.
    tx: Rc<RefCell<Option<Sender<Ask>>>>,
    pending: Arc<AtomicUsize>,
    inbox: Arc<Mailbox<Vec<Answer>>>,
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
    /// The board's tallies, named in the language shown.
    tallies: Vec<Count>,
    /// The benches waiting for a supervisor at the last board read: one that was not flashes
    /// the console.
    waiting: std::collections::BTreeSet<String>,
    /// What the last flash said.
    flash: Option<Words>,
    /// The alert a bench starting to wait sounds, with the flash.
    sounder: Option<Sounder>,
    /// The last search's hits, said again in the other language (a search is not re-read).
    hits: Vec<central::SearchHit>,
}

impl Console {
    /// Wires the window to a new worker; the window shows the sign-in page.
    pub fn start(window: ConsoleWindow, setup: Setup) -> Result<Console, ConsoleError> {
        let reader = CentralReader::new(setup.central).map_err(ConsoleError::Worker)?;
        let (tx, rx) = channel::<Ask>();
        let pending = Arc::new(AtomicUsize::new(0));
        let inbox: Arc<Mailbox<Vec<Answer>>> = Arc::default();
        if setup.wake_event_loop {
            let weak = window.as_weak();
            inbox.set_wake(Box::new(move || {
                // Fails only when the event loop has ended: nobody left to show it to.
                let _ = weak.upgrade_in_event_loop(|w| w.global::<Floor>().invoke_drain());
            }));
        }
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
                        // Counted down after the answer is in, so `settle` never sees
                        // nothing pending and nothing waiting while an answer is on its way.
                        inbox.post(|v| v.push(a));
                        pending.fetch_sub(n, Ordering::SeqCst);
                    })
                })
                .map_err(ConsoleError::Worker)?
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
            tallies: Vec::new(),
            waiting: Default::default(),
            flash: None,
            sounder: Sounder::start(&setup.sound),
            hits: Vec::new(),
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
        // The timeline on the search tab, opened again in the other language.
        let opened: Rc<RefCell<Option<(central::HitKind, String)>>> = Rc::default();
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
            let opened = opened.clone();
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
                    // Search answers what is typed; only the timeline opened is read again
                    // (its summary is in the language it was read in).
                    ConsoleTab::Search => {
                        if let Some((kind, key)) = opened.borrow().clone() {
                            ask(Ask::Open {
                                kind,
                                key,
                                lang: Lang::from(f.get_language()),
                            })
                        }
                    }
                }
            });
        }
        {
            let ask = ask.clone();
            let weak = self.window.as_weak();
            f.on_open(move |kind, key| {
                let Some(w) = weak.upgrade() else { return };
                let lang = Lang::from(w.global::<Floor>().get_language());
                let kind = match kind {
                    HitKind::Order => central::HitKind::Order,
                    HitKind::Person => central::HitKind::Employee,
                    HitKind::Sku => central::HitKind::Sku,
                };
                *opened.borrow_mut() = Some((kind, key.to_string()));
                ask(Ask::Open {
                    kind,
                    key: key.to_string(),
                    lang,
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
            if self.pending.load(Ordering::SeqCst) == 0 && self.inbox.peek(Vec::is_empty) {
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
    let f = w.global::<Floor>();
    f.set_language(language);
    state.borrow_mut().language = language;
    show_words(w, &state.borrow());
    // The rows are in words of the language they were read in: read them again.
    if f.get_page() == ConsolePage::Floor {
        f.invoke_refresh();
    }
}

fn pick(w: &Option<Words>, l: Lang) -> SharedString {
    w.as_ref().map(|w| w.pick(l)).unwrap_or_default().into()
}

/// The windows' language (both windows share Slint's enum) as the text catalogue's.
impl From<Language> for Lang {
    fn from(language: Language) -> Lang {
        match language {
            Language::En => Lang::En,
            Language::Zh => Lang::Zh,
        }
    }
}

fn show_words(w: &ConsoleWindow, s: &Shown) {
    let f = w.global::<Floor>();
    let l = Lang::from(s.language);
    f.set_tallies(model(s.tallies.iter().map(|t| t.row(l)).collect()));
    f.set_sign_in_message(pick(&s.sign_in, l));
    f.set_review_message(pick(&s.review, l));
    f.set_report_message(pick(&s.report, l));
    f.set_search_message(pick(&s.search, l));
    f.set_export_message(pick(&s.export, l));
    f.set_flash_message(pick(&s.flash, l));
    f.set_hits(model(s.hits.iter().map(|h| hit_row(h, l)).collect()));
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

fn drain(w: &ConsoleWindow, inbox: &Mailbox<Vec<Answer>>, state: &RefCell<Shown>) {
    let answers = inbox.take();
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
                st.hits.clear();
                f.set_timeline(model(vec![]));
                f.set_timeline_title(SharedString::new());
                f.set_timeline_summary(SharedString::new());
                f.set_per_packer(model(vec![]));
                f.set_per_bench(model(vec![]));
                f.set_selected(SharedString::new());
                f.set_flashing(false);
                st.status = None;
                st.export = None;
                st.flash = None;
                st.waiting.clear();
            }
            Answer::Board {
                rows,
                hourly,
                at,
                ms,
            } => {
                let (benches, tallies) = board_rows(&rows, &hourly, at, Lang::from(st.language));
                f.set_board(model(benches));
                st.tallies = tallies;
                let waiting: std::collections::BTreeSet<String> = rows
                    .iter()
                    .filter(|r| r.waiting.is_some())
                    .map(|r| r.station_id.clone())
                    .collect();
                // The first bench that started waiting since the last read, if any.
                if let Some((r, w)) = rows
                    .iter()
                    .filter(|r| !st.waiting.contains(&r.station_id))
                    .find_map(|r| r.waiting.as_ref().map(|w| (r, w)))
                {
                    tracing::info!(bench = %r.station_id, cause = %w.cause, "a bench waits for a supervisor");
                    st.flash = Some(text!(
                        "console.waiting_flash",
                        bench = plain(&r.station_id),
                        cause = rows::cause_words(&w.cause)
                    ));
                    f.set_flashing(true);
                    if let Some(s) = &st.sounder {
                        s.cue(Cue::Alert);
                    }
                }
                st.waiting = waiting;
                st.status = Some((
                    text!(
                        "console.board_read",
                        benches = rows.len(),
                        at = at.format("%H:%M:%S").to_string(),
                        ms = ms
                    ),
                    false,
                ));
            }
            Answer::Review { items, at } => {
                let open = items.iter().filter(|i| i.reviewed_by.is_none()).count();
                let l = Lang::from(st.language);
                f.set_review(model(items.iter().map(|i| review_row(i, now, l)).collect()));
                st.status = Some((
                    text!(
                        "console.review_read",
                        open = open,
                        at = at.format("%H:%M:%S").to_string()
                    ),
                    false,
                ));
            }
            Answer::Hits { hits, message } => {
                st.hits = hits;
                st.search = Some(message);
            }
            Answer::Lookup(Reply::Timeline {
                key: _,
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
                st.review = Some(text!("console.marked_reviewed", id = id));
                f.invoke_refresh();
            }
            Answer::Marked(Err(why)) => st.review = Some(why),
            Answer::Report { report, weeks } => {
                let (packers, benches, caption) =
                    report_rows(&report, &weeks, Lang::from(st.language));
                f.set_per_packer(model(packers));
                f.set_per_bench(model(benches));
                f.set_weeks_caption(caption.into());
                st.report = Some(text!(
                    "console.report_counts",
                    packers = report.per_packer.len(),
                    benches = report.per_bench.len()
                ));
            }
            Answer::Exported(Ok(path)) => {
                st.export = Some(text!("console.saved", path = path.display().to_string()))
            }
            Answer::Exported(Err(why)) => st.export = Some(why),
            Answer::Failed(why) => st.status = Some((why, true)),
        }
    }
    f.set_busy(false);
    show_words(w, &st);
}

/// `packbench console`: the window on this machine's display.
pub fn run(central: Central, exports: PathBuf, sound: Output) -> Result<(), ConsoleError> {
    if !super::display_available() {
        return Err(ConsoleError::NoDisplay);
    }
    let window = ConsoleWindow::new().map_err(ConsoleError::Window)?;
    let clock: SharedClock = Arc::new(|| chrono::Local::now().fixed_offset());
    let console = Console::start(
        window,
        Setup {
            central,
            exports,
            clock,
            wake_event_loop: true,
            sound,
        },
    )?;
    console.set_language(super::bridge::system_language());
    console.window.run().map_err(ConsoleError::Stopped)?;
    console.shutdown();
    Ok(())
}
