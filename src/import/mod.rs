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

// The import's rooms: kinds and their columns, the file's names matched to them, cells,
// reading a file, checking its rows, and the rules that write them.
mod cells;
mod columns;
mod kind;
mod parse;
mod plan;
mod read;
#[cfg(test)]
mod tests;

use cells::*;
pub use columns::*;
pub use kind::*;
pub use parse::*;
pub use plan::*;
pub use read::*;

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

/// A file read into rows, not yet checked: the first half of every check, the bench's and
/// the centre's alike (the centre loads its catalog, asynchronously, between the halves).
pub struct ReadFile {
    path: std::path::PathBuf,
    kind: Kind,
    rows: Rows,
}

/// Reads one file ([`read_rows`]), reporting the reading and checking phases.
pub fn read_file(
    path: &Path,
    kind: Kind,
    opts: &ReadOptions,
    on_progress: &mut dyn FnMut(Phase),
) -> Result<ReadFile, ImportError> {
    on_progress(Phase::Reading);
    let rows = read_rows(path, kind, opts)?;
    on_progress(Phase::Checking(rows.rows.len()));
    Ok(ReadFile {
        path: path.to_path_buf(),
        kind,
        rows,
    })
}

impl ReadFile {
    /// Whether [`ReadFile::check`] needs the stored catalog ([`Kind::checks_catalog`]).
    pub fn needs_catalog(&self) -> bool {
        self.kind.checks_catalog()
    }

    /// The second half: the rows checked against the stored catalog (empty when not
    /// [`ReadFile::needs_catalog`]).
    pub fn check(self, catalog: &[Sku]) -> Result<Checked, ImportError> {
        check_rows(&self.path, self.kind, self.rows, catalog)
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
    let read = read_file(path, kind, opts, on_progress)?;
    let catalog = if read.needs_catalog() {
        store.load_catalog()?
    } else {
        Vec::new()
    };
    Ok(read.check(&catalog)?)
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

/// Reads, checks and stores one file into the database file at `db`, created when it is not
/// there yet: a bad file changes nothing, not even by leaving an empty database behind (it
/// is checked against an empty one before the database is created). Returns the report and
/// what was read ("UTF-8 CSV", ...).
pub fn import_into_db(
    db: &Path,
    kind: Kind,
    path: &Path,
    opts: &ReadOptions,
    station_id: &str,
    at: chrono::DateTime<chrono::FixedOffset>,
    on_progress: &mut dyn FnMut(Phase),
) -> Result<(ImportReport, String), ImportFileError> {
    let (mut store, checked) = if db.exists() {
        let store = crate::store::open(db)?;
        let checked = check_file(&store, kind, path, opts, &mut *on_progress)?;
        (store, checked)
    } else {
        let empty = crate::store::open_in_memory()?;
        let checked = check_file(&empty, kind, path, opts, &mut *on_progress)?;
        (crate::store::open(db)?, checked)
    };
    let report = write(
        &mut store,
        &checked.parsed,
        &checked.meta(station_id, at),
        &mut |done, total| on_progress(Phase::Writing(done, total)),
    )?;
    Ok((report, checked.rows.source))
}

/// Reads and checks one file against the database file at `db`, read only, or against an
/// empty one when there is none yet (opening a missing database would create it); writes
/// nothing: what a dry run shows.
pub fn check_against_db(
    db: &Path,
    kind: Kind,
    path: &Path,
    opts: &ReadOptions,
) -> Result<Checked, ImportFileError> {
    let store = if db.exists() {
        crate::store::open_read_only(db)?
    } else {
        crate::store::open_in_memory()?
    };
    check_file(&store, kind, path, opts, &mut |_| {})
}
