//! Badges, PINs and a supervisor's approval: the events of who may do what.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::grams;
use crate::domain::vocab::{ApprovalReason, AuthPurpose, LapseCause, OverrideReason};

/// A badge was accepted and its PIN is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinRequired {
    pub employee_id: String,
    pub purpose: AuthPurpose,
}

/// A wrong PIN (never the PIN itself): `failures` in a row so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinFailed {
    pub employee_id: String,
    pub purpose: AuthPurpose,
    pub failures: u32,
    pub remaining: u32,
}

/// Too many wrong PINs: the badge is refused until `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadgeLocked {
    pub employee_id: String,
    pub until: String,
}

/// The supervisor is known (badge and, where asked, PIN): the reason is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonRequired {
    pub supervisor_id: String,
    pub cause: OverrideReason,
}

/// An approval that lapsed before its reason: nothing was approved, and the parcel waits for
/// a new one (badge, PIN, reason again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalLapsed {
    pub supervisor_id: String,
    pub cause: LapseCause,
    /// What it would have approved (`weight_mismatch`, `picker_unknown`).
    pub approves: OverrideReason,
    /// The weighing it was for.
    #[serde(deserialize_with = "grams")]
    pub measured_g: f64,
    #[serde(deserialize_with = "grams")]
    pub expected_g: f64,
    /// The PIN had been given (the approval was waiting for its reason).
    pub pin_given: bool,
    /// Seconds from the badge to the lapse.
    pub waited_s: i64,
}

/// A supervisor's approval: who, why (`reason`, the supervisor's choice) and what it
/// settled (`cause`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "OverrideStored")]
pub struct Override {
    pub supervisor_id: String,
    pub reason: ApprovalReason,
    pub cause: OverrideReason,
    pub measured_g: f64,
    pub expected_g: f64,
    pub tolerance_g: f64,
    pub picker_id: Option<String>,
}

/// An override as any log holds it: before reasons were given, `reason` was the cause and
/// there was no `cause`.
#[derive(Deserialize)]
struct OverrideStored {
    supervisor_id: String,
    reason: String,
    #[serde(default)]
    cause: Option<OverrideReason>,
    #[serde(deserialize_with = "grams")]
    measured_g: f64,
    #[serde(deserialize_with = "grams")]
    expected_g: f64,
    #[serde(deserialize_with = "grams")]
    tolerance_g: f64,
    picker_id: Option<String>,
}

/// A stored override whose `reason` names no reason this build knows.
#[derive(Debug, thiserror::Error)]
pub enum OverrideReadError {
    #[error("unknown approval reason {0:?}")]
    ApprovalReason(String),
    #[error("unknown override reason {0:?}")]
    Cause(String),
}

impl TryFrom<OverrideStored> for Override {
    type Error = OverrideReadError;
    fn try_from(o: OverrideStored) -> Result<Override, OverrideReadError> {
        let (reason, cause) = match o.cause {
            Some(cause) => (
                ApprovalReason::parse(&o.reason)
                    .ok_or_else(|| OverrideReadError::ApprovalReason(o.reason.clone()))?,
                cause,
            ),
            None => (
                ApprovalReason::NotGiven,
                serde_json::from_value(Value::String(o.reason.clone()))
                    .map_err(|_| OverrideReadError::Cause(o.reason.clone()))?,
            ),
        };
        Ok(Override {
            supervisor_id: o.supervisor_id,
            reason,
            cause,
            measured_g: o.measured_g,
            expected_g: o.expected_g,
            tolerance_g: o.tolerance_g,
            picker_id: o.picker_id,
        })
    }
}

/// A supervisor's badge opened the supervisor view (reports) at this bench.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisorViewOpened {
    pub supervisor_id: String,
    pub name: String,
}
