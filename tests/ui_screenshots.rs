//! Every screen in English and Chinese, rendered with the software renderer and compared with
//! the committed references in `docs/screenshots/` within a tolerance (`ui_harness::shots`:
//! a pixel differs when a channel is off by more than 48 of 255; at most 0.1 % of the pixels
//! may differ). Rewrite the references after a change that is meant:
//!
//! ```sh
//! PACKBENCH_BLESS=1 cargo test --test ui_screenshots
//! ```
//!
//! On a mismatch the render and a diff image are written to `target/tmp/ui-screenshots/`.
//! Chinese must show without any system CJK font: the bundled subset draws it.

mod ui_harness;

use slint::{ComponentHandle, Model, Rgba8Pixel, SharedPixelBuffer};
use ui_harness::shots::{self, Shots};
use ui_harness::words;
use ui_harness::*;

/// The screenshots of a walk, and on its Chinese screens the strings with English words.
#[derive(Default)]
struct Tour {
    shots: Shots,
    english: Vec<String>,
}

impl Tour {
    /// Compares every render, and fails on an English word on a Chinese screen (data aside).
    fn finish(self) {
        let mut english = self.english;
        english.dedup();
        assert!(
            english.is_empty(),
            "English on the Chinese station:\n{}",
            english.join("\n")
        );
        self.shots.finish();
    }
}

fn shot(b: &TestBench, tour: &mut Tour, name: &str, lang: &str) {
    if lang == "zh" {
        let texts = words::visible_texts(b.app());
        let data = station_data(b);
        let data: Vec<&str> = data.iter().map(String::as_str).collect();
        for t in words::untranslated(&texts, &data) {
            tour.english.push(format!("{name}: {t}"));
        }
    }
    let shots = &mut tour.shots;
    // Something must be drawn: a blank render must not become a reference.
    let img = b.image();
    let distinct = img
        .rgba
        .chunks(4)
        .step_by(97)
        .map(|p| (p[0], p[1], p[2]))
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert!(distinct > 5, "{name}: the render is blank");
    shots.check(&format!("{name}-{lang}"), &img);
}

/// What the station shows as it is in either language: the fixtures' and the big order's
/// cells, this bench's folder, and the language button (it names the other language in it).
fn station_data(b: &TestBench) -> Vec<String> {
    use slint::Model;
    let api = b.api();
    let mut data = fixture_words();
    data.extend((0..BIG_LINES).map(|i| format!("批发 Item {i:03}")));
    data.push(b.dir.display().to_string());
    data.extend(["/tmp/packbench-ui-test", "English", "packbench"].map(String::from));
    // The settings' files: the demo's log and label file, in the fixed folder.
    data.extend(
        [
            "/tmp/packbench-ui-test/demo.db",
            "file:///tmp/packbench-ui-test/labels.bin",
        ]
        .map(String::from),
    );
    // Handles the tests read, not words: a refusal's and a device state's logged names, the
    // return verdict's, and the English of the closed return (its text is Chinese).
    data.push(api.get_alert_reason().to_string());
    data.extend(api.get_devices().iter().map(|d| d.state_name.to_string()));
    // A device's detail is what it reported (the demo printer's file).
    data.extend(api.get_devices().iter().map(|d| d.detail.to_string()));
    data.extend(["confirmed", "contradicted"].map(String::from));
    data.push(api.get_return_closed().en.to_string());
    // The red banner says the refusal in both languages on purpose: the other one below.
    data.push(api.get_alert().en.to_string());
    data
}

/// The bench's folder is a fresh temporary one per run: the settings and the devices show it
/// as one fixed path, so that the reference does not depend on the process id.
fn fixed_folder(b: &TestBench) {
    let dir = b.dir.display().to_string();
    let rows: Vec<packbench::ui::KeyValue> = b
        .api()
        .get_settings()
        .iter()
        .map(|mut kv| {
            kv.value.en = kv.value.en.replace(&dir, "/tmp/packbench-ui-test").into();
            kv.value.zh = kv.value.zh.replace(&dir, "/tmp/packbench-ui-test").into();
            kv
        })
        .collect();
    b.api()
        .set_settings(slint::ModelRc::new(slint::VecModel::from(rows)));
    // The demo printer's file is named in its device row too.
    let devices: Vec<packbench::ui::DeviceRow> = b
        .api()
        .get_devices()
        .iter()
        .map(|mut d| {
            d.detail = d.detail.replace(&dir, "/tmp/packbench-ui-test").into();
            d
        })
        .collect();
    b.api()
        .set_devices(slint::ModelRc::new(slint::VecModel::from(devices)));
}

