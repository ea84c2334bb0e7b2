//! Claims: which bench holds which order. One compare-and-set per claim (`pb_claim`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::read::history_sql;
use super::{with_client, Central, CentralEvent, Result};
use crate::store::row::{FromRow, RowError};

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ClaimOutcome {
    /// The order is this bench's under `claim_epoch` (the same epoch again when the bench
    /// already held it).
    Granted {
        claim_epoch: i64,
        since: DateTime<Utc>,
    },
    /// Another bench holds it: the refusal's `held_by`, `held_by_packer` and `since`.
    HeldElsewhere {
        held_by: String,
        held_by_packer: Option<String>,
        since: DateTime<Utc>,
    },
    /// A bench already packed it (its `order_packed` reached the centre).
    Packed {
        packed_by: Option<String>,
        at: Option<DateTime<Utc>>,
    },
}

/// The answer to a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseOutcome {
    /// False when the order was not held (by this bench, for a bench's release).
    pub released: bool,
    pub held_by: Option<String>,
    pub held_by_packer: Option<String>,
    pub claim_epoch: Option<i64>,
    pub since: Option<DateTime<Utc>>,
}

/// Columns `released, station_id, packer_id, claim_epoch, since` (of `pb_release`).
impl FromRow<Row> for ReleaseOutcome {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        Ok(ReleaseOutcome {
            released: r.try_get("released")?,
            held_by: r.try_get("station_id")?,
            held_by_packer: r.try_get("packer_id")?,
            claim_epoch: r.try_get("claim_epoch")?,
            since: r.try_get("since")?,
        })
    }
}

/// A `pb_claim` row (`granted, claim_epoch, held_by, held_by_packer, since, packed`) as its
/// outcome.
impl FromRow<Row> for ClaimOutcome {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        let granted: bool = r.try_get("granted")?;
        let packed: bool = r.try_get("packed")?;
        Ok(if granted {
            ClaimOutcome::Granted {
                claim_epoch: r.try_get("claim_epoch")?,
                since: r.try_get("since")?,
            }
        } else if packed {
            ClaimOutcome::Packed {
                packed_by: r.try_get("held_by")?,
                at: r.try_get("since")?,
            }
        } else {
            ClaimOutcome::HeldElsewhere {
                held_by: r.try_get("held_by")?,
                held_by_packer: r.try_get("held_by_packer")?,
                since: r.try_get("since")?,
            }
        })
    }
}

impl Central {
    /// Claims `order_no` for `station` (a bench role may claim only for its own station).
    /// `lease`: how long the claim holds without being renewed by claiming again; `None`
    /// holds it until released or packed.
    pub async fn claim(
        &self,
        station: &str,
        order_no: &str,
        packer_id: Option<&str>,
        lease: Option<Duration>,
    ) -> Result<ClaimOutcome> {
        let lease_ms: Option<i64> = lease.map(|d| d.as_millis().min(i64::MAX as u128) as i64);
        let row = with_client!(self, CLAIMING, |c| async {
            let stmt = c
                .prepare_cached(CLAIM_SQL)
                .await
                .map_err(|e| self.query_err(CLAIMING, e))?;
            c.query_one(&stmt, &[&station, &order_no, &packer_id, &lease_ms])
                .await
                .map_err(|e| self.query_err(CLAIMING, e))
        })?;
        self.decode(&row)
    }

    /// A bench opening an order: the claim (held until released or packed) and, when it is
    /// granted, the order's events from other benches (`pb_order_history`), in one
    /// round trip. Both statements go out together and the centre runs them in order, so
    /// the history is read under the claim just granted; after a refusal it is an error
    /// there (the bench does not hold the order) and is not wanted.
    pub async fn claim_with_history(
        &self,
        station: &str,
        order_no: &str,
        packer_id: Option<&str>,
    ) -> Result<(ClaimOutcome, Vec<CentralEvent>)> {
        let lease_ms: Option<i64> = None;
        let history_query = history_sql("pb_order_history");
        let (claimed, history) = with_client!(self, CLAIMING, |c| async {
            let (claim, history) = tokio::try_join!(
                c.prepare_cached(CLAIM_SQL),
                c.prepare_cached(&history_query)
            )
            .map_err(|e| self.query_err(CLAIMING, e))?;
            let claim_args: [&(dyn ToSql + Sync); 4] = [&station, &order_no, &packer_id, &lease_ms];
            let history_args: [&(dyn ToSql + Sync); 2] = [&station, &order_no];
            // `biased`: polled in this order, so the claim is sent first and the centre reads
            // the history under it.
            let answers = tokio::join!(
                biased;
                c.query_one(&claim, &claim_args),
                c.query(&history, &history_args),
            );
            Ok(answers)
        })?;
        let outcome: ClaimOutcome =
            self.decode(&claimed.map_err(|e| self.query_err(CLAIMING, e))?)?;
        let history = match outcome {
            ClaimOutcome::Granted { .. } => {
                self.decode_all(&history.map_err(|e| self.query_err(READING_HISTORY, e))?)?
            }
            _ => Vec::new(),
        };
        Ok((outcome, history))
    }

    /// The holder gives an order back (held, signed out with it open, ...).
    pub async fn release(
        &self,
        station: &str,
        order_no: &str,
        by: &str,
        reason: &str,
    ) -> Result<ReleaseOutcome> {
        let row = with_client!(self, "releasing a claim", |c| async {
            let stmt = c
                .prepare_cached(
                    "SELECT released, station_id, packer_id, claim_epoch, since
                     FROM pb_release($1, $2, $3, $4)",
                )
                .await
                .map_err(|e| self.query_err("releasing a claim", e))?;
            c.query_one(&stmt, &[&station, &order_no, &by, &reason])
                .await
                .map_err(|e| self.query_err("releasing a claim", e))
        })?;
        self.decode(&row)
    }

    /// `packbench central release`: frees an order whoever holds it. `by` must be an employee
    /// with the supervisor role; a `claim_released` event (by, reason, held_by) goes on the
    /// centre's chain. Administrators only: bench roles may not call it.
    pub async fn supervisor_release(
        &self,
        order_no: &str,
        by: &str,
        proof: Option<&crate::domain::pin::PinHash>,
        reason: &str,
    ) -> Result<ReleaseOutcome> {
        let proof = proof.map(|p| p.as_str());
        let row = with_client!(self, "releasing a claim", |c| async {
            c.query_one(
                "SELECT released, station_id, packer_id, claim_epoch, since, outcome
                 FROM pb_supervisor_release($1, $2, $3, $4)",
                &[&order_no, &by, &proof, &reason],
            )
            .await
            .map_err(|e| self.query_err("releasing a claim", e))
        })?;
        let outcome: &str = row
            .try_get("outcome")
            .map_err(|e| self.query_err("releasing a claim", e))?;
        if let Some(e) = self.pin_refusal(by, outcome) {
            return Err(e);
        }
        self.decode(&row)
    }
}

const CLAIMING: &str = "claiming an order";
const READING_HISTORY: &str = "reading the order's history";
const CLAIM_SQL: &str = "SELECT granted, claim_epoch, held_by, held_by_packer, since, packed
                         FROM pb_claim($1, $2, $3, $4)";
