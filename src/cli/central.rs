//! `packbench central` (the warehouse's PostgreSQL: schema, bench and console roles, status,
//! claims, proofs) and `packbench console` (the supervisors' window on it).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};

use packbench::audit;
use packbench::central::{self, Central, CentralCheckpoint};
use packbench::config::Config;
use packbench::domain::pin::Pin;

use super::{current_thread, out, read_secret, CentralSource};

/// The central database to use: `--url`, else the config's `[central]`.
#[derive(clap::Args)]
pub struct CentralUrl {
    /// A libpq URL or key=value string (an administrator's, except for `status`)
    #[arg(long)]
    url: Option<String>,
    /// Read the password from this file (else PGPASSWORD or ~/.pgpass)
    #[arg(long)]
    password_file: Option<PathBuf>,
}

impl CentralUrl {
    fn resolve(&self, cfg: Option<&Config>) -> Result<(String, Option<PathBuf>)> {
        match (&self.url, cfg.and_then(|c| c.central.as_ref())) {
            (Some(u), _) => Ok((u.clone(), self.password_file.clone())),
            (None, Some(c)) => Ok((
                c.url.clone(),
                self.password_file
                    .clone()
                    .or_else(|| cfg.and_then(|c| c.central_password_file())),
            )),
            (None, None) => bail!("give --url (or a config with a [central] section)"),
        }
    }

    fn connect(&self, cfg: Option<&Config>) -> Result<Central> {
        let (url, pw) = self.resolve(cfg)?;
        Ok(Central::connect(&url, pw.as_deref())?)
    }
}

