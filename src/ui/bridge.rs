//! The bridge between the window (UI thread) and the workers: the station loop on its own
//! thread, device tasks on tokio, and the read-only lookup worker.
//!
//! Intents go out as `Msg`s over a std channel. Results come back through the `Inbox`: the
//! workers post the newest view (older ones are dropped, so a scale streaming at 20 Hz can
//! never queue work for the UI) and lookup replies, then wake the UI thread once. In the
//! window the wake is `slint::invoke_from_event_loop`; tests drain the inbox themselves.
//!
//! Tests and measurements also need to know when the screen has caught up with everything
//! sent (`Screen::settle`). What that takes is counted by `probe`, which is empty in the
//! station: it counts only with the `testing` feature, which this crate's own tests and
//! benches turn on.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc::Sender;
use std::sync::Arc;

use slint::{ComponentHandle, SharedString};

use crate::domain::commands::{Command, HoldReason};
use crate::domain::event::RejectReason;
use crate::domain::returns::{Condition, ReturnReason};
use crate::station::runtime::Msg;
use crate::station::view::{StationView, SupervisorOutcome};

mod mailbox;
pub use mailbox::{Mailbox, Wake};

use super::adapter::{self, clean_scan, model, plain, LineModel, UiState};
use super::lookup::{Query, Reply};
use super::{
    Api, AppWindow, ApprovalChoice, CodeButton, KeyValue, Language, Page, SimWeight,
    StationCommand, SupervisorTab,
};
use crate::text;
use crate::text::Words;

/// Sends to the station loop.
#[derive(Clone)]
pub struct StationTx {
    tx: Sender<Msg>,
    sent: probe::Counter,
}

impl StationTx {
    pub fn new(tx: Sender<Msg>) -> StationTx {
        StationTx {
            tx,
            sent: probe::Counter::new(),
        }
    }

    pub fn send(&self, msg: Msg) {
        self.sent.add();
        // A closed loop (shutting down) has nothing left to tell.
        let _ = self.tx.send(msg);
    }

    pub fn scan(&self, code: String, scanner: &str) {
        self.send(Msg::Scan {
            code,
            scanner: scanner.into(),
        });
    }
}

#[derive(Default)]
struct Pending {
    view: Option<StationView>,
    replies: Vec<Reply>,
}

/// What the workers have for the screen, newest view only.
#[derive(Default)]
pub struct Inbox {
    mail: Mailbox<Pending>,
    posted: probe::Posted,
}

impl Inbox {
    pub fn new() -> Arc<Inbox> {
        Arc::new(Inbox::default())
    }

    pub fn set_wake(&self, wake: Wake) {
        self.mail.set_wake(wake);
    }

    pub fn post_view(&self, v: StationView) {
        self.mail.post(|p| p.view = Some(v));
        self.posted.view();
    }

    pub fn post_reply(&self, r: Reply) {
        self.mail.post(|p| p.replies.push(r));
        self.posted.reply();
    }

    fn take(&self) -> (Option<StationView>, Vec<Reply>) {
        let p = self.mail.take();
        (p.view, p.replies)
    }
}

/// The demo's simulated devices: catalogue codes for the scanner panel.
#[derive(Clone, Default)]
pub struct SimCodes {
    /// Each badge's label (name, id, roles in words) and code.
    pub badges: Vec<(Words, String)>,
    pub orders: Vec<CodeButton>,
    pub commands: Vec<CodeButton>,
    /// SKU → its barcodes and units per scan.
    pub catalog: std::collections::BTreeMap<String, Vec<(String, u32)>>,
    pub printer_file: String,
}

/// The language the window shows now (English once it is gone).
fn window_lang(weak: &slint::Weak<AppWindow>) -> text::Lang {
    weak.upgrade()
        .map(|w| text::Lang::from(w.global::<Api>().get_language()))
        .unwrap_or_default()
}

