//! One cell's text as the shop typed it: spreadsheet numbers read back, codes Excel shortened
//! refused.

#[allow(unused_imports)]
use super::*;

/// Columns that hold codes: a number Excel shortened there is a wrong code, not a rounding.
pub(super) const CODE_COLUMNS: &[&str] = &[
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
pub(super) const EXCEL_DIGITS_LIMIT: f64 = 1e15;

/// Above this an f64 no longer holds every whole number.
pub(super) const EXACT_F64_LIMIT: f64 = 9_007_199_254_740_992.0;

/// A code Excel wrote in scientific notation (`6.90123E+12`): its digits are gone.
pub(super) fn excel_scientific(v: &str) -> bool {
    let Some((mantissa, exp)) = v.trim().split_once(['E', 'e']) else {
        return false;
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac) && exp.strip_prefix('+').is_some_and(digits)
}

/// The error for a code text that lost its digits, if it did.
pub(super) fn lost_digits_text(column: &str, v: &str) -> Option<CellError> {
    if !CODE_COLUMNS.contains(&column) {
        return None;
    }
    let lost = v
        .split('|')
        .map(|part| part.rsplit_once('*').map_or(part, |(code, _)| code))
        .any(excel_scientific);
    lost.then(|| CellError::Scientific(v.trim().to_string()))
}

/// A spreadsheet number as the text it was typed as: `6901234567890.0` is the barcode
/// `6901234567890`, `1.0` the quantity `1`.
pub(super) fn float_text(x: f64, column: &str) -> Result<String, CellError> {
    let limit = if CODE_COLUMNS.contains(&column) {
        EXCEL_DIGITS_LIMIT
    } else {
        EXACT_F64_LIMIT
    };
    if x.is_finite() && x.fract() == 0.0 {
        if x.abs() >= limit {
            return Err(CellError::LostDigits(x));
        }
        return Ok(format!("{}", x as i64));
    }
    Ok(format!("{x}"))
}

/// A whole number as a file writes it: `2`, or `2.0` / `2.00` where a spreadsheet saved its
/// number cell to CSV. The qty of every format is read here (a sheet's 2.0 cell arrives as
/// "2" from [`float_text`]); `1.5` and `2E+0` are not whole numbers as written.
pub(super) fn whole_number(v: &str) -> Option<u32> {
    let int = match v.split_once('.') {
        Some((int, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => int,
        Some(_) => return None,
        None => v,
    };
    int.parse().ok()
}

pub(super) fn cell_text(cell: &Data, column: &str) -> Result<String, CellError> {
    match cell {
        Data::Empty => Ok(String::new()),
        Data::String(s) => match lost_digits_text(column, s) {
            Some(m) => Err(m),
            None => Ok(s.clone()),
        },
        Data::Int(i) => Ok(i.to_string()),
        Data::Float(x) => float_text(*x, column),
        Data::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
        Data::Error(e) => Err(CellError::SpreadsheetError(e.to_string())),
        // Dates: not in any contract column; their text keeps a mistake visible.
        other => Ok(other.to_string()),
    }
}

/// Spreadsheet column letters: 0 → A, 26 → AA.
pub(super) fn column_letters(mut n: u32) -> String {
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

/// A cell whose text cannot be trusted as the shop typed it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(super) enum CellError {
    /// A code Excel wrote in scientific notation.
    #[error("{0:?} lost its digits: Excel wrote the number in scientific notation. In the original export, format the column as Number with 0 decimal places (or as Text) before saving, or import the .xlsx file instead")]
    Scientific(String),
    /// A number past what a spreadsheet keeps exactly.
    #[error("the number {0:e} has lost digits (a spreadsheet keeps only 15 significant digits of a number). In Excel, format the column as Text and enter the codes again, or have the shop system export it as text")]
    LostDigits(f64),
    #[error("holds the spreadsheet error {0}")]
    SpreadsheetError(String),
}
