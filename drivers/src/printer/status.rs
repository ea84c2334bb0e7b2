//! Real-time status: `DLE EOT n` requests and their one-byte replies.
//!
//! Every reply has the fixed pattern `0xx1xx10` (bit 7 = 0, bit 4 = 1, bit 1 = 1, bit 0 = 0);
//! anything else is not a status byte (stale data, an ASB message, line noise) and is rejected.

use std::fmt;
use thiserror::Error;

/// `DLE EOT n` status classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusRequest {
    /// n = 1: printer status (bit 3 offline).
    Printer = 1,
    /// n = 2: offline cause (cover, feed button, paper end, error).
    OfflineCause = 2,
    /// n = 3: error cause.
    ErrorCause = 3,
    /// n = 4: roll paper sensor (near end, paper out).
    PaperSensor = 4,
}

impl StatusRequest {
    /// The requests asked before and after each job.
    pub const JOB_CHECK: [StatusRequest; 3] = [
        StatusRequest::Printer,
        StatusRequest::OfflineCause,
        StatusRequest::PaperSensor,
    ];

    /// `DLE EOT n`.
    pub const fn command(self) -> [u8; 3] {
        [0x10, 0x04, self as u8]
    }

    pub fn from_n(n: u8) -> Option<Self> {
        match n {
            1 => Some(StatusRequest::Printer),
            2 => Some(StatusRequest::OfflineCause),
            3 => Some(StatusRequest::ErrorCause),
            4 => Some(StatusRequest::PaperSensor),
            _ => None,
        }
    }
}

/// A byte that does not have the `0xx1xx10` status pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("0x{byte:02X} is not a DLE EOT {n} status reply (pattern 0xx1xx10)")]
pub struct BadStatusByte {
    pub n: u8,
    pub byte: u8,
}

/// Bits fixed by the reply pattern.
const PATTERN_MASK: u8 = 0b1001_0011;
const PATTERN_BITS: u8 = 0b0001_0010;

/// The fixed bits of a status reply with no flag set: "all fine" for every `n`.
pub const STATUS_OK: u8 = PATTERN_BITS;

/// Does `byte` have the status reply pattern?
pub fn is_status_byte(byte: u8) -> bool {
    byte & PATTERN_MASK == PATTERN_BITS
}

/// Combined printer state from one or more status replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrinterStatus {
    /// n=1 bit 3.
    pub offline: bool,
    /// n=2 bit 2.
    pub cover_open: bool,
    /// n=2 bit 3: paper is being fed by the feed button.
    pub feed_button: bool,
    /// n=2 bit 5 (printing stopped at paper end) or n=4 bits 5–6.
    pub paper_out: bool,
    /// n=4 bits 2–3.
    pub paper_near_end: bool,
    /// n=2 bit 6, or any n=3 error bit.
    pub error: bool,
    /// n=3 bit 3: auto-cutter error (part of `error`, kept for the reason text).
    pub cutter_error: bool,
}

/// The one condition that matters most, for decisions and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrinterCondition {
    Ready,
    /// Ready, but the roll is nearly used up.
    PaperNearEnd,
    PaperOut,
    CoverOpen,
    Offline,
    Error,
}

impl PrinterCondition {
    /// Stable snake_case name (for JSON lines and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            PrinterCondition::Ready => "ready",
            PrinterCondition::PaperNearEnd => "paper_near_end",
            PrinterCondition::PaperOut => "paper_out",
            PrinterCondition::CoverOpen => "cover_open",
            PrinterCondition::Offline => "offline",
            PrinterCondition::Error => "error",
        }
    }

    /// Can a job be sent?
    pub fn can_print(self) -> bool {
        matches!(
            self,
            PrinterCondition::Ready | PrinterCondition::PaperNearEnd
        )
    }
}

impl fmt::Display for PrinterCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PrinterStatus {
    /// All clear.
    pub const READY: PrinterStatus = PrinterStatus {
        offline: false,
        cover_open: false,
        feed_button: false,
        paper_out: false,
        paper_near_end: false,
        error: false,
        cutter_error: false,
    };

