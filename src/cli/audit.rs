//! `packbench audit`: reports and proofs from the event log, the bench's or the centre's.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;

use packbench::audit::{self, ExportFormat, LogSource};
use packbench::config::Config;
use packbench::domain::pin::Pin;
use packbench::store::{self, EventLog};

use super::out::{print_json, print_tables, SheetOut};
use super::{bound, current_thread, db_path, now, open_reader, read_secret, CentralSource, Source};

#[derive(clap::Subcommand)]
pub enum AuditCmd {
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
pub enum Format {
    Csv,
    Jsonl,
}

pub fn run(what: AuditCmd, cfg: Option<&Config>) -> Result<ExitCode> {
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
                print_json(&rec)?;
            } else {
                print_tables(&rec.sheets().iter().collect::<Vec<_>>());
            }
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
                print_json(&r)?;
            } else {
                println!("{}", r.summary());
                print_tables(&r.sheets().iter().collect::<Vec<_>>());
            }
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
                print_json(&rows)?;
            } else {
                print_tables(&[&audit::tables::mismatches(&rows)]);
            }
        }
        AuditCmd::Returns { from, to, out, src } => {
            let store = open_reader(&src, cfg)?;
            let rows = audit::returns::returns_report(
                store.as_ref(),
                bound(&from, false)?,
                bound(&to, true)?,
            )?;
            out.write(&rows, &[&audit::returns::sheet(&rows)])?;
        }
        AuditCmd::Export {
            format,
            from,
            to,
            out,
            src,
        } => export(format, &from, &to, out, &src, cfg)?,
        AuditCmd::Verify {
            db,
            file,
            checkpoint,
            json,
        } => return verify(db, file, checkpoint, json, cfg),
        AuditCmd::Board { out, src } => {
            let c = src.connect(cfg)?;
            let rows = current_thread()?
                .block_on(c.board(std::time::Duration::from_secs(10), audit::start_of_today()))?;
            out.write(&rows, &[&audit::floor::board(&rows, chrono::Utc::now())])?;
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
            match item {
                Some(item) => mark_reviewed(&c, &item, note, by)?,
                None => {
                    let since = audit::review_since(from.as_deref())?;
                    let items = current_thread()?.block_on(c.review_queue(
                        since,
                        std::time::Duration::from_secs(300),
                        all,
                        10_000,
                    ))?;
                    out.write(&items, &[&audit::floor::review(&items)])?;
                }
            }
        }
        AuditCmd::Report { from, to, out, src } => {
            let c = src.connect(cfg)?;
            let (from, to) = audit::report_period(from.as_deref(), to.as_deref())?;
            let report = current_thread()?.block_on(c.report(from, to))?;
            let [a, b] = audit::floor::report(&report);
            out.write(&report, &[&a, &b])?;
        }
        AuditCmd::Checkpoint { out, db } => checkpoint(out, db, cfg)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit export`: the raw log to `out`, or to stdout.
fn export(
    format: Format,
    from: &Option<String>,
    to: &Option<String>,
    out: Option<PathBuf>,
    src: &Source,
    cfg: Option<&Config>,
) -> Result<()> {
    let store = open_reader(src, cfg)?;
    let fmt = match format {
        Format::Csv => ExportFormat::Csv,
        Format::Jsonl => ExportFormat::Jsonl,
    };
    let (from, to) = (bound(from, false)?, bound(to, true)?);
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
    Ok(())
}

/// `audit review ITEM --note --by`: marked with the supervisor's PIN, checked by the centre.
fn mark_reviewed(
    c: &packbench::central::Central,
    item: &str,
    note: Option<String>,
    by: Option<String>,
) -> Result<()> {
    let (Some(note), Some(by)) = (note, by) else {
        bail!("marking {item} reviewed needs --note TEXT and --by SUPERVISOR_ID");
    };
    let rt = current_thread()?;
    let pin = Pin::new(&read_secret(&format!("PIN of {by}: "))?);
    let proof = rt.block_on(c.pin_proof(&by, &pin))?;
    let seq = rt.block_on(c.review(item, &by, proof.as_ref(), &note))?;
    println!("{item} reviewed by {by} (central event {seq})");
    Ok(())
}

/// `audit checkpoint`: the log's head, to keep off the bench.
fn checkpoint(out: Option<PathBuf>, db: Option<PathBuf>, cfg: Option<&Config>) -> Result<()> {
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
    Ok(())
}

/// `audit verify`: exit 0 when the log is intact, 3 when it is not.
fn verify(
    db: Option<PathBuf>,
    file: Option<PathBuf>,
    checkpoint: Option<PathBuf>,
    json: bool,
    cfg: Option<&Config>,
) -> Result<ExitCode> {
    let cp = checkpoint
        .as_deref()
        .map(audit::read_checkpoint)
        .transpose()?;
    let db = db_path(db.as_deref(), cfg);
    let source = match &file {
        Some(f) => LogSource::Export(f),
        None => LogSource::Database(&db),
    };
    let r = audit::check_log(source, cp.as_ref())?;
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
