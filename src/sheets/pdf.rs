//! Drawing the sheets with krilla: text in the bundled CJK font (embedded as a subset), bars
//! as filled rectangles. Page coordinates are points from the top left.

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::Document;
use packbench_drivers::label::code128::{self, Code128};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use super::{Result, SheetError};
use crate::text;
use crate::text::{Text, Words};

/// The station's bundled CJK face (GB2312 and the Latin ranges), also used for the label
/// preview.
pub static FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansCJKsc-Regular-subset.otf");

const PT_PER_MM: f32 = 72.0 / 25.4;
const A4: (f32, f32) = (210.0 * PT_PER_MM, 297.0 * PT_PER_MM);

fn mm(x: f32) -> f32 {
    x * PT_PER_MM
}

pub struct Item {
    pub code: String,
    pub meaning: Text,
}

pub struct Section {
    pub title: Text,
    pub items: Vec<Item>,
}

pub struct Badge {
    pub name: String,
    pub id: String,
    pub roles: Words,
    pub code: String,
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Center,
}

/// The font twice: krilla's handle for embedding, skrifa's view for the cmap and advances.
struct Type {
    font: Font,
    face: FontRef<'static>,
}

impl Type {
    fn new() -> Result<Self> {
        let font = Font::new(FONT.into(), 0).ok_or(SheetError::Font)?;
        let face = FontRef::new(FONT).map_err(|_| SheetError::Font)?;
        Ok(Type { font, face })
    }

    /// Glyphs for `text`, one per character (the sheets need no shaping: CJK and Latin), and
    /// the width in em. A character the font lacks is its .notdef box.
    fn glyphs(&self, text: &str) -> (Vec<KrillaGlyph>, f32) {
        let metrics = self
            .face
            .glyph_metrics(Size::unscaled(), LocationRef::default());
        let upem = f32::from(
            self.face
                .metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        let charmap = self.face.charmap();
        let mut width = 0.0;
        let glyphs = text
            .char_indices()
            .map(|(i, ch)| {
                let gid = charmap.map(ch).unwrap_or(skrifa::GlyphId::NOTDEF);
                let advance = metrics.advance_width(gid).unwrap_or(0.0) / upem;
                width += advance;
                KrillaGlyph::new(
                    GlyphId::new(gid.to_u32()),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    i..i + ch.len_utf8(),
                    None,
                )
            })
            .collect();
        (glyphs, width)
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        self.glyphs(text).1 * size
    }

    /// The size at most `size` at which `text` fits `max` points.
    fn fit(&self, text: &str, size: f32, max: f32) -> f32 {
        let w = self.width(text, size);
        if w > max {
            size * max / w
        } else {
            size
        }
    }

    /// Draws one line with its baseline at `y`.
    fn text(&self, s: &mut Surface<'_>, x: f32, y: f32, size: f32, text: &str, align: Align) {
        if text.is_empty() {
            return;
        }
        let (glyphs, w) = self.glyphs(text);
        let x = match align {
            Align::Left => x,
            Align::Center => x - w * size / 2.0,
        };
        // Solid black glyphs whatever a frame or rule left set.
        s.set_fill(Some(Fill::default()));
        s.set_stroke(None);
        s.draw_glyphs(
            Point::from_xy(x, y),
            &glyphs,
            self.font.clone(),
            text,
            size,
            false,
        );
    }
}

/// The bars of `code` at module width `module`, from (x, y), `height` high.
fn draw_bars(s: &mut Surface<'_>, bars: &[bool], x: f32, y: f32, module: f32, height: f32) {
    let mut pb = PathBuilder::new();
    let mut i = 0;
    while i < bars.len() {
        if !bars[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < bars.len() && bars[i] {
            i += 1;
        }
        if let Some(r) = Rect::from_xywh(
            x + start as f32 * module,
            y,
            (i - start) as f32 * module,
            height,
        ) {
            pb.push_rect(r);
        }
    }
    if let Some(path) = pb.finish() {
        s.set_fill(Some(Fill::default()));
        s.set_stroke(None);
        s.draw_path(&path);
    }
}

fn bars_for(code: &str) -> Result<Vec<bool>> {
    let c = Code128::encode(code).map_err(|source| SheetError::Barcode {
        code: code.to_string(),
        source,
    })?;
    code128::bars(&c.data).ok_or_else(|| SheetError::NoBars(code.to_string()))
}

fn line(s: &mut Surface<'_>, x0: f32, y0: f32, x1: f32, y1: f32, width: f32, grey: u8) {
    let mut pb = PathBuilder::new();
    pb.move_to(x0, y0);
    pb.line_to(x1, y1);
    if let Some(path) = pb.finish() {
        s.set_fill(None);
        s.set_stroke(Some(Stroke {
            paint: luma::Color::new(grey).into(),
            width,
            ..Default::default()
        }));
        s.draw_path(&path);
    }
}

/// A document titled for the PDF reader's window and file list.
fn document(title: &str) -> Document {
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .creator("packbench".to_string()),
    );
    doc
}

fn page(doc: &mut Document) -> Result<krilla::page::Page<'_>> {
    let settings = PageSettings::from_wh(A4.0, A4.1).ok_or(SheetError::PageSize)?;
    Ok(doc.start_page_with(settings))
}

