//! A supervised device link: keeps a port open, decodes its frames, reopens it after unplug.
//!
//! One task owns the port. The caller gets [`LinkEvent`]s (from [`SerialLink::recv`] or as a
//! `Stream`) and writes through a [`LinkWriter`]. Event rules:
//!
//! - `Connected` each time the port opens;
//! - `Disconnected` once when an open port is lost (end of stream, read or write error);
//! - `Error` when an open attempt fails, once per distinct reason: a port that stays missing
//!   gives one `Error`, not one per retry; a new reason (missing, then permission denied) gives
//!   a new one, and the memory is cleared when the port opens again;
//! - `Frame` for each decoded frame.
//!
//! Between attempts the task waits with a jittered exponential [`Backoff`]. The backoff starts
//! over only after a connection that proved healthy (it delivered bytes or lasted the backoff
//! cap), so a port that opens and dies at once is retried slowly, not 10 times a second.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::codec::Decoder;

use super::backoff::{Backoff, BackoffPolicy};
use super::io::SerialIo;
use super::open::{open, resolve_device, OpenErrorKind};
use super::settings::SerialSettings;

/// What a link reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent<T> {
    /// The port is open. `device` is the path with symlinks resolved (the ttyUSBn behind a
    /// by-id link), for the operator's log.
    Connected { device: PathBuf },
    /// An open port was lost.
    Disconnected { reason: String },
    /// The port could not be opened; the link keeps retrying.
    Error { kind: OpenErrorKind, reason: String },
    /// A decoded frame.
    Frame(T),
}

impl<T> LinkEvent<T> {
    /// `connected`, `disconnected`, `error` or `frame`: the device event's state name.
    pub fn name(&self) -> &'static str {
        match self {
            LinkEvent::Connected { .. } => "connected",
            LinkEvent::Disconnected { .. } => "disconnected",
            LinkEvent::Error { .. } => "error",
            LinkEvent::Frame(_) => "frame",
        }
    }

    pub fn into_frame(self) -> Option<T> {
        match self {
            LinkEvent::Frame(f) => Some(f),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// The first open attempt has not finished yet.
    Starting,
    Connected,
    /// Not open; retrying.
    Down,
    /// The link was shut down.
    Stopped,
}

/// A snapshot of the link, for a status display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    pub state: LinkState,
    /// Failed open attempts since the port was last open (or since the start).
    pub failed_opens: u64,
    /// How often the port has been opened.
    pub connects: u64,
    /// The last open failure or loss reason.
    pub last_error: Option<String>,
}

/// Tuning of a link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkOptions {
    pub backoff: BackoffPolicy,
    /// Seed for the backoff jitter; `None` picks a random one. Tests fix it (or set the
    /// jitter to 0) to know every wait.
    pub jitter_seed: Option<u64>,
    /// When bytes have been waiting this long with no new byte, the decoder is asked for a
    /// final frame (`decode_eof`): scanners that send no suffix. `None`: never.
    pub idle_flush: Option<Duration>,
    /// Longest wait for a write to be accepted by the port (hardware flow control can hold
    /// it back).
    pub write_timeout: Duration,
    /// Events buffered before the link stops reading and lets the OS buffer fill.
    pub event_buffer: usize,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            backoff: BackoffPolicy::default(),
            jitter_seed: None,
            idle_flush: None,
            write_timeout: Duration::from_secs(2),
            event_buffer: 64,
        }
    }
}

/// Why a write did not reach the port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Commands are not queued while the port is down: a tare asked for a minute ago must not
    /// hit the scale when it comes back.
    #[error("serial port {port}: not connected")]
    NotConnected { port: String },
    #[error("serial port {port}: write not accepted within {after:?}")]
    Timeout { port: String, after: Duration },
    #[error("serial port {port}: write failed: {reason}")]
    Io { port: String, reason: String },
    #[error("serial port {port}: the link has stopped")]
    Stopped { port: String },
}

struct WriteRequest {
    bytes: Bytes,
    reply: oneshot::Sender<Result<(), WriteError>>,
}

/// Sends bytes to the device through its link. Cheap to clone.
#[derive(Clone)]
pub struct LinkWriter {
    tx: mpsc::Sender<WriteRequest>,
    port: Arc<str>,
}

impl fmt::Debug for LinkWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkWriter")
            .field("port", &self.port)
            .finish()
    }
}

impl LinkWriter {
    /// Writes `bytes` if the port is open now; returns once the port took them.
    pub async fn write(&self, bytes: impl Into<Bytes>) -> Result<(), WriteError> {
        let (reply, answer) = oneshot::channel();
        let request = WriteRequest {
            bytes: bytes.into(),
            reply,
        };
        if self.tx.send(request).await.is_err() {
            return Err(self.stopped());
        }
        answer.await.unwrap_or_else(|_| Err(self.stopped()))
    }

    /// The configured port path, as in messages.
    pub fn port(&self) -> &str {
        &self.port
    }

    fn stopped(&self) -> WriteError {
        WriteError::Stopped {
            port: self.port.to_string(),
        }
    }
}

