//! What a bench prints before its first parcel, checked the way a scanner would: the command
//! sheet and badge PDFs rendered to images (poppler's `pdftoppm`), the printed command sheet
//! and a Chinese label drawn from their ESC/POS bytes, and every barcode on them read back by
//! an independent decoder (zbar's `zbarimg`). `.ci/run` installs both (Debian `poppler-utils`
//! and `zbar-tools`); without them these tests fail, saying so. With
//! `PACKBENCH_SCREENSHOTS=docs/screenshots` the printed command sheets are written to
//! `docs/sheets/` for the README.

mod common;
mod zbar;

use std::path::{Path, PathBuf};

use common::*;
use packbench::domain::progress::OrderProgress;
use packbench::station::label::{label_for, printed, LabelSetup};
use packbench::store::ReferenceData;
use packbench_drivers::label::raster::Raster;
use packbench_drivers::label::{build_label, CaptionLanguage, PaperWidth};
use zbar::{decode, tool};

/// The PDF's pages as PNG files at 200 dpi.
fn pages(pdf: &Path) -> Vec<PathBuf> {
    let prefix = pdf.with_extension("");
    let o = tool("pdftoppm", "poppler-utils")
        .args(["-r", "200", "-png", "-gray"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = pdf.parent().unwrap();
    let stem = prefix.file_name().unwrap().to_string_lossy().to_string();
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("{stem}-")) && n.ends_with(".png")
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "pdftoppm made no pages");
    v
}

fn pdf_text(pdf: &Path) -> String {
    let o = tool("pdftotext", "poppler-utils")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn save_png(r: &Raster, path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    let mut e = png::Encoder::new(f, r.width as u32, r.height as u32);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    let mut w = e.write_header().unwrap();
    w.write_image_data(&r.pixels).unwrap();
}

/// The codes `packbench commands` lists (its first column).
fn listed_codes(dir: &Path) -> Vec<String> {
    let out = ok(&pb(dir, &["commands"]));
    let mut codes: Vec<String> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("PB-"))
        .map(str::to_string)
        .collect();
    codes.sort();
    assert_eq!(
        codes.len(),
        packbench::domain::commands::COMMANDS.len(),
        "{out}"
    );
    codes
}

fn code128(codes: &[String]) -> Vec<String> {
    let mut v: Vec<String> = codes.iter().map(|c| format!("CODE-128:{c}")).collect();
    v.sort();
    v
}

#[test]
fn command_sheet_pdf_scans_to_exactly_the_listed_commands() {
    let dir = tempfile::tempdir().unwrap();
    let listed = listed_codes(dir.path());
    let pdf = dir.path().join("sheet.pdf");
    ok(&pb(
        dir.path(),
        &["commands", "--pdf", pdf.to_str().unwrap()],
    ));
    let pages = pages(&pdf);
    assert_eq!(decode(&pages), code128(&listed));

    // Both languages: every meaning's English and Chinese half, and the group headings.
    let text = pdf_text(&pdf);
    for (c, meaning) in packbench::domain::commands::COMMANDS {
        let (en, zh) = (meaning.en, meaning.zh);
        assert!(text.contains(en), "{}: {en:?} missing", c.code());
        assert!(text.contains(zh), "{}: {zh:?} missing", c.code());
    }
    for (g, _) in packbench::sheets::sections() {
        let h = g.heading();
        assert!(text.contains(h.en) && text.contains(h.zh), "{h:?}");
    }
    // A4 portrait at 200 dpi.
    let (w, h) = png_size(&pages[0]);
    assert_eq!((w, h), (1654, 2339));
}

fn png_size(p: &Path) -> (u32, u32) {
    let d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
    let r = d.read_info().unwrap();
    (r.info().width, r.info().height)
}

#[test]
fn printed_command_sheet_scans_to_exactly_the_listed_commands_on_both_papers() {
    let dir = tempfile::tempdir().unwrap();
    let listed = listed_codes(dir.path());
    for (mm, paper) in [(80, PaperWidth::Mm80), (58, PaperWidth::Mm58)] {
        let out = dir.path().join(format!("printer-{mm}.bin"));
        let cfg = dir.path().join(format!("station-{mm}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "station_id = \"B1\"\n[printer]\ntarget = \"file://{}\"\nchinese = true\npaper_mm = {mm}\n",
                out.display()
            ),
        )
        .unwrap();
        ok(&pb(
            dir.path(),
            &["--config", cfg.to_str().unwrap(), "commands", "--print"],
        ));
        let bytes = std::fs::read(&out).unwrap();
        let text = packbench_drivers::label::label_to_text(&bytes);
        assert!(text.contains("撤销上一次扫描"), "{text}");
        let img = printed(&bytes, paper).unwrap();
        assert_eq!(img.width, if mm == 80 { 640 } else { 464 });
        let png = dir.path().join(format!("printed-{mm}.png"));
        save_png(&img, &png);
        // Codes too long for 2-dot bars on this paper are printed as text (scan them from
        // the A4 sheet); every other listed code scans, and nothing else does.
        let fits = |c: &String| {
            packbench_drivers::label::code128::Code128::encode(c)
                .ok()
                .and_then(|b| b.module_width_for(paper))
                .is_some_and(|w| w >= packbench_drivers::label::SHEET_MIN_MODULE)
        };
        let (bars, as_text): (Vec<String>, Vec<String>) =
            listed.iter().cloned().partition(|c| fits(c));
        assert!(!bars.is_empty());
        for c in &as_text {
            assert!(
                text.contains(c.as_str()),
                "{mm} mm: {c} not printed as text"
            );
        }
        assert_eq!(
            decode(std::slice::from_ref(&png)),
            code128(&bars),
            "{mm} mm"
        );
        if let Some(d) = std::env::var_os("PACKBENCH_SCREENSHOTS") {
            // The README shows the printed sheet next to the PDFs (docs/sheets/).
            let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(d)
                .join("../sheets");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(&png, d.join(format!("printed-{mm}mm.png"))).unwrap();
        }
    }
}

