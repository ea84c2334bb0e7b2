//! Imports the way shops export: a GB18030 CSV with CRLF and Chinese column names (Excel's
//! "CSV" on a Chinese Windows PC), an .xlsx written by a spreadsheet library with codes and
//! quantities stored as numbers, and an English shop export read through a column map. The
//! same rows from each give the same database.
//!
//! The files in fixtures/shop-exports/ are made from the tables in tests/shop_tables by the
//! generators here: run with `PACKBENCH_BLESS=1` to write them again after changing the data.
//! The .xls files are made by fixtures/shop-exports/make_xls.py and checked here.

mod common;
mod shop_tables;

use std::path::Path;

use calamine::Reader;
use common::*;
use packbench::import::{import_file, Kind, ReadOptions, TextEncoding};
use packbench::store::{EventLog, ReferenceData, SqliteStore};
use shop_tables::*;

/// A value as a Chinese shop's CSV writes it.
fn zh_value(column: &str, v: &str) -> String {
    match (column, v) {
        ("gift", "1") => "是".into(),
        ("gift", "") => "否".into(),
        ("status", "cancelled") => "已取消".into(),
        ("status", "") => "等待卖家发货".into(),
        ("roles", roles) => roles
            .split('|')
            .map(|r| match r {
                "picker" => "拣货员",
                "packer" => "打包员",
                _ => "主管",
            })
            .collect::<Vec<_>>()
            .join("、"),
        ("attributes", a) => a.replace('=', ":"),
        _ => v.into(),
    }
}

/// Excel's "CSV (逗号分隔)" on a Chinese Windows PC: GB18030 (GBK), CRLF, no BOM.
fn gb18030_csv(t: &Table) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(vec![]);
    let mut header: Vec<&str> = t.columns.iter().map(|c| c.1).collect();
    header.insert(1, t.extra.0);
    w.write_record(&header).unwrap();
    for r in t.rows {
        let mut rec: Vec<String> = t
            .columns
            .iter()
            .zip(r.iter())
            .map(|(c, v)| zh_value(c.0, v))
            .collect();
        rec.insert(1, t.extra.2.into());
        w.write_record(&rec).unwrap();
    }
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "{} must not be UTF-8",
        t.csv
    );
    bytes.into_owned()
}

/// Columns a spreadsheet holds as numbers, the way Excel stores a typed code or quantity.
fn numeric(column: &str, v: &str) -> Option<f64> {
    let code = matches!(column, "barcodes" | "waybill_no");
    let number = matches!(
        column,
        "qty" | "unit_weight_g" | "weight_tolerance_g" | "tare_g"
    );
    if (code && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())) || (number && !v.is_empty())
    {
        Some(v.parse().unwrap())
    } else {
        None
    }
}

/// A workbook with one sheet per table, written by a spreadsheet library: barcodes, waybills
/// and quantities as numbers, gift as TRUE, Chinese status and role names.
fn write_workbook(path: &Path, tables: &[&Table]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    for t in tables {
        let sheet = book.add_worksheet();
        sheet.set_name(t.sheet).unwrap();
        for (j, c) in t.columns.iter().enumerate() {
            sheet.write_string(0, j as u16, c.2).unwrap();
        }
        let extra_col = t.columns.len() as u16;
        sheet.write_string(0, extra_col, t.extra.1).unwrap();
        for (i, r) in t.rows.iter().enumerate() {
            let row = i as u32 + 1;
            for (j, (c, v)) in t.columns.iter().zip(r.iter()).enumerate() {
                let j = j as u16;
                match (c.0, *v) {
                    (_, "") => {}
                    ("gift", "1") => {
                        sheet.write_boolean(row, j, true).unwrap();
                    }
                    ("status", "cancelled") => {
                        sheet.write_string(row, j, "交易关闭").unwrap();
                    }
                    ("roles", roles) => {
                        sheet
                            .write_string(row, j, zh_value("roles", roles).replace('、', "|"))
                            .unwrap();
                    }
                    (name, v) => match numeric(name, v) {
                        Some(x) => {
                            sheet.write_number(row, j, x).unwrap();
                        }
                        None => {
                            sheet.write_string(row, j, v).unwrap();
                        }
                    },
                }
            }
            sheet.write_string(row, extra_col, t.extra.2).unwrap();
        }
    }
    book.save(path).unwrap();
}

