//! Reading the shop system's exports: CSV (UTF-8 with or without Excel's BOM, or GB18030/GBK as
//! Excel saves "CSV" on a Chinese Windows PC; CRLF welcome), JSON, or a spreadsheet (.xlsx,
//! .xls). The file's column names are mapped to the contract's: the contract names, common
//! Chinese names, and a map of the shop's own names ([`ReadOptions::map`]). Every row is checked
//! before anything is written; the first bad one is named by file, line (or sheet and cell) and
//! column.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use calamine::{Data, Reader, Sheets};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::catalog::{parse_attributes, parse_barcodes, Catalog};
use crate::domain::event::{Imported, NewEvent, OrderCancelled, OrderChanged};
use crate::domain::pin::Pin;
use crate::domain::weight::fmt_g;
use crate::domain::{Employee, Order, OrderLine, Packaging, Roles, Sku};
use crate::store::{
    Changes, ImportMeta, ImportReport, OrderRow, Put, ReferenceData, ReferenceRead, StoreError,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {where_}: {message}")]
pub struct ImportError {
    pub file: String,
    /// "line 7, column qty" (CSV), "record 3, field qty" (JSON) or
    /// "sheet 订单, cell C7, column qty" (spreadsheet)
    pub where_: String,
    pub message: String,
}

/// The text encoding of a CSV or JSON file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    /// GB18030, which includes GBK and GB2312: what Excel on a Chinese Windows PC saves.
    Gb18030,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Gb18030 => "GB18030",
        }
    }
}

/// How to read a file: the same for the bench's import and a central one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// CSV and JSON only. `None`: UTF-8, or else GB18030 when the whole file decodes cleanly
    /// as that.
    pub encoding: Option<TextEncoding>,
    /// Spreadsheets only: the sheet to read; `None`: the first.
    pub sheet: Option<String>,
    /// The file's column name → the contract column it holds (`""`: not imported). Case,
    /// spaces and full-width brackets in the file's names do not matter. Comes before the
    /// contract's own names and the built-in Chinese ones.
    pub map: HashMap<String, String>,
}

impl ReadOptions {
    /// Adds one map entry, replacing an entry for the same column name (as matched).
    pub fn map_column(&mut self, header: &str, column: &str) {
        let key = header_key(header);
        self.map.retain(|h, _| header_key(h) != key);
        self.map.insert(header.to_string(), column.to_string());
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Catalog,
    Orders,
    Employees,
    Packaging,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Catalog,
        Kind::Orders,
        Kind::Employees,
        Kind::Packaging,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Catalog => "catalog",
            Kind::Orders => "orders",
            Kind::Employees => "employees",
            Kind::Packaging => "packaging",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Columns every file of this kind must have.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Catalog => CATALOG_COLUMNS,
            Kind::Orders => ORDER_COLUMNS,
            Kind::Employees => EMPLOYEE_COLUMNS,
            Kind::Packaging => PACKAGING_COLUMNS,
        }
    }

    pub fn optional(self) -> &'static [&'static str] {
        match self {
            Kind::Catalog => &["weight_tolerance_g", "attributes"],
            Kind::Orders => &["picker_id", "gift", "status"],
            Kind::Employees => &["pin", "active"],
            Kind::Packaging => &[],
        }
    }

    /// Whether a file of this kind is checked against the stored catalog: an order's SKUs
    /// must be in it, a catalog's barcodes must not belong to another SKU.
    pub fn checks_catalog(self) -> bool {
        matches!(self, Kind::Catalog | Kind::Orders)
    }

    /// Every contract column of this kind, required first.
    pub fn columns(self) -> impl Iterator<Item = &'static str> {
        self.required().iter().chain(self.optional()).copied()
    }

    fn column(self, name: &str) -> Option<&'static str> {
        self.columns().find(|c| *c == name)
    }

    /// Column names shop systems use (淘宝/千牛, 旺店通, 聚水潭, Excel templates), in
    /// [`header_key`] form.
    fn aliases(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Orders => &[
                ("订单号", "order_no"),
                ("订单编号", "order_no"),
                ("主订单编号", "order_no"),
                ("平台订单号", "order_no"),
                ("运单号", "waybill_no"),
                ("运单编号", "waybill_no"),
                ("物流单号", "waybill_no"),
                ("快递单号", "waybill_no"),
                ("面单号", "waybill_no"),
                ("快递公司", "carrier"),
                ("物流公司", "carrier"),
                ("承运商", "carrier"),
                ("收件人", "recipient"),
                ("收件人姓名", "recipient"),
                ("收货人", "recipient"),
                ("收货人姓名", "recipient"),
                ("国家", "country"),
                ("国家/地区", "country"),
                ("收货国家", "country"),
                ("收货地址", "address"),
                ("收件地址", "address"),
                ("详细地址", "address"),
                ("买家留言", "buyer_note"),
                ("订单备注", "buyer_note"),
                ("买家备注", "buyer_note"),
                ("商品编码", "sku"),
                ("商家编码", "sku"),
                ("货品编码", "sku"),
                ("规格编码", "sku"),
                ("数量", "qty"),
                ("购买数量", "qty"),
                ("商品数量", "qty"),
                ("拣货员", "picker_id"),
                ("拣货员工号", "picker_id"),
                ("赠品", "gift"),
                ("是否赠品", "gift"),
                ("订单状态", "status"),
            ],
            Kind::Catalog => &[
                ("商品编码", "sku"),
                ("商家编码", "sku"),
                ("货品编码", "sku"),
                ("规格编码", "sku"),
                ("商品名称", "name"),
                ("货品名称", "name"),
                ("名称", "name"),
                ("品名", "name"),
                ("条码", "barcodes"),
                ("条形码", "barcodes"),
                ("商品条码", "barcodes"),
                ("单品重量(g)", "unit_weight_g"),
                ("单品重量", "unit_weight_g"),
                ("重量", "unit_weight_g"),
                ("重量(g)", "unit_weight_g"),
                ("重量(克)", "unit_weight_g"),
                ("允差", "weight_tolerance_g"),
                ("允差(g)", "weight_tolerance_g"),
                ("重量允差(g)", "weight_tolerance_g"),
                ("属性", "attributes"),
                ("规格", "attributes"),
                ("销售属性", "attributes"),
            ],
            Kind::Employees => &[
                ("工号", "id"),
                ("员工编号", "id"),
                ("员工工号", "id"),
                ("姓名", "name"),
                ("员工姓名", "name"),
                ("角色", "roles"),
                ("岗位", "roles"),
                ("工牌", "badge"),
                ("工牌号", "badge"),
                ("工牌条码", "badge"),
                ("密码", "pin"),
                ("pin码", "pin"),
                ("在职", "active"),
                ("状态", "active"),
            ],
            Kind::Packaging => &[
                ("包材编码", "code"),
                ("包材条码", "code"),
                ("名称", "name"),
                ("包材名称", "name"),
                ("皮重", "tare_g"),
                ("皮重(g)", "tare_g"),
                ("包材重量(g)", "tare_g"),
            ],
        }
    }
}

