//! Label bytes: barcodes, QR, Chinese mode, fallback, sanitizing, wrapping, preview.

use packbench_drivers::label::{
    build_label, label_to_text, text, tokenize, CaptionLanguage, Code128, LabelData, LabelLine,
    PaperWidth, Token,
};

fn sample() -> LabelData {
    LabelData {
        order_no: "SO-2024-0042".into(),
        waybill_no: "SF1234567890".into(),
        carrier: "SF Express".into(),
        recipient: "Alice Martin".into(),
        country: "FR".into(),
        address: "12 Rue de la Paix, Appartement 4B, 75002 Paris".into(),
        lines: vec![
            LabelLine {
                sku: "TSHIRT-BLK-M".into(),
                name: "T-shirt black M".into(),
                qty: 2,
                gift: false,
            },
            LabelLine {
                sku: "MUG-01".into(),
                name: "Ceramic mug".into(),
                qty: 1,
                gift: false,
            },
            LabelLine {
                sku: "STICKER".into(),
                name: "Sticker pack".into(),
                qty: 1,
                gift: true,
            },
        ],
        buyer_note: "Please leave at the door".into(),
        picker: "P07 Wang".into(),
        packer: "K02 Li".into(),
        weight_grams: Some(1234),
        bench: "B-03".into(),
        time: "2024-05-01 14:32".into(),
        reprint: None,
        paper: PaperWidth::Mm80,
        chinese: false,
        language: CaptionLanguage::English,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

#[test]
fn code128_bytes_set_b_and_set_c() {
    let b = Code128::encode("AB-12{x").unwrap();
    assert_eq!(
        b.command(),
        [
            &[0x1D, b'k', 73, 10][..],
            b"{BAB-12{{x", // `{` escaped as `{{`
        ]
        .concat()
    );
    let c = Code128::encode("0123456789").unwrap();
    assert_eq!(
        c.command(),
        vec![0x1D, b'k', 73, 7, b'{', b'C', 1, 23, 45, 67, 89]
    );
    // The label carries the same commands, after height, width and HRI settings.
    let mut d = sample();
    d.order_no = "0123456789".into();
    let bytes = build_label(&d);
    let at = find(&bytes, &c.command()).expect("order barcode in label");
    // GS h 80, GS w n, GS H 2, GS f 0 immediately before it.
    let pre = &bytes[at - 12..at];
    assert_eq!(&pre[..3], &[0x1D, b'h', 80]);
    assert_eq!(&pre[3..5], &[0x1D, b'w']);
    assert_eq!(&pre[6..], &[0x1D, b'H', 2, 0x1D, b'f', 0]);
    let waybill = Code128::encode("SF1234567890").unwrap();
    assert_eq!(
        waybill.data,
        vec![b'{', b'B', b'S', b'F', b'{', b'C', 12, 34, 56, 78, 90]
    );
    assert!(find(&bytes, &waybill.command()).is_some());
}

#[test]
fn barcode_module_width_fits_paper() {
    let mut d = sample();
    d.waybill_no = "ABCDEFGHIJKLMNOPQR".into(); // 18 set-B symbols: 253 modules with quiet zones
    for (paper, want) in [(PaperWidth::Mm80, 2u8), (PaperWidth::Mm58, 1u8)] {
        d.paper = paper;
        let bytes = build_label(&d);
        let code = Code128::encode(&d.waybill_no).unwrap();
        let at = find(&bytes, &code.command()).unwrap();
        assert_eq!(&bytes[at - 9..at - 6], &[0x1D, b'w', want], "{paper:?}");
        assert!(code.modules() * usize::from(want) <= paper.dots());
    }
    // Too long for any width: printed as text, no barcode command for it.
    d.waybill_no = "W".repeat(60);
    let bytes = build_label(&d);
    assert_eq!(count(&bytes, &[0x1D, b'k', 73]), 1);
    assert!(label_to_text(&bytes).contains(&d.waybill_no[..32]));
}

#[test]
fn qr_command_bytes() {
    let bytes = build_label(&sample());
    let data = b"SO-2024-0042";
    let store_len = (data.len() + 3) as u8;
    let expected = [
        &[0x1D, b'(', b'k', 4, 0, 49, 65, 50, 0][..], // model 2
        &[0x1D, b'(', b'k', 3, 0, 49, 67, 6],         // module size 6 dots
        &[0x1D, b'(', b'k', 3, 0, 49, 69, 49],        // error correction M
        &[0x1D, b'(', b'k', store_len, 0, 49, 80, 48],
        data,
        &[0x1D, b'(', b'k', 3, 0, 49, 81, 48], // print
    ]
    .concat();
    assert!(find(&bytes, &expected).is_some(), "QR sequence missing");
    let mut d = sample();
    d.paper = PaperWidth::Mm58;
    let small = build_label(&d);
    assert!(find(&small, &[0x1D, b'(', b'k', 3, 0, 49, 67, 5]).is_some());
}

#[test]
fn starts_with_init_ends_with_cut() {
    let bytes = build_label(&sample());
    assert_eq!(&bytes[..2], &[0x1B, b'@']);
    assert_eq!(&bytes[bytes.len() - 4..], &[0x1D, b'V', b'A', 0]);
    assert!(find(&bytes, &[0x1B, b'd', 3]).is_some(), "feed before cut");
}

#[test]
fn chinese_text_is_gb18030_inside_fs_and() {
    let mut d = sample();
    d.chinese = true;
    d.language = CaptionLanguage::SimplifiedChinese;
    d.recipient = "张三".into();
    d.lines[2].gift = true;
    let bytes = build_label(&d);
    // "收件人: 张三" in GB18030, in Chinese mode.
    let mut want = vec![0x1C, b'&'];
    want.extend_from_slice(&[0xCA, 0xD5, 0xBC, 0xFE, 0xC8, 0xCB]); // 收件人
    want.extend_from_slice(b": ");
    want.extend_from_slice(&[0xD5, 0xC5, 0xC8, 0xFD]); // 张三
    want.extend_from_slice(&[0x1C, b'.', b'\n']);
    assert!(find(&bytes, &want).is_some(), "GB18030 recipient line");
    // Gift mark in Chinese: 赠品 = D4 F9 C6 B7.
    assert!(find(&bytes, &[0xD4, 0xF9, 0xC6, 0xB7]).is_some());
    let preview = label_to_text(&bytes);
    assert!(preview.contains("收件人: 张三"), "{preview}");
    assert!(preview.contains("订单号"));
    assert!(preview.contains("[赠品]"));
    // Every FS & is closed by FS . before the line ends.
    let toks = tokenize(&bytes);
    let mut on = false;
    for t in &toks {
        match t {
            Token::ChineseOn => on = true,
            Token::ChineseOff => on = false,
            Token::LineFeed => assert!(!on, "Chinese mode left on across a line"),
            _ => {}
        }
    }
}

#[test]
fn fallback_without_chinese_mode() {
    let mut d = sample();
    d.chinese = false;
    d.language = CaptionLanguage::SimplifiedChinese; // cannot print: English captions
    d.recipient = "张三 Müller".into();
    d.buyer_note = "谢谢！".into();
    let bytes = build_label(&d);
    assert!(find(&bytes, &[0x1C, b'&']).is_none(), "no Chinese mode");
    for t in tokenize(&bytes) {
        if let Token::Text(t) = t {
            assert!(t.iter().all(|&b| (0x20..0x7F).contains(&b)), "{t:?}");
        }
    }
    let preview = label_to_text(&bytes);
    assert!(preview.contains("Recipient: ?? Muller"), "{preview}");
    assert!(preview.contains("Buyer note: ??!"), "{preview}");
    assert!(preview.contains("Order"));
}

#[test]
fn control_bytes_in_outside_text_are_neutralised() {
    let mut d = sample();
    d.buyer_note = "hi\x1b@\x1dVA\x00 there\x10\x04\x02\x1c&\x7f\u{9b}end".into();
    d.recipient = "\x1b@Bob\x1dV\x01".into();
    d.lines[0].name = "shirt\x1b!\x30big".into();
    d.picker = "\x1dk\x49\x05evil".into();
    for chinese in [false, true] {
        d.chinese = chinese;
        let bytes = build_label(&d);
        let toks = tokenize(&bytes);
        assert!(
            !toks.iter().any(|t| matches!(t, Token::Unknown(_))),
            "unknown control bytes: {toks:?}"
        );
        let inits = toks.iter().filter(|t| matches!(t, Token::Init)).count();
        let cuts = toks.iter().filter(|t| matches!(t, Token::Cut)).count();
        let barcodes = toks
            .iter()
            .filter(|t| matches!(t, Token::Barcode { .. }))
            .count();
        assert_eq!((inits, cuts, barcodes), (1, 1, 2));
        assert!(matches!(toks[0], Token::Init));
        assert!(matches!(toks.last(), Some(Token::Cut)));
        // No status request or Chinese-mode switch smuggled in.
        assert!(!toks.iter().any(|t| matches!(t, Token::Command([0x10, ..]))));
        assert!(!toks.iter().any(|t| matches!(t, Token::ChineseOn)) || chinese);
        let preview = label_to_text(&bytes);
        assert!(preview.contains("hi@VA there&end"), "{preview}");
        assert!(preview.contains("Recipient: @BobV"), "{preview}");
        assert!(preview.contains("shirt!0big"), "{preview}");
    }
}

fn preview_widths(d: &LabelData) -> Vec<(usize, String)> {
    label_to_text(&build_label(d))
        .lines()
        .map(|l| (text::text_width(l), l.to_owned()))
        .collect()
}

#[test]
fn wraps_to_58_and_80_mm() {
    let mut d = sample();
    d.address = "Building 7, Long Industrial Park Road 1288, Pudong New District, Shanghai 201203, extra-long-unbreakable-token-abcdefghijklmnopqrstuvwxyz0123456789".into();
    d.buyer_note = "请在工作日送货，谢谢！如果不在家请放在门口的快递柜里面。".into();
    d.chinese = true;
    for (paper, cols) in [(PaperWidth::Mm58, 32usize), (PaperWidth::Mm80, 48usize)] {
        d.paper = paper;
        let lines = preview_widths(&d);
        let text_lines: Vec<_> = lines
            .iter()
            .filter(|(_, l)| !l.starts_with("[barcode") && !l.starts_with("[QR"))
            .collect();
        for (w, l) in &text_lines {
            assert!(*w <= cols, "{paper:?}: {w} > {cols}: {l:?}");
        }
        let widest = text_lines
            .iter()
            .filter(|(_, l)| !l.chars().all(|c| c == '-'))
            .map(|(w, _)| *w)
            .max()
            .unwrap();
        assert!(widest > cols - 6, "{paper:?}: lines too short ({widest})");
        // Continuation lines of the address are indented.
        let i = lines
            .iter()
            .position(|(_, l)| l.starts_with("Address: "))
            .unwrap();
        assert!(lines[i + 1].1.starts_with("  "), "{:?}", lines[i + 1]);
        // CJK note wraps by double width and keeps all its characters.
        let note: String = lines
            .iter()
            .map(|(_, l)| l.trim_start())
            .collect::<Vec<_>>()
            .concat();
        assert!(note.contains("请在工作日送货，谢谢！如果不在家请放在门口的快递柜里面。"));
    }
}

#[test]
fn preview_shows_the_label() {
    let mut d = sample();
    d.reprint = Some(2);
    let p = label_to_text(&build_label(&d));
    for want in [
        "*** REPRINT #2 ***",
        "SF Express",
        "Waybill",
        "[barcode SF1234567890]",
        "Order",
        "[barcode SO-2024-0042]",
        "Recipient: Alice Martin",
        "Country: FR",
        "Items (3 / 4)",
        "  2 x TSHIRT-BLK-M T-shirt black M",
        "  1 x STICKER Sticker pack [Gift]",
        "Buyer note: Please leave at the door",
        "Picker: P07 Wang",
        "Packer: K02 Li",
        "Weight: 1234 g",
        "Bench: B-03",
        "Time: 2024-05-01 14:32",
        "[QR SO-2024-0042]",
        "--- cut ---",
    ] {
        assert!(p.contains(want), "missing {want:?} in\n{p}");
    }
    let mut d = sample();
    d.weight_grams = None;
    d.buyer_note.clear();
    let p = label_to_text(&build_label(&d));
    assert!(p.contains("Weight: -"));
    assert!(!p.contains("Buyer note"));
}

#[test]
fn preview_of_foreign_bytes_does_not_panic() {
    let junk: Vec<u8> = (0..=255u8).chain([0x1D, b'(', b'k', 200, 1]).collect();
    let _ = label_to_text(&junk);
    let _ = tokenize(&[0x1D, b'k', 73, 50, b'{']);
}

/// A 3-line order's label at 80 mm, English and Chinese: the same bytes every time, every
/// byte a command the tokenizer knows or text, both barcodes and the QR code in it, and of
/// about the size BENCHMARKS.md figures its wire time on. Its build time is a bench figure, not a test:
/// `cargo bench --bench devices -- label`.
#[test]
fn a_three_line_label_is_well_formed_and_of_its_size() {
    for chinese in [false, true] {
        let mut d = sample();
        d.chinese = chinese;
        if chinese {
            d.language = CaptionLanguage::SimplifiedChinese;
            d.recipient = "张三".into();
            d.address = "上海市浦东新区世纪大道100号 25楼".into();
            d.buyer_note = "请轻放，谢谢".into();
        }
        let bytes = build_label(&d);
        assert_eq!(
            build_label(&d),
            bytes,
            "chinese={chinese}: built twice, same bytes"
        );
        // About 700 bytes: BENCHMARKS.md's 9600-baud wire time (804 ms) is figured on a
        // label of this size; a label far off it has lost or doubled a part.
        assert!(
            (600..=1000).contains(&bytes.len()),
            "chinese={chinese}: {} bytes",
            bytes.len()
        );
        let toks = tokenize(&bytes);
        let unknown: Vec<_> = toks
            .iter()
            .filter(|t| matches!(t, Token::Unknown(_)))
            .collect();
        assert!(unknown.is_empty(), "chinese={chinese}: {unknown:?}");
        assert_eq!(toks.first(), Some(&Token::Init));
        assert_eq!(toks.last(), Some(&Token::Cut));
        let barcodes: Vec<&[u8]> = toks
            .iter()
            .filter_map(|t| match t {
                Token::Barcode { data, .. } => Some(*data),
                _ => None,
            })
            .collect();
        assert_eq!(barcodes.len(), 2, "waybill and order: {barcodes:?}");
        assert_eq!(
            toks.iter().filter(|t| matches!(t, Token::QrPrint)).count(),
            1
        );
        let preview = label_to_text(&bytes);
        assert!(preview.contains("[barcode SF1234567890]"), "{preview}");
        assert!(preview.contains("[QR SO-2024-0042]"), "{preview}");
        if chinese {
            assert!(preview.contains("张三"), "{preview}");
        }
        if std::env::var_os("LABEL_PREVIEW").is_some() {
            println!("{preview}");
        }
    }
}

#[test]
fn fields_of_only_invisible_characters_count_as_empty() {
    // Found by the label_build fuzz target: a carrier of a zero-width space, or a buyer note
    // of a NUL, printed an empty heading; the label must not depend on what sanitizing drops.
    for (carrier, note) in [("\u{200b}", ""), ("", "\u{0}"), ("\u{1b}", " \u{7}")] {
        let mut dirty = sample();
        dirty.carrier = carrier.into();
        dirty.buyer_note = note.into();
        let mut clean = sample();
        clean.carrier = String::new();
        clean.buyer_note = String::new();
        assert_eq!(
            build_label(&dirty),
            build_label(&clean),
            "{carrier:?} {note:?}"
        );
    }
}
