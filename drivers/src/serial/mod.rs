//! Serial transport: settings from the config, opening a port with a clear error, and a
//! supervised link that decodes frames and reopens the port after an unplug.
//!
//! - [`SerialSettings`]: path (by-id links included), baud, data bits, parity, stop bits,
//!   flow control; `Deserialize` from a config table, one clear message per bad value.
//! - [`open`]: one [`OpenError`] naming the port (missing, permission denied, busy, not a
//!   serial device, bad settings); stale input is flushed.
//! - [`SerialLink`]: events `Connected`, `Disconnected`, `Error` and decoded frames, for any
//!   `tokio_util` decoder ([`crate::scanner::ScannerCodec`], [`crate::scale::ScaleCodec`]),
//!   with jittered exponential [`Backoff`] between reopen attempts.
//! - [`ScalePoller`]: polls demand scales while a weight is awaited; zero and tare.
//! - [`VirtualPort`]: a pty pair standing in for a device in simulators and tests.

mod backoff;
mod io;
mod link;
mod open;
mod printer;
mod pty;
mod scale;
mod settings;

pub use backoff::{Backoff, BackoffPolicy};
pub use io::SerialIo;
pub use link::{LinkEvent, LinkOptions, LinkState, LinkStatus, LinkWriter, SerialLink, WriteError};
pub use open::{open, resolve_device, OpenError, OpenErrorKind};
pub use printer::print_serial;
pub use pty::VirtualPort;
pub use scale::{scale_link, ScalePoller, MAX_POLL_INTERVAL};
pub use settings::{
    parse_baud, DataBits, FlowControl, Parity, SerialSettings, SettingsError, StopBits,
    DEFAULT_BAUD, MAX_BAUD, MIN_BAUD,
};

use crate::scanner::{ScanFrame, ScannerCodec, ScannerConfig, DEFAULT_IDLE_GAP};

/// A scanner on a serial port. A scanner configured without a suffix gets the idle-gap
/// flush ([`DEFAULT_IDLE_GAP`]) unless `options` sets one.
pub fn scanner_link(
    settings: SerialSettings,
    config: &ScannerConfig,
    mut options: LinkOptions,
) -> SerialLink<ScanFrame> {
    if config.suffixes.is_empty() && options.idle_flush.is_none() {
        options.idle_flush = Some(DEFAULT_IDLE_GAP);
    }
    SerialLink::spawn(settings, ScannerCodec::new(config), options)
}