/// The demo's badge buttons in the screen's language.
fn sim_badges(sim: &SimCodes, lang: text::Lang) -> slint::ModelRc<CodeButton> {
    model(
        sim.badges
            .iter()
            .map(|(label, code)| CodeButton {
                label: label.pick(lang).into(),
                code: code.into(),
            })
            .collect(),
    )
}

/// Fewer characters arriving at a scanner's pace are keys pressed together, not a code.
const MIN_SCAN_CHARS: usize = 4;

/// The UI-thread side: the window and what it last showed.
pub struct Screen {
    pub window: AppWindow,
    pub inbox: Arc<Inbox>,
    state: Rc<RefCell<ScreenState>>,
    station: StationTx,
    lookup: Sender<Query>,
    #[cfg(any(test, feature = "testing"))]
    queries: probe::Counter,
}

#[derive(Default)]
struct ScreenState {
    shown: Option<UiState>,
    /// The open order's lines, kept across views (a scan updates its row).
    lines: LineModel,
    view: Option<StationView>,
    sim: Option<SimCodes>,
    sim_items: Vec<CodeButton>,
    /// The station's last answer to the supervisor view acted on.
    supervisor_answer: u64,
    // Messages in both languages, kept to re-show them after a language switch.
    keypad_message: Option<Words>,
    supervisor_message: Option<Words>,
    search_message: Option<Words>,
    /// The record the supervisor view opened ("order:NO", "person:ID"): read again in the
    /// other language after a switch.
    opened: Option<String>,
}

/// The language to start in, from LC_ALL, LC_MESSAGES or LANG (the POSIX order).
pub fn system_language() -> Language {
    let var = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    language_of(&var)
}

pub fn language_of(locale: &str) -> Language {
    if locale.to_ascii_lowercase().starts_with("zh") {
        Language::Zh
    } else {
        Language::En
    }
}

/// Switches the bundled translation and the screen's own bilingual texts.
pub fn set_language(window: &AppWindow, language: Language) {
    // "zh_CN" is the folder name under ui/lang; "" is the English in the .slint files.
    let bundle = match language {
        Language::Zh => "zh_CN",
        Language::En => "",
    };
    if let Err(e) = slint::select_bundled_translation(bundle) {
        tracing::warn!("cannot switch the screen to {language:?}: {e}");
    }
    window.global::<Api>().set_language(language);
}

/// The command a screen button stands for.
pub fn command_of(c: StationCommand) -> Command {
    match c {
        StationCommand::Undo => Command::UndoLastScan,
        StationCommand::HoldShort => Command::Hold(HoldReason::Short),
        StationCommand::HoldDamaged => Command::Hold(HoldReason::Damaged),
        StationCommand::HoldQuery => Command::Hold(HoldReason::OrderQuery),
        StationCommand::HoldOther => Command::Hold(HoldReason::Other),
        StationCommand::Reprint => Command::Reprint,
        StationCommand::SignOut => Command::SignOut,
        StationCommand::DispatchStart => Command::DispatchStart,
        StationCommand::DispatchEnd => Command::DispatchEnd,
        StationCommand::ReturnsStart => Command::ReturnsStart,
        StationCommand::ReturnsEnd => Command::ReturnsEnd,
        StationCommand::ReturnClose => Command::ReturnClose,
        StationCommand::CondOk => Command::Condition(Condition::Ok),
        StationCommand::CondDamaged => Command::Condition(Condition::Damaged),
        StationCommand::CondUsed => Command::Condition(Condition::Used),
        StationCommand::CondWrongVariant => Command::Condition(Condition::WrongVariant),
        StationCommand::RetSize => Command::ReturnReason(ReturnReason::Size),
        StationCommand::RetQuality => Command::ReturnReason(ReturnReason::Quality),
        StationCommand::RetNotAsDescribed => Command::ReturnReason(ReturnReason::NotAsDescribed),
        StationCommand::RetWrongItemSent => Command::ReturnReason(ReturnReason::WrongItemSent),
        StationCommand::RetMissingItem => Command::ReturnReason(ReturnReason::MissingItem),
        StationCommand::RetChangedMind => Command::ReturnReason(ReturnReason::ChangedMind),
        StationCommand::RetDamagedInTransit => {
            Command::ReturnReason(ReturnReason::DamagedInTransit)
        }
        StationCommand::RetOther => Command::ReturnReason(ReturnReason::Other),
    }
}

