//! Reading a CSV, JSON or spreadsheet file into rows of the contract's columns.

#[allow(unused_imports)]
use super::*;

#[derive(Debug, Clone)]
pub(super) enum Origin {
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
    pub(super) origin: Origin,
    /// Contract column → text; the file's extra columns are not kept.
    pub(super) fields: HashMap<&'static str, String>,
}

impl Row {
    pub(super) fn place(&self, column: &str) -> String {
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
    pub(super) fn at(&self) -> String {
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
    pub(super) fn err(&self, row: &Row, column: &str, message: impl Into<String>) -> ImportError {
        ImportError {
            file: self.file.clone(),
            where_: row.place(column),
            message: message.into(),
        }
    }

    pub(super) fn required<'a>(&self, row: &'a Row, column: &str) -> Result<&'a str, ImportError> {
        let v = row.get(column).trim();
        if v.is_empty() {
            return Err(self.err(row, column, "is empty"));
        }
        Ok(v)
    }

    pub(super) fn number(
        &self,
        row: &Row,
        column: &str,
        required: bool,
    ) -> Result<Option<f64>, ImportError> {
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
pub(super) const SHEET_EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xls", "xlsb", "ods"];

/// The file's columns, each with the contract column it holds.
pub type Columns = Vec<(String, Option<&'static str>)>;

/// Where in the file, and what is wrong.
pub(super) type Failure = (String, String);

/// Reads a CSV, JSON (by extension) or spreadsheet file into rows of `kind`'s columns,
/// checking the required columns are there.
pub fn read_rows(path: &Path, kind: Kind, opts: &ReadOptions) -> Result<Rows, ImportError> {
    let file = path.display().to_string();
    let fail = |where_: String, message: String| ImportError {
        file: file.clone(),
        where_,
        message,
    };
    check_map(kind, &opts.map).map_err(|m| fail("column map".into(), m.to_string()))?;
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
pub(super) const NUL_WARNINGS: usize = 20;

/// Replaces every NUL in every field with [`NUL_REPLACEMENT`], with a warning naming file, line
/// and column (once per field). Text is data and is not refused (the contract), but PostgreSQL
/// text cannot hold a NUL while SQLite can: done here, where both backends' imports read
/// their rows, the bench and the centre store the same text. Other control characters are
/// stored as given (both databases hold them) and neutralised where shown or printed.
pub(super) fn neutralise_nul(file: &str, rows: &mut [Row]) {
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
pub(super) fn decode(
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
pub(super) fn gb18030(bytes: &[u8]) -> Result<String, usize> {
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

pub(super) fn csv_rows(
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
    let cols = resolve(kind, &headers, map).map_err(|m| ("line 1".to_string(), m.to_string()))?;
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
                return Err((format!("line {line}, column {col}"), m.to_string()));
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

pub(super) fn json_rows(
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
        let cols = resolve(kind, &keys, map).map_err(|m| (format!("record {n}"), m.to_string()))?;
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
pub(super) fn sheet_rows(
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
    let cols =
        resolve(kind, &headers, &opts.map).map_err(|m| (header_place.clone(), m.to_string()))?;
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
                    m.to_string(),
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