/// An English shop export (Shopify's order export columns, plus the tracking, picker and
/// gift columns a fulfilment app adds); order-level columns on every line.
fn shopify_csv() -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "Name",
        "Email",
        "Financial Status",
        "Lineitem quantity",
        "Lineitem name",
        "Lineitem sku",
        "Shipping Name",
        "Shipping Street",
        "Shipping Country",
        "Notes",
        "Tracking Number",
        "Tracking Company",
        "Picked By",
        "Gift Item",
    ])
    .unwrap();
    let c = |r: &[&str], name: &str| r[col(&ORDERS, name)].to_string();
    for r in ORDERS.rows {
        let sku = c(r, "sku");
        let name = CATALOG
            .rows
            .iter()
            .find(|s| s[0] == sku)
            .map(|s| s[1])
            .unwrap();
        w.write_record([
            c(r, "order_no"),
            format!("{}@example.com", c(r, "order_no").to_lowercase()),
            if c(r, "status") == "cancelled" {
                "voided"
            } else {
                "paid"
            }
            .into(),
            c(r, "qty"),
            name.into(),
            sku,
            c(r, "recipient"),
            c(r, "address"),
            c(r, "country"),
            c(r, "buyer_note"),
            c(r, "waybill_no"),
            c(r, "carrier"),
            c(r, "picker_id"),
            if c(r, "gift") == "1" { "yes" } else { "" }.into(),
        ])
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

const SHOPIFY_MAP: &str = r#"# Shopify-style order export -> packbench orders (packbench import orders FILE --map THIS)
"Name" = "order_no"
"Tracking Number" = "waybill_no"
"Tracking Company" = "carrier"
"Shipping Name" = "recipient"
"Shipping Country" = "country"
"Shipping Street" = "address"
"Notes" = "buyer_note"
"Lineitem sku" = "sku"
"Lineitem quantity" = "qty"
"Picked By" = "picker_id"
"Gift Item" = "gift"
"Financial Status" = "status"
"#;

fn bless() -> bool {
    std::env::var_os("PACKBENCH_BLESS").is_some()
}

/// Every cell of every sheet, as text, the sheets in the workbook's order.
fn sheets(path: &Path) -> Vec<(String, Vec<Vec<String>>)> {
    let mut book = calamine::open_workbook_auto(path).unwrap();
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let cells = book
                .worksheet_range(&name)
                .unwrap()
                .rows()
                .map(|r| {
                    r.iter()
                        .map(|c| match c {
                            // An .xls keeps small whole numbers as integers (RK cells), an
                            // .xlsx every number as a float: both are the number typed.
                            calamine::Data::Int(i) => {
                                format!("{:?}", calamine::Data::Float(*i as f64))
                            }
                            c => format!("{c:?}"),
                        })
                        .collect()
                })
                .collect();
            (name, cells)
        })
        .collect()
}

