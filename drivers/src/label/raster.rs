//! The label as the printer prints it: an ESC/POS interpreter that turns the bytes a printer
//! gets into the dots it would burn, at the printer's 8 dots/mm.
//!
//! It reads what [`super::build_label`] and the command sheet send: text in font A (12×24
//! dots, Chinese characters 24×24 between `FS &` and `FS .`, as GB18030), `ESC a` alignment,
//! `ESC E` / `ESC !` emphasis, `GS !` sizes, `LF` / `ESC d` feeds, CODE128 via `GS k 73` with
//! `GS h` / `GS w` / `GS H`, QR via `GS ( k` (module size, error level, store, print) and the
//! cut. Other commands are skipped, as a printer skips what it does not support. Glyphs come
//! from the font the caller passes (the station's bundled CJK font), scaled into the printer's
//! cells; sizes enlarge those cells dot by dot, the way a printer enlarges its bitmap font.

use std::collections::HashMap;

use encoding_rs::GB18030;
use skrifa::instance::{LocationRef, Size};
use skrifa::outline::{DrawSettings, OutlinePen};
use skrifa::{FontRef, MetadataProvider};
use zeno::{Command, Mask, Origin, Point};

use super::preview::{tokenize, Token};
use super::{code128, PaperWidth};

/// Font A cell: 12 dots wide, 24 high; a Chinese character takes two cells' width.
const CELL_W: usize = 12;
const CELL_H: usize = 24;
/// Default line spacing (`ESC 2`, 1/6 inch at 203 dpi).
const LINE_SPACING: usize = 30;
const TOP_MARGIN: usize = 16;

#[derive(Debug, thiserror::Error)]
#[error("the preview font cannot be read: {0}")]
pub struct FontError(String);

/// A greyscale image of printed paper: one byte per dot, 0 ink, 255 bare paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Raster {
    /// The dot at (x, y) is inked.
    pub fn is_ink(&self, x: usize, y: usize) -> bool {
        self.pixels[y * self.width + x] < 128
    }

    /// Rows holding any ink.
    pub fn inked_rows(&self) -> usize {
        self.pixels
            .chunks(self.width)
            .filter(|r| r.iter().any(|&p| p < 128))
            .count()
    }
}

/// A printer's font: glyphs from an OpenType font, drawn into font A cells and kept once drawn.
pub struct PrinterFont<'a> {
    font: FontRef<'a>,
    cache: HashMap<char, Glyph>,
}

/// One character's cell, 1 byte of coverage per dot.
#[derive(Clone)]
struct Glyph {
    width: usize,
    coverage: Vec<u8>,
}

impl<'a> PrinterFont<'a> {
    pub fn new(data: &'a [u8]) -> Result<Self, FontError> {
        let font = FontRef::new(data).map_err(|e| FontError(e.to_string()))?;
        if font.charmap().map('A').is_none() {
            return Err(FontError("it has no glyph for 'A'".into()));
        }
        Ok(PrinterFont {
            font,
            cache: HashMap::new(),
        })
    }

    /// The character's cell: ASCII is one font A cell wide, anything else two.
    fn glyph(&mut self, ch: char) -> &Glyph {
        let font = &self.font;
        self.cache.entry(ch).or_insert_with(|| draw_glyph(font, ch))
    }
}

fn draw_glyph(font: &FontRef<'_>, ch: char) -> Glyph {
    let width = if ch.is_ascii() { CELL_W } else { 2 * CELL_W };
    let mut coverage = vec![0u8; width * CELL_H];
    // A character the font lacks prints as the printer's '?'.
    let (ch, gid) = match font.charmap().map(ch) {
        Some(g) => (ch, g),
        None => match font.charmap().map('?') {
            Some(g) => ('?', g),
            None => return Glyph { width, coverage },
        },
    };
    if ch == ' ' {
        return Glyph { width, coverage };
    }
    // 22 dots per em keeps a CJK ideograph (ascent ~0.88 em) inside 24 dots.
    let ppem = 22.0;
    let size = Size::new(ppem);
    let advance = font
        .glyph_metrics(size, LocationRef::default())
        .advance_width(gid)
        .unwrap_or(ppem);
    // Latin in a CJK face is wider than a 12-dot cell: squeeze it the way font A is narrow.
    let sx = if ch.is_ascii() {
        (11.0 / advance).min(1.0)
    } else {
        1.0
    };
    let dx = (width as f32 - advance * sx) / 2.0;
    let mut pen = ZenoPen {
        cmds: Vec::new(),
        sx,
        dx,
        baseline: 19.5,
    };
    let Some(outline) = font.outline_glyphs().get(gid) else {
        return Glyph { width, coverage };
    };
    if outline
        .draw(
            DrawSettings::unhinted(size, LocationRef::default()),
            &mut pen,
        )
        .is_err()
    {
        return Glyph { width, coverage };
    }
    Mask::new(&pen.cmds[..])
        .origin(Origin::TopLeft)
        .size(width as u32, CELL_H as u32)
        .render_into(&mut coverage, None);
    Glyph { width, coverage }
}

