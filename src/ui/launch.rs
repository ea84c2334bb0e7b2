//! Starts a windowed station: the same station loop, devices and printer task as the
//! headless station, with the screen as the loop's view sink. Tests start it the same way,
//! only with the testing backend's window and a fixed clock.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use chrono::{DateTime, FixedOffset, Local};

use crate::config::Config;
use crate::domain::event::{DeviceKind, DeviceStatus};
use crate::station::app::Station;
use crate::station::runtime::{Msg, ToLoop};
use crate::station::sound::Output;
use crate::store;

use super::adapter::bilingual;
use super::bridge::{Inbox, Screen, SimCodes, StationTx};
use super::lookup;
use super::{AppWindow, KeyValue, UiError};
use crate::text;
use crate::text::{Text, Words};

pub type SharedClock = Arc<dyn Fn() -> DateTime<FixedOffset> + Send + Sync>;

pub struct Launch {
    pub cfg: Config,
    pub db: PathBuf,
    /// The demo's simulated scanner panel and scale; `None` for a configured bench.
    pub sim: Option<SimCodes>,
    /// The station's clock (tests fix it); local time when `None`.
    pub clock: Option<SharedClock>,
    /// Where the loop writes its JSON event lines.
    pub events_out: Box<dyn Write + Send>,
    /// Wake the real event loop when the workers post (false in tests, which drain).
    pub wake_event_loop: bool,
}

/// A started station. Dropping it without `shutdown` leaves the loop to end when the
/// window (and with it every sender) is gone.
pub struct Running {
    pub screen: Screen,
    station_thread: Option<JoinHandle<()>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Running {
    /// Stops the loop after the input it is deciding, then the device tasks.
    pub fn shutdown(mut self) {
        self.screen.station().send(Msg::Shutdown);
        if let Some(h) = self.station_thread.take() {
            let _ = h.join();
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(std::time::Duration::from_millis(500));
        }
    }
}

/// The rows of the read-only settings page, each in both languages (the window shows its
/// own); `id` names a row for tests and screen readers whatever the language.
pub fn settings_rows(cfg: &Config, db: &Path, demo: bool, sound: &Output) -> Vec<KeyValue> {
    let kv = |id: &str, key: Text, value: Words| KeyValue {
        id: id.into(),
        key: bilingual(&key.words()),
        value: bilingual(&value),
    };
    let none = || text!("settings.none").words();
    let mut scanners = vec![text!("settings.wedge").words()];
    scanners.extend(
        cfg.scanner
            .iter()
            .map(|s| text!("settings.serial_at", port = s.port, baud = s.baud)),
    );
    if demo {
        scanners.push(text!("settings.simulator").words());
    }
    vec![
        kv(
            "station",
            text!("settings.station"),
            Words::same(cfg.station_id.clone()),
        ),
        kv(
            "mode",
            text!("settings.mode"),
            if demo {
                text!("settings.mode_demo").words()
            } else {
                text!("settings.mode_configured").words()
            },
        ),
        kv(
            "database",
            text!("settings.database"),
            Words::same(db.display().to_string()),
        ),
        kv(
            "weight tolerance",
            text!("settings.tolerance"),
            text!(
                "settings.tolerance_rule",
                g = cfg.weight.tolerance_g,
                pct = cfg.weight.tolerance_pct
            ),
        ),
        kv(
            "minimum weight",
            text!("settings.min_weight"),
            Words::same(format!("{} g", cfg.weight.min_weight_g)),
        ),
        kv(
            "default packaging",
            text!("settings.default_packaging"),
            if cfg.weight.default_packaging.is_empty() {
                none()
            } else {
                Words::same(cfg.weight.default_packaging.clone())
            },
        ),
        kv(
            "scanners",
            text!("settings.scanners"),
            Words::join(&scanners, "; ", ";"),
        ),
        kv(
            "scale",
            text!("settings.scale"),
            match &cfg.scale {
                Some(s) => text!(
                    "settings.scale_at",
                    port = s.port,
                    baud = s.baud,
                    protocol = s.protocol.to_string()
                ),
                None if demo => text!("settings.simulator").words(),
                None => none(),
            },
        ),
        kv(
            "printer",
            text!("settings.printer"),
            match &cfg.printer {
                Some(p) => text!(
                    "settings.printer_at",
                    target = p.target.to_string(),
                    mm = p.paper_mm(),
                    lang = match p.language() {
                        crate::config::Language::Zh => text!("settings.label_zh"),
                        crate::config::Language::En => text!("settings.label_en"),
                    }
                ),
                None => none(),
            },
        ),
        kv("sound", text!("settings.sound"), sound.describe()),
        kv(
            "version",
            text!("settings.version"),
            Words::same(env!("CARGO_PKG_VERSION").to_string()),
        ),
    ]
}

/// Opens the store, starts the devices, the station loop and the lookup worker, and wires
/// the window to them.
pub fn start(window: AppWindow, l: Launch) -> Result<Running, UiError> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let station = StationTx::new(tx);
    // Device tasks, the printer and the central link send as the screen does: with the
    // `testing` feature that counts their messages too, so `Screen::settle` knows exactly
    // when the loop has caught up.
    let to_loop = {
        let station = station.clone();
        ToLoop::new(move |m| {
            station.send(m);
            Ok(())
        })
    };
    let built = Station::build(&l.cfg, Some(l.db.clone()), to_loop)?;
    // A second connection for the screen's read-only questions; the supervisor's go to the
    // central database when the bench has one.
    let reader = store::open_read_only(&built.db).map_err(|e| UiError::Store(e.into()))?;
    let wide: Option<Box<dyn store::Store + Send>> = match &l.cfg.central {
        Some(c) => {
            let central =
                crate::central::Central::connect(&c.url, l.cfg.central_password_file().as_deref())?;
            Some(Box::new(crate::central::CentralReader::new(central)?))
        }
        None => None,
    };
    let inbox = Inbox::new();
    let clock: SharedClock = l
        .clock
        .unwrap_or_else(|| Arc::new(|| Local::now().fixed_offset()));