#[test]
fn fixtures_are_made_as_described() {
    let dir = shop_dir();
    let mut files: Vec<(String, Vec<u8>)> = TABLES
        .iter()
        .map(|t| (t.csv.to_string(), gb18030_csv(t)))
        .collect();
    files.push(("shopify-orders.csv".into(), shopify_csv().into_bytes()));
    files.push(("shopify-orders-map.toml".into(), SHOPIFY_MAP.into()));
    let tmp = tempfile::tempdir().unwrap();
    let xlsx = tmp.path().join("shop-export.xlsx");
    write_workbook(&xlsx, &TABLES);
    if bless() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        std::fs::copy(&xlsx, dir.join("shop-export.xlsx")).unwrap();
    }
    for (name, bytes) in &files {
        let on_disk = std::fs::read(dir.join(name)).unwrap();
        assert!(
            on_disk == *bytes,
            "{name} differs from what tests/import_shops.rs makes (PACKBENCH_BLESS=1 writes it)"
        );
    }
    // A workbook's bytes carry a timestamp: compare what is in its cells.
    assert_eq!(sheets(&dir.join("shop-export.xlsx")), sheets(&xlsx));
    // No Rust library writes .xls: make_xls.py made it from a copy of TABLES, and this is
    // where that copy is held to them, cell by cell.
    assert_eq!(
        sheets(&dir.join("shop-export.xls")),
        sheets(&xlsx),
        "shop-export.xls differs from TABLES (fixtures/shop-exports/make_xls.py writes it)"
    );
    let xls = std::fs::read(dir.join("shop-export.xls")).unwrap();
    assert!(
        xls.starts_with(&[0xd0, 0xcf, 0x11, 0xe0]),
        "an OLE2 (BIFF8) file, not an .xlsx renamed"
    );
    let gb = std::fs::read(dir.join("orders-gb18030.csv")).unwrap();
    assert!(gb.windows(2).any(|w| w == b"\r\n"), "CRLF line ends");
}

