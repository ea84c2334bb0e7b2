//! The real windows under a real X server: the built `packbench` binary on a private Xvfb,
//! driven through the X server with xdotool (XTEST key presses and pointer clicks, what a
//! keyboard-wedge scanner and a finger produce), not Slint's testing backend.
//!
//! - The station: a badge typed the moment the window maps signs the packer in; a big
//!   order's search field takes a touch and a person's typing while a scanner's code typed
//!   into it is still a scan; the order, its units, the supervisor view (a touch, badge, PIN),
//!   a PIN pad opened over it by a serial scanner's badge taking the typed PIN, the reason,
//!   the courier handover, the returns check-in and, after a touch on Sign out, the next
//!   badge: all typed with no click to put the keyboard anywhere. Every keystroke is proved by
//!   the event it wrote to the bench's log (`packbench audit export`).
//! - The console: against a real PostgreSQL centre (tests/pg), badge, Enter, PIN, Enter typed
//!   the moment the window maps signs the supervisor in, and again after a touch on Sign out,
//!   as the centre records it (`pin_failures.last_ok_at`) and the console logs it.
//!
//! Touches land on spots found by laying the same markup out in-process at the window's size
//! (the X window has no accessibility tree to ask); each touch is checked by what follows it.
//!
//! Each runs in English and in Chinese (the language from `LC_ALL`, as on a bench).
//!
//! Needs the Debian packages `xvfb` and `xdotool` (`.ci/run` installs them); without them the
//! tests fail naming the package.

#[path = "common/bin.rs"]
mod bin;
mod pg;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::time::{Duration, Instant};

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use packbench::ui::{Api, AppWindow, ConsolePage, ConsoleWindow, Floor, Language, Page, Step};
use serde_json::Value;
use slint::{ComponentHandle, LogicalSize};
use xvfb::{KillOnDrop, Xvfb};

/// How long a person looks at a new screen before typing into it (the window shows an event
/// a moment after the log has it).
const LOOK: Duration = Duration::from_millis(500);

/// How long one typed scan may take to reach the log (a cold debug build on a busy machine).
const WAIT: Duration = Duration::from_secs(30);

/// The locale a window starts in `lang` with.
fn locale(lang: Language) -> &'static str {
    match lang {
        Language::Zh => "zh_CN.UTF-8",
        Language::En => "C.UTF-8",
    }
}

/// Lays out this thread's in-process windows in `lang`, as the real one draws it.
fn translate(lang: Language) {
    slint::select_bundled_translation(match lang {
        Language::Zh => "zh_CN",
        Language::En => "",
    })
    .unwrap();
}

/// A `packbench` process with its own display, its output kept in files for the failure
/// message; killed when dropped.
struct App {
    name: &'static str,
    proc: KillOnDrop,
    out: PathBuf,
}

