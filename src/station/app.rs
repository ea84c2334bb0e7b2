//! `packbench run`: builds the station from its config and runs it until SIGTERM/SIGINT.

use std::sync::mpsc;

use anyhow::{anyhow, Context, Result};
use packbench_drivers::printer::PrinterTarget;

use super::bench::Bench;
use super::devices;
use super::runtime::{Msg, PrinterSink, StationLoop};
use super::sound;
use crate::config::Config;
use crate::store::{SqliteStore, Store};

/// Everything a config names, checked before any device is touched, so a typo is one clear
/// error instead of a half-started station.
pub struct Checked {
    pub printer: Option<PrinterTarget>,
}

pub fn check(cfg: &Config) -> Result<Checked> {
    let printer = match &cfg.printer {
        Some(p) => Some(
            // The parse errors name the target themselves.
            PrinterTarget::parse(&p.target).map_err(|e| anyhow!("{e}"))?,
        ),
        None => None,
    };
    cfg.label_setup().map_err(|e| anyhow!(e))?;
    devices::check_devices(cfg)?;
    Ok(Checked { printer })
}

pub fn run_headless(cfg: Config, db: Option<std::path::PathBuf>) -> Result<()> {
    let checked = check(&cfg)?;
    let db = db.unwrap_or_else(|| cfg.database_path());
    let store =
        SqliteStore::open(&db).with_context(|| format!("cannot open database {}", db.display()))?;
    let mut engine_cfg = cfg.engine_config();
    if !cfg.weight.default_packaging.is_empty() {
        engine_cfg.default_packaging = Some(
            store
                .packaging(&cfg.weight.default_packaging)?
                .ok_or_else(|| {
                    anyhow!(
                        "default_packaging {:?} is not in the packaging list (import it first)",
                        cfg.weight.default_packaging
                    )
                })?,
        );
    }
    let bench = Bench::open(store, engine_cfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (tx, rx) = mpsc::channel::<Msg>();

    let printer: PrinterSink = checked
        .printer
        .map(|target| devices::spawn_printer(&rt, target, tx.clone()));
    let on_step = devices::spawn_devices(&rt, &cfg, tx.clone())?;

    // SIGTERM/SIGINT: the loop finishes the input it is deciding, then stops.
    {
        let tx = tx.clone();
        rt.spawn(async move {
            wait_for_signal().await;
            let _ = tx.send(Msg::Shutdown);
        });
    }
    drop(tx);
    let setup = cfg.label_setup().map_err(|e| anyhow!(e))?;
    let mut station = StationLoop::new(bench, setup, printer, std::io::stdout()).on_step(on_step);
    if let Some(sink) = sound::start(&cfg) {
        station = station.on_events(sink);
    }
    station.run(rx);
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
