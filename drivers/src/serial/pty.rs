//! Pseudo-terminals standing in for serial devices: simulators and tests.

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_serial::{SerialPort, SerialStream};

use super::io::SerialIo;

/// The device end of a pty pair; the station opens [`Self::path`] like a real port.
///
/// Read and write this value as the device (a simulated scanner or scale). Dropping it is an
/// unplug: the station's reads see end of stream and the path disappears.
///
/// The pair's own terminal end stays open inside, unused, so that the device end neither
/// fails with EIO before the station has opened the path nor while the station reopens it.
/// Bytes the device writes while no station listens wait in the terminal's input queue, like
/// bytes a real device sent before the station started (the station flushes them on open).
///
/// A pty carries bytes, not a line: baud rate, parity and data bits are accepted and ignored
/// (a 7E1 setting neither adds parity nor strips the eighth bit).
#[derive(Debug)]
pub struct VirtualPort {
    device: SerialIo,
    path: PathBuf,
    terminal: SerialIo,
}

impl VirtualPort {
    /// Opens a new pty pair. Needs a tokio runtime with I/O enabled.
    pub fn new() -> io::Result<Self> {
        let (device, terminal) = SerialStream::pair().map_err(io::Error::from)?;
        // A process spawned later (a station under test) must not inherit these ends: it
        // would keep the pty alive after this port is dropped, and the unplug would go unseen.
        for fd in [device.as_raw_fd(), terminal.as_raw_fd()] {
            // SAFETY: plain fcntl on descriptors we own; no memory is touched.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        let path = terminal
            .name()
            .map(PathBuf::from)
            .ok_or_else(|| io::Error::other("the pty has no terminal path"))?;
        Ok(VirtualPort {
            device: SerialIo::new(device),
            path,
            terminal: SerialIo::new(terminal),
        })
    }

    /// The terminal path (`/dev/pts/N`) to give the station as its port.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes the device wrote that nobody has read yet (the terminal's input queue): what a
    /// station opening the port now would find, or, with a station reading, what it has not
    /// taken yet. Tests wait on it instead of sleeping.
    pub fn unread(&self) -> io::Result<u32> {
        self.terminal
            .get_ref()
            .bytes_to_read()
            .map_err(io::Error::from)
    }
}

impl AsyncRead for VirtualPort {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.device).poll_read(cx, buf)
    }
}

impl AsyncWrite for VirtualPort {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.device).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.device).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.device).poll_shutdown(cx)
    }
}
