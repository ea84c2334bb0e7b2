//! The bench itself and the data it works from: devices, imports, central claims, the log's
//! own alarms.

use serde::{Deserialize, Serialize};

use super::is_false;

/// The station found its log not as it left it (a trigger missing, the chain's tail
/// broken): a supervisor must look before the log is trusted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogAlarm {
    pub problem: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// `scanner`, `scale`, `printer`, ... ([`DeviceKind`] for the ones a bench always has).
    pub device: String,
    pub state: DeviceStatus,
    pub detail: String,
}

/// The devices every bench has; others (`central`, a second scanner) go by their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Scanner,
    Scale,
    Printer,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 3] = [DeviceKind::Scanner, DeviceKind::Scale, DeviceKind::Printer];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Scanner => "scanner",
            DeviceKind::Scale => "scale",
            DeviceKind::Printer => "printer",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A `device` event's state: one enum from the driver's report to the log, the screen and
/// the centre; its serde names are the log's words ([`DeviceStatus::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    Connected,
    Disconnected,
    Error,
    /// The demo station's on-screen scanner and scale.
    Simulated,
}

impl DeviceStatus {
    pub const ALL: [DeviceStatus; 4] = [
        DeviceStatus::Connected,
        DeviceStatus::Disconnected,
        DeviceStatus::Error,
        DeviceStatus::Simulated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Connected => "connected",
            DeviceStatus::Disconnected => "disconnected",
            DeviceStatus::Error => "error",
            DeviceStatus::Simulated => "simulated",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceStatus> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The device cannot be used: the board counts it and the console names it.
    pub fn is_lost(self) -> bool {
        match self {
            DeviceStatus::Disconnected | DeviceStatus::Error => true,
            DeviceStatus::Connected | DeviceStatus::Simulated => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    /// `catalog`, `orders`, `employees` or `packaging`.
    pub kind: String,
    pub file: String,
    pub sha256: String,
    pub rows: usize,
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub cancelled: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderChanged {
    pub old_version: String,
    pub version: String,
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub file: String,
}

/// This bench opened the order and holds it (central claims).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderClaimed {
    /// The central claim's epoch; `null` when opened offline, unclaimed.
    pub claim_epoch: Option<i64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub offline: bool,
}

/// A claim ended by someone other than the bench's own flow (a supervisor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimReleased {
    pub by: String,
    pub reason: String,
}

/// An order packed at two benches while they were offline: for a supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimConflict {
    pub stations: Vec<String>,
}

/// A supervisor marked a review-queue item (`STATION:SEQ` or `alarm:ID`) reviewed; on the
/// centre's chain only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewed {
    pub item: String,
    pub note: String,
}
