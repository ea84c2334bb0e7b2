//! Reading the shop system's exports: CSV (Excel's BOM and CRLF welcome) or JSON. Every row is
//! checked before anything is written; the first bad one is named by file, line and column.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::catalog::{parse_attributes, parse_barcodes, Catalog};
use crate::domain::event::{EventType, NewEvent};
use crate::domain::{Employee, Order, OrderLine, Packaging, Roles, Sku};
use crate::store::{
    Changes, ImportMeta, ImportReport, OrderRow, Put, ReferenceData, ReferenceRead, StoreError,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {where_}: {message}")]
pub struct ImportError {
    pub file: String,
    /// "line 7, column qty" (CSV) or "record 3, field qty" (JSON)
    pub where_: String,
    pub message: String,
}

/// One data row, whatever the file format.
#[derive(Debug, Clone)]
pub struct Row {
    /// Line in the file where the row starts (CSV) or 1-based record number (JSON).
    pub line: u64,
    json: bool,
    fields: HashMap<String, String>,
}

impl Row {
    fn place(&self, column: &str) -> String {
        if self.json {
            format!("record {}, field {column}", self.line)
        } else {
            format!("line {}, column {column}", self.line)
        }
    }

    pub fn get(&self, column: &str) -> &str {
        self.fields.get(column).map(String::as_str).unwrap_or("")
    }
}

pub struct Rows {
    pub file: String,
    pub sha256: String,
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

/// Reads a CSV or (by extension) JSON file into rows, checking the required columns.
pub fn read_rows(path: &Path, required: &[&str]) -> Result<Rows, ImportError> {
    let file = path.display().to_string();
    let fail = |where_: &str, message: String| ImportError {
        file: file.clone(),
        where_: where_.to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| fail("file", format!("cannot be read: {e}")))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        fail(
            &format!("line {line}"),
            "is not UTF-8 text (save the file as UTF-8 / CSV UTF-8)".into(),
        )
    })?;
    // Excel's "CSV UTF-8" starts with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let rows = if is_json {
        json_rows(text, required).map_err(|(w, m)| fail(&w, m))?
    } else {
        csv_rows(text, required).map_err(|(w, m)| fail(&w, m))?
    };
    Ok(Rows { file, sha256, rows })
}

fn csv_rows(text: &str, required: &[&str]) -> Result<Vec<Row>, (String, String)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| ("line 1".to_string(), format!("header row unreadable: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for r in required {
        if !headers.iter().any(|h| h == r) {
            return Err((
                "line 1".into(),
                format!(
                    "required column {r:?} is missing (found: {})",
                    headers.join(",")
                ),
            ));
        }
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
        let fields = headers
            .iter()
            .cloned()
            .zip(rec.iter().map(str::to_string))
            .collect();
        out.push(Row {
            line,
            json: false,
            fields,
        });
    }
    Ok(out)
}

fn json_rows(text: &str, required: &[&str]) -> Result<Vec<Row>, (String, String)> {
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
    for (i, item) in arr.iter().enumerate() {
        let n = i as u64 + 1;
        let obj = item
            .as_object()
            .ok_or_else(|| (format!("record {n}"), "is not a JSON object".to_string()))?;
        let mut fields = HashMap::new();
        for (k, v) in obj {
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
                        format!("record {n}, field {k}"),
                        "must be a string or number, not an object".into(),
                    ))
                }
            };
            fields.insert(k.trim().to_ascii_lowercase(), s);
        }
        for r in required {
            if !fields.contains_key(*r) {
                return Err((format!("record {n}, field {r}"), "is missing".to_string()));
            }
        }
        out.push(Row {
            line: n,
            json: true,
            fields,
        });
    }
    Ok(out)
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