/// Drives one bench through every screen, taking a picture of each.
fn tour(lang: &str) {
    let mut tour = Tour::default();
    let b = TestBench::new();
    b.api().set_simulator_open(false);
    if lang == "zh" {
        b.tap("language");
    }
    b.find("keypad message");
    shot(&b, &mut tour, "01-sign-in", lang);

    b.wedge(PACKER);
    b.wedge("TB20261122006"); // a buyer note with quotes and a comma
    b.wedge("812376045185"); // CANDLE-LAV by its UPC-A
    b.find("buyer note");
    shot(&b, &mut tour, "02-pack", lang);

    b.wedge(T_BLU_L); // not in this order
    b.find("alert");
    shot(&b, &mut tour, "03-alert-wrong-item", lang);
    b.wedge("PB-HOLD-QUERY");

    b.wedge(ORDER1);
    for c in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
        b.wedge(c);
    }
    b.running
        .as_ref()
        .unwrap()
        .screen
        .station()
        .send(packbench::station::runtime::Msg::Weight {
            grams: 180.0,
            stable: false,
        });
    b.settle();
    assert_eq!(b.step(), Step::Weigh);
    shot(&b, &mut tour, "04-weigh", lang);

    b.weigh(225.0); // one sock short
    b.find("weight mismatch");
    shot(&b, &mut tour, "05-weight-mismatch", lang);
    // A real approval after the mismatch: the banner is the PIN's, never a stale step.
    let words = |en: &'static str, zh: &'static str| if lang == "zh" { zh } else { en };
    b.wedge(SUPERVISOR);
    b.find("pin pad");
    assert_eq!(b.step(), Step::EnterPin);
    assert_eq!(
        b.value("next step"),
        words("Enter the PIN for this badge", "请输入此工牌的 PIN 码")
    );
    let (first, rest) = SUPERVISOR_PIN.split_at(3);
    for d in first.chars() {
        b.tap(&format!("pin {d}"));
    }
    // Three digits typed: three dots, and never the digits themselves.
    assert_eq!(b.value("pin digits"), "3");
    shot(&b, &mut tour, "05b-pin-pad", lang);
    for d in rest.chars() {
        b.tap(&format!("pin {d}"));
    }
    b.tap("pin ok");
    b.find("approval reason");
    assert_eq!(b.step(), Step::ChooseReason);
    assert_eq!(
        b.value("next step"),
        words("Supervisor: choose the reason", "主管:请选择审批原因")
    );
    shot(&b, &mut tour, "05c-approval-reason", lang);
    b.tap("reason scale_drift");

    b.wedge(ORDER2); // no picker in the import
    for c in [LIP_R02, "6921568320604", "INT-0107"] {
        b.wedge(c);
    }
    b.weigh(107.0);
    assert_eq!(b.step(), Step::ScanPicker);
    shot(&b, &mut tour, "06-scan-picker", lang);
    b.wedge(PICKER);
    assert_eq!(b.step(), Step::ScanOrder);
    shot(&b, &mut tour, "07-packed-label", lang);

    b.wedge("TB20261122004");
    b.tap_id("ActionBar::hold");
    b.find("hold dialog");
    shot(&b, &mut tour, "08-hold", lang);
    b.tap_id("HoldDialog::hold-short");

    b.tap_id("ActionBar::dispatch");
    b.wedge(ORDER1_WAYBILL);
    b.wedge("7577354684874"); // ORDER2's waybill: another carrier
    assert_eq!(b.step(), Step::Dispatch);
    shot(&b, &mut tour, "09-dispatch", lang);
    b.tap_id("DispatchScreen::end");

    b.tap_id("TopBar::supervisor");
    b.wedge(PACKER);
    b.find("supervisor message");
    shot(&b, &mut tour, "10-supervisor-badge-refused", lang);
    b.wedge(SUPERVISOR);
    b.pin(SUPERVISOR_PIN);
    let search = b.find_id("SearchPane::search-box");
    search.set_accessible_value(ORDER1);
    b.tap_id("SearchPane::search");
    b.find("timeline title");
    shot(&b, &mut tour, "11-supervisor-timeline", lang);
    b.tap_id("SupervisorScreen::tab-mismatches");
    shot(&b, &mut tour, "12-supervisor-mismatches", lang);
    b.tap_id("SupervisorScreen::tab-packers");
    shot(&b, &mut tour, "13-supervisor-packers", lang);
    b.tap_id("SupervisorScreen::close");

    b.tap_id("TopBar::settings");
    b.find("setting station");
    // The demo's printer is the simulator, after the labels it took too.
    assert_eq!(b.value("printer"), "simulated");
    assert_eq!(
        b.value("setting device printer"),
        words("Printer: simulated", "打印机: 模拟")
    );
    fixed_folder(&b);
    shot(&b, &mut tour, "14-settings", lang);
    b.tap_id("SettingsScreen::close");

    b.api().set_simulator_open(true);
    b.wedge("TB20261122003");
    b.find("simulator");
    shot(&b, &mut tour, "15-demo-simulator", lang);

    // Returns check-in (退货签收): ORDER1 (packed and handed over above) comes back.
    b.api().set_simulator_open(false);
    b.wedge("PB-RETURNS"); // from the command sheet: the untouched order is let go

    assert_eq!(b.step(), Step::ScanReturn);
    shot(&b, &mut tour, "20-returns", lang);
    b.wedge(ORDER1_WAYBILL);
    b.wedge(T_BLU_L);
    b.tap_id("ReturnsScreen::cond-damaged");
    b.wedge(SOCK_BLK);
    b.wedge(LIP_R02); // never in the order
    b.tap_id("ReturnsScreen::ret-wrong-item-sent");
    b.weigh(251.5);
    b.find("pack record");
    assert_eq!(b.value("return verdict"), "confirmed");
    shot(&b, &mut tour, "21-return-check-in", lang);
    b.tap_id("ActionBar::returns"); // "Close return" while one is open
    b.find("last return");
    shot(&b, &mut tour, "22-return-closed", lang);
    tour.finish();
}