impl App {
    fn start(x: &Xvfb, dir: &Path, name: &'static str, lang: Language, args: &[&str]) -> App {
        let out = dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&out).unwrap();
        let child = bin::command()
            .current_dir(dir)
            .args(args)
            .env("DISPLAY", x.display())
            .env_remove("WAYLAND_DISPLAY")
            .env("LC_ALL", locale(lang))
            .env("LANG", locale(lang))
            // Its own account of what it did, read back by the console test.
            .env("RUST_LOG", "packbench=info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting packbench {args:?}: {e}"));
        App {
            name,
            proc: KillOnDrop(child),
            out,
        }
    }

    /// Fails the test if the window's process has ended, showing what it printed.
    fn alive(&mut self) {
        if let Some(status) = self.proc.exited() {
            panic!(
                "the {} exited ({status}):\n{}",
                self.name,
                std::fs::read_to_string(&self.out).unwrap_or_default()
            );
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

/// The bench's event log, read back through `packbench audit export` as the contract names
/// its events. `seen` is the last sequence number a wait matched, so each wait looks only at
/// what the latest keystrokes wrote.
struct Log {
    db: PathBuf,
    seen: u64,
}

impl Log {
    fn events(&self) -> Vec<Value> {
        let out = bin::Pb::new()
            .args(["audit", "export", "--format", "jsonl", "--db"])
            .arg(&self.db)
            .output();
        bin::ok(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Fails if anything but a device's state reaches the log within `time`.
    fn quiet(&mut self, app: &mut App, time: Duration) {
        std::thread::sleep(time);
        app.alive();
        let new: Vec<String> = self
            .events()
            .into_iter()
            .filter(|e| e["seq"].as_u64().unwrap() > self.seen && e["event"] != "device")
            .map(|e| e["event"].to_string())
            .collect();
        assert!(
            new.is_empty(),
            "typed into a text field, yet logged: {new:?}"
        );
    }

    /// Waits for the first event after the last one matched that is of type `event` and
    /// satisfies `also`; fails naming the events that came instead.
    fn wait(&mut self, app: &mut App, event: &str, also: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + WAIT;
        loop {
            app.alive();
            let events = self.events();
            let new: Vec<&Value> = events
                .iter()
                .filter(|e| e["seq"].as_u64().unwrap() > self.seen)
                .collect();
            if let Some(e) = new.iter().find(|e| e["event"] == event && also(e)) {
                self.seen = e["seq"].as_u64().unwrap();
                return (*e).clone();
            }
            if Instant::now() > end {
                let got: Vec<String> = new
                    .iter()
                    .map(|e| {
                        let mut e = (*e).clone();
                        e.as_object_mut().unwrap().remove("chain");
                        e.to_string()
                    })
                    .collect();
                panic!(
                    "no {event} within {WAIT:?}; the log has since:\n{}\n{} output:\n{}",
                    got.join("\n"),
                    app.name,
                    app.output()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A device of `packbench simulate` on a pty, as a bench without hardware runs it: a line
/// written to its stdin is a weight on the scale, or a code the serial scanner reads.
struct Sim {
    proc: KillOnDrop,
    input: ChildStdin,
    port: PathBuf,
}

impl Sim {
    fn start(dir: &Path, device: &str, args: &[&str]) -> Sim {
        let port = dir.join(device);
        let mut child = bin::command()
            .args(["simulate", device])
            .args(args)
            .arg("--link")
            .arg(&port)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("packbench simulate {device}: {e}"));
        let input = child.stdin.take().unwrap();
        let mut proc = KillOnDrop(child);
        let end = Instant::now() + WAIT;
        while !port.exists() {
            assert!(proc.exited().is_none(), "the simulated {device} exited");
            assert!(Instant::now() < end, "no simulated {device} at {port:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sim { proc, input, port }
    }

    fn put(&mut self, line: &str) {
        assert!(self.proc.exited().is_none(), "a simulated device exited");
        writeln!(self.input, "{line}").unwrap();
        self.input.flush().unwrap();
    }
}

/// A bench with the fixture data, the simulated scale, a serial scanner and a file printer;
/// its other scanner is the keyboard wedge of its window.
fn bench_dir(dir: &Path, scale: &Sim, scanner: &Sim) -> PathBuf {
    let db = dir.join("bench.db");
    let mut store = packbench::store::open(&db).unwrap();
    packbench::import::import_data_set(
        &mut store,
        &pg::fixture_files::fixtures(),
        "WIN-01",
        chrono::Local::now().fixed_offset(),
    )
    .unwrap();
    // A wholesale order of ten lines (over eight, the pack screen offers a search within it):
    // the first ten SKUs of the catalog, one unit each.
    let mut big = String::from(
        "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty,picker_id\n",
    );
    let mut catalog = csv::Reader::from_path(pg::fixture_files::fixture("catalog.csv")).unwrap();
    for row in catalog.records().take(10) {
        big += &format!(
            "BIG-0001,BIGWB0001,SF,Test,CN,Somewhere,,{},1,E001\n",
            &row.unwrap()[0]
        );
    }
    std::fs::write(dir.join("big.csv"), big).unwrap();
    packbench::import::import_file(
        &mut store,
        packbench::import::Kind::Orders,
        &dir.join("big.csv"),
        &Default::default(),
        "WIN-01",
        chrono::Local::now().fixed_offset(),
        &mut |_| {},
    )
    .unwrap();
    drop(store);
    let config = dir.join("station.toml");
    let quoted = |p: &Path| format!("{:?}", p.display().to_string());
    std::fs::write(
        &config,
        format!(
            "station_id = \"WIN-01\"\ndatabase = \"bench.db\"\n\n\
             [[scanner]]\nport = {}\n\n\
             [scale]\nport = {}\nprotocol = \"mt-sics\"\n\n\
             [printer]\ntarget = {:?}\n",
            quoted(&scanner.port),
            quoted(&scale.port),
            format!("file://{}", dir.join("labels.bin").display()),
        ),
    )
    .unwrap();
    config
}

/// Where to touch the X window: the centre of an element when the same markup is laid out
/// in-process at the window's size (Slint's testing backend; the X window has no
/// accessibility tree to ask). Clicks land on today's layout, whatever it becomes.
fn centre(e: Option<ElementHandle>, what: &str) -> (i32, i32) {
    let e = e.unwrap_or_else(|| panic!("no {what} in the window's markup"));
    let (p, s) = (e.absolute_position(), e.size());
    assert!(s.width > 0.0 && s.height > 0.0, "{what} is not shown");
    ((p.x + s.width / 2.0) as i32, (p.y + s.height / 2.0) as i32)
}

fn testing_backend() {
    // Per thread: each test thread lays out its own windows.
    let _ = slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })));
}

/// The station window's spots: the top bar's Supervisor button, and on the supervisor view
/// its search field and Close button.
struct StationSpots {
    sign_out: (i32, i32),
    find: (i32, i32),
    supervisor: (i32, i32),
    search: (i32, i32),
    close: (i32, i32),
}

impl StationSpots {
    fn at(size: (i32, i32), lang: Language) -> StationSpots {
        testing_backend();
        let w = AppWindow::new().unwrap();
        packbench::ui::bridge::set_language(&w, lang);
        w.window()
            .set_size(LogicalSize::new(size.0 as f32, size.1 as f32));
        w.show().unwrap();
        let id = |id: &str| ElementHandle::find_by_element_id(&w, id).next();
        let supervisor = centre(id("TopBar::supervisor"), "Supervisor button");
        let api = w.global::<Api>();
        api.set_packer_id("E003".into());
        api.set_step(Step::ScanOrder);
        let sign_out = centre(id("ActionBar::sign-out"), "Sign out button");
        api.set_step(Step::ScanItems);
        api.set_has_order(true);
        api.set_lines_total(10);
        let find = centre(id("OrderFinder::search"), "search within the order");
        w.global::<Api>().set_page(Page::Supervisor);
        let search = centre(
            id("SearchPane::search-box"),
            "supervisor view's search field",
        );
        let close = centre(
            id("SupervisorScreen::close"),
            "supervisor view's Close button",
        );
        w.hide().unwrap();
        StationSpots {
            sign_out,
            find,
            supervisor,
            search,
            close,
        }
    }
}

#[test]
fn the_station_window_takes_typed_scans_at_every_step_in_english() {
    station(Language::En);
}

#[test]
fn the_station_window_takes_typed_scans_at_every_step_in_chinese() {
    station(Language::Zh);
}

fn station(lang: Language) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut scale = Sim::start(dir.path(), "scale", &["--protocol", "mt-sics"]);
    let mut scanner = Sim::start(dir.path(), "scanner", &[]);
    let config = bench_dir(dir.path(), &scale, &scanner);
    let x = Xvfb::start(1280, 1024);
    let mut app = App::start(
        &x,
        dir.path(),
        "station",
        lang,
        &["run", "--config", config.to_str().unwrap()],
    );
    let mut log = Log {
        db: dir.path().join("bench.db"),
        seen: 0,
    };

    // The badge is typed the moment the window is mapped: nobody clicks into it first.
    let w = x.window("packbench");
    x.focus(&w);
    x.scan("BADGE-E003");
    log.wait(&mut app, "packer_signed_in", |e| e["packer_id"] == "E003");
    let spots = StationSpots::at(x.size(&w), lang);

    // The big order. A scanner's code typed into its search field after a touch on it still
    // goes to the station ...
    x.scan("BIG-0001");
    log.wait(&mut app, "order_loaded", |e| e["order_no"] == "BIG-0001");
    x.click(&w, spots.find.0, spots.find.1);
    x.scan("6975432100113");
    log.wait(&mut app, "item_accepted", |e| e["code"] == "6975432100113");
    // ... what a person types there after a touch (the same spot: the field is empty again)
    // is a search, never a scan ...
    x.click(&w, spots.find.0, spots.find.1);
    x.type_at("SOCK", 150);
    x.key("Return");
    log.quiet(&mut app, Duration::from_millis(600));
    // ... and Enter gave the keyboard back to the scanner.
    x.scan("6975432100120");
    log.wait(&mut app, "item_accepted", |e| e["code"] == "6975432100120");
    x.scan("PB-HOLD");
    log.wait(&mut app, "order_held", |e| e["order_no"] == "BIG-0001");

    // An order and its units (the T-shirt, two pairs of socks), typed as scans.
    x.scan("TB20261122001");
    log.wait(&mut app, "order_loaded", |e| {
        e["order_no"] == "TB20261122001"
    });
    for code in ["6975432100137", "6975432201018", "6975432201018"] {
        x.scan(code);
        log.wait(&mut app, "item_accepted", |e| e["code"] == code);
    }
    // 700 g where 265 g are expected: the bench waits for a supervisor.
    scale.put("700");
    log.wait(&mut app, "weight_checked", |e| e["ok"] == false);

    // A touch on the Supervisor button, then the supervisor's badge and PIN typed.
    x.click(&w, spots.supervisor.0, spots.supervisor.1);
    x.scan("BADGE-E006");
    log.wait(&mut app, "pin_required", |e| {
        e["employee_id"] == "E006" && e["purpose"] == "supervisor_view"
    });
    x.scan("666666");
    log.wait(&mut app, "supervisor_view_opened", |e| {
        e["supervisor_id"] == "E006"
    });
    // The view's search field takes a touch and what is typed after it: nothing of it
    // reaches the station.
    x.click(&w, spots.search.0, spots.search.1);
    x.scan("BADGE-E003");
    log.quiet(&mut app, Duration::from_millis(600));

    // The approval starts at the serial scanner while the view is open: the PIN pad opens
    // over it and takes the PIN typed on the keyboard, not the search field.
    scanner.put("BADGE-E005");
    log.wait(&mut app, "pin_required", |e| {
        e["employee_id"] == "E005" && e["purpose"] == "approval"
    });
    // The supervisor types once the pad is up: the window shows it a moment after the log
    // has the event, and until then the search field still has the keyboard.
    std::thread::sleep(LOOK);
    x.scan("555555");
    log.wait(&mut app, "reason_required", |e| {
        e["supervisor_id"] == "E005"
    });
    x.scan("PB-REASON-SCALE_DRIFT");
    log.wait(&mut app, "override", |e| {
        e["supervisor_id"] == "E005" && e["reason"] == "scale_drift"
    });
    log.wait(&mut app, "order_packed", |e| e["override_by"] == "E005");
    // Closed with a touch: the scanner types into the station again.
    x.click(&w, spots.close.0, spots.close.1);

    // The courier handover, with the parcel off the scale.
    scale.put("0");
    x.scan("PB-DISPATCH");
    log.wait(&mut app, "dispatch_started", |_| true);
    x.scan("SF1498369006026");
    log.wait(&mut app, "order_dispatched", |e| {
        e["order_no"] == "TB20261122001"
    });
    x.scan("PB-DISPATCH-END");
    log.wait(&mut app, "dispatch_closed", |_| true);

    // The returns check-in: the parcel comes back, one unit in it.
    x.scan("PB-RETURNS");
    log.wait(&mut app, "returns_started", |_| true);
    x.scan("SF1498369006026");
    log.wait(&mut app, "return_opened", |e| {
        e["order_no"] == "TB20261122001"
    });
    x.scan("6975432100137");
    log.wait(&mut app, "return_item", |e| e["sku"] == "T-BLU-L");
    x.scan("PB-RET-REASON-SIZE");
    x.scan("PB-RETURN-CLOSE");
    log.wait(&mut app, "return_closed", |e| {
        e["order_no"] == "TB20261122001"
    });
    x.scan("PB-RETURNS-END");
    log.wait(&mut app, "returns_ended", |_| true);

    // Signed out with a touch: the sign-in screen takes the next packer's badge at once.
    x.click(&w, spots.sign_out.0, spots.sign_out.1);
    log.wait(&mut app, "packer_signed_out", |e| e["packer_id"] == "E003");
    x.scan("BADGE-E004");
    log.wait(&mut app, "packer_signed_in", |e| e["packer_id"] == "E004");

    let events = log.events();
    for pin in ["555555", "666666"] {
        assert!(
            !events.iter().any(|e| e.to_string().contains(pin)),
            "a typed PIN reached the log"
        );
    }
    drop(app);
    eprintln!("station window test ({lang:?}): {:?}", started.elapsed());
}

#[test]
fn the_console_signs_in_a_badge_typed_the_moment_it_opens_in_english() {
    console(Language::En);
}

#[test]
fn the_console_signs_in_a_badge_typed_the_moment_it_opens_in_chinese() {
    console(Language::Zh);
}

fn console(lang: Language) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(pg::fresh_db());
    // The employees (E005 is a supervisor with a 6-digit PIN) and the console's own login,
    // as an administrator makes them.
    bin::ok(&bin::pb(
        dir.path(),
        &[
            "import",
            "employees",
            pg::fixture_files::fixture("employees.csv")
                .to_str()
                .unwrap(),
            "--central",
            &db.url,
        ],
    ));
    let console_url = bin::ok(&bin::pb(
        dir.path(),
        &[
            "central",
            "add-console",
            &format!("OFFICE-{}", db.name),
            "--url",
            &db.url,
        ],
    ))
    .trim()
    .to_string();
    // When the centre last accepted E005's PIN (a right PIN is what signs a supervisor in).
    let last_ok = || -> Option<String> {
        rt.block_on(async {
            pg::connect(&db.url)
                .await
                .query_opt(
                    "SELECT last_ok_at::text FROM packbench.pin_failures \
                     WHERE employee_id = 'E005' AND last_ok_at IS NOT NULL",
                    &[],
                )
                .await
                .unwrap()
                .map(|r| r.get(0))
        })
    };
    assert_eq!(
        last_ok(),
        None,
        "E005's PIN was checked before the console ran"
    );

    let x = Xvfb::start(1280, 1024);
    let mut app = App::start(
        &x,
        dir.path(),
        "console",
        lang,
        &["console", "--central", &console_url, "--exports", "exports"],
    );
    let w = x.window("packbench console");
    x.focus(&w);
    // A wedge scanner's badge and Enter, then the PIN and Enter, with no click anywhere.
    x.scan("BADGE-E005");
    x.scan("555555");
    let signed_in = |app: &mut App, after: Option<String>| -> String {
        let end = Instant::now() + WAIT;
        loop {
            app.alive();
            match last_ok() {
                Some(t) if Some(&t) != after.as_ref() => return t,
                _ => {}
            }
            assert!(
                Instant::now() < end,
                "the centre never checked E005's PIN: the typed badge and PIN did not reach \
                 the sign-in\nconsole output:\n{}",
                app.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let first = signed_in(&mut app, None);
    // The console says so in its log too, once its worker has the centre's answer; the
    // window shows the floor a moment later.
    let admitted = |app: &App| app.output().matches("outcome=\"admitted\"").count();
    let end = Instant::now() + WAIT;
    while admitted(&app) < 1 {
        assert!(Instant::now() < end, "no sign-in logged:\n{}", app.output());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(LOOK);

    // Signed out with a touch, the sign-in page takes the next badge the same way.
    let sign_out = {
        testing_backend();
        let c = ConsoleWindow::new().unwrap();
        translate(lang);
        c.global::<Floor>().set_language(lang);
        let (width, height) = x.size(&w);
        c.window()
            .set_size(LogicalSize::new(width as f32, height as f32));
        c.global::<Floor>().set_page(ConsolePage::Floor);
        c.show().unwrap();
        let spot = centre(
            ElementHandle::find_by_accessible_label(&c, "sign out").next(),
            "console's sign-out button",
        );
        c.hide().unwrap();
        spot
    };
    x.click(&w, sign_out.0, sign_out.1);
    x.scan("BADGE-E005");
    x.scan("555555");
    signed_in(&mut app, Some(first));
    assert_eq!(admitted(&app), 2, "{}", app.output());
    drop(app);
    eprintln!("console window test ({lang:?}): {:?}", started.elapsed());
}
