//! PIN checks at the centre, for benches, consoles and the CLI alike: nobody but the
//! administrator reads `pin_hash`. The caller asks for the salt and cost of the hash
//! (`pb_pin_params`), hashes the typed PIN with them here (the expensive part, on a blocking
//! thread) and sends the result; the centre compares it and counts every wrong one
//! (`pb_pin_check`), so five wrong PINs lock a badge across every bench and console, over
//! restarts, and the lockout is a review item.

use chrono::{DateTime, Utc};

use super::{with_client, Central, CentralError, Result};
use crate::domain::pin::{Pin, PinHash, MAX_FAILURES};

/// The centre's answer to a PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinCheck {
    /// Right. `proof` is the stored hash (the PIN hashed with its salt): a bench keeps it as
    /// its offline copy, a console as the session's credential for reviews.
    Right {
        proof: PinHash,
    },
    /// Wrong: `failures` in a row so far.
    Wrong {
        failures: u32,
        remaining: u32,
    },
    /// This wrong PIN locked the badge.
    LockedNow {
        until: DateTime<Utc>,
    },
    /// Locked already; the PIN was not looked at.
    Locked {
        until: Option<DateTime<Utc>>,
    },
    NoPin,
    Unknown,
    Inactive,
}

impl PinCheck {
    /// A refusal in words, for the CLI and the console's log.
    pub fn refusal(&self, who: &str) -> Option<String> {
        Some(match self {
            PinCheck::Right { .. } => return None,
            PinCheck::Wrong { remaining, .. } => {
                format!("wrong PIN for {who} ({remaining} tries left before the badge locks)")
            }
            PinCheck::LockedNow { until } | PinCheck::Locked { until: Some(until) } => format!(
                "the badge of {who} is locked until {} after {MAX_FAILURES} wrong PINs",
                until.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            PinCheck::Locked { until: None } => format!("the badge of {who} is locked"),
            PinCheck::NoPin => format!("{who} has no PIN (set one with packbench employee pin)"),
            PinCheck::Unknown => format!("{who} is not an employee"),
            PinCheck::Inactive => format!("{who} is no longer active"),
        })
    }
}

const CHECKING: &str = "checking a PIN";

/// What a session's login is to packbench.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// A bench's login, acting as this station.
    Bench(String),
    /// A supervisors' console's login (`central add-console`).
    Console(String),
    /// The administrator: a member of the schema's owner role.
    Administrator,
    /// Anything else.
    Other,
}

impl Central {
    /// The typed PIN's proof for `employee_id`: `None` when the employee has no PIN (or does
    /// not exist). Counts nothing by itself.
    pub async fn pin_proof(&self, employee_id: &str, pin: &Pin) -> Result<Option<PinHash>> {
        let row = with_client!(self, CHECKING, |c| async {
            c.query_one("SELECT pb_pin_params($1) AS params", &[&employee_id])
                .await
                .map_err(|e| self.query_err(CHECKING, e))
        })?;
        let Some(params) = row.get::<_, Option<String>>("params") else {
            return Ok(None);
        };
        let pin = pin.clone();
        let proof = tokio::task::spawn_blocking(move || pin.proof(&params))
            .await
            .map_err(|e| self.data_err(format!("the PIN could not be hashed: {e}")))?
            .map_err(|m| self.data_err(m.to_string()))?;
        Ok(Some(proof))
    }

    /// Which login this connection uses.
    pub async fn login(&self) -> Result<Login> {
        let what = "asking who this login is";
        let row = with_client!(self, what, |c| async {
            c.query_one("SELECT kind, id FROM pb_whoami()", &[])
                .await
                .map_err(|e| self.query_err(what, e))
        })?;
        let id: Option<String> = row.get("id");
        Ok(match (row.get::<_, &str>("kind"), id) {
            ("bench", Some(id)) => Login::Bench(id),
            ("console", Some(id)) => Login::Console(id),
            ("administrator", _) => Login::Administrator,
            _ => Login::Other,
        })
    }

    /// Checks `pin` for `employee_id` at the centre (counted there). A right PIN whose hash
    /// is cheaper than today's is hashed again and replaced.
    pub async fn check_pin(&self, employee_id: &str, pin: &Pin) -> Result<PinCheck> {
        let proof = self.pin_proof(employee_id, pin).await?;
        let outcome = self.check_proof(employee_id, proof.as_ref()).await?;
        let PinCheck::Right { proof } = outcome else {
            return Ok(outcome);
        };
        if !proof.needs_rehash() {
            return Ok(PinCheck::Right { proof });
        }
        let pin = pin.clone();
        let new = tokio::task::spawn_blocking(move || pin.hash())
            .await
            .map_err(|e| self.data_err(format!("the PIN could not be hashed: {e}")))?;
        let what = "replacing a PIN hash with a costlier one";
        let replaced: bool = with_client!(self, what, |c| async {
            c.query_one(
                "SELECT pb_pin_rehash($1, $2, $3) AS replaced",
                &[&employee_id, &proof.as_str(), &new.as_str()],
            )
            .await
            .map_err(|e| self.query_err(what, e))
        })?
        .get("replaced");
        tracing::info!(employee = %employee_id, replaced, "PIN hash re-hashed at today's cost");
        Ok(PinCheck::Right {
            proof: if replaced { new } else { proof },
        })
    }

    /// Checks a proof made earlier (a console's signed-in supervisor).
    pub async fn check_proof(
        &self,
        employee_id: &str,
        proof: Option<&PinHash>,
    ) -> Result<PinCheck> {
        let row = with_client!(self, CHECKING, |c| async {
            c.query_one(
                "SELECT outcome, failures, locked_until FROM pb_pin_check($1, $2)",
                &[&employee_id, &proof.map(|p| p.as_str())],
            )
            .await
            .map_err(|e| self.query_err(CHECKING, e))
        })?;
        let outcome: String = row.get("outcome");
        let failures = row.get::<_, i32>("failures").max(0) as u32;
        let until: Option<DateTime<Utc>> = row.get("locked_until");
        Ok(match outcome.as_str() {
            "ok" => PinCheck::Right {
                proof: proof
                    .cloned()
                    .ok_or_else(|| self.data_err("the centre accepted a PIN it was not sent"))?,
            },
            "wrong" => PinCheck::Wrong {
                failures,
                remaining: MAX_FAILURES.saturating_sub(failures),
            },
            "locked_now" => PinCheck::LockedNow {
                until: until.unwrap_or_else(Utc::now),
            },
            "locked" => PinCheck::Locked { until },
            "no_pin" => PinCheck::NoPin,
            "unknown" => PinCheck::Unknown,
            "inactive" => PinCheck::Inactive,
            other => {
                return Err(self.data_err(format!("unknown PIN check outcome {other:?}")));
            }
        })
    }

    /// A refusal from a review or release function's `outcome` column, or `None` when "ok".
    pub(crate) fn pin_refusal(&self, who: &str, outcome: &str) -> Option<CentralError> {
        let check = match outcome {
            "ok" => return None,
            "wrong" => PinCheck::Wrong {
                failures: 0,
                remaining: 0,
            },
            "locked_now" | "locked" => PinCheck::Locked { until: None },
            "no_pin" => PinCheck::NoPin,
            "unknown" => PinCheck::Unknown,
            _ => PinCheck::Inactive,
        };
        let message = match check {
            PinCheck::Wrong { .. } => format!("wrong PIN for {who}: nothing was changed"),
            c => format!(
                "{}: nothing was changed",
                c.refusal(who).unwrap_or_default()
            ),
        };
        Some(CentralError::Refused {
            db: self.target.db.to_string(),
            message,
        })
    }
}
