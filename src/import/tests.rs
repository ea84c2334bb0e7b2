//! The import's unit tests: names, cells and numbers as shop files hold them.

use super::*;

#[test]
fn built_in_names_are_matchable_and_name_real_columns() {
    for kind in Kind::ALL {
        for (name, column) in kind.aliases() {
            assert_eq!(header_key(name), *name, "{name} is not in matching form");
            assert!(kind.column(column).is_some(), "{name} → {column}");
        }
    }
}

#[test]
fn header_keys_ignore_case_spaces_and_full_width_brackets() {
    assert_eq!(header_key(" 单品重量（g） "), "单品重量(g)");
    assert_eq!(header_key("Lineitem  SKU"), "lineitemsku");
}

#[test]
fn column_letters_like_a_spreadsheet() {
    let got: Vec<String> = [0, 2, 25, 26, 27, 701, 702]
        .into_iter()
        .map(column_letters)
        .collect();
    assert_eq!(got, ["A", "C", "Z", "AA", "AB", "ZZ", "AAA"]);
}

#[test]
fn numbers_read_back_as_typed_or_refused() {
    assert_eq!(
        float_text(6901234567890.0, "barcodes").unwrap(),
        "6901234567890"
    );
    assert_eq!(float_text(1.0, "qty").unwrap(), "1");
    // CSV text: a saved number cell's zeros after the point are still the whole number.
    assert_eq!(whole_number("1"), Some(1));
    assert_eq!(whole_number("1.0"), Some(1));
    assert_eq!(whole_number("12.00"), Some(12));
    assert_eq!(whole_number("1.5"), None);
    assert_eq!(whole_number("1."), None);
    assert_eq!(whole_number(".0"), None);
    assert_eq!(whole_number("6.97543E+12"), None);
    assert_eq!(whole_number("1.0.0"), None);
    assert_eq!(float_text(185.5, "unit_weight_g").unwrap(), "185.5");
    // 16 digits in a code: Excel kept only 15.
    assert!(float_text(1234567890123456.0, "waybill_no").is_err());
    assert!(float_text(1234567890123456.0, "unit_weight_g").is_ok());
    assert!(float_text(2f64.powi(60), "qty").is_err());
    assert!(excel_scientific("6.90123E+12"));
    assert!(excel_scientific("7E+12"));
    assert!(
        !excel_scientific("E+12") && !excel_scientific("6.9E12") && !excel_scientific("SKU-E+1")
    );
    assert!(lost_digits_text("barcodes", "ABC*6|6.9E+12*6").is_some());
    assert!(lost_digits_text("name", "6.9E+12").is_none());
}

#[test]
fn stronger_names_win_and_equal_ones_are_an_error() {
    let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let none = HashMap::new();
    // The contract name beats a built-in Chinese one; the other is extra.
    let cols = resolve(Kind::Catalog, &h(&["sku", "商家编码"]), &none).unwrap();
    assert_eq!(cols, [Some("sku"), None]);
    let e = resolve(Kind::Catalog, &h(&["商品编码", "商家编码"]), &none).unwrap_err();
    assert!(e.to_string().contains("both hold sku"), "{e}");
    let map = HashMap::from([("商品编码".to_string(), String::new())]);
    let cols = resolve(Kind::Catalog, &h(&["商品编码", "商家编码"]), &map).unwrap();
    assert_eq!(cols, [None, Some("sku")]);
    assert!(check_map(Kind::Orders, &HashMap::from([("a".into(), "qtty".into())])).is_err());
}

#[test]
fn chinese_values() {
    assert_eq!(roles_field("拣货员、打包员"), "picker|packer");
    assert_eq!(roles_field("主管|packer"), "supervisor|packer");
    assert_eq!(
        attributes_field("颜色:蓝色;尺码：L;a=b:c"),
        "颜色=蓝色;尺码=L;a=b:c"
    );
}

#[test]
fn strict_gb18030() {
    let (bytes, _, bad) = encoding_rs::GB18030.encode("纯棉T恤\n蓝色");
    assert!(!bad);
    assert_eq!(gb18030(&bytes).unwrap(), "纯棉T恤\n蓝色");
    // 0xFF is no GB18030 lead byte: an error at its offset, not a U+FFFD.
    assert_eq!(gb18030(b"ab\n\xff\n"), Err(3));
    let (text, enc) = decode(&bytes, None).unwrap();
    assert_eq!(
        (text.as_ref(), enc),
        ("纯棉T恤\n蓝色", TextEncoding::Gb18030)
    );
    assert!(decode(&bytes, Some(TextEncoding::Utf8)).is_err());
}