/// Widest module for a barcode on the sheet: 0.5 mm where there is room, never below what
/// a handheld scanner reads from 30 cm (0.33 mm) unless the code is long enough to need it.
const MODULE_MAX: f32 = 0.5;
const MODULE_MIN: f32 = 0.33;
/// Quiet zone each side of the bars.
const QUIET: f32 = 5.0;
const BAR_HEIGHT: f32 = 15.0;

pub fn command_sheet(title: Text, sections: &[Section]) -> Result<Vec<u8>> {
    let t = Type::new()?;
    let margin = 15.0;
    let full = 210.0 - 2.0 * margin;
    let gap = 8.0;
    let col = (full - gap) / 2.0;
    let item_h = BAR_HEIGHT + 20.0;
    let bottom = 297.0 - margin;

    // Lay out first (mm), then draw page by page.
    enum Op {
        Heading(f32, String),
        Item {
            x: f32,
            y: f32,
            w: f32,
            bars: Vec<bool>,
            item: usize,
            section: usize,
        },
    }
    let mut pages: Vec<Vec<Op>> = vec![Vec::new()];
    let mut y = margin + 22.0;
    for (si, section) in sections.iter().enumerate() {
        if y + 10.0 + item_h > bottom {
            pages.push(Vec::new());
            y = margin;
        }
        let heading = section.title.to_string();
        pages
            .last_mut()
            .expect("a page")
            .push(Op::Heading(y, heading));
        y += 10.0;
        let mut x_col = 0; // 0: left column free, 1: right column free
        for (ii, item) in section.items.iter().enumerate() {
            let bars = bars_for(&item.code)?;
            let half = (col - 2.0 * QUIET) / bars.len() as f32 >= MODULE_MIN;
            if !half && x_col == 1 {
                x_col = 0;
                y += item_h;
            }
            if y + item_h > bottom {
                pages.push(Vec::new());
                y = margin;
                x_col = 0;
            }
            let (x, w) = if half {
                (margin + x_col as f32 * (col + gap), col)
            } else {
                (margin, full)
            };
            pages.last_mut().expect("a page").push(Op::Item {
                x,
                y,
                w,
                bars,
                item: ii,
                section: si,
            });
            if half && x_col == 0 {
                x_col = 1;
            } else {
                x_col = 0;
                y += item_h;
            }
        }
        if x_col == 1 {
            y += item_h;
        }
        y += 4.0;
    }

    let mut doc = document(&title.to_string());
    let count = pages.len();
    for (pi, ops) in pages.into_iter().enumerate() {
        let mut page = page(&mut doc)?;
        let mut s = page.surface();
        if pi == 0 {
            t.text(
                &mut s,
                mm(margin),
                mm(margin + 8.0),
                20.0,
                &title.to_string(),
                Align::Left,
            );
            t.text(
                &mut s,
                mm(margin),
                mm(margin + 15.0),
                9.0,
                &text!("sheet.footer").to_string(),
                Align::Left,
            );
        }
        if count > 1 {
            t.text(
                &mut s,
                mm(105.0),
                mm(297.0 - 8.0),
                8.0,
                &format!("{} / {count}", pi + 1),
                Align::Center,
            );
        }
        for op in ops {
            match op {
                Op::Heading(y, text) => {
                    t.text(&mut s, mm(margin), mm(y + 6.0), 13.0, &text, Align::Left);
                    line(
                        &mut s,
                        mm(margin),
                        mm(y + 8.0),
                        mm(margin + full),
                        mm(y + 8.0),
                        0.6,
                        0,
                    );
                }
                Op::Item {
                    x,
                    y,
                    w,
                    bars,
                    item,
                    section,
                } => {
                    let it = &sections[section].items[item];
                    let module = ((w - 2.0 * QUIET) / bars.len() as f32).min(MODULE_MAX);
                    let bw = module * bars.len() as f32;
                    let cx = x + w / 2.0;
                    draw_bars(
                        &mut s,
                        &bars,
                        mm(cx - bw / 2.0),
                        mm(y),
                        mm(module),
                        mm(BAR_HEIGHT),
                    );
                    let maxw = mm(w - 2.0);
                    let code_size = t.fit(&it.code, 10.0, maxw);
                    t.text(
                        &mut s,
                        mm(cx),
                        mm(y + BAR_HEIGHT + 4.5),
                        code_size,
                        &it.code,
                        Align::Center,
                    );
                    let en = t.fit(it.meaning.en, 10.0, maxw);
                    t.text(
                        &mut s,
                        mm(cx),
                        mm(y + BAR_HEIGHT + 9.5),
                        en,
                        it.meaning.en,
                        Align::Center,
                    );
                    let zh = t.fit(it.meaning.zh, 10.0, maxw);
                    t.text(
                        &mut s,
                        mm(cx),
                        mm(y + BAR_HEIGHT + 14.5),
                        zh,
                        it.meaning.zh,
                        Align::Center,
                    );
                }
            }
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| SheetError::Pdf(format!("{e:?}")))
}

/// ISO/IEC 7810 ID-1, the credit-card size.
const CARD: (f32, f32) = (85.6, 53.98);
const CARDS_ACROSS: usize = 2;
const CARDS_DOWN: usize = 5;

pub fn badges(badges: &[Badge]) -> Result<Vec<u8>> {
    let t = Type::new()?;
    let per_page = CARDS_ACROSS * CARDS_DOWN;
    let x0 = (210.0 - CARDS_ACROSS as f32 * CARD.0) / 2.0;
    let y0 = (297.0 - CARDS_DOWN as f32 * CARD.1) / 2.0;
    let mut doc = document(&text!("badge.title").to_string());
    for chunk in badges.chunks(per_page) {
        let mut page = page(&mut doc)?;
        let mut s = page.surface();
        let rows = chunk.len().div_ceil(CARDS_ACROSS);
        let cols = chunk.len().min(CARDS_ACROSS);
        cut_marks(&mut s, x0, y0, cols, rows);
        for (i, b) in chunk.iter().enumerate() {
            let x = x0 + (i % CARDS_ACROSS) as f32 * CARD.0;
            let y = y0 + (i / CARDS_ACROSS) as f32 * CARD.1;
            badge(&mut s, &t, b, x, y)?;
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| SheetError::Pdf(format!("{e:?}")))
}

/// Marks outside the grid on every cutting line, so the cards are cut on a guillotine
/// without lines on the cards themselves.
fn cut_marks(s: &mut Surface<'_>, x0: f32, y0: f32, cols: usize, rows: usize) {
    let (w, h) = (cols as f32 * CARD.0, rows as f32 * CARD.1);
    for c in 0..=cols {
        let x = x0 + c as f32 * CARD.0;
        line(s, mm(x), mm(y0 - 9.0), mm(x), mm(y0 - 2.0), 0.4, 0);
        line(s, mm(x), mm(y0 + h + 2.0), mm(x), mm(y0 + h + 9.0), 0.4, 0);
    }
    for r in 0..=rows {
        let y = y0 + r as f32 * CARD.1;
        line(s, mm(x0 - 9.0), mm(y), mm(x0 - 2.0), mm(y), 0.4, 0);
        line(s, mm(x0 + w + 2.0), mm(y), mm(x0 + w + 9.0), mm(y), 0.4, 0);
    }
}

fn badge(s: &mut Surface<'_>, t: &Type, b: &Badge, x: f32, y: f32) -> Result<()> {
    let pad = 4.0;
    let inner = CARD.0 - 2.0 * pad;
    // A faint frame shows the card before it is cut; the cut marks are what to cut on.
    let mut pb = PathBuilder::new();
    if let Some(r) = Rect::from_xywh(mm(x), mm(y), mm(CARD.0), mm(CARD.1)) {
        pb.push_rect(r);
    }
    if let Some(path) = pb.finish() {
        s.set_fill(None);
        s.set_stroke(Some(Stroke {
            paint: luma::Color::new(210).into(),
            width: 0.3,
            ..Default::default()
        }));
        s.draw_path(&path);
    }
    t.text(
        s,
        mm(x + pad),
        mm(y + pad + 3.0),
        7.0,
        "packbench",
        Align::Left,
    );
    let size = t.fit(&b.name, 16.0, mm(inner));
    t.text(
        s,
        mm(x + pad),
        mm(y + pad + 10.5),
        size,
        &b.name,
        Align::Left,
    );
    t.text(s, mm(x + pad), mm(y + pad + 16.0), 10.0, &b.id, Align::Left);
    let roles = format!("{} / {}", b.roles.en, b.roles.zh);
    let rsize = t.fit(&roles, 9.0, mm(inner));
    t.text(
        s,
        mm(x + pad),
        mm(y + pad + 21.0),
        rsize,
        &roles,
        Align::Left,
    );
    let bars = bars_for(&b.code)?;
    let module = ((inner - 2.0) / bars.len() as f32).min(0.4);
    let bw = module * bars.len() as f32;
    let cx = x + CARD.0 / 2.0;
    draw_bars(
        s,
        &bars,
        mm(cx - bw / 2.0),
        mm(y + 29.0),
        mm(module),
        mm(14.0),
    );
    t.text(s, mm(cx), mm(y + 47.5), 8.0, &b.code, Align::Center);
    Ok(())
}
