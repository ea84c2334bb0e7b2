//! Imports: all or nothing, errors that name the line and column, Excel's BOM and CRLF.

mod common;

use std::path::Path;

use common::*;
use packbench::import::{import_file, ImportFileError, Kind, ReadOptions};
use packbench::store::{EventLog, ReferenceData, SqliteStore};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn import(
    s: &mut SqliteStore,
    kind: Kind,
    p: &Path,
) -> Result<packbench::store::ImportReport, String> {
    import_file(
        s,
        kind,
        p,
        &ReadOptions::default(),
        "TEST",
        t(0),
        &mut |_| {},
    )
    .map_err(|e| e.to_string())
}

fn event_count(s: &SqliteStore) -> i64 {
    s.verify(None).unwrap().events
}

const CAT_HEAD: &str = "sku,name,barcodes,unit_weight_g,weight_tolerance_g,attributes\n";

#[test]
fn fixtures_import_and_reimport_changes_nothing() {
    let mut s = store_with_fixtures();
    let before = event_count(&s);
    // The data set, and the same orders in their JSON form.
    let json = (Kind::Orders, fixture("orders.json"));
    for (kind, f) in data_set(None).into_iter().chain([json]) {
        let r = import(&mut s, kind, &f).unwrap();
        let f = f.display();
        assert_eq!((r.added, r.changed, r.cancelled), (0, 0, 0), "{f}: {r:?}");
        assert_eq!(r.unchanged, r.rows, "{f}");
    }
    assert_eq!(event_count(&s), before, "a re-import must not even log");
}

#[test]
fn json_form_imports() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    import(&mut s, Kind::Catalog, &fixtures().join("catalog.csv")).unwrap();
    let r = import(&mut s, Kind::Orders, &fixtures().join("orders.json")).unwrap();
    assert_eq!(r.added, 3);
    let o = s.find_order(ORDER1).unwrap().unwrap();
    assert_eq!(o.lines.len(), 2);
    assert_eq!(o.lines[1].qty, 2);
}

#[test]
fn a_barcode_with_a_wrong_check_digit_is_refused_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    // 4006381333931 is right; ...932 is one digit off. Internal codes have no check digit.
    let p = write(
        dir.path(),
        "cat.csv",
        &format!(
            "{CAT_HEAD}A,Apple,4006381333931|INT-7,100,,\nB,Banana,INT-8|4006381333932,90,,\n"
        ),
    );
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(
        e.ends_with("cat.csv: line 3, column barcodes: barcode 4006381333932 has a wrong check digit (a typo in the number?)"),
        "{e}"
    );
    assert!(s.load_catalog().unwrap().is_empty());
    // A GS1 string with a bad GTIN too.
    let p = write(
        dir.path(),
        "cat2.csv",
        &format!("{CAT_HEAD}A,Apple,(01)04006381333932*6,100,,\n"),
    );
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(e.contains("line 2, column barcodes"), "{e}");
}

#[test]
fn bad_row_names_file_line_and_column_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    let p = write(
        dir.path(),
        "cat.csv",
        &format!("{CAT_HEAD}A,Apple,4006381333931,100,,\nB,Banana,,abc,,\nC,Cherry,,5,,\n"),
    );
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(e.ends_with("cat.csv: line 3, column unit_weight_g: \"abc\" is not a weight in grams (a number of 0 or more)"), "{e}");
    assert!(s.load_catalog().unwrap().is_empty());
    assert_eq!(event_count(&s), 0);
}

#[test]
fn quoted_multiline_field_still_names_the_right_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    let p = write(
        dir.path(),
        "cat.csv",
        &format!("{CAT_HEAD}A,\"two\nline name\",,100,,\nB,ok,,-5,,\n"),
    );
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(e.contains("line 4, column unit_weight_g"), "{e}");
    // Lone CR line ends (old Mac exports): found by the fuzzer too.
    let p = write(
        dir.path(),
        "cr.csv",
        "sku,name,barcodes,unit_weight_g\rA,x,,1\rA,y,,1\r",
    );
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(
        e.ends_with("cr.csv: line 3, column sku: A already appears on line 2"),
        "{e}"
    );
}