/// The supervisor view's refusal in both languages.
fn refusal_words(code: &str, employee_id: Option<&str>, name: Option<&str>) -> Words {
    match employee_id {
        Some(id) => {
            let name = plain(name.unwrap_or_default());
            text!("station.not_a_supervisor", name = name, id = id)
        }
        None => text!("station.not_a_badge", code = plain(code)),
    }
}

impl Screen {
    /// Wires the window's intents to the station and the lookup worker.
    pub fn new(
        window: AppWindow,
        inbox: Arc<Inbox>,
        station: StationTx,
        lookup: Sender<Query>,
        sim: Option<SimCodes>,
        settings: Vec<KeyValue>,
    ) -> Screen {
        let state = Rc::new(RefCell::new(ScreenState {
            sim: sim.clone(),
            ..Default::default()
        }));
        let queries = probe::Counter::new();
        let api = window.global::<Api>();
        api.set_settings(model(settings));
        if let Some(sim) = &sim {
            api.set_demo(true);
            api.set_sim_badges(sim_badges(sim, text::Lang::from(api.get_language())));
            api.set_sim_orders(model(sim.orders.clone()));
            api.set_sim_commands(model(sim.commands.clone()));
            api.set_printer_file(sim.printer_file.as_str().into());
        }
        let ask = {
            let lookup = lookup.clone();
            let queries = queries.clone();
            move |q: Query| {
                queries.add();
                let _ = lookup.send(q);
            }
        };

        api.set_lines(state.borrow().lines.shown());
        {
            let weak = window.as_weak();
            let st = state.clone();
            api.on_filter_lines(move |text| {
                let Some(w) = weak.upgrade() else { return };
                let st = st.borrow();
                st.lines.set_filter(&text);
                let current = st.shown.as_ref().map_or(-1, |u| u.current_line);
                w.global::<Api>()
                    .set_current_row(st.lines.shown_index(current));
            });
        }
        {
            // A scanner typing into the search field is still a scan: it goes to the
            // station and the search keeps what was typed by hand before it.
            let station = station.clone();
            api.on_search_accept(move |text, burst_from| {
                let Ok(from) = usize::try_from(burst_from) else {
                    return text;
                };
                let typed: Vec<char> = text.chars().collect();
                let burst: String = typed.iter().skip(from).collect();
                match clean_scan(&burst) {
                    Some(code) if code.chars().count() >= MIN_SCAN_CHARS => {
                        station.scan(code, "screen");
                        typed.iter().take(from).collect::<String>().into()
                    }
                    _ => text,
                }
            });
        }
        {
            let station = station.clone();
            api.on_scan(move |code| {
                if let Some(code) = clean_scan(&code) {
                    station.scan(code, "screen");
                }
            });
        }
        {
            // A button is its command's code scanned on the screen.
            let station = station.clone();
            api.on_command(move |c| station.scan(command_of(c).code().into(), "screen"));
        }
        {
            let ask = ask.clone();
            let weak = window.as_weak();
            let st = state.clone();
            api.on_keypad_sign_in(move |typed| {
                st.borrow_mut().keypad_message = None;
                if let Some(w) = weak.upgrade() {
                    w.global::<Api>().set_keypad_message(SharedString::new());
                }
                ask(Query::EmployeeNumber(typed.to_string()));
            });
        }
        {
            let station = station.clone();
            api.on_submit_pin(move |typed| {
                // Keys a keyboard sends beside digits (arrows, Home: private-use characters)
                // are not part of a PIN, as they are not part of a scan.
                let typed = adapter::clean_scan(&typed).unwrap_or_default();
                station.send(Msg::Pin(crate::domain::pin::Pin::new(&typed)));
            });
        }
        {
            let station = station.clone();
            api.on_choose_reason(move |choice| {
                use crate::domain::event::ApprovalReason as R;
                station.send(Msg::Reason(match choice {
                    ApprovalChoice::ScaleDrift => R::ScaleDrift,
                    ApprovalChoice::PackagingHeavier => R::PackagingHeavier,
                    ApprovalChoice::CatalogWeightWrong => R::CatalogWeightWrong,
                    ApprovalChoice::RecountedOk => R::RecountedOk,
                    ApprovalChoice::CustomerRequest => R::CustomerRequest,
                    ApprovalChoice::Other => R::Other,
                }));
            });
        }
        {
            let station = station.clone();
            api.on_cancel_auth(move || station.send(Msg::CancelAuth));
        }
        {
            let station = station.clone();
            api.on_supervisor_badge(move |code| {
                if let Some(code) = clean_scan(&code) {
                    station.send(Msg::SupervisorBadge { code });
                }
            });
        }
        {
            let ask = ask.clone();
            let weak = window.as_weak();
            api.on_supervisor_search(move |typed| {
                let lang = window_lang(&weak);
                ask(Query::Search {
                    text: typed.to_string(),
                    lang,
                })
            });
        }
        {
            let ask = ask.clone();
            let weak = window.as_weak();
            api.on_supervisor_open_order(move |key| {
                // The record is read in the window's language (its summary and event names).
                let lang = window_lang(&weak);
                ask(Query::Open {
                    key: key.to_string(),
                    lang,
                })
            });
        }
        {
            let ask = ask.clone();
            let weak = window.as_weak();
            api.on_supervisor_refresh(move || {
                let Some(w) = weak.upgrade() else { return };
                match w.global::<Api>().get_supervisor_tab() {
                    SupervisorTab::Mismatches => ask(Query::Mismatches {
                        lang: window_lang(&weak),
                    }),
                    SupervisorTab::Packers => ask(Query::Packers),
                    SupervisorTab::Search => {}
                }
            });
        }
        {
            let weak = window.as_weak();
            let st = state.clone();
            api.on_supervisor_close(move || {
                let Some(w) = weak.upgrade() else { return };
                let api = w.global::<Api>();
                // Nothing of the reports stays on the bench screen.
                api.set_page(Page::Station);
                api.set_supervisor_id(SharedString::new());
                api.set_supervisor_name(SharedString::new());
                api.set_search_hits(model(vec![]));
                api.set_timeline(model(vec![]));
                api.set_timeline_title(SharedString::new());
                api.set_timeline_summary(SharedString::new());
                api.set_mismatches(model(vec![]));
                api.set_packers(model(vec![]));
                api.set_search_message(SharedString::new());
                api.set_supervisor_tab(SupervisorTab::Search);
                st.borrow_mut().search_message = None;
                st.borrow_mut().opened = None;
                w.invoke_refocus();
            });
        }
        {
            let weak = window.as_weak();
            let st = state.clone();
            let ask = ask.clone();
            api.on_set_language(move |lang| {
                let Some(w) = weak.upgrade() else { return };
                set_language(&w, lang);
                show_messages(&w, &st.borrow());
                if let Some(sim) = &st.borrow().sim {
                    w.global::<Api>()
                        .set_sim_badges(sim_badges(sim, text::Lang::from(lang)));
                }
                // A record on the supervisor view is read again in the new language, and so
                // is the mismatch list (its hints and reasons).
                let api = w.global::<Api>();
                let shown = api.get_timeline_title() != "";
                if let Some(key) = st.borrow().opened.clone().filter(|_| shown) {
                    ask(Query::Open {
                        key,
                        lang: text::Lang::from(lang),
                    });
                }
                if api.get_page() == Page::Supervisor
                    && api.get_supervisor_tab() == SupervisorTab::Mismatches
                {
                    ask(Query::Mismatches {
                        lang: text::Lang::from(lang),
                    });
                }
            });
        }
        {
            let weak = window.as_weak();
            api.on_set_fullscreen(move |on| {
                let Some(w) = weak.upgrade() else { return };
                w.window().set_fullscreen(on);
                w.global::<Api>().set_fullscreen(on);
            });
        }
        {
            // The wake (from any thread) asks the UI thread to run this.
            let weak = window.as_weak();
            let inbox = inbox.clone();
            let st = state.clone();
            api.on_drain_inbox(move || {
                if let Some(w) = weak.upgrade() {
                    drain(&w, &inbox, &st);
                }
            });
        }
        {
            let station = station.clone();
            let st = state.clone();
            api.on_sim_scale(move |kind| {
                let expected = st
                    .borrow()
                    .view
                    .as_ref()
                    .and_then(|v| v.order.as_ref())
                    .map(|o| o.expected_g)
                    .unwrap_or(250.0);
                for msg in sim_readings(kind, expected) {
                    station.send(msg);
                }
            });
        }
        Screen {
            window,
            inbox,
            state,
            station,
            lookup,
            #[cfg(any(test, feature = "testing"))]
            queries,
        }
    }

