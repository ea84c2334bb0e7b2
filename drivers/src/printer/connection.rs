//! Sending a job to a printer and knowing whether it took it.
//!
//! Before each job the printer's status is asked (`DLE EOT` 1, 2, 4); a printer out of paper,
//! with its cover open, offline or in error gets nothing. After the job the status is asked
//! again, so paper running out during the job, or a connection that died, is reported instead
//! of being counted as printed.

use std::path::Path;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::status::{PrinterCondition, PrinterStatus, StatusRequest};
use super::target::PrinterTarget;

/// Time limits for one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrinterTimeouts {
    /// TCP connect.
    pub connect: Duration,
    /// Each status reply before the job.
    pub status: Duration,
    /// Writing the job.
    pub write: Duration,
    /// Each status reply after the job: the request queues behind the job bytes in the
    /// printer's receive buffer, so it may take longer.
    pub after_job: Duration,
}

impl Default for PrinterTimeouts {
    fn default() -> Self {
        PrinterTimeouts {
            connect: Duration::from_secs(3),
            status: Duration::from_secs(2),
            write: Duration::from_secs(10),
            after_job: Duration::from_secs(5),
        }
    }
}

/// Why a job was not printed. [`PrintError::kind`] gives a stable name for events.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrintError {
    #[error("printer unreachable: {reason}")]
    Unreachable { reason: String },
    #[error("printer timed out ({stage}): {reason}")]
    Timeout { stage: &'static str, reason: String },
    #[error("printer connection lost ({stage}): {reason}")]
    ConnectionLost { stage: &'static str, reason: String },
    #[error("printer out of paper: {reason}")]
    PaperOut {
        reason: String,
        status: PrinterStatus,
    },
    #[error("printer cover open: {reason}")]
    CoverOpen {
        reason: String,
        status: PrinterStatus,
    },
    #[error("printer offline: {reason}")]
    Offline {
        reason: String,
        status: PrinterStatus,
    },
    #[error("printer error: {reason}")]
    PrinterError {
        reason: String,
        status: PrinterStatus,
    },
    #[error("printer sent a bad status reply: {reason}")]
    BadStatus { reason: String },
    #[error("cannot write printer file: {reason}")]
    Io { reason: String },
    #[error("printer transport not available: {reason}")]
    Unsupported { reason: String },
}

impl PrintError {
    /// Stable snake_case name: `unreachable`, `timeout`, `connection_lost`, `paper_out`,
    /// `cover_open`, `offline`, `printer_error`, `bad_status`, `io`, `unsupported`.
    pub fn kind(&self) -> &'static str {
        match self {
            PrintError::Unreachable { .. } => "unreachable",
            PrintError::Timeout { .. } => "timeout",
            PrintError::ConnectionLost { .. } => "connection_lost",
            PrintError::PaperOut { .. } => "paper_out",
            PrintError::CoverOpen { .. } => "cover_open",
            PrintError::Offline { .. } => "offline",
            PrintError::PrinterError { .. } => "printer_error",
            PrintError::BadStatus { .. } => "bad_status",
            PrintError::Io { .. } => "io",
            PrintError::Unsupported { .. } => "unsupported",
        }
    }

    /// The human reason (without the kind prefix).
    pub fn reason(&self) -> &str {
        match self {
            PrintError::Unreachable { reason }
            | PrintError::Timeout { reason, .. }
            | PrintError::ConnectionLost { reason, .. }
            | PrintError::PaperOut { reason, .. }
            | PrintError::CoverOpen { reason, .. }
            | PrintError::Offline { reason, .. }
            | PrintError::PrinterError { reason, .. }
            | PrintError::BadStatus { reason }
            | PrintError::Io { reason }
            | PrintError::Unsupported { reason } => reason,
        }
    }

    /// The error for a printer whose status does not allow printing; `None` when it does.
    /// `after_job` marks a problem found after the job was sent (it may be partly printed).
    pub fn from_status(status: PrinterStatus, after_job: bool) -> Option<PrintError> {
        let mut reason = status.reason();
        if after_job {
            reason.push_str(" (found after sending the job; it may be partly printed)");
        }
        Some(match status.condition() {
            PrinterCondition::Ready | PrinterCondition::PaperNearEnd => return None,
            PrinterCondition::PaperOut => PrintError::PaperOut { reason, status },
            PrinterCondition::CoverOpen => PrintError::CoverOpen { reason, status },
            PrinterCondition::Offline => PrintError::Offline { reason, status },
            PrinterCondition::Error => PrintError::PrinterError { reason, status },
        })
    }
}

