//! `packbench employee`: employees' PINs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};

use packbench::config::Config;
use packbench::domain::pin::Pin;
use packbench::store::ReferenceData;

use super::{open_store, read_secret};

#[derive(clap::Subcommand)]
pub enum EmployeeCmd {
    /// Set an employee's PIN (4 to 8 digits), read without echo from the terminal, or one
    /// line from standard input when that is not a terminal; stored only as an Argon2id hash
    Pin {
        id: String,
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

pub fn run(what: EmployeeCmd, cfg: Option<&Config>) -> Result<ExitCode> {
    let EmployeeCmd::Pin { id, db } = what;
    let mut store = open_store(db.as_deref(), cfg, true)?;
    let Some(employee) = store.employee(&id)? else {
        bail!("no employee {id} (import employees first)");
    };
    let pin = Pin::valid_for(
        &read_secret(&format!("PIN for {id}: "))?,
        employee.roles.supervisor,
    )
    .map_err(|e| anyhow!("{e}: the PIN was not changed"))?;
    packbench::import::set_pin(&mut store, &id, Some(&pin.hash()))?;
    println!("PIN of {id} set");
    Ok(ExitCode::SUCCESS)
}
