//! The running station: device tasks feed one station loop, which owns the bench. The loop is
//! the only writer, so inputs are decided strictly in arrival order, and a JSON line is written
//! only after its event is durable.

use std::io::Write;
use std::sync::mpsc as std_mpsc;

use chrono::{DateTime, FixedOffset, Local};
use packbench_drivers::label::{build_label, label_to_text};

use super::bench::{Bench, BenchError};
use super::label::{label_for, person, LabelSetup};
use super::view::{self, StationView, ViewMemory};
use crate::domain::event::{
    Device, DeviceKind, DeviceStatus, EventType, LabelPrinted, LogAlarm, NewEvent, PrintFailed,
    RejectReason, StoredEvent,
};
use crate::domain::session::NextStep;
use crate::store::Store;

/// Everything that reaches the station loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Scan {
        code: String,
        scanner: String,
    },
    /// A code offered at the screen to open the supervisor view.
    SupervisorBadge {
        code: String,
    },
    /// A PIN from the screen's PIN pad or an `@pin` keypad line.
    Pin(crate::domain::pin::Pin),
    /// A supervisor's reason from the screen or an `@reason` keypad line.
    Reason(crate::domain::event::ApprovalReason),
    /// The PIN pad or the reason choice was closed.
    CancelAuth,
    /// A scale reading; `stable = false` for motion and for non-weights (overload, ...).
    Weight {
        grams: f64,
        stable: bool,
    },
    /// A device's state, as one enum from the device task to the log and the screen.
    Device {
        device: String,
        state: DeviceStatus,
        detail: String,
    },
    Printed {
        job: PrintJob,
        result: Result<Option<String>, PrintFailure>,
    },
    Shutdown,
}

/// How device tasks, the printer and the central link reach the station loop: the loop's
/// channel, or in the window the screen's own sender (which counts for tests what reaches the
/// loop, so `Screen::settle` knows when it has caught up), with no thread in between.
#[derive(Clone)]
pub struct ToLoop(std::sync::Arc<dyn Fn(Msg) -> Result<(), LoopClosed> + Send + Sync>);

/// The station loop has stopped: a device task has nobody left to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the station loop has stopped")]
pub struct LoopClosed;

impl ToLoop {
    pub fn new(send: impl Fn(Msg) -> Result<(), LoopClosed> + Send + Sync + 'static) -> ToLoop {
        ToLoop(std::sync::Arc::new(send))
    }

    pub fn send(&self, msg: Msg) -> Result<(), LoopClosed> {
        (self.0)(msg)
    }
}

impl From<std_mpsc::Sender<Msg>> for ToLoop {
    fn from(tx: std_mpsc::Sender<Msg>) -> ToLoop {
        ToLoop::new(move |m| tx.send(m).map_err(|_| LoopClosed))
    }
}

impl std::fmt::Debug for ToLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ToLoop")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrintFailure {
    pub kind: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrintJob {
    pub order_no: String,
    pub copy: u32,
    pub bytes: Vec<u8>,
}

/// Where the loop sends label jobs; `None` when the bench has no printer.
pub type PrinterSink = Option<Box<dyn Fn(PrintJob) + Send>>;

/// What the loop tells the device side after each input.
pub type StepSink = Box<dyn Fn(&NextStep) + Send>;

/// What became of one input, for those who only react to it (the sound cue).
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// Its events, once durable.
    Stored(&'a [StoredEvent]),
    /// The store failed: nothing was recorded.
    NotRecorded,
}