    /// Folds one reply into the status; rejects bytes without the reply pattern.
    pub fn apply(&mut self, request: StatusRequest, byte: u8) -> Result<(), BadStatusByte> {
        if !is_status_byte(byte) {
            return Err(BadStatusByte {
                n: request as u8,
                byte,
            });
        }
        let bit = |n: u8| byte & (1 << n) != 0;
        match request {
            StatusRequest::Printer => self.offline |= bit(3),
            StatusRequest::OfflineCause => {
                self.cover_open |= bit(2);
                self.feed_button |= bit(3);
                self.paper_out |= bit(5);
                self.error |= bit(6);
            }
            StatusRequest::ErrorCause => {
                self.cutter_error |= bit(3);
                self.error |= bit(2) || bit(3) || bit(5) || bit(6);
            }
            StatusRequest::PaperSensor => {
                self.paper_near_end |= bit(2) || bit(3);
                self.paper_out |= bit(5) || bit(6);
            }
        }
        Ok(())
    }

    /// Status from a list of `(request, reply)` pairs.
    pub fn from_replies(replies: &[(StatusRequest, u8)]) -> Result<Self, BadStatusByte> {
        let mut s = PrinterStatus::default();
        for &(req, byte) in replies {
            s.apply(req, byte)?;
        }
        Ok(s)
    }

    /// The most important condition: an open cover and paper out explain being offline, so
    /// they win over it; an error is worse than plain offline.
    pub fn condition(&self) -> PrinterCondition {
        if self.cover_open {
            PrinterCondition::CoverOpen
        } else if self.paper_out {
            PrinterCondition::PaperOut
        } else if self.error {
            PrinterCondition::Error
        } else if self.offline {
            PrinterCondition::Offline
        } else if self.paper_near_end {
            PrinterCondition::PaperNearEnd
        } else {
            PrinterCondition::Ready
        }
    }

    /// True when a job may be sent (paper near end still prints).
    pub fn is_ready(&self) -> bool {
        self.condition().can_print()
    }

    /// A sentence for the operator.
    pub fn reason(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if self.cover_open {
            parts.push("printer cover is open");
        }
        if self.paper_out {
            parts.push("printer is out of paper");
        }
        if self.cutter_error {
            parts.push("auto-cutter error");
        } else if self.error {
            parts.push("printer reports an error");
        }
        if self.offline && parts.is_empty() {
            parts.push("printer is offline");
        }
        if self.feed_button {
            parts.push("feed button is pressed");
        }
        if self.paper_near_end && !self.paper_out {
            parts.push("paper roll is nearly used up");
        }
        if parts.is_empty() {
            "printer is ready".to_owned()
        } else {
            parts.join("; ")
        }
    }
}

impl fmt::Display for PrinterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.condition(), self.reason())
    }
}

/// The reply a printer in `condition` gives to `request` (used by the simulator, and handy to
/// state expectations in tests).
pub fn status_reply(condition: PrinterCondition, request: StatusRequest) -> u8 {
    use PrinterCondition as C;
    use StatusRequest as R;
    let flags = match (condition, request) {
        (C::Ready, _) | (C::PaperNearEnd, R::Printer | R::OfflineCause | R::ErrorCause) => 0,
        (C::PaperNearEnd, R::PaperSensor) => 0x0C,
        // Paper out, an open cover and errors all take the printer offline.
        (C::PaperOut | C::CoverOpen | C::Offline | C::Error, R::Printer) => 0x08,
        (C::PaperOut, R::OfflineCause) => 0x20,
        // An empty roll also trips the near-end sensor.
        (C::PaperOut, R::PaperSensor) => 0x6C,
        (C::CoverOpen, R::OfflineCause) => 0x04,
        (C::Error, R::OfflineCause) => 0x40,
        (C::Error, R::ErrorCause) => 0x20,
        (C::PaperOut | C::CoverOpen | C::Offline, R::ErrorCause)
        | (C::CoverOpen | C::Offline | C::Error, R::PaperSensor)
        | (C::Offline, R::OfflineCause) => 0,
    };
    STATUS_OK | flags
}