/// A column name as matched: no spaces, ASCII lower case, full-width brackets as ASCII.
pub fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Checks a column map for `kind`: every target is a contract column or `""`.
pub fn check_map(kind: Kind, map: &HashMap<String, String>) -> Result<(), String> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort();
    for (header, column) in entries {
        let column = column.trim();
        if !column.is_empty() && kind.column(column).is_none() {
            return Err(format!(
                "{header:?} = {column:?}: {column:?} is not a column of {} ({}, or \"\" for not imported)",
                kind.name(),
                kind.columns().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Ok(())
}

/// Which contract column each of the file's columns holds (`None`: extra, not imported).
/// The user's map comes first, then the contract's names, then the built-in ones; a column
/// claimed at a stronger level leaves the weaker claims extra, and two claims at one level
/// are an error rather than a guess.
fn resolve(
    kind: Kind,
    headers: &[String],
    map: &HashMap<String, String>,
) -> Result<Vec<Option<&'static str>>, String> {
    let user: HashMap<String, &str> = map.iter().map(|(h, c)| (header_key(h), c.trim())).collect();
    let mut picks: Vec<Option<(&'static str, u8)>> = Vec::with_capacity(headers.len());
    for h in headers {
        let key = header_key(h);
        let pick = match user.get(&key) {
            Some(&"") => None,
            Some(c) => Some((
                kind.column(c).ok_or_else(|| {
                    format!(
                        "the column map sends {h:?} to {c:?}, which is not a column of {}",
                        kind.name()
                    )
                })?,
                3,
            )),
            None => match kind.column(&key) {
                Some(c) => Some((c, 2)),
                None => kind
                    .aliases()
                    .iter()
                    .find(|(a, _)| *a == key)
                    .map(|(_, c)| (*c, 1)),
            },
        };
        picks.push(pick);
    }
    let mut out = vec![None; headers.len()];
    for col in kind.columns() {
        let Some(best) = picks
            .iter()
            .flatten()
            .filter(|p| p.0 == col)
            .map(|p| p.1)
            .max()
        else {
            continue;
        };
        let at: Vec<usize> = (0..headers.len())
            .filter(|&i| picks[i] == Some((col, best)))
            .collect();
        if let [a, b, ..] = at[..] {
            return Err(format!(
                "columns {:?} and {:?} both hold {col}: map the one not to import to \"\" (a column map, e.g. [import.{}] in the config)",
                headers[a],
                headers[b],
                kind.name()
            ));
        }
        out[at[0]] = Some(col);
    }
    Ok(out)
}

fn missing_required(
    kind: Kind,
    headers: &[String],
    cols: &[Option<&'static str>],
) -> Option<String> {
    let r = kind
        .required()
        .iter()
        .find(|r| !cols.contains(&Some(**r)))?;
    Some(format!(
        "required column {r:?} is missing (found: {}; a column of another name can be mapped to it in [import.{}] of the config or a column map)",
        headers.join(","),
        kind.name()
    ))
}

/// Columns that hold codes: a number Excel shortened there is a wrong code, not a rounding.
const CODE_COLUMNS: &[&str] = &[
    "barcodes",
    "order_no",
    "waybill_no",
    "sku",
    "picker_id",
    "id",
    "badge",
    "code",
];

/// Excel keeps 15 significant digits of a number; a code longer than that lost the rest.
const EXCEL_DIGITS_LIMIT: f64 = 1e15;

/// Above this an f64 no longer holds every whole number.
const EXACT_F64_LIMIT: f64 = 9_007_199_254_740_992.0;

/// A code Excel wrote in scientific notation (`6.90123E+12`): its digits are gone.
fn excel_scientific(v: &str) -> bool {
    let Some((mantissa, exp)) = v.trim().split_once(['E', 'e']) else {
        return false;
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac) && exp.strip_prefix('+').is_some_and(digits)
}

/// The error for a code text that lost its digits, if it did.
fn lost_digits_text(column: &str, v: &str) -> Option<String> {
    if !CODE_COLUMNS.contains(&column) {
        return None;
    }
    let lost = v
        .split('|')
        .map(|part| part.rsplit_once('*').map_or(part, |(code, _)| code))
        .any(excel_scientific);
    lost.then(|| {
        format!(
            "{:?} lost its digits: Excel wrote the number in scientific notation. In the original export, format the column as Number with 0 decimal places (or as Text) before saving, or import the .xlsx file instead",
            v.trim()
        )
    })
}

/// A spreadsheet number as the text it was typed as: `6901234567890.0` is the barcode
/// `6901234567890`, `1.0` the quantity `1`.
fn float_text(x: f64, column: &str) -> Result<String, String> {
    let limit = if CODE_COLUMNS.contains(&column) {
        EXCEL_DIGITS_LIMIT
    } else {
        EXACT_F64_LIMIT
    };
    if x.is_finite() && x.fract() == 0.0 {
        if x.abs() >= limit {
            return Err(format!(
                "the number {x:e} has lost digits (a spreadsheet keeps only 15 significant digits of a number). In Excel, format the column as Text and enter the codes again, or have the shop system export it as text"
            ));
        }
        return Ok(format!("{}", x as i64));
    }
    Ok(format!("{x}"))
}

/// A whole number as a file writes it: `2`, or `2.0` / `2.00` where a spreadsheet saved its
/// number cell to CSV. The qty of every format is read here (a sheet's 2.0 cell arrives as
/// "2" from [`float_text`]); `1.5` and `2E+0` are not whole numbers as written.
fn whole_number(v: &str) -> Option<u32> {
    let int = match v.split_once('.') {
        Some((int, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => int,
        Some(_) => return None,
        None => v,
    };
    int.parse().ok()
}

fn cell_text(cell: &Data, column: &str) -> Result<String, String> {
    match cell {
        Data::Empty => Ok(String::new()),
        Data::String(s) => match lost_digits_text(column, s) {
            Some(m) => Err(m),
            None => Ok(s.clone()),
        },
        Data::Int(i) => Ok(i.to_string()),
        Data::Float(x) => float_text(*x, column),
        Data::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
        Data::Error(e) => Err(format!("holds the spreadsheet error {e}")),
        // Dates: not in any contract column; their text keeps a mistake visible.
        other => Ok(other.to_string()),
    }
}

/// Spreadsheet column letters: 0 → A, 26 → AA.
fn column_letters(mut n: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

#[derive(Debug, Clone)]
enum Origin {
    /// A CSV line.
    Line,
    /// A JSON record.
    Record,
    /// A spreadsheet row: the sheet and each contract column's letter index.
    Sheet {
        name: Arc<str>,
        columns: Arc<HashMap<&'static str, u32>>,
    },
}

/// One data row, whatever the file format.
#[derive(Debug, Clone)]
pub struct Row {
    /// Line in the file where the row starts (CSV), 1-based record number (JSON) or the
    /// spreadsheet's row number.
    pub line: u64,
    origin: Origin,
    /// Contract column → text; the file's extra columns are not kept.
    fields: HashMap<&'static str, String>,
}

impl Row {
    fn place(&self, column: &str) -> String {
        match &self.origin {
            Origin::Line => format!("line {}, column {column}", self.line),
            Origin::Record => format!("record {}, field {column}", self.line),
            Origin::Sheet { name, columns } => match columns.get(column) {
                Some(&c) => format!(
                    "sheet {name}, cell {}{}, column {column}",
                    column_letters(c),
                    self.line
                ),
                None => format!("sheet {name}, row {}, column {column}", self.line),
            },
        }
    }

    /// Where the row is, for "already appears on ..." ("line 7"; "row 7" in a sheet).
    fn at(&self) -> String {
        match self.origin {
            Origin::Sheet { .. } => format!("row {}", self.line),
            _ => format!("line {}", self.line),
        }
    }

    pub fn get(&self, column: &str) -> &str {
        self.fields.get(column).map(String::as_str).unwrap_or("")
    }
}

pub struct Rows {
    pub file: String,
    pub sha256: String,
    /// What was read: "UTF-8 CSV", "GB18030 CSV", "UTF-8 JSON", "XLSX, sheet 订单".
    pub source: String,
    /// Each of the file's columns and the contract column it holds (`None`: extra, not
    /// imported). For JSON, the first record's keys.
    pub columns: Columns,
    pub rows: Vec<Row>,
}

impl Rows {
    fn err(&self, row: &Row, column: &str, message: impl Into<String>) -> ImportError {
        ImportError {
            file: self.file.clone(),
            where_: row.place(column),
            message: message.into(),
        }
    }

    fn required<'a>(&self, row: &'a Row, column: &str) -> Result<&'a str, ImportError> {
        let v = row.get(column).trim();
        if v.is_empty() {
            return Err(self.err(row, column, "is empty"));
        }
        Ok(v)
    }

    fn number(&self, row: &Row, column: &str, required: bool) -> Result<Option<f64>, ImportError> {
        let v = row.get(column).trim();
        if v.is_empty() {
            return if required {
                Err(self.err(row, column, "is empty"))
            } else {
                Ok(None)
            };
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(self.err(
                row,
                column,
                format!("{v:?} is not a weight in grams (a number of 0 or more)"),
            )),
        }
    }
}

/// Spreadsheet files, by extension.
const SHEET_EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xls", "xlsb", "ods"];

/// The file's columns, each with the contract column it holds.
pub type Columns = Vec<(String, Option<&'static str>)>;

/// Where in the file, and what is wrong.
type Failure = (String, String);

/// Reads a CSV, JSON (by extension) or spreadsheet file into rows of `kind`'s columns,
/// checking the required columns are there.
pub fn read_rows(path: &Path, kind: Kind, opts: &ReadOptions) -> Result<Rows, ImportError> {
    let file = path.display().to_string();
    let fail = |where_: String, message: String| ImportError {
        file: file.clone(),
        where_,
        message,
    };
    check_map(kind, &opts.map).map_err(|m| fail("column map".into(), m))?;
    let bytes =
        std::fs::read(path).map_err(|e| fail("file".into(), format!("cannot be read: {e}")))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let (source, columns, mut rows) = if SHEET_EXTENSIONS.contains(&ext.as_str()) {
        if opts.encoding.is_some() {
            return Err(fail(
                "file".into(),
                "is a spreadsheet: a text encoding applies to CSV and JSON files only".into(),
            ));
        }
        sheet_rows(bytes, &ext, kind, opts)
    } else {
        if opts.sheet.is_some() {
            return Err(fail(
                "file".into(),
                "is not a spreadsheet: a sheet name applies to .xlsx and .xls files only".into(),
            ));
        }
        let (text, encoding) = decode(&bytes, opts.encoding).map_err(|(at, m)| {
            // Line ends as the CSV reader counts them: LF, CRLF, or a lone CR.
            let line = (0..at)
                .filter(|&i| {
                    bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
                })
                .count()
                + 1;
            fail(format!("line {line}"), m.into())
        })?;
        if encoding != TextEncoding::Utf8 {
            tracing::info!(file = %file, encoding = encoding.name(), "import file is not UTF-8");
        }
        // Excel's "CSV UTF-8" starts with a byte-order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if ext == "json" {
            json_rows(text, kind, &opts.map)
                .map(|(c, r)| (format!("{} JSON", encoding.name()), c, r))
        } else {
            csv_rows(text, kind, &opts.map).map(|(c, r)| (format!("{} CSV", encoding.name()), c, r))
        }
    }
    .map_err(|(w, m)| fail(w, m))?;
    neutralise_nul(&file, &mut rows);
    Ok(Rows {
        file,
        sha256,
        source,
        columns,
        rows,
    })
}

/// What a NUL in imported text becomes: U+FFFD, the replacement character, visible where the
/// text is shown and never a control byte.
pub const NUL_REPLACEMENT: char = '\u{FFFD}';

/// At most this many fields are named one by one in the log; then one line counts the rest.
const NUL_WARNINGS: usize = 20;

/// Replaces every NUL in every field with [`NUL_REPLACEMENT`], with a warning naming file, line
/// and column (once per field). Text is data and is not refused (the contract), but PostgreSQL
/// text cannot hold a NUL while SQLite can: done here, where both backends' imports read
/// their rows, the bench and the centre store the same text. Other control characters are
/// stored as given (both databases hold them) and neutralised where shown or printed.
fn neutralise_nul(file: &str, rows: &mut [Row]) {
    let mut fields = 0usize;
    for row in rows.iter_mut() {
        // Sorted: the same log every run (a map's order is arbitrary).
        let mut cols: Vec<&'static str> = row
            .fields
            .iter()
            .filter(|(_, v)| v.contains('\0'))
            .map(|(c, _)| *c)
            .collect();
        cols.sort_unstable();
        for col in cols {
            if let Some(v) = row.fields.get_mut(col) {
                *v = v.replace('\0', &NUL_REPLACEMENT.to_string());
            }
            fields += 1;
            if fields <= NUL_WARNINGS {
                tracing::warn!(
                    "{file}: {}: a NUL byte in the text is stored as U+FFFD (\u{FFFD})",
                    row.place(col)
                );
            }
        }
    }
    if fields > NUL_WARNINGS {
        tracing::warn!(
            "{file}: NUL bytes stored as U+FFFD in {fields} fields ({} more than named above)",
            fields - NUL_WARNINGS
        );
    }
}

/// The file's text; on failure, the byte offset where it stops being text and why.
fn decode(
    bytes: &[u8],
    forced: Option<TextEncoding>,
) -> Result<(Cow<'_, str>, TextEncoding), (usize, &'static str)> {
    let utf8 = || {
        std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|e| e.valid_up_to())
    };
    match forced {
        Some(TextEncoding::Utf8) => utf8()
            .map(|t| (t, TextEncoding::Utf8))
            .map_err(|at| (at, "is not UTF-8 text (save the file as UTF-8 / CSV UTF-8)")),
        Some(TextEncoding::Gb18030) => gb18030(bytes)
            .map(|t| (Cow::Owned(t), TextEncoding::Gb18030))
            .map_err(|at| {
                (
                    at,
                    "is not GB18030 text (is the encoding right? or save the file as CSV UTF-8)",
                )
            }),
        None => match utf8() {
            Ok(t) => Ok((t, TextEncoding::Utf8)),
            Err(u) => match gb18030(bytes) {
                Ok(t) => Ok((Cow::Owned(t), TextEncoding::Gb18030)),
                // Name the place the likelier reading breaks: the one that got further.
                Err(g) => Err((
                    u.max(g),
                    "is not UTF-8 text, nor GB18030 (save the file as UTF-8 / CSV UTF-8)",
                )),
            },
        },
    }
}

/// Strict GB18030: any malformed byte sequence is an error (its byte offset), not a U+FFFD.
fn gb18030(bytes: &[u8]) -> Result<String, usize> {
    use encoding_rs::DecoderResult;
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok(out),
        DecoderResult::Malformed(bad, after) => {
            Err(read.saturating_sub(usize::from(bad) + usize::from(after)))
        }
        DecoderResult::OutputFull => Err(read),
    }
}

fn csv_rows(
    text: &str,
    kind: Kind,
    map: &HashMap<String, String>,
) -> Result<(Columns, Vec<Row>), Failure> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| ("line 1".to_string(), format!("header row unreadable: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let cols = resolve(kind, &headers, map).map_err(|m| ("line 1".to_string(), m))?;
    if let Some(m) = missing_required(kind, &headers, &cols) {
        return Err(("line 1".into(), m));
    }
    // Lines are counted from byte offsets: the csv crate's own line count is one short on
    // CRLF files (Excel's), and an error must name the line the user sees.
    let bytes = text.as_bytes();
    // A line ends at LF, or at a lone CR (old Mac files, which the csv crate also accepts).
    let newlines: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .collect();
    let line_at = |byte: u64| {
        // A CRLF record is reported from the LF before it: step over line ends first.
        let mut b = byte as usize;
        while b < bytes.len() && (bytes[b] == b'\r' || bytes[b] == b'\n') {
            b += 1;
        }
        newlines.partition_point(|&i| i < b) as u64 + 1
    };
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| line_at(p.byte())).unwrap_or(0);
            let msg = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!("has {len} fields but the header has {expected_len}"),
                _ => e.to_string(),
            };
            (format!("line {line}"), msg)
        })?;
        let line = rec.position().map(|p| line_at(p.byte())).unwrap_or(0);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let mut fields = HashMap::new();
        for (col, v) in cols.iter().zip(rec.iter()) {
            let Some(col) = *col else { continue };
            if let Some(m) = lost_digits_text(col, v) {
                return Err((format!("line {line}, column {col}"), m));
            }
            fields.insert(col, v.to_string());
        }
        out.push(Row {
            line,
            origin: Origin::Line,
            fields,
        });
    }
    Ok((headers.into_iter().zip(cols).collect(), out))
}

