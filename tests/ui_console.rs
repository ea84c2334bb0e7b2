//! The supervisors' console (`packbench console`) on Slint's testing backend, against a real
//! PostgreSQL that two real stations ship their logs to: each bench is the station library
//! behind its own window (the UI harness), with `[central]` in its config, so claims, the
//! outbox sync and the heartbeats are the ones a warehouse runs.
//!
//! With `PACKBENCH_SCREENSHOTS=DIR` every console screen is written there in English and
//! Chinese at 1280×800 and 1920×1080 (`docs/screenshots/` holds the committed ones):
//!
//! ```sh
//! PACKBENCH_SCREENSHOTS=docs/screenshots cargo test --test ui_console
//! ```

mod pg;
mod ui_harness;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use i_slint_backend_testing::{ElementHandle, ElementQuery};
use packbench::central::{self, Central};
use packbench::config::{CentralConfig, Offline};
use packbench::store::{EventLog, SqliteStore};
use packbench::ui::console::{Console, Setup, SharedClock};
use packbench::ui::{ConsoleTab, ConsoleWindow, Floor};
use slint::{ComponentHandle, LogicalSize};
use ui_harness::*;

const WAIT: Duration = Duration::from_secs(60);

struct Centre {
    rt: tokio::runtime::Runtime,
    db: pg::TestDb,
    central: Central,
    /// The console's own login (`central add-console`): it never runs as the administrator.
    console_url: String,
}

impl Centre {
    fn new() -> Centre {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let db = rt.block_on(pg::fresh_db());
        let central = Central::connect(&db.url, None).unwrap();
        rt.block_on(central::import_data_set(
            &central,
            &pg::events::fixtures(),
            base_time(),
        ))
        .expect("the fixtures' data set");
        let console_url = rt
            .block_on(central::add_console(
                &db.url,
                None,
                &format!("OFFICE-{}", db.name),
            ))
            .unwrap()
            .url;
        Centre {
            rt,
            db,
            central,
            console_url,
        }
    }

    /// A bench with its own role on the centre, behind a window.
    fn bench(&self, station: &str) -> TestBench {
        let added = self
            .rt
            .block_on(central::add_bench(&self.db.url, None, station))
            .unwrap();
        let b = TestBench::with_config(1280.0, 800.0, station, |cfg| {
            cfg.central = Some(CentralConfig {
                url: added.url,
                password_file: None,
                offline: Offline::Finish,
                claim_timeout_ms: 5000,
            });
        });
        b.api().set_simulator_open(false);
        b
    }

