//! build_label with arbitrary LabelData (every string untrusted; layout at `label`).
//!
//! Properties, checked with the crate's own `tokenize` / `label_to_text` / `Code128` helpers:
//! - never panics;
//! - the byte stream tokenizes with no `Unknown` control byte, starts with `ESC @` and ends
//!   with the cut, with exactly one of each, and every command is one the builder itself
//!   writes (allow-list below): no command bytes from the data (ESC/GS/FS/DLE) survive;
//! - `FS &` only when `chinese`, always closed by `FS .` before a line feed; outside Chinese
//!   mode text runs are printable ASCII; inside they are valid GB18030 of ASCII or two-byte
//!   codes only;
//! - the two CODE128 barcodes carry exactly the sanitized waybill / order number (HRI decoded
//!   back with `code128::decode_data`), and are present exactly when `Code128` can encode
//!   them within the paper width; the QR holds the sanitized order number when 1..=512 bytes;
//! - every preview text line fits the paper's columns;
//! - sanitizing every string before building changes nothing (data can only influence the
//!   label through what `text::for_printer` lets through).
#![no_main]

use encoding_rs::GB18030;
use libfuzzer_sys::fuzz_target;
use packbench_drivers::label::code128::decode_data;
use packbench_drivers::label::{
    build_label, label_to_text, tokenize, CaptionLanguage, Code128, LabelData, LabelLine,
    PaperWidth, Token,
};
use packbench_drivers::text;

/// Input layout (readable seeds): `[flags] [weight: u32 LE] [reprint: u8]` then text fields
/// separated by 0xFF, a byte that never occurs in UTF-8 (fields are decoded lossily):
/// order_no, waybill_no, carrier, recipient, country, address, buyer_note, picker, packer,
/// bench, time, then (sku, name, qty) triples for up to 8 lines; qty is decimal, a leading
/// `g` marks a gift. Flags: bit 0 58 mm paper, bit 1 Chinese mode, bit 2 Chinese captions,
/// bit 3 weight present, bit 4 reprint present.
fn label(data: &[u8]) -> LabelData {
    let flags = data.first().copied().unwrap_or(0);
    let num = |r: std::ops::Range<usize>| {
        data.get(r).map_or(0, |b| {
            b.iter().rev().fold(0u32, |a, &x| a << 8 | u32::from(x))
        })
    };
    let weight = num(1..5);
    let reprint = num(5..6);
    let rest = data.get(6..).unwrap_or(&[]);
    let fields: Vec<String> = rest
        .split(|&b| b == 0xFF)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let f = |i: usize| fields.get(i).cloned().unwrap_or_default();
    let lines = fields
        .get(11..)
        .unwrap_or(&[])
        .chunks(3)
        .take(8)
        .map(|c| {
            let qty = c.get(2).map_or("", String::as_str);
            let gift = qty.starts_with('g');
            let qty = qty.trim_start_matches('g');
            LabelLine {
                sku: c[0].clone(),
                name: c.get(1).cloned().unwrap_or_default(),
                qty: qty.parse().unwrap_or(qty.len() as u32),
                gift,
            }
        })
        .collect();
    LabelData {
        order_no: f(0),
        waybill_no: f(1),
        carrier: f(2),
        recipient: f(3),
        country: f(4),
        address: f(5),
        buyer_note: f(6),
        picker: f(7),
        packer: f(8),
        bench: f(9),
        time: f(10),
        lines,
        weight_grams: (flags & 8 != 0).then_some(weight),
        reprint: (flags & 16 != 0).then_some(reprint),
        paper: if flags & 1 != 0 {
            PaperWidth::Mm58
        } else {
            PaperWidth::Mm80
        },
        chinese: flags & 2 != 0,
        language: if flags & 4 != 0 {
            CaptionLanguage::SimplifiedChinese
        } else {
            CaptionLanguage::English
        },
    }
}

/// Every string field passed through `text::for_printer`.
fn sanitized(d: &LabelData) -> LabelData {
    let s = |x: &str| text::for_printer(x);
    LabelData {
        order_no: s(&d.order_no),
        waybill_no: s(&d.waybill_no),
        carrier: s(&d.carrier),
        recipient: s(&d.recipient),
        country: s(&d.country),
        address: s(&d.address),
        lines: d
            .lines
            .iter()
            .map(|l| LabelLine {
                sku: s(&l.sku),
                name: s(&l.name),
                ..l.clone()
            })
            .collect(),
        buyer_note: s(&d.buyer_note),
        picker: s(&d.picker),
        packer: s(&d.packer),
        bench: s(&d.bench),
        time: s(&d.time),
        ..d.clone()
    }
}