/// What a database holds for the bench ([`snapshot_of`]).
fn snapshot(db: &Path) -> String {
    snapshot_of(&SqliteStore::open(db).unwrap())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_shop_export_gives_the_same_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let contract = write_contract_files(dir);
    let shop = shop_dir();
    let kinds = ["catalog", "orders", "employees", "packaging"];

    // The contract's CSVs: the reference.
    let db = dir.join("contract.db");
    for (k, p) in kinds.iter().zip(&contract) {
        ok(&pb(dir, &["import", k, s(p), "--db", s(&db)]));
    }
    let want = snapshot(&db);

    // GB18030 CSVs with CRLF and Chinese names: found without being told.
    let db = dir.join("gb18030.db");
    for (k, t) in kinds.iter().zip(TABLES) {
        let out = ok(&pb(
            dir,
            &["import", k, s(&shop.join(t.csv)), "--db", s(&db)],
        ));
        assert!(
            out.starts_with(&format!(
                "{} (GB18030 CSV): {} rows, ",
                s(&shop.join(t.csv)),
                records(t)
            )),
            "{out}"
        );
    }
    assert_eq!(snapshot(&db), want, "GB18030 CSVs");

    // The workbooks, new (.xlsx) and old (.xls): the first sheet unless told, numbers read
    // back as the codes they were.
    for (file, format) in [("shop-export.xlsx", "XLSX"), ("shop-export.xls", "XLS")] {
        let db = dir.join(format!("{file}.db"));
        let book = shop.join(file);
        ok(&pb(dir, &["import", "catalog", s(&book), "--db", s(&db)]));
        for (k, t) in kinds.iter().zip(TABLES).skip(1) {
            let out = ok(&pb(
                dir,
                &[
                    "import",
                    k,
                    s(&book),
                    "--sheet",
                    t.sheet,
                    "--db",
                    s(&db),
                    "--json",
                ],
            ));
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["source"], format!("{format}, sheet {}", t.sheet));
            assert_eq!(v["rows"], records(t));
        }
        assert_eq!(snapshot(&db), want, "{file}");
    }

    // The English shop export through --map, the rest from the contract's files.
    let db = dir.join("map.db");
    for (k, p) in kinds.iter().zip(&contract) {
        if *k != "orders" {
            ok(&pb(dir, &["import", k, s(p), "--db", s(&db)]));
        }
    }
    let out = ok(&pb(
        dir,
        &[
            "import",
            "orders",
            s(&shop.join("shopify-orders.csv")),
            "--map",
            s(&shop.join("shopify-orders-map.toml")),
            "--db",
            s(&db),
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            v["source"].as_str(),
            v["added"].as_u64(),
            v["cancelled"].as_u64()
        ),
        (Some("UTF-8 CSV"), Some(5), Some(1))
    );
    assert_eq!(snapshot(&db), want, "English export with --map");

    // The same map as [import.orders] in the station's config.
    let station = dir.join("station.toml");
    let mut cfg =
        "station_id = \"BENCH-07\"\ndatabase = \"config.db\"\n\n[import.orders]\n".to_string();
    cfg.push_str(
        SHOPIFY_MAP
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    );
    std::fs::write(&station, cfg).unwrap();
    for (k, p) in kinds.iter().zip(&contract) {
        let file = if *k == "orders" {
            shop.join("shopify-orders.csv")
        } else {
            p.clone()
        };
        ok(&pb(dir, &["--config", s(&station), "import", k, s(&file)]));
    }
    assert_eq!(
        snapshot(&dir.join("config.db")),
        want,
        "[import.orders] in the config"
    );

    // Re-importing a shop export changes nothing, as any import.
    let out = ok(&pb(
        dir,
        &[
            "--config",
            s(&station),
            "import",
            "orders",
            s(&shop.join("shopify-orders.csv")),
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["added"].as_u64(), v["unchanged"].as_u64()),
        (Some(0), Some(5))
    );
}

fn read_opts(encoding: Option<TextEncoding>, sheet: Option<&str>) -> ReadOptions {
    ReadOptions {
        encoding,
        sheet: sheet.map(str::to_string),
        ..Default::default()
    }
}

fn import_with(
    s: &mut SqliteStore,
    kind: Kind,
    p: &Path,
    opts: &ReadOptions,
) -> Result<packbench::store::ImportReport, String> {
    import_file(s, kind, p, opts, "TEST", t(0), &mut |_| {}).map_err(|e| e.to_string())
}

#[test]
fn forced_encoding() {
    let mut st = SqliteStore::open_in_memory().unwrap();
    let p = shop_dir().join(CATALOG.csv);
    // The Chinese header is on line 1.
    let e = import_with(
        &mut st,
        Kind::Catalog,
        &p,
        &read_opts(Some(TextEncoding::Utf8), None),
    )
    .unwrap_err();
    assert!(
        e.ends_with(
            "catalog-gb18030.csv: line 1: is not UTF-8 text (save the file as UTF-8 / CSV UTF-8)"
        ),
        "{e}"
    );
    let r = import_with(
        &mut st,
        Kind::Catalog,
        &p,
        &read_opts(Some(TextEncoding::Gb18030), None),
    )
    .unwrap();
    assert_eq!(r.added, CATALOG.rows.len());
    let tea = st
        .load_catalog()
        .unwrap()
        .into_iter()
        .find(|x| x.sku == "TEA-LJ-250")
        .unwrap();
    assert_eq!(tea.name, "西湖龙井 散装 Longjing green tea 250g");
    assert_eq!(tea.weight_tolerance_g, Some(5.0));
    // A spreadsheet has no text encoding, a CSV no sheets.
    let xlsx = shop_dir().join("shop-export.xlsx");
    let e = import_with(
        &mut st,
        Kind::Catalog,
        &xlsx,
        &read_opts(Some(TextEncoding::Utf8), None),
    )
    .unwrap_err();
    assert!(
        e.contains("shop-export.xlsx: file: is a spreadsheet"),
        "{e}"
    );
    let e = import_with(&mut st, Kind::Catalog, &p, &read_opts(None, Some("商品"))).unwrap_err();
    assert!(
        e.contains("catalog-gb18030.csv: file: is not a spreadsheet"),
        "{e}"
    );
    let e = import_with(
        &mut st,
        Kind::Orders,
        &xlsx,
        &read_opts(None, Some("Orders")),
    )
    .unwrap_err();
    assert!(
        e.ends_with(
            "shop-export.xlsx: file: has no sheet \"Orders\" (its sheets: 商品, 订单, 员工, 包材)"
        ),
        "{e}"
    );
}

/// A one-sheet workbook of catalog rows in the contract's names: `number` puts a barcode in
/// as a number.
fn catalog_workbook(path: &Path, rows: &[(&str, Option<f64>, &str)]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("商品").unwrap();
    for (j, h) in ["sku", "name", "barcodes", "unit_weight_g"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, j as u16, *h).unwrap();
    }
    for (i, (sku, barcode, weight)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_string(r, 0, *sku).unwrap();
        sheet.write_string(r, 1, format!("item {sku}")).unwrap();
        if let Some(b) = barcode {
            sheet.write_number(r, 2, *b).unwrap();
        }
        sheet.write_string(r, 3, *weight).unwrap();
    }
    book.save(path).unwrap();
}

