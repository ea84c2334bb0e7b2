//! The touchscreen station: the Slint window (`ui/*.slint`, compiled by `build.rs`) and the
//! thin Rust bridge to the station loop.
//!
//! - `adapter`: StationView → the `Api` global (pure, unit-tested).
//! - `bridge`: intents → `Msg`s to the station loop; views and lookup replies → the UI
//!   thread through one coalescing inbox.
//! - `lookup`: read-only questions (keypad badge, reports) on a worker
//!   thread with its own database connection.
//! - `console`: the supervisors' console window over the central database.
//! - `launch`: starts the loop, devices and worker for a window; `demo`: the demo station.
//!
//! The UI thread only renders and forwards; it never opens the database or a device.

slint::include_modules!();

pub mod adapter;
pub mod bridge;
pub mod console;
pub mod demo;
pub mod launch;
pub mod lookup;

use std::path::PathBuf;

use slint::ComponentHandle;

use crate::config::Config;
use crate::station::app::{BoxError, StationError};

pub use bridge::{Screen, SimCodes, StationTx};
pub use launch::{Launch, Running};

/// What to do without a screen: one sentence, shown instead of a backend's error.
pub const NO_DISPLAY: &str = "no display to open the station window on (DISPLAY is not set); \
     to run the station without a screen use: packbench run --config station.toml --headless";

/// Why the station window could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("{NO_DISPLAY}")]
    NoDisplay,
    #[error("cannot open the station window ({NO_DISPLAY})")]
    Open(#[source] slint::PlatformError),
    #[error("the station window stopped")]
    Stopped(#[source] slint::PlatformError),
    #[error(transparent)]
    Demo(#[from] demo::DemoError),
    #[error(transparent)]
    Station(#[from] StationError),
    /// The screen's own read-only connection to the bench's store.
    #[error(transparent)]
    Store(BoxError),
    #[error(transparent)]
    Central(#[from] crate::central::CentralError),
    /// A worker thread could not be started.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// True when an X server (or XWayland) can be asked for a window.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}

/// `packbench` (no command) and `packbench run` without `--headless`: the station window.
/// No config: the demo station.
pub fn run_window(cfg: Option<Config>, db: Option<PathBuf>) -> Result<(), UiError> {
    if !display_available() {
        return Err(UiError::NoDisplay);
    }
    let started = std::time::Instant::now();
    let (cfg, db, sim, out): (Config, PathBuf, _, Box<dyn std::io::Write + Send>) = match cfg {
        Some(cfg) => {
            let db = db.unwrap_or_else(|| cfg.database_path());
            // The event lines go to stdout, as in the headless station, for logging.
            (cfg, db, None, Box::new(std::io::stdout()))
        }
        None => {
            let d = demo::prepare(&demo::default_dir())?;
            tracing::info!(
                "demo station: data in {}, labels printed to {}",
                d.dir.display(),
                d.labels.display()
            );
            let db = db.unwrap_or(d.db);
            (d.cfg, db, Some(d.sim), Box::new(std::io::sink()))
        }
    };
    let demo = sim.is_some();
    let window = AppWindow::new().map_err(UiError::Open)?;
    bridge::set_language(&window, bridge::system_language());
    let running = launch::start(
        window,
        Launch {
            cfg,
            db,
            sim,
            clock: None,
            events_out: out,
            wake_event_loop: true,
        },
    )?;
    let window = &running.screen.window;
    let api = window.global::<Api>();
    api.set_simulator_open(demo);
    if std::env::var_os("PACKBENCH_FULLSCREEN").is_some_and(|v| v == "1") {
        api.invoke_set_fullscreen(true);
    }
    if std::env::var_os("PACKBENCH_TIMING").is_some() {
        tracing::info!(
            "window built {} ms after start",
            started.elapsed().as_millis()
        );
    }
    window.run().map_err(UiError::Stopped)?;
    running.shutdown();
    Ok(())
}
