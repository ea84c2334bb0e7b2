//! `packbench` (the window) and `packbench run`: the station itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};

use packbench::config::Config;

#[derive(clap::Args)]
pub struct RunArgs {
    /// No window: print every station event as a JSON line
    #[arg(long)]
    headless: bool,
    /// Database (default: the config's)
    #[arg(long)]
    db: Option<PathBuf>,
}

/// No command: the station window, for the configured bench or the demo station.
pub fn window(cfg: Option<Config>) -> Result<ExitCode> {
    packbench::ui::run_window(cfg, None)?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: RunArgs, cfg: Option<Config>) -> Result<ExitCode> {
    let Some(cfg) = cfg else {
        bail!("packbench run needs a station config: give --config FILE or put station.toml in the working directory");
    };
    if args.headless {
        packbench::station::app::run_headless(cfg, args.db)?;
    } else {
        packbench::ui::run_window(Some(cfg), args.db)?;
    }
    Ok(ExitCode::SUCCESS)
}