/// Outline commands in cell dots (y down from the cell top).
struct ZenoPen {
    cmds: Vec<Command>,
    sx: f32,
    dx: f32,
    baseline: f32,
}

impl ZenoPen {
    fn p(&self, x: f32, y: f32) -> Point {
        Point::new(x * self.sx + self.dx, self.baseline - y)
    }
}

impl OutlinePen for ZenoPen {
    fn move_to(&mut self, x: f32, y: f32) {
        let p = self.p(x, y);
        self.cmds.push(Command::MoveTo(p));
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let p = self.p(x, y);
        self.cmds.push(Command::LineTo(p));
    }
    fn quad_to(&mut self, cx0: f32, cy0: f32, x: f32, y: f32) {
        let (c, p) = (self.p(cx0, cy0), self.p(x, y));
        self.cmds.push(Command::QuadTo(c, p));
    }
    fn curve_to(&mut self, cx0: f32, cy0: f32, cx1: f32, cy1: f32, x: f32, y: f32) {
        let (c0, c1, p) = (self.p(cx0, cy0), self.p(cx1, cy1), self.p(x, y));
        self.cmds.push(Command::CurveTo(c0, c1, p));
    }
    fn close(&mut self) {
        self.cmds.push(Command::Close);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
    Right,
}

/// One character waiting in the line buffer.
struct Placed {
    ch: char,
    x: usize,
    wmul: usize,
    hmul: usize,
    bold: bool,
}

/// Printer state while reading a job.
struct Printer<'f, 'a> {
    font: &'f mut PrinterFont<'a>,
    dots: usize,
    margin: usize,
    /// Paper rows, `width` bytes each; grows as the paper feeds.
    paper: Vec<u8>,
    width: usize,
    y: usize,
    line: Vec<Placed>,
    line_x: usize,
    align: Align,
    bold: bool,
    wmul: usize,
    hmul: usize,
    chinese: bool,
    bar_height: usize,
    bar_module: usize,
    hri_below: bool,
    hri_above: bool,
    qr_module: usize,
    qr_level: qrcode::EcLevel,
    qr_data: Vec<u8>,
}

/// Renders ESC/POS bytes as the printer would print them on `paper`.
pub fn render(bytes: &[u8], paper: PaperWidth, font: &mut PrinterFont<'_>) -> Raster {
    let margin = paper.margin_dots();
    let width = paper.dots() + 2 * margin;
    let mut p = Printer {
        font,
        dots: paper.dots(),
        margin,
        paper: Vec::new(),
        width,
        y: TOP_MARGIN,
        line: Vec::new(),
        line_x: 0,
        align: Align::Left,
        bold: false,
        wmul: 1,
        hmul: 1,
        chinese: false,
        bar_height: 162,
        bar_module: 3,
        hri_below: false,
        hri_above: false,
        qr_module: 3,
        qr_level: qrcode::EcLevel::L,
        qr_data: Vec::new(),
    };
    for tok in tokenize(bytes) {
        p.token(tok);
    }
    p.flush_line();
    let height = (p.y + TOP_MARGIN).max(p.paper.len() / width);
    p.paper.resize(width * height, 255);
    Raster {
        width,
        height,
        pixels: p.paper,
    }
}

impl Printer<'_, '_> {
    fn reset(&mut self) {
        self.align = Align::Left;
        self.bold = false;
        self.wmul = 1;
        self.hmul = 1;
        self.chinese = false;
        self.bar_height = 162;
        self.bar_module = 3;
        self.hri_below = false;
        self.hri_above = false;
    }

