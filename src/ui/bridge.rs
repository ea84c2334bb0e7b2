//! The bridge between the window (UI thread) and the workers: the station loop on its own
//! thread, device tasks on tokio, and the read-only lookup worker.
//!
//! Intents go out as `Msg`s over a std channel. Results come back through the `Inbox`: the
//! workers post the newest view (older ones are dropped, so a scale streaming at 20 Hz can
//! never queue work for the UI) and lookup replies, then wake the UI thread once. In the
//! window the wake is `slint::invoke_from_event_loop`; tests drain the inbox themselves.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use slint::{ComponentHandle, SharedString};

use crate::station::runtime::Msg;
use crate::station::view::StationView;

use super::adapter::{self, clean_scan, model, UiState};
use super::lookup::{Query, Reply, Words};
use super::{Api, AppWindow, CodeButton, KeyValue};

/// Sends to the station loop and counts what was sent, so `settle` knows when the screen
/// has caught up.
#[derive(Clone)]
pub struct StationTx {
    tx: Sender<Msg>,
    sent: Arc<AtomicU64>,
}

impl StationTx {
    pub fn new(tx: Sender<Msg>) -> StationTx {
        StationTx {
            tx,
            sent: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn send(&self, msg: Msg) {
        self.sent.fetch_add(1, Ordering::SeqCst);
        // A closed loop (shutting down) has nothing left to tell.
        let _ = self.tx.send(msg);
    }

    pub fn scan(&self, code: String, scanner: &str) {
        self.send(Msg::Scan {
            code,
            scanner: scanner.into(),
        });
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct Pending {
    view: Option<StationView>,
    replies: Vec<Reply>,
    views_posted: u64,
    replies_posted: u64,
    wake_pending: bool,
    last_post: Option<Instant>,
}

pub type Wake = Box<dyn Fn() + Send + Sync>;

/// What the workers have for the screen, newest view only.
#[derive(Default)]
pub struct Inbox {
    pending: Mutex<Pending>,
    changed: Condvar,
    wake: Mutex<Option<Wake>>,
}

impl Inbox {
    pub fn new() -> Arc<Inbox> {
        Arc::new(Inbox::default())
    }

    pub fn set_wake(&self, wake: Wake) {
        *self.wake.lock().expect("inbox lock") = Some(wake);
    }

    fn post(&self, f: impl FnOnce(&mut Pending)) {
        let wake_now = {
            let mut p = self.pending.lock().expect("inbox lock");
            f(&mut p);
            p.last_post = Some(Instant::now());
            !std::mem::replace(&mut p.wake_pending, true)
        };
        self.changed.notify_all();
        if wake_now {
            if let Some(w) = self.wake.lock().expect("inbox lock").as_ref() {
                w();
            }
        }
    }

    pub fn post_view(&self, v: StationView) {
        self.post(|p| {
            p.view = Some(v);
            p.views_posted += 1;
        });
    }

    pub fn post_reply(&self, r: Reply) {
        self.post(|p| {
            p.replies.push(r);
            p.replies_posted += 1;
        });
    }

    fn take(&self) -> (Option<StationView>, Vec<Reply>) {
        let mut p = self.pending.lock().expect("inbox lock");
        p.wake_pending = false;
        (p.view.take(), std::mem::take(&mut p.replies))
    }

    /// Waits until the station has answered `sent` messages (it posts one view at start and
    /// one per message) and `queries` lookups, then until nothing new arrived for `quiet`.
    /// False on timeout.
    pub fn wait_for(&self, sent: u64, queries: u64, quiet: Duration, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut p = self.pending.lock().expect("inbox lock");
        loop {
            let caught_up = p.views_posted > sent && p.replies_posted >= queries;
            let calm = p.last_post.is_none_or(|t| t.elapsed() >= quiet);
            if caught_up && calm {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let step = if caught_up { quiet } else { deadline - now };
            p = self
                .changed
                .wait_timeout(p, step.min(deadline - now))
                .expect("inbox lock")
                .0;
        }
    }
}

/// The demo's simulated devices: catalogue codes for the scanner panel.
#[derive(Clone, Default)]
pub struct SimCodes {
    pub badges: Vec<CodeButton>,
    pub orders: Vec<CodeButton>,
    pub commands: Vec<CodeButton>,
    /// SKU → its barcodes and units per scan.
    pub catalog: std::collections::BTreeMap<String, Vec<(String, u32)>>,
    pub printer_file: String,
}

/// The UI-thread side: the window and what it last showed.
pub struct Screen {
    pub window: AppWindow,
    pub inbox: Arc<Inbox>,
    state: Rc<RefCell<ScreenState>>,
    station: StationTx,
    lookup: Sender<Query>,
    queries: Arc<AtomicU64>,
}

#[derive(Default)]
struct ScreenState {
    shown: Option<UiState>,
    view: Option<StationView>,
    sim: Option<SimCodes>,
    sim_items: Vec<CodeButton>,
    // Messages in both languages, kept to re-show them after a language switch.
    keypad_message: Option<Words>,
    supervisor_message: Option<Words>,
    search_message: Option<Words>,
}

/// The language to start in, from LC_ALL, LC_MESSAGES or LANG (the POSIX order).
pub fn system_language() -> &'static str {
    let var = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    language_of(&var)
}

pub fn language_of(locale: &str) -> &'static str {
    if locale.to_ascii_lowercase().starts_with("zh") {
        "zh"
    } else {
        "en"
    }
}

/// Switches the bundled translation and the screen's own bilingual texts.
pub fn set_language(window: &AppWindow, language: &str) {
    let lang = if language == "zh" { "zh" } else { "en" };
    // "zh_CN" is the folder name under ui/lang; "" is the English in the .slint files.
    if let Err(e) = slint::select_bundled_translation(if lang == "zh" { "zh_CN" } else { "" }) {
        eprintln!("packbench: cannot switch the screen to {lang}: {e}");
    }
    window.global::<Api>().set_language(lang.into());
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
        let queries = Arc::new(AtomicU64::new(0));
        let api = window.global::<Api>();
        api.set_settings(model(settings));
        if let Some(sim) = &sim {
            api.set_demo(true);
            api.set_sim_badges(model(sim.badges.clone()));
            api.set_sim_orders(model(sim.orders.clone()));
            api.set_sim_commands(model(sim.commands.clone()));
            api.set_printer_file(sim.printer_file.as_str().into());
        }
        let ask = {
            let lookup = lookup.clone();
            let queries = queries.clone();
            move |q: Query| {
                queries.fetch_add(1, Ordering::SeqCst);
                let _ = lookup.send(q);
            }
        };

        {
            let station = station.clone();
            api.on_scan(move |code| {
                if let Some(code) = clean_scan(&code) {
                    station.scan(code, "screen");
                }
            });
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
            let ask = ask.clone();
            api.on_supervisor_badge(move |code| {
                if let Some(code) = clean_scan(&code) {
                    ask(Query::SupervisorBadge(code));
                }
            });
        }
        {
            let ask = ask.clone();
            api.on_supervisor_search(move |text| ask(Query::Search(text.to_string())));
        }
        {
            let ask = ask.clone();
            api.on_supervisor_open_order(move |key| ask(Query::Open(key.to_string())));
        }
        {
            let ask = ask.clone();
            let weak = window.as_weak();
            api.on_supervisor_refresh(move || {
                let Some(w) = weak.upgrade() else { return };
                match w.global::<Api>().get_supervisor_tab().as_str() {
                    "mismatches" => ask(Query::Mismatches),
                    "packers" => ask(Query::Packers),
                    _ => {}
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
                api.set_page("station".into());
                api.set_supervisor_id(SharedString::new());
                api.set_supervisor_name(SharedString::new());
                api.set_search_hits(model(vec![]));
                api.set_timeline(model(vec![]));
                api.set_timeline_title(SharedString::new());
                api.set_timeline_summary(SharedString::new());
                api.set_mismatches(model(vec![]));
                api.set_packers(model(vec![]));
                api.set_search_message(SharedString::new());
                api.set_supervisor_tab("search".into());
                st.borrow_mut().search_message = None;
                w.invoke_refocus();
            });
        }
        {
            let weak = window.as_weak();
            let st = state.clone();
            api.on_set_language(move |lang| {
                let Some(w) = weak.upgrade() else { return };
                set_language(&w, &lang);
                show_messages(&w, &st.borrow());
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
                for msg in sim_readings(&kind, expected) {
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

    /// Waits (off the event loop: tests and measurements) until the station and the lookup
    /// worker have answered everything sent so far, then shows it.
    pub fn settle(&self) -> bool {
        self.settle_quiet(Duration::from_millis(30))
    }

    /// `settle`, waiting `quiet` after the last post for late device reports (printer).
    pub fn settle_quiet(&self, quiet: Duration) -> bool {
        let ok = self.inbox.wait_for(
            self.station.sent(),
            self.queries.load(Ordering::SeqCst),
            quiet,
            Duration::from_secs(20),
        );
        self.drain();
        ok
    }
}

/// The demo scale: a couple of readings while the parcel settles, then a stable one.
pub fn sim_readings(kind: &str, expected_g: f64) -> Vec<Msg> {
    let target = match kind {
        "right" => expected_g + 1.0,
        "wrong" => (expected_g - 40.0).max(6.0),
        "heavy" => expected_g + 185.0,
        _ => 0.0,
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
    let lang = api.get_language();
    let pick = |m: &Option<Words>| -> SharedString {
        m.as_ref().map(|m| m.pick(&lang).into()).unwrap_or_default()
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
        ui.apply(&api, st.shown.as_ref());
        if let Some(sim) = &st.sim {
            let items = adapter::sim_items(&v, &sim.catalog);
            if items != st.sim_items {
                api.set_sim_items(model(items.clone()));
                st.sim_items = items;
            }
        }
        // A badge typed on the keypad worked: its message goes with the sign-in.
        if !ui.packer_id.is_empty() && st.keypad_message.is_some() {
            st.keypad_message = None;
        }
        st.shown = Some(ui);
        st.view = Some(v);
    }
    for r in replies {
        match r {
            Reply::Keypad(Ok(_)) => st.keypad_message = None,
            Reply::Keypad(Err(m)) => st.keypad_message = Some(m),
            Reply::SupervisorOk { id, name } => {
                st.supervisor_message = None;
                api.set_supervisor_id(id.into());
                api.set_supervisor_name(name.into());
                api.set_supervisor_tab("search".into());
                api.set_page("supervisor".into());
            }
            Reply::SupervisorRefused(m) => st.supervisor_message = Some(m),
            Reply::Hits { hits, message } => {
                api.set_search_hits(model(hits));
                st.search_message = Some(message);
            }
            Reply::Timeline {
                title,
                summary,
                rows,
            } => {
                api.set_timeline_title(title.into());
                api.set_timeline_summary(summary.into());
                api.set_timeline(model(rows));
                st.search_message = None;
            }
            Reply::Mismatches(rows) => api.set_mismatches(model(rows)),
            Reply::Packers(rows) => api.set_packers(model(rows)),
            Reply::Failed(m) => {
                if api.get_page() == "supervisor" {
                    st.search_message = Some(m);
                } else {
                    st.supervisor_message = Some(m);
                }
            }
        }
    }
    show_messages(w, &st);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_picks_the_language() {
        assert_eq!(language_of("zh_CN.UTF-8"), "zh");
        assert_eq!(language_of("zh_TW"), "zh");
        assert_eq!(language_of("en_US.UTF-8"), "en");
        assert_eq!(language_of("C"), "en");
        assert_eq!(language_of(""), "en");
    }

    #[test]
    fn demo_scale_settles_on_the_parcel() {
        let m = sim_readings("right", 265.0);
        assert_eq!(
            m.last(),
            Some(&Msg::Weight {
                grams: 266.0,
                stable: true
            })
        );
        assert!(matches!(m[0], Msg::Weight { stable: false, .. }));
        assert_eq!(
            sim_readings("lift", 265.0),
            vec![Msg::Weight {
                grams: 0.0,
                stable: true
            }]
        );
        assert_eq!(
            sim_readings("wrong", 265.0).last(),
            Some(&Msg::Weight {
                grams: 225.0,
                stable: true
            })
        );
    }

    #[test]
    fn inbox_keeps_only_the_newest_view_and_wakes_once() {
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
        assert!(inbox.wait_for(2, 1, Duration::ZERO, Duration::from_millis(100)));
        assert!(!inbox.wait_for(5, 1, Duration::ZERO, Duration::from_millis(20)));
    }
}
