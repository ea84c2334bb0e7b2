//! Device tasks: each turns a device's bytes into station messages. They decide nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use packbench_drivers::printer::{
    print_to_target, PrintError, PrintReceipt, PrinterTarget, PrinterTimeouts,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc::UnboundedReceiver;

use packbench_drivers::scale::{Reading, ReadingKind, ScaleConfig, ScaleEvent};
use packbench_drivers::scanner::{ScanDebouncer, ScanFrame, ScannerConfig};
use packbench_drivers::serial::{
    scale_link, scanner_link, LinkEvent, LinkOptions, SerialLink, SerialSettings,
};

use super::runtime::{Msg, PrintFailure, PrintJob, ToLoop};
use crate::domain::barcode;
use crate::domain::event::{DeviceKind, DeviceStatus};
use crate::domain::session::NextStep;

/// Sends each label job to the printer, one at a time, and reports what the printer said.
pub async fn printer_task(
    target: PrinterTarget,
    mut jobs: UnboundedReceiver<PrintJob>,
    tx: ToLoop,
    timeouts: PrinterTimeouts,
) {
    while let Some(job) = jobs.recv().await {
        let sent = send_job(&target, &job.bytes, timeouts).await;
        let result = sent
            .map(|receipt| receipt.warning())
            .map_err(|e| PrintFailure {
                kind: e.kind().to_string(),
                reason: e.to_string(),
            });
        if tx.send(Msg::Printed { job, result }).is_err() {
            return;
        }
    }
}

/// Sends one job to the printer, whatever the target (labels, and the command sheet of
/// `packbench commands --print`).
pub async fn send_job(
    target: &PrinterTarget,
    bytes: &[u8],
    timeouts: PrinterTimeouts,
) -> Result<PrintReceipt, PrintError> {
    match target {
        // Serial printers go through the serial transport (by-id links, flush on open).
        PrinterTarget::Serial { path, baud } => {
            packbench_drivers::serial::print_serial(
                &SerialSettings::new(path.clone(), *baud),
                bytes,
                timeouts,
            )
            .await
        }
        other => print_to_target(other, bytes, timeouts).await,
    }
}

/// Starts the printer task and returns what the station loop hands its label jobs to.
pub fn spawn_printer(
    rt: &tokio::runtime::Runtime,
    target: PrinterTarget,
    tx: ToLoop,
) -> Box<dyn Fn(PrintJob) + Send> {
    let (jtx, jrx) = tokio::sync::mpsc::unbounded_channel();
    rt.spawn(printer_task(target, jrx, tx, PrinterTimeouts::default()));
    Box::new(move |job| {
        let _ = jtx.send(job);
    })
}

/// Standard input: a line starting with `@` is keypad input (`@pin 1234`, `@reason
/// scale_drift`, `@cancel`), never a scan; other lines are scans when a scanner has
/// `port = "stdin"` (`scans`), and ignored otherwise.
pub async fn stdin_scanner(tx: ToLoop, scans: bool) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let code = line.trim_end_matches(['\r', '\n']).to_string();
        if code.trim().is_empty() {
            continue;
        }
        let msg = if code.trim_start().starts_with('@') {
            match keypad_line(&code) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!("keypad line refused: {e}");
                    continue;
                }
            }
        } else if scans {
            Msg::Scan {
                code,
                scanner: "stdin".into(),
            }
        } else {
            tracing::warn!("standard input is keypad lines only (@pin, @reason): line ignored");
            continue;
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// A keypad line the station does not take. It never repeats a PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeypadError {
    #[error("unknown reason {0:?} (scale_drift, packaging_heavier, catalog_weight_wrong, recounted_ok, customer_request, other)")]
    UnknownReason(String),
    #[error("unknown keypad line @{0} (@pin, @reason or @cancel)")]
    UnknownLine(String),
}

/// One keypad line (it starts with `@`).
pub fn keypad_line(line: &str) -> Result<Msg, KeypadError> {
    let rest = line.trim().trim_start_matches('@');
    let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let arg = arg.trim();
    match word.to_ascii_lowercase().as_str() {
        "pin" => Ok(Msg::Pin(crate::domain::pin::Pin::new(arg))),
        "reason" => crate::domain::event::ApprovalReason::parse(arg)
            .map(Msg::Reason)
            .ok_or_else(|| KeypadError::UnknownReason(arg.to_string())),
        "cancel" => Ok(Msg::CancelAuth),
        _ => Err(KeypadError::UnknownLine(word.to_string())),
    }
}