    fn token(&mut self, tok: Token<'_>) {
        match tok {
            Token::Text(t) => {
                let text = if self.chinese {
                    GB18030.decode_without_bom_handling(t).0.into_owned()
                } else {
                    // Outside Chinese mode a high byte is a code-page glyph we do not have.
                    t.iter()
                        .map(|&b| if b.is_ascii() { b as char } else { '?' })
                        .collect()
                };
                for ch in text.chars() {
                    self.put_char(ch);
                }
            }
            Token::LineFeed => self.line_feed(),
            Token::Init => {
                self.flush_line();
                self.reset();
            }
            Token::ChineseOn => self.chinese = true,
            Token::ChineseOff => self.chinese = false,
            Token::Barcode { system: 73, data } => self.barcode(data),
            Token::Barcode { system, .. } => {
                tracing::debug!(system, "label preview: barcode system not drawn");
            }
            Token::QrData(d) => self.qr_data = d.to_vec(),
            Token::QrPrint => self.qr(),
            Token::Cut => self.cut(),
            Token::Command(c) => self.command(c),
            Token::Unknown(_) => {}
        }
    }

    fn command(&mut self, c: &[u8]) {
        match c {
            [0x1B, b'a', n] => {
                self.align = match n % 48 {
                    1 => Align::Center,
                    2 => Align::Right,
                    _ => Align::Left,
                }
            }
            [0x1B, b'E', n] | [0x1B, b'G', n] => self.bold = (n & 1) == 1,
            [0x1B, b'!', n] => {
                self.bold = n & 0x08 != 0;
                self.hmul = if n & 0x10 != 0 { 2 } else { 1 };
                self.wmul = if n & 0x20 != 0 { 2 } else { 1 };
            }
            [0x1D, b'!', n] => {
                self.wmul = usize::from(n >> 4) + 1;
                self.hmul = usize::from(n & 0x0F) + 1;
            }
            [0x1B, b'd', n] => {
                self.flush_line();
                self.y += usize::from(*n) * LINE_SPACING;
            }
            [0x1B, b'J', n] => {
                self.flush_line();
                self.y += usize::from(*n);
            }
            [0x1D, b'h', n] => self.bar_height = usize::from(*n).max(1),
            [0x1D, b'w', n] => self.bar_module = usize::from(*n).clamp(1, 6),
            [0x1D, b'H', n] => {
                self.hri_above = n % 48 == 1 || n % 48 == 3;
                self.hri_below = n % 48 == 2 || n % 48 == 3;
            }
            // GS ( k pL pH cn=49 fn …: QR module size (67) and error level (69).
            [0x1D, b'(', b'k', _, _, 49, 67, n] => self.qr_module = usize::from(*n).clamp(1, 16),
            [0x1D, b'(', b'k', _, _, 49, 69, n] => {
                self.qr_level = match *n {
                    49 => qrcode::EcLevel::M,
                    50 => qrcode::EcLevel::Q,
                    51 => qrcode::EcLevel::H,
                    _ => qrcode::EcLevel::L,
                }
            }
            _ => {}
        }
    }

    fn put_char(&mut self, ch: char) {
        let cell = if ch.is_ascii() { CELL_W } else { 2 * CELL_W } * self.wmul;
        if self.line_x + cell > self.dots {
            // A full line prints and the text goes on on the next one.
            self.line_feed();
        }
        self.line.push(Placed {
            ch,
            x: self.line_x,
            wmul: self.wmul,
            hmul: self.hmul,
            bold: self.bold,
        });
        self.line_x += cell;
    }

    fn line_feed(&mut self) {
        if self.line.is_empty() {
            self.y += LINE_SPACING;
        } else {
            self.flush_line();
        }
    }