pub type EventSink = Box<dyn Fn(Outcome<'_>) + Send>;

/// What the loop tells a screen after each input.
pub type ViewSink = Box<dyn Fn(&StationView) + Send>;

pub struct StationLoop<S: Store, W: Write> {
    bench: Bench<S>,
    setup: LabelSetup,
    printer: PrinterSink,
    on_step: Option<StepSink>,
    on_view: Option<ViewSink>,
    /// Told of every input's outcome: the sound cue, the central link.
    on_events: Vec<EventSink>,
    memory: ViewMemory,
    out: W,
    /// Labels the printer did not take, oldest first: printed on the next reprint.
    queue: Vec<PrintJob>,
    printer_ok: Option<bool>,
    /// The demo's file printer said it is simulated: a label it took keeps it so.
    printer_simulated: bool,
    clock: Box<dyn Fn() -> DateTime<FixedOffset> + Send>,
}

impl<S: Store, W: Write> StationLoop<S, W> {
    pub fn new(bench: Bench<S>, setup: LabelSetup, printer: PrinterSink, out: W) -> Self {
        StationLoop {
            bench,
            setup,
            printer,
            on_step: None,
            on_view: None,
            on_events: Vec::new(),
            memory: ViewMemory::default(),
            out,
            queue: Vec::new(),
            printer_ok: None,
            printer_simulated: false,
            clock: Box::new(|| Local::now().fixed_offset()),
        }
    }

    pub fn with_clock(mut self, clock: Box<dyn Fn() -> DateTime<FixedOffset> + Send>) -> Self {
        self.clock = clock;
        self
    }

    pub fn on_step(mut self, f: StepSink) -> Self {
        self.on_step = Some(f);
        self
    }

    pub fn on_view(mut self, f: ViewSink) -> Self {
        self.on_view = Some(f);
        self
    }

    pub fn on_events(mut self, f: EventSink) -> Self {
        self.on_events.push(f);
        self
    }

    /// The screen's view of the station now.
    pub fn view(&self) -> StationView {
        view::build(
            &self.bench.config().station_id,
            self.bench.state(),
            &self.memory,
            self.bench.config().rule,
            self.queue.len(),
            self.bench.catalog(),
        )
    }

    fn notify(&self) {
        if let Some(f) = &self.on_step {
            f(&self.bench.state().next_step());
        }
        if let Some(f) = &self.on_view {
            f(&self.view());
        }
    }

    pub fn bench(&self) -> &Bench<S> {
        &self.bench
    }

    pub fn queued_labels(&self) -> usize {
        self.queue.len()
    }

    /// Runs until `Shutdown` or until every sender is gone.
    pub fn run(mut self, rx: std_mpsc::Receiver<Msg>) -> Self {
        self.check_log();
        self.recover_labels();
        self.notify();
        loop {
            // While an approval waits, the loop wakes each second so that one left unfinished
            // lapses on screen too, not only at the next input.
            let msg = if self.bench.approval_deadline().is_some() {
                match rx.recv_timeout(std::time::Duration::from_secs(1)) {
                    Ok(m) => m,
                    Err(std_mpsc::RecvTimeoutError::Timeout) => {
                        self.tick();
                        continue;
                    }
                    Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                }
            };
            if msg == Msg::Shutdown {
                break;
            }
            self.handle(msg);
        }
        self
    }

    /// The clock's turn: an approval past its time lapses (an event, and the screen goes back
    /// to waiting for a supervisor). Nothing happens, and nobody is told, otherwise.
    pub fn tick(&mut self) {
        let now = (self.clock)();
        match self.bench.tick(now) {
            Ok(events) if events.is_empty() => {}
            Ok(events) => {
                self.emit(&events);
                self.notify();
            }
            Err(e) => tracing::error!("approval timeout not recorded: {e}"),
        }
    }

    /// Decides one input. A store failure loses only this input, which was never
    /// acknowledged; the loop carries on.
    pub fn handle(&mut self, msg: Msg) {
        let now = (self.clock)();
        let result = match &msg {
            Msg::Scan { code, scanner } => self.bench.scan(code, Some(scanner), now),
            Msg::SupervisorBadge { code } => self.bench.supervisor_view(code, now),
            Msg::Weight { grams, stable } => self.bench.weight(*grams, *stable, now),
            Msg::Pin(p) => self.bench.pin(p, now),
            Msg::Reason(r) => self.bench.reason(*r, now),
            Msg::CancelAuth => self.bench.cancel_auth(now),
            Msg::Device {
                device,
                state,
                detail,
            } => {
                if device == DeviceKind::Printer.as_str() {
                    self.printer_simulated = *state == DeviceStatus::Simulated;
                    if self.printer_simulated {
                        self.printer_ok = Some(true);
                    }
                }
                self.bench.record(&[device_event(
                    &self.bench.config().station_id,
                    now,
                    device,
                    *state,
                    detail,
                )])
            }
            Msg::Printed { job, result } => self.printed(job, result, now),
            Msg::Shutdown => Ok(Vec::new()),
        };
        match result {
            Ok(events) => {
                self.emit(&events);
                self.follow_up(&events, now);
            }
            Err(e) => {
                let what = match &msg {
                    Msg::Scan { code, .. } => format!("scan {code:?}"),
                    Msg::SupervisorBadge { code } => format!("supervisor badge {code:?}"),
                    Msg::Weight { grams, .. } => format!("weight {grams} g"),
                    // Never the PIN.
                    Msg::Pin(_) => "PIN".into(),
                    Msg::Reason(r) => format!("reason {}", r.as_str()),
                    Msg::CancelAuth => "cancel".into(),
                    Msg::Device { device, .. } => format!("{device} state"),
                    Msg::Printed { job, .. } => format!("print result for {}", job.order_no),
                    Msg::Shutdown => "shutdown".into(),
                };
                tracing::error!("{what} not recorded: {e}");
                // The screen and the speaker say it too: the packer must not take silence for
                // a count.
                if let Msg::Scan { code, .. } = &msg {
                    for f in &self.on_events {
                        f(Outcome::NotRecorded);
                    }
                    self.memory.alert = Some(view::Alert {
                        reason: RejectReason::NotRecorded,
                        code: code.clone(),
                        detail: crate::text!(
                            "refuse.not_recorded",
                            code = format!("{code:?}"),
                            why = e.to_string()
                        )
                        .en,
                    });
                }
                if let Msg::SupervisorBadge { code } = &msg {
                    self.memory
                        .answer_supervisor(view::SupervisorOutcome::Refused {
                            code: code.clone(),
                            reason: RejectReason::NotRecorded,
                            employee_id: None,
                            name: None,
                        });
                }
            }
        }
        self.notify();
    }

    fn emit(&mut self, events: &[StoredEvent]) {
        // Committed, not yet acknowledged: the crash harness's last kill point (not for an
        // empty batch, which committed nothing).
        if !events.is_empty() {
            crate::killpoint::pass(crate::killpoint::Point::AfterCommit);
        }
        self.memory.observe(events);
        for e in events {
            let line = e.to_line();
            if let Err(err) = writeln!(self.out, "{line}").and_then(|_| self.out.flush()) {
                tracing::error!("cannot write event line: {err}");
            }
        }
        for f in &self.on_events {
            f(Outcome::Stored(events));
        }
    }

    /// The log as found at start: a missing trigger or a broken tail is an alarm, recorded
    /// (when the log still takes events), printed as a JSON line and raised on screen.
    pub fn check_log(&mut self) {
        let now = (self.clock)();
        let problems = match self.bench.store().startup_problems() {
            Ok(p) => p,
            Err(e) => vec![(
                "unreadable".into(),
                crate::text!("alarm.unreadable", why = e.to_string()).en,
            )],
        };
        for (problem, detail) in problems {
            tracing::error!(%problem, "EVENT LOG ALARM: {detail}");
            let ev = NewEvent::of(
                LogAlarm {
                    problem: problem.clone(),
                    detail: detail.clone(),
                },
                now,
                &self.bench.config().station_id,
            );
            match self.bench.record(&[ev]) {
                Ok(stored) => self.emit(&stored),
                Err(e) => {
                    tracing::error!("the log alarm could not be recorded: {e}");
                    // Still on stdout and on screen.
                    let line = serde_json::json!({
                        "event": "log_alarm",
                        "at": now.to_rfc3339(),
                        "station_id": self.bench.config().station_id,
                        "problem": problem,
                        "detail": detail,
                        "recorded": false,
                    });
                    let _ = writeln!(self.out, "{line}").and_then(|_| self.out.flush());
                    self.memory.alert = Some(view::Alert {
                        reason: RejectReason::LogAlarm,
                        code: String::new(),
                        detail,
                    });
                }
            }
        }
    }

    /// Labels owed from before a restart: the print queue lives in memory, and a crash or power
    /// cut between `order_packed` and the printer's answer would otherwise lose the label of
    /// a parcel the screen showed as packed. A label never sent prints now (at least once: if
    /// the printer took it just before the crash, it prints twice); labels that had failed
    /// wait in the queue for `PB-REPRINT` again, as before the restart.
    pub fn recover_labels(&mut self) {
        let now = (self.clock)();
        for (order_no, failed_before) in self.bench.take_owed_labels() {
            match self.job(&order_no, now) {
                Ok(job) if failed_before => self.queue.push(job),
                Ok(job) => self.send(job, now),
                Err(e) => tracing::error!("label for {order_no} not built: {e}"),
            }
        }
    }

    /// Print jobs for packed orders and reprints.
    fn follow_up(&mut self, events: &[StoredEvent], now: DateTime<FixedOffset>) {
        for e in events {
            let Some(order_no) = &e.order_no else {
                continue;
            };
            match e.kind {
                EventType::OrderPacked => self.print(order_no, now),
                EventType::ReprintRequested => {
                    if self.queue.is_empty() {
                        self.print(order_no, now);
                    } else {
                        for job in std::mem::take(&mut self.queue) {
                            self.send(job, now);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn print(&mut self, order_no: &str, now: DateTime<FixedOffset>) {
        match self.job(order_no, now) {
            Ok(job) => self.send(job, now),
            Err(e) => tracing::error!("label for {order_no} not built: {e}"),
        }
    }

    fn send(&mut self, job: PrintJob, now: DateTime<FixedOffset>) {
        self.memory.label_preview = Some(label_to_text(&job.bytes));
        self.memory.label_print = Some(super::view::LabelPrint {
            bytes: job.bytes.as_slice().into(),
            paper: self.setup.paper,
        });
        match &self.printer {
            Some(p) => p(job),
            None => {
                // No printer: say so, and keep the label for when one is configured.
                let r = self.printed(
                    &job,
                    &Err(PrintFailure {
                        kind: "no_printer".into(),
                        reason: "no printer is configured".into(),
                    }),
                    now,
                );
                if let Ok(ev) = r {
                    self.emit(&ev);
                }
            }
        }
    }

    fn job(&self, order_no: &str, now: DateTime<FixedOffset>) -> Result<PrintJob, BenchError> {
        let store = self.bench.store();
        let order = store
            .find_order(order_no)?
            .ok_or_else(|| BenchError::OrderVanished(order_no.to_string()))?;
        let view = self.bench.view(order)?;
        let p = &view.progress;
        let name = |id: Option<&str>| -> Result<String, BenchError> {
            let n = match id {
                Some(i) => store.employee(i)?.map(|e| e.name),
                None => None,
            };
            Ok(person(id, n.as_deref()))
        };
        let copy = p.labels_printed + 1;
        let data = label_for(
            &view.order,
            p,
            self.bench.catalog(),
            name(p.picker_id.as_deref())?,
            name(p.packer_id.as_deref())?,
            &self.bench.config().station_id,
            now.format("%Y-%m-%d %H:%M").to_string(),
            copy,
            self.setup,
        );
        let bytes = build_label(&data);
        Ok(PrintJob {
            order_no: order_no.to_string(),
            copy,
            bytes,
        })
    }

    fn printed(
        &mut self,
        job: &PrintJob,
        result: &Result<Option<String>, PrintFailure>,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<StoredEvent>, BenchError> {
        let station = self.bench.config().station_id.clone();
        let mut events = Vec::new();
        let ok = result.is_ok();
        if self.printer_ok != Some(ok) && self.printer.is_some() {
            let (state, detail) = match result {
                Ok(_) if self.printer_simulated => (
                    DeviceStatus::Simulated,
                    "printer took the label".to_string(),
                ),
                Ok(_) => (
                    DeviceStatus::Connected,
                    "printer took the label".to_string(),
                ),
                Err(f) => (DeviceStatus::Error, f.reason.clone()),
            };
            events.push(device_event(
                &station,
                now,
                DeviceKind::Printer.as_str(),
                state,
                &detail,
            ));
        }
        self.printer_ok = Some(ok);
        let e = match result {
            Ok(warning) => NewEvent::of(
                LabelPrinted {
                    copy: job.copy,
                    bytes: job.bytes.len(),
                    reprint: job.copy > 1,
                    warning: warning.clone(),
                },
                now,
                &station,
            )
            .order(&job.order_no),
            Err(f) => {
                self.queue.push(job.clone());
                NewEvent::of(
                    PrintFailed {
                        reason: f.reason.clone(),
                        kind: f.kind.clone(),
                        copy: job.copy,
                        queued: self.queue.len(),
                    },
                    now,
                    &station,
                )
                .order(&job.order_no)
            }
        };
        let actor = self.bench.state().packer.as_ref().map(|p| p.id.clone());
        events.push(e.actor(actor.as_deref()));
        self.bench.record(&events)
    }
}

pub fn device_event(
    station: &str,
    at: DateTime<FixedOffset>,
    device: &str,
    state: DeviceStatus,
    detail: &str,
) -> NewEvent {
    NewEvent::of(
        Device {
            device: device.to_string(),
            state,
            detail: detail.to_string(),
        },
        at,
        station,
    )
    .actor(Some("system"))
}
