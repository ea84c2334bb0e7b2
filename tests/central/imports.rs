//! Central imports: the bench importer's rules, all or nothing, dry runs, shop exports and
//! NULs in text.

use super::*;

#[tokio::test]
async fn central_imports_follow_the_bench_importer_rules() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let mut local = SqliteStore::open_in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The data set, then the same orders again from JSON (a re-import that changes nothing).
    for (kind, path) in data_set(None)
        .into_iter()
        .chain([(Kind::Orders, fixture("orders.json"))])
    {
        let want = import::import_file(
            &mut local,
            kind,
            &path,
            &ReadOptions::default(),
            "B1",
            t0(),
            &mut |_| {},
        )
        .unwrap();
        let got = central::import_file(&c, kind, &path, &ReadOptions::default(), t0(), &mut |_| {})
            .await
            .unwrap();
        assert_eq!(got, want, "{}", path.display());
    }
    // Unchanged re-import: nothing written, not even an event.
    let head = c.head(CENTRAL_STATION).await.unwrap();
    let master = c.master_head().await.unwrap();
    let r = central::import_file(
        &c,
        Kind::Orders,
        &fixtures().join("orders.csv"),
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!((r.added, r.changed, r.cancelled), (0, 0, 0));
    assert_eq!(c.head(CENTRAL_STATION).await.unwrap(), head);
    assert_eq!(c.master_head().await.unwrap(), master);

    // A changed address and a cancellation: the same report and events as on a bench.
    let text = std::fs::read_to_string(fixtures().join("orders.csv")).unwrap();
    let changed: String = text
        .replace("文三路398号", "文三路400号")
        .lines()
        .map(|l| {
            if l.starts_with("TB20261122002,") {
                format!("{l}cancelled\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(changed, text);
    let path = dir.path().join("orders-2.csv");
    std::fs::write(&path, changed).unwrap();
    let want = import::import_file(
        &mut local,
        Kind::Orders,
        &path,
        &ReadOptions::default(),
        "B1",
        t0(),
        &mut |_| {},
    )
    .unwrap();
    let got = central::import_file(
        &c,
        Kind::Orders,
        &path,
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(got, want);
    assert_eq!((got.changed, got.cancelled), (1, 1));
    let kinds: Vec<EventType> = c
        .events(&EventFilter {
            station_id: Some(CENTRAL_STATION.into()),
            types: vec!["order_changed", "order_cancelled"],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.stored().unwrap().kind)
        .collect();
    assert_eq!(kinds, [EventType::OrderChanged, EventType::OrderCancelled]);
    // A cancellation sticks: the original file again does not bring the order back.
    central::import_file(
        &c,
        Kind::Orders,
        &fixtures().join("orders.csv"),
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        count(
            &db.url,
            "SELECT count(*) FROM orders WHERE order_no = 'TB20261122002' AND cancelled"
        )
        .await,
        1
    );
    assert_eq!(c.verify(None).await.unwrap().error, None);
}

#[tokio::test]
async fn a_bad_file_or_a_clashing_badge_writes_nothing() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    let before = count(&db.url, "SELECT count(*) FROM events").await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("orders.csv");
    let mut text = std::fs::read_to_string(fixtures().join("orders.csv")).unwrap();
    text.push_str("TB-NEW,SF-NEW,顺丰速运,X,CN,addr,,NO-SUCH-SKU,1,,,\n");
    std::fs::write(&bad, text).unwrap();
    let err = central::import_file(
        &c,
        Kind::Orders,
        &bad,
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("NO-SUCH-SKU is not in the catalog"),
        "{err}"
    );
    // A badge given to another employee fails in the database: nothing of the file stays.
    let emp = dir.path().join("employees.csv");
    std::fs::write(
        &emp,
        "id,name,roles,badge\nE100,New One,packer,BADGE-E100\nE101,Clash,packer,BADGE-E003\n",
    )
    .unwrap();
    let err = central::import_file(
        &c,
        Kind::Employees,
        &emp,
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("badge BADGE-E003 of E101 is already the badge"),
        "{err}"
    );
    assert_eq!(
        count(&db.url, "SELECT count(*) FROM employees WHERE id = 'E100'").await,
        0
    );
    assert_eq!(count(&db.url, "SELECT count(*) FROM events").await, before);
}

#[tokio::test]
async fn a_hundred_thousand_orders_import_with_progress_and_again_change_nothing() {
    // Times are printed, never asserted: the figure is central_floor's (BENCHMARKS.md).
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    let orders: Vec<packbench::domain::Order> = (0..100_000)
        .map(|i| packbench::domain::Order {
            order_no: format!("BULK{i:06}"),
            waybill_no: format!("WB{i:08}"),
            carrier: "顺丰速运".into(),
            recipient: "李娜".into(),
            country: "CN".into(),
            address: "浙江省杭州市西湖区文三路398号".into(),
            buyer_note: String::new(),
            lines: vec![packbench::domain::OrderLine {
                sku: "T-BLU-L".into(),
                qty: 1 + (i % 3) as u32,
                gift: false,
            }],
            picker_id: None,
            cancelled: false,
        })
        .collect();
    let meta = ImportMeta {
        file: "bulk.csv".into(),
        sha256: "0".repeat(64),
        station_id: CENTRAL_STATION.into(),
        at: t0(),
    };
    let mut calls = 0;
    let start = std::time::Instant::now();
    let r = c
        .import_parsed(
            &import::Parsed::Orders(orders.clone()),
            &meta,
            &mut |_, _| calls += 1,
        )
        .await
        .unwrap();
    let took = start.elapsed();
    assert_eq!((r.added, r.rows), (100_000, 100_000));
    assert!(calls >= 100, "progress was reported {calls} times");
    let start = std::time::Instant::now();
    let r = c
        .import_parsed(&import::Parsed::Orders(orders), &meta, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(r.unchanged, 100_000);
    println!(
        "100,000 orders: first import {took:?}, unchanged re-import {:?}",
        start.elapsed()
    );
}

/// What the centre's master data and log hold, in rows: a dry run must leave it as it was.
async fn central_rows(url: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for table in ["skus", "orders", "employees", "packaging", "events"] {
        out.push(count(url, &format!("SELECT count(*) FROM {table}")).await);
    }
    out
}

#[tokio::test]
async fn a_central_dry_run_checks_against_the_centre_and_writes_nothing() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let shop = shop_tables::shop_dir();
    let catalog = shop.join("catalog-gb18030.csv");
    let orders = shop.join("orders-gb18030.csv");
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // No catalog at the centre yet: the orders' SKUs are unknown there.
    let empty = central_rows(&db.url).await;
    let out = pb_central(
        dir.path(),
        &db.url,
        &["import", "orders", &s(&orders), "--dry-run"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("orders-gb18030.csv: line 2, column sku: T-BLU-L is not in the catalog"),
        "{err}"
    );
    assert_eq!(central_rows(&db.url).await, empty);
    // The centre was the target: no bench database appeared in the working folder.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let args = ["import", "catalog", &s(&catalog)];
    succeeded(&args, &pb_central(dir.path(), &db.url, &args));
    let before = central_rows(&db.url).await;
    let head = c.head(CENTRAL_STATION).await.unwrap();
    let master = c.master_head().await.unwrap();

    let args = ["import", "orders", &s(&orders), "--dry-run"];
    let text = succeeded(&args, &pb_central(dir.path(), &db.url, &args));
    assert_eq!(
        text.lines().next().unwrap(),
        format!(
            "{} (GB18030 CSV): 9 rows, 5 orders, all good against central database {}; dry run, nothing written",
            s(&orders),
            c.database()
        )
    );
    assert!(
        text.contains("first 5 rows as they would be imported:"),
        "{text}"
    );
    let args = ["import", "orders", &s(&orders), "--dry-run", "--json"];
    let json = succeeded(&args, &pb_central(dir.path(), &db.url, &args));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["target"], format!("central database {}", c.database()));
    assert_eq!(
        (v["rows"].as_u64(), v["records"].as_u64()),
        (Some(9), Some(5))
    );
    assert_eq!(v["preview"]["rows"][0][0], "TB20261122001");

    assert_eq!(
        central_rows(&db.url).await,
        before,
        "a dry run writes nothing"
    );
    assert_eq!(before[1], 0, "no orders");
    assert_eq!(c.head(CENTRAL_STATION).await.unwrap(), head);
    assert_eq!(c.master_head().await.unwrap(), master);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The centre's master data as [`shop_tables::snapshot_of`] prints it; the reader runs its
/// own runtime, so off this test's.
async fn central_snapshot(url: &str) -> String {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let r = central::CentralReader::new(Central::connect(&url, None).unwrap()).unwrap();
        shop_tables::snapshot_of(&r)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn shop_exports_import_centrally_as_the_contract_files_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let shop = shop_tables::shop_dir();
    let kinds = ["catalog", "orders", "employees", "packaging"];

    // The reference: the contract's own CSVs of the same rows, imported centrally.
    let reference = pg::fresh_db().await;
    for (k, p) in kinds.iter().zip(shop_tables::write_contract_files(d)) {
        let args = ["import", k, &s(&p)];
        succeeded(&args, &pb_central(d, &reference.url, &args));
    }
    let want = central_snapshot(&reference.url).await;

    // Shop formats: GB18030 CSVs, a workbook's sheets, an English export through --map.
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let xlsx = s(&shop.join("shop-export.xlsx"));
    let catalog = s(&shop.join("catalog-gb18030.csv"));
    let orders = s(&shop.join("orders-gb18030.csv"));
    for args in [
        vec!["import", "catalog", &catalog],
        vec!["import", "orders", &orders],
        vec!["import", "employees", &xlsx, "--sheet", "员工"],
        vec!["import", "packaging", &xlsx, "--sheet", "包材"],
    ] {
        let out = succeeded(&args, &pb_central(d, &db.url, &args));
        assert!(out.contains(&format!("(into {})", c.database())), "{out}");
    }
    assert_eq!(central_snapshot(&db.url).await, want);

    // The same rows in another format: 0 added or changed, and not an event more.
    let head = c.head(CENTRAL_STATION).await.unwrap();
    let master = c.master_head().await.unwrap();
    let shopify = s(&shop.join("shopify-orders.csv"));
    let map = s(&shop.join("shopify-orders-map.toml"));
    let xls = s(&shop.join("shop-export.xls"));
    for (args, records) in [
        (vec!["import", "catalog", &xlsx, "--sheet", "商品"], 8),
        (vec!["import", "orders", &xlsx, "--sheet", "订单"], 5),
        (vec!["import", "orders", &shopify, "--map", &map], 5),
        (vec!["import", "orders", &xls, "--sheet", "订单"], 5),
        (
            vec![
                "import",
                "employees",
                &s(&shop.join("employees-gb18030.csv")),
            ],
            7,
        ),
        (
            vec![
                "import",
                "packaging",
                &s(&shop.join("packaging-gb18030.csv")),
            ],
            3,
        ),
    ] {
        let mut args = args.clone();
        args.push("--json");
        let v: serde_json::Value =
            serde_json::from_str(&succeeded(&args, &pb_central(d, &db.url, &args))).unwrap();
        assert_eq!(
            (
                v["added"].as_u64(),
                v["changed"].as_u64(),
                v["unchanged"].as_u64()
            ),
            (Some(0), Some(0), Some(records)),
            "{args:?}: {v}"
        );
    }
    assert_eq!(c.head(CENTRAL_STATION).await.unwrap(), head);
    assert_eq!(c.master_head().await.unwrap(), master);
    assert_eq!(central_snapshot(&db.url).await, want);
}

/// A buyer note or a name holding a NUL (which PostgreSQL text cannot hold) imports alike at a
/// bench and at the centre, from a CSV and from an .xlsx: both store U+FFFD in its place and
/// say where it was.
#[tokio::test]
async fn a_nul_in_imported_text_is_stored_alike_at_a_bench_and_at_the_centre() {
    use packbench::store::ReferenceData;
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let note = "请放\0门口 leave at the door\0 \u{7}\u{1b}";
    let head = "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty";
    let csv = d.join("nul-orders.csv");
    std::fs::write(
        &csv,
        format!("{head}\nNUL-CSV,W-CSV,SF,\"李\0娜\",CN,x,\"{note}\",T-BLU-L,1\n"),
    )
    .unwrap();
    let xlsx = d.join("nul-orders.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let row = [
        "NUL-XLSX", "W-XLSX", "SF", "李\0娜", "CN", "x", note, "T-BLU-L", "1",
    ];
    for (i, (h, v)) in head.split(',').zip(row).enumerate() {
        sheet.write_string(0, i as u16, h).unwrap();
        sheet.write_string(1, i as u16, v).unwrap();
    }
    book.save(&xlsx).unwrap();

    let bench_db = d.join("bench.db");
    let local = |args: &[&str]| {
        let out = bin::Pb::new()
            .dir(d)
            .args(args)
            .args(["--db", &s(&bench_db)])
            .output();
        succeeded(args, &out);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let catalog = s(&fixtures().join("catalog.csv"));
    local(&["import", "catalog", &catalog]);
    let args = ["import", "catalog", &catalog];
    succeeded(&args, &pb_central(d, &db.url, &args));
    for (file, places) in [
        (
            &csv,
            ["line 2, column buyer_note", "line 2, column recipient"],
        ),
        (
            &xlsx,
            [
                "sheet Sheet1, cell G2, column buyer_note",
                "sheet Sheet1, cell D2, column recipient",
            ],
        ),
    ] {
        let args = ["import", "orders", &s(file)];
        let at_bench = local(&args);
        let out = pb_central(d, &db.url, &args);
        succeeded(&args, &out);
        let at_centre = String::from_utf8_lossy(&out.stderr).into_owned();
        for log in [&at_bench, &at_centre] {
            for p in places {
                let want = format!(
                    "{}: {p}: a NUL byte in the text is stored as U+FFFD",
                    s(file)
                );
                assert!(log.contains(&want), "{want} in {log}");
            }
        }
    }

    let bench = SqliteStore::open(&bench_db).unwrap();
    let centre = c.changes_since(0, 10_000).await.unwrap().orders;
    for no in ["NUL-CSV", "NUL-XLSX"] {
        let here = bench.find_order(no).unwrap().unwrap();
        let there = centre.iter().find(|o| o.order_no == no).unwrap();
        assert_eq!(
            here.buyer_note,
            "请放\u{FFFD}门口 leave at the door\u{FFFD} \u{7}\u{1b}"
        );
        assert_eq!(here.recipient, "李\u{FFFD}娜");
        assert_eq!(
            &here, there,
            "{no}: the bench and the centre hold the same order"
        );
    }
}