    /// Prints the line buffer, aligned, bottoms on one baseline, and advances the paper.
    fn flush_line(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.line);
        let used = std::mem::take(&mut self.line_x);
        let height = line.iter().map(|c| c.hmul * CELL_H).max().unwrap_or(CELL_H);
        let left = self.margin + self.offset(used);
        let top = self.y;
        self.grow(top + height);
        for c in &line {
            let glyph = self.font.glyph(c.ch).clone();
            let gy = top + height - c.hmul * CELL_H;
            for y in 0..CELL_H * c.hmul {
                for x in 0..glyph.width * c.wmul {
                    let cov = glyph.coverage[(y / c.hmul) * glyph.width + x / c.wmul];
                    let bolder = c.bold && x >= c.wmul && {
                        let bx = (x - c.wmul) / c.wmul;
                        glyph.coverage[(y / c.hmul) * glyph.width + bx] >= 96
                    };
                    if cov >= 96 || bolder {
                        self.ink(left + c.x + x, gy + y);
                    }
                }
            }
        }
        self.y = top + (height + 6).max(LINE_SPACING);
    }

    /// Left offset of something `used` dots wide under the current alignment.
    fn offset(&self, used: usize) -> usize {
        let free = self.dots.saturating_sub(used);
        match self.align {
            Align::Left => 0,
            Align::Center => free / 2,
            Align::Right => free,
        }
    }

    fn grow(&mut self, rows: usize) {
        if self.paper.len() < rows * self.width {
            self.paper.resize(rows * self.width, 255);
        }
    }

    fn ink(&mut self, x: usize, y: usize) {
        if x < self.width {
            self.grow(y + 1);
            self.paper[y * self.width + x] = 0;
        }
    }

    fn barcode(&mut self, data: &[u8]) {
        self.flush_line();
        let Some(bars) = code128::bars(data) else {
            // A printer prints nothing for data it cannot encode.
            tracing::debug!("label preview: CODE128 data a printer would refuse");
            return;
        };
        let w = self.bar_module;
        if bars.len() * w > self.dots {
            tracing::debug!("label preview: barcode wider than the paper, not printed");
            return;
        }
        let hri = code128::decode_data(data);
        if self.hri_above {
            self.hri(&hri);
        }
        let left = self.margin + self.offset(bars.len() * w);
        let top = self.y;
        self.grow(top + self.bar_height);
        for (i, _) in bars.iter().enumerate().filter(|(_, b)| **b) {
            for x in 0..w {
                for y in 0..self.bar_height {
                    self.ink(left + i * w + x, top + y);
                }
            }
        }
        self.y = top + self.bar_height + 4;
        if self.hri_below {
            self.hri(&hri);
        }
    }

    /// The human-readable line of a barcode: font A, normal size, same alignment.
    fn hri(&mut self, text: &str) {
        let (wmul, hmul, bold) = (self.wmul, self.hmul, self.bold);
        (self.wmul, self.hmul, self.bold) = (1, 1, false);
        for ch in text.chars() {
            self.put_char(ch);
        }
        self.flush_line();
        (self.wmul, self.hmul, self.bold) = (wmul, hmul, bold);
    }

    fn qr(&mut self) {
        self.flush_line();
        let Ok(code) = qrcode::QrCode::with_error_correction_level(&self.qr_data, self.qr_level)
        else {
            tracing::debug!("label preview: QR data a printer would refuse");
            return;
        };
        let n = code.width();
        let m = self.qr_module;
        let left = self.margin + self.offset(n * m);
        let top = self.y;
        for (i, c) in code.to_colors().into_iter().enumerate() {
            if c == qrcode::Color::Dark {
                let (cx, cy) = (i % n, i / n);
                for y in 0..m {
                    for x in 0..m {
                        self.ink(left + cx * m + x, top + cy * m + y);
                    }
                }
            }
        }
        self.y = top + n * m + 4;
    }

