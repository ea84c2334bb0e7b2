//! The importers with the wave's new inputs: GB18030 text, `.xlsx` sheets (read by calamine),
//! Chinese header aliases and column maps (`[import.<kind>]` / `--map`), and spreadsheet
//! number cells (`6.90123E+12`, `6901234567890.0`).
//!
//! Input: `[mode] [flags]`, then text. A first text line `#map h=c;h=c…` is a column map
//! (`c` a digit picks the kind's n-th contract column, `-` maps to "" = not imported, else
//! `c` is taken as written); the rest is the file. Mode 0: the text as UTF-8 CSV. Mode 1: the
//! text encoded as GB18030, read as CSV with the encoding forced (flags bit 0) or detected.
//! Mode 2: an `.xlsx` written from the text (lines are rows, `,` separates cells; a cell that
//! reads as a number is written as a number, `TRUE`/`FALSE` as a boolean; flags bit 1 names
//! the sheet 订单 and asks for it). Mode 3: the raw bytes as a `.xlsx` file.
//!
//! Properties: those of `import_csv` (see `common/import.rs`) for every kind, plus: an
//! error names a place of its format: `line N` (CSV), `sheet …` with a cell or row
//! (spreadsheet), `column map` or `file`; a map `check_map` refuses is refused by
//! `read_rows` as `column map`. A text encoding error names the line of the first bad byte
//! (counting LF, CRLF and lone CR as line ends, as the CSV reader does). The GB18030 file
//! reads exactly as the same text in UTF-8 (same rows, lines and fields). A bench import
//! (`import_file` into an SQLite store holding the fixtures) is all or nothing: when it fails,
//! the log head, the reference version and the reference data are unchanged.
#![no_main]

#[path = "../common/import.rs"]
mod import;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use chrono::{FixedOffset, TimeZone};
use libfuzzer_sys::fuzz_target;
use packbench::import::{
    check_map, import_data_set, import_file, read_rows, ImportError, ImportFileError, Kind,
    ReadOptions, Rows, TextEncoding,
};
use packbench::store::{EventLog, ReferenceData, SqliteStore};

const SHEET: &str = "订单";

fn fixtures_store() -> SqliteStore {
    let mut s = SqliteStore::open_in_memory().expect("store");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    import_data_set(&mut s, &dir, "FUZZ", at()).expect("fixtures");
    s
}

fn at() -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 30, 10, 0, 0)
        .unwrap()
}

/// The store, reset to the fixtures after every import that wrote something.
static STORE: Mutex<Option<SqliteStore>> = Mutex::new(None);

/// Everything the store holds that an import could change.
fn snapshot(s: &SqliteStore) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?}",
        s.head().unwrap(),
        s.reference_version().unwrap(),
        s.load_catalog().unwrap(),
        s.employees().unwrap(),
        s.packagings().unwrap()
    )
}

fn all_or_nothing(path: &Path, opts: &ReadOptions) {
    let mut guard = STORE.lock().unwrap();
    for kind in Kind::ALL {
        let store = guard.get_or_insert_with(fixtures_store);
        let before = snapshot(store);
        match import_file(store, kind, path, opts, "FUZZ", at(), &mut |_| {}) {
            Ok(_) => *guard = None,
            Err(ImportFileError::Row(e)) => {
                import::check_error(&e, &path.display().to_string());
                assert_eq!(snapshot(store), before, "a failed {kind:?} import wrote");
            }
            Err(ImportFileError::Store(e)) => {
                assert_eq!(
                    snapshot(store),
                    before,
                    "a failed {kind:?} import wrote ({e})"
                );
            }
        }
    }
}