#[test]
fn crlf_and_bom_from_excel() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    let text = format!(
        "\u{feff}{}A,纯棉T恤 Cotton,4006381333931|ABC*6,185.5,2,colour=蓝;size=L\r\nB,袜子,,40,,\r\n",
        CAT_HEAD.replace('\n', "\r\n")
    );
    let p = write(dir.path(), "excel.csv", &text);
    let r = import(&mut s, Kind::Catalog, &p).unwrap();
    assert_eq!(r.added, 2);
    let cat = s.load_catalog().unwrap();
    let a = cat
        .iter()
        .find(|x| x.sku == "A")
        .expect("first column read despite the BOM");
    assert_eq!(a.name, "纯棉T恤 Cotton");
    assert_eq!(a.unit_weight_g, 185.5);
    assert_eq!(a.weight_tolerance_g, Some(2.0));
    assert_eq!(a.barcodes[1].units, 6);
    assert_eq!(
        a.attributes,
        vec![("colour".into(), "蓝".into()), ("size".into(), "L".into())]
    );
    assert!(cat.iter().any(|x| x.sku == "B" && x.attributes.is_empty()));
}

#[test]
fn missing_column_and_ragged_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    let p = write(dir.path(), "c.csv", "sku,name,unit_weight_g\nA,a,1\n");
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(
        e.contains("line 1: required column \"barcodes\" is missing"),
        "{e}"
    );
    let p = write(
        dir.path(),
        "c.csv",
        &format!("{CAT_HEAD}A,a,,1,,\nB,b,,1\n"),
    );
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(
        e.contains("line 3: has 4 fields but the header has 6"),
        "{e}"
    );
}

#[test]
fn catalog_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    let cases = [
        (
            "A,a,X,1,,\nA,b,Y,1,,\n",
            "line 3, column sku: A already appears on line 2",
        ),
        (
            "A,a,X,1,,\nB,b,X,1,,\n",
            "line 3, column barcodes: barcode X already belongs to A",
        ),
        // The same product in UPC-A and EAN-13 form is one barcode.
        (
            "A,a,036000291452,1,,\nB,b,0036000291452,1,,\n",
            "line 3, column barcodes: barcode 0036000291452 already belongs to A",
        ),
        (
            "A,a,X*0,1,,\n",
            "line 2, column barcodes: pack size in \"X*0\" must be at least 1",
        ),
        (
            "A,a,X*z,1,,\n",
            "line 2, column barcodes: pack size in \"X*z\" is not a whole number",
        ),
        (
            "A,a,X,1,,colour\n",
            "line 2, column attributes: attribute \"colour\" is not key=value",
        ),
        (",a,X,1,,\n", "line 2, column sku: is empty"),
    ];
    for (rows, want) in cases {
        let p = write(dir.path(), "c.csv", &format!("{CAT_HEAD}{rows}"));
        let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
        assert!(e.contains(want), "want {want:?}, got {e:?}");
    }
    // A barcode already stored for another SKU is refused too.
    let p = write(dir.path(), "c.csv", &format!("{CAT_HEAD}A,a,X,1,,\n"));
    import(&mut s, Kind::Catalog, &p).unwrap();
    let p = write(dir.path(), "d.csv", &format!("{CAT_HEAD}B,b,X,1,,\n"));
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(
        e.contains("already belongs to A (the stored catalog)"),
        "{e}"
    );
}

const ORD_HEAD: &str =
    "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty,picker_id,gift,status\n";

