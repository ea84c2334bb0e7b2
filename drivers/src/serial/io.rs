//! The opened port as an `AsyncRead + AsyncWrite` that never blocks the runtime.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_serial::SerialStream;

/// An open serial port.
///
/// tokio-serial's `poll_flush` calls `tcdrain`, a blocking system call that waits until the
/// UART has sent every byte: seconds for a label at 9600 baud, forever on a port held by
/// hardware flow control, and all of it on a runtime worker thread. Here flush and shutdown
/// return at once instead: written bytes are already in the kernel's output queue, and a
/// protocol that needs them on the wire waits for the device's reply, which queues behind
/// them.
#[derive(Debug)]
pub struct SerialIo {
    inner: SerialStream,
}

impl SerialIo {
    pub fn new(inner: SerialStream) -> Self {
        SerialIo { inner }
    }

    pub fn get_ref(&self) -> &SerialStream {
        &self.inner
    }

    /// The tokio-serial stream, e.g. for modem lines or `set_baud_rate`. Do not call its
    /// `flush` from async code (see the type's docs).
    pub fn get_mut(&mut self) -> &mut SerialStream {
        &mut self.inner
    }

    pub fn into_inner(self) -> SerialStream {
        self.inner
    }
}

impl AsyncRead for SerialIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SerialIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
