use super::*;
use proptest::prelude::*;

const GTIN: &str = "06901234567892";

#[test]
fn known_check_digits() {
    assert_eq!(gtin_check_digit("400638133393"), Some(1));
    assert_eq!(gtin_check_digit("03600029145"), Some(2));
    assert_eq!(gtin_check_digit("9638507"), Some(4));
    assert_eq!(gtin_check_digit("0690123456789"), Some(2));
    // Sum divisible by 10 gives 0, not 10.
    assert_eq!(gtin_check_digit("1234567"), Some(0));
    // SSCC data (17 digits) works too.
    assert_eq!(gtin_check_digit("00012345600001234"), Some(3));
    assert_eq!(gtin_check_digit(""), None);
    assert_eq!(gtin_check_digit("12a4"), None);
    assert_eq!(gtin_check_digit("１２３"), None);
}

#[test]
fn valid_gtins() {
    for code in ["4006381333931", "036000291452", "96385074", GTIN] {
        assert!(is_valid_gtin(code), "{code}");
    }
    // Wrong check digit, wrong length, non-digits.
    for code in [
        "4006381333932",
        "3600029145",
        "123456789",
        "96385O74",
        "",
        "é6385074",
    ] {
        assert!(!is_valid_gtin(code), "{code}");
    }
}

#[test]
fn one_product_one_key() {
    let want = "00036000291452";
    for code in [
        "036000291452",
        "0036000291452",
        "00036000291452",
        "]E00036000291452",
        "(01)00036000291452",
        "0100036000291452",
        "]C10100036000291452",
        "  036000291452\r\n",
        "036000291452\t",
    ] {
        let p = parse(code);
        assert_eq!(p.key, want, "{code:?}");
        assert!(!p.check_digit_error, "{code:?}");
    }
    assert_eq!(catalog_key("036000291452"), catalog_key("00036000291452"));
    assert_eq!(catalog_key("96385074"), "00000096385074");
    assert_eq!(catalog_key("4006381333931"), "04006381333931");
}

#[test]
fn bad_check_digit_flagged() {
    for code in [
        "4006381333932",
        "036000291453",
        "96385075",
        "00036000291453",
    ] {
        let p = parse(code);
        assert!(p.check_digit_error, "{code}");
        assert_eq!(p.key, code);
        assert!(p.gs1.is_none());
    }
    // Digits of other lengths are ordinary internal codes, not misreads.
    let p = parse("1234567890");
    assert!(!p.check_digit_error);
    assert_eq!(p.key, "1234567890");
}

#[test]
fn aim_stripped() {
    let cases = [
        ("]E04006381333931", "]E0", "4006381333931", "04006381333931"),
        ("]E496385074", "]E4", "96385074", "00000096385074"),
        ("]C0SKU-001", "]C0", "SKU-001", "SKU-001"),
        ("]A0T-BLU-L", "]A0", "T-BLU-L", "T-BLU-L"),
        ("]Q1hello", "]Q1", "hello", "hello"),
        ("]C1", "]C1", "", ""),
    ];
    for (input, aim, text, key) in cases {
        let p = parse(input);
        assert_eq!(p.aim.as_deref(), Some(aim), "{input}");
        assert_eq!(p.text, text, "{input}");
        assert_eq!(p.key, key, "{input}");
    }
    // Not the AIM pattern: left alone.
    for input in ["]", "]C", "]1A", "]C-1", "]Cé", "x]C1"] {
        let p = parse(input);
        assert_eq!(p.aim, None, "{input}");
        assert_eq!(p.text, input);
        assert_eq!(p.key, input);
    }
}

#[test]
fn a_lone_aim_prefix_is_blank() {
    for code in ["]C1", "]C1\x1d", "]E0\x1e\x04", ""] {
        assert!(is_blank(code), "{code:?}");
    }
    for code in ["]C1X", "]12", "]C", " ]C1", "A"] {
        assert!(!is_blank(code), "{code:?}");
    }
}

#[test]
fn gs1_128_with_separators() {
    let p = parse("]C1010690123456789210LOT42\x1d21SER7\x1d17261231\r\n");
    assert_eq!(p.aim.as_deref(), Some("]C1"));
    assert_eq!(p.text, "010690123456789210LOT42\x1d21SER7\x1d17261231");
    let g = p.gs1.expect("gs1");
    assert_eq!(g.gtin.as_deref(), Some(GTIN));
    assert_eq!(g.lot.as_deref(), Some("LOT42"));
    assert_eq!(g.serial.as_deref(), Some("SER7"));
    assert_eq!(g.expiry.as_deref(), Some("261231"));
    assert_eq!(
        g.elements,
        vec![
            ("01".into(), GTIN.into()),
            ("10".into(), "LOT42".into()),
            ("21".into(), "SER7".into()),
            ("17".into(), "261231".into()),
        ]
    );
    assert_eq!(p.key, GTIN);
    assert!(!p.check_digit_error);
}