/// What the printer said around a job it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintReceipt {
    pub bytes_sent: usize,
    pub before: PrinterStatus,
    pub after: PrinterStatus,
}

impl PrintReceipt {
    /// Something worth telling the operator although the job printed (paper near end).
    pub fn warning(&self) -> Option<String> {
        (self.after.condition() == PrinterCondition::PaperNearEnd).then(|| self.after.reason())
    }
}

/// A status-checked printer connection over any byte stream: TCP here; a serial port
/// (tokio-serial's `SerialStream`) or an in-memory duplex plugs in through [`Self::new`].
pub struct PrinterConnection<S> {
    io: S,
    timeouts: PrinterTimeouts,
    name: String,
}

impl PrinterConnection<TcpStream> {
    /// Connects with `timeouts.connect`. Refused, no route, unknown host → `Unreachable`.
    pub async fn connect_tcp(
        host: &str,
        port: u16,
        timeouts: PrinterTimeouts,
    ) -> Result<Self, PrintError> {
        let name = format!("{host}:{port}");
        let stream = match timeout(timeouts.connect, TcpStream::connect((host, port))).await {
            Err(_) => {
                return Err(PrintError::Timeout {
                    stage: "connect",
                    reason: format!("no answer from {name} within {:?}", timeouts.connect),
                })
            }
            Ok(Err(e)) => {
                return Err(PrintError::Unreachable {
                    reason: format!("{name}: {e}"),
                })
            }
            Ok(Ok(s)) => s,
        };
        // Status requests are three bytes each: send them at once, not after Nagle's delay.
        let _ = stream.set_nodelay(true);
        Ok(Self::new(stream, timeouts, name))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> PrinterConnection<S> {
    pub fn new(io: S, timeouts: PrinterTimeouts, name: impl Into<String>) -> Self {
        PrinterConnection {
            io,
            timeouts,
            name: name.into(),
        }
    }

    /// Gives the stream back (e.g. to keep a serial port open between jobs).
    pub fn into_inner(self) -> S {
        self.io
    }

    /// Sends one `DLE EOT n` and reads its reply byte.
    pub async fn query(
        &mut self,
        request: StatusRequest,
        wait: Duration,
        stage: &'static str,
    ) -> Result<u8, PrintError> {
        self.write(&request.command(), stage).await?;
        let mut byte = [0u8; 1];
        match timeout(wait, self.io.read(&mut byte)).await {
            Err(_) => Err(PrintError::Timeout {
                stage,
                reason: format!(
                    "{} did not answer DLE EOT {} within {wait:?}",
                    self.name, request as u8
                ),
            }),
            Ok(Ok(0)) => Err(PrintError::ConnectionLost {
                stage,
                reason: format!("{} closed the connection", self.name),
            }),
            Ok(Ok(_)) => Ok(byte[0]),
            Ok(Err(e)) => Err(PrintError::ConnectionLost {
                stage,
                reason: format!("{}: {e}", self.name),
            }),
        }
    }

    async fn status_with(
        &mut self,
        wait: Duration,
        stage: &'static str,
    ) -> Result<PrinterStatus, PrintError> {
        let mut status = PrinterStatus::default();
        for request in StatusRequest::JOB_CHECK {
            let byte = self.query(request, wait, stage).await?;
            status
                .apply(request, byte)
                .map_err(|e| PrintError::BadStatus {
                    reason: format!("{}: {e}", self.name),
                })?;
        }
        Ok(status)
    }

    /// Asks DLE EOT 1, 2 and 4 and combines the replies.
    pub async fn status(&mut self) -> Result<PrinterStatus, PrintError> {
        let wait = self.timeouts.status;
        self.status_with(wait, "status").await
    }

    /// Prints one job: status check, send, status check. `Ok` only when the printer was ready
    /// before, took every byte, and is still fine after.
    pub async fn print(&mut self, job: &[u8]) -> Result<PrintReceipt, PrintError> {
        let result = self.checked_print(job).await;
        match &result {
            Err(e) => tracing::warn!(
                target: "packbench::printer",
                printer = %self.name,
                kind = e.kind(),
                "label not printed: {e}"
            ),
            Ok(receipt) => {
                if let Some(warning) = receipt.warning() {
                    tracing::warn!(target: "packbench::printer", printer = %self.name, "{warning}");
                }
            }
        }
        result
    }

    async fn checked_print(&mut self, job: &[u8]) -> Result<PrintReceipt, PrintError> {
        let before = self.status().await?;
        if let Some(err) = PrintError::from_status(before, false) {
            return Err(err);
        }
        self.write(job, "job").await?;
        let wait = self.timeouts.after_job;
        let after = self.status_with(wait, "status after job").await?;
        if let Some(err) = PrintError::from_status(after, true) {
            return Err(err);
        }
        Ok(PrintReceipt {
            bytes_sent: job.len(),
            before,
            after,
        })
    }

    async fn write(&mut self, bytes: &[u8], stage: &'static str) -> Result<(), PrintError> {
        let limit = self.timeouts.write;
        let io = &mut self.io;
        let result = timeout(limit, async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(PrintError::ConnectionLost {
                stage,
                reason: format!("{}: {e}", self.name),
            }),
            Err(_) => Err(PrintError::Timeout {
                stage,
                reason: format!(
                    "{} took no more data for {limit:?} (buffer full, printer stalled?)",
                    self.name
                ),
            }),
        }
    }
}

/// Appends a job to a file, creating it if missing. Files have no status: always "ready".
pub async fn append_to_file(path: &Path, job: &[u8]) -> Result<PrintReceipt, PrintError> {
    let path_buf = path.to_path_buf();
    let bytes = job.to_vec();
    let result = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path_buf)?;
        f.write_all(&bytes)?;
        f.flush()
    })
    .await;
    match result {
        Ok(Ok(())) => Ok(PrintReceipt {
            bytes_sent: job.len(),
            before: PrinterStatus::READY,
            after: PrinterStatus::READY,
        }),
        Ok(Err(e)) => Err(PrintError::Io {
            reason: format!("{}: {e}", path.display()),
        }),
        Err(e) => Err(PrintError::Io {
            reason: format!("{}: writer task failed: {e}", path.display()),
        }),
    }
}

/// Prints one job to a target, one connection per job (so a printer that was restarted
/// between labels is simply reconnected). Serial targets need an opened port: the app opens
/// it with its serial transport and calls [`PrinterConnection::new`]; here they are
/// `Unsupported`.
pub async fn print_to_target(
    target: &PrinterTarget,
    job: &[u8],
    timeouts: PrinterTimeouts,
) -> Result<PrintReceipt, PrintError> {
    match target {
        PrinterTarget::Tcp { host, port } => {
            let mut conn = PrinterConnection::connect_tcp(host, *port, timeouts).await?;
            let receipt = conn.print(job).await?;
            // The printer has confirmed the job; a failed close changes nothing.
            let _ = conn.io.shutdown().await;
            Ok(receipt)
        }
        PrinterTarget::File { path } => append_to_file(path, job).await,
        PrinterTarget::Serial { path, .. } => Err(PrintError::Unsupported {
            reason: format!(
                "{}: open the serial port with the serial transport and use PrinterConnection::new",
                path.display()
            ),
        }),
    }
}
