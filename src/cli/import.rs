//! `packbench import`: the shop system's files into the bench's database or the centre's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;

use packbench::audit::sheet::Sheet;
use packbench::config::Config;
use packbench::import::{self, Kind, Phase, ReadOptions, TextEncoding};
use packbench::store::ImportReport;

use super::{current_thread, db_path, now, out};

#[derive(clap::Args)]
pub struct ImportArgs {
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
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    Catalog,
    Orders,
    Employees,
    Packaging,
}

impl ImportKind {
    fn kind(self) -> Kind {
        match self {
            ImportKind::Catalog => Kind::Catalog,
            ImportKind::Orders => Kind::Orders,
            ImportKind::Employees => Kind::Employees,
            ImportKind::Packaging => Kind::Packaging,
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

/// Rows shown by `import --dry-run`.
const DRY_RUN_ROWS: usize = 5;

pub fn run(args: ImportArgs, cfg: Option<&Config>) -> Result<ExitCode> {
    let kind = args.kind.kind();
    let opts = read_options(&args, kind, cfg)?;
    let central = match (
        &args.central,
        &args.db,
        cfg.and_then(|c| c.central.as_ref()),
    ) {
        (Some(url), _, _) => Some(url.clone()),
        (None, None, Some(c)) => Some(c.url.clone()),
        _ => None,
    };
    let file = &args.file;
    if args.dry_run {
        return dry_run(&args, kind, &opts, central.as_deref(), cfg);
    }
    let (report, source) = match central {
        Some(url) => {
            let pw = cfg.and_then(|c| c.central_password_file());
            let c = packbench::central::Central::connect(&url, pw.as_deref())?;
            let bar = progress_bar(file);
            let report = current_thread()?.block_on(packbench::central::import_file(
                &c,
                kind,
                file,
                &opts,
                now(),
                &mut |phase| show_phase(&bar, phase),
            ))?;
            bar.finish_and_clear();
            (report, format!("into {}", c.database()))
        }
        None => {
            let station = cfg
                .map(|c| c.station_id.clone())
                .unwrap_or_else(|| "CLI".into());
            let bar = progress_bar(file);
            let done = import::import_into_db(
                &db_path(args.db.as_deref(), cfg),
                kind,
                file,
                &opts,
                &station,
                now(),
                &mut |phase| show_phase(&bar, phase),
            )?;
            bar.finish_and_clear();
            done
        }
    };
    if args.json {
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

/// The options for one import: the config's `[import.KIND]` map, then `--map`, then the flags.
fn read_options(args: &ImportArgs, kind: Kind, cfg: Option<&Config>) -> Result<ReadOptions> {
    let mut opts = ReadOptions {
        encoding: args.encoding.map(|e| match e {
            EncodingArg::Utf8 => TextEncoding::Utf8,
            EncodingArg::Gb18030 => TextEncoding::Gb18030,
        }),
        sheet: args.sheet.clone(),
        map: cfg.map(|c| c.import_map(kind)).unwrap_or_default(),
    };
    if let Some(path) = &args.map {
        opts.add_map_file(kind, path)?;
    }
    Ok(opts)
}

/// `import --dry-run`: read and check against the bench's database (or an empty one when
/// there is none yet) or the centre's master data, print what would be imported, write
/// nothing.
fn dry_run(
    args: &ImportArgs,
    kind: Kind,
    opts: &ReadOptions,
    central: Option<&str>,
    cfg: Option<&Config>,
) -> Result<ExitCode> {
    let file = &args.file;
    let (checked, target) = match central {
        None => {
            let path = db_path(args.db.as_deref(), cfg);
            let checked = import::check_against_db(&path, kind, file, opts)?;
            let target = if path.exists() {
                path.display().to_string()
            } else {
                format!("{} (empty: not created yet)", path.display())
            };
            (checked, target)
        }
        Some(url) => {
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
    if args.json {
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
    println!(
        "{} ({}): {} rows, {records} {}, all good against {target}; dry run, nothing written",
        file.display(),
        rows.source,
        rows.rows.len(),
        kind.records_noun()
    );
    println!();
    let mut mapping = Sheet::new("columns", &["column in the file", "imported as"]);
    for (h, c) in &rows.columns {
        mapping.push(vec![
            h.as_str().into(),
            c.unwrap_or("extra, not imported").into(),
        ]);
    }
    out::print_tables(&[&mapping]);
    println!();
    println!("first {} rows as they would be imported:", sample.len());
    let mut preview = Sheet::new("preview", &headers);
    for row in sample {
        preview.push(row.into_iter().map(Into::into).collect());
    }
    out::print_tables(&[&preview]);
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

/// An import's phase on its progress bar.
fn show_phase(bar: &indicatif::ProgressBar, phase: Phase) {
    match phase {
        Phase::Reading => bar.set_message("reading"),
        Phase::Checking(n) => bar.set_message(format!("checking {n} rows")),
        Phase::Writing(done, total) => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message("writing");
        }
    }
}