#[test]
fn gs1_other_symbologies_weights_and_leading_gs() {
    // DataMatrix with a leading FNC1-as-GS, a weight AI and a fixed field followed by GS.
    let p = parse("]d2\x1d01069012345678923103001250\x1d17261231\x1d10A1");
    let g = p.gs1.expect("gs1");
    assert_eq!(g.gtin.as_deref(), Some(GTIN));
    assert_eq!(g.elements[1], ("3103".into(), "001250".into()));
    assert_eq!(g.expiry.as_deref(), Some("261231"));
    assert_eq!(g.lot.as_deref(), Some("A1"));
    // QR, DataBar: same parsing.
    for aim in ["]Q3", "]e0", "]J1"] {
        let p = parse(&format!("{aim}01{GTIN}"));
        assert_eq!(p.key, GTIN, "{aim}");
    }
    // SSCC only: GS1, but no GTIN, so the text is the key.
    let p = parse("]C100000123456000012343\x1d400PO-77\x1d422276");
    let g = p.gs1.expect("gs1");
    assert_eq!(g.gtin, None);
    assert_eq!(
        g.elements,
        vec![
            ("00".into(), "000123456000012343".into()),
            ("400".into(), "PO-77".into()),
            ("422".into(), "276".into()),
        ]
    );
    assert_eq!(p.key, p.text);
    assert!(!p.check_digit_error);
}

#[test]
fn gs1_bad_gtin_check_digit() {
    let p = parse("]C10106901234567893\x1d10LOT");
    let g = p.gs1.expect("gs1");
    assert_eq!(g.gtin, None);
    assert_eq!(g.lot.as_deref(), Some("LOT"));
    assert!(p.check_digit_error);
    assert_eq!(p.key, "0106901234567893\x1d10LOT");
    // Without an AIM a bad check digit means it is not taken for GS1 at all.
    let p = parse("0106901234567893");
    assert!(p.gs1.is_none());
    assert_eq!(p.key, "0106901234567893");
}

#[test]
fn human_readable_form() {
    let p = parse("(01)06901234567892(10)LOT1(21) S/N (2)(17)261231");
    assert_eq!(p.aim, None);
    let g = p.gs1.expect("gs1");
    assert_eq!(g.gtin.as_deref(), Some(GTIN));
    assert_eq!(g.lot.as_deref(), Some("LOT1"));
    // A bracket that does not hold 2-4 digits is part of the value.
    assert_eq!(g.serial.as_deref(), Some("S/N (2)"));
    assert_eq!(g.expiry.as_deref(), Some("261231"));
    assert_eq!(p.key, GTIN);
    // Spaces between elements, and an AIM in front, are fine.
    assert_eq!(catalog_key("]C1(01) 06901234567892 (10) X"), GTIN);
    // A bracketed string whose first AI is unknown is not GS1.
    let p = parse("(04)123");
    assert!(p.gs1.is_none());
    assert_eq!(p.key, "(04)123");
    // Wrong length for a fixed field stops parsing there.
    let g = parse("(01)06901234567892(17)2612").gs1.expect("gs1");
    assert_eq!(g.elements.len(), 1);
}

#[test]
fn sscc_check_digits_and_real_dates() {
    // SSCC 00012345600001234 + check 3 is right; ...4 is not: not taken for GS1.
    assert!(parse("]C100000123456000012343").gs1.is_some());
    assert!(parse("]C100000123456000012344").gs1.is_none());
    // AI 17: a real day of a real month; 00 is "end of month".
    for (date, ok) in [
        ("261231", true),
        ("260200", true),
        ("240229", true),
        ("250229", false),
        ("260230", false),
        ("260431", false),
        ("261301", false),
        ("260132", false),
    ] {
        let g = parse(&format!("(01)06901234567892(17){date}"))
            .gs1
            .expect("gs1");
        assert_eq!(g.expiry.is_some(), ok, "{date}");
    }
}

#[test]
fn ai_02_without_aim() {
    // 02 (contained trade item) + 37 (count), FNC1-free because 37 ends the string.
    let p = parse("02100036000291403724");
    let g = p.gs1.expect("gs1");
    assert_eq!(g.gtin.as_deref(), Some("10003600029140"));
    assert_eq!(g.elements[1], ("37".into(), "24".into()));
    assert_eq!(p.key, "10003600029140");
    // Exactly 16 chars.
    assert_eq!(catalog_key("0210003600029140"), "10003600029140");
    // A following GS with nothing after it is harmless.
    assert_eq!(catalog_key("\x1d0210003600029140\x1d"), "10003600029140");
}