#[test]
fn order_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store_with_fixtures();
    let before = event_count(&s);
    let cases = [
        (
            "N1,W1,SF,a,CN,x,,NOPE,1,,,\n",
            "line 2, column sku: NOPE is not in the catalog",
        ),
        (
            "N1,W1,SF,a,CN,x,,T-BLU-L,0,,,\n",
            "line 2, column qty: \"0\" is not a whole number of at least 1",
        ),
        (
            "N1,W1,SF,a,CN,x,,T-BLU-L,2.5,,,\n",
            "line 2, column qty: \"2.5\" is not a whole number of at least 1",
        ),
        (
            "N1,W1,SF,a,CN,x,,T-BLU-L,1.50,,,\n",
            "line 2, column qty: \"1.50\" is not a whole number of at least 1",
        ),
        (
            "N1,W1,SF,a,CN,x,,T-BLU-L,0.0,,,\n",
            "line 2, column qty: \"0.0\" is not a whole number of at least 1",
        ),
        (
            "N1,W1,SF,a,CN,x,,T-BLU-L,1,,maybe,\n",
            "line 2, column gift",
        ),
        (
            "N1,W1,SF,a,CN,x,,T-BLU-L,1,,,shipped\n",
            "line 2, column status",
        ),
        (
            "N1,W1,SF,a,CN,x,,T-BLU-L,1,,,\nN1,W1,SF,b,CN,x,,SOCK-BLK,1,,,\n",
            "line 3, column recipient: differs from line 2 of the same order N1",
        ),
        (
            "N1,W1,SF,a,CN,x,,T-BLU-L,1,,,\nN2,W1,SF,b,CN,x,,SOCK-BLK,1,,,\n",
            "line 3, column waybill_no: waybill W1 is already used by order N1",
        ),
    ];
    for (rows, want) in cases {
        let p = write(dir.path(), "o.csv", &format!("{ORD_HEAD}{rows}"));
        let e = import(&mut s, Kind::Orders, &p).unwrap_err();
        assert!(e.contains(want), "want {want:?}, got {e:?}");
    }
    assert_eq!(event_count(&s), before);
    assert!(s.find_order("N1").unwrap().is_none());
}

#[test]
fn a_quantity_saved_as_a_float_is_its_whole_number() {
    // Excel saving a sheet whose qty cells are numbers writes "1.0" or "2.00" to the CSV,
    // as a spreadsheet's 1.0 cell is read as 1.
    let dir = tempfile::tempdir().unwrap();
    let mut s = store_with_fixtures();
    let p = write(
        dir.path(),
        "o.csv",
        &format!("{ORD_HEAD}N1,W1,SF,a,CN,x,,T-BLU-L,1.0,,,\nN1,W1,SF,a,CN,x,,SOCK-BLK,2.00,,,\n"),
    );
    import(&mut s, Kind::Orders, &p).unwrap();
    let o = s.find_order("N1").unwrap().unwrap();
    let qty: Vec<u32> = o.lines.iter().map(|l| l.qty).collect();
    assert_eq!(qty, [1, 2]);
}

#[test]
fn hostile_text_is_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store_with_fixtures();
    let note = "\"; DROP TABLE events; -- <script>alert(1)</script> \u{1b}@\u{1d}V";
    let p = write(
        dir.path(),
        "o.csv",
        &format!(
            "{ORD_HEAD}N1,W1,SF,\"Bobby \"\"Tables\"\"\",CN,x,\"{}\",T-BLU-L,1,,,\n",
            note.replace('"', "\"\"")
        ),
    );
    import(&mut s, Kind::Orders, &p).unwrap();
    let o = s.find_order("W1").unwrap().unwrap();
    assert_eq!(o.buyer_note, note);
    assert_eq!(o.recipient, "Bobby \"Tables\"");
    assert_eq!(s.verify(None).unwrap().error, None);
}