fn json_rows(
    text: &str,
    kind: Kind,
    map: &HashMap<String, String>,
) -> Result<(Columns, Vec<Row>), Failure> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        (
            format!("line {}", e.line()),
            format!("is not valid JSON: {e}"),
        )
    })?;
    let arr = v.as_array().ok_or_else(|| {
        (
            "file".to_string(),
            "must be a JSON array of rows".to_string(),
        )
    })?;
    let mut out = Vec::new();
    let mut columns = Vec::new();
    for (i, item) in arr.iter().enumerate() {
        let n = i as u64 + 1;
        let obj = item
            .as_object()
            .ok_or_else(|| (format!("record {n}"), "is not a JSON object".to_string()))?;
        let keys: Vec<String> = obj.keys().map(|k| k.trim().to_string()).collect();
        let cols = resolve(kind, &keys, map).map_err(|m| (format!("record {n}"), m))?;
        let mut fields = HashMap::new();
        for ((k, v), col) in obj.iter().zip(&cols) {
            let s = match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
                Value::Number(x) => x.to_string(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
                    .collect::<Vec<_>>()
                    .join("|"),
                Value::Object(_) => {
                    return Err((
                        format!("record {n}, field {}", col.unwrap_or(k.trim())),
                        "must be a string or number, not an object".into(),
                    ))
                }
            };
            if let Some(col) = col {
                fields.insert(*col, s);
            }
        }
        for r in kind.required() {
            if !fields.contains_key(*r) {
                return Err((format!("record {n}, field {r}"), "is missing".to_string()));
            }
        }
        if i == 0 {
            columns = keys.into_iter().zip(cols).collect();
        }
        out.push(Row {
            line: n,
            origin: Origin::Record,
            fields,
        });
    }
    Ok((columns, out))
}