#[test]
fn numbers_that_lost_digits_are_refused_naming_the_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let mut st = SqliteStore::open_in_memory().unwrap();
    let p = tmp.path().join("cat.xlsx");
    // Row 4: a 17-digit code typed into Excel keeps 15 digits.
    catalog_workbook(
        &p,
        &[
            ("A", Some(6975432100137.0), "10"),
            ("B", Some(6975432201018.0), "20"),
            ("C", Some(69754322010181234.0), "30"),
        ],
    );
    let e = import_with(&mut st, Kind::Catalog, &p, &ReadOptions::default()).unwrap_err();
    assert!(
        e.contains("cat.xlsx: sheet 商品, cell C4, column barcodes: the number 6.975432201018123e16 has lost digits"),
        "{e}"
    );
    assert!(e.contains("format the column as Text"), "{e}");
    assert!(st.load_catalog().unwrap().is_empty(), "all or nothing");
    assert_eq!(st.verify(None).unwrap().events, 0);

    // Other bad cells are named the same way.
    catalog_workbook(
        &p,
        &[("A", Some(6975432100137.0), "10"), ("B", None, "heavy")],
    );
    let e = import_with(&mut st, Kind::Catalog, &p, &ReadOptions::default()).unwrap_err();
    assert!(
        e.ends_with("cat.xlsx: sheet 商品, cell D3, column unit_weight_g: \"heavy\" is not a weight in grams (a number of 0 or more)"),
        "{e}"
    );
    catalog_workbook(&p, &[("A", Some(6975432100137.0), "10"), ("A", None, "1")]);
    let e = import_with(&mut st, Kind::Catalog, &p, &ReadOptions::default()).unwrap_err();
    assert!(
        e.ends_with("sheet 商品, cell A3, column sku: A already appears on row 2"),
        "{e}"
    );

    // Good numbers read back as typed: 6975432100137.0 is the barcode 6975432100137.
    catalog_workbook(&p, &[("A", Some(6975432100137.0), "10")]);
    import_with(&mut st, Kind::Catalog, &p, &ReadOptions::default()).unwrap();
    assert_eq!(
        st.load_catalog().unwrap()[0].barcodes[0].code,
        "6975432100137"
    );

    // A CSV Excel saved with a code column shown as 6.97543E+12: the digits are gone.
    let csv = tmp.path().join("excel.csv");
    let text = "商家编码,商品名称,条形码,重量\r\nB,b,6975432201018,1\r\nC,c,6.97543E+12,1\r\n";
    std::fs::write(&csv, encoding_rs::GB18030.encode(text).0).unwrap();
    let e = import_with(&mut st, Kind::Catalog, &csv, &ReadOptions::default()).unwrap_err();
    assert!(
        e.contains("excel.csv: line 3, column barcodes: \"6.97543E+12\" lost its digits: Excel wrote the number in scientific notation"),
        "{e}"
    );
    assert_eq!(st.load_catalog().unwrap().len(), 1, "nothing more written");
}

#[test]
fn an_xls_number_that_lost_digits_is_refused_naming_the_cell() {
    // make_xls.py: row 4's barcode is a 17-digit code typed as a number.
    let mut st = SqliteStore::open_in_memory().unwrap();
    let p = shop_dir().join("lost-digits.xls");
    let e = import_with(&mut st, Kind::Catalog, &p, &ReadOptions::default()).unwrap_err();
    assert!(
        e.contains("lost-digits.xls: sheet 商品, cell C4, column barcodes: the number 6.975432201018123e16 has lost digits"),
        "{e}"
    );
    assert!(st.load_catalog().unwrap().is_empty(), "all or nothing");
    assert_eq!(st.verify(None).unwrap().events, 0);
}

