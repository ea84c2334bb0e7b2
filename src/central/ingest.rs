//! Shipping a bench's events to the central log (the bench's SQLite log is the outbox).

use serde::Serialize;

use tokio_postgres::Row;

use super::{with_client, Central, CheckpointHead, Result};
use crate::domain::event::StoredEvent;
use crate::store::row::{FromRow, RowError};

/// One event as a bench sends it: exactly the fields its chain hashed, plus the claim epoch
/// the event was made under (not hashed: it travels beside the event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShipEvent {
    pub seq: i64,
    /// The exact RFC 3339 text that was hashed.
    pub at: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: Option<String>,
    pub station_id: String,
    pub order_no: Option<String>,
    /// The exact JSON text that was hashed.
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
    pub claim_epoch: Option<i64>,
}

impl ShipEvent {
    /// From a row of the bench's log as stored: exactly the texts that were hashed.
    pub fn from_row(r: crate::store::chain::ChainRow, claim_epoch: Option<i64>) -> ShipEvent {
        ShipEvent {
            seq: r.seq,
            at: r.at,
            kind: r.kind,
            actor: r.actor,
            station_id: r.station_id,
            order_no: r.order_no,
            data: r.data,
            prev_hash: r.prev_hash,
            hash: r.hash,
            claim_epoch,
        }
    }

    /// From an event as the bench's log returned it. `prev_hash` is the hash of the event
    /// before it (all zeros for seq 1). The texts are rebuilt exactly as the SQLite store
    /// hashed them (`at` with milliseconds, `data` as serde_json writes the map).
    pub fn from_stored(e: &StoredEvent, prev_hash: &str, claim_epoch: Option<i64>) -> ShipEvent {
        ShipEvent {
            seq: e.seq,
            at: super::fmt_at(&e.at),
            kind: e.kind.as_str().to_string(),
            actor: e.actor.clone(),
            station_id: e.station_id.clone(),
            order_no: e.order_no.clone(),
            data: serde_json::to_string(&e.data).expect("a JSON map always serialises"),
            prev_hash: prev_hash.to_string(),
            hash: e.hash.clone(),
            claim_epoch,
        }
    }
}

/// Why the centre would not take an event. An alarm with the same kind is raised centrally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub seq: i64,
    /// `fork` (different content at a known seq), `gap`, `bad_chain` (wrong prev_hash),
    /// `bad_hash`, `bad_event` (unreadable time or data, missing field).
    pub kind: String,
    pub message: String,
}

/// What the centre did with a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShipOutcome {
    /// The bench's head as the centre now holds it: everything up to here is central.
    pub head_seq: i64,
    pub head_hash: String,
    /// The first event not taken; nothing after it in the batch was applied.
    pub refused: Option<Refusal>,
    /// Events stored but flagged `claim_conflict` (their claim was not, or no longer, the
    /// bench's when they arrived).
    pub flagged: Vec<i64>,
}

/// What a bench reports about itself on each heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BenchReport {
    pub packer_id: Option<String>,
    pub held_order: Option<String>,
    /// Events durable on the bench and not yet central.
    pub backlog: i64,
}

/// A `pb_ingest` row: `status, head_seq, head_hash, refused_seq, alarm_kind, message, flagged`.
impl FromRow<Row> for ShipOutcome {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        let status: String = r.try_get("status")?;
        let refused = if status == "refused" {
            Some(Refusal {
                seq: r.try_get::<_, Option<i64>>("refused_seq")?.unwrap_or(0),
                kind: r
                    .try_get::<_, Option<String>>("alarm_kind")?
                    .unwrap_or_default(),
                message: r
                    .try_get::<_, Option<String>>("message")?
                    .unwrap_or_default(),
            })
        } else {
            None
        };
        Ok(ShipOutcome {
            head_seq: r.try_get("head_seq")?,
            head_hash: r.try_get("head_hash")?,
            refused,
            flagged: r.try_get("flagged")?,
        })
    }
}