/// The first sheet (or the named one) of a workbook: a header row, then one row per record.
fn sheet_rows(
    bytes: Vec<u8>,
    ext: &str,
    kind: Kind,
    opts: &ReadOptions,
) -> Result<(String, Columns, Vec<Row>), Failure> {
    let unreadable = |e: String| {
        (
            "file".to_string(),
            format!("cannot be read as a .{ext} file: {e}"),
        )
    };
    let cursor = Cursor::new(bytes);
    let mut book: Sheets<Cursor<Vec<u8>>> = match ext {
        "xls" => Sheets::Xls(
            calamine::open_workbook_from_rs::<calamine::Xls<_>, _>(cursor)
                .map_err(|e| unreadable(e.to_string()))?,
        ),
        "xlsb" => Sheets::Xlsb(
            calamine::open_workbook_from_rs::<calamine::Xlsb<_>, _>(cursor)
                .map_err(|e| unreadable(e.to_string()))?,
        ),
        "ods" => Sheets::Ods(
            calamine::open_workbook_from_rs::<calamine::Ods<_>, _>(cursor)
                .map_err(|e| unreadable(e.to_string()))?,
        ),
        _ => Sheets::Xlsx(
            calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(cursor)
                .map_err(|e| unreadable(e.to_string()))?,
        ),
    };
    let names = book.sheet_names();
    let name = match &opts.sheet {
        Some(want) => names
            .iter()
            .find(|n| *n == want)
            .or_else(|| names.iter().find(|n| n.trim() == want.trim()))
            .ok_or_else(|| {
                (
                    "file".to_string(),
                    format!("has no sheet {want:?} (its sheets: {})", names.join(", ")),
                )
            })?,
        None => names
            .first()
            .ok_or_else(|| ("file".to_string(), "has no sheets".to_string()))?,
    }
    .clone();
    let range = book
        .worksheet_range(&name)
        .map_err(|e| (format!("sheet {name}"), format!("cannot be read: {e}")))?;
    let Some((row0, col0)) = range.start() else {
        return Err((
            format!("sheet {name}"),
            "is empty: the first row must name the columns".into(),
        ));
    };
    let mut sheet_rows = range.rows();
    let headers: Vec<String> = sheet_rows
        .next()
        .unwrap_or(&[])
        .iter()
        .map(|c| c.to_string().trim().to_string())
        .collect();
    let header_place = format!("sheet {name}, row {}", row0 + 1);
    let cols = resolve(kind, &headers, &opts.map).map_err(|m| (header_place.clone(), m))?;
    if let Some(m) = missing_required(kind, &headers, &cols) {
        return Err((header_place, m));
    }
    let letters: Arc<HashMap<&'static str, u32>> = Arc::new(
        cols.iter()
            .enumerate()
            .filter_map(|(i, c)| c.map(|c| (c, col0 + i as u32)))
            .collect(),
    );
    let sheet: Arc<str> = name.as_str().into();
    let mut out = Vec::new();
    for (i, cells) in sheet_rows.enumerate() {
        // The spreadsheet's own row number: the header is row0 + 1.
        let line = u64::from(row0) + i as u64 + 2;
        let blank = |c: &Data| match c {
            Data::Empty => true,
            Data::String(s) => s.trim().is_empty(),
            _ => false,
        };
        if cells.iter().all(blank) {
            continue;
        }
        let mut fields = HashMap::new();
        for (j, (cell, col)) in cells.iter().zip(&cols).enumerate() {
            let Some(col) = *col else { continue };
            let text = cell_text(cell, col).map_err(|m| {
                (
                    format!(
                        "sheet {name}, cell {}{line}, column {col}",
                        column_letters(col0 + j as u32)
                    ),
                    m,
                )
            })?;
            fields.insert(col, text);
        }
        out.push(Row {
            line,
            origin: Origin::Sheet {
                name: sheet.clone(),
                columns: letters.clone(),
            },
            fields,
        });
    }
    let source = format!("{}, sheet {name}", ext.to_ascii_uppercase());
    Ok((source, headers.into_iter().zip(cols).collect(), out))
}