#[test]
fn changed_and_cancelled_orders_are_marked_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store_with_fixtures();
    let p = write(
        dir.path(),
        "o.csv",
        &format!("{ORD_HEAD}N1,W1,SF,a,CN,x,,T-BLU-L,1,,,\n"),
    );
    assert_eq!(import(&mut s, Kind::Orders, &p).unwrap().added, 1);
    let v1 = s.order_now("N1").unwrap().unwrap().version;
    let p = write(
        dir.path(),
        "o.csv",
        &format!("{ORD_HEAD}N1,W1,SF,a,CN,x,,T-BLU-L,2,,,\n"),
    );
    let r = import(&mut s, Kind::Orders, &p).unwrap();
    assert_eq!(r.changed, 1);
    let v2 = s.order_now("N1").unwrap().unwrap().version;
    assert_ne!(v1, v2);
    let changed = s
        .events(&packbench::store::EventFilter {
            order_no: Some("N1".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(
        changed[0].kind,
        packbench::domain::event::EventType::OrderChanged
    );
    let p = write(
        dir.path(),
        "o.csv",
        &format!("{ORD_HEAD}N1,W1,SF,a,CN,x,,T-BLU-L,2,,,cancelled\n"),
    );
    assert_eq!(import(&mut s, Kind::Orders, &p).unwrap().cancelled, 1);
    assert!(s.order_now("N1").unwrap().unwrap().cancelled);
    // An older export without the status does not bring it back.
    let p = write(
        dir.path(),
        "o.csv",
        &format!("{ORD_HEAD}N1,W1,SF,a,CN,x,,T-BLU-L,2,,,\n"),
    );
    let r = import(&mut s, Kind::Orders, &p).unwrap();
    assert_eq!(r.unchanged, 1);
    assert!(s.order_now("N1").unwrap().unwrap().cancelled);
}

#[test]
fn employees_and_packaging_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    let p = write(
        dir.path(),
        "e.csv",
        "id,name,roles,badge\nE1,a,picker|boss,B1\n",
    );
    let e = import(&mut s, Kind::Employees, &p).unwrap_err();
    assert!(
        e.contains("line 2, column roles: unknown role \"boss\""),
        "{e}"
    );
    let p = write(
        dir.path(),
        "e.csv",
        "id,name,roles,badge\nE1,a,picker,B1\nE2,b,packer,B1\n",
    );
    let e = import(&mut s, Kind::Employees, &p).unwrap_err();
    assert!(
        e.contains("line 3, column badge: badge B1 is already on line 2"),
        "{e}"
    );
    let p = write(dir.path(), "p.csv", "code,name,tare_g\nBOX,box,-1\n");
    let e = import(&mut s, Kind::Packaging, &p).unwrap_err();
    assert!(e.contains("line 2, column tare_g"), "{e}");
}

#[test]
fn json_errors_name_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store_with_fixtures();
    let p = write(
        dir.path(),
        "o.json",
        r#"[{"order_no":"N1","waybill_no":"W1","carrier":"SF","recipient":"a","country":"CN","address":"x","buyer_note":"","sku":"T-BLU-L","qty":1},
            {"order_no":"N2","waybill_no":"W2","carrier":"SF","recipient":"a","country":"CN","address":"x","buyer_note":"","sku":"T-BLU-L","qty":"many"}]"#,
    );
    let e = import(&mut s, Kind::Orders, &p).unwrap_err();
    assert!(e.contains("record 2, field qty"), "{e}");
    let p = write(dir.path(), "o.json", "[{\"order_no\": 1,");
    let e = import(&mut s, Kind::Orders, &p).unwrap_err();
    assert!(e.contains("is not valid JSON"), "{e}");
}