#[test]
fn every_screen_in_english() {
    tour("en");
}

#[test]
fn every_screen_in_chinese() {
    tour("zh");
}

/// A 600-line wholesale order at the smallest screen, the 450th line just scanned.
#[test]
fn a_big_order_in_both_languages() {
    let mut tour = Tour::default();
    let b = TestBench::with_size(1024.0, 600.0);
    b.api().set_simulator_open(false);
    let codes = big_order(&b);
    b.wedge(PACKER);
    b.wedge(BIG_ORDER);
    b.wedge(&codes[0]);
    b.wedge(&codes[449]);
    assert_eq!(b.value("BIG-449"), "1/1 done");
    shot(&b, &mut tour, "23-big-order", "en");
    b.tap("language");
    assert!(b.has("BIG-449"));
    shot(&b, &mut tour, "23-big-order", "zh");
    tour.finish();
}

#[test]
fn smallest_and_full_hd_screens() {
    let mut tour = Tour::default();
    for (w, h, name) in [(1024.0, 600.0, "1024x600"), (1920.0, 1080.0, "1920x1080")] {
        let b = TestBench::with_size(w, h);
        b.api().set_simulator_open(false);
        b.wedge(PACKER);
        b.wedge("TB20261122008"); // five lines, three with a weight tolerance
        b.wedge("6970399025066"); // an inner box of six
        let img = b.snapshot();
        assert_eq!((img.width(), img.height()), (w as u32, h as u32));
        shot(&b, &mut tour, &format!("16-pack-{name}"), "en");
        b.wedge("PB-HOLD-SHORT");
        b.wedge(ORDER1);
        for c in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
            b.wedge(c);
        }
        b.weigh(225.0);
        b.find("weight mismatch");
        b.api().set_simulator_open(true);
        shot(
            &b,
            &mut tour,
            &format!("17-mismatch-simulator-{name}"),
            "en",
        );
    }
    tour.finish();
}