/// The commands `build_label` writes itself (escpos's and its own), by their bytes.
fn allowed_command(c: &[u8]) -> bool {
    matches!(
        c,
        [0x1B, b'a', 0..=2]          // ESC a n: justify
            | [0x1B, b'E', 0 | 1]    // ESC E n: bold
            | [0x1B, b'd', 1..=3]    // ESC d n: feed lines
            | [0x1D, b'!', _]        // GS ! n: character size
            | [0x1D, b'h', _]        // GS h n: bar height
            | [0x1D, b'w', 1..=3]    // GS w n: module width
            | [0x1D, b'H', 2]        // GS H 2: HRI below
            | [0x1D, b'f', 0]        // GS f 0: HRI font A
            | [0x1D, b'(', b'k', ..] // GS ( k: QR settings
    )
}

fn barcode_expected(value: &str, paper: PaperWidth) -> Option<String> {
    let clean = text::for_printer(value);
    let code = Code128::encode(&clean).ok()?;
    code.module_width_for(paper)?;
    Some(clean)
}

fuzz_target!(|data: &[u8]| {
    let d = label(data);
    let bytes = build_label(&d);
    let toks = tokenize(&bytes);

    // Command structure.
    assert!(
        matches!(toks.first(), Some(Token::Init)),
        "does not start with ESC @"
    );
    assert!(
        matches!(toks.last(), Some(Token::Cut)),
        "does not end with the cut"
    );
    let count = |f: fn(&Token) -> bool| toks.iter().filter(|t| f(t)).count();
    assert_eq!(count(|t| matches!(t, Token::Init)), 1, "ESC @ count");
    assert_eq!(count(|t| matches!(t, Token::Cut)), 1, "cut count");
    let mut chinese_on = false;
    let mut barcodes = Vec::new();
    let mut qr = Vec::new();
    let mut qr_prints = 0;
    for t in &toks {
        match t {
            Token::Unknown(b) => panic!("unknown control byte 0x{b:02X} in label: {toks:?}"),
            Token::Command(c) => assert!(allowed_command(c), "unexpected command {c:02X?}"),
            Token::ChineseOn => {
                assert!(d.chinese, "FS & without chinese");
                assert!(!chinese_on, "FS & twice");
                chinese_on = true;
            }
            Token::ChineseOff => {
                assert!(chinese_on, "FS . without FS &");
                chinese_on = false;
            }
            Token::LineFeed => assert!(!chinese_on, "Chinese mode left on across a line"),
            Token::Text(t) if chinese_on => {
                let s = GB18030
                    .decode_without_bom_handling_and_without_replacement(t)
                    .unwrap_or_else(|| panic!("invalid GB18030 text run {t:02X?}"));
                for c in s.chars() {
                    let mut b = [0u8; 4];
                    let (enc, _, _) = GB18030.encode(c.encode_utf8(&mut b));
                    assert!(enc.len() <= 2, "four-byte GB18030 char {c:?} sent");
                    assert!(!c.is_control(), "control char {c:?} in text");
                }
            }
            Token::Text(t) => assert!(
                t.iter().all(|&b| (0x20..0x7F).contains(&b)),
                "non-ASCII outside Chinese mode: {t:02X?}"
            ),
            Token::Barcode { system, data } => {
                assert_eq!(*system, 73, "not CODE128");
                assert!(
                    !data
                        .windows(2)
                        .any(|w| w[0] == 0x10 && matches!(w[1], 4 | 5 | 0x14)),
                    "real-time command inside barcode data {data:02X?}"
                );
                barcodes.push(decode_data(data));
            }
            Token::QrData(q) => qr.push(q.to_vec()),
            Token::QrPrint => qr_prints += 1,
            Token::Init | Token::Cut => {}
        }
    }
    assert!(!chinese_on, "label ends in Chinese mode");

    // Barcodes and QR carry the sanitized data, exactly when they can.
    let want: Vec<String> = [&d.waybill_no, &d.order_no]
        .into_iter()
        .filter_map(|v| barcode_expected(v, d.paper))
        .collect();
    assert_eq!(barcodes, want, "barcode contents");
    let qr_text = text::for_printer(&d.order_no);
    if !qr_text.is_empty() && qr_text.len() <= 512 {
        assert_eq!(qr, vec![qr_text.into_bytes()], "QR contents");
        assert_eq!(qr_prints, 1);
    } else {
        assert!(qr.is_empty() && qr_prints == 0, "QR for {qr_text:?}");
    }

    // The preview: no control characters, every text line fits the paper.
    let cols = d.paper.columns();
    let preview = label_to_text(&bytes);
    for line in preview.lines() {
        assert!(
            !line.chars().any(char::is_control),
            "control character in preview line {line:?}"
        );
        if line.starts_with("[barcode ") || line.starts_with("[QR ") || line == "--- cut ---" {
            continue;
        }
        assert!(
            packbench_drivers::label::text::text_width(line) <= cols,
            "line wider than {cols} columns: {line:?}"
        );
    }

    // Data reaches the label only through what sanitize lets through (this is what found
    // label_build-1/-2: a carrier or buyer note of only control / invisible characters).
    let again = build_label(&sanitized(&d));
    assert!(
        again == bytes,
        "pre-sanitized data gives another label:\n{preview}\n----\n{}",
        label_to_text(&again)
    );
});