#[test]
fn neither_utf8_nor_gb18030_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    let p = dir.path().join("binary.csv");
    // 0xFF starts no character in UTF-8 or in GB18030. (GBK text, as an old Excel saves
    // it, is read as GB18030: tests/import_shops.rs.)
    let mut bytes = CAT_HEAD.as_bytes().to_vec();
    bytes.extend_from_slice(b"A,\xb4\xbf\xc3\xde,,1,,\nB,\xff\xfe,,1,,\n");
    std::fs::write(&p, bytes).unwrap();
    let e = import_file(
        &mut s,
        Kind::Catalog,
        &p,
        &ReadOptions::default(),
        "T",
        t(0),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(e, ImportFileError::Row(_)));
    assert!(
        e.to_string()
            .ends_with("binary.csv: line 3: is not UTF-8 text, nor GB18030 (save the file as UTF-8 / CSV UTF-8)"),
        "{e}"
    );
    // Forced UTF-8 names the first line that is not.
    let utf8 = ReadOptions {
        encoding: Some(packbench::import::TextEncoding::Utf8),
        ..Default::default()
    };
    let e = import_file(&mut s, Kind::Catalog, &p, &utf8, "T", t(0), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("line 2: is not UTF-8 text"), "{e}");
    assert!(s.load_catalog().unwrap().is_empty());
}

#[test]
fn crlf_errors_name_the_right_line() {
    // Found by the import_csv fuzz target: with CRLF line ends the line was one short.
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    let p = write(
        dir.path(),
        "crlf.csv",
        "sku,name,barcodes,unit_weight_g\r\nA,x,,1\r\nA,y,,1\r\n",
    );
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(
        e.ends_with("crlf.csv: line 3, column sku: A already appears on line 2"),
        "{e}"
    );
    let p = write(
        dir.path(),
        "crlf2.csv",
        "sku,name,barcodes,unit_weight_g\r\nA,\"multi\r\nline\",,1\r\nB,y,,x\r\n",
    );
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(e.contains("line 4, column unit_weight_g"), "{e}");
    // Lone CR line ends (old Mac exports): found by the fuzzer too.
    let p = write(
        dir.path(),
        "cr.csv",
        "sku,name,barcodes,unit_weight_g\rA,x,,1\rA,y,,1\r",
    );
    let e = import(&mut s, Kind::Catalog, &p).unwrap_err();
    assert!(
        e.ends_with("cr.csv: line 3, column sku: A already appears on line 2"),
        "{e}"
    );
}

#[test]
fn a_text_encoding_error_names_the_line_with_any_line_end() {
    // Found by the import_sheets fuzz target (finding import_sheets-1): a byte that is not
    // text was named on the line counted by LF only, so with lone CR line ends (old Mac
    // exports, which the CSV reader reads as lines) it was "line 1" whatever its line.
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    for (name, bytes) in [
        (
            "cr.csv",
            &b"sku,name,barcodes,unit_weight_g\rA,x,,1\r\xff,y,,1\r"[..],
        ),
        (
            "crlf.csv",
            b"sku,name,barcodes,unit_weight_g\r\nA,x,,1\r\n\xff,y,,1\r\n",
        ),
        (
            "lf.csv",
            b"sku,name,barcodes,unit_weight_g\nA,x,,1\n\xff,y,,1\n",
        ),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        for encoding in [None, Some(packbench::import::TextEncoding::Utf8)] {
            let opts = ReadOptions {
                encoding,
                ..ReadOptions::default()
            };
            let e = import_file(&mut s, Kind::Catalog, &p, &opts, "TEST", t(0), &mut |_| {})
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("{name}: line 3: is not UTF-8")), "{e}");
        }
    }
    assert!(s.load_catalog().unwrap().is_empty(), "nothing imported");
}

/// Everything written through `tracing` while `f` runs on this thread (the import's warnings).
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let w = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    let out = tracing::subscriber::with_default(sub, f);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (out, text)
}

