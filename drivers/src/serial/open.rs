//! Opening a port: one typed error naming it, stale input flushed.

use std::fmt;
use std::path::{Path, PathBuf};

use tokio_serial::{ClearBuffer, SerialPort, SerialPortBuilderExt};

use super::io::SerialIo;
use super::settings::SerialSettings;

/// What went wrong opening a port, coarse enough to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenErrorKind {
    /// No device at the path (unplugged, wrong path, dangling by-id link).
    Missing,
    PermissionDenied,
    /// Another program holds the port (TIOCEXCL or its exclusive lock).
    Busy,
    /// The path exists but is no terminal device (a regular file, a directory).
    NotSerial,
    /// The settings are out of range or the driver refused them.
    InvalidSettings,
    Other,
}

impl OpenErrorKind {
    /// Stable snake_case name for device events and logs.
    pub const fn name(self) -> &'static str {
        match self {
            OpenErrorKind::Missing => "missing",
            OpenErrorKind::PermissionDenied => "permission_denied",
            OpenErrorKind::Busy => "busy",
            OpenErrorKind::NotSerial => "not_serial",
            OpenErrorKind::InvalidSettings => "invalid_settings",
            OpenErrorKind::Other => "other",
        }
    }
}

/// A port that could not be opened: the path, what kind of failure, and the system's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenError {
    pub path: PathBuf,
    pub kind: OpenErrorKind,
    /// The underlying message (errno text or the settings error).
    pub detail: String,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot open serial port {}: ", self.path.display())?;
        match self.kind {
            OpenErrorKind::Missing => {
                write!(f, "no such device, is it plugged in? ({})", self.detail)
            }
            OpenErrorKind::PermissionDenied => write!(
                f,
                "permission denied, the user needs access to the device, e.g. the dialout group ({})",
                self.detail
            ),
            OpenErrorKind::Busy => write!(
                f,
                "busy, another program has it open ({})",
                self.detail
            ),
            OpenErrorKind::NotSerial => write!(f, "not a serial device ({})", self.detail),
            OpenErrorKind::InvalidSettings => write!(f, "bad settings: {}", self.detail),
            OpenErrorKind::Other => f.write_str(&self.detail),
        }
    }
}

impl std::error::Error for OpenError {}

impl OpenError {
    fn new(path: &Path, kind: OpenErrorKind, detail: impl Into<String>) -> Self {
        OpenError {
            path: path.to_path_buf(),
            kind,
            detail: detail.into(),
        }
    }
}

/// Sorts a tokio-serial error. It carries no errno, only a kind and the errno's text, so the
/// few texts that matter are recognised by their (fixed, libc-independent) wording from nix.
fn classify(e: &tokio_serial::Error) -> OpenErrorKind {
    use std::io::ErrorKind as Io;
    use tokio_serial::ErrorKind as K;
    match e.kind {
        K::NoDevice => OpenErrorKind::Busy,
        K::InvalidInput => OpenErrorKind::InvalidSettings,
        K::Io(Io::NotFound) => OpenErrorKind::Missing,
        K::Io(Io::PermissionDenied) => OpenErrorKind::PermissionDenied,
        K::Io(_) => OpenErrorKind::Other,
        K::Unknown => match e.description.as_str() {
            // ENXIO / ENODEV: the node is still there but its device is gone (mid-unplug).
            "No such device or address" | "No such device" => OpenErrorKind::Missing,
            // ENOTTY / EISDIR.
            "Not a typewriter" | "Inappropriate ioctl for device" | "Is a directory" => {
                OpenErrorKind::NotSerial
            }
            // EINVAL from the driver: usually a baud rate the adapter cannot do.
            "Invalid argument" => OpenErrorKind::InvalidSettings,
            _ => OpenErrorKind::Other,
        },
    }
}

/// Opens the port with `settings` (exclusively, so a second program gets `Busy` instead of
/// stealing half the bytes) and discards whatever was waiting in its input buffer: bytes a
/// scanner or scale sent before we were listening belong to a previous run and must not be
/// replayed as fresh scans or weights.
///
/// Must run inside a tokio runtime with I/O enabled; outside one this is an error, not a panic.
pub fn open(settings: &SerialSettings) -> Result<SerialIo, OpenError> {
    let path = settings.path.as_path();
    settings
        .validate()
        .map_err(|e| OpenError::new(path, OpenErrorKind::InvalidSettings, e.to_string()))?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(OpenError::new(
            path,
            OpenErrorKind::Other,
            "no tokio runtime to register the port with",
        ));
    }
    let Some(name) = path.to_str() else {
        return Err(OpenError::new(
            path,
            OpenErrorKind::InvalidSettings,
            "the path is not valid UTF-8",
        ));
    };
    let builder = tokio_serial::new(name, settings.baud)
        .data_bits(settings.data_bits.into())
        .parity(settings.parity.into())
        .stop_bits(settings.stop_bits.into())
        .flow_control(settings.flow_control.into());
    let port = builder
        .open_native_async()
        .map_err(|e| OpenError::new(path, classify(&e), e.description))?;
    port.clear(ClearBuffer::Input).map_err(|e| {
        OpenError::new(
            path,
            OpenErrorKind::Other,
            format!("flushing stale input failed: {}", e.description),
        )
    })?;
    Ok(SerialIo::new(port))
}

/// The device a path leads to (a by-id link resolved), for messages; the path itself when it
/// cannot be resolved.
pub fn resolve_device(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_serial::ErrorKind as K;

    #[test]
    fn classifies_serialport_errors() {
        use std::io::ErrorKind as Io;
        let e = |kind, text: &str| tokio_serial::Error::new(kind, text);
        let cases = [
            (
                e(K::Io(Io::NotFound), "No such file or directory"),
                OpenErrorKind::Missing,
            ),
            (
                e(K::Io(Io::PermissionDenied), "Permission denied"),
                OpenErrorKind::PermissionDenied,
            ),
            (
                e(
                    K::NoDevice,
                    "Unable to acquire exclusive lock on serial port",
                ),
                OpenErrorKind::Busy,
            ),
            (
                e(K::Unknown, "No such device or address"),
                OpenErrorKind::Missing,
            ),
            (e(K::Unknown, "Not a typewriter"), OpenErrorKind::NotSerial),
            (
                e(K::Unknown, "Invalid argument"),
                OpenErrorKind::InvalidSettings,
            ),
            (e(K::Unknown, "Input/output error"), OpenErrorKind::Other),
        ];
        for (err, want) in cases {
            assert_eq!(classify(&err), want, "{err}");
        }
    }

    #[test]
    fn messages_name_the_port_and_the_cause() {
        let err = OpenError::new(
            Path::new("/dev/ttyUSB0"),
            OpenErrorKind::PermissionDenied,
            "Permission denied",
        );
        assert_eq!(
            err.to_string(),
            "cannot open serial port /dev/ttyUSB0: permission denied, the user needs access \
             to the device, e.g. the dialout group (Permission denied)"
        );
        let busy = OpenError::new(Path::new("/dev/ttyS0"), OpenErrorKind::Busy, "locked");
        assert!(busy
            .to_string()
            .contains("busy, another program has it open"));
    }
}