    /// Waits until every event of the bench's log is central.
    fn drained(&self, station: &str, b: &TestBench) {
        let end = Instant::now() + WAIT;
        loop {
            let local = SqliteStore::open(&b.db)
                .unwrap()
                .head()
                .unwrap()
                .map(|h| h.0)
                .unwrap_or(0);
            let central = self.rt.block_on(self.central.head(station)).unwrap().0;
            if local > 0 && central == local {
                return;
            }
            assert!(
                Instant::now() < end,
                "{station}: {local} events local, {central} central"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The console window on the testing backend, found by accessible labels like the bench's.
struct Ui {
    console: Option<Console>,
    exports: PathBuf,
    /// The console's "player" writes a line here for every sound it plays.
    sounds: PathBuf,
}

impl Ui {
    /// How many sounds the console played: waits (up to 10 s) for the first, then a moment
    /// more, since a sound is played off the window's thread.
    fn sounds_played(&self) -> usize {
        let count = || {
            std::fs::read_to_string(&self.sounds)
                .map(|s| s.lines().count())
                .unwrap_or(0)
        };
        let give_up = Instant::now() + Duration::from_secs(10);
        while count() == 0 && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        count()
    }

    fn open(c: &Centre) -> Ui {
        init_backend();
        let exports =
            std::env::temp_dir().join(format!("packbench-console-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&exports);
        let sounds = exports.with_extension("sounds");
        let _ = std::fs::remove_file(&sounds);
        let window = ConsoleWindow::new().expect("console window");
        window.window().set_size(LogicalSize::new(1280.0, 800.0));
        let start = Instant::now();
        let clock: SharedClock = Arc::new(move || {
            base_time() + chrono::Duration::milliseconds(start.elapsed().as_millis() as i64)
        });
        let console = Console::start(
            window,
            Setup {
                central: Central::connect(&c.console_url, None).unwrap(),
                exports: exports.clone(),
                clock,
                wake_event_loop: false,
                sound: packbench::station::sound::Output::Player {
                    argv: vec![
                        "sh".into(),
                        "-c".into(),
                        format!("echo \"$1\" >> '{}'", sounds.display()),
                        "player".into(),
                    ],
                    alerts: true,
                    packed: false,
                },
            },
        )
        .unwrap();
        console.set_language(packbench::ui::Language::En);
        console.window.show().unwrap();
        Ui {
            console: Some(console),
            exports,
            sounds,
        }
    }

    fn c(&self) -> &Console {
        self.console.as_ref().unwrap()
    }

    fn w(&self) -> &ConsoleWindow {
        &self.c().window
    }

    fn settle(&self) {
        assert!(
            self.c().settle(),
            "the console's worker did not answer in time"
        );
        // A drained answer may ask again (sign-in reads the board, a review re-reads).
        assert!(
            self.c().settle(),
            "the console's worker did not answer in time"
        );
    }

    fn labels(&self, prefix: &str) -> Vec<(String, String)> {
        let prefix = prefix.to_string();
        ElementQuery::from_root(self.w())
            .match_predicate(move |e| {
                e.accessible_label()
                    .is_some_and(|l| l.starts_with(prefix.as_str()))
            })
            .find_all()
            .into_iter()
            .map(|e| {
                (
                    e.accessible_label().unwrap().to_string(),
                    e.accessible_value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    fn find(&self, label: &str) -> ElementHandle {
        ElementHandle::find_by_accessible_label(self.w(), label)
            .next()
            .unwrap_or_else(|| {
                panic!(
                    "no element labelled {label:?}; labels: {:?}",
                    self.labels("")
                )
            })
    }

    fn value(&self, label: &str) -> String {
        self.find(label)
            .accessible_value()
            .unwrap_or_default()
            .to_string()
    }

    fn tap(&self, label: &str) {
        let e = self.find(label);
        assert_ne!(e.accessible_enabled(), Some(false), "{label:?} is disabled");
        e.invoke_accessible_default_action();
        self.settle();
    }

    fn type_into(&self, id: &str, text: &str) {
        ElementHandle::find_by_element_id(self.w(), id)
            .next()
            .unwrap_or_else(|| panic!("no element with id {id:?}"))
            .set_accessible_value(text);
        self.settle();
    }

    fn floor(&self) -> Floor<'_> {
        self.w().global::<Floor>()
    }

    fn shot(&self, name: &str) {
        let img = self.w().window().take_snapshot().expect("snapshot");
        let distinct = img
            .as_slice()
            .iter()
            .step_by(97)
            .map(|p| (p.r, p.g, p.b))
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert!(distinct > 5, "{name}: the render is blank");
        if let Some(d) = std::env::var_os("PACKBENCH_SCREENSHOTS") {
            let d = PathBuf::from(d);
            let d = if d.is_relative() {
                Path::new(env!("CARGO_MANIFEST_DIR")).join(d)
            } else {
                d
            };
            std::fs::create_dir_all(&d).unwrap();
            write_png(
                &d.join(format!("{name}.png")),
                img.width(),
                img.height(),
                img.as_bytes(),
            );
        }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        if let Some(c) = self.console.take() {
            c.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self.exports);
        let _ = std::fs::remove_file(&self.sounds);
    }
}

#[test]
fn the_console_shows_the_floor_the_queue_search_and_reports() {
    let centre = Centre::new();
    let a = centre.bench("BENCH-A");
    let b = centre.bench("BENCH-B");

    // Bench A: a wrong item stopped, then order 1 one sock light on the scale, accepted by
    // a supervisor's badge, PIN and reason.
    a.wedge(PACKER);
    a.wedge(ORDER1);
    a.wedge(LIP_R02);
    assert_eq!(a.value("alert"), "not_in_order");
    for code in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
        a.wedge(code);
    }
    a.weigh(225.0);
    assert_eq!(a.step(), Step::ResolveMismatch);
    a.approve("scale_drift");
    assert_eq!(a.step(), Step::ScanOrder);
    // Bench B: one unit of order 2, then the packer signs out (the claim ends).
    b.wedge(PACKER2);
    b.wedge(ORDER2);
    b.wedge(LIP_R02);
    b.wedge("PB-SIGNOUT");
    centre.drained("BENCH-B", &b);
    // Bench A takes order 2 over, with B's unit counted.
    a.wedge(ORDER2);
    assert_eq!(a.api().get_order_no(), ORDER2);
    assert_eq!(a.api().get_units_scanned(), 1, "B's unit counts at A");
    centre.drained("BENCH-A", &a);
    centre.drained("BENCH-B", &b);
    // Who is on a bench comes with its heartbeat too (every 2 s): wait for the one after
    // the last sign-in and sign-out.
    let end = Instant::now() + WAIT;
    loop {
        let rows = centre
            .rt
            .block_on(centre.central.board(
                Duration::from_secs(10),
                base_time().with_timezone(&chrono::Utc) - chrono::Duration::hours(1),
            ))
            .unwrap();
        let on = |s: &str| {
            rows.iter()
                .find(|r| r.station_id == s)
                .and_then(|r| r.packer_id.clone())
        };
        if on("BENCH-A").as_deref() == Some("E003") && on("BENCH-B").is_none() {
            break;
        }
        assert!(
            Instant::now() < end,
            "the heartbeats never said who is on: {rows:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let ui = Ui::open(&centre);
    for (w, h) in [(1920.0, 1080.0), (1280.0, 800.0)] {
        ui.w().window().set_size(LogicalSize::new(w, h));
        for lang in [packbench::ui::Language::Zh, packbench::ui::Language::En] {
            ui.c().set_language(lang);
            let l = if lang == packbench::ui::Language::Zh {
                "zh"
            } else {
                "en"
            };
            ui.shot(&format!("console-01-sign-in-{l}-{w}x{h}"));
        }
    }

    // Sign-in: a packer is refused, a wrong PIN is refused, the supervisor gets in.
    ui.type_into("SignInPage::who", PACKER);
    ui.type_into("SignInPage::pin", PACKER_PIN);
    ui.tap("sign in");
    assert!(
        ui.value("sign-in message").contains("not a supervisor"),
        "{}",
        ui.value("sign-in message")
    );
    ui.type_into("SignInPage::who", SUPERVISOR);
    ui.type_into("SignInPage::pin", "0000");
    ui.tap("sign in");
    let m = ui.value("sign-in message");
    assert!(m.contains("wrong PIN") && m.contains("4 tries left"), "{m}");
    assert!(!m.contains("0000"), "the PIN is never shown: {m}");
    ui.type_into("SignInPage::pin", SUPERVISOR_PIN);
    ui.tap("sign in");
    assert_eq!(ui.value("supervisor name"), "E005 刘洋");

    // The board: both benches, who is on them, what they hold and did today.
    assert_eq!(ui.floor().get_tab(), ConsoleTab::Board);
    let bench_a = ui.value("bench BENCH-A");
    // People by name, the badge's id in brackets.
    assert!(bench_a.starts_with("online · 张伟 (E003)"), "{bench_a}");
    assert!(bench_a.contains("1 orders · 3 units"), "{bench_a}");
    assert!(bench_a.contains(&format!("holding {ORDER2}")), "{bench_a}");
    // The refusal in words, not its identifier.
    assert!(
        bench_a.contains("Wrong item: not in this order"),
        "{bench_a}"
    );
    let bench_b = ui.value("bench BENCH-B");
    assert!(bench_b.contains("0 orders"), "{bench_b}");
    assert!(!bench_b.contains("holding"), "{bench_b}");
    assert_eq!(ui.value("tally online"), "2 / 2");
    assert_eq!(ui.value("tally orders"), "1");
    // The tallies are named in the window's language (the Rust catalogue's words), their
    // accessible names stay put.
    ui.find("online");
    ui.c().set_language(packbench::ui::Language::Zh);
    ui.settle();
    for name in ["在线", "订单", "件数", "本小时", "异常", "未同步"] {
        ui.find(name);
    }
    assert_eq!(ui.value("tally online"), "2 / 2");
    ui.c().set_language(packbench::ui::Language::En);
    ui.settle();
    ui.find("this hour");
    ui.shot("console-02-board-en-1280x800");

    // It follows the floor by itself: a refusal at bench A shows after the 2 s timer.
    a.wedge("9999000011112");
    centre.drained("BENCH-A", &a);
    assert!(!ui.value("bench BENCH-A").contains("9999000011112"));
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(2100));
    ui.settle();
    let bench_a = ui.value("bench BENCH-A");
    assert!(bench_a.contains("9999000011112"), "{bench_a}");

    // Exports of the board: CSV with a BOM and .xlsx, into the exports folder.
    ui.tap("export csv");
    ui.tap("export xlsx");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&ui.exports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let csv = std::fs::read_to_string(
        files
            .iter()
            .find(|p| p.extension().unwrap() == "csv")
            .unwrap(),
    )
    .unwrap();
    assert!(csv.starts_with('\u{feff}'), "BOM");
    assert!(csv.contains("BENCH-A") && csv.contains("张伟"), "{csv}");
    let xlsx = std::fs::read(
        files
            .iter()
            .find(|p| p.extension().unwrap() == "xlsx")
            .unwrap(),
    )
    .unwrap();
    assert!(xlsx.starts_with(b"PK"), "an .xlsx is a zip");
    assert!(
        ui.value("status").contains("saved"),
        "{}",
        ui.value("status")
    );

    // The review queue: the mismatch and the override, until a supervisor reviews them.
    ui.tap("tab review");
    let items = ui.labels("review ");
    let items: Vec<_> = items
        .into_iter()
        .filter(|(l, _)| l != "review message")
        .collect();
    let mismatch = items
        .iter()
        .find(|(_, v)| v.starts_with(&format!("weight mismatch · {ORDER1} · open")))
        .unwrap_or_else(|| panic!("{items:#?}"))
        .0
        .clone();
    assert!(
        items.iter().any(|(_, v)| v.starts_with("override")),
        "{items:#?}"
    );
    ui.shot("console-03-review-en-1280x800");
    ui.tap(&mismatch);
    assert_eq!(
        ui.floor().get_selected(),
        mismatch.trim_start_matches("review ")
    );
    ui.type_into("ReviewPane::note-box", "秤已校准 scale checked");
    ui.tap("mark reviewed");
    assert!(
        ui.value("review message").contains("marked reviewed"),
        "{}",
        ui.value("review message")
    );
    assert!(
        ui.labels(&mismatch).is_empty(),
        "a reviewed item leaves the queue"
    );
    ui.tap("show reviewed");
    let shown = ui.value(&mismatch);
    assert!(shown.contains("reviewed 刘洋 (E005)"), "{shown}");
    assert!(shown.contains("秤已校准"), "{shown}");
    // The same on every console: it is an event on the centre's chain.
    let queue = centre
        .rt
        .block_on(centre.central.review_queue(
            base_time().with_timezone(&chrono::Utc) - chrono::Duration::days(1),
            Duration::from_secs(300),
            true,
            100,
        ))
        .unwrap();
    let item = queue
        .iter()
        .find(|i| format!("review {}", i.id) == mismatch)
        .unwrap();
    assert_eq!(item.reviewed_by.as_deref(), Some("E005"));
    ui.tap("show reviewed");

    // Search by a fragment of the waybill; the order's timeline spans both benches.
    ui.tap("tab search");
    ui.type_into("SearchPane::search-box", &ORDER1_WAYBILL[3..10]);
    ui.find(&format!("hit {ORDER1}"));
    ui.type_into("SearchPane::search-box", "S");
    assert!(ui.value("search message").contains("at least 2"));
    // Two characters match the start of an order number only; three match anywhere.
    ui.type_into("SearchPane::search-box", "王建");
    assert!(ui.labels(&format!("hit {ORDER2}")).is_empty());
    ui.type_into("SearchPane::search-box", "王建国");
    ui.tap(&format!("hit {ORDER2}"));
    let title = ui.value("timeline title");
    assert!(title.starts_with(ORDER2), "{title}");
    let stations: std::collections::BTreeSet<String> = ui
        .labels("unit scanned")
        .into_iter()
        .chain(ui.labels("order opened"))
        .map(|(_, v)| v.split(' ').next().unwrap().to_string())
        .collect();
    assert!(
        stations.contains("BENCH-A") && stations.contains("BENCH-B"),
        "{stations:?}"
    );
    ui.shot("console-04-search-en-1280x800");

    // Reports: per packer and per bench, with the weekly error-rate chart.
    ui.tap("tab reports");
    let e003 = ui.value("packer E003");
    assert!(e003.starts_with("1 orders · 3 units"), "{e003}");
    // One wrong item caught and one mismatch in one order: one order of one with a caught
    // error (it read 200 % when errors were counted instead of orders), none after shipping.
    assert!(
        e003.ends_with("caught 100.0 % · after shipping 0.0 %"),
        "{e003}"
    );
    ui.find("rates defined");
    assert!(ui.value("bench BENCH-A").starts_with("1 orders"));
    ui.floor().set_report_from("2026-11-23".into());
    ui.floor().set_report_to("2026-11-22".into());
    ui.tap("show report");
    assert!(
        ui.value("status").contains("before it starts"),
        "{}",
        ui.value("status")
    );
    ui.floor().set_report_from("2026-11-22".into());
    ui.tap("show report");
    ui.shot("console-05-reports-en-1280x800");

    // Bench A completes order 2 and it weighs 57 g light: it waits for a supervisor. The
    // board says so first, with the cause in words, and the console flashes once.
    ui.floor().set_tab(ConsoleTab::Board);
    ui.floor().invoke_refresh();
    ui.settle();
    assert!(!ui.floor().get_flashing());
    a.wedge("6921568320604"); // SUN-50
    a.wedge("INT-0107"); // the gift sample
    a.weigh(50.0);
    assert_eq!(a.step(), Step::ResolveMismatch);
    centre.drained("BENCH-A", &a);
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(2100));
    ui.settle();
    let first = ui.labels("bench ")[0].clone();
    assert_eq!(first.0, "bench BENCH-A", "{first:?}");
    assert!(
        first
            .1
            .starts_with(&format!("weight mismatch · {ORDER2} · 0 min")),
        "{first:?}"
    );
    assert_eq!(ui.value("tally waiting"), "1");
    assert!(ui.floor().get_flashing(), "a bench started waiting");
    // And it sounds, once: the player plays on a thread of its own, so its line is awaited.
    assert_eq!(
        ui.sounds_played(),
        1,
        "the alert sounds when a bench starts waiting"
    );
    assert_eq!(
        ui.value("waiting flash"),
        "BENCH-A waits for a supervisor: weight mismatch"
    );
    for (w, h) in [(1280.0, 800.0), (1024.0, 600.0)] {
        ui.w().window().set_size(LogicalSize::new(w, h));
        for lang in [packbench::ui::Language::Zh, packbench::ui::Language::En] {
            ui.c().set_language(lang);
            ui.settle();
            let l = if lang == packbench::ui::Language::Zh {
                "zh"
            } else {
                "en"
            };
            ui.shot(&format!("console-07-waiting-{l}-{w}x{h}"));
        }
    }
    ui.c().set_language(packbench::ui::Language::Zh);
    ui.settle();
    assert!(
        ui.value("bench BENCH-A")
            .starts_with(&format!("重量不符 · {ORDER2}")),
        "{}",
        ui.value("bench BENCH-A")
    );
    ui.c().set_language(packbench::ui::Language::En);
    // The band goes after its few seconds; the bench stays first on the board, and a board
    // read with the same bench still waiting neither flashes nor sounds again.
    i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(7));
    ui.settle();
    assert!(!ui.floor().get_flashing());
    ui.floor().invoke_refresh();
    ui.settle();
    assert!(!ui.floor().get_flashing());
    assert_eq!(
        ui.sounds_played(),
        1,
        "one sound per bench that starts waiting"
    );
    // The report's dates fit their fields at the smallest screen.
    ui.w().window().set_size(LogicalSize::new(1024.0, 600.0));
    ui.floor().set_tab(ConsoleTab::Reports);
    ui.settle();
    for id in ["ReportsPane::from", "ReportsPane::to"] {
        let field = ElementHandle::find_by_element_id(ui.w(), id)
            .next()
            .unwrap_or_else(|| panic!("no element with id {id:?}"));
        // Ten characters of the field's 17 px font (a digit of Noto Sans is 0.57 em) and the
        // LineEdit's padding on both sides (8 px each).
        let needs = 10.0 * 0.57 * 17.0 + 16.0;
        assert!(
            field.size().width >= needs,
            "{id}: {} px for a date that needs {needs} px",
            field.size().width
        );
    }

    // Every screen in both languages and both sizes; on the Chinese ones, no English word
    // but the data's (names, products, addresses, the note typed above).
    let data = fixture_words();
    let saved: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut data: Vec<&str> = data.iter().map(String::as_str).collect();
    data.push("秤已校准 scale checked");
    // The files written (a path on this PC), Excel's name, and the language button, which
    // names the other language in that language.
    data.extend(saved.iter().map(String::as_str));
    data.extend(["Excel", "English"]);
    let mut english = Vec::new();
    for (w, h) in [(1280.0, 800.0), (1920.0, 1080.0)] {
        ui.w().window().set_size(LogicalSize::new(w, h));
        for lang in ["en", "zh"] {
            ui.c().set_language(if lang == "zh" {
                packbench::ui::Language::Zh
            } else {
                packbench::ui::Language::En
            });
            for (n, tab) in [
                (2, ConsoleTab::Board),
                (3, ConsoleTab::Review),
                (4, ConsoleTab::Search),
                (5, ConsoleTab::Reports),
            ] {
                ui.floor().set_tab(tab);
                ui.floor().invoke_refresh();
                ui.settle();
                let name = format!("{tab:?}").to_lowercase();
                ui.shot(&format!("console-{n:02}-{name}-{lang}-{w}x{h}"));
                if lang == "zh" {
                    let mut texts = words::visible_texts(ui.w());
                    // The timeline's detail column is the event's own fields as the log
                    // holds them (field=value, evidence, not prose): left out of this check.
                    // The event names beside them are in words.
                    let timeline: Vec<String> = {
                        use slint::Model;
                        ui.floor()
                            .get_timeline()
                            .iter()
                            .map(|r| r.detail.to_string())
                            .collect()
                    };
                    texts.retain(|t| !timeline.contains(t));
                    assert!(texts.len() > 10, "{name}: {texts:?}");
                    for t in words::untranslated(&texts, &data) {
                        english.push(format!("{name}: {t}"));
                    }
                }
            }
        }
    }
    english.sort();
    english.dedup();
    assert!(
        english.is_empty(),
        "English on the Chinese console:\n{}",
        english.join("\n")
    );
    ui.c().set_language(packbench::ui::Language::En);

    // Signing out empties the screen and asks again.
    ui.tap("sign out");
    assert!(ui.labels("bench ").is_empty());
    ui.find("sign in");
}
