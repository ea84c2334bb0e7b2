//! The one way the CLI prints a list or a report: as sheets ([`Sheet`]), shown as aligned
//! tables on the terminal ([`print_tables`]), or written as JSON, CSV or .xlsx ([`SheetOut`]).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use clap::ValueEnum;

use packbench::audit::sheet::{self, Sheet};

/// How a list or report is written.
#[derive(clap::Args)]
pub struct SheetOut {
    /// JSON (the same as --format json)
    #[arg(long, conflicts_with = "format")]
    json: bool,
    #[arg(long, value_enum)]
    format: Option<SheetFormat>,
    /// Write to this file (needed for xlsx)
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SheetFormat {
    Table,
    Json,
    Csv,
    Xlsx,
}

/// Sheets as aligned tables, a blank line between two; with `titled`, each under its title.
fn tables(sheets: &[&Sheet], titled: bool) -> String {
    let mut text = String::new();
    for (i, sh) in sheets.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        if titled {
            text.push_str(&format!("{}\n", sh.title));
        }
        text.push_str(&sh.table());
    }
    text
}

/// The table printer: sheets on stdout as aligned tables, a blank line between two.
pub fn print_tables(sheets: &[&Sheet]) {
    print!("{}", tables(sheets, false));
}

/// JSON, pretty, on a line of its own.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

impl SheetOut {
    /// Writes `value` as JSON, or `sheets` as a table, CSV or .xlsx.
    pub fn write(&self, value: &impl serde::Serialize, sheets: &[&Sheet]) -> Result<()> {
        let format = match (self.json, self.format) {
            (true, _) => SheetFormat::Json,
            (false, Some(f)) => f,
            (false, None) => SheetFormat::Table,
        };
        let mut buf: Vec<u8> = Vec::new();
        match format {
            SheetFormat::Json => {
                serde_json::to_writer_pretty(&mut buf, value)?;
                buf.push(b'\n');
            }
            // Several sheets on one screen say which is which.
            SheetFormat::Table => {
                buf.extend_from_slice(tables(sheets, sheets.len() > 1).as_bytes())
            }
            SheetFormat::Csv => sheet::write_csv(sheets, &mut buf)?,
            SheetFormat::Xlsx => {
                let Some(path) = &self.out else {
                    bail!("--format xlsx needs --out FILE.xlsx");
                };
                sheet::write_xlsx(sheets, path)?;
                return Ok(());
            }
        }
        match &self.out {
            Some(path) => std::fs::write(path, &buf)
                .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?,
            None => std::io::stdout().write_all(&buf)?,
        }
        Ok(())
    }
}
