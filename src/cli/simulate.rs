//! `packbench simulate`: devices for trying a station without hardware.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

#[derive(clap::Subcommand)]
pub enum SimCmd {
    /// An ESC/POS printer on loopback TCP that shows each label as text
    Printer {
        /// ready, near-end, paper-out, cover-open, offline, error, drop, silent, refuse
        #[arg(long, default_value = "ready")]
        mode: String,
    },
    /// A scale on a pseudo-terminal; type weights in grams
    Scale {
        #[arg(long, default_value = "mt-sics")]
        protocol: String,
        /// Unit the scale reports in
        #[arg(long, default_value = "kg")]
        unit: String,
        /// Also reachable as this path (a symlink to the pty) for station.toml
        #[arg(long)]
        link: Option<PathBuf>,
    },
    /// A serial scanner on a pseudo-terminal; type codes
    Scanner {
        #[arg(long)]
        link: Option<PathBuf>,
        /// AIM symbology identifier to send before each code, e.g. "]C1"
        #[arg(long)]
        aim: Option<String>,
    },
}

pub fn run(device: SimCmd) -> Result<ExitCode> {
    match device {
        SimCmd::Printer { mode } => packbench::simulate::printer(&mode)?,
        SimCmd::Scale {
            protocol,
            unit,
            link,
        } => packbench::simulate::scale(&protocol, &unit, link.as_deref())?,
        SimCmd::Scanner { link, aim } => {
            packbench::simulate::scanner(link.as_deref(), aim.as_deref())?
        }
    }
    Ok(ExitCode::SUCCESS)
}
