//! The command line over the library: one module per command group, each parsing its
//! arguments, calling the library and printing; `main.rs` only parses and dispatches.
//! anyhow lives here (and in `main.rs`) only: the library's errors are typed.

pub mod audit;
pub mod central;
pub mod employee;
pub mod import;
pub mod out;
pub mod sheets;
pub mod simulate;
pub mod station;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, FixedOffset, Local};

use packbench::audit::table;
use packbench::config::Config;
use packbench::store::{self, SqliteStore, Store};

pub fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

/// `--config`, else station.toml in the working directory when there is one.
pub fn load_config(explicit: Option<&Path>) -> Result<Option<Config>> {
    match explicit {
        Some(p) => Ok(Some(Config::load(p).map_err(|e| anyhow!(e))?)),
        None if Path::new("station.toml").exists() => Ok(Some(
            Config::load(Path::new("station.toml")).map_err(|e| anyhow!(e))?,
        )),
        None => Ok(None),
    }
}

/// The process's exit: the command's code, or one clear line on stderr and failure.
pub fn exit_code(result: Result<ExitCode>) -> ExitCode {
    match result {
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

/// Writes a made file whole: into a temporary file beside it, then renamed over, so a failed
/// write never leaves half a PDF under the name.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
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
pub fn db_path(db: Option<&Path>, cfg: Option<&Config>) -> PathBuf {
    match (db, cfg) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(c)) => c.database_path(),
        (None, None) => PathBuf::from("packbench.db"),
    }
}

pub fn open_store(
    db: Option<&Path>,
    cfg: Option<&Config>,
    must_exist: bool,
) -> Result<SqliteStore> {
    let path = db_path(db, cfg);
    if must_exist && !path.exists() {
        bail!(
            "database {} does not exist (give --db or run in the station's folder)",
            path.display()
        );
    }
    Ok(store::open(&path)?)
}

/// Where a report reads: a bench's database, or the central one (every bench).
#[derive(clap::Args)]
pub struct Source {
    #[arg(long, conflicts_with = "central")]
    db: Option<PathBuf>,
    /// The central database (a libpq URL): the report spans every bench
    #[arg(long)]
    central: Option<String>,
}

/// A report's store: `--central` (or a config with `[central]` and no `--db`) reads the
/// central database across every bench; otherwise the bench's own file, read as it is.
pub fn open_reader(src: &Source, cfg: Option<&Config>) -> Result<Box<dyn Store>> {
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

/// The central database of the supervision commands.
#[derive(clap::Args)]
pub struct CentralSource {
    /// The central database (a libpq URL; default: the config's [central])
    #[arg(long)]
    central: Option<String>,
}

impl CentralSource {
    pub fn connect(&self, cfg: Option<&Config>) -> Result<packbench::central::Central> {
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

/// `--from`/`--to` as given (a date or an RFC 3339 time).
pub fn bound(s: &Option<String>, end: bool) -> Result<Option<DateTime<FixedOffset>>> {
    Ok(s.as_deref()
        .map(|s| packbench::audit::parse_bound(s, end))
        .transpose()?)
}

pub fn current_thread() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// One line from the terminal without echo, or from standard input when it is not one.
pub fn read_secret(prompt: &str) -> Result<String> {
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
