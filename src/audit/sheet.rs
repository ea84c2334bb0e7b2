//! Lists and reports as sheets: a terminal table, CSV that opens cleanly in Excel, or .xlsx.
//! Every export of the supervision commands goes through here.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

/// One cell. Numbers stay numbers in .xlsx so a spreadsheet can sum them.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Empty,
}

impl Cell {
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Int(n) => Cow::Owned(n.to_string()),
            Cell::Empty => Cow::Borrowed(""),
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Int(n)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Cell {
        v.map(Into::into).unwrap_or(Cell::Empty)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// The worksheet's name in .xlsx (at most 31 characters).
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    pub fn new(title: &str, headers: &[&str]) -> Sheet {
        Sheet {
            title: title.to_string(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// An aligned table for the terminal (control, bidi and zero-width characters escaped).
    pub fn table(&self) -> String {
        let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| c.text().into_owned()).collect())
            .collect();
        super::table::render(&headers, &rows)
    }
}

/// A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is
/// written with a leading `'`, so that it is shown as the text it is.
pub fn neutralise(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// Why a sheet could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// Saving the workbook: the file named, the cause in the same sentence.
    #[error("{}: {error}", path.display())]
    Save {
        path: std::path::PathBuf,
        // Not a source: named in the message already, it would show twice.
        error: rust_xlsxwriter::XlsxError,
    },
}

/// The one CSV writer of every export (sheets and the raw log): a UTF-8 byte-order mark
/// first (Excel then reads Chinese text right), text cells neutralised, numbers as numbers.
pub struct CsvWriter<W: Write> {
    w: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(mut out: W) -> std::io::Result<CsvWriter<W>> {
        out.write_all("\u{feff}".as_bytes())?;
        Ok(CsvWriter {
            // Rows of a sheet's title and of a blank between sheets are shorter.
            w: csv::WriterBuilder::new().flexible(true).from_writer(out),
        })
    }

    /// One row of cells.
    pub fn row(&mut self, cells: &[Cell]) -> Result<(), csv::Error> {
        self.w.write_record(cells.iter().map(|c| match c {
            Cell::Text(s) => neutralise(s).into_owned(),
            other => other.text().into_owned(),
        }))
    }

    /// One row of text cells.
    pub fn text_row<I, S>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.w.write_record(
            cells
                .into_iter()
                .map(|c| neutralise(c.as_ref()).into_owned()),
        )
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// Sheets as one CSV file ([`CsvWriter`]); several sheets each under their title, a blank
/// row between them.
pub fn write_csv(sheets: &[&Sheet], out: &mut dyn Write) -> Result<(), SheetError> {
    let mut w = CsvWriter::new(out)?;
    for (i, sheet) in sheets.iter().enumerate() {
        if sheets.len() > 1 {
            if i > 0 {
                w.text_row([""])?;
            }
            w.text_row([&sheet.title])?;
        }
        w.text_row(&sheet.headers)?;
        for row in &sheet.rows {
            w.row(row)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// An .xlsx workbook, one worksheet per sheet. Text is stored as text (never a formula),
/// numbers as numbers.
pub fn write_xlsx(sheets: &[&Sheet], path: &Path) -> Result<(), SheetError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for sheet in sheets {
        let ws = book.add_worksheet();
        let title: String = sheet
            .title
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
            .take(31)
            .collect();
        if !title.is_empty() {
            ws.set_name(&title)?;
        }
        for (c, h) in sheet.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = (r + 1) as u32;
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c as u16, s)?;
                    }
                    Cell::Int(n) => {
                        ws.write_number(r, c as u16, *n as f64)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        ws.autofit();
    }
    book.save(path).map_err(|error| SheetError::Save {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_text() {
        for s in ["=1+1", "+86 10", "-3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(s).starts_with('\''), "{s:?}");
        }
        assert_eq!(neutralise("SO-1"), "SO-1");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn csv_has_a_bom_and_neutralised_cells() {
        let mut s = Sheet::new("t", &["a", "b"]);
        s.push(vec!["=HYPERLINK(\"x\")".into(), Cell::Int(-3)]);
        let mut out = Vec::new();
        write_csv(&[&s], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with('\u{feff}'));
        // The number stays a number; the text that began with `=` does not.
        assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\",-3"), "{text}");
    }
}