#[test]
fn unknown_ai_keeps_what_was_parsed() {
    let p = parse("]C10106901234567892\x1d10LOT9\x1d04XYZ\x1d21S");
    let g = p.gs1.expect("gs1");
    assert_eq!(
        g.elements,
        vec![("01".into(), GTIN.into()), ("10".into(), "LOT9".into())]
    );
    assert_eq!(g.serial, None);
    assert_eq!(p.key, GTIN);
    // Without an AIM, 01+GTIN followed by junk is not taken for GS1.
    let p = parse("0106901234567892XYZ");
    assert!(p.gs1.is_none());
    assert_eq!(p.key, "0106901234567892XYZ");
    // Over-long variable field stops parsing before it.
    let long = "L".repeat(21);
    let g = parse(&format!("]C101{GTIN}10{long}")).gs1.expect("gs1");
    assert_eq!(g.elements.len(), 1);
    // Invalid date stops parsing.
    let g = parse(&format!("]C101{GTIN}17261331")).gs1.expect("gs1");
    assert_eq!(g.expiry, None);
    // GS1 AIM but nothing parseable: plain text.
    let p = parse("]C1ABC");
    assert!(p.gs1.is_none());
    assert_eq!(p.key, "ABC");
}

#[test]
fn non_gs1_text_kept() {
    for code in ["SKU-001", "T-BLU-L", "SO-2024-000123", "BADGE 7", "Größe-M"] {
        let p = parse(code);
        assert_eq!(p.text, code);
        assert!(!p.check_digit_error);
        assert!(p.gs1.is_none());
        assert_eq!(p.key, code);
    }
    // Code 128 without FNC1 is not GS1 even when it looks like it.
    let p = parse("]C00106901234567892");
    assert!(p.gs1.is_none());
    assert_eq!(p.key, "0106901234567892");
    assert_eq!(parse("").key, "");
    assert_eq!(parse(" \r\n").text, "");
}

#[test]
fn upc_e() {
    // ]E0 with 8 digits is UPC-E: expanded to UPC-A 042100005264.
    let p = parse("]E004252614");
    assert_eq!(p.key, "00042100005264");
    assert!(!p.check_digit_error);
    // Without an AIM the same digits are not a valid EAN-8, so UPC-E is tried.
    assert_eq!(catalog_key("04252614"), "00042100005264");
    // 01234565 is valid as EAN-8 and as UPC-E: EAN-8 unless the AIM says UPC-E.
    assert_eq!(catalog_key("01234565"), "00000001234565");
    assert_eq!(catalog_key("]E001234565"), "00012345000065");
    // ]E4 is EAN-8 only.
    let p = parse("]E404252614");
    assert!(p.check_digit_error);
    assert_eq!(p.key, "04252614");
    // All four expansion rules.
    assert_eq!(upce_to_upca("01234565").as_deref(), Some("012345000065"));
    assert_eq!(upce_to_upca("04252614").as_deref(), Some("042100005264"));
    assert_eq!(upce_to_upca("01234535").as_deref(), Some("012300000455"));
    assert_eq!(upce_to_upca("01234545").as_deref(), Some("012340000055"));
    assert_eq!(upce_to_upca("21234565"), None);
}

proptest! {
    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let p = parse(&s);
        // The key is either a GTIN-14 or the text itself.
        prop_assert!(p.key == p.text || (p.key.len() == 14 && is_valid_gtin(&p.key)));
    }

    #[test]
    fn parse_never_panics_on_code_like_input(
        s in "[\\]()0-9\u{1d}A-Za-zé€ \r\n]{0,60}"
    ) {
        let p = parse(&s);
        prop_assert!(p.key == p.text || (p.key.len() == 14 && is_valid_gtin(&p.key)));
        if let Some(g) = &p.gs1 {
            prop_assert!(!g.elements.is_empty());
        }
    }

    #[test]
    fn gs1_prefix_survives_any_tail(
        tail in "[\\]()0-9\u{1d}A-Za-zé€]{0,60}",
        bracketed in any::<bool>(),
    ) {
        // A valid 01 element first must always be kept, whatever follows it.
        let code = if bracketed {
            format!("(01){GTIN}(10){tail}")
        } else {
            format!("]C101{GTIN}{tail}")
        };
        let p = parse(&code);
        prop_assert_eq!(p.key, GTIN);
    }

    #[test]
    fn every_valid_gtin_pads_to_its_gtin14(data in "[0-9]{7}|[0-9]{11}|[0-9]{12}|[0-9]{13}") {
        let check = gtin_check_digit(&data).unwrap();
        let code = format!("{data}{check}");
        prop_assert_eq!(catalog_key(&code), format!("{code:0>14}"));
    }
}