/// A running link. Dropping it stops the task and closes the port; [`Self::shutdown`] does the
/// same and waits until the port is closed.
pub struct SerialLink<T> {
    events: mpsc::Receiver<LinkEvent<T>>,
    writer: LinkWriter,
    status: watch::Receiver<LinkStatus>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl<T> fmt::Debug for SerialLink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SerialLink")
            .field("port", &self.writer.port)
            .field("status", &*self.status.borrow())
            .finish()
    }
}

impl<T: Send + 'static> SerialLink<T> {
    /// Starts the link task on the current tokio runtime. `decoder` is cloned fresh for each
    /// connection, so a frame cut off by an unplug never merges with the next device's bytes.
    pub fn spawn<D>(settings: SerialSettings, decoder: D, options: LinkOptions) -> Self
    where
        D: Decoder<Item = T> + Clone + Send + 'static,
        D::Error: fmt::Display,
    {
        let port: Arc<str> = settings.path.display().to_string().into();
        let (event_tx, events) = mpsc::channel(options.event_buffer.max(1));
        let (write_tx, writes) = mpsc::channel(16);
        let (stop, stop_rx) = oneshot::channel();
        let (status_tx, status) = watch::channel(LinkStatus {
            state: LinkState::Starting,
            failed_opens: 0,
            connects: 0,
            last_error: None,
        });
        let backoff = match options.jitter_seed {
            Some(seed) => Backoff::new(options.backoff, seed),
            None => Backoff::with_random_seed(options.backoff),
        };
        let task = Task {
            settings,
            decoder,
            options,
            backoff,
            events: event_tx,
            writes,
            stop: stop_rx,
            status: status_tx,
            port: port.clone(),
        };
        let task = tokio::spawn(task.run());
        SerialLink {
            events,
            writer: LinkWriter { tx: write_tx, port },
            status,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

impl<T> SerialLink<T> {
    /// The next event; `None` once the link has stopped.
    pub async fn recv(&mut self) -> Option<LinkEvent<T>> {
        self.events.recv().await
    }

    pub fn writer(&self) -> LinkWriter {
        self.writer.clone()
    }

    /// Shorthand for `writer().write(bytes)`.
    pub async fn write(&self, bytes: impl Into<Bytes>) -> Result<(), WriteError> {
        self.writer.write(bytes).await
    }

    pub fn status(&self) -> LinkStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change (for a UI).
    pub fn watch_status(&self) -> watch::Receiver<LinkStatus> {
        self.status.clone()
    }

    /// Stops the task and waits until the port is closed (so it can be opened again at once).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl<T> Stream for SerialLink<T> {
    type Item = LinkEvent<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// How a connection ended.
struct Ended {
    flow: Flow,
    reason: String,
    got_bytes: bool,
}

struct Task<D: Decoder> {
    settings: SerialSettings,
    decoder: D,
    options: LinkOptions,
    backoff: Backoff,
    events: mpsc::Sender<LinkEvent<D::Item>>,
    writes: mpsc::Receiver<WriteRequest>,
    stop: oneshot::Receiver<()>,
    status: watch::Sender<LinkStatus>,
    port: Arc<str>,
}

impl<D> Task<D>
where
    D: Decoder + Clone,
    D::Error: fmt::Display,
{
    async fn run(mut self) {
        // The open failure last reported in this down period, to report each reason once.
        let mut reported: Option<String> = None;
        loop {
            match open(&self.settings) {
                Ok(port) => {
                    reported = None;
                    self.status.send_modify(|s| {
                        s.state = LinkState::Connected;
                        s.failed_opens = 0;
                        s.connects += 1;
                    });
                    let device = resolve_device(&self.settings.path);
                    tracing::info!(
                        target: "packbench::serial",
                        port = %self.port,
                        device = %device.display(),
                        connects = self.status.borrow().connects,
                        "serial port open"
                    );
                    if self.emit(LinkEvent::Connected { device }).await == Flow::Stop {
                        break;
                    }
                    let since = Instant::now();
                    let ended = self.serve(port).await;
                    if ended.flow == Flow::Stop {
                        break;
                    }
                    if ended.got_bytes || since.elapsed() >= self.backoff.policy().max {
                        self.backoff.reset();
                    }
                    self.status.send_modify(|s| {
                        s.state = LinkState::Down;
                        s.last_error = Some(ended.reason.clone());
                    });
                    tracing::warn!(
                        target: "packbench::serial",
                        port = %self.port,
                        "serial port lost: {}; reconnecting",
                        ended.reason
                    );
                    let event = LinkEvent::Disconnected {
                        reason: ended.reason,
                    };
                    if self.emit(event).await == Flow::Stop {
                        break;
                    }
                }
                Err(e) => {
                    let reason = e.to_string();
                    self.status.send_modify(|s| {
                        s.state = LinkState::Down;
                        s.failed_opens += 1;
                        s.last_error = Some(reason.clone());
                    });
                    if reported.as_deref() != Some(reason.as_str()) {
                        tracing::warn!(
                            target: "packbench::serial",
                            port = %self.port,
                            "cannot open serial port: {reason}; retrying"
                        );
                        reported = Some(reason.clone());
                        let event = LinkEvent::Error {
                            kind: e.kind,
                            reason,
                        };
                        if self.emit(event).await == Flow::Stop {
                            break;
                        }
                    }
                }
            }
            // Also after a loss: a USB adapter's node lingers a moment after the unplug.
            let delay = self.backoff.next_delay();
            if self.wait_down(delay).await == Flow::Stop {
                break;
            }
        }
        self.status.send_modify(|s| s.state = LinkState::Stopped);
    }

    /// Sends an event unless the link is told to stop meanwhile (a slow consumer must not
    /// keep the port open after shutdown).
    async fn emit(&mut self, event: LinkEvent<D::Item>) -> Flow {
        tokio::select! {
            biased;
            _ = &mut self.stop => Flow::Stop,
            sent = self.events.send(event) => match sent {
                Ok(()) => Flow::Go,
                // Nobody listens any more.
                Err(_) => Flow::Stop,
            },
        }
    }

    /// Waits out a backoff delay, refusing writes meanwhile.
    async fn wait_down(&mut self, delay: Duration) -> Flow {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                biased;
                _ = &mut self.stop => return Flow::Stop,
                _ = &mut sleep => return Flow::Go,
                Some(request) = self.writes.recv() => {
                    let _ = request.reply.send(Err(WriteError::NotConnected {
                        port: self.port.to_string(),
                    }));
                }
            }
        }
    }

    /// Reads and decodes until the port is lost or the link stops.
    async fn serve(&mut self, mut port: SerialIo) -> Ended {
        let mut codec = self.decoder.clone();
        let mut buf = BytesMut::with_capacity(1024);
        let mut got_bytes = false;
        // Bytes arrived since the last frame or idle flush: what the idle timer watches.
        let mut unflushed = false;
        let ended = |flow, reason: String, got_bytes| Ended {
            flow,
            reason,
            got_bytes,
        };
        loop {
            loop {
                // Errors become text at once: a decoder's error type need not be Send.
                let decoded = codec.decode(&mut buf).map_err(|e| e.to_string());
                match decoded {
                    Ok(Some(frame)) => {
                        unflushed = !buf.is_empty();
                        if self.emit(LinkEvent::Frame(frame)).await == Flow::Stop {
                            return ended(Flow::Stop, String::new(), got_bytes);
                        }
                    }
                    Ok(None) => break,
                    // The codecs fail only on I/O; treat anything else the same way.
                    Err(e) => return ended(Flow::Go, format!("decoder: {e}"), got_bytes),
                }
            }
            let idle = self.options.idle_flush.filter(|_| unflushed);
            tokio::select! {
                biased;
                _ = &mut self.stop => return ended(Flow::Stop, String::new(), got_bytes),
                read = port.read_buf(&mut buf) => match read {
                    // A tty reads 0 bytes only after a hangup: the device end went away. The
                    // partial frame in `buf` is dropped with the connection: a code cut short by
                    // an unplug would be a different, wrong code.
                    Ok(0) => {
                        return ended(
                            Flow::Go,
                            "end of stream (device closed or unplugged)".into(),
                            got_bytes,
                        )
                    }
                    Ok(_) => {
                        got_bytes = true;
                        unflushed = true;
                    }
                    Err(e) => return ended(Flow::Go, format!("read error: {e}"), got_bytes),
                },
                Some(request) = self.writes.recv() => {
                    let limit = self.options.write_timeout;
                    let result = tokio::time::timeout(limit, port.write_all(&request.bytes)).await;
                    let port_name = self.port.to_string();
                    match result {
                        Ok(Ok(())) => {
                            let _ = request.reply.send(Ok(()));
                        }
                        Ok(Err(e)) => {
                            let reason = e.to_string();
                            let _ = request.reply.send(Err(WriteError::Io {
                                port: port_name,
                                reason: reason.clone(),
                            }));
                            return ended(Flow::Go, format!("write error: {reason}"), got_bytes);
                        }
                        // Flow control holding the line is not a lost port; tell the caller.
                        Err(_) => {
                            let _ = request.reply.send(Err(WriteError::Timeout {
                                port: port_name,
                                after: limit,
                            }));
                        }
                    }
                }
                _ = tokio::time::sleep(idle.unwrap_or_default()), if idle.is_some() => {
                    unflushed = false;
                    let decoded = codec.decode_eof(&mut buf).map_err(|e| e.to_string());
                    match decoded {
                        Ok(Some(frame)) => {
                            if self.emit(LinkEvent::Frame(frame)).await == Flow::Stop {
                                return ended(Flow::Stop, String::new(), got_bytes);
                            }
                        }
                        Ok(None) => {}
                        Err(e) => return ended(Flow::Go, format!("decoder: {e}"), got_bytes),
                    }
                }
            }
        }
    }
}
