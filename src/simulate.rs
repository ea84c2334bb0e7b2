//! `packbench simulate ...`: simulated devices for people trying a station without hardware.
//! Each runs until its input ends or Ctrl-C, and is driven by lines typed on stdin.

use std::path::{Path, PathBuf};
use std::time::Duration;

use packbench_drivers::label::label_to_text;
use packbench_drivers::printer::{PrinterSimulator, SimMode};
use packbench_drivers::scale::{ScaleError, ScaleProtocol, WeightUnit};
use packbench_drivers::scanner::Suffix;
use packbench_drivers::serial::VirtualPort;
use packbench_drivers::sim::scale::{SimCondition, SimScale, SimScaleState};
use packbench_drivers::sim::scanner::encode_scan;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Why a simulator could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("unknown printer mode {0:?} (ready, near-end, paper-out, cover-open, offline, error, drop, silent, refuse)")]
    UnknownMode(String),
    #[error(transparent)]
    Scale(#[from] ScaleError),
    #[error("cannot replace {}", .0.display())]
    Replace(PathBuf, #[source] std::io::Error),
    #[error("cannot create {}", .0.display())]
    Link(PathBuf, #[source] std::io::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

type Result<T, E = SimulateError> = std::result::Result<T, E>;

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Points `link` at the pty so a config can name a stable path.
fn link_to(port: &VirtualPort, link: Option<&Path>) -> Result<PathBuf> {
    let Some(link) = link else {
        return Ok(port.path().to_path_buf());
    };
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(link).map_err(|e| SimulateError::Replace(link.into(), e))?;
    }
    std::os::unix::fs::symlink(port.path(), link)
        .map_err(|e| SimulateError::Link(link.into(), e))?;
    Ok(link.to_path_buf())
}

async fn stdin_lines() -> tokio::io::Lines<BufReader<tokio::io::Stdin>> {
    BufReader::new(tokio::io::stdin()).lines()
}

pub fn printer(mode: &str) -> Result<()> {
    let mode = parse_mode(mode)?;
    runtime()?.block_on(async {
        let sim = PrinterSimulator::start_in(mode).await?;
        eprintln!(
            "printer simulator on tcp://127.0.0.1:{} ({mode:?}). Type ready, paper-out, cover-open, offline, drop or refuse; labels print below.",
            sim.port()
        );
        let mut lines = stdin_lines().await;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                line = lines.next_line() => match line? {
                    Some(l) if !l.trim().is_empty() => match parse_mode(l.trim()) {
                        Ok(m) => { sim.set_mode(m).await?; eprintln!("printer now {m:?}"); }
                        Err(e) => eprintln!("{e}"),
                    },
                    Some(_) => {}
                    None => return Ok(()),
                },
                _ = tick.tick() => {
                    let bytes = sim.take_job_bytes();
                    if !bytes.is_empty() {
                        println!("{}", label_to_text(&bytes));
                    }
                }
            }
        }
    })
}

fn parse_mode(s: &str) -> Result<SimMode> {
    Ok(match s {
        "ready" => SimMode::Ready,
        "near-end" => SimMode::PaperNearEnd,
        "paper-out" => SimMode::PaperOut,
        "cover-open" => SimMode::CoverOpen,
        "offline" => SimMode::Offline,
        "error" => SimMode::Error,
        "drop" => SimMode::DropMidJob,
        "silent" => SimMode::Silent,
        "refuse" => SimMode::Refuse,
        other => return Err(SimulateError::UnknownMode(other.to_string())),
    })
}

pub fn scale(protocol: &str, unit: &str, link: Option<&Path>) -> Result<()> {
    let protocol: ScaleProtocol = protocol.parse()?;
    let unit: WeightUnit = unit.parse()?;
    runtime()?.block_on(async {
        let port = VirtualPort::new()?;
        let path = link_to(&port, link)?;
        let sim = SimScale::new(protocol, SimScaleState::new(0.0, unit, 3));
        let handle = sim.handle();
        eprintln!(
            "{} scale on {}. Type a weight in grams to place it (stable), or: move, over, under, error, 0 (lift).",
            protocol.name(),
            path.display()
        );
        let serve = sim.serve(port);
        tokio::pin!(serve);
        let mut lines = stdin_lines().await;
        loop {
            tokio::select! {
                r = &mut serve => { r?; return Ok(()); }
                line = lines.next_line() => {
                    let Some(l) = line? else { return Ok(()) };
                    let l = l.trim();
                    let grams = handle.get().load_grams;
                    match l {
                        "" => {}
                        "move" => handle.set_load(grams, SimCondition::Motion),
                        "over" => handle.set_load(grams, SimCondition::Overload),
                        "under" => handle.set_load(grams, SimCondition::Underload),
                        "error" => handle.set_load(grams, SimCondition::Error),
                        n => match n.parse::<f64>() {
                            Ok(g) if g.is_finite() => handle.set_load(g, SimCondition::Normal),
                            _ => eprintln!("not a weight: {n:?}"),
                        },
                    }
                }
            }
        }
    })
}

pub fn scanner(link: Option<&Path>, aim: Option<&str>) -> Result<()> {
    runtime()?.block_on(async {
        let mut port = VirtualPort::new()?;
        let path = link_to(&port, link)?;
        eprintln!(
            "scanner on {}. Type a code and Enter to scan it (sent with a CR suffix).",
            path.display()
        );
        let mut lines = stdin_lines().await;
        while let Some(l) = lines.next_line().await? {
            let code = l.trim();
            if code.is_empty() {
                continue;
            }
            port.write_all(&encode_scan(code, aim, Some(Suffix::Cr)))
                .await?;
            port.flush().await?;
        }
        Ok(())
    })
}