pub const CATALOG_COLUMNS: &[&str] = &["sku", "name", "barcodes", "unit_weight_g"];
pub const ORDER_COLUMNS: &[&str] = &[
    "order_no",
    "waybill_no",
    "carrier",
    "recipient",
    "country",
    "address",
    "buyer_note",
    "sku",
    "qty",
];
pub const EMPLOYEE_COLUMNS: &[&str] = &["id", "name", "roles", "badge"];
pub const PACKAGING_COLUMNS: &[&str] = &["code", "name", "tare_g"];

/// Role names as Chinese staff lists write them (拣货员、打包员) in the contract's form
/// (`picker|packer`).
fn roles_field(v: &str) -> String {
    v.split(['|', '、', ',', '，', '/'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p {
            "拣货员" | "拣货" => "picker",
            "打包员" | "打包" | "包装员" => "packer",
            "主管" => "supervisor",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Attributes as Chinese shops write them (`颜色:蓝色;尺码:L`) in the contract's form
/// (`颜色=蓝色;尺码=L`); a part that already has `=` is left alone.
fn attributes_field(v: &str) -> Cow<'_, str> {
    if !v.contains([':', '：']) {
        return Cow::Borrowed(v);
    }
    Cow::Owned(
        v.split(';')
            .map(|part| match part.split_once([':', '：']) {
                Some((k, val)) if !part.contains('=') => format!("{k}={val}"),
                _ => part.to_string(),
            })
            .collect::<Vec<_>>()
            .join(";"),
    )
}

/// Checks catalog rows; `existing` is the catalog already stored (its barcodes stay taken).
pub fn parse_catalog(rows: &Rows, existing: &[Sku]) -> Result<Vec<Sku>, ImportError> {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(rows.rows.len());
    let mut claimed: HashMap<String, (String, String)> = HashMap::new();
    let replaced: HashSet<&str> = rows.rows.iter().map(|r| r.get("sku").trim()).collect();
    for s in existing
        .iter()
        .filter(|s| !replaced.contains(s.sku.as_str()))
    {
        for b in &s.barcodes {
            claimed.insert(
                crate::domain::barcode::catalog_key(&b.code),
                (s.sku.clone(), "the stored catalog".into()),
            );
        }
    }
    for row in &rows.rows {
        let sku = rows.required(row, "sku")?.to_string();
        if let Some(first) = seen.insert(sku.clone(), row.at()) {
            return Err(rows.err(row, "sku", format!("{sku} already appears on {first}")));
        }
        let name = rows.required(row, "name")?.to_string();
        let barcodes =
            parse_barcodes(row.get("barcodes")).map_err(|m| rows.err(row, "barcodes", m))?;
        for b in &barcodes {
            let key = crate::domain::barcode::catalog_key(&b.code);
            if let Some((other, place)) = claimed.get(&key) {
                if other != &sku {
                    return Err(rows.err(
                        row,
                        "barcodes",
                        format!("barcode {} already belongs to {other} ({place})", b.code),
                    ));
                }
            }
            claimed.insert(key, (sku.clone(), row.at()));
        }
        let unit_weight_g = rows.number(row, "unit_weight_g", true)?.unwrap_or(0.0);
        let weight_tolerance_g = rows.number(row, "weight_tolerance_g", false)?;
        let attributes = parse_attributes(&attributes_field(row.get("attributes")))
            .map_err(|m| rows.err(row, "attributes", m))?;
        out.push(Sku {
            sku,
            name,
            barcodes,
            unit_weight_g,
            weight_tolerance_g,
            attributes,
        });
    }
    // Belt and braces: the catalog as a whole must build.
    Catalog::new(out.iter().cloned()).map_err(|m| ImportError {
        file: rows.file.clone(),
        where_: "file".into(),
        message: m,
    })?;
    Ok(out)
}

/// Checks order rows and groups them into orders; every SKU must be in `skus`.
pub fn parse_orders(rows: &Rows, skus: &HashSet<String>) -> Result<Vec<Order>, ImportError> {
    const ORDER_LEVEL: &[&str] = &[
        "waybill_no",
        "carrier",
        "recipient",
        "country",
        "address",
        "buyer_note",
        "picker_id",
        "status",
    ];
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut first_row: Vec<&Row> = Vec::new();
    let mut orders: Vec<Order> = Vec::new();
    let mut waybills: HashMap<String, String> = HashMap::new();
    for row in &rows.rows {
        let order_no = rows.required(row, "order_no")?.to_string();
        let sku = rows.required(row, "sku")?.to_string();
        if !skus.contains(&sku) {
            return Err(rows.err(
                row,
                "sku",
                format!("{sku} is not in the catalog (import the catalog first)"),
            ));
        }
        let qty_s = row.get("qty").trim();
        let qty = match whole_number(qty_s) {
            Some(q) if q > 0 => q,
            _ => {
                return Err(rows.err(
                    row,
                    "qty",
                    format!("{qty_s:?} is not a whole number of at least 1"),
                ))
            }
        };
        let gift = match row.get("gift").trim().to_ascii_lowercase().as_str() {
            "" | "0" | "false" | "no" | "否" => false,
            "1" | "true" | "yes" | "是" => true,
            other => {
                return Err(rows.err(row, "gift", format!("{other:?} is not 1 or 0")));
            }
        };
        let status = row.get("status").trim().to_ascii_lowercase();
        let cancelled = match status.as_str() {
            // Shop systems' words for an order still to ship (Shopify's financial status
            // "paid", WooCommerce's "processing", Taobao's 等待卖家发货) or a cancelled one.
            "" | "active" | "pending" | "paid" | "processing" | "待发货" | "等待卖家发货"
            | "买家已付款" | "已付款" => false,
            "cancelled" | "canceled" | "voided" | "已取消" | "取消" | "交易关闭" | "已关闭" => {
                true
            }
            _ => {
                return Err(rows.err(
                    row,
                    "status",
                    format!("{status:?} is not a known status (leave empty or write cancelled)"),
                ))
            }
        };
        let line = OrderLine { sku, qty, gift };
        match index.get(&order_no) {
            Some(&i) => {
                let first = first_row[i];
                for col in ORDER_LEVEL {
                    if row.get(col).trim() != first.get(col).trim() {
                        return Err(rows.err(
                            row,
                            col,
                            format!("differs from {} of the same order {order_no}", first.at()),
                        ));
                    }
                }
                orders[i].lines.push(line);
            }
            None => {
                let waybill_no = rows.required(row, "waybill_no")?.to_string();
                if let Some(other) = waybills.insert(waybill_no.clone(), order_no.clone()) {
                    return Err(rows.err(
                        row,
                        "waybill_no",
                        format!("waybill {waybill_no} is already used by order {other}"),
                    ));
                }
                let picker = row.get("picker_id").trim();
                index.insert(order_no.clone(), orders.len());
                first_row.push(row);
                orders.push(Order {
                    order_no,
                    waybill_no,
                    carrier: row.get("carrier").trim().to_string(),
                    recipient: row.get("recipient").to_string(),
                    country: row.get("country").trim().to_string(),
                    address: row.get("address").to_string(),
                    buyer_note: row.get("buyer_note").to_string(),
                    lines: vec![line],
                    picker_id: (!picker.is_empty()).then(|| picker.to_string()),
                    cancelled,
                });
            }
        }
    }
    Ok(orders)
}

/// An employee row of a file: the employee as stored, and the PIN of the `pin` column, held
/// in clear only until the import hashes it (or finds the stored hash already is its hash).
#[derive(Debug, Clone)]
pub struct EmployeeRow {
    pub employee: Employee,
    pub pin: Option<Pin>,
}

impl std::ops::Deref for EmployeeRow {
    type Target = Employee;
    fn deref(&self) -> &Employee {
        &self.employee
    }
}

impl EmployeeRow {
    /// The employee to store over `old`: the file's PIN keeps the stored hash when it is
    /// that PIN's (so a re-import changes nothing), else is hashed afresh; no PIN in the
    /// file keeps the stored one (set by `packbench employee pin`).
    pub fn resolve(&self, old: Option<&Employee>) -> Employee {
        let old_hash = old.and_then(|o| o.pin_hash.clone());
        let pin_hash = match (&self.pin, old_hash) {
            // Kept only at today's cost: an older, cheaper hash is made again.
            (Some(p), Some(h)) if !h.needs_rehash() && h.verify(p) => Some(h),
            (Some(p), _) => Some(p.hash()),
            (None, h) => h,
        };
        Employee {
            pin_hash,
            ..self.employee.clone()
        }
    }
}

pub fn parse_employees(rows: &Rows) -> Result<Vec<EmployeeRow>, ImportError> {
    let mut ids = HashMap::new();
    let mut badges = HashMap::new();
    let mut out = Vec::new();
    for row in &rows.rows {
        let id = rows.required(row, "id")?.to_string();
        if let Some(l) = ids.insert(id.clone(), row.at()) {
            return Err(rows.err(row, "id", format!("{id} already appears on {l}")));
        }
        let name = rows.required(row, "name")?.to_string();
        let roles =
            Roles::parse(&roles_field(row.get("roles"))).map_err(|m| rows.err(row, "roles", m))?;
        let badge = rows.required(row, "badge")?.to_string();
        if let Some(l) = badges.insert(badge.clone(), row.at()) {
            return Err(rows.err(row, "badge", format!("badge {badge} is already on {l}")));
        }
        let pin = match row.get("pin").trim() {
            "" => None,
            p => Some(Pin::valid_for(p, roles.supervisor).map_err(|m| rows.err(row, "pin", m))?),
        };
        let active = match row.get("active").trim().to_ascii_lowercase().as_str() {
            "" | "1" | "yes" | "true" | "在职" => true,
            "0" | "no" | "false" | "离职" => false,
            other => return Err(rows.err(row, "active", format!("{other:?} is not 1 or 0"))),
        };
        out.push(EmployeeRow {
            employee: Employee {
                active,
                ..Employee::new(&id, &name, roles, &badge)
            },
            pin,
        });
    }
    Ok(out)
}

pub fn parse_packaging(rows: &Rows) -> Result<Vec<Packaging>, ImportError> {
    let mut codes = HashMap::new();
    let mut out = Vec::new();
    for row in &rows.rows {
        let code = rows.required(row, "code")?.to_string();
        if let Some(l) = codes.insert(code.clone(), row.at()) {
            return Err(rows.err(row, "code", format!("{code} already appears on {l}")));
        }
        let name = rows.required(row, "name")?.to_string();
        let tare_g = rows.number(row, "tare_g", true)?.unwrap_or(0.0);
        out.push(Packaging { code, name, tare_g });
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportFileError {
    #[error(transparent)]
    Row(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Where an import is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Reading,
    /// Checking this many rows.
    Checking(usize),
    /// Written so far, of total records (orders, SKUs, ...).
    Writing(usize, usize),
}

/// One file read and checked against the store, not written: what `--dry-run` shows.
pub struct Checked {
    pub rows: Rows,
    pub parsed: Parsed,
    /// The file's name without its folder, as the `imported` event records it.
    pub file_name: String,
}

impl Checked {
    pub fn meta(&self, station_id: &str, at: chrono::DateTime<chrono::FixedOffset>) -> ImportMeta {
        ImportMeta {
            file: self.file_name.clone(),
            sha256: self.rows.sha256.clone(),
            station_id: station_id.to_string(),
            at,
        }
    }
}

/// Reads and checks one file against what `store` holds (the catalog for orders, the
/// stored barcodes for a catalog); writes nothing.
pub fn check_file<S: ReferenceData + ?Sized>(
    store: &S,
    kind: Kind,
    path: &Path,
    opts: &ReadOptions,
    on_progress: &mut dyn FnMut(Phase),
) -> Result<Checked, ImportFileError> {
    on_progress(Phase::Reading);
    let rows = read_rows(path, kind, opts)?;
    on_progress(Phase::Checking(rows.rows.len()));
    let catalog = if kind.checks_catalog() {
        store.load_catalog()?
    } else {
        Vec::new()
    };
    Ok(check_rows(path, kind, rows, &catalog)?)
}

/// Checks rows read from `path` against the stored catalog (read only when
/// [`Kind::checks_catalog`]): what a bench's and a central import or dry run share.
pub fn check_rows(
    path: &Path,
    kind: Kind,
    rows: Rows,
    catalog: &[Sku],
) -> Result<Checked, ImportError> {
    let parsed = match kind {
        Kind::Catalog => Parsed::Catalog(parse_catalog(&rows, catalog)?),
        Kind::Orders => {
            let skus = catalog.iter().map(|s| s.sku.clone()).collect();
            Parsed::Orders(parse_orders(&rows, &skus)?)
        }
        Kind::Employees => Parsed::Employees(parse_employees(&rows)?),
        Kind::Packaging => Parsed::Packaging(parse_packaging(&rows)?),
    };
    Ok(Checked {
        rows,
        parsed,
        file_name: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
    })
}

/// The files of a whole data set in `fixtures/` (and the demo's copy of them), in the order
/// they import: orders name SKUs and pickers, so those come first.
pub const DATA_SET: [(Kind, &str); 4] = [
    (Kind::Catalog, "catalog.csv"),
    (Kind::Employees, "employees.csv"),
    (Kind::Packaging, "packaging.csv"),
    (Kind::Orders, "orders.csv"),
];

/// Imports the [`DATA_SET`] files of `dir`, each as [`import_file`] does.
pub fn import_data_set<S: ReferenceData + ?Sized>(
    store: &mut S,
    dir: &Path,
    station_id: &str,
    at: chrono::DateTime<chrono::FixedOffset>,
) -> Result<(), ImportFileError> {
    for (kind, file) in DATA_SET {
        let opts = ReadOptions::default();
        import_file(
            store,
            kind,
            &dir.join(file),
            &opts,
            station_id,
            at,
            &mut |_| {},
        )?;
    }
    Ok(())
}

/// Reads, checks and stores one file: nothing is written unless every row is good.
pub fn import_file<S: ReferenceData + ?Sized>(
    store: &mut S,
    kind: Kind,
    path: &Path,
    opts: &ReadOptions,
    station_id: &str,
    at: chrono::DateTime<chrono::FixedOffset>,
    on_progress: &mut dyn FnMut(Phase),
) -> Result<ImportReport, ImportFileError> {
    let checked = check_file(&*store, kind, path, opts, &mut *on_progress)?;
    Ok(write(
        store,
        &checked.parsed,
        &checked.meta(station_id, at),
        &mut |done, total| on_progress(Phase::Writing(done, total)),
    )?)
}

/// Checked rows of one file, ready to write.
#[derive(Debug, Clone)]
pub enum Parsed {
    Catalog(Vec<Sku>),
    Orders(Vec<Order>),
    Employees(Vec<EmployeeRow>),
    Packaging(Vec<Packaging>),
}

impl Parsed {
    fn kind(&self) -> &'static str {
        match self {
            Parsed::Catalog(_) => "catalog",
            Parsed::Orders(_) => "orders",
            Parsed::Employees(_) => "employees",
            Parsed::Packaging(_) => "packaging",
        }
    }

    /// Records: SKUs, orders (not order lines), employees or packaging types.
    pub fn len(&self) -> usize {
        match self {
            Parsed::Catalog(x) => x.len(),
            Parsed::Orders(x) => x.len(),
            Parsed::Employees(x) => x.len(),
            Parsed::Packaging(x) => x.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n` rows as they would be stored, in the contract's columns (an order's
    /// lines one row each).
    pub fn preview(&self, n: usize) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let flag = |b: bool| if b { "1" } else { "" }.to_string();
        match self {
            Parsed::Catalog(v) => (
                Kind::Catalog.columns().collect(),
                v.iter()
                    .take(n)
                    .map(|s| {
                        vec![
                            s.sku.clone(),
                            s.name.clone(),
                            s.barcodes
                                .iter()
                                .map(|b| match b.units {
                                    1 => b.code.clone(),
                                    u => format!("{}*{u}", b.code),
                                })
                                .collect::<Vec<_>>()
                                .join("|"),
                            fmt_g(s.unit_weight_g),
                            s.weight_tolerance_g.map(fmt_g).unwrap_or_default(),
                            s.attributes
                                .iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(";"),
                        ]
                    })
                    .collect(),
            ),
            Parsed::Orders(v) => (
                Kind::Orders.columns().collect(),
                v.iter()
                    .flat_map(|o| {
                        o.lines.iter().map(move |l| {
                            vec![
                                o.order_no.clone(),
                                o.waybill_no.clone(),
                                o.carrier.clone(),
                                o.recipient.clone(),
                                o.country.clone(),
                                o.address.clone(),
                                o.buyer_note.clone(),
                                l.sku.clone(),
                                l.qty.to_string(),
                                o.picker_id.clone().unwrap_or_default(),
                                flag(l.gift),
                                if o.cancelled { "cancelled" } else { "" }.to_string(),
                            ]
                        })
                    })
                    .take(n)
                    .collect(),
            ),
            Parsed::Employees(v) => (
                Kind::Employees.columns().collect(),
                v.iter()
                    .take(n)
                    .map(|e| {
                        vec![
                            e.id.clone(),
                            e.name.clone(),
                            e.roles.to_field(),
                            e.badge.clone(),
                            // Never the PIN itself, not even in a preview.
                            if e.pin.is_some() { "****" } else { "" }.to_string(),
                            if e.active { "1" } else { "0" }.to_string(),
                        ]
                    })
                    .collect(),
            ),
            Parsed::Packaging(v) => (
                Kind::Packaging.columns().collect(),
                v.iter()
                    .take(n)
                    .map(|p| vec![p.code.clone(), p.name.clone(), fmt_g(p.tare_g)])
                    .collect(),
            ),
        }
    }
}

/// Writes checked rows by the import rules, in one transaction of the store: a row equal to
/// the stored one is left alone; a changed order gets a new version and `order_changed`; a
/// cancellation sticks; an `imported` event records the file unless nothing changed (so a
/// re-import changes nothing, not even the log).
pub fn write<S: ReferenceData + ?Sized>(
    store: &mut S,
    parsed: &Parsed,
    meta: &ImportMeta,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    store.import(&mut |read| {
        let (changes, r) = plan(read, parsed, meta, progress)?;
        report = r;
        Ok(changes)
    })?;
    Ok(report)
}

/// Sets an employee's PIN hash, as an import of that one row would (one transaction, the
/// reference version moves, so a running bench sees it at its next input); false when there
/// is no such employee. Nothing goes in the log: the hash is a secret.
pub fn set_pin<S: ReferenceData + ?Sized>(
    store: &mut S,
    id: &str,
    hash: Option<&crate::domain::pin::PinHash>,
) -> Result<bool, StoreError> {
    let mut found = false;
    store.import(&mut |read| {
        let mut changes = Changes::default();
        if let Some(mut e) = read.employee(id)? {
            found = true;
            if e.pin_hash.as_ref() != hash {
                e.pin_hash = hash.cloned();
                changes.puts.push(Put::Employee(e));
            }
        }
        Ok(changes)
    })?;
    Ok(found)
}

/// The rule part of [`write`]: what to write given what is stored.
pub fn plan(
    read: &dyn ReferenceRead,
    parsed: &Parsed,
    meta: &ImportMeta,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Changes, ImportReport), StoreError> {
    let total = parsed.len();
    let mut report = ImportReport {
        rows: total,
        ..Default::default()
    };
    let mut changes = Changes::default();
    let tally = |report: &mut ImportReport, existed: bool| {
        if existed {
            report.changed += 1
        } else {
            report.added += 1
        }
    };
    for n in 0..total {
        if n % 1000 == 0 {
            progress(n, total);
        }
        match parsed {
            Parsed::Catalog(v) => {
                let s = &v[n];
                let old = read.sku(&s.sku)?;
                if old.as_ref() == Some(s) {
                    report.unchanged += 1;
                    continue;
                }
                tally(&mut report, old.is_some());
                changes.puts.push(Put::Sku(s.clone()));
            }
            Parsed::Employees(v) => {
                let old = read.employee(&v[n].id)?;
                let e = v[n].resolve(old.as_ref());
                if old.as_ref() == Some(&e) {
                    report.unchanged += 1;
                    continue;
                }
                tally(&mut report, old.is_some());
                changes.puts.push(Put::Employee(e));
            }
            Parsed::Packaging(v) => {
                let x = &v[n];
                let old = read.packaging(&x.code)?;
                if old.as_ref() == Some(x) {
                    report.unchanged += 1;
                    continue;
                }
                tally(&mut report, old.is_some());
                changes.puts.push(Put::Packaging(x.clone()));
            }
            Parsed::Orders(v) => {
                let o = &v[n];
                let version = o.version();
                let old = read.order_row(&o.order_no)?;
                // A cancellation sticks: an older export without the status column must not
                // bring a cancelled order back to the bench.
                let cancelled = o.cancelled || old.as_ref().is_some_and(|x| x.order.cancelled);
                match &old {
                    Some(x)
                        if x.version == version
                            && x.order.cancelled == cancelled
                            && x.order.picker_id == o.picker_id =>
                    {
                        report.unchanged += 1;
                        continue;
                    }
                    Some(x) => {
                        if x.version != version {
                            report.changed += 1;
                            let changed = OrderChanged {
                                old_version: x.version.clone(),
                                version: version.clone(),
                                file: meta.file.clone(),
                            };
                            changes.events.push(
                                NewEvent::of(changed, meta.at, &meta.station_id)
                                    .actor(Some("import"))
                                    .order(&o.order_no),
                            );
                        } else if !x.order.cancelled && !cancelled {
                            // Only the imported picker changed.
                            report.changed += 1;
                        }
                        if cancelled && !x.order.cancelled {
                            report.cancelled += 1;
                            let cancelled = OrderCancelled {
                                file: meta.file.clone(),
                            };
                            changes.events.push(
                                NewEvent::of(cancelled, meta.at, &meta.station_id)
                                    .actor(Some("import"))
                                    .order(&o.order_no),
                            );
                        }
                    }
                    None => {
                        report.added += 1;
                        if cancelled {
                            report.cancelled += 1;
                        }
                    }
                }
                changes.puts.push(Put::Order(OrderRow {
                    order: Order {
                        cancelled,
                        ..o.clone()
                    },
                    version,
                }));
            }
        }
    }
    // Re-importing the same file changes nothing, not even the log.
    if report.added + report.changed + report.cancelled > 0 {
        let imported = Imported {
            kind: parsed.kind().to_string(),
            file: meta.file.clone(),
            sha256: meta.sha256.clone(),
            rows: report.rows,
            added: report.added,
            changed: report.changed,
            unchanged: report.unchanged,
            cancelled: report.cancelled,
        };
        changes
            .events
            .push(NewEvent::of(imported, meta.at, &meta.station_id).actor(Some("import")));
    }
    Ok((changes, report))
}

#[cfg(test)]
mod tests {
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
            !excel_scientific("E+12")
                && !excel_scientific("6.9E12")
                && !excel_scientific("SKU-E+1")
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
        assert!(e.contains("both hold sku"), "{e}");
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
}
