//! The one way a station is built from its config: config check, store, bench, device
//! runtime, printer, devices and sound. The headless station, the window, the demo and the
//! tests all start here; each front end only adds what is its own (stdout lines and signals,
//! or a screen and its lookup worker).

use std::path::PathBuf;
use std::sync::mpsc;

use packbench_drivers::printer::PrinterTarget;

use super::bench::{Bench, BenchError};
use super::devices;
use super::label::LabelSetup;
use super::runtime::{Msg, PrinterSink, StationLoop, StepSink, ToLoop};
use super::sound::{self, Machine, Output, Sounder};
use crate::config::{Config, ConfigError};
use crate::store::{self, ReferenceData, SqliteStore};

/// An error of another module whose type this one only passes on (the store's opening, the
/// central link's start), with its causes.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a station could not be built or run. Each is one sentence, with its causes.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(BoxError),
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error("default_packaging {0:?} is not in the packaging list (import it first)")]
    NoDefaultPackaging(String),
    #[error(transparent)]
    Central(BoxError),
    /// The device runtime or a thread could not be started.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Everything a config names, checked before any device is touched, so a typo is one clear
/// error instead of a half-started station.
pub struct Checked {
    pub printer: Option<PrinterTarget>,
    pub setup: LabelSetup,
}

pub fn check(cfg: &Config) -> Result<Checked, ConfigError> {
    cfg.check_devices()?;
    Ok(Checked {
        printer: cfg.printer.as_ref().map(|p| p.target.clone()),
        setup: cfg.label_setup(),
    })
}

/// A built station, not yet running: its loop's parts and the device runtime they use.
pub struct Station {
    pub bench: Bench<SqliteStore>,
    pub setup: LabelSetup,
    pub printer: PrinterSink,
    pub on_step: StepSink,
    /// How cues will sound, or why not (the settings screen shows it).
    pub sound: Output,
    pub db: PathBuf,
    /// Device and printer tasks run here; dropping it stops them.
    pub rt: tokio::runtime::Runtime,
    /// Told of every stored event besides the sound (the central link's shipper).
    pub sinks: Vec<super::runtime::EventSink>,
}

impl Station {
    /// Checks the config, opens the store and the bench, starts the printer and device
    /// tasks, which report to `tx`.
    pub fn build(cfg: &Config, db: Option<PathBuf>, tx: ToLoop) -> Result<Station, StationError> {
        let checked = check(cfg)?;
        let db = db.unwrap_or_else(|| cfg.database_path());
        let store = store::open(&db).map_err(|e| StationError::Store(e.into()))?;
        let mut engine_cfg = cfg.engine_config();
        let packaging = &cfg.weight.default_packaging;
        if !packaging.is_empty() {
            engine_cfg.default_packaging = Some(
                store
                    .packaging(packaging)
                    .map_err(|e| StationError::Store(e.into()))?
                    .ok_or_else(|| StationError::NoDefaultPackaging(packaging.clone()))?,
            );
        }
        let mut bench = Bench::open(store, engine_cfg)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("packbench-devices")
            .enable_all()
            .build()?;
        let mut sinks = Vec::new();
        if let Some(central) = &cfg.central {
            let link = super::link::start(
                &rt,
                central,
                cfg.central_password_file(),
                &cfg.station_id,
                db.clone(),
                tx.clone(),
            )
            .map_err(|e| StationError::Central(e.into()))?;
            bench = bench.with_claims(link.claims);
            sinks.push(link.sink);
        }
        let printer: PrinterSink = checked
            .printer
            .map(|target| devices::spawn_printer(&rt, target, tx.clone()));
        let on_step = devices::spawn_devices(&rt, cfg, tx);
        let sound = sound::detect(&cfg.sound, &Machine::this());
        tracing::info!(station = %cfg.station_id, db = %db.display(), "station built");
        Ok(Station {
            bench,
            setup: checked.setup,
            printer,
            on_step,
            sound,
            db,
            rt,
            sinks,
        })
    }

    /// The station loop over this station's parts, writing event lines to `out`; the
    /// runtime is handed back to be kept alive while the loop runs.
    pub fn into_loop<W: std::io::Write>(
        self,
        out: W,
    ) -> (StationLoop<SqliteStore, W>, tokio::runtime::Runtime) {
        let mut station =
            StationLoop::new(self.bench, self.setup, self.printer, out).on_step(self.on_step);
        if let Some(s) = Sounder::start(&self.sound) {
            station = station.on_events(s.into_sink());
        }
        for sink in self.sinks {
            station = station.on_events(sink);
        }
        (station, self.rt)
    }
}

pub fn run_headless(cfg: Config, db: Option<PathBuf>) -> Result<(), StationError> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let tx = ToLoop::from(tx);
    let station = Station::build(&cfg, db, tx.clone())?;
    // Said at start for the person starting the bench: a bench without cues is worth a warning.
    match &station.sound {
        Output::Silent { .. } => tracing::warn!("sound: {}", station.sound.describe().en),
        _ => tracing::info!("sound: {}", station.sound.describe().en),
    }
    let (station, rt) = station.into_loop(std::io::stdout());
    // Keypad lines (`@pin`, `@reason`) come on standard input whatever the scanners are.
    if !cfg
        .scanner
        .iter()
        .any(crate::config::ScannerConfig::is_stdin)
    {
        rt.spawn(crate::station::devices::stdin_scanner(tx.clone(), false));
    }
    // SIGTERM/SIGINT: the loop finishes the input it is deciding, then stops.
    rt.spawn(async move {
        wait_for_signal().await;
        let _ = tx.send(Msg::Shutdown);
    });
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