#[test]
fn commands_print_without_a_printer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("station.toml");
    std::fs::write(&cfg, "station_id = \"B1\"\n").unwrap();
    let out = pb(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "commands", "--print"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no [printer]"), "{err}");
}

#[test]
fn a_pdf_that_cannot_be_written_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing").join("sheet.pdf");
    let out = pb(dir.path(), &["commands", "--pdf", target.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("writing {}", target.display())),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

fn import_employees(dir: &Path) {
    let f = fixtures().join("employees.csv");
    ok(&pb(dir, &["import", "employees", f.to_str().unwrap()]));
}

#[test]
fn badges_scan_to_each_employee_badge_and_show_names() {
    let dir = tempfile::tempdir().unwrap();
    import_employees(dir.path());
    let pdf = dir.path().join("badges.pdf");
    let out = pb(dir.path(), &["badges", "--pdf", pdf.to_str().unwrap()]);
    ok(&out);
    let csv = std::fs::read_to_string(fixtures().join("employees.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let badges: Vec<String> = rows.iter().map(|r| r[3].to_string()).collect();
    assert_eq!(badges.len(), 8);
    assert_eq!(decode(&pages(&pdf)), code128(&badges));
    let text = pdf_text(&pdf);
    for r in &rows {
        assert!(text.contains(r[0]) && text.contains(r[1]), "{r:?}\n{text}");
    }
    assert!(text.contains("Supervisor / 主管"), "{text}");

    // --ids picks and orders; only those badges are on the sheet.
    let two = dir.path().join("two.pdf");
    ok(&pb(
        dir.path(),
        &[
            "badges",
            "--pdf",
            two.to_str().unwrap(),
            "--ids",
            "E004,E001",
        ],
    ));
    assert_eq!(
        decode(&pages(&two)),
        code128(&["BADGE-E004".into(), "BADGE-E001".into()])
    );
}

#[test]
fn badges_for_an_unknown_id_fail_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    import_employees(dir.path());
    let pdf = dir.path().join("badges.pdf");
    let out = pb(
        dir.path(),
        &[
            "badges",
            "--pdf",
            pdf.to_str().unwrap(),
            "--ids",
            "E001,E404",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no employee with id E404"), "{err}");
    assert!(!pdf.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the db"
    );
}

/// A Chinese label from the station's own builder, drawn from its bytes: its waybill and
/// order barcodes and its QR code read back, at both paper widths.
#[test]
fn chinese_label_preview_scans_like_the_label() {
    let dir = tempfile::tempdir().unwrap();
    let b = bench();
    let order = b.store().find_order(ORDER1).unwrap().unwrap();
    let mut progress = OrderProgress::derive(&order, &[]);
    progress.measured_weight_g = Some(266.0);
    for paper in [PaperWidth::Mm80, PaperWidth::Mm58] {
        let setup = LabelSetup {
            paper,
            chinese: true,
            language: CaptionLanguage::SimplifiedChinese,
        };
        let data = label_for(
            &order,
            &progress,
            b.catalog(),
            "E001 王芳".into(),
            "E003 张伟".into(),
            "B1",
            "2026-11-22 10:00".into(),
            1,
            setup,
        );
        let bytes = build_label(&data);
        let img = printed(&bytes, paper).unwrap();
        let png = dir.path().join(format!("label-{}.png", paper.dots()));
        save_png(&img, &png);
        let mut want = vec![
            format!("CODE-128:{}", order.waybill_no),
            format!("CODE-128:{}", order.order_no),
            format!("QR-Code:{}", order.order_no),
        ];
        want.sort();
        assert_eq!(decode(&[png]), want, "{paper:?}");
        // The Chinese captions are drawn, not left blank: the rows of the recipient line
        // carry ink.
        assert!(img.inked_rows() > 300, "{}", img.inked_rows());
    }
}
