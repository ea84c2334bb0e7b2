//! `packbench commands` and `packbench badges`: the bench's printed sheets.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};

use packbench::audit::sheet::Sheet;
use packbench::config::Config;
use packbench::domain::commands::COMMANDS;
use packbench::store::ReferenceData;

use super::{open_store, out, write_new_file};

#[derive(clap::Args)]
pub struct CommandsArgs {
    /// Write the command sheet as an A4 PDF: both languages, every command as a CODE128
    /// barcode with its meaning beneath, in the groups a packer uses them
    #[arg(long, value_name = "FILE")]
    pdf: Option<PathBuf>,
    /// Print the command sheet on the configured printer (58 or 80 mm)
    #[arg(long, conflicts_with = "pdf")]
    print: bool,
}

#[derive(clap::Args)]
pub struct BadgesArgs {
    #[arg(long, value_name = "FILE")]
    pdf: PathBuf,
    /// Only these employees, in this order (comma-separated or repeated)
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    ids: Vec<String>,
    #[arg(long)]
    db: Option<PathBuf>,
}

pub fn commands(args: CommandsArgs, cfg: Option<Config>) -> Result<ExitCode> {
    if let Some(path) = args.pdf {
        let bytes = packbench::sheets::command_sheet_pdf()?;
        write_new_file(&path, &bytes)?;
        eprintln!("command sheet written to {}", path.display());
    } else if args.print {
        print_sheet(cfg)?;
    } else {
        let mut list = Sheet::new("commands", &["barcode", "meaning", "sheet group"]);
        for (c, d) in COMMANDS.iter() {
            list.push(vec![
                c.code().into(),
                d.to_string().into(),
                c.group().heading().to_string().into(),
            ]);
        }
        out::print_tables(&[&list]);
    }
    Ok(ExitCode::SUCCESS)
}

/// `commands --print`: the command sheet on the configured printer.
fn print_sheet(cfg: Option<Config>) -> Result<()> {
    let Some(cfg) = cfg else {
        bail!("packbench commands --print needs a station config with [printer]: give --config FILE or put station.toml in the working directory");
    };
    let Some(printer) = &cfg.printer else {
        bail!("the station config has no [printer] to print the command sheet on");
    };
    let target = printer.target.clone();
    let setup = cfg.label_setup();
    let bytes = packbench::sheets::command_sheet_escpos(setup);
    let rt = super::current_thread()?;
    let receipt = rt
        .block_on(packbench::station::devices::send_job(
            &target,
            &bytes,
            Default::default(),
        ))
        .map_err(|e| anyhow!("printing the command sheet on {}: {e}", printer.target))?;
    if let Some(w) = receipt.warning() {
        tracing::warn!(printer = %printer.target, "the printer said: {w}");
    }
    eprintln!("command sheet sent to {}", printer.target);
    Ok(())
}

pub fn badges(args: BadgesArgs, cfg: Option<&Config>) -> Result<ExitCode> {
    let store = open_store(args.db.as_deref(), cfg, true)?;
    let employees = packbench::sheets::select_employees(store.employees()?, &args.ids)?;
    let bytes = packbench::sheets::badges_pdf(&employees)?;
    write_new_file(&args.pdf, &bytes)?;
    eprintln!(
        "{} badges written to {}",
        employees.len(),
        args.pdf.display()
    );
    Ok(ExitCode::SUCCESS)
}
