//! Renders compared with the committed references in `docs/screenshots/`, within a tolerance:
//! anti-aliasing may shift by a shade and a temporary path in the settings may differ by a few
//! glyphs, but a missing word, a moved panel or another colour may not.
//!
//! `PACKBENCH_BLESS=1` rewrites the references from this build's renders instead of comparing
//! (look at the changed PNGs before committing them):
//!
//! ```sh
//! PACKBENCH_BLESS=1 cargo test --test ui_screenshots --test ui_label_preview
//! ```
//!
//! On a mismatch the render and a diff image (the reference faded, differing pixels red) are
//! written to `target/tmp/ui-screenshots/` and named in the failure.

use std::path::{Path, PathBuf};

/// A pixel differs when one of its channels is off by more than this (of 255).
pub const CHANNEL_DELTA: u8 = 48;
/// A render matches when at most this fraction of its pixels differ (0.1 %: on 1280×800, about
/// 1,000 pixels, a short word; a changed line of text or a panel is several times that).
pub const MAX_DIFFERING: f64 = 0.001;

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// RGBA, 8 bits a channel, row by row.
    pub rgba: Vec<u8>,
}

pub fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

fn failure_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots")
}

fn blessing() -> bool {
    std::env::var_os("PACKBENCH_BLESS").is_some_and(|v| v == "1")
}

/// A PNG as RGBA (`None`: there is no such file).
pub fn read_png(path: &Path) -> Option<Image> {
    let f = std::fs::File::open(path).ok()?;
    let mut dec = png::Decoder::new(std::io::BufReader::new(f));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => unreachable!("expanded"),
    };
    Some(Image {
        width: info.width,
        height: info.height,
        rgba,
    })
}

/// How many pixels of `actual` differ from `reference` (same size), and a diff image.
pub fn difference(reference: &Image, actual: &Image) -> (usize, Image) {
    assert_eq!(
        (reference.width, reference.height),
        (actual.width, actual.height)
    );
    let mut differing = 0;
    let mut diff = Vec::with_capacity(reference.rgba.len());
    for (r, a) in reference.rgba.chunks(4).zip(actual.rgba.chunks(4)) {
        let off = r.iter().zip(a).any(|(x, y)| x.abs_diff(*y) > CHANNEL_DELTA);
        if off {
            differing += 1;
            diff.extend([255, 0, 0, 255]);
        } else {
            let luma = (u32::from(r[0]) * 3 + u32::from(r[1]) * 6 + u32::from(r[2])) / 10;
            let faded = (170 + luma / 3) as u8;
            diff.extend([faded, faded, faded, 255]);
        }
    }
    let img = Image {
        width: reference.width,
        height: reference.height,
        rgba: diff,
    };
    (differing, img)
}

/// Compares the render `name` (`02-pack-en`) with its reference, or blesses it. The error
/// says what differs and where the render and the diff were written.
pub fn check(name: &str, actual: &Image) -> Result<(), String> {
    let reference_path = reference_dir().join(format!("{name}.png"));
    if blessing() {
        super::write_png(&reference_path, actual.width, actual.height, &actual.rgba);
        return Ok(());
    }
    compare_with(&reference_path, name, actual)
}

/// [`check`] without blessing: the render against the reference at `reference_path`.
pub fn compare_with(reference_path: &Path, name: &str, actual: &Image) -> Result<(), String> {
    let failed = |what: String, diff: Option<&Image>| {
        let dir = failure_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let actual_path = dir.join(format!("{name}.actual.png"));
        super::write_png(&actual_path, actual.width, actual.height, &actual.rgba);
        let mut msg = format!("{name}: {what}; render: {}", actual_path.display());
        if let Some(d) = diff {
            let diff_path = dir.join(format!("{name}.diff.png"));
            super::write_png(&diff_path, d.width, d.height, &d.rgba);
            msg += &format!(", diff: {}", diff_path.display());
        }
        msg + " (PACKBENCH_BLESS=1 rewrites the reference if the change is meant)"
    };
    let Some(reference) = read_png(reference_path) else {
        return Err(failed(
            format!("no reference {}", reference_path.display()),
            None,
        ));
    };
    if (reference.width, reference.height) != (actual.width, actual.height) {
        return Err(failed(
            format!(
                "{}×{}, the reference is {}×{}",
                actual.width, actual.height, reference.width, reference.height
            ),
            None,
        ));
    }
    let (differing, diff) = difference(&reference, actual);
    let total = (actual.width * actual.height) as usize;
    if differing as f64 > MAX_DIFFERING * total as f64 {
        return Err(failed(
            format!(
                "{differing} of {total} pixels differ from {} by more than {CHANNEL_DELTA} \
                 in a channel ({:.3} %, at most {:.3} % allowed)",
                reference_path.display(),
                100.0 * differing as f64 / total as f64,
                100.0 * MAX_DIFFERING
            ),
            Some(&diff),
        ));
    }
    Ok(())
}

/// Mismatches gathered over a test, so one run names every changed screen.
#[derive(Default)]
pub struct Shots(Vec<String>);

impl Shots {
    pub fn check(&mut self, name: &str, actual: &Image) {
        if let Err(e) = check(name, actual) {
            self.0.push(e);
        }
    }

    /// Fails the test if any render did not match.
    pub fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} screen(s) differ from the references:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}
