//! Every screen in English and Chinese, rendered with the software renderer. Each render is
//! checked for the screen's own element; with `PACKBENCH_SCREENSHOTS=DIR` the renders are
//! written there as PNGs (`docs/screenshots/` holds the committed ones):
//!
//! ```sh
//! PACKBENCH_SCREENSHOTS=docs/screenshots cargo test --test ui_screenshots
//! ```
//!
//! Chinese must show without any system CJK font: the bundled subset draws it.

mod ui_harness;

use std::path::PathBuf;

use slint::{ComponentHandle, Rgba8Pixel, SharedPixelBuffer};
use ui_harness::*;

fn out_dir() -> Option<PathBuf> {
    let d = PathBuf::from(std::env::var_os("PACKBENCH_SCREENSHOTS")?);
    let d = if d.is_relative() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(d)
    } else {
        d
    };
    std::fs::create_dir_all(&d).unwrap();
    Some(d)
}

fn shot(b: &TestBench, name: &str, lang: &str) {
    // Something must be drawn: a blank render would pass any later check.
    let img = b.snapshot();
    let distinct = img
        .as_slice()
        .iter()
        .step_by(97)
        .map(|p| (p.r, p.g, p.b))
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert!(distinct > 5, "{name}: the render is blank");
    if let Some(dir) = out_dir() {
        b.save_png(&dir.join(format!("{name}-{lang}.png")));
    }
}

/// Drives one bench through every screen, taking a picture of each.
fn tour(lang: &str) {
    let b = TestBench::new();
    b.api().set_simulator_open(false);
    if lang == "zh" {
        b.tap("language");
    }
    b.find("keypad message");
    shot(&b, "01-sign-in", lang);

    b.wedge(PACKER);
    b.wedge("TB20261122006"); // a buyer note with quotes and a comma
    b.wedge("812376045185"); // CANDLE-LAV by its UPC-A
    b.find("buyer note");
    shot(&b, "02-pack", lang);

    b.wedge(T_BLU_L); // not in this order
    b.find("alert");
    shot(&b, "03-alert-wrong-item", lang);
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
    shot(&b, "04-weigh", lang);

    b.weigh(225.0); // one sock short
    b.find("weight mismatch");
    shot(&b, "05-weight-mismatch", lang);
    b.wedge(SUPERVISOR);
    b.find("pin pad");
    let (first, rest) = SUPERVISOR_PIN.split_at(3);
    for d in first.chars() {
        b.tap(&format!("pin {d}"));
    }
    // Three digits typed: three dots, and never the digits themselves.
    assert_eq!(b.value("pin digits"), "3");
    shot(&b, "05b-pin-pad", lang);
    for d in rest.chars() {
        b.tap(&format!("pin {d}"));
    }
    b.tap("pin ok");
    b.find("approval reason");
    shot(&b, "05c-approval-reason", lang);
    b.tap("reason scale_drift");

    b.wedge(ORDER2); // no picker in the import
    for c in [LIP_R02, "6921568320604", "INT-0107"] {
        b.wedge(c);
    }
    b.weigh(107.0);
    assert_eq!(b.step(), Step::ScanPicker);
    shot(&b, "06-scan-picker", lang);
    b.wedge(PICKER);
    assert_eq!(b.step(), Step::ScanOrder);
    shot(&b, "07-packed-label", lang);

    b.wedge("TB20261122004");
    b.tap_id("ActionBar::hold");
    b.find("hold dialog");
    shot(&b, "08-hold", lang);
    b.tap_id("HoldDialog::hold-short");

    b.tap_id("ActionBar::dispatch");
    b.wedge(ORDER1_WAYBILL);
    b.wedge("7577354684874"); // ORDER2's waybill: another carrier
    assert_eq!(b.step(), Step::Dispatch);
    shot(&b, "09-dispatch", lang);
    b.tap_id("DispatchScreen::end");

    b.tap_id("TopBar::supervisor");
    b.wedge(PACKER);
    b.find("supervisor message");
    shot(&b, "10-supervisor-badge-refused", lang);
    b.wedge(SUPERVISOR);
    b.pin(SUPERVISOR_PIN);
    let search = b.find_id("SearchPane::search-box");
    search.set_accessible_value(ORDER1);
    b.tap_id("SearchPane::search");
    b.find("timeline title");
    shot(&b, "11-supervisor-timeline", lang);
    b.tap_id("SupervisorScreen::tab-mismatches");
    shot(&b, "12-supervisor-mismatches", lang);
    b.tap_id("SupervisorScreen::tab-packers");
    shot(&b, "13-supervisor-packers", lang);
    b.tap_id("SupervisorScreen::close");

    b.tap_id("TopBar::settings");
    b.find("setting station");
    shot(&b, "14-settings", lang);
    b.tap_id("SettingsScreen::close");

    b.api().set_simulator_open(true);
    b.wedge("TB20261122003");
    b.find("simulator");
    shot(&b, "15-demo-simulator", lang);

    // Returns check-in (退货签收): ORDER1 (packed and handed over above) comes back.
    b.api().set_simulator_open(false);
    b.wedge("PB-RETURNS"); // from the command sheet: the untouched order is let go

    assert_eq!(b.step(), Step::ScanReturn);
    shot(&b, "20-returns", lang);
    b.wedge(ORDER1_WAYBILL);
    b.wedge(T_BLU_L);
    b.tap_id("ReturnsScreen::cond-damaged");
    b.wedge(SOCK_BLK);
    b.wedge(LIP_R02); // never in the order
    b.tap_id("ReturnsScreen::ret-wrong-item-sent");
    b.weigh(251.5);
    b.find("pack record");
    assert_eq!(b.value("return verdict"), "confirmed");
    shot(&b, "21-return-check-in", lang);
    b.tap_id("ActionBar::returns"); // "Close return" while one is open
    b.find("last return");
    shot(&b, "22-return-closed", lang);
}

#[test]
fn every_screen_in_english() {
    tour("en");
}

#[test]
fn every_screen_in_chinese() {
    tour("zh");
}

#[test]
fn smallest_and_full_hd_screens() {
    for (w, h, name) in [(1024.0, 600.0, "1024x600"), (1920.0, 1080.0, "1920x1080")] {
        let b = TestBench::with_size(w, h);
        b.api().set_simulator_open(false);
        b.wedge(PACKER);
        b.wedge("TB20261122008"); // five lines, three with a weight tolerance
        b.wedge("6970399025066"); // an inner box of six
        let img = b.snapshot();
        assert_eq!((img.width(), img.height()), (w as u32, h as u32));
        shot(&b, &format!("16-pack-{name}"), "en");
        b.wedge("PB-HOLD-SHORT");
        b.wedge(ORDER1);
        for c in [T_BLU_L, SOCK_BLK, SOCK_BLK] {
            b.wedge(c);
        }
        b.weigh(225.0);
        b.find("weight mismatch");
        b.api().set_simulator_open(true);
        shot(&b, &format!("17-mismatch-simulator-{name}"), "en");
    }
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