/// A NUL is the one character PostgreSQL text cannot hold: every format's reader turns it into
/// U+FFFD, once, with a warning naming the place, and keeps every other control character.
#[test]
fn a_nul_in_text_is_stored_as_a_replacement_character_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let note = "请放\0门口\0 \u{1}\u{7}\u{1b}[2J\t end";
    let stored = "请放\u{FFFD}门口\u{FFFD} \u{1}\u{7}\u{1b}[2J\t end";
    let csv = write(
        dir.path(),
        "o.csv",
        &format!(
            "{ORD_HEAD}N1,W1,SF,\"李\0娜\",CN,x,\"{note}\",T-BLU-L,1,,,\nN1,W1,SF,\"李\0娜\",CN,x,\"{note}\",SOCK-BLK,2,,,\n"
        ),
    );
    let json = write(
        dir.path(),
        "o.json",
        &serde_json::json!([
            {"order_no": "N1", "waybill_no": "W1", "carrier": "SF", "recipient": "李\0娜",
             "country": "CN", "address": "x", "buyer_note": note, "sku": "T-BLU-L", "qty": 1},
            {"order_no": "N1", "waybill_no": "W1", "carrier": "SF", "recipient": "李\0娜",
             "country": "CN", "address": "x", "buyer_note": note, "sku": "SOCK-BLK", "qty": 2},
        ])
        .to_string(),
    );
    let xlsx = dir.path().join("o.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (i, h) in ORD_HEAD.trim_end().split(',').enumerate() {
        sheet.write_string(0, i as u16, h).unwrap();
    }
    for (r, sku) in [(1u32, ("T-BLU-L", 1.0)), (2, ("SOCK-BLK", 2.0))] {
        for (c, v) in ["N1", "W1", "SF", "李\0娜", "CN", "x", note, sku.0]
            .iter()
            .enumerate()
        {
            // The writer saves a NUL as Excel does, `_x0000_`; the reader turns it back.
            sheet.write_string(r, c as u16, *v).unwrap();
        }
        sheet.write_number(r, 8, sku.1).unwrap();
    }
    book.save(&xlsx).unwrap();

    for (file, place) in [
        (
            &csv,
            ["line 2, column buyer_note", "line 2, column recipient"],
        ),
        (
            &json,
            ["record 1, field buyer_note", "record 1, field recipient"],
        ),
        (
            &xlsx,
            [
                "sheet Sheet1, cell G2, column buyer_note",
                "sheet Sheet1, cell D2, column recipient",
            ],
        ),
    ] {
        let mut s = store_with_fixtures();
        let (r, log) = logged(|| import(&mut s, Kind::Orders, file));
        r.unwrap();
        let o = s.find_order("W1").unwrap().unwrap();
        assert_eq!(o.buyer_note, stored, "{}", file.display());
        assert_eq!(o.recipient, "李\u{FFFD}娜", "{}", file.display());
        // Once per field: two NULs in one note are one warning; both rows' fields are named.
        let warned: Vec<&str> = log.lines().filter(|l| l.contains("NUL")).collect();
        assert_eq!(warned.len(), 4, "{log}");
        for p in place {
            let want = format!(
                "{}: {p}: a NUL byte in the text is stored as U+FFFD",
                file.display()
            );
            assert!(log.contains(&want), "{want} in {log}");
        }
        assert!(log.contains("WARN"), "{log}");
        // The same file again changes nothing: what is compared is what was stored.
        let before = event_count(&s);
        let again = import(&mut s, Kind::Orders, file).unwrap();
        assert_eq!((again.added, again.changed), (0, 0), "{}", file.display());
        assert_eq!(event_count(&s), before);
    }
}

#[test]
fn many_nul_fields_are_named_up_to_twenty_then_counted() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (1..=25)
        .map(|i| format!("N{i},W{i},SF,a,CN,x,\"n\0\",T-BLU-L,1,,,\n"))
        .collect();
    let p = write(dir.path(), "o.csv", &format!("{ORD_HEAD}{rows}"));
    let mut s = store_with_fixtures();
    let (r, log) = logged(|| import(&mut s, Kind::Orders, &p));
    r.unwrap();
    assert_eq!(
        log.lines().filter(|l| l.contains("a NUL byte")).count(),
        20,
        "{log}"
    );
    assert!(
        log.contains("NUL bytes stored as U+FFFD in 25 fields (5 more than named above)"),
        "{log}"
    );
    assert_eq!(
        s.find_order("W25").unwrap().unwrap().buyer_note,
        "n\u{FFFD}"
    );
}