/// Checks catalog rows; `existing` is the catalog already stored (its barcodes stay taken).
pub fn parse_catalog(rows: &Rows, existing: &[Sku]) -> Result<Vec<Sku>, ImportError> {
    let mut seen: HashMap<String, u64> = HashMap::new();
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
        if let Some(first) = seen.insert(sku.clone(), row.line) {
            return Err(rows.err(row, "sku", format!("{sku} already appears on line {first}")));
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
            claimed.insert(key, (sku.clone(), format!("line {}", row.line)));
        }
        let unit_weight_g = rows.number(row, "unit_weight_g", true)?.unwrap_or(0.0);
        let weight_tolerance_g = rows.number(row, "weight_tolerance_g", false)?;
        let attributes =
            parse_attributes(row.get("attributes")).map_err(|m| rows.err(row, "attributes", m))?;
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
        let qty: u32 = match qty_s.parse() {
            Ok(q) if q > 0 => q,
            _ => {
                return Err(rows.err(
                    row,
                    "qty",
                    format!("{qty_s:?} is not a whole number of at least 1"),
                ))
            }
        };
        let gift = match row.get("gift").trim().to_ascii_lowercase().as_str() {
            "" | "0" | "false" | "no" => false,
            "1" | "true" | "yes" => true,
            other => {
                return Err(rows.err(row, "gift", format!("{other:?} is not 1 or 0")));
            }
        };
        let status = row.get("status").trim().to_ascii_lowercase();
        if !matches!(
            status.as_str(),
            "" | "cancelled" | "canceled" | "active" | "pending"
        ) {
            return Err(rows.err(
                row,
                "status",
                format!("{status:?} is not a known status (leave empty or write cancelled)"),
            ));
        }
        let line = OrderLine { sku, qty, gift };
        match index.get(&order_no) {
            Some(&i) => {
                let first = first_row[i];
                for col in ORDER_LEVEL {
                    if row.get(col).trim() != first.get(col).trim() {
                        return Err(rows.err(
                            row,
                            col,
                            format!(
                                "differs from line {} of the same order {order_no}",
                                first.line
                            ),
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
                    cancelled: status.starts_with("cancel"),
                });
            }
        }
    }
    Ok(orders)
}

pub fn parse_employees(rows: &Rows) -> Result<Vec<Employee>, ImportError> {
    let mut ids = HashMap::new();
    let mut badges = HashMap::new();
    let mut out = Vec::new();
    for row in &rows.rows {
        let id = rows.required(row, "id")?.to_string();
        if let Some(l) = ids.insert(id.clone(), row.line) {
            return Err(rows.err(row, "id", format!("{id} already appears on line {l}")));
        }
        let name = rows.required(row, "name")?.to_string();
        let roles = Roles::parse(row.get("roles")).map_err(|m| rows.err(row, "roles", m))?;
        let badge = rows.required(row, "badge")?.to_string();
        if let Some(l) = badges.insert(badge.clone(), row.line) {
            return Err(rows.err(
                row,
                "badge",
                format!("badge {badge} is already on line {l}"),
            ));
        }
        out.push(Employee {
            id,
            name,
            roles,
            badge,
        });
    }
    Ok(out)
}

pub fn parse_packaging(rows: &Rows) -> Result<Vec<Packaging>, ImportError> {
    let mut codes = HashMap::new();
    let mut out = Vec::new();
    for row in &rows.rows {
        let code = rows.required(row, "code")?.to_string();
        if let Some(l) = codes.insert(code.clone(), row.line) {
            return Err(rows.err(row, "code", format!("{code} already appears on line {l}")));
        }
        let name = rows.required(row, "name")?.to_string();
        let tare_g = rows.number(row, "tare_g", true)?.unwrap_or(0.0);
        out.push(Packaging { code, name, tare_g });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Catalog,
    Orders,
    Employees,
    Packaging,
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

/// Reads, checks and stores one file: nothing is written unless every row is good.
pub fn import_file<S: ReferenceData + ?Sized>(
    store: &mut S,
    kind: Kind,
    path: &Path,
    station_id: &str,
    at: chrono::DateTime<chrono::FixedOffset>,
    on_progress: &mut dyn FnMut(Phase),
) -> Result<ImportReport, ImportFileError> {
    let required = match kind {
        Kind::Catalog => CATALOG_COLUMNS,
        Kind::Orders => ORDER_COLUMNS,
        Kind::Employees => EMPLOYEE_COLUMNS,
        Kind::Packaging => PACKAGING_COLUMNS,
    };
    on_progress(Phase::Reading);
    let rows = read_rows(path, required)?;
    let meta = ImportMeta {
        file: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: rows.sha256.clone(),
        station_id: station_id.to_string(),
        at,
    };
    let total = rows.rows.len();
    on_progress(Phase::Checking(total));
    let parsed = match kind {
        Kind::Catalog => Parsed::Catalog(parse_catalog(&rows, &store.load_catalog()?)?),
        Kind::Orders => {
            let skus = store.load_catalog()?.into_iter().map(|s| s.sku).collect();
            Parsed::Orders(parse_orders(&rows, &skus)?)
        }
        Kind::Employees => Parsed::Employees(parse_employees(&rows)?),
        Kind::Packaging => Parsed::Packaging(parse_packaging(&rows)?),
    };
    Ok(write(store, &parsed, &meta, &mut |done, total| {
        on_progress(Phase::Writing(done, total))
    })?)
}

/// Checked rows of one file, ready to write.
#[derive(Debug, Clone)]
pub enum Parsed {
    Catalog(Vec<Sku>),
    Orders(Vec<Order>),
    Employees(Vec<Employee>),
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

    fn len(&self) -> usize {
        match self {
            Parsed::Catalog(x) => x.len(),
            Parsed::Orders(x) => x.len(),
            Parsed::Employees(x) => x.len(),
            Parsed::Packaging(x) => x.len(),
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
                let e = &v[n];
                let old = read.employee(&e.id)?;
                if old.as_ref() == Some(e) {
                    report.unchanged += 1;
                    continue;
                }
                tally(&mut report, old.is_some());
                changes.puts.push(Put::Employee(e.clone()));
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
                            changes.events.push(
                                NewEvent::new(EventType::OrderChanged, meta.at, &meta.station_id)
                                    .actor(Some("import"))
                                    .order(&o.order_no)
                                    .with("old_version", x.version.as_str())
                                    .with("version", version.as_str())
                                    .with("file", meta.file.as_str()),
                            );
                        } else if !x.order.cancelled && !cancelled {
                            // Only the imported picker changed.
                            report.changed += 1;
                        }
                        if cancelled && !x.order.cancelled {
                            report.cancelled += 1;
                            changes.events.push(
                                NewEvent::new(EventType::OrderCancelled, meta.at, &meta.station_id)
                                    .actor(Some("import"))
                                    .order(&o.order_no)
                                    .with("file", meta.file.as_str()),
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
        changes.events.push(
            NewEvent::new(EventType::Imported, meta.at, &meta.station_id)
                .actor(Some("import"))
                .with("kind", parsed.kind())
                .with("file", meta.file.as_str())
                .with("sha256", meta.sha256.as_str())
                .with("rows", report.rows)
                .with("added", report.added)
                .with("changed", report.changed)
                .with("unchanged", report.unchanged)
                .with("cancelled", report.cancelled),
        );
    }
    Ok((changes, report))
}