    let (qtx, qrx) = mpsc::channel();
    {
        let station = station.clone();
        let inbox = inbox.clone();
        let clock = clock.clone();
        std::thread::Builder::new()
            .name("packbench-lookup".into())
            .spawn(move || {
                lookup::serve(
                    reader,
                    wide,
                    Box::new(move || clock()),
                    qrx,
                    |badge| station.scan(badge, "keypad"),
                    |r| inbox.post_reply(r),
                )
            })?;
    }

    let demo = l.sim.is_some();
    let settings = settings_rows(&l.cfg, &built.db, demo, &built.sound);
    let screen = Screen::new(window, inbox.clone(), station.clone(), qtx, l.sim, settings);
    if l.wake_event_loop {
        inbox.set_wake(screen.event_loop_wake());
    }

    let view_inbox = inbox.clone();
    let loop_clock = clock.clone();
    let (station_loop, rt) = built.into_loop(l.events_out);
    let station_loop = station_loop
        .with_clock(Box::new(move || loop_clock()))
        .on_view(Box::new(move |v| view_inbox.post_view(v.clone())));
    let station_thread = std::thread::Builder::new()
        .name("packbench-station".into())
        .spawn(move || {
            station_loop.run(rx);
        })?;
    if demo {
        // The simulated devices say they are there, as real ones do when they connect; the
        // demo's printer is a file, named as its detail.
        let printer = l
            .cfg
            .printer
            .as_ref()
            .map(|p| p.target.to_string())
            .unwrap_or_default();
        for (device, detail) in [
            (DeviceKind::Scanner, String::new()),
            (DeviceKind::Scale, String::new()),
            (DeviceKind::Printer, printer),
        ] {
            station.send(Msg::Device {
                device: device.as_str().into(),
                state: DeviceStatus::Simulated,
                detail,
            });
        }
    }
    Ok(Running {
        screen,
        station_thread: Some(station_thread),
        rt: Some(rt),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_show_config_and_devices() {
        let cfg: Config = toml::from_str(
            r#"
station_id = "BENCH-09"
[weight]
tolerance_g = 10
[[scanner]]
port = "/dev/ttyACM0"
[scale]
port = "/dev/ttyUSB0"
protocol = "mt-sics"
[printer]
target = "tcp://10.0.0.9:9100"
chinese = true
"#,
        )
        .unwrap();
        let silent = Output::Silent {
            reason: text!("settings.sound_no_device"),
        };
        let rows = settings_rows(&cfg, Path::new("/var/lib/pb.db"), false, &silent);
        let get = |k: &str| {
            rows.iter()
                .find(|r| r.id == k)
                .map(|r| r.value.en.to_string())
                .unwrap_or_else(|| panic!("no {k}"))
        };
        assert_eq!(get("station"), "BENCH-09");
        assert_eq!(get("database"), "/var/lib/pb.db");
        assert!(get("weight tolerance").starts_with("max(10 g, 3 %)"));
        assert!(get("scanners").contains("/dev/ttyACM0 at 9600 baud"));
        assert!(get("scale").contains("mt-sics"));
        assert_eq!(get("printer"), "tcp://10.0.0.9:9100, 80 mm, zh");
        assert_eq!(get("sound"), "off (this machine has no sound device)");
    }
}
