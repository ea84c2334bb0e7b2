//! Shared body of `import_csv` and `import_json`: the input is written to `x.csv` / `x.json` in
//! a per-process temporary directory and run through `read_rows` and every `parse_*`.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use packbench::domain::{BarcodeEntry, Catalog, Sku};
use packbench::import::{
    parse_catalog, parse_employees, parse_orders, parse_packaging, read_rows, ImportError, Kind,
    ReadOptions, Rows,
};
use sha2::{Digest, Sha256};

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("packbench-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    })
}

/// `PACKBENCH_FUZZ_STRICT` set: known findings are not masked.
fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("PACKBENCH_FUZZ_STRICT").is_some())
}

pub fn check_error(e: &ImportError, file: &str) {
    assert_eq!(e.file, file, "error names another file: {e:?}");
    assert!(!e.where_.is_empty(), "error without a place: {e:?}");
    assert!(!e.message.is_empty(), "error without a message: {e:?}");
    let shown = e.to_string();
    assert!(shown.starts_with(file), "{shown}");
}

pub fn check_rows(rows: &Rows, file: &str, data: &[u8], json: bool) {
    assert_eq!(rows.file, file);
    assert_eq!(
        rows.sha256,
        hex::encode(Sha256::digest(data)),
        "sha256 of the file"
    );
    // Finding import_csv-2 (lone CR line ends) is fixed: the strict order check applies to
    // every input; PACKBENCH_FUZZ_STRICT only matters for masks of future findings.
    let has_cr = false;
    let mut prev = if json || has_cr { 0 } else { 1 };
    for r in &rows.rows {
        if json {
            assert_eq!(r.line, prev + 1, "JSON records not numbered 1..n");
        } else if has_cr {
            assert!(
                r.line >= prev.max(1),
                "CSV row lines decreasing: {} after {prev}",
                r.line
            );
        } else {
            assert!(
                r.line > prev,
                "CSV row lines not increasing after the header: {} after {prev}",
                r.line
            );
        }
        prev = r.line;
    }
}

fn unique<'a>(it: impl Iterator<Item = &'a str>, what: &str) {
    let mut seen = HashSet::new();
    for x in it {
        assert!(
            !x.is_empty() && x.trim() == x,
            "{what} {x:?} empty or untrimmed"
        );
        assert!(seen.insert(x), "{what} {x:?} twice");
    }
}

fn weight_ok(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

fn stored_catalog() -> Vec<Sku> {
    vec![Sku {
        sku: "STORED".into(),
        name: "Stored item".into(),
        barcodes: vec![BarcodeEntry {
            code: "4006381333931".into(),
            units: 1,
        }],
        unit_weight_g: 10.0,
        weight_tolerance_g: None,
        attributes: vec![],
    }]
}

pub fn run(data: &[u8], ext: &str) {
    let path = dir().join(format!("x.{ext}"));
    std::fs::write(&path, data).expect("write input");
    check_all(
        &path,
        data,
        ext == "json",
        &ReadOptions::default(),
        &|_, _| {},
    );
}

/// The path of a scratch file `name` in this process's temp dir.
pub fn scratch(name: &str) -> PathBuf {
    dir().join(name)
}

/// `read_rows` and every `parse_*` on the file at `path` (holding `data`), for each kind,
/// with `opts`; `on_error` checks every `ImportError` (beyond `check_error`).
pub fn check_all(
    path: &std::path::Path,
    data: &[u8],
    json: bool,
    opts: &ReadOptions,
    on_error: &dyn Fn(&ImportError, &str),
) {
    let file = path.display().to_string();
    let check_error = |e: &ImportError, file: &str| {
        check_error(e, file);
        on_error(e, file);
    };

    // Catalog.
    match read_rows(path, Kind::Catalog, opts) {
        Err(e) => check_error(&e, &file),
        Ok(rows) => {
            check_rows(&rows, &file, data, json);
            for existing in [vec![], stored_catalog()] {
                match parse_catalog(&rows, &existing) {
                    Err(e) => check_error(&e, &file),
                    Ok(skus) => {
                        assert_eq!(skus.len(), rows.rows.len(), "a catalog row was lost");
                        unique(skus.iter().map(|s| s.sku.as_str()), "sku");
                        for s in &skus {
                            assert!(
                                !s.name.is_empty() && s.name.trim() == s.name,
                                "name {:?}",
                                s.name
                            );
                            assert!(
                                weight_ok(s.unit_weight_g),
                                "unit weight {}",
                                s.unit_weight_g
                            );
                            if let Some(t) = s.weight_tolerance_g {
                                assert!(weight_ok(t), "tolerance {t}");
                            }
                            for b in &s.barcodes {
                                assert!(!b.code.is_empty() && b.units >= 1, "barcode {b:?}");
                            }
                        }
                        Catalog::new(skus.iter().cloned())
                            .expect("accepted catalog does not build");
                    }
                }
            }
        }
    }

    // Orders: once with every SKU the rows name known, once with none known.
    match read_rows(path, Kind::Orders, opts) {
        Err(e) => check_error(&e, &file),
        Ok(rows) => {
            check_rows(&rows, &file, data, json);
            let skus: HashSet<String> = rows
                .rows
                .iter()
                .map(|r| r.get("sku").trim().to_string())
                .collect();
            match parse_orders(&rows, &skus) {
                Err(e) => check_error(&e, &file),
                Ok(orders) => {
                    let lines: usize = orders.iter().map(|o| o.lines.len()).sum();
                    assert_eq!(lines, rows.rows.len(), "an order row was lost");
                    unique(orders.iter().map(|o| o.order_no.as_str()), "order_no");
                    unique(orders.iter().map(|o| o.waybill_no.as_str()), "waybill_no");
                    for o in &orders {
                        assert!(!o.lines.is_empty());
                        for l in &o.lines {
                            assert!(l.qty >= 1 && skus.contains(&l.sku), "line {l:?}");
                        }
                        let _ = o.version();
                    }
                }
            }
            match parse_orders(&rows, &HashSet::new()) {
                Err(e) => check_error(&e, &file),
                Ok(orders) => assert!(
                    rows.rows.is_empty() && orders.is_empty(),
                    "orders accepted with an empty catalog"
                ),
            }
        }
    }

    // Employees.
    match read_rows(path, Kind::Employees, opts) {
        Err(e) => check_error(&e, &file),
        Ok(rows) => {
            check_rows(&rows, &file, data, json);
            match parse_employees(&rows) {
                Err(e) => check_error(&e, &file),
                Ok(emps) => {
                    assert_eq!(emps.len(), rows.rows.len(), "an employee row was lost");
                    unique(emps.iter().map(|e| e.id.as_str()), "employee id");
                    unique(emps.iter().map(|e| e.badge.as_str()), "badge");
                    for e in &emps {
                        assert!(e.roles.picker || e.roles.packer || e.roles.supervisor);
                        assert!(!e.name.is_empty());
                    }
                }
            }
        }
    }

    // Packaging.
    match read_rows(path, Kind::Packaging, opts) {
        Err(e) => check_error(&e, &file),
        Ok(rows) => {
            check_rows(&rows, &file, data, json);
            match parse_packaging(&rows) {
                Err(e) => check_error(&e, &file),
                Ok(packs) => {
                    assert_eq!(packs.len(), rows.rows.len(), "a packaging row was lost");
                    unique(packs.iter().map(|p| p.code.as_str()), "packaging code");
                    for p in &packs {
                        assert!(weight_ok(p.tare_g), "tare {}", p.tare_g);
                        assert!(!p.name.is_empty());
                    }
                }
            }
        }
    }
}