/// The comparison can fail: a block of a word's size changed in a reference is found, a
/// change within the tolerance is not, and the failure names the render and the diff.
#[test]
fn a_changed_screen_fails_the_comparison() {
    let path = shots::reference_dir().join("02-pack-en.png");
    let reference = shots::read_png(&path).expect("the reference is committed");
    assert!(shots::compare_with(&path, "selftest", &reference).is_ok());
    let changed = |side: u32, change: fn(u8) -> u8| {
        let mut img = reference.clone();
        for y in 200..200 + side {
            for x in 300..300 + side {
                let i = ((y * img.width + x) * 4) as usize;
                img.rgba[i] = change(img.rgba[i]);
            }
        }
        img
    };
    let shade = |c: u8| c.saturating_add(20);
    let flip = |c: u8| c ^ 0x80;
    // Shades: anti-aliasing that moved, not a change.
    assert!(shots::compare_with(&path, "selftest", &changed(200, shade)).is_ok());
    // 400 pixels (0.04 %) changed: within the tolerance.
    assert!(shots::compare_with(&path, "selftest", &changed(20, flip)).is_ok());
    // 1,600 pixels (0.16 %): a change.
    let e = shots::compare_with(&path, "selftest", &changed(40, flip)).unwrap_err();
    assert!(e.contains("1600 of 1024000 pixels differ"), "{e}");
    let diff = e.split("diff: ").nth(1).unwrap().split(' ').next().unwrap();
    let diff = shots::read_png(std::path::Path::new(diff)).expect("the diff is written");
    assert_eq!(shots::difference(&reference, &changed(40, flip)).1, diff);
}

/// Pixels that differ from the label's background inside the element's box.
fn ink(img: &SharedPixelBuffer<Rgba8Pixel>, b: &TestBench, label: &str) -> Vec<(u32, u32)> {
    let e = b.find(label);
    let (p, s) = (e.absolute_position(), e.size());
    let sf = b.app().window().scale_factor();
    let (x0, y0) = ((p.x * sf) as u32, (p.y * sf) as u32);
    let (x1, y1) = (
        ((p.x + s.width) * sf) as u32,
        ((p.y + s.height) * sf) as u32,
    );
    let px = |x: u32, y: u32| img.as_slice()[(y * img.width() + x) as usize];
    let bg = px(x0, y0);
    let mut out = Vec::new();
    for y in y0..y1.min(img.height()) {
        for x in x0..x1.min(img.width()) {
            let c = px(x, y);
            if (c.r as i32 - bg.r as i32).abs() + (c.g as i32 - bg.g as i32).abs() > 60 {
                out.push((x - x0, y - y0));
            }
        }
    }
    out
}

#[test]
fn chinese_text_renders_with_the_bundled_font() {
    let b = TestBench::new();
    b.api().set_simulator_open(false);
    let api = b.api();
    api.set_keypad_message("没有工号九九".into());
    let a = b.snapshot();
    let with_chinese = ink(&a, &b, "keypad message");
    api.set_keypad_message("请扫描工牌吧".into());
    let c = b.snapshot();
    let other_chinese = ink(&c, &b, "keypad message");
    api.set_keypad_message("".into());
    let empty = b.snapshot();
    assert!(
        with_chinese.len() > 150,
        "Chinese drew {} pixels: no CJK glyphs?",
        with_chinese.len()
    );
    assert_ne!(
        with_chinese, other_chinese,
        "two different Chinese strings drew the same pixels: boxes, not glyphs"
    );
    assert_ne!(a.as_bytes(), empty.as_bytes());
    // The translated banner too.
    b.tap("language");
    let z = b.snapshot();
    assert!(ink(&z, &b, "请扫描工牌签到").len() > 300);
}
