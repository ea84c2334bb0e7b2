//! Byte-level device simulators for tests and the demo: they produce exactly what the real
//! devices put on the wire, so the codecs under test cannot tell them apart from hardware.
//!
//! - [`scale`]: the bytes each scale protocol sends for a given weight and state, and
//!   [`scale::SimScale`], which answers host commands over any `AsyncRead + AsyncWrite`
//!   (a tokio duplex stream, a pty, a TCP socket).
//! - [`scanner`]: a scan as the scanner sends it, with AIM prefix and suffix.

pub mod scale;
pub mod scanner;