    pub fn station(&self) -> &StationTx {
        &self.station
    }

    pub fn lookup(&self) -> &Sender<Query> {
        &self.lookup
    }

    /// Applies what the workers posted. Runs on the UI thread only.
    pub fn drain(&self) {
        drain(&self.window, &self.inbox, &self.state);
    }

    /// A wake for the real event loop: one `invoke_from_event_loop` per burst of posts.
    pub fn event_loop_wake(&self) -> Wake {
        let weak = self.window.as_weak();
        Box::new(move || {
            let _ = weak.upgrade_in_event_loop(|w| w.global::<Api>().invoke_drain_inbox());
        })
    }
}

/// Waiting for the screen to catch up: for tests and measurements only.
#[cfg(any(test, feature = "testing"))]
impl Screen {
    /// Waits (off the event loop) until the station and the lookup worker have answered
    /// everything sent so far, then shows it.
    pub fn settle(&self) -> bool {
        self.settle_quiet(std::time::Duration::from_millis(30))
    }

    /// `settle`, waiting `quiet` after the last post for late device reports (printer).
    pub fn settle_quiet(&self, quiet: std::time::Duration) -> bool {
        let ok = self.inbox.posted.wait_for(
            self.station.sent.get(),
            self.queries.get(),
            quiet,
            std::time::Duration::from_secs(20),
        );
        self.drain();
        ok
    }
}

