//! The `packbench` binary: one function per command over the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, FixedOffset, Local, TimeZone};
use clap::{Parser, Subcommand, ValueEnum};

use packbench::audit::{self, table, ExportFormat};
use packbench::config::Config;
use packbench::domain::commands::COMMANDS;
use packbench::domain::pin::Pin;
use packbench::import;
use packbench::logging::{self, LogFormat};
use packbench::store::{
    self, Checkpoint, EventLog, ImportReport, ReferenceData, SqliteStore, Store,
};

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
    Run {
        /// No window: print every station event as a JSON line
        #[arg(long)]
        headless: bool,
        /// Database (default: the config's)
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Import CSV, JSON or .xlsx/.xls from the shop system (all or nothing)
    Import {
        #[arg(value_enum)]
        kind: ImportKind,
        file: PathBuf,
        #[arg(long)]
        db: Option<PathBuf>,
        /// Print the import report as JSON
        #[arg(long)]
        json: bool,
        /// Text encoding of a CSV or JSON file (default: UTF-8, else GB18030 when the file
        /// reads cleanly as that)
        #[arg(long, value_enum)]
        encoding: Option<EncodingArg>,
        /// Sheet of an .xlsx/.xls file (default: the first)
        #[arg(long)]
        sheet: Option<String>,
        /// TOML file of `"Column in the file" = "column"` pairs, on top of the config's
        /// [import.KIND]
        #[arg(long)]
        map: Option<PathBuf>,
        /// Read and check only (against the bench's database, or the centre's with
        /// --central): show the encoding or sheet, the column mapping and the first rows as
        /// they would be imported; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Import into the central database (every bench follows it); a config with
        /// [central] does this unless --db names a local file
        #[arg(long, conflicts_with = "db")]
        central: Option<String>,
    },
    /// The supervisors' console: the bench board, the review queue, search and reports of
    /// every bench, from the central database, in a window (no devices needed)
    Console {
        #[command(flatten)]
        src: CentralSource,
        /// Where the Export buttons write their CSV and .xlsx files
        #[arg(long, default_value = "packbench-exports")]
        exports: PathBuf,
    },
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
    Commands {
        /// Write the command sheet as an A4 PDF: both languages, every command as a CODE128
        /// barcode with its meaning beneath, in the groups a packer uses them
        #[arg(long, value_name = "FILE")]
        pdf: Option<PathBuf>,
        /// Print the command sheet on the configured printer (58 or 80 mm)
        #[arg(long, conflicts_with = "pdf")]
        print: bool,
    },
    /// Employee badges as an A4 PDF: credit-card size with cut marks; name, id, roles and the
    /// badge barcode (never a PIN)
    Badges {
        #[arg(long, value_name = "FILE")]
        pdf: PathBuf,
        /// Only these employees, in this order (comma-separated or repeated)
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        ids: Vec<String>,
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Simulated devices for trying a station without hardware
    Simulate {
        #[command(subcommand)]
        device: SimCmd,
    },
}

#[derive(Subcommand)]
enum EmployeeCmd {
    /// Set an employee's PIN (4 to 8 digits), read without echo from the terminal, or one
    /// line from standard input when that is not a terminal; stored only as an Argon2id hash
    Pin {
        id: String,
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SimCmd {
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

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    Catalog,
    Orders,
    Employees,
    Packaging,
}

impl ImportKind {
    fn kind(self) -> import::Kind {
        match self {
            ImportKind::Catalog => import::Kind::Catalog,
            ImportKind::Orders => import::Kind::Orders,
            ImportKind::Employees => import::Kind::Employees,
            ImportKind::Packaging => import::Kind::Packaging,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum EncodingArg {
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    #[value(name = "gb18030", alias = "gbk")]
    Gb18030,
}

/// The central database to use: `--url`, else the config's `[central]`.
#[derive(clap::Args)]
struct CentralUrl {
    /// A libpq URL or key=value string (an administrator's, except for `status`)
    #[arg(long)]
    url: Option<String>,
    /// Read the password from this file (else PGPASSWORD or ~/.pgpass)
    #[arg(long)]
    password_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum CentralCmd {
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

/// Where a report reads: a bench's database, or the central one (every bench).
#[derive(clap::Args)]
struct Source {
    #[arg(long, conflicts_with = "central")]
    db: Option<PathBuf>,
    /// The central database (a libpq URL): the report spans every bench
    #[arg(long)]
    central: Option<String>,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// The full record of one order (order number or waybill)
    Order {
        order_no: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        src: Source,
    },
    /// What one person picked and packed
    Packer {
        id: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        src: Source,
    },
    /// Every weight mismatch and every override
    Mismatches {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        src: Source,
    },
    /// Returns checked in (退货签收) for the shop's refund process: order, waybill, SKU, qty,
    /// condition, reason, handler, times, and whether a packing claim was confirmed
    Returns {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        out: SheetOut,
        #[command(flatten)]
        src: Source,
    },
    /// The raw event log
    Export {
        #[arg(long, value_enum)]
        format: Format,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// Write to this file instead of stdout
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        src: Source,
    },
    /// Check the whole event log (and a checkpoint kept elsewhere)
    Verify {
        #[arg(long)]
        db: Option<PathBuf>,
        /// Check an exported log (`audit export --format jsonl`) instead of a database
        #[arg(long, conflicts_with = "db")]
        file: Option<PathBuf>,
        /// A checkpoint file from `audit checkpoint`
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Every bench on the floor, worst trouble first (central database)
    Board {
        #[command(flatten)]
        out: SheetOut,
        #[command(flatten)]
        src: CentralSource,
    },
    /// Orders, SKUs and employees by a part of their number, waybill or name (central)
    Search {
        text: String,
        /// At most this many of each kind
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[command(flatten)]
        out: SheetOut,
        #[command(flatten)]
        src: CentralSource,
    },
    /// The review queue (mismatches, overrides, holds, lost devices, alarms); with ITEM,
    /// mark that item reviewed (central database)
    Review {
        /// A queue item (`STATION:SEQ` or `alarm:ID`) to mark reviewed
        item: Option<String>,
        /// What the supervisor found (with ITEM)
        #[arg(long, requires = "item")]
        note: Option<String>,
        /// The supervisor's employee id (with ITEM)
        #[arg(long, requires = "item")]
        by: Option<String>,
        /// Since (date or RFC 3339 time; default: 7 days ago)
        #[arg(long)]
        from: Option<String>,
        /// Reviewed items too
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        out: SheetOut,
        #[command(flatten)]
        src: CentralSource,
    },
    /// Orders, units, wrong items caught, mismatches, overrides and reprints per packer and
    /// per bench (central database)
    Report {
        /// From (date or RFC 3339 time; default: today)
        #[arg(long)]
        from: Option<String>,
        /// To, inclusive (date or RFC 3339 time; default: the end of today)
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        out: SheetOut,
        #[command(flatten)]
        src: CentralSource,
    },
    /// Write the log's head (sequence and hash) to keep off the bench
    Checkpoint {
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Jsonl,
}

/// How a list or report is written.
#[derive(clap::Args)]
struct SheetOut {
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

/// The central database of the supervision commands.
#[derive(clap::Args)]
struct CentralSource {
    /// The central database (a libpq URL; default: the config's [central])
    #[arg(long)]
    central: Option<String>,
}

impl CentralSource {
    fn connect(&self, cfg: Option<&Config>) -> Result<packbench::central::Central> {
        let pw = cfg.and_then(|c| c.central_password_file());
        let url = match (&self.central, cfg.and_then(|c| c.central.as_ref())) {
            (Some(u), _) => u.clone(),
            (None, Some(c)) => c.url.clone(),
            (None, None) => bail!(
                "this needs the central database: give --central URL (or a config with a [central] section)"
            ),
        };
        Ok(packbench::central::Central::connect(&url, pw.as_deref())?)
    }
}

impl SheetOut {
    /// Writes `value` as JSON, or `sheets` as a table, CSV or .xlsx.
    fn write(&self, value: &impl serde::Serialize, sheets: &[&audit::sheet::Sheet]) -> Result<()> {
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
            SheetFormat::Table => {
                for (i, sh) in sheets.iter().enumerate() {
                    if sheets.len() > 1 {
                        if i > 0 {
                            buf.push(b'\n');
                        }
                        buf.extend_from_slice(format!("{}\n", sh.title).as_bytes());
                    }
                    buf.extend_from_slice(sh.table().as_bytes());
                }
            }
            SheetFormat::Csv => audit::sheet::write_csv(sheets, &mut buf)?,
            SheetFormat::Xlsx => {
                let Some(path) = &self.out else {
                    bail!("--format xlsx needs --out FILE.xlsx");
                };
                audit::sheet::write_xlsx(sheets, path)?;
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

fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

fn load_config(explicit: Option<&Path>) -> Result<Option<Config>> {
    match explicit {
        Some(p) => Ok(Some(Config::load(p).map_err(|e| anyhow!(e))?)),
        None if Path::new("station.toml").exists() => Ok(Some(
            Config::load(Path::new("station.toml")).map_err(|e| anyhow!(e))?,
        )),
        None => Ok(None),
    }
}

/// Writes a made file whole: into a temporary file beside it, then renamed over, so a failed
/// write never leaves half a PDF under the name.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.part", name.to_string_lossy()));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

/// `--db`, else the config's database, else packbench.db here.
fn db_path(db: Option<&Path>, cfg: Option<&Config>) -> PathBuf {
    match (db, cfg) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(c)) => c.database_path(),
        (None, None) => PathBuf::from("packbench.db"),
    }
}

fn open_store(db: Option<&Path>, cfg: Option<&Config>, must_exist: bool) -> Result<SqliteStore> {
    let path = db_path(db, cfg);
    if must_exist && !path.exists() {
        bail!(
            "database {} does not exist (give --db or run in the station's folder)",
            path.display()
        );
    }
    Ok(store::open(&path)?)
}

/// A report's store: `--central` (or a config with `[central]` and no `--db`) reads the
/// central database across every bench; otherwise the bench's own file, read as it is.
fn open_reader(src: &Source, cfg: Option<&Config>) -> Result<Box<dyn Store>> {
    let central = match (&src.central, &src.db, cfg.and_then(|c| c.central.as_ref())) {
        (Some(url), _, _) => Some((url.clone(), cfg.and_then(|c| c.central_password_file()))),
        (None, None, Some(c)) => Some((c.url.clone(), cfg.and_then(|c| c.central_password_file()))),
        _ => None,
    };
    match central {
        Some((url, password_file)) => {
            let c = packbench::central::Central::connect(&url, password_file.as_deref())?;
            Ok(Box::new(packbench::central::CentralReader::new(c)?))
        }
        None => Ok(Box::new(store::open_read_only(&db_path(
            src.db.as_deref(),
            cfg,
        ))?)),
    }
}

fn bound(s: &Option<String>, end: bool) -> Result<Option<DateTime<FixedOffset>>> {
    s.as_deref()
        .map(|s| audit::parse_bound(s, end))
        .transpose()
        .map_err(|e| anyhow!(e))
}

fn opt_g(x: Option<f64>) -> String {
    x.map(packbench::domain::weight::fmt_g).unwrap_or_default()
}

fn run(cli: Cli) -> Result<ExitCode> {
    let cfg = load_config(cli.config.as_deref())?;
    let Some(cmd) = cli.command else {
        // The station window: the configured bench, or the demo station without a config.
        packbench::ui::run_window(cfg, None)?;
        return Ok(ExitCode::SUCCESS);
    };
    match cmd {
        Cmd::Run { headless, db } => {
            let Some(cfg) = cfg else {
                bail!("packbench run needs a station config: give --config FILE or put station.toml in the working directory");
            };
            if !headless {
                return packbench::ui::run_window(Some(cfg), db).map(|()| ExitCode::SUCCESS);
            }
            packbench::station::app::run_headless(cfg, db)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Commands {
            pdf: Some(path), ..
        } => {
            let bytes = packbench::sheets::command_sheet_pdf()?;
            write_new_file(&path, &bytes)?;
            eprintln!("command sheet written to {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Commands { print: true, .. } => {
            let Some(cfg) = cfg else {
                bail!("packbench commands --print needs a station config with [printer]: give --config FILE or put station.toml in the working directory");
            };
            let Some(printer) = &cfg.printer else {
                bail!("the station config has no [printer] to print the command sheet on");
            };
            let target = packbench_drivers::printer::PrinterTarget::parse(&printer.target)
                .map_err(|e| anyhow!("{e}"))?;
            let setup =
                packbench::station::label::LabelSetup::from_config(&cfg).map_err(|e| anyhow!(e))?;
            let bytes = packbench::sheets::command_sheet_escpos(setup);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
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
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Badges { pdf, ids, db } => {
            let store = open_store(db.as_deref(), cfg.as_ref(), true)?;
            let employees = packbench::sheets::select_employees(store.employees()?, &ids)?;
            let bytes = packbench::sheets::badges_pdf(&employees)?;
            write_new_file(&pdf, &bytes)?;
            eprintln!("{} badges written to {}", employees.len(), pdf.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Commands { .. } => {
            let rows: Vec<Vec<String>> = COMMANDS
                .iter()
                .map(|(c, d)| {
                    let (en, zh) = c.group().title();
                    vec![c.code().to_string(), d.to_string(), format!("{en} / {zh}")]
                })
                .collect();
            print!(
                "{}",
                table::render(&["barcode", "meaning", "sheet group"], &rows)
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Import {
            kind,
            file,
            db,
            json,
            encoding,
            sheet,
            map,
            dry_run,
            central,
        } => {
            let kind = kind.kind();
            let opts = read_options(kind, cfg.as_ref(), encoding, sheet, map.as_deref())?;
            let central = match (central, &db, cfg.as_ref().and_then(|c| c.central.as_ref())) {
                (Some(url), _, _) => Some(url),
                (None, None, Some(c)) => Some(c.url.clone()),
                _ => None,
            };
            if dry_run {
                let target = match &central {
                    Some(url) => DryRunTarget::Central(url),
                    None => DryRunTarget::Bench(db_path(db.as_deref(), cfg.as_ref())),
                };
                return dry_run_import(kind, &file, &opts, target, cfg.as_ref(), json);
            }
            let (report, source) = match central {
                Some(url) => {
                    let pw = cfg.as_ref().and_then(|c| c.central_password_file());
                    let c = packbench::central::Central::connect(&url, pw.as_deref())?;
                    let bar = progress_bar(&file);
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    let report = rt.block_on(packbench::central::import_file(
                        &c,
                        kind,
                        &file,
                        &opts,
                        now(),
                        &mut |phase| show_phase(&bar, phase),
                    ))?;
                    bar.finish_and_clear();
                    (report, format!("into {}", c.database()))
                }
                None => {
                    let path = db_path(db.as_deref(), cfg.as_ref());
                    let station = cfg
                        .as_ref()
                        .map(|c| c.station_id.clone())
                        .unwrap_or_else(|| "CLI".into());
                    import_file(&path, kind, &file, &opts, &station)?
                }
            };
            if json {
                // The report's fields in their order, then what was read.
                #[derive(serde::Serialize)]
                struct Out<'a> {
                    #[serde(flatten)]
                    report: &'a ImportReport,
                    source: &'a str,
                }
                let out = Out {
                    report: &report,
                    source: &source,
                };
                println!("{}", serde_json::to_string(&out)?);
            } else {
                println!(
                    "{} ({source}): {} rows, {} added, {} changed, {} unchanged, {} cancelled",
                    file.display(),
                    report.rows,
                    report.added,
                    report.changed,
                    report.unchanged,
                    report.cancelled
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Employee {
            what: EmployeeCmd::Pin { id, db },
        } => {
            let mut store = open_store(db.as_deref(), cfg.as_ref(), true)?;
            let Some(employee) = store.employee(&id)? else {
                bail!("no employee {id} (import employees first)");
            };
            let pin = Pin::valid_for(
                &read_secret(&format!("PIN for {id}: "))?,
                employee.roles.supervisor,
            )
            .map_err(|e| anyhow!("{e}: the PIN was not changed"))?;
            import::set_pin(&mut store, &id, Some(&pin.hash()))?;
            println!("PIN of {id} set");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit { what } => audit_cmd(what, cfg.as_ref()),
        Cmd::Central { what } => central_cmd(what, cfg.as_ref()),
        Cmd::Console { src, exports } => {
            let central = src.connect(cfg.as_ref())?;
            // The console never runs as the administrator or a bench: it reads the floor and
            // reviews only through the centre's PIN check, as a console's own login.
            match current_thread()?.block_on(central.login())? {
                packbench::central::Login::Console(id) => {
                    tracing::info!(console = %id, "console login")
                }
                other => bail!(
                    "the console connects with a console's own login, not {}: create one with \
                     `packbench central add-console ID --url ADMIN_URL` and start the console with the URL it prints",
                    match other {
                        packbench::central::Login::Administrator => "the administrator's".to_string(),
                        packbench::central::Login::Bench(s) => format!("bench {s}'s"),
                        _ => "this one".to_string(),
                    }
                ),
            }
            packbench::ui::console::run(central, exports)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Simulate { device } => {
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
    }
}

/// The options for one import: the config's `[import.KIND]` map, then `--map`, then the flags.
fn read_options(
    kind: import::Kind,
    cfg: Option<&Config>,
    encoding: Option<EncodingArg>,
    sheet: Option<String>,
    map: Option<&Path>,
) -> Result<import::ReadOptions> {
    let mut opts = import::ReadOptions {
        encoding: encoding.map(|e| match e {
            EncodingArg::Utf8 => import::TextEncoding::Utf8,
            EncodingArg::Gb18030 => import::TextEncoding::Gb18030,
        }),
        sheet,
        map: cfg.map(|c| c.import_map(kind)).unwrap_or_default(),
    };
    if let Some(path) = map {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the column map {}", path.display()))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| {
            anyhow!(
                "column map {} is not valid: {}",
                path.display(),
                e.message()
            )
        })?;
        let mut entries = std::collections::HashMap::new();
        for (header, column) in table {
            let Some(column) = column.as_str() else {
                bail!(
                    "column map {}: {header:?} must be given a column name in quotes, e.g. {header:?} = \"sku\"",
                    path.display()
                );
            };
            entries.insert(header, column.to_string());
        }
        import::check_map(kind, &entries)
            .map_err(|e| anyhow!("column map {}: {e}", path.display()))?;
        for (header, column) in &entries {
            opts.map_column(header, column);
        }
    }
    Ok(opts)
}

/// A local import into the database at `db` (created when it is not there yet), with a
/// progress bar on a terminal.
fn import_file(
    db: &Path,
    kind: import::Kind,
    file: &Path,
    opts: &import::ReadOptions,
    station: &str,
) -> Result<(ImportReport, String)> {
    let bar = progress_bar(file);
    let mut progress = |phase| show_phase(&bar, phase);
    let (mut store, checked) = if db.exists() {
        let store = store::open(db)?;
        let checked = import::check_file(&store, kind, file, opts, &mut progress)?;
        (store, checked)
    } else {
        // Bad input changes nothing, not even by leaving an empty database behind: the file
        // is checked against an empty one before the database is created.
        let checked =
            import::check_file(&store::open_in_memory()?, kind, file, opts, &mut progress)?;
        (store::open(db)?, checked)
    };
    let report = import::write(
        &mut store,
        &checked.parsed,
        &checked.meta(station, now()),
        &mut |done, total| progress(import::Phase::Writing(done, total)),
    )?;
    bar.finish_and_clear();
    Ok((report, checked.rows.source))
}

/// An import's phase on its progress bar.
fn show_phase(bar: &indicatif::ProgressBar, phase: import::Phase) {
    match phase {
        import::Phase::Reading => bar.set_message("reading"),
        import::Phase::Checking(n) => bar.set_message(format!("checking {n} rows")),
        import::Phase::Writing(done, total) => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message("writing");
        }
    }
}

/// What an `import --dry-run` checks against.
enum DryRunTarget<'a> {
    /// The bench's database file (which may not exist yet).
    Bench(PathBuf),
    /// The central database's URL.
    Central(&'a str),
}

/// Rows shown by `import --dry-run`.
const DRY_RUN_ROWS: usize = 5;

/// `import --dry-run`: read and check against the bench's database (or an empty one when
/// there is none yet) or the centre's master data, print what would be imported, write
/// nothing.
fn dry_run_import(
    kind: import::Kind,
    file: &Path,
    opts: &import::ReadOptions,
    target: DryRunTarget,
    cfg: Option<&Config>,
    json: bool,
) -> Result<ExitCode> {
    let (checked, target) = match target {
        DryRunTarget::Bench(path) => {
            // Opening a missing database would create it: check against an empty one instead.
            let store = if path.exists() {
                store::open_read_only(&path)?
            } else {
                store::open_in_memory()?
            };
            let checked = import::check_file(&store, kind, file, opts, &mut |_| {})?;
            let target = if path.exists() {
                path.display().to_string()
            } else {
                format!("{} (empty: not created yet)", path.display())
            };
            (checked, target)
        }
        DryRunTarget::Central(url) => {
            let pw = cfg.and_then(|c| c.central_password_file());
            let c = packbench::central::Central::connect(url, pw.as_deref())?;
            let checked = current_thread()?.block_on(packbench::central::check_file(
                &c,
                kind,
                file,
                opts,
                &mut |_| {},
            ))?;
            (checked, format!("central database {}", c.database()))
        }
    };
    let rows = &checked.rows;
    let (headers, sample) = checked.parsed.preview(DRY_RUN_ROWS);
    let records = checked.parsed.len();
    if json {
        let v = serde_json::json!({
            "dry_run": true,
            "file": file.display().to_string(),
            "target": target,
            "source": rows.source,
            "columns": rows.columns.iter().map(|(h, c)| serde_json::json!({"header": h, "column": c})).collect::<Vec<_>>(),
            "rows": rows.rows.len(),
            "records": records,
            "preview": {"columns": headers, "rows": sample},
        });
        println!("{}", serde_json::to_string(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let noun = match kind {
        import::Kind::Catalog => "SKUs",
        import::Kind::Orders => "orders",
        import::Kind::Employees => "employees",
        import::Kind::Packaging => "packaging types",
    };
    println!(
        "{} ({}): {} rows, {records} {noun}, all good against {target}; dry run, nothing written",
        file.display(),
        rows.source,
        rows.rows.len()
    );
    println!();
    let mapping: Vec<Vec<String>> = rows
        .columns
        .iter()
        .map(|(h, c)| {
            vec![
                h.clone(),
                c.map_or("extra, not imported".to_string(), str::to_string),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["column in the file", "imported as"], &mapping)
    );
    println!();
    println!("first {} rows as they would be imported:", sample.len());
    print!("{}", table::render(&headers, &sample));
    Ok(ExitCode::SUCCESS)
}

/// A spinner on stderr for large imports; invisible when stderr is not a terminal.
fn progress_bar(file: &Path) -> indicatif::ProgressBar {
    // Small files finish before a spinner would be seen.
    if std::fs::metadata(file).map(|m| m.len()).unwrap_or(0) < 1_000_000 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn central_url(db: &CentralUrl, cfg: Option<&Config>) -> Result<(String, Option<PathBuf>)> {
    match (&db.url, cfg.and_then(|c| c.central.as_ref())) {
        (Some(u), _) => Ok((u.clone(), db.password_file.clone())),
        (None, Some(c)) => Ok((
            c.url.clone(),
            db.password_file
                .clone()
                .or_else(|| cfg.and_then(|c| c.central_password_file())),
        )),
        (None, None) => bail!("give --url (or a config with a [central] section)"),
    }
}

fn current_thread() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn central_cmd(what: CentralCmd, cfg: Option<&Config>) -> Result<ExitCode> {
    use packbench::central::{self, Central, CentralCheckpoint};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let connect = |db: &CentralUrl| -> Result<Central> {
        let (url, pw) = central_url(db, cfg)?;
        Ok(Central::connect(&url, pw.as_deref())?)
    };
    match what {
        CentralCmd::Init { db } => {
            let (url, pw) = central_url(&db, cfg)?;
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
            let (url, pw) = central_url(&db, cfg)?;
            let added = rt.block_on(central::add_bench(&url, pw.as_deref(), &station_id))?;
            // Shown once: the password is not stored in clear anywhere.
            eprintln!(
                "bench {} added; its connection URL (keep it in the bench's password_file or config):",
                added.station_id
            );
            println!("{}", added.url);
        }
        CentralCmd::AddConsole { console_id, db } => {
            let (url, pw) = central_url(&db, cfg)?;
            let added = rt.block_on(central::add_console(&url, pw.as_deref(), &console_id))?;
            // Shown once: the password is not stored in clear anywhere.
            eprintln!(
                "console {} added; its connection URL (keep it in the console's password_file or config):",
                added.console_id
            );
            println!("{}", added.url);
        }
        CentralCmd::Status { db, json } => {
            let c = connect(&db)?;
            let benches = rt.block_on(c.status(std::time::Duration::from_secs(10)))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&benches)?);
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = benches
                .iter()
                .map(|b| {
                    vec![
                        b.station_id.clone(),
                        if b.online { "online" } else { "offline" }.into(),
                        b.last_seen
                            .map(|t| {
                                t.with_timezone(&Local)
                                    .format("%Y-%m-%d %H:%M:%S")
                                    .to_string()
                            })
                            .unwrap_or_default(),
                        b.backlog.map(|n| n.to_string()).unwrap_or_default(),
                        b.head_seq.to_string(),
                        b.packer_id.clone().unwrap_or_default(),
                        b.held_order.clone().unwrap_or_default(),
                        b.open_alarms.to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(
                    &[
                        "bench",
                        "link",
                        "last seen",
                        "backlog",
                        "central seq",
                        "packer",
                        "holds",
                        "alarms"
                    ],
                    &rows
                )
            );
        }
        CentralCmd::Release {
            order_no,
            by,
            reason,
            db,
        } => {
            let c = connect(&db)?;
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
            let c = connect(&db)?;
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
                None => {
                    if !json {
                        println!(
                            "central log intact: {} events from {} stations, {} checkpoints",
                            r.events,
                            r.stations.len(),
                            r.checkpoints
                        );
                    }
                }
                Some(e) => {
                    eprintln!("central log NOT intact: {e}");
                    return Ok(ExitCode::from(3));
                }
            }
        }
        CentralCmd::Checkpoint { db, out } => {
            let c = connect(&db)?;
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

fn audit_cmd(what: AuditCmd, cfg: Option<&Config>) -> Result<ExitCode> {
    match what {
        AuditCmd::Order {
            order_no,
            json,
            src,
        } => {
            let store = open_reader(&src, cfg)?;
            let Some(rec) = audit::order_record(store.as_ref(), &order_no)? else {
                bail!("no order or waybill {order_no:?} in the database");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&rec)?);
                return Ok(ExitCode::SUCCESS);
            }
            let kv = vec![
                vec!["order".into(), rec.order_no.clone()],
                vec!["waybill".into(), rec.waybill_no.clone()],
                vec!["carrier".into(), rec.carrier.clone()],
                vec!["recipient".into(), rec.recipient.clone()],
                vec!["status".into(), rec.status.clone()],
                vec!["picker".into(), rec.picker_id.clone().unwrap_or_default()],
                vec!["packer".into(), rec.packer_id.clone().unwrap_or_default()],
                vec!["station".into(), rec.station_id.clone().unwrap_or_default()],
                vec!["expected g".into(), opt_g(rec.expected_weight_g)],
                vec!["measured g".into(), opt_g(rec.measured_weight_g)],
                vec!["tolerance g".into(), opt_g(rec.tolerance_g)],
                vec![
                    "weight ok".into(),
                    rec.weight_ok.map(|b| b.to_string()).unwrap_or_default(),
                ],
                vec![
                    "override by".into(),
                    rec.override_by.clone().unwrap_or_default(),
                ],
                vec![
                    "packed at".into(),
                    rec.packed_at.clone().unwrap_or_default(),
                ],
                vec![
                    "dispatched at".into(),
                    rec.dispatched_at.clone().unwrap_or_default(),
                ],
                vec!["buyer note".into(), rec.buyer_note.clone()],
            ];
            print!("{}", table::render(&["field", "value"], &kv));
            println!();
            let lines: Vec<Vec<String>> = rec
                .lines
                .iter()
                .map(|l| {
                    vec![
                        l.sku.clone(),
                        format!("{}/{}", l.scanned, l.qty),
                        if l.gift { "gift".into() } else { String::new() },
                    ]
                })
                .collect();
            print!("{}", table::render(&["sku", "scanned", ""], &lines));
            println!();
            let ev: Vec<Vec<String>> = rec
                .events
                .iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        e.at.clone(),
                        e.kind.clone(),
                        e.actor.clone().unwrap_or_default(),
                        e.station_id.clone(),
                        audit::event_summary(&e.data, &[], " "),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(&["seq", "at", "event", "actor", "station", "data"], &ev)
            );
            if !rec.returns.is_empty() {
                println!();
                print!("{}", audit::returns::sheet(&rec.returns).table());
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Packer {
            id,
            from,
            to,
            json,
            src,
        } => {
            let store = open_reader(&src, cfg)?;
            let r =
                audit::packer_report(store.as_ref(), &id, bound(&from, false)?, bound(&to, true)?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{} {}: packed {}, picked {}, weight mismatches {}, overridden {}, rejected scans {}, \
                 packing errors confirmed by returns {}{}",
                r.id,
                table::clean(r.name.as_deref().unwrap_or("")),
                r.packed,
                r.picked,
                r.mismatches,
                r.overrides,
                r.rejected_scans,
                r.packing_errors,
                r.packing_error_rate
                    .map(|x| format!(" ({:.1} % of orders)", x * 100.0))
                    .unwrap_or_default()
            );
            let rows: Vec<Vec<String>> = r
                .orders
                .iter()
                .map(|o| {
                    vec![
                        o.order_no.clone(),
                        o.role.clone(),
                        o.at.clone(),
                        o.station_id.clone(),
                        opt_g(o.measured_g),
                        opt_g(o.expected_g),
                        o.weight_ok.map(|b| b.to_string()).unwrap_or_default(),
                        o.override_by.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(
                    &[
                        "order",
                        "role",
                        "at",
                        "station",
                        "measured g",
                        "expected g",
                        "ok",
                        "override"
                    ],
                    &rows
                )
            );
            if !r.packing_error_returns.is_empty() {
                let errs: Vec<Vec<String>> = r
                    .packing_error_returns
                    .iter()
                    .map(|p| {
                        vec![
                            p.order_no.clone(),
                            p.return_id.clone(),
                            p.reason.clone(),
                            p.role.clone(),
                            p.at.clone(),
                            p.handler_id.clone(),
                        ]
                    })
                    .collect();
                println!();
                print!(
                    "{}",
                    table::render(
                        &[
                            "order",
                            "return",
                            "confirmed claim",
                            "role",
                            "closed at",
                            "handler"
                        ],
                        &errs
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Mismatches {
            from,
            to,
            json,
            src,
        } => {
            let store = open_reader(&src, cfg)?;
            let rows = audit::mismatches(store.as_ref(), bound(&from, false)?, bound(&to, true)?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(ExitCode::SUCCESS);
            }
            let t: Vec<Vec<String>> = rows
                .iter()
                .map(|m| {
                    vec![
                        m.at.clone(),
                        m.kind.clone(),
                        m.order_no.clone().unwrap_or_default(),
                        m.station_id.clone(),
                        m.who.clone().unwrap_or_default(),
                        opt_g(m.measured_g),
                        opt_g(m.expected_g),
                        opt_g(m.diff_g),
                        m.why.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(
                    &[
                        "at",
                        "event",
                        "order",
                        "station",
                        "who",
                        "measured g",
                        "expected g",
                        "diff g",
                        "hint / reason"
                    ],
                    &t
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Returns { from, to, out, src } => {
            let store = open_reader(&src, cfg)?;
            let rows = audit::returns::returns_report(
                store.as_ref(),
                bound(&from, false)?,
                bound(&to, true)?,
            )?;
            out.write(&rows, &[&audit::returns::sheet(&rows)])?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Export {
            format,
            from,
            to,
            out,
            src,
        } => {
            let store = open_reader(&src, cfg)?;
            let fmt = match format {
                Format::Csv => ExportFormat::Csv,
                Format::Jsonl => ExportFormat::Jsonl,
            };
            let (from, to) = (bound(&from, false)?, bound(&to, true)?);
            match out {
                Some(p) => {
                    let f = std::fs::File::create(&p)
                        .with_context(|| format!("cannot write {}", p.display()))?;
                    let mut w = std::io::BufWriter::new(f);
                    let n = audit::export(store.as_ref(), fmt, from, to, &mut w)?;
                    w.flush()?;
                    eprintln!("{n} events written to {}", p.display());
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = std::io::BufWriter::new(stdout.lock());
                    audit::export(store.as_ref(), fmt, from, to, &mut w)?;
                    w.flush()?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Verify {
            db,
            file,
            checkpoint,
            json,
        } => {
            let cp: Option<Checkpoint> = match &checkpoint {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("cannot read checkpoint {}", p.display()))?;
                    Some(serde_json::from_str(&text).with_context(|| {
                        format!("checkpoint {} is not a packbench checkpoint", p.display())
                    })?)
                }
                None => None,
            };
            let r = match &file {
                Some(f) => {
                    let text = std::fs::read_to_string(f)
                        .with_context(|| format!("cannot read {}", f.display()))?;
                    packbench::store::chain::verify_export(&text, cp.as_ref())
                        .map_err(|e| anyhow!("{}: {e}", f.display()))?
                }
                None => store::open_read_only(&db_path(db.as_deref(), cfg))?.verify(cp.as_ref())?,
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "ok": r.error.is_none(),
                        "events": r.events,
                        "head_seq": r.head.as_ref().map(|h| h.seq),
                        "head_hash": r.head.as_ref().map(|h| h.hash.clone()),
                        "error": r.error.as_ref().map(|e| e.to_string()),
                    })
                );
            }
            match r.error {
                None => {
                    if !json {
                        println!(
                            "event log intact: {} events{}",
                            r.events,
                            r.head
                                .map(|h| format!(", head {} {}", h.seq, h.hash))
                                .unwrap_or_default()
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Some(e) => {
                    eprintln!("event log NOT intact: {e}");
                    Ok(ExitCode::from(3))
                }
            }
        }
        AuditCmd::Board { out, src } => {
            let c = src.connect(cfg)?;
            let rt = current_thread()?;
            let start = Local::now()
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .and_then(|t| Local.from_local_datetime(&t).earliest())
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_else(chrono::Utc::now);
            let rows = rt.block_on(c.board(std::time::Duration::from_secs(10), start))?;
            out.write(&rows, &[&audit::floor::board(&rows, chrono::Utc::now())])?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Search {
            text,
            limit,
            out,
            src,
        } => {
            if text.trim().chars().count() < packbench::central::SEARCH_MIN_CHARS {
                bail!(
                    "type at least {} characters to search",
                    packbench::central::SEARCH_MIN_CHARS
                );
            }
            let c = src.connect(cfg)?;
            let hits = current_thread()?.block_on(c.search(&text, limit.clamp(1, 1000)))?;
            out.write(&hits, &[&audit::floor::search(&hits)])?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Review {
            item,
            note,
            by,
            from,
            all,
            out,
            src,
        } => {
            let c = src.connect(cfg)?;
            let rt = current_thread()?;
            if let Some(item) = item {
                let (Some(note), Some(by)) = (note, by) else {
                    bail!("marking {item} reviewed needs --note TEXT and --by SUPERVISOR_ID");
                };
                let pin = Pin::new(&read_secret(&format!("PIN of {by}: "))?);
                let proof = rt.block_on(c.pin_proof(&by, &pin))?;
                let seq = rt.block_on(c.review(&item, &by, proof.as_ref(), &note))?;
                println!("{item} reviewed by {by} (central event {seq})");
                return Ok(ExitCode::SUCCESS);
            }
            let since = match bound(&from, false)? {
                Some(t) => t.with_timezone(&chrono::Utc),
                None => chrono::Utc::now() - chrono::Duration::days(7),
            };
            let items = rt.block_on(c.review_queue(
                since,
                std::time::Duration::from_secs(300),
                all,
                10_000,
            ))?;
            out.write(&items, &[&audit::floor::review(&items)])?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Report { from, to, out, src } => {
            let c = src.connect(cfg)?;
            let today = Local::now().format("%Y-%m-%d").to_string();
            let from = bound(&Some(from.unwrap_or_else(|| today.clone())), false)?
                .expect("given")
                .with_timezone(&chrono::Utc);
            let to = bound(&Some(to.unwrap_or(today)), true)?
                .expect("given")
                .with_timezone(&chrono::Utc)
                + chrono::Duration::milliseconds(1);
            let report = current_thread()?.block_on(c.report(from, to))?;
            let [a, b] = audit::floor::report(&report);
            out.write(&report, &[&a, &b])?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Checkpoint { out, db } => {
            let store = store::open_read_only(&db_path(db.as_deref(), cfg))?;
            let Some(cp) = store.checkpoint(now())? else {
                bail!("the event log is empty: nothing to checkpoint");
            };
            let text = serde_json::to_string_pretty(&cp)?;
            match out {
                Some(p) => {
                    std::fs::write(&p, format!("{text}\n"))
                        .with_context(|| format!("cannot write {}", p.display()))?;
                    eprintln!("checkpoint at event {} written to {}", cp.seq, p.display());
                }
                None => println!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A short one-line view of an event's data for tables.
/// One line from the terminal without echo, or from standard input when it is not one.
fn read_secret(prompt: &str) -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let mut line = String::new();
    if !stdin.is_terminal() {
        stdin.lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    // SAFETY: termios calls on standard input's descriptor with a zeroed struct they fill.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    let fd = libc::STDIN_FILENO;
    let echo_off = unsafe { libc::tcgetattr(fd, &mut old) } == 0 && {
        let mut quiet = old;
        quiet.c_lflag &= !libc::ECHO;
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) == 0 }
    };
    let read = stdin.lock().read_line(&mut line);
    if echo_off {
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
        eprintln!();
    }
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // One clear sentence: the error and its causes on one line.
            let msg = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("packbench: {}", table::clean(&msg));
            ExitCode::FAILURE
        }
    }
}
