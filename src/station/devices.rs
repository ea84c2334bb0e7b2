//! Device tasks: each turns a device's bytes into station messages. They decide nothing.

use std::sync::mpsc::Sender;

use packbench_drivers::printer::{print_to_target, PrinterTarget, PrinterTimeouts};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc::UnboundedReceiver;

use packbench_drivers::scale::{
    Reading, ReadingKind, ScaleConfig, ScaleEvent, ScaleProtocol, WeightUnit,
};
use packbench_drivers::scanner::{ScanDebouncer, ScanFrame, ScannerConfig, Suffix};
use packbench_drivers::serial::{
    scale_link, scanner_link, LinkEvent, LinkOptions, SerialLink, SerialSettings,
};

use super::runtime::{Msg, PrintFailure, PrintJob};
use crate::domain::session::NextStep;

/// Sends each label job to the printer, one at a time, and reports what the printer said.
pub async fn printer_task(
    target: PrinterTarget,
    mut jobs: UnboundedReceiver<PrintJob>,
    tx: Sender<Msg>,
    timeouts: PrinterTimeouts,
) {
    while let Some(job) = jobs.recv().await {
        let sent = match &target {
            // Serial printers go through the serial transport (by-id links, flush on open).
            PrinterTarget::Serial { path, baud } => {
                packbench_drivers::serial::print_serial(
                    &SerialSettings::new(path.clone(), *baud),
                    &job.bytes,
                    timeouts,
                )
                .await
            }
            other => print_to_target(other, &job.bytes, timeouts).await,
        };
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

/// Starts the printer task and returns what the station loop hands its label jobs to.
pub fn spawn_printer(
    rt: &tokio::runtime::Runtime,
    target: PrinterTarget,
    tx: Sender<Msg>,
) -> Box<dyn Fn(PrintJob) + Send> {
    let (jtx, jrx) = tokio::sync::mpsc::unbounded_channel();
    rt.spawn(printer_task(target, jrx, tx, PrinterTimeouts::default()));
    Box::new(move |job| {
        let _ = jtx.send(job);
    })
}

/// A scanner on standard input: one code per line (for scripts and keyboard testing).
pub async fn stdin_scanner(tx: Sender<Msg>) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let code = line.trim_end_matches(['\r', '\n']).to_string();
        if code.trim().is_empty() {
            continue;
        }
        if tx
            .send(Msg::Scan {
                code,
                scanner: "stdin".into(),
            })
            .is_err()
        {
            return;
        }
    }
}

/// A device section of the config as serial settings: `port`, `baud` and the optional
/// `data_bits`, `parity`, `stop_bits`, `flow_control` keys.
fn serial_settings(
    what: &str,
    port: &str,
    baud: u32,
    extra: &toml::Table,
) -> anyhow::Result<SerialSettings> {
    let mut t = toml::Table::new();
    t.insert("port".into(), port.into());
    t.insert("baud".into(), (baud as i64).into());
    for k in ["data_bits", "parity", "stop_bits", "flow_control"] {
        if let Some(v) = extra.get(k) {
            t.insert(k.into(), v.clone());
        }
    }
    let s: SerialSettings = t
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("{what} {port}: {}", e.message()))?;
    s.validate()
        .map_err(|e| anyhow::anyhow!("{what} {port}: {e}"))?;
    Ok(s)
}

fn scanner_config(extra: &toml::Table) -> anyhow::Result<ScannerConfig> {
    let mut c = ScannerConfig::default();
    if let Some(v) = extra.get("suffix") {
        let v = v
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("scanner suffix must be a string"))?;
        c.suffixes = match v {
            "any" => Suffix::ALL.to_vec(),
            "none" => Vec::new(),
            one => vec![one
                .parse::<Suffix>()
                .map_err(|e| anyhow::anyhow!("scanner suffix: {e}"))?],
        };
    }
    Ok(c)
}

/// `debounce_ms`: identical scans within this window count once. Off by default: two
/// identical units are two scans.
fn debounce_window(extra: &toml::Table) -> anyhow::Result<Option<std::time::Duration>> {
    match extra.get("debounce_ms") {
        None => Ok(None),
        Some(v) => match v.as_integer() {
            Some(ms) if ms >= 0 => {
                Ok((ms > 0).then(|| std::time::Duration::from_millis(ms as u64)))
            }
            _ => anyhow::bail!("scanner debounce_ms must be a whole number of milliseconds"),
        },
    }
}

fn scale_config(cfg: &crate::config::ScaleConfig) -> anyhow::Result<ScaleConfig> {
    let protocol: ScaleProtocol = cfg
        .protocol
        .parse()
        .map_err(|e| anyhow::anyhow!("scale: {e}"))?;
    let mut sc = ScaleConfig::new(protocol);
    if let Some(u) = &cfg.unit {
        sc.demand_unit = u
            .parse::<WeightUnit>()
            .map_err(|e| anyhow::anyhow!("scale unit: {e}"))?;
    } else if protocol == ScaleProtocol::Toledo8213 {
        anyhow::bail!("scale protocol toledo-8213 sends no unit: set unit = \"kg\" or \"lb\"");
    }
    if let Some(c) = cfg.extra.get("checksum") {
        sc.toledo_checksum = c
            .as_bool()
            .ok_or_else(|| anyhow::anyhow!("scale checksum must be true or false"))?;
    }
    Ok(sc)
}

fn is_stdin(port: &str) -> bool {
    port == "stdin" || port == "-"
}

