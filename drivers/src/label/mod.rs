//! ESC/POS shipping label / packing slip.
//!
//! [`build_label`] turns a plain [`LabelData`] (no order types: the app fills it in) into the
//! bytes for a receipt printer: CODE128 waybill and order number with HRI, a QR code of the
//! order number, recipient, address, lines with gift marks, buyer note, picker, packer,
//! weight, bench and time, then feed and cut.
//!
//! Standard commands (init, alignment, emphasis, size, feed, cut, QR) come from the `escpos`
//! crate through an in-memory driver. It has no CODE128 (`GS k 73`), no barcode height / width
//! / HRI setters outside its own barcode builders, and never sends `FS &`, so those few bytes
//! are written here. Text never goes through escpos's encoder: every outside string is
//! made harmless by [`crate::text::for_printer`], mapped to printable characters and encoded
//! by [`text`].
//!
//! Chinese: with `chinese = true` every line holding non-ASCII text is sent as GB18030 between
//! `FS &` and `FS .`, so the printer is back in single-byte mode at each line end whatever
//! happens to a line. With `chinese = false` only printable ASCII is sent (a byte >= 0x80
//! would print as a code-page glyph, or start a double-byte code on a printer whose Chinese
//! mode is on by default): full-width forms and CJK punctuation become their ASCII look-alikes,
//! accents are dropped, anything else becomes `?`, and captions fall back to English.

pub mod code128;
pub mod preview;
pub mod raster;
pub mod text;

use escpos::driver::Driver;
use escpos::errors::Result as EscResult;
use escpos::printer::Printer;
use escpos::utils::{JustifyMode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};
use std::cell::RefCell;

pub use code128::{BarcodeError, Code128};
pub use preview::{label_to_text, tokenize, Token};

/// Paper roll width. Printable width: 58 mm = 384 dots = 32 columns of font A (12 dots);
/// 80 mm = 576 dots = 48 columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaperWidth {
    Mm58,
    #[default]
    Mm80,
}

impl PaperWidth {
    /// Columns of font A.
    pub fn columns(self) -> usize {
        match self {
            PaperWidth::Mm58 => 32,
            PaperWidth::Mm80 => 48,
        }
    }

    /// Printable dots across.
    pub fn dots(self) -> usize {
        match self {
            PaperWidth::Mm58 => 384,
            PaperWidth::Mm80 => 576,
        }
    }

    /// Paper outside the printable width, each side, in dots (58 mm paper is 464 dots wide,
    /// 80 mm paper 640): blank, so it serves as a barcode's quiet zone.
    pub fn margin_dots(self) -> usize {
        match self {
            PaperWidth::Mm58 => 40,
            PaperWidth::Mm80 => 32,
        }
    }
}

/// Language of the fixed captions ("Order", "Gift", …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptionLanguage {
    #[default]
    English,
    SimplifiedChinese,
}

/// One line of the order on the label.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelLine {
    pub sku: String,
    pub name: String,
    pub qty: u32,
    pub gift: bool,
}

/// Everything printed on a label. Plain data: all text is untrusted and is sanitized by
/// [`build_label`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelData {
    pub order_no: String,
    pub waybill_no: String,
    pub carrier: String,
    pub recipient: String,
    pub country: String,
    pub address: String,
    pub lines: Vec<LabelLine>,
    pub buyer_note: String,
    pub picker: String,
    pub packer: String,
    /// Measured parcel weight; `None` prints "-".
    pub weight_grams: Option<u32>,
    /// Bench / station id.
    pub bench: String,
    /// Already formatted by the caller (no clock here).
    pub time: String,
    /// `None` for the original; `Some(n)` for a reprint, `n` being the copy number.
    pub reprint: Option<u32>,
    pub paper: PaperWidth,
    /// The printer has Chinese mode (`FS &`) and a GB18030 font.
    pub chinese: bool,
    /// Caption language. Chinese captions need `chinese = true`; without it they fall back to
    /// English, which the printer can print, rather than rows of `?`.
    pub language: CaptionLanguage,
}