/// `debounce_ms`: identical scans within this window count once; 0 or unset is off.
fn debounce_window(cfg: &crate::config::ScannerConfig) -> Option<Duration> {
    cfg.debounce_ms
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// What the scale codec needs of the `[scale]` section (its values were parsed when the
/// config was read).
fn scale_codec(cfg: &crate::config::ScaleConfig) -> ScaleConfig {
    let mut sc = ScaleConfig::new(cfg.protocol);
    if let Some(u) = cfg.unit {
        sc.demand_unit = u;
    }
    if let Some(c) = cfg.checksum {
        sc.toledo_checksum = c;
    }
    sc
}

fn scale_alarms(cfg: &crate::config::ScaleConfig) -> ScaleAlarms {
    let d = ScaleAlarms::default();
    ScaleAlarms {
        no_reading: cfg.no_reading_alarm.unwrap_or(d.no_reading),
        unsettled: cfg.unsettled_alarm.unwrap_or(d.unsettled),
    }
}

fn device_msg(device: &str, state: DeviceStatus, detail: String) -> Msg {
    Msg::Device {
        device: device.into(),
        state,
        detail,
    }
}

/// Link state changes as device messages; frames are the caller's.
fn link_msg<T>(device: &str, name: &str, ev: &LinkEvent<T>) -> Option<Msg> {
    match ev {
        LinkEvent::Connected { device: d } => Some(device_msg(
            device,
            DeviceStatus::Connected,
            format!("{name} open ({})", d.display()),
        )),
        LinkEvent::Disconnected { reason } => Some(device_msg(
            device,
            DeviceStatus::Disconnected,
            format!("{name}: {reason}"),
        )),
        LinkEvent::Error { reason, .. } => Some(device_msg(
            device,
            DeviceStatus::Error,
            format!("{name}: {reason}"),
        )),
        LinkEvent::Frame(_) => None,
    }
}

async fn scanner_task(
    mut link: SerialLink<ScanFrame>,
    name: String,
    mut debounce: ScanDebouncer,
    tx: ToLoop,
) {
    while let Some(ev) = link.recv().await {
        let msg = match &ev {
            // A lone AIM prefix is line noise, not a scan.
            LinkEvent::Frame(f) if barcode::is_blank(&f.code) => continue,
            LinkEvent::Frame(f) if !debounce.accept(&f.code, std::time::Instant::now()) => continue,
            LinkEvent::Frame(f) => Msg::Scan {
                code: f.code.clone(),
                scanner: name.clone(),
            },
            other => match link_msg(DeviceKind::Scanner.as_str(), &name, other) {
                Some(m) => m,
                None => continue,
            },
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// What a non-weight reading means for the device line (None: an ordinary weight or motion).
fn scale_condition(r: &Reading) -> Option<&'static str> {
    match &r.kind {
        ReadingKind::Weight | ReadingKind::Motion | ReadingKind::Busy => None,
        ReadingKind::Overload => Some("overload"),
        ReadingKind::Underload => Some("underload"),
        ReadingKind::OutOfRange => Some("out of range"),
        ReadingKind::Error(_) => Some("error reply"),
    }
}

/// How long a demand for a weight may go without any readable reading, and how long a load
/// may keep moving, before the station says so (`no_reading_alarm_s`, `unsettled_alarm_s`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleAlarms {
    pub no_reading: Duration,
    pub unsettled: Duration,
}

impl Default for ScaleAlarms {
    fn default() -> Self {
        ScaleAlarms {
            no_reading: Duration::from_secs(3),
            unsettled: Duration::from_secs(10),
        }
    }
}

/// The scale's faults that no single frame says: nothing readable arrives while a weight is
/// awaited (garbage, the wrong baud rate or protocol, a dead cable), or the load never settles.
/// Also the faults frames do say (overload …), so that one problem is reported at a time and
/// its end is reported once.
#[derive(Debug)]
pub struct ScaleWatch {
    alarms: ScaleAlarms,
    connected_at: Option<Instant>,
    awaiting_since: Option<Instant>,
    last_reading: Option<Instant>,
    moving_since: Option<Instant>,
    condition: Option<String>,
    reported: Option<String>,
}

impl ScaleWatch {
    pub fn new(alarms: ScaleAlarms) -> Self {
        ScaleWatch {
            alarms,
            connected_at: None,
            awaiting_since: None,
            last_reading: None,
            moving_since: None,
            condition: None,
            reported: None,
        }
    }

    /// The port opened: a fresh start (the link reports the connection itself).
    pub fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
        self.last_reading = None;
        self.moving_since = None;
        self.condition = None;
        self.reported = None;
    }

    pub fn disconnected(&mut self) {
        self.connected_at = None;
        self.reported = None;
    }

    pub fn awaiting(&mut self, on: bool, now: Instant) {
        match (on, self.awaiting_since) {
            (true, None) => self.awaiting_since = Some(now),
            (false, Some(_)) => self.awaiting_since = None,
            _ => {}
        }
    }

    pub fn reading(&mut self, r: &Reading, now: Instant) {
        self.last_reading = Some(now);
        self.condition = scale_condition(r).map(|c| match &r.kind {
            ReadingKind::Error(e) => format!("{c}: {e}"),
            _ => c.to_string(),
        });
        if r.weight_grams().is_some() || self.condition.is_some() {
            self.moving_since = None;
        } else if self.moving_since.is_none() {
            self.moving_since = Some(now);
        }
    }

    /// The problem now, if any.
    pub fn problem(&self, now: Instant) -> Option<String> {
        if let Some(c) = &self.condition {
            return Some(c.clone());
        }
        let (Some(connected), Some(awaiting)) = (self.connected_at, self.awaiting_since) else {
            return None;
        };
        let quiet_from = [Some(connected), Some(awaiting), self.last_reading]
            .into_iter()
            .flatten()
            .max()
            .expect("two are set");
        if now.duration_since(quiet_from) >= self.alarms.no_reading {
            return Some(format!(
                "no readable reading for {} s: check the baud rate, the protocol setting and the cable",
                self.alarms.no_reading.as_secs_f64()
            ));
        }
        let moving = self.moving_since.map(|m| m.max(awaiting))?;
        (now.duration_since(moving) >= self.alarms.unsettled).then(|| {
            format!(
                "the weight has not settled for {} s: is something touching the platform, or a draught or vibration?",
                self.alarms.unsettled.as_secs_f64()
            )
        })
    }

    /// `Some((state, detail))` when the problem changed since it was last said.
    pub fn report(&mut self, name: &str, now: Instant) -> Option<(DeviceStatus, String)> {
        // Not connected: the link's own events say so.
        self.connected_at?;
        let now_problem = self.problem(now);
        if now_problem == self.reported {
            return None;
        }
        let out = match &now_problem {
            Some(p) => (DeviceStatus::Error, format!("{name}: {p}")),
            None => (DeviceStatus::Connected, format!("{name}: ok")),
        };
        self.reported = now_problem;
        Some(out)
    }
}

async fn scale_task(
    mut link: SerialLink<ScaleEvent>,
    name: String,
    tx: ToLoop,
    awaiting: Arc<AtomicBool>,
    alarms: ScaleAlarms,
) {
    let mut watch = ScaleWatch::new(alarms);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        let mut msgs = Vec::new();
        tokio::select! {
            ev = link.recv() => {
                let Some(ev) = ev else { return };
                let now = Instant::now();
                match &ev {
                    LinkEvent::Frame(ScaleEvent::Reading(r)) => {
                        watch.reading(r, now);
                        // Anything but a stable weight is "not settled": it arms a re-weigh.
                        let (grams, stable) = match r.weight_grams() {
                            Some(g) => (g, true),
                            None => (r.grams.unwrap_or(0.0), false),
                        };
                        msgs.push(Msg::Weight { grams, stable });
                    }
                    LinkEvent::Frame(_) => {}
                    LinkEvent::Connected { .. } => watch.connected(now),
                    LinkEvent::Disconnected { .. } | LinkEvent::Error { .. } => watch.disconnected(),
                }
                if let Some(m) = link_msg(DeviceKind::Scale.as_str(), &name, &ev) {
                    msgs.push(m);
                }
            }
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        watch.awaiting(awaiting.load(Ordering::Relaxed), now);
        // Said once when the scale enters or leaves a fault, not every frame; before the
        // reading that showed it, so the log reads cause then effect.
        if let Some((state, detail)) = watch.report(&name, now) {
            msgs.insert(0, device_msg(DeviceKind::Scale.as_str(), state, detail));
        }
        for m in msgs {
            if tx.send(m).is_err() {
                return;
            }
        }
    }
}

/// Starts the scanner and scale tasks; returns what the station loop calls after each input
/// (a demand scale is polled at its fast rate only while an order is open). The sections
/// were checked (`Config::check_devices`) when the station was built.
pub fn spawn_devices(
    rt: &tokio::runtime::Runtime,
    cfg: &crate::config::Config,
    tx: ToLoop,
) -> super::runtime::StepSink {
    let _guard = rt.enter();
    for (i, s) in cfg.scanner.iter().enumerate() {
        if s.is_stdin() {
            rt.spawn(stdin_scanner(tx.clone(), true));
            continue;
        }
        let codec = ScannerConfig {
            suffixes: s.suffixes(),
            ..ScannerConfig::default()
        };
        let settings = s.line.settings(&s.port, s.baud);
        let link = scanner_link(settings, &codec, LinkOptions::default());
        let debounce = ScanDebouncer::new(debounce_window(s));
        let name = if cfg.scanner.len() > 1 {
            format!("scanner {} ({})", i + 1, s.port)
        } else {
            format!("scanner ({})", s.port)
        };
        rt.spawn(scanner_task(link, name, debounce, tx.clone()));
    }
    let Some(scale) = &cfg.scale else {
        return Box::new(|_| {});
    };
    let settings = scale.line.settings(&scale.port, scale.baud);
    let (link, poller) = scale_link(settings, &scale_codec(scale), LinkOptions::default());
    let awaiting = Arc::new(AtomicBool::new(false));
    rt.spawn(scale_task(
        link,
        format!("scale ({})", scale.port),
        tx,
        awaiting.clone(),
        scale_alarms(scale),
    ));
    Box::new(move |step| {
        // Polled while an order is open; watched for silence and motion only while a weight
        // is what the station waits for.
        // A return open is weighed too (`return_weighed`).
        poller.set_awaiting(matches!(
            step,
            NextStep::ScanItems { .. }
                | NextStep::Weigh
                | NextStep::ResolveMismatch
                | NextStep::ScanPicker
                | NextStep::CheckReturn { .. }
        ));
        awaiting.store(matches!(step, NextStep::Weigh), Ordering::Relaxed);
    })
}

#[cfg(test)]
mod watch_tests {
    use super::*;

    const NAME: &str = "scale (/dev/ttyUSB0)";

    fn watch() -> (ScaleWatch, Instant) {
        let mut w = ScaleWatch::new(ScaleAlarms {
            no_reading: Duration::from_secs(3),
            unsettled: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        w.connected(t0);
        (w, t0)
    }

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn silence_is_a_problem_only_while_a_weight_is_awaited() {
        let (mut w, t0) = watch();
        assert_eq!(w.report(NAME, at(t0, 60_000)), None, "idle: quiet is fine");
        w.awaiting(true, at(t0, 60_000));
        assert_eq!(w.report(NAME, at(t0, 62_900)), None);
        let (state, detail) = w.report(NAME, at(t0, 63_000)).expect("said after 3 s");
        assert_eq!(state, DeviceStatus::Error);
        assert!(
            detail.starts_with("scale (/dev/ttyUSB0): no readable reading for 3 s"),
            "{detail}"
        );
        assert_eq!(w.report(NAME, at(t0, 64_000)), None, "said once");
        w.reading(&Reading::stable(250.0, None), at(t0, 64_100));
        assert_eq!(
            w.report(NAME, at(t0, 64_100)),
            Some((DeviceStatus::Connected, format!("{NAME}: ok"))),
            "its end is said too"
        );
    }

    #[test]
    fn a_load_that_never_settles_is_said_after_the_alarm_time() {
        let (mut w, t0) = watch();
        w.awaiting(true, t0);
        for ms in (0..=10_000).step_by(100) {
            w.reading(&Reading::motion(Some(250.0), None), at(t0, ms));
            if ms < 10_000 {
                assert_eq!(w.report(NAME, at(t0, ms)), None, "{ms} ms");
            }
        }
        let (state, detail) = w.report(NAME, at(t0, 10_000)).unwrap();
        assert_eq!(state, DeviceStatus::Error);
        assert!(detail.contains("has not settled for 10 s"), "{detail}");
        w.reading(&Reading::stable(250.0, None), at(t0, 10_100));
        assert_eq!(
            w.report(NAME, at(t0, 10_100)).unwrap().0,
            DeviceStatus::Connected
        );
    }

    #[test]
    fn frame_faults_win_and_a_reconnect_starts_afresh() {
        let (mut w, t0) = watch();
        w.awaiting(true, t0);
        w.reading(&Reading::state(ReadingKind::Overload), at(t0, 100));
        assert_eq!(
            w.report(NAME, at(t0, 100)),
            Some((DeviceStatus::Error, format!("{NAME}: overload")))
        );
        w.disconnected();
        assert_eq!(
            w.report(NAME, at(t0, 9_000)),
            None,
            "the link says disconnected"
        );
        w.connected(at(t0, 9_000));
        assert_eq!(w.report(NAME, at(t0, 9_100)), None);
        assert!(
            w.report(NAME, at(t0, 12_000)).is_some(),
            "silent after the reconnect"
        );
    }
}