#[test]
fn orders_sheet_errors_name_the_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let mut st = store_with_fixtures();
    let p = tmp.path().join("orders.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("订单").unwrap();
    let head = [
        "订单号",
        "运单号",
        "快递公司",
        "收件人",
        "国家",
        "收货地址",
        "订单备注",
        "商品编码",
        "数量",
    ];
    for (j, h) in head.iter().enumerate() {
        sheet.write_string(0, j as u16, *h).unwrap();
    }
    for (r, qty) in [(1u32, 1.0), (2, 2.5)] {
        sheet.write_string(r, 0, "N1").unwrap();
        // A 13-digit waybill typed as a number: read back as its digits.
        sheet.write_number(r, 1, 7555606362246.0).unwrap();
        for j in 2..7 {
            sheet.write_string(r, j, "x").unwrap();
        }
        sheet
            .write_string(r, 7, if r == 1 { "T-BLU-L" } else { "SOCK-BLK" })
            .unwrap();
        sheet.write_number(r, 8, qty).unwrap();
    }
    book.save(&p).unwrap();
    let e = import_with(&mut st, Kind::Orders, &p, &ReadOptions::default()).unwrap_err();
    assert!(
        e.ends_with("orders.xlsx: sheet 订单, cell I3, column qty: \"2.5\" is not a whole number of at least 1"),
        "{e}"
    );
    assert!(st.find_order("N1").unwrap().is_none());
}

/// The contract files written in `dir`, with their catalog imported into `db`.
fn with_contract_catalog(dir: &Path, db: &Path) -> Vec<std::path::PathBuf> {
    let contract = write_contract_files(dir);
    ok(&pb(
        dir,
        &["import", "catalog", s(&contract[0]), "--db", s(db)],
    ));
    contract
}

#[test]
fn dry_run_shows_the_reading_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = dir.join("bench.db");
    with_contract_catalog(dir, &db);
    let events = |db: &Path| SqliteStore::open(db).unwrap().verify(None).unwrap().events;
    let before = events(&db);
    let bytes = std::fs::read(&db).unwrap();
    let file = shop_dir().join(ORDERS.csv);
    let out = ok(&pb(
        dir,
        &["import", "orders", s(&file), "--dry-run", "--db", s(&db)],
    ));
    // Opened read-only: not a byte of the database changes.
    assert!(
        std::fs::read(&db).unwrap() == bytes,
        "dry run changed the file"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{} (GB18030 CSV): 9 rows, 5 orders, all good against {}; dry run, nothing written",
            s(&file),
            s(&db)
        )
    );
    let row = |want: &[&str]| {
        assert!(
            lines
                .iter()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == want),
            "no line {want:?} in:\n{out}"
        )
    };
    row(&["column", "in", "the", "file", "imported", "as"]);
    row(&["订单编号", "order_no"]);
    row(&["买家会员名", "extra,", "not", "imported"]);
    row(&["收货人姓名", "recipient"]);
    row(&["赠品", "gift"]);
    assert!(
        lines.contains(&"first 5 rows as they would be imported:"),
        "{out}"
    );
    // Rows after parsing: Chinese values in the contract's form.
    let first = lines
        .iter()
        .position(|l| l.starts_with("order_no"))
        .unwrap();
    let table: Vec<Vec<&str>> = lines[first + 1..]
        .iter()
        .filter(|l| !l.starts_with('-'))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(table.len(), 5, "{out}");
    assert_eq!(table[0][0], "TB20261122001");
    assert_eq!(table[3][0], "TB20261122003");
    assert!(
        table[3].ends_with(&["STICKER-LOGO", "1", "1"]),
        "gift 是 → 1: {:?}",
        table[3]
    );
    assert!(
        table[4].ends_with(&["HOOD-GRY-L", "1", "cancelled"]),
        "已取消: {:?}",
        table[4]
    );
    assert_eq!(events(&db), before, "a dry run writes nothing");
    assert!(SqliteStore::open(&db)
        .unwrap()
        .find_order("TB20261122001")
        .unwrap()
        .is_none());

    // The JSON form, and no database is created for a dry run.
    let fresh = dir.join("none.db");
    let xlsx = shop_dir().join("shop-export.xlsx");
    let out = ok(&pb(
        dir,
        &[
            "import",
            "catalog",
            s(&xlsx),
            "--dry-run",
            "--json",
            "--db",
            s(&fresh),
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["source"], "XLSX, sheet 商品");
    assert_eq!(
        v["target"],
        format!("{} (empty: not created yet)", s(&fresh))
    );
    assert_eq!(v["records"], CATALOG.rows.len());
    assert_eq!(
        v["columns"][6],
        serde_json::json!({"header": "可用库存", "column": null})
    );
    assert_eq!(
        v["preview"]["rows"][1][2], "6975432201018",
        "a number cell read as its barcode"
    );
    assert!(!fresh.exists());

    // A bad row is the same error as without --dry-run.
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        contract_csv(&ORDERS).replace(",LATIAO-106,12,", ",LATIAO-106,zwölf,"),
    )
    .unwrap();
    let e1 = failed(&pb(
        dir,
        &["import", "orders", s(&bad), "--dry-run", "--db", s(&db)],
    ));
    let e2 = failed(&pb(dir, &["import", "orders", s(&bad), "--db", s(&db)]));
    assert_eq!(e1, e2);
    assert!(
        e1.contains("bad.csv: line 8, column qty: \"zwölf\" is not a whole number"),
        "{e1}"
    );
}