/// The demo scale: a couple of readings while the parcel settles, then a stable one.
pub fn sim_readings(kind: SimWeight, expected_g: f64) -> Vec<Msg> {
    let target = match kind {
        SimWeight::Right => expected_g + 1.0,
        SimWeight::Wrong => (expected_g - 40.0).max(6.0),
        SimWeight::Heavy => expected_g + 185.0,
        SimWeight::Lift => 0.0,
    };
    let mut out = Vec::new();
    if target > 0.0 {
        out.push(Msg::Weight {
            grams: (target * 0.7).round(),
            stable: false,
        });
    }
    out.push(Msg::Weight {
        grams: target,
        stable: true,
    });
    out
}

fn show_messages(w: &AppWindow, st: &ScreenState) {
    let api = w.global::<Api>();
    let lang = text::Lang::from(api.get_language());
    let pick = |m: &Option<Words>| -> SharedString {
        m.as_ref().map(|m| m.pick(lang).into()).unwrap_or_default()
    };
    api.set_keypad_message(pick(&st.keypad_message));
    api.set_supervisor_message(pick(&st.supervisor_message));
    api.set_search_message(pick(&st.search_message));
}

fn drain(w: &AppWindow, inbox: &Inbox, state: &RefCell<ScreenState>) {
    let (view, replies) = inbox.take();
    let api = w.global::<Api>();
    let mut st = state.borrow_mut();
    if let Some(v) = view {
        let ui = UiState::from_view(&v);
        ui.apply(&api, st.shown.as_ref(), &st.lines);
        if let Some(sim) = &st.sim {
            let items = adapter::sim_items(&v, &sim.catalog, text::Lang::from(api.get_language()));
            if items != st.sim_items {
                api.set_sim_items(model(items.clone()));
                st.sim_items = items;
            }
        }
        // A badge typed on the keypad worked: its message goes with the sign-in.
        if !ui.packer_id.is_empty() && st.keypad_message.is_some() {
            st.keypad_message = None;
        }
        // The station's answer to a badge offered at the supervisor view, once.
        if let Some(a) = v
            .supervisor
            .as_ref()
            .filter(|a| a.number > st.supervisor_answer)
        {
            st.supervisor_answer = a.number;
            match &a.outcome {
                SupervisorOutcome::Opened {
                    supervisor_id,
                    name,
                } => {
                    st.supervisor_message = None;
                    api.set_supervisor_id(supervisor_id.as_str().into());
                    api.set_supervisor_name(plain(name).into());
                    api.set_supervisor_tab(SupervisorTab::Search);
                    api.set_page(Page::Supervisor);
                }
                SupervisorOutcome::Refused {
                    code,
                    reason,
                    employee_id,
                    name,
                } => {
                    st.supervisor_message = Some(if *reason == RejectReason::NotRecorded {
                        adapter::reason_words(*reason).words()
                    } else {
                        refusal_words(code, employee_id.as_deref(), name.as_deref())
                    });
                }
            }
        }
        st.shown = Some(ui);
        st.view = Some(v);
    }
    for r in replies {
        match r {
            Reply::Keypad(Ok(_)) => st.keypad_message = None,
            Reply::Keypad(Err(m)) => st.keypad_message = Some(m),
            Reply::Hits { hits, message } => {
                api.set_search_hits(model(hits));
                st.search_message = Some(message);
            }
            Reply::Timeline {
                key,
                title,
                summary,
                rows,
            } => {
                api.set_timeline_title(title.into());
                api.set_timeline_summary(summary.into());
                api.set_timeline(model(rows));
                st.search_message = None;
                st.opened = Some(key);
            }
            Reply::Mismatches(rows) => api.set_mismatches(model(rows)),
            Reply::Packers(rows) => api.set_packers(model(rows)),
            Reply::Failed(m) => {
                if api.get_page() == Page::Supervisor {
                    st.search_message = Some(m);
                } else {
                    st.supervisor_message = Some(m);
                }
            }
        }
    }
    show_messages(w, &st);
}