#[derive(clap::Subcommand)]
pub enum CentralCmd {
    /// Create or migrate the central schema (idempotent: safe on every deploy)
    Init {
        #[command(flatten)]
        db: CentralUrl,
    },
    /// Create a bench's own database role and print its connection URL (once)
    AddBench {
        station_id: String,
        #[command(flatten)]
        db: CentralUrl,
    },
    /// Create a supervisors' console's own database role (reads the floor, marks review
    /// items only with a supervisor's PIN) and print its connection URL (once)
    AddConsole {
        console_id: String,
        #[command(flatten)]
        db: CentralUrl,
    },
    /// Every bench: online or not, last seen, backlog, who is signed in, the order it holds
    Status {
        #[command(flatten)]
        db: CentralUrl,
        #[arg(long)]
        json: bool,
    },
    /// Free an order held by a bench that is gone (recorded with who and why)
    Release {
        order_no: String,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: CentralUrl,
    },
    /// Check every bench's chain as received and the central checkpoints
    Verify {
        #[command(flatten)]
        db: CentralUrl,
        /// A checkpoint file from `central checkpoint`
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write the central head (each bench's head and a root over them) to keep off the server
    Checkpoint {
        #[command(flatten)]
        db: CentralUrl,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    src: CentralSource,
    /// Where the Export buttons write their CSV and .xlsx files
    #[arg(long, default_value = "packbench-exports")]
    exports: PathBuf,
}

pub fn run(what: CentralCmd, cfg: Option<&Config>) -> Result<ExitCode> {
    let rt = current_thread()?;
    match what {
        CentralCmd::Init { db } => {
            let (url, pw) = db.resolve(cfg)?;
            let r = rt.block_on(central::init_report(&url, pw.as_deref()))?;
            if r.moved_from_public {
                println!("moved the central schema from public into schema packbench");
            }
            if r.public_create_revoked {
                println!("revoked CREATE on schema public from PUBLIC in this database");
            }
            println!(
                "schema packbench owned by {}; benches in {}, consoles in {}; only they may connect",
                r.groups.owner, r.groups.bench, r.groups.console
            );
            println!("central schema at version {}", r.version);
        }
        CentralCmd::AddBench { station_id, db } => {
            let (url, pw) = db.resolve(cfg)?;
            let added = rt.block_on(central::add_bench(&url, pw.as_deref(), &station_id))?;
            // Shown once: the password is not stored in clear anywhere.
            eprintln!(
                "bench {} added; its connection URL (keep it in the bench's password_file or config):",
                added.station_id
            );
            println!("{}", added.url);
        }
        CentralCmd::AddConsole { console_id, db } => {
            let (url, pw) = db.resolve(cfg)?;
            let added = rt.block_on(central::add_console(&url, pw.as_deref(), &console_id))?;
            // Shown once: the password is not stored in clear anywhere.
            eprintln!(
                "console {} added; its connection URL (keep it in the console's password_file or config):",
                added.console_id
            );
            println!("{}", added.url);
        }
        CentralCmd::Status { db, json } => {
            let c = db.connect(cfg)?;
            let benches = rt.block_on(c.status(std::time::Duration::from_secs(10)))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&benches)?);
            } else {
                out::print_tables(&[&audit::floor::status(&benches)]);
            }
        }
        CentralCmd::Release {
            order_no,
            by,
            reason,
            db,
        } => {
            let c = db.connect(cfg)?;
            let pin = Pin::new(&read_secret(&format!("PIN of {by}: "))?);
            let proof = rt.block_on(c.pin_proof(&by, &pin))?;
            let r = rt.block_on(c.supervisor_release(&order_no, &by, proof.as_ref(), &reason))?;
            if !r.released {
                bail!("order {order_no} is not held by any bench");
            }
            println!(
                "order {order_no} released from {} ({}) by {by}: {reason}",
                r.held_by.unwrap_or_default(),
                r.held_by_packer.unwrap_or_default()
            );
        }
        CentralCmd::Verify {
            db,
            checkpoint,
            json,
        } => {
            let c = db.connect(cfg)?;
            let cp = checkpoint
                .as_deref()
                .map(CentralCheckpoint::read)
                .transpose()?;
            let r = rt.block_on(c.verify(cp.as_ref()))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "ok": r.error.is_none(),
                        "events": r.events,
                        "stations": r.stations,
                        "checkpoints": r.checkpoints,
                        "error": r.error.as_ref().map(|e| e.to_string()),
                        "station_id": r.error.as_ref().and_then(|e| e.station_seq()).map(|s| s.0.to_string()),
                        "seq": r.error.as_ref().and_then(|e| e.station_seq()).map(|s| s.1),
                    })
                );
            }
            match r.error {
                None if !json => println!(
                    "central log intact: {} events from {} stations, {} checkpoints",
                    r.events,
                    r.stations.len(),
                    r.checkpoints
                ),
                None => {}
                Some(e) => {
                    eprintln!("central log NOT intact: {e}");
                    return Ok(ExitCode::from(3));
                }
            }
        }
        CentralCmd::Checkpoint { db, out } => {
            let c = db.connect(cfg)?;
            let cp = rt.block_on(c.checkpoint())?;
            cp.write(&out)?;
            eprintln!(
                "central checkpoint of {} benches written to {}",
                cp.heads.len(),
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `packbench console`: the supervisors' window, only as a console's own login.
pub fn console(args: ConsoleArgs, cfg: Option<&Config>) -> Result<ExitCode> {
    let central = args.src.connect(cfg)?;
    // The console never runs as the administrator or a bench: it reads the floor and
    // reviews only through the centre's PIN check, as a console's own login.
    match current_thread()?.block_on(central.login())? {
        central::Login::Console(id) => {
            tracing::info!(console = %id, "console login")
        }
        other => bail!(
            "the console connects with a console's own login, not {}: create one with \
             `packbench central add-console ID --url ADMIN_URL` and start the console with the URL it prints",
            match other {
                central::Login::Administrator => "the administrator's".to_string(),
                central::Login::Bench(s) => format!("bench {s}'s"),
                _ => "this one".to_string(),
            }
        ),
    }
    // The console sounds as a bench does: `[sound]` of the config, if one is given.
    let sound = packbench::station::sound::detect(
        &cfg.map(|c| c.sound.clone()).unwrap_or_default(),
        &packbench::station::sound::Machine::this(),
    );
    tracing::info!("sound: {}", sound.describe().en);
    packbench::ui::console::run(central, args.exports, sound)?;
    Ok(ExitCode::SUCCESS)
}