impl Central {
    /// Sends events of ONE station, in seq order, in one transaction. The station is the
    /// events' `station_id`; a bench role may only send its own (PostgreSQL refuses others).
    /// An empty batch is an error (it names no station).
    pub async fn ship(&self, events: &[ShipEvent]) -> Result<ShipOutcome> {
        let Some(first) = events.first() else {
            return Err(self.data_err("ship: an empty batch names no station"));
        };
        let station = first.station_id.clone();
        if let Some(other) = events.iter().find(|e| e.station_id != station) {
            return Err(self.data_err(format!(
                "ship: one batch holds events of stations {station} and {}",
                other.station_id
            )));
        }
        let seq: Vec<i64> = events.iter().map(|e| e.seq).collect();
        let at: Vec<&str> = events.iter().map(|e| e.at.as_str()).collect();
        let kind: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        let actor: Vec<Option<&str>> = events.iter().map(|e| e.actor.as_deref()).collect();
        let order: Vec<Option<&str>> = events.iter().map(|e| e.order_no.as_deref()).collect();
        let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        let prev: Vec<&str> = events.iter().map(|e| e.prev_hash.as_str()).collect();
        let hash: Vec<&str> = events.iter().map(|e| e.hash.as_str()).collect();
        let epoch: Vec<Option<i64>> = events.iter().map(|e| e.claim_epoch).collect();
        let row = with_client!(self, "shipping events", |c| async {
            let stmt = c
                .prepare_cached(
                    "SELECT status, head_seq, head_hash, refused_seq, alarm_kind, message, flagged
                     FROM pb_ingest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .await
                .map_err(|e| self.query_err("shipping events", e))?;
            c.query_one(
                &stmt,
                &[
                    &station, &seq, &at, &kind, &actor, &order, &data, &prev, &hash, &epoch,
                ],
            )
            .await
            .map_err(|e| self.query_err("shipping events", e))
        })?;
        let out: ShipOutcome = self.decode(&row)?;
        if let Some(r) = &out.refused {
            tracing::warn!(db = %self.database(), station = %station, seq = r.seq, kind = %r.kind, "{}", r.message);
        }
        Ok(out)
    }

    /// The head the centre holds for a station: (seq, hash), (0, zeros) before its first event.
    /// For the administrator (a bench learns its head from [`Central::ship`]).
    pub async fn head(&self, station: &str) -> Result<(i64, String)> {
        let row = with_client!(self, "reading a bench head", |c| async {
            c.query_opt(
                "SELECT station_id, seq, hash FROM bench_heads WHERE station_id = $1",
                &[&station],
            )
            .await
            .map_err(|e| self.query_err("reading a bench head", e))
        })?;
        Ok(match row {
            Some(r) => {
                let h: CheckpointHead = self.decode(&r)?;
                (h.seq, h.hash)
            }
            None => (0, "0".repeat(64)),
        })
    }

    /// The head the centre holds for this bench's own station: (seq, hash), (0, zeros) before
    /// its first event. What a bench's shipper starts from (`pb_bench_head`, which a bench role
    /// may call for its own station only).
    pub async fn bench_head(&self, station: &str) -> Result<(i64, String)> {
        let what = "reading this bench's head at the centre";
        let row = with_client!(self, what, |c| async {
            c.query_one(
                "SELECT $1::text AS station_id, seq, hash FROM pb_bench_head($1)",
                &[&station],
            )
            .await
            .map_err(|e| self.query_err(what, e))
        })?;
        let h: CheckpointHead = self.decode(&row)?;
        Ok((h.seq, h.hash))
    }

    /// Marks the bench online and records what it reports.
    pub async fn heartbeat(&self, station: &str, report: &BenchReport) -> Result<()> {
        with_client!(self, "sending a heartbeat", |c| async {
            let stmt = c
                .prepare_cached("SELECT pb_heartbeat($1, $2, $3, $4)")
                .await
                .map_err(|e| self.query_err("sending a heartbeat", e))?;
            c.execute(
                &stmt,
                &[
                    &station,
                    &report.packer_id,
                    &report.held_order,
                    &report.backlog,
                ],
            )
            .await
            .map_err(|e| self.query_err("sending a heartbeat", e))
        })?;
        Ok(())
    }
}
