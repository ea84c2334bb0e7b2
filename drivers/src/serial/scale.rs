//! Driving a scale over a link: polling demand protocols while a weight is awaited, zero and
//! tare.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::link::{LinkOptions, LinkWriter, SerialLink, WriteError};
use super::settings::SerialSettings;
use crate::scale::{ScaleCodec, ScaleCommand, ScaleConfig, ScaleError, ScaleEvent, ScaleProtocol};

/// The slowest poll allowed: a station waiting for a weight needs at least 10 readings a
/// second to react to the parcel settling without a noticeable pause.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Sends a scale's commands through its link.
///
/// While "awaiting weight" is on, a demand scale (MT-SICS, Toledo 8213, SMA) is sent its poll
/// command every poll interval; a continuous scale needs nothing. Polls that find the port
/// down are dropped silently (the link reports the outage) and resume when it is back.
/// Dropping the poller stops polling.
#[derive(Debug)]
pub struct ScalePoller {
    writer: LinkWriter,
    protocol: ScaleProtocol,
    awaiting: watch::Sender<bool>,
    polls: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl ScalePoller {
    /// Polls at the protocol's own interval.
    pub fn spawn(writer: LinkWriter, protocol: ScaleProtocol) -> Self {
        let interval = protocol.poll_interval().unwrap_or(MAX_POLL_INTERVAL);
        ScalePoller::with_interval(writer, protocol, interval)
    }

    /// Polls every `interval`, at most [`MAX_POLL_INTERVAL`] (a longer one is shortened) and
    /// at least 10 ms (so a zero interval cannot flood the line).
    pub fn with_interval(writer: LinkWriter, protocol: ScaleProtocol, interval: Duration) -> Self {
        let interval = interval.clamp(Duration::from_millis(10), MAX_POLL_INTERVAL);
        let (awaiting, awaiting_rx) = watch::channel(false);
        let polls = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(poll_loop(
            writer.clone(),
            protocol.poll_command(),
            interval,
            awaiting_rx,
            polls.clone(),
        ));
        ScalePoller {
            writer,
            protocol,
            awaiting,
            polls,
            task,
        }
    }

    pub fn protocol(&self) -> ScaleProtocol {
        self.protocol
    }

    /// Turns polling on (a weight is awaited) or off. The first poll goes out at once.
    pub fn set_awaiting(&self, on: bool) {
        self.awaiting
            .send_if_modified(|a| std::mem::replace(a, on) != on);
    }

    pub fn is_awaiting(&self) -> bool {
        *self.awaiting.borrow()
    }

    /// Poll commands written to the port so far.
    pub fn polls_sent(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    pub async fn zero(&self) -> Result<(), ScaleError> {
        self.command(ScaleCommand::Zero).await
    }

    pub async fn tare(&self) -> Result<(), ScaleError> {
        self.command(ScaleCommand::Tare).await
    }

    /// Sends one command in this protocol's bytes.
    pub async fn command(&self, command: ScaleCommand) -> Result<(), ScaleError> {
        let bytes = self.protocol.try_command_bytes(command)?;
        self.writer.write(bytes).await?;
        Ok(())
    }
}

impl Drop for ScalePoller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn poll_loop(
    writer: LinkWriter,
    command: Option<&'static [u8]>,
    interval: Duration,
    mut awaiting: watch::Receiver<bool>,
    polls: Arc<AtomicU64>,
) {
    let Some(command) = command else {
        // Continuous output: nothing to ask.
        return;
    };
    loop {
        if awaiting.wait_for(|on| *on).await.is_err() {
            return;
        }
        let mut ticker = tokio::time::interval(interval);
        // After a slow write, keep the spacing instead of bursting to catch up.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    match writer.write(command).await {
                        Ok(()) => {
                            polls.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(WriteError::Stopped { .. }) => return,
                        // Down or slow: the link reports it; keep asking.
                        Err(_) => {}
                    }
                }
                changed = awaiting.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if !*awaiting.borrow_and_update() {
                        break;
                    }
                }
            }
        }
    }
}

/// A scale on a serial port: the link (its frames are [`ScaleEvent`]s) and the poller
/// (zero, tare, polling while a weight is awaited).
pub fn scale_link(
    settings: SerialSettings,
    config: &ScaleConfig,
    options: LinkOptions,
) -> (SerialLink<ScaleEvent>, ScalePoller) {
    let link = SerialLink::spawn(settings, ScaleCodec::new(config), options);
    let poller = ScalePoller::spawn(link.writer(), config.protocol);
    (link, poller)
}