/// Fixed caption texts.
#[derive(Debug, Clone, Copy)]
pub struct Captions {
    pub order: &'static str,
    pub waybill: &'static str,
    pub carrier: &'static str,
    pub recipient: &'static str,
    pub address: &'static str,
    pub country: &'static str,
    pub items: &'static str,
    pub gift: &'static str,
    pub buyer_note: &'static str,
    pub picker: &'static str,
    pub packer: &'static str,
    pub weight: &'static str,
    pub bench: &'static str,
    pub time: &'static str,
    pub reprint: &'static str,
}

impl Captions {
    pub const ENGLISH: Captions = Captions {
        order: "Order",
        waybill: "Waybill",
        carrier: "Carrier",
        recipient: "Recipient",
        address: "Address",
        country: "Country",
        items: "Items",
        gift: "Gift",
        buyer_note: "Buyer note",
        picker: "Picker",
        packer: "Packer",
        weight: "Weight",
        bench: "Bench",
        time: "Time",
        reprint: "REPRINT",
    };

    pub const CHINESE: Captions = Captions {
        order: "订单号",
        waybill: "运单号",
        carrier: "承运商",
        recipient: "收件人",
        address: "地址",
        country: "国家",
        items: "商品",
        gift: "赠品",
        buyer_note: "买家留言",
        picker: "拣货",
        packer: "打包",
        weight: "重量",
        bench: "工位",
        time: "时间",
        reprint: "补打",
    };

    /// Captions for a label: Chinese only when the printer can print it.
    pub fn for_label(language: CaptionLanguage, chinese: bool) -> &'static Captions {
        match (language, chinese) {
            (CaptionLanguage::SimplifiedChinese, true) => &Captions::CHINESE,
            _ => &Captions::ENGLISH,
        }
    }
}

/// `GS H 2`: HRI characters below the bars; `GS f 0`: HRI in font A.
const HRI_BELOW_FONT_A: [u8; 6] = [0x1D, b'H', 2, 0x1D, b'f', 0];
/// QR codes hold at most 7089 bytes; an order number this long is not an order number.
const MAX_QR_BYTES: usize = 512;

/// Builds the label bytes. Never panics and never fails: a barcode that cannot be encoded
/// (non-ASCII, too long, too wide for the paper) is printed as text instead.
pub fn build_label(data: &LabelData) -> Vec<u8> {
    match build(data) {
        Ok(bytes) => bytes,
        // escpos only errs on out-of-range arguments, which `build` never passes; keep the
        // label honest rather than panic if that ever changes.
        Err(e) => {
            let mut out = vec![0x1B, b'@'];
            text::encode_line(&format!("label build failed: {e}"), false, &mut out);
            out.extend_from_slice(&[b'\n', 0x1D, b'V', b'A', 0]);
            out
        }
    }
}

/// Captures what escpos would send to a printer.
#[derive(Default)]
struct MemoryDriver {
    buf: RefCell<Vec<u8>>,
}

impl Driver for MemoryDriver {
    fn name(&self) -> String {
        "memory".to_owned()
    }
    fn write(&self, data: &[u8]) -> EscResult<()> {
        self.buf.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> EscResult<usize> {
        Ok(0)
    }
    fn flush(&self) -> EscResult<()> {
        Ok(())
    }
}

/// Label layout over an escpos printer: our own text encoding, wrapping and barcodes.
struct Layout {
    p: Printer<MemoryDriver>,
    cols: usize,
    paper: PaperWidth,
    chinese: bool,
    /// Narrowest bar worth printing, in dots: a sheet is scanned from a distance, so it
    /// prints a code with 1-dot (0.125 mm) bars as text rather than as bars few scanners read.
    min_module: u8,
}

impl Layout {
    /// Sanitizes, maps, wraps and prints outside text, continuation lines indented.
    fn para(&mut self, text: &str, width: usize, indent: usize) -> EscResult<()> {
        let printable = text::to_printable(&crate::text::for_printer(text), self.chinese);
        for line in text::wrap(&printable, width, indent) {
            let mut bytes = Vec::with_capacity(line.len() + 5);
            text::encode_line(&line, self.chinese, &mut bytes);
            bytes.push(b'\n');
            self.p.custom(&bytes)?;
        }
        Ok(())
    }