/// Counts for `Screen::settle`: messages sent, views and replies posted. With the `testing`
/// feature (and in unit tests) it counts; in the station it is empty and does nothing.
#[cfg(any(test, feature = "testing"))]
mod probe {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Condvar, Mutex, PoisonError};
    use std::time::{Duration, Instant};

    #[derive(Clone, Default)]
    pub struct Counter(Arc<AtomicU64>);

    impl Counter {
        pub fn new() -> Counter {
            Counter::default()
        }

        pub fn add(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }

        pub fn get(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[derive(Default)]
    struct Seen {
        views: u64,
        replies: u64,
        last: Option<Instant>,
    }

    #[derive(Default)]
    pub struct Posted {
        seen: Mutex<Seen>,
        changed: Condvar,
    }

    impl Posted {
        fn note(&self, f: impl FnOnce(&mut Seen)) {
            // The mailbox's rule for a poisoned lock (bridge/mailbox.rs): recover the counts.
            let mut s = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut s);
            s.last = Some(Instant::now());
            self.changed.notify_all();
        }

        pub fn view(&self) {
            self.note(|s| s.views += 1);
        }

        pub fn reply(&self) {
            self.note(|s| s.replies += 1);
        }

        /// Waits until the station has answered `sent` messages (it posts one view at start
        /// and one per message) and `queries` lookups, then until nothing new arrived for
        /// `quiet`. False on timeout.
        pub fn wait_for(
            &self,
            sent: u64,
            queries: u64,
            quiet: Duration,
            timeout: Duration,
        ) -> bool {
            let deadline = Instant::now() + timeout;
            let mut s = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                let caught_up = s.views > sent && s.replies >= queries;
                let calm = s.last.is_none_or(|t| t.elapsed() >= quiet);
                if caught_up && calm {
                    return true;
                }
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                let step = if caught_up { quiet } else { deadline - now };
                s = self
                    .changed
                    .wait_timeout(s, step.min(deadline - now))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
    }
}

#[cfg(not(any(test, feature = "testing")))]
mod probe {
    #[derive(Clone)]
    pub struct Counter;

    impl Counter {
        pub fn new() -> Counter {
            Counter
        }

        pub fn add(&self) {}
    }

    #[derive(Default)]
    pub struct Posted;

    impl Posted {
        pub fn view(&self) {}
        pub fn reply(&self) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_picks_the_language() {
        assert_eq!(language_of("zh_CN.UTF-8"), Language::Zh);
        assert_eq!(language_of("zh_TW"), Language::Zh);
        assert_eq!(language_of("en_US.UTF-8"), Language::En);
        assert_eq!(language_of("C"), Language::En);
        assert_eq!(language_of(""), Language::En);
    }

    #[test]
    fn demo_scale_settles_on_the_parcel() {
        let m = sim_readings(SimWeight::Right, 265.0);
        assert_eq!(
            m.last(),
            Some(&Msg::Weight {
                grams: 266.0,
                stable: true
            })
        );
        assert!(matches!(m[0], Msg::Weight { stable: false, .. }));
        assert_eq!(
            sim_readings(SimWeight::Lift, 265.0),
            vec![Msg::Weight {
                grams: 0.0,
                stable: true
            }]
        );
        assert_eq!(
            sim_readings(SimWeight::Wrong, 265.0).last(),
            Some(&Msg::Weight {
                grams: 225.0,
                stable: true
            })
        );
    }

    #[test]
    fn inbox_keeps_only_the_newest_view_and_wakes_once() {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::time::Duration;
        let inbox = Inbox::new();
        let wakes = Arc::new(AtomicU64::new(0));
        {
            let wakes = wakes.clone();
            inbox.set_wake(Box::new(move || {
                wakes.fetch_add(1, Ordering::SeqCst);
            }));
        }
        let v = |id: &str| StationView {
            station_id: id.into(),
            step: crate::domain::session::NextStep::SignIn,
            packer_id: None,
            packer_name: None,
            order: None,
            scale_g: None,
            scale_stable: false,
            last_check: None,
            alert: None,
            devices: Default::default(),
            dispatch: None,
            last_packed: None,
            queued_labels: 0,
            label_preview: None,
            label_print: None,
            supervisor: None,
            auth: None,
            returns: None,
        };
        inbox.post_view(v("a"));
        inbox.post_view(v("b"));
        inbox.post_reply(Reply::Mismatches(vec![]));
        assert_eq!(wakes.load(Ordering::SeqCst), 1, "one wake per burst");
        let (view, replies) = inbox.take();
        assert_eq!(view.unwrap().station_id, "b");
        assert_eq!(replies.len(), 1);
        inbox.post_view(v("c"));
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
        let posted = &inbox.posted;
        assert!(posted.wait_for(2, 1, Duration::ZERO, Duration::from_millis(100)));
        assert!(!posted.wait_for(5, 1, Duration::ZERO, Duration::from_millis(20)));
    }
}