    /// A dashed grey line where the cutter cuts; anything after it is the next label.
    fn cut(&mut self) {
        self.flush_line();
        let y = self.y + 8;
        self.grow(y + 1);
        for x in (0..self.width).filter(|x| x % 12 < 6) {
            self.paper[y * self.width + x] = 160;
        }
        self.y = y + 16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The station's bundled face; the drivers have no font of their own.
    static FONT: &[u8] = include_bytes!("../../../assets/fonts/NotoSansCJKsc-Regular-subset.otf");

    fn draw(bytes: &[u8]) -> Raster {
        render(
            bytes,
            PaperWidth::Mm58,
            &mut PrinterFont::new(FONT).unwrap(),
        )
    }

    /// Leftmost and rightmost inked column and the inked rows' span.
    fn ink_box(r: &Raster) -> Option<(usize, usize, usize, usize)> {
        let mut b: Option<(usize, usize, usize, usize)> = None;
        for y in 0..r.height {
            for x in 0..r.width {
                if r.is_ink(x, y) {
                    let (x0, x1, y0, y1) = b.unwrap_or((x, x, y, y));
                    b = Some((x0.min(x), x1.max(x), y0.min(y), y1.max(y)));
                }
            }
        }
        b
    }

    #[test]
    fn bad_font_bytes_are_refused() {
        assert!(PrinterFont::new(b"not a font").is_err());
    }

    #[test]
    fn text_lands_in_font_a_cells_and_follows_alignment() {
        let left = ink_box(&draw(b"\x1b@HHHH\n")).unwrap();
        // Four 12-dot cells from the left edge of the printable area.
        assert!(left.0 >= 40 && left.1 < 40 + 48, "{left:?}");
        assert!(left.3 - left.2 < 24, "one line of font A: {left:?}");
        let centre = ink_box(&draw(b"\x1b@\x1ba\x01HHHH\n")).unwrap();
        let mid = (centre.0 + centre.1) / 2;
        assert!(mid.abs_diff(464 / 2) <= 2, "{centre:?}");
        let right = ink_box(&draw(b"\x1b@\x1ba\x02HHHH\n")).unwrap();
        assert!(right.1 < 40 + 384 && right.1 > 40 + 384 - 12, "{right:?}");
    }

    #[test]
    fn size_and_emphasis_change_the_dots() {
        let normal = draw(b"\x1b@HH\n");
        let big = ink_box(&draw(b"\x1b@\x1d!\x11HH\n")).unwrap();
        let small = ink_box(&normal).unwrap();
        assert!(
            big.3 - big.2 > 2 * (small.3 - small.2) - 2,
            "{big:?} {small:?}"
        );
        assert!(big.1 - big.0 > 2 * (small.1 - small.0), "{big:?} {small:?}");
        let count = |r: &Raster| r.pixels.iter().filter(|&&p| p < 128).count();
        assert!(count(&draw(b"\x1b@\x1bE\x01HH\n")) > count(&normal));
    }

    #[test]
    fn chinese_mode_decodes_gb18030_into_double_cells() {
        // 中 in GB18030 is D6 D0: two characters in Chinese mode, two '?' cells outside it.
        let zh = ink_box(&draw(b"\x1b@\x1c&\xd6\xd0\x1c.\n")).unwrap();
        assert!(
            zh.1 - zh.0 > 12 && zh.1 < 40 + 24,
            "one 24-dot character: {zh:?}"
        );
        let plain = draw(b"\x1b@\xd6\xd0\n");
        let question = draw(b"\x1b@??\n");
        assert_eq!(plain, question);
    }

    #[test]
    fn code128_is_drawn_with_its_module_width_and_height() {
        let c = code128::Code128::encode("PB-UNDO").unwrap();
        let mut job = vec![0x1B, b'@', 0x1D, b'h', 50, 0x1D, b'w', 2];
        job.extend(c.command());
        let b = ink_box(&draw(&job)).unwrap();
        let bars = code128::bars(&c.data).unwrap();
        assert_eq!(b.1 - b.0 + 1, bars.len() * 2);
        assert_eq!(b.3 - b.2 + 1, 50);
        // Data a printer refuses prints nothing.
        let bad = [0x1B, b'@', 0x1D, b'k', 73, 3, b'A', b'B', b'C'];
        assert_eq!(ink_box(&draw(&bad)), None);
    }

    #[test]
    fn feeds_and_the_cut_lengthen_the_paper() {
        let short = draw(b"\x1b@A\n");
        let fed = draw(b"\x1b@A\n\x1bd\x05");
        assert_eq!(fed.height - short.height, 5 * LINE_SPACING);
        let cut = draw(b"\x1b@A\n\x1dVA\x00");
        assert!(cut.height > short.height);
        assert_eq!(
            cut.inked_rows(),
            short.inked_rows(),
            "the cut line is grey, not ink"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the bytes, the preview draws something the paper's width.
        #[test]
        fn any_bytes_render(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let r = draw(&bytes);
            prop_assert_eq!(r.width, 464);
            prop_assert_eq!(r.pixels.len(), r.width * r.height);
        }
    }
}