/// Checks every device section of the config (ports named, protocols known, settings valid)
/// without opening anything.
pub fn check_devices(cfg: &crate::config::Config) -> anyhow::Result<()> {
    for (i, s) in cfg.scanner.iter().enumerate() {
        if s.port.trim().is_empty() {
            anyhow::bail!("scanner {} has no port", i + 1);
        }
        scanner_config(&s.extra)?;
        debounce_window(&s.extra)?;
        if !is_stdin(&s.port) {
            serial_settings("scanner", &s.port, s.baud, &s.extra)?;
        }
    }
    if let Some(scale) = &cfg.scale {
        if scale.port.trim().is_empty() {
            anyhow::bail!("the scale has no port");
        }
        scale_config(scale)?;
        serial_settings("scale", &scale.port, scale.baud, &scale.extra)?;
    }
    Ok(())
}

fn device_msg(device: &str, state: &str, detail: String) -> Msg {
    Msg::Device {
        device: device.into(),
        state: state.into(),
        detail,
    }
}

/// Link state changes as device messages; frames are the caller's.
fn link_msg<T>(device: &str, name: &str, ev: &LinkEvent<T>) -> Option<Msg> {
    match ev {
        LinkEvent::Connected { device: d } => Some(device_msg(
            device,
            "connected",
            format!("{name} open ({})", d.display()),
        )),
        LinkEvent::Disconnected { reason } => Some(device_msg(
            device,
            "disconnected",
            format!("{name}: {reason}"),
        )),
        LinkEvent::Error { reason, .. } => {
            Some(device_msg(device, "error", format!("{name}: {reason}")))
        }
        LinkEvent::Frame(_) => None,
    }
}

async fn scanner_task(
    mut link: SerialLink<ScanFrame>,
    name: String,
    mut debounce: ScanDebouncer,
    tx: Sender<Msg>,
) {
    while let Some(ev) = link.recv().await {
        let msg = match &ev {
            LinkEvent::Frame(f) if !debounce.accept(&f.code, std::time::Instant::now()) => continue,
            LinkEvent::Frame(f) => Msg::Scan {
                // The engine takes the AIM identifier apart again (GS1 detection needs it).
                code: format!("{}{}", f.aim.as_deref().unwrap_or(""), f.code),
                scanner: name.clone(),
            },
            other => match link_msg("scanner", &name, other) {
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

async fn scale_task(mut link: SerialLink<ScaleEvent>, name: String, tx: Sender<Msg>) {
    let mut condition: Option<&'static str> = None;
    while let Some(ev) = link.recv().await {
        let mut msgs = Vec::new();
        match &ev {
            LinkEvent::Frame(ScaleEvent::Reading(r)) => {
                let now = scale_condition(r);
                if now != condition {
                    // Said once when the scale enters or leaves a fault, not every frame.
                    msgs.push(match (now, &r.kind) {
                        (Some(c), ReadingKind::Error(e)) => {
                            device_msg("scale", "error", format!("{name}: {c}: {e}"))
                        }
                        (Some(c), _) => device_msg("scale", "error", format!("{name}: {c}")),
                        (None, _) => device_msg("scale", "connected", format!("{name}: ok")),
                    });
                    condition = now;
                }
                // Anything but a stable weight is "not settled": it arms a re-weigh.
                let (grams, stable) = match r.weight_grams() {
                    Some(g) => (g, true),
                    None => (r.grams.unwrap_or(0.0), false),
                };
                msgs.push(Msg::Weight { grams, stable });
            }
            LinkEvent::Frame(_) => {}
            other => {
                if let Some(m) = link_msg("scale", &name, other) {
                    msgs.push(m);
                }
            }
        }
        for m in msgs {
            if tx.send(m).is_err() {
                return;
            }
        }
    }
}

/// Starts the scanner and scale tasks; returns what the station loop calls after each input
/// (a demand scale is polled at its fast rate only while an order is open).
pub fn spawn_devices(
    rt: &tokio::runtime::Runtime,
    cfg: &crate::config::Config,
    tx: Sender<Msg>,
) -> anyhow::Result<super::runtime::StepSink> {
    let _guard = rt.enter();
    for (i, s) in cfg.scanner.iter().enumerate() {
        if is_stdin(&s.port) {
            rt.spawn(stdin_scanner(tx.clone()));
            continue;
        }
        let settings = serial_settings("scanner", &s.port, s.baud, &s.extra)?;
        let link = scanner_link(settings, &scanner_config(&s.extra)?, LinkOptions::default());
        let debounce = ScanDebouncer::new(debounce_window(&s.extra)?);
        let name = if cfg.scanner.len() > 1 {
            format!("scanner {} ({})", i + 1, s.port)
        } else {
            format!("scanner ({})", s.port)
        };
        rt.spawn(scanner_task(link, name, debounce, tx.clone()));
    }
    let Some(scale) = &cfg.scale else {
        return Ok(Box::new(|_| {}));
    };
    let settings = serial_settings("scale", &scale.port, scale.baud, &scale.extra)?;
    let (link, poller) = scale_link(settings, &scale_config(scale)?, LinkOptions::default());
    rt.spawn(scale_task(link, format!("scale ({})", scale.port), tx));
    Ok(Box::new(move |step| {
        poller.set_awaiting(matches!(
            step,
            NextStep::ScanItems { .. }
                | NextStep::Weigh
                | NextStep::ResolveMismatch
                | NextStep::ScanPicker
        ))
    }))
}
