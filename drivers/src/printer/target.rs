//! Where a label goes: `tcp://host:port`, `serial:///dev/ttyX?baud=19200`, `file:///path`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use thiserror::Error;

/// Raw printing port of network receipt printers (JetDirect / "port 9100").
pub const DEFAULT_TCP_PORT: u16 = 9100;
/// Factory baud rate of most serial receipt printers.
pub const DEFAULT_BAUD: u32 = 9600;

/// A parsed printer target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTarget {
    /// Raw TCP; `host` is a name or an IP (IPv6 without brackets).
    Tcp { host: String, port: u16 },
    /// Serial port device path and baud rate (8N1).
    Serial { path: PathBuf, baud: u32 },
    /// Append the bytes to a file (created if missing): tests, demos, `/dev/usb/lp0`.
    File { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    #[error("printer target {0:?} has no scheme: use tcp://host:port, serial:///dev/ttyX?baud=N or file:///path")]
    MissingScheme(String),
    #[error("printer target scheme {0:?} is not supported: use tcp, serial or file")]
    UnknownScheme(String),
    #[error("printer target {0:?} has no host")]
    MissingHost(String),
    #[error("printer target {target:?}: bad port {port:?} (1-65535)")]
    BadPort { target: String, port: String },
    #[error("printer target {target:?}: bad baud rate {baud:?}")]
    BadBaud { target: String, baud: String },
    #[error("printer target {0:?}: the path must be absolute (three slashes: scheme:///path)")]
    RelativePath(String),
    #[error("printer target {target:?}: unknown option {option:?}")]
    UnknownOption { target: String, option: String },
}

impl PrinterTarget {
    /// Parses a target string; each mistake gets its own error naming the target.
    pub fn parse(s: &str) -> Result<Self, TargetError> {
        let s = s.trim();
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(TargetError::MissingScheme(s.to_owned()));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "tcp" => parse_tcp(s, rest),
            "serial" => parse_serial(s, rest),
            "file" => parse_file(s, rest),
            _ => Err(TargetError::UnknownScheme(scheme.to_owned())),
        }
    }

    /// Short kind name: "tcp", "serial" or "file".
    pub fn scheme(&self) -> &'static str {
        match self {
            PrinterTarget::Tcp { .. } => "tcp",
            PrinterTarget::Serial { .. } => "serial",
            PrinterTarget::File { .. } => "file",
        }
    }
}

fn parse_tcp(s: &str, rest: &str) -> Result<PrinterTarget, TargetError> {
    let rest = rest.trim_end_matches('/');
    if rest.contains(['/', '?']) {
        return Err(TargetError::UnknownOption {
            target: s.to_owned(),
            option: rest.to_owned(),
        });
    }
    // [v6]:port, [v6], host:port, host
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let Some((h, after)) = v6.split_once(']') else {
            return Err(TargetError::MissingHost(s.to_owned()));
        };
        match after {
            "" => (h, None),
            p => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => {
                    return Err(TargetError::BadPort {
                        target: s.to_owned(),
                        port: p.to_owned(),
                    })
                }
            },
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(TargetError::MissingHost(s.to_owned()));
    }
    let port = match port {
        None => DEFAULT_TCP_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(TargetError::BadPort {
                    target: s.to_owned(),
                    port: p.to_owned(),
                })
            }
        },
    };
    Ok(PrinterTarget::Tcp {
        host: host.to_owned(),
        port,
    })
}

fn parse_serial(s: &str, rest: &str) -> Result<PrinterTarget, TargetError> {
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if !path.starts_with('/') || path.len() < 2 {
        return Err(TargetError::RelativePath(s.to_owned()));
    }
    let mut baud = DEFAULT_BAUD;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        match pair.split_once('=') {
            Some(("baud", v)) => {
                baud = match v.parse::<u32>() {
                    Ok(b) if (300..=4_000_000).contains(&b) => b,
                    _ => {
                        return Err(TargetError::BadBaud {
                            target: s.to_owned(),
                            baud: v.to_owned(),
                        })
                    }
                }
            }
            _ => {
                return Err(TargetError::UnknownOption {
                    target: s.to_owned(),
                    option: pair.to_owned(),
                })
            }
        }
    }
    Ok(PrinterTarget::Serial {
        path: PathBuf::from(path),
        baud,
    })
}

fn parse_file(s: &str, rest: &str) -> Result<PrinterTarget, TargetError> {
    // `file://localhost/path` is the long form of `file:///path`.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if path.contains('?') {
        return Err(TargetError::UnknownOption {
            target: s.to_owned(),
            option: path.split_once('?').map(|x| x.1).unwrap_or("").to_owned(),
        });
    }
    if !path.starts_with('/') || path.len() < 2 {
        return Err(TargetError::RelativePath(s.to_owned()));
    }
    Ok(PrinterTarget::File {
        path: PathBuf::from(path),
    })
}

impl FromStr for PrinterTarget {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PrinterTarget::parse(s)
    }
}

impl fmt::Display for PrinterTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrinterTarget::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            PrinterTarget::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            PrinterTarget::Serial { path, baud } => {
                write!(f, "serial://{}?baud={baud}", path.display())
            }
            PrinterTarget::File { path } => write!(f, "file://{}", path.display()),
        }
    }
}