/// The files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_import_leaves_no_database_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = dir.join("sub").join("new.db");
    std::fs::create_dir(dir.join("sub")).unwrap();
    // Orders before any catalog: every SKU is unknown.
    let orders = shop_dir().join(ORDERS.csv);
    let e = failed(&pb(dir, &["import", "orders", s(&orders), "--db", s(&db)]));
    assert!(e.contains("T-BLU-L is not in the catalog"), "{e}");
    assert_eq!(files_in(&dir.join("sub")), Vec::<String>::new(), "{e}");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, contract_csv(&CATALOG).replace(",185,", ",heavy,")).unwrap();
    let e = failed(&pb(dir, &["import", "catalog", s(&bad), "--db", s(&db)]));
    assert!(e.contains("column unit_weight_g: \"heavy\""), "{e}");
    assert_eq!(files_in(&dir.join("sub")), Vec::<String>::new());

    // A database that was there before stays, byte for byte.
    with_contract_catalog(dir, &db);
    let files = files_in(&dir.join("sub"));
    let bytes = std::fs::read(&db).unwrap();
    let e = failed(&pb(dir, &["import", "catalog", s(&bad), "--db", s(&db)]));
    assert!(e.contains("column unit_weight_g"), "{e}");
    assert!(std::fs::read(&db).unwrap() == bytes, "the database changed");
    assert_eq!(files_in(&dir.join("sub")), files);
    assert_eq!(
        SqliteStore::open(&db)
            .unwrap()
            .load_catalog()
            .unwrap()
            .len(),
        CATALOG.rows.len()
    );
}