    /// "Caption: value" wrapped to the paper.
    fn field(&mut self, caption: &str, value: &str) -> EscResult<()> {
        let cols = self.cols;
        self.para(&format!("{caption}: {value}"), cols, 2)
    }

    fn rule(&mut self) -> EscResult<()> {
        let mut line = "-".repeat(self.cols).into_bytes();
        line.push(b'\n');
        self.p.custom(&line)?;
        Ok(())
    }

    /// Caption line, then a centred CODE128 with HRI below; the bars get the widest module
    /// that fits the paper. Data that cannot be a barcode is printed as text.
    fn barcode(&mut self, caption: &str, value: &str) -> EscResult<()> {
        let clean = crate::text::for_printer(value);
        let cols = self.cols;
        self.para(caption, cols, 0)?;
        let code = Code128::encode(&clean).ok().and_then(|c| {
            let w = c
                .module_width_for(self.paper)
                .filter(|w| *w >= self.min_module)?;
            Some((c, w))
        });
        match code {
            Some((code, width)) => {
                // GS h: bar height in dots (~8 mm on 58 mm paper, 10 mm on 80 mm).
                let height = if self.cols >= 48 { 80 } else { 64 };
                let mut cmd = vec![0x1D, b'h', height, 0x1D, b'w', width];
                cmd.extend_from_slice(&HRI_BELOW_FONT_A);
                cmd.extend_from_slice(&code.command());
                self.p.custom(&cmd)?;
            }
            None => {
                self.p.bold(true)?;
                self.para(&clean, cols, 0)?;
                self.p.bold(false)?;
            }
        }
        self.p.feeds(1)?;
        Ok(())
    }
}

/// A printed list of codes (the bench's command sheet): a title, then sections of codes, each
/// with its meaning above its barcode. All text is untrusted like a label's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeSheet {
    pub title: String,
    pub sections: Vec<CodeSection>,
    pub paper: PaperWidth,
    pub chinese: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeSection {
    pub heading: String,
    /// (code, meaning)
    pub codes: Vec<(String, String)>,
}

/// A code on a printed sheet gets bars at least this many dots wide, or is printed as text.
pub const SHEET_MIN_MODULE: u8 = 2;

/// The bytes of a code sheet, with the label's text handling and barcodes (a code too wide
/// for the paper is printed as text).
pub fn build_code_sheet(sheet: &CodeSheet) -> Vec<u8> {
    match code_sheet(sheet) {
        Ok(bytes) => bytes,
        Err(e) => {
            let mut out = vec![0x1B, b'@'];
            text::encode_line(&format!("sheet build failed: {e}"), false, &mut out);
            out.extend_from_slice(&[b'\n', 0x1D, b'V', b'A', 0]);
            out
        }
    }
}

fn code_sheet(sheet: &CodeSheet) -> EscResult<Vec<u8>> {
    let cols = sheet.paper.columns();
    let mut l = Layout {
        p: Printer::new(MemoryDriver::default(), Protocol::default(), None),
        cols,
        paper: sheet.paper,
        chinese: sheet.chinese,
        min_module: SHEET_MIN_MODULE,
    };
    l.p.init()?;
    l.p.justify(JustifyMode::CENTER)?;
    l.p.bold(true)?.size(2, 2)?;
    l.para(&sheet.title, cols / 2, 0)?;
    l.p.reset_size()?.bold(false)?;
    for section in &sheet.sections {
        l.rule()?;
        l.p.bold(true)?;
        l.para(&section.heading, cols, 0)?;
        l.p.bold(false)?;
        l.p.feeds(1)?;
        for (code, meaning) in &section.codes {
            l.barcode(meaning, code)?;
        }
    }
    l.p.feeds(3)?.cut()?.print()?;
    let Layout { p, .. } = l;
    Ok(p.driver().buf.into_inner())
}

fn build(data: &LabelData) -> EscResult<Vec<u8>> {
    let cap = Captions::for_label(data.language, data.chinese);
    let cols = data.paper.columns();
    let mut l = Layout {
        p: Printer::new(MemoryDriver::default(), Protocol::default(), None),
        cols,
        paper: data.paper,
        chinese: data.chinese,
        // A label's waybill must print whatever its length: the widest bars that fit.
        min_module: 1,
    };

    l.p.init()?;
    l.p.justify(JustifyMode::CENTER)?;
    if let Some(copy) = data.reprint {
        l.p.bold(true)?.size(2, 2)?;
        l.para(&format!("*** {} #{copy} ***", cap.reprint), cols / 2, 0)?;
        l.p.reset_size()?.bold(false)?;
    }
    // Judged on the sanitized text: a field of only control or invisible characters is empty.
    if !crate::text::for_printer(&data.carrier).trim().is_empty() {
        l.p.bold(true)?.size(2, 2)?;
        l.para(&data.carrier, cols / 2, 0)?;
        l.p.reset_size()?.bold(false)?;
    }
    l.barcode(cap.waybill, &data.waybill_no)?;
    l.barcode(cap.order, &data.order_no)?;

    l.p.justify(JustifyMode::LEFT)?;
    l.rule()?;
    l.p.bold(true)?;
    l.field(cap.recipient, &data.recipient)?;
    l.p.bold(false)?;
    l.field(cap.address, &data.address)?;
    l.field(cap.country, &data.country)?;
    l.rule()?;

    let pieces: u64 = data.lines.iter().map(|x| u64::from(x.qty)).sum();
    l.para(
        &format!("{} ({} / {pieces})", cap.items, data.lines.len()),
        cols,
        0,
    )?;
    for line in &data.lines {
        // Quantity first, right-aligned, so a packer's eye runs down one column.
        let gift = if line.gift {
            format!(" [{}]", cap.gift)
        } else {
            String::new()
        };
        let row = format!(
            "{:>3} x {} {}{gift}",
            line.qty,
            crate::text::for_printer(&line.sku),
            crate::text::for_printer(&line.name)
        );
        if line.gift {
            l.p.bold(true)?;
        }
        l.para(&row, cols, 6)?;
        if line.gift {
            l.p.bold(false)?;
        }
    }
    l.rule()?;

    if !crate::text::for_printer(&data.buyer_note).trim().is_empty() {
        l.field(cap.buyer_note, &data.buyer_note)?;
        l.rule()?;
    }

    l.field(cap.picker, &data.picker)?;
    l.field(cap.packer, &data.packer)?;
    let weight = data
        .weight_grams
        .map_or_else(|| "-".to_owned(), |g| format!("{g} g"));
    l.field(cap.weight, &weight)?;
    l.field(cap.bench, &data.bench)?;
    l.field(cap.time, &data.time)?;

    let qr = crate::text::for_printer(&data.order_no);
    if !qr.is_empty() && qr.len() <= MAX_QR_BYTES {
        l.p.feeds(1)?.justify(JustifyMode::CENTER)?;
        // Module size in dots: 6 on 80 mm, 5 on 58 mm; a typical order number is QR version
        // 2 (25 modules), about 19 mm wide.
        let size = if cols >= 48 { 6 } else { 5 };
        let option = QRCodeOption::new(QRCodeModel::Model2, size, QRCodeCorrectionLevel::M);
        l.p.qrcode_option(&qr, option)?;
        l.p.justify(JustifyMode::LEFT)?;
    }

    // Feed past the tear bar, then GS V A 0 (feed to the cutting position and cut).
    l.p.feeds(3)?.cut()?.print()?;
    let Layout { p, .. } = l;
    Ok(p.driver().buf.into_inner())
}