/// The line of byte `at`, counting LF, CRLF and lone CR as line ends.
fn line_of(bytes: &[u8], at: usize) -> usize {
    let b = &bytes[..at];
    1 + (0..b.len())
        .filter(|&i| b[i] == b'\n' || (b[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

fn parse_map(line: &str, kind: Kind) -> HashMap<String, String> {
    let cols: Vec<&str> = kind.columns().collect();
    let mut opts = ReadOptions::default();
    for part in line.split(';') {
        let Some((h, c)) = part.split_once('=') else {
            continue;
        };
        let c = match c.trim() {
            "-" => String::new(),
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => cols
                .get(usize::from(d.as_bytes()[0] - b'0'))
                .map_or_else(|| d.to_string(), |c| c.to_string()),
            other => other.to_string(),
        };
        opts.map_column(h, &c);
    }
    opts.map
}

fn same_rows(a: &Rows, b: &Rows, kind: Kind) {
    assert_eq!(a.rows.len(), b.rows.len(), "row counts differ");
    assert_eq!(a.columns, b.columns, "columns differ");
    for (x, y) in a.rows.iter().zip(&b.rows) {
        assert_eq!(x.line, y.line, "line numbers differ");
        for c in kind.columns() {
            assert_eq!(x.get(c), y.get(c), "line {}, column {c} differs", x.line);
        }
    }
}

fn place_ok(e: &ImportError, sheet: bool) {
    let w = e.where_.as_str();
    let ok = w == "file"
        || w == "column map"
        || if sheet {
            w.starts_with("sheet ")
        } else {
            w.starts_with("line ")
        };
    assert!(ok, "error place {w:?} ({e})");
}

fn cells_xlsx(text: &str, named: bool) -> Option<Vec<u8>> {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    if named {
        ws.set_name(SHEET).ok()?;
    }
    for (r, line) in text.lines().take(200).enumerate() {
        for (c, cell) in line.split(',').take(30).enumerate() {
            let (r, c) = (r as u32, c as u16);
            let t = cell.trim();
            if t.is_empty() {
                continue;
            }
            let done = match t {
                "TRUE" => ws.write_boolean(r, c, true).map(|_| ()),
                "FALSE" => ws.write_boolean(r, c, false).map(|_| ()),
                _ => match t.parse::<f64>() {
                    Ok(x) if x.is_finite() => ws.write_number(r, c, x).map(|_| ()),
                    _ => ws.write_string(r, c, cell).map(|_| ()),
                },
            };
            done.ok()?;
        }
    }
    wb.save_to_buffer().ok()
}

fuzz_target!(|data: &[u8]| {
    let mode = data.first().copied().unwrap_or(0) % 4;
    let flags = data.get(1).copied().unwrap_or(0);
    let body = data.get(2..).unwrap_or(&[]);
    let kind = Kind::ALL[usize::from(flags >> 4) % 4];

    if mode == 3 {
        let path = import::scratch("raw.xlsx");
        std::fs::write(&path, body).expect("write");
        import::check_all(&path, body, false, &ReadOptions::default(), &|e, _| {
            place_ok(e, true)
        });
        return;
    }

    let text = String::from_utf8_lossy(body);
    let (map, text) = match text.strip_prefix("#map ") {
        Some(rest) => {
            let (line, file) = rest.split_once('\n').unwrap_or((rest, ""));
            (parse_map(line, kind), file.to_string())
        }
        None => (HashMap::new(), text.into_owned()),
    };
    let mut opts = ReadOptions {
        map,
        ..ReadOptions::default()
    };
    let map_ok = check_map(kind, &opts.map).is_ok();

    match mode {
        0 | 1 => {
            let utf8 = text.as_bytes().to_vec();
            let (bytes, clean) = if mode == 1 {
                let (b, _, bad) = encoding_rs::GB18030.encode(&text);
                (b.into_owned(), !bad)
            } else {
                (utf8.clone(), true)
            };
            let path = import::scratch("x.csv");
            std::fs::write(&path, &bytes).expect("write");
            if mode == 1 && flags & 1 == 1 {
                opts.encoding = Some(TextEncoding::Gb18030);
            }
            import::check_all(&path, &bytes, false, &opts, &|e, _| place_ok(e, false));
            let got = read_rows(&path, kind, &opts);
            if !map_ok {
                let e = got.as_ref().err().expect("a bad column map was taken");
                assert_eq!(e.where_, "column map");
            }
            // The raw input as forced UTF-8: a bad byte is named by its line.
            if mode == 0 && map_ok {
                std::fs::write(&path, body).expect("write");
                let forced = ReadOptions {
                    encoding: Some(TextEncoding::Utf8),
                    ..opts.clone()
                };
                if let Err(bad) = std::str::from_utf8(body) {
                    let Err(e) = read_rows(&path, kind, &forced) else {
                        panic!("not UTF-8, yet read as UTF-8")
                    };
                    let want = format!("line {}", line_of(body, bad.valid_up_to()));
                    assert_eq!(e.where_, want, "{e}");
                }
                std::fs::write(&path, &bytes).expect("write");
            }
            // Detection reads bytes that are valid UTF-8 as UTF-8: compare only where the
            // GB18030 reading is the one taken.
            let gb =
                opts.encoding.is_some() || std::str::from_utf8(&bytes).is_err() || bytes == utf8;
            if mode == 1 && clean && gb {
                let upath = import::scratch("u.csv");
                std::fs::write(&upath, &utf8).expect("write");
                let plain = ReadOptions {
                    encoding: None,
                    ..opts.clone()
                };
                match (read_rows(&upath, kind, &plain), &got) {
                    (Ok(a), Ok(b)) => same_rows(&a, b, kind),
                    (Err(a), Err(b)) => {
                        assert_eq!((&a.where_, &a.message), (&b.where_, &b.message))
                    }
                    (a, b) => panic!(
                        "UTF-8 and GB18030 read differently: {:?} vs {:?}",
                        a.map(|r| r.rows.len()),
                        b.as_ref().map(|r| r.rows.len())
                    ),
                }
            }
            if map_ok {
                all_or_nothing(&path, &opts);
            }
        }
        _ => {
            let named = flags & 2 == 2;
            let Some(bytes) = cells_xlsx(&text, named) else {
                return;
            };
            let path = import::scratch("x.xlsx");
            std::fs::write(&path, &bytes).expect("write");
            if named {
                opts.sheet = Some(SHEET.into());
            }
            import::check_all(&path, &bytes, false, &opts, &|e, _| place_ok(e, true));
            if map_ok {
                all_or_nothing(&path, &opts);
            }
        }
    }
});
