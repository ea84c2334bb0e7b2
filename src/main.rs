//! The `packbench` binary: parses the command line and hands each command to its module in
//! `cli/` (a thin shell over the library each).

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use cli::audit::AuditCmd;
use cli::central::{CentralCmd, ConsoleArgs};
use cli::employee::EmployeeCmd;
use cli::import::ImportArgs;
use cli::sheets::{BadgesArgs, CommandsArgs};
use cli::simulate::SimCmd;
use cli::station::RunArgs;
use packbench::logging::{self, LogFormat};

#[derive(Parser)]
#[command(
    name = "packbench",
    version,
    about = "Pick-pack-verify station for warehouse benches",
    long_about = "Pick-pack-verify station for warehouse benches.\n\nWith no command it starts the station (the demo station when there is no station.toml)."
)]
struct Cli {
    /// Station config (default: station.toml in the working directory, when present)
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Diagnostics on stderr: text for people, json for a service's log collector
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the station with the devices named in the config
    Run(RunArgs),
    /// Import CSV, JSON or .xlsx/.xls from the shop system (all or nothing)
    Import(ImportArgs),
    /// The supervisors' console: the bench board, the review queue, search and reports of
    /// every bench, from the central database, in a window (no devices needed)
    Console(ConsoleArgs),
    /// Reports and proofs from the event log
    Audit {
        #[command(subcommand)]
        what: AuditCmd,
    },
    /// The warehouse's central PostgreSQL: schema, bench roles, status, claims, proofs
    Central {
        #[command(subcommand)]
        what: CentralCmd,
    },
    /// Employees' PINs
    Employee {
        #[command(subcommand)]
        what: EmployeeCmd,
    },
    /// List the command barcodes for the bench's command sheet, or make the sheet itself
    Commands(CommandsArgs),
    /// Employee badges as an A4 PDF: credit-card size with cut marks; name, id, roles and the
    /// badge barcode (never a PIN)
    Badges(BadgesArgs),
    /// Simulated devices for trying a station without hardware
    Simulate {
        #[command(subcommand)]
        device: SimCmd,
    },
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    let cfg = cli::load_config(cli.config.as_deref())?;
    let Some(cmd) = cli.command else {
        return cli::station::window(cfg);
    };
    match cmd {
        Cmd::Run(args) => cli::station::run(args, cfg),
        Cmd::Import(args) => cli::import::run(args, cfg.as_ref()),
        Cmd::Console(args) => cli::central::console(args, cfg.as_ref()),
        Cmd::Audit { what } => cli::audit::run(what, cfg.as_ref()),
        Cmd::Central { what } => cli::central::run(what, cfg.as_ref()),
        Cmd::Employee { what } => cli::employee::run(what, cfg.as_ref()),
        Cmd::Commands(args) => cli::sheets::commands(args, cfg),
        Cmd::Badges(args) => cli::sheets::badges(args, cfg.as_ref()),
        Cmd::Simulate { device } => cli::simulate::run(device),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    cli::exit_code(dispatch(cli))
}