#[test]
fn column_maps_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let station = dir.join("station.toml");
    let orders = shop_dir().join("shopify-orders.csv");
    std::fs::write(&station, "[import.order]\n\"Name\" = \"order_no\"\n").unwrap();
    let e = failed(&pb(
        dir,
        &["--config", s(&station), "import", "orders", s(&orders)],
    ));
    assert!(
        e.contains("[import.order]: \"order\" is not a kind of import"),
        "{e}"
    );
    std::fs::write(&station, "[import.orders]\n\"Name\" = \"order_number\"\n").unwrap();
    let e = failed(&pb(
        dir,
        &["--config", s(&station), "import", "orders", s(&orders)],
    ));
    assert!(
        e.contains("[import.orders]: \"Name\" = \"order_number\": \"order_number\" is not a column of orders"),
        "{e}"
    );
    // station.toml in the working folder is the config even without --config.
    std::fs::remove_file(&station).unwrap();
    let map = dir.join("map.toml");
    std::fs::write(&map, "\"Lineitem quantity\" = 3\n").unwrap();
    let e = failed(&pb(
        dir,
        &["import", "orders", s(&orders), "--map", s(&map)],
    ));
    assert!(
        e.contains("\"Lineitem quantity\" must be given a column name in quotes"),
        "{e}"
    );
    // Without a map the English export names what is missing, and how to map it.
    let e = failed(&pb(dir, &["import", "orders", s(&orders)]));
    assert!(
        e.contains("shopify-orders.csv: line 1: required column \"order_no\" is missing (found: Name,Email,"),
        "{e}"
    );
    assert!(e.contains("[import.orders]"), "{e}");
}

/// A pseudo-terminal: (the side a program reads and writes as its terminal, our side).
fn pty() -> (std::os::fd::OwnedFd, std::fs::File) {
    use std::os::fd::FromRawFd;
    let (mut ours, mut theirs) = (-1, -1);
    // SAFETY: openpty writes two descriptors it opened; a null name, termios and size are
    // allowed and leave the defaults.
    let rc = unsafe {
        libc::openpty(
            &mut ours,
            &mut theirs,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are open and owned by nothing else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(theirs),
            std::fs::File::from_raw_fd(ours),
        )
    }
}

/// A file of `n` one-line orders of the contract's catalog, over 1 MB.
fn big_orders(dir: &Path, n: usize) -> std::path::PathBuf {
    let mut text = ORDERS
        .columns
        .iter()
        .map(|c| c.0)
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for i in 0..n {
        text.push_str(&format!(
            "N{i:06},W{i:06},SF,Li Na,CN,Room {i} Dongxin Building Wensan Road 398 Xihu District Hangzhou,,T-BLU-L,1,,,\n"
        ));
    }
    let p = dir.join("big-orders.csv");
    std::fs::write(&p, text).unwrap();
    assert!(std::fs::metadata(&p).unwrap().len() > 1_000_000);
    p
}

#[test]
fn a_large_import_shows_a_progress_bar_on_a_terminal_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = dir.join("bench.db");
    with_contract_catalog(dir, &db);
    let big = big_orders(dir, 12_000);

    // stderr a terminal: the bar is drawn while the file is read, checked and written, and
    // cleared at the end; the report is on stdout.
    let (theirs, mut ours) = pty();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        // Reading ends with EIO once the program's side is closed.
        let _ = std::io::Read::read_to_end(&mut ours, &mut seen);
        String::from_utf8_lossy(&seen).into_owned()
    });
    let out = Pb::new()
        .dir(dir)
        .env("TERM", "xterm")
        .args(["import", "orders", s(&big), "--db", s(&db)])
        .stderr(theirs)
        .output();
    let report = ok(&out);
    assert!(
        report.ends_with("12000 rows, 12000 added, 0 changed, 0 unchanged, 0 cancelled\n"),
        "{report}"
    );
    let drawn = reader.join().unwrap();
    assert!(
        drawn.contains("reading") || drawn.contains("checking 12000 rows"),
        "{drawn:?}"
    );
    assert!(drawn.contains("writing"), "{drawn:?}");
    assert!(drawn.contains("/12000"), "{drawn:?}");
    // Cleared: after the last erase of the line nothing more is drawn.
    let last = drawn
        .rfind("\x1b[2K")
        .expect("the bar is erased at the end");
    assert!(
        drawn[last..]
            .trim_start_matches("\x1b[2K")
            .trim_matches(['\r', '\n'])
            .is_empty(),
        "{drawn:?}"
    );

    // stderr not a terminal (a pipe, as in a script or a log): nothing drawn.
    std::fs::remove_file(&db).unwrap();
    with_contract_catalog(dir, &db);
    let out = pb(dir, &["import", "orders", s(&big), "--db", s(&db)]);
    ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
