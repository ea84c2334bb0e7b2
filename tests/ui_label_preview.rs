//! The label preview in the window is the label as the printer prints it: the image the screen
//! shows is drawn from the bytes the printer got, and an independent decoder (zbar) reads its
//! waybill and order barcodes and its QR code. Chinese captions on 80 mm, English on 58 mm;
//! both screens are compared with their references in `docs/screenshots/` (`ui_harness::shots`;
//! `PACKBENCH_BLESS=1` rewrites them).

mod ui_harness;
mod zbar;

use std::time::{Duration, Instant};

use packbench::ui::Page;
use packbench_drivers::label::PaperWidth;
use ui_harness::*;

const WAYBILL2: &str = "7577354684874"; // ORDER2's waybill

fn packed_bench(paper_mm: u32, label_lang: &str, ui_lang: &str) -> TestBench {
    let b = TestBench::with_printer_setup(1280.0, 800.0, |p| {
        p.paper = if paper_mm == 80 {
            PaperWidth::Mm80
        } else {
            PaperWidth::Mm58
        };
        p.language = Some(label_lang.parse().expect("zh or en"));
    });
    b.api().set_simulator_open(false);
    if ui_lang == "zh" {
        b.tap("language");
    }
    b.wedge(PACKER);
    b.wedge(ORDER2); // no picker in the import; a gift line
    for c in [LIP_R02, "6921568320604", "INT-0107"] {
        b.wedge(c);
    }
    b.weigh(107.0);
    b.wedge(PICKER);
    assert_eq!(b.step(), Step::ScanOrder);
    b
}

fn check(paper_mm: u32, label_lang: &str, ui_lang: &str, caption: &str) {
    let b = packed_bench(paper_mm, label_lang, ui_lang);
    let preview = b.value("label preview");
    assert!(preview.contains(caption), "text of the label: {preview}");

    // The image on screen, as the window holds it.
    let img = b
        .api()
        .get_label_image()
        .to_rgb8()
        .expect("the preview is a pixel image");
    let paper_dots = if paper_mm == 80 { 640 } else { 464 };
    assert_eq!(img.width(), paper_dots, "paper width in dots");
    assert!(img.height() > 600, "a whole label: {}", img.height());
    let rgba: Vec<u8> = img
        .as_slice()
        .iter()
        .flat_map(|p| [p.r, p.g, p.b, 255])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("preview.png");
    write_png(&png, img.width(), img.height(), &rgba);
    let mut want = vec![
        format!("CODE-128:{WAYBILL2}"),
        format!("CODE-128:{ORDER2}"),
        format!("QR-Code:{ORDER2}"),
    ];
    want.sort();
    assert_eq!(zbar::decode(&[png]), want);

    // The same bytes as the printer got: the preview of the file printer's job is this image.
    let deadline = Instant::now() + Duration::from_secs(10);
    let job = loop {
        let bytes = std::fs::read(&b.labels).unwrap_or_default();
        if !bytes.is_empty() {
            break bytes;
        }
        assert!(Instant::now() < deadline, "the printer got no label");
        std::thread::sleep(Duration::from_millis(20));
    };
    let paper = if paper_mm == 80 {
        PaperWidth::Mm80
    } else {
        PaperWidth::Mm58
    };
    let printed = packbench::station::label::printed(&job, paper).unwrap();
    let shown: Vec<u8> = img.as_slice().iter().map(|p| p.r).collect();
    assert!(
        printed.pixels == shown,
        "the screen shows the printer's job"
    );

    let mut shots = shots::Shots::default();
    shots.check(&format!("18-label-preview-{ui_lang}"), &b.image());

    // A tap on the preview shows the whole label, one screen pixel per printer dot.
    b.tap("label preview");
    assert_eq!(b.api().get_page(), Page::Label);
    let whole = b.find("whole label");
    let size = whole.size();
    assert_eq!(size.width.round() as u32, paper_dots, "one pixel per dot");
    shots.check(&format!("19-label-whole-{ui_lang}"), &b.image());
    b.tap_id("LabelDialog::close");
    assert_eq!(b.api().get_page(), Page::Station);
    assert!(!b.has("whole label"));
    shots.finish();
}

#[test]
fn chinese_label_on_80_mm_shows_as_printed() {
    check(80, "zh", "zh", "订单号");
}

#[test]
fn english_label_on_58_mm_shows_as_printed() {
    check(58, "en", "en", "Order");
}
