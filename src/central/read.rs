//! The supervisor's side: bench status, audit queries across benches, alarms, verification of
//! every bench chain, and checkpoints over all bench heads.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use futures_util::{pin_mut, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::schema::CENTRAL_STATION;
use super::{fmt_at, with_client, Central, CentralError, Result};
use crate::domain::event::{EventType, StoredEvent};
use crate::store::chain::{self, ChainRow, EventFields, GENESIS};
use crate::store::row::{FromRow, RowError};
use crate::store::{EventFilter, VerifyError};

/// One bench as the centre sees it (`packbench central status`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchState {
    pub station_id: String,
    /// Has a database role (`central add-bench`).
    pub registered: bool,
    pub online: bool,
    pub last_seen: Option<DateTime<Utc>>,
    /// The last event the centre holds from it.
    pub head_seq: i64,
    pub head_hash: String,
    /// Events not yet synced, as the bench last reported.
    pub backlog: Option<i64>,
    pub packer_id: Option<String>,
    /// The order it holds a claim on (the latest, if several) and since when.
    pub held_order: Option<String>,
    pub held_since: Option<DateTime<Utc>>,
    pub open_alarms: i64,
}

/// An event of the central log, with the bench that made it (`station_id`). The type is
/// kept as text so events of types this build does not know (a newer bench) still read;
/// [`CentralEvent::stored`] gives the station's own event shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CentralEvent {
    pub station_id: String,
    pub seq: i64,
    pub at: DateTime<FixedOffset>,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: Option<String>,
    pub order_no: Option<String>,
    pub data: Map<String, Value>,
    pub hash: String,
    pub claim_epoch: Option<i64>,
    /// Stored with a `claim_conflict` alarm.
    pub flagged: bool,
    pub received_at: DateTime<Utc>,
}

impl CentralEvent {
    /// As a [`StoredEvent`]; `None` when this build does not know the event's type.
    pub fn stored(&self) -> Option<StoredEvent> {
        Some(StoredEvent {
            seq: self.seq,
            at: self.at,
            kind: EventType::parse(&self.kind)?,
            actor: self.actor.clone(),
            station_id: self.station_id.clone(),
            order_no: self.order_no.clone(),
            data: self.data.clone(),
            hash: self.hash.clone(),
        })
    }

    /// A text field by name, for tests asserting on the log as written; the code reads
    /// typed payloads through [`CentralEvent::stored`].
    #[cfg(any(test, feature = "testing"))]
    pub fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }
}

/// Something a supervisor must look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    pub id: i64,
    /// `fork`, `gap`, `bad_chain`, `bad_hash`, `bad_event` or `claim_conflict`.
    pub kind: String,
    pub station_id: Option<String>,
    pub seq: Option<i64>,
    pub order_no: Option<String>,
    pub message: String,
    pub detail: Value,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub count: i32,
    pub acknowledged: bool,
}

/// One bench head in a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointHead {
    pub station_id: String,
    pub seq: i64,
    pub hash: String,
}

/// A commitment to every bench's head, chained to the previous one; keep the JSON off the
/// server (`central checkpoint --out FILE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentralCheckpoint {
    pub id: i64,
    pub created_at: String,
    /// Sorted by station.
    pub heads: Vec<CheckpointHead>,
    /// sha256 over the sorted heads.
    pub root: String,
    /// The previous checkpoint's hash (zeros for the first).
    pub prev_hash: String,
    /// sha256(prev_hash, id, created_at, root).
    pub hash: String,
}

fn put_field(h: &mut Sha256, s: &str) {
    h.update([1u8]);
    h.update((s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

fn hash_bytes(s: &str) -> [u8; 32] {
    chain::parse_hash(s).unwrap_or([0xff; 32])
}

impl CentralCheckpoint {
    /// sha256 over each head: station (length-prefixed), seq (8 bytes BE), hash (32 bytes).
    pub fn root_of(heads: &[CheckpointHead]) -> String {
        let mut h = Sha256::new();
        for x in heads {
            put_field(&mut h, &x.station_id);
            h.update(x.seq.to_be_bytes());
            h.update(hash_bytes(&x.hash));
        }
        hex::encode(h.finalize())
    }

    pub fn hash_of(prev_hash: &str, id: i64, created_at: &str, root: &str) -> String {
        let mut h = Sha256::new();
        h.update(hash_bytes(prev_hash));
        h.update(id.to_be_bytes());
        put_field(&mut h, created_at);
        h.update(hash_bytes(root));
        hex::encode(h.finalize())
    }

    /// True when root and hash match the checkpoint's own contents (the file was not edited).
    pub fn is_consistent(&self) -> bool {
        let mut sorted = self.heads.clone();
        sorted.sort_by(|a, b| a.station_id.cmp(&b.station_id));
        // Hex in capitals (a file copied by hand) is the same hex.
        let root = self.root.to_ascii_lowercase();
        sorted == self.heads
            && Self::root_of(&self.heads) == root
            && Self::hash_of(
                &self.prev_hash.to_ascii_lowercase(),
                self.id,
                &self.created_at,
                &root,
            )
            .eq_ignore_ascii_case(&self.hash)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serialisable")
    }

    pub fn from_json(s: &str) -> std::result::Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| CentralError::File {
            file: path.display().to_string(),
            message: format!("cannot be read: {e}"),
        })?;
        Self::from_json(&text).map_err(|e| CentralError::File {
            file: path.display().to_string(),
            message: format!("is not a central checkpoint: {e}"),
        })
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_json() + "\n").map_err(|e| CentralError::File {
            file: path.display().to_string(),
            message: format!("cannot be written: {e}"),
        })
    }
}

/// The first thing `verify` found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum CentralVerifyError {
    /// A bench chain is broken (changed, missing, moved event; checkpoint not matched).
    Event {
        station_id: String,
        #[serde(skip)]
        error: VerifyError,
        seq: i64,
        message: String,
    },
    /// The checkpoint file does not match its own root or hash: it was edited.
    CheckpointFile { message: String },
    /// The checkpoints stored centrally do not chain, or the file's checkpoint is not (or no
    /// longer) among them.
    CheckpointChain { id: i64, message: String },
}

impl CentralVerifyError {
    fn event(station_id: &str, error: VerifyError) -> Self {
        let seq = match &error {
            VerifyError::Changed { seq }
            | VerifyError::Missing { seq }
            | VerifyError::Broken { seq }
            | VerifyError::CheckpointMismatch { seq } => *seq,
            VerifyError::Truncated { have, .. } => *have + 1,
        };
        CentralVerifyError::Event {
            station_id: station_id.to_string(),
            message: format!("station {station_id}: {error}"),
            error,
            seq,
        }
    }

    /// The bench and event named, when the problem is an event.
    pub fn station_seq(&self) -> Option<(&str, i64)> {
        match self {
            CentralVerifyError::Event {
                station_id, seq, ..
            } => Some((station_id, *seq)),
            _ => None,
        }
    }
}

impl std::fmt::Display for CentralVerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CentralVerifyError::Event { message, .. }
            | CentralVerifyError::CheckpointFile { message }
            | CentralVerifyError::CheckpointChain { message, .. } => f.write_str(message),
        }
    }
}

/// A bench chain as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationSummary {
    pub station_id: String,
    pub events: i64,
    pub head_seq: i64,
    pub head_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CentralVerifyReport {
    pub events: i64,
    pub stations: Vec<StationSummary>,
    /// Checkpoints stored centrally (their chain was checked).
    pub checkpoints: i64,
    pub error: Option<CentralVerifyError>,
}

fn slice_iter<'a>(
    s: &'a [&'a (dyn ToSql + Sync)],
) -> impl ExactSizeIterator<Item = &'a dyn ToSql> + 'a {
    s.iter().map(|s| *s as _)
}

const EVENT_COLUMNS: &str =
    "station_id, seq, at, type, actor, order_no, data, hash, claim_epoch, flagged, received_at";

/// The query of one of the bench functions that return an order's events from other benches.
pub(super) fn history_sql(function: &str) -> String {
    format!("SELECT {EVENT_COLUMNS} FROM {function}($1, $2)")
}

/// Columns [`EVENT_COLUMNS`].
impl FromRow<Row> for CentralEvent {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        let station_id: String = r.try_get("station_id")?;
        let seq: i64 = r.try_get("seq")?;
        let bad =
            |what: String| RowError::Data(format!("station {station_id} event {seq}: {what}"));
        let at: String = r.try_get("at")?;
        let data: String = r.try_get("data")?;
        Ok(CentralEvent {
            at: DateTime::parse_from_rfc3339(&at).map_err(|e| bad(format!("time {at:?}: {e}")))?,
            kind: r.try_get("type")?,
            actor: r.try_get("actor")?,
            order_no: r.try_get("order_no")?,
            data: serde_json::from_str::<Map<String, Value>>(&data)
                .map_err(|e| bad(format!("data: {e}")))?,
            hash: r.try_get("hash")?,
            claim_epoch: r.try_get("claim_epoch")?,
            flagged: r.try_get("flagged")?,
            received_at: r.try_get("received_at")?,
            station_id,
            seq,
        })
    }
}

/// An order another bench holds now (`pb_held_orders`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldOrder {
    pub order_no: String,
    pub station_id: String,
    pub packer_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

impl FromRow<Row> for HeldOrder {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        Ok(HeldOrder {
            order_no: r.try_get("order_no")?,
            station_id: r.try_get("station_id")?,
            packer_id: r.try_get("packer_id")?,
            since: r.try_get("since")?,
        })
    }
}

impl FromRow<Row> for BenchState {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        Ok(BenchState {
            station_id: r.try_get("station_id")?,
            registered: r.try_get("registered")?,
            online: r.try_get("online")?,
            last_seen: r.try_get("last_seen")?,
            head_seq: r.try_get("head_seq")?,
            head_hash: r.try_get("head_hash")?,
            backlog: r.try_get("backlog")?,
            packer_id: r.try_get("packer_id")?,
            held_order: r.try_get("held_order")?,
            held_since: r.try_get("held_since")?,
            open_alarms: r.try_get("open_alarms")?,
        })
    }
}

impl FromRow<Row> for Alarm {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        Ok(Alarm {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            station_id: r.try_get("station_id")?,
            seq: r.try_get("seq")?,
            order_no: r.try_get("order_no")?,
            message: r.try_get("message")?,
            detail: r.try_get("detail")?,
            first_at: r.try_get("first_at")?,
            last_at: r.try_get("last_at")?,
            count: r.try_get("count")?,
            acknowledged: r.try_get("acknowledged")?,
        })
    }
}

/// Columns `station_id, seq, hash` (of `bench_heads`).
impl FromRow<Row> for CheckpointHead {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        Ok(CheckpointHead {
            station_id: r.try_get("station_id")?,
            seq: r.try_get("seq")?,
            hash: r.try_get("hash")?,
        })
    }
}

/// Columns `id, created_at, heads` (JSON), `root, prev_hash, hash` (of `checkpoints`).
impl FromRow<Row> for CentralCheckpoint {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        Ok(CentralCheckpoint {
            id: r.try_get("id")?,
            created_at: r.try_get("created_at")?,
            // Heads that do not read make the checkpoint inconsistent, which verify reports.
            heads: serde_json::from_value(r.try_get::<_, Value>("heads")?).unwrap_or_default(),
            root: r.try_get("root")?,
            prev_hash: r.try_get("prev_hash")?,
            hash: r.try_get("hash")?,
        })
    }
}

impl Central {
    /// Another bench's events of a packed order, for a return checked in here (empty while
    /// the order is not packed).
    pub async fn packed_history(&self, station: &str, order_no: &str) -> Result<Vec<CentralEvent>> {
        self.history_of(
            "reading a packed order's history",
            "pb_packed_history",
            station,
            order_no,
        )
        .await
    }

    /// One of the bench functions that return an order's events from other benches.
    async fn history_of(
        &self,
        what: &'static str,
        function: &'static str,
        station: &str,
        order_no: &str,
    ) -> Result<Vec<CentralEvent>> {
        let rows = with_client!(self, what, |c| async {
            let stmt = c
                .prepare_cached(&history_sql(function))
                .await
                .map_err(|e| self.query_err(what, e))?;
            c.query(&stmt, &[&station, &order_no])
                .await
                .map_err(|e| self.query_err(what, e))
        })?;
        self.decode_all(&rows)
    }

    /// Orders benches hold now.
    pub async fn held_orders(&self) -> Result<Vec<HeldOrder>> {
        let what = "reading held orders";
        let rows = with_client!(self, what, |c| async {
            c.query(
                "SELECT order_no, station_id, packer_id, since FROM pb_held_orders()",
                &[],
            )
            .await
            .map_err(|e| self.query_err(what, e))
        })?;
        self.decode_all(&rows)
    }

    /// Every bench (and every station that ever sent an event), sorted by station.
    /// `online_within`: seen (event, heartbeat) this recently counts as online.
    pub async fn status(&self, online_within: Duration) -> Result<Vec<BenchState>> {
        let client = self.client().await?;
        let secs = online_within.as_secs_f64();
        let rows = client
            .query(
                "SELECT s.station_id, r.role_name IS NOT NULL AS registered,
                        coalesce(h.last_seen > now() - make_interval(secs => $1), false) AS online,
                        h.last_seen, coalesce(h.seq, 0) AS head_seq,
                        coalesce(h.hash, repeat('0', 64)) AS head_hash,
                        h.backlog, h.packer_id, c.order_no AS held_order, c.since AS held_since,
                        (SELECT count(*) FROM alarms a WHERE a.station_id = s.station_id AND NOT a.acknowledged)
                            AS open_alarms
                 FROM (SELECT station_id FROM bench_heads UNION SELECT station_id FROM bench_roles) s
                 LEFT JOIN bench_heads h USING (station_id)
                 LEFT JOIN bench_roles r USING (station_id)
                 LEFT JOIN LATERAL (SELECT cl.order_no, cl.since FROM claims cl
                                    WHERE cl.station_id = s.station_id AND NOT cl.released
                                    ORDER BY cl.since DESC LIMIT 1) c ON true
                 WHERE s.station_id <> $2
                 ORDER BY s.station_id",
                &[&secs, &CENTRAL_STATION],
            )
            .await
            .map_err(|e| self.query_err("reading bench status", e))?;
        self.decode_all(&rows)
    }

    /// Events matching the filter across all benches, ordered by time, then station and seq;
    /// `f` may stop the walk by returning false. `after_seq` applies per station.
    pub async fn scan_events(
        &self,
        filter: &EventFilter,
        f: &mut (dyn FnMut(CentralEvent) -> bool + Send),
    ) -> Result<()> {
        let what = "reading events";
        let client = self.client().await?;
        let types: Vec<String> = filter.types.iter().map(|t| t.to_string()).collect();
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE ($1::timestamptz IS NULL OR at_ts >= $1)
               AND ($2::timestamptz IS NULL OR at_ts <= $2)
               AND ($3::text IS NULL OR order_no = $3)
               AND (cardinality($4::text[]) = 0 OR type = ANY ($4))
               AND ($5::text IS NULL OR station_id = $5)
               AND ($6::bigint IS NULL OR seq > $6)
             ORDER BY at_ts, station_id, seq"
        );
        let params: [&(dyn ToSql + Sync); 6] = [
            &filter.from,
            &filter.to,
            &filter.order_no,
            &types,
            &filter.station_id,
            &filter.after_seq,
        ];
        let stream = client
            .query_raw(sql.as_str(), slice_iter(&params))
            .await
            .map_err(|e| self.query_err(what, e))?;
        pin_mut!(stream);
        while let Some(r) = stream
            .try_next()
            .await
            .map_err(|e| self.query_err(what, e))?
        {
            if !f(self.decode(&r)?) {
                break;
            }
        }
        Ok(())
    }

    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<CentralEvent>> {
        let mut out = Vec::new();
        self.scan_events(filter, &mut |e| {
            out.push(e);
            true
        })
        .await?;
        Ok(out)
    }

    /// Every event of an order, given its order number or waybill number, from every bench
    /// and the centre, in time order (then station, seq).
    pub async fn order_events(&self, code: &str) -> Result<Vec<CentralEvent>> {
        let client = self.client().await?;
        let order_no: String = client
            .query_opt(
                "SELECT order_no FROM orders WHERE order_no = $1
                 UNION ALL SELECT order_no FROM orders WHERE waybill_no = $1 AND order_no <> $1
                 LIMIT 1",
                &[&code],
            )
            .await
            .map_err(|e| self.query_err("finding the order", e))?
            .map(|r| r.try_get("order_no"))
            .transpose()
            .map_err(|e| self.query_err("finding the order", e))?
            .unwrap_or_else(|| code.to_string());
        drop(client);
        self.events(&EventFilter {
            order_no: Some(order_no),
            ..Default::default()
        })
        .await
    }

    /// Alarms, newest first; acknowledged ones only when asked.
    pub async fn alarms(&self, include_acknowledged: bool) -> Result<Vec<Alarm>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, kind, station_id, seq, order_no, message, detail, first_at, last_at, count,
                        acknowledged
                 FROM alarms WHERE $1 OR NOT acknowledged ORDER BY id DESC",
                &[&include_acknowledged],
            )
            .await
            .map_err(|e| self.query_err("reading alarms", e))?;
        self.decode_all(&rows)
    }

    /// Marks an alarm as seen; it comes back if the problem recurs.
    pub async fn acknowledge_alarm(&self, id: i64) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE alarms SET acknowledged = true WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(|e| self.query_err("acknowledging an alarm", e))?;
        Ok(n == 1)
    }

    /// Records a checkpoint over every bench head (the centre's own chain included), chained
    /// to the previous checkpoint, and returns it.
    pub async fn checkpoint(&self) -> Result<CentralCheckpoint> {
        let what = "making a checkpoint";
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| self.query_err(what, e))?;
        let err = |e| self.query_err(what, e);
        // One checkpoint at a time, so ids and prev hashes form one chain.
        tx.batch_execute("LOCK TABLE checkpoints IN EXCLUSIVE MODE")
            .await
            .map_err(err)?;
        let last = tx
            .query_opt(
                "SELECT id, hash FROM checkpoints ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(err)?;
        let (id, prev_hash) = match last {
            Some(r) => {
                let id: i64 = r.try_get("id").map_err(err)?;
                (id + 1, r.try_get::<_, String>("hash").map_err(err)?)
            }
            None => (1, hex::encode(GENESIS)),
        };
        let heads: Vec<CheckpointHead> = self.decode_all(
            &tx.query(
                "SELECT station_id, seq, hash FROM bench_heads WHERE seq > 0 ORDER BY station_id COLLATE \"C\"",
                &[],
            )
            .await
            .map_err(err)?,
        )?;
        let created_at = fmt_at(&Utc::now().fixed_offset());
        let root = CentralCheckpoint::root_of(&heads);
        let hash = CentralCheckpoint::hash_of(&prev_hash, id, &created_at, &root);
        let cp = CentralCheckpoint {
            id,
            created_at,
            heads,
            root,
            prev_hash,
            hash,
        };
        let heads_json = serde_json::to_value(&cp.heads).expect("serialisable");
        tx.execute(
            "INSERT INTO checkpoints (id, created_at, heads, root, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &cp.id,
                &cp.created_at,
                &heads_json,
                &cp.root,
                &cp.prev_hash,
                &cp.hash,
            ],
        )
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(cp)
    }

    /// `packbench central verify --checkpoint FILE`: [`Central::verify`] against a
    /// checkpoint file written by [`CentralCheckpoint::write`].
    pub async fn verify_checkpoint_file(&self, path: &Path) -> Result<CentralVerifyReport> {
        let cp = CentralCheckpoint::read(path)?;
        self.verify(Some(&cp)).await
    }

    /// Walks every bench chain recomputing each hash, checks each chain ends at the head the
    /// centre recorded, checks the stored checkpoints chain, and, given a checkpoint (kept
    /// off the server), proves nothing up to it was removed or rewritten. Reports the first
    /// problem found (stations in order).
    pub async fn verify(
        &self,
        checkpoint: Option<&CentralCheckpoint>,
    ) -> Result<CentralVerifyReport> {
        let what = "verifying the central log";
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| self.query_err(what, e))?;
        let err = |e| self.query_err(what, e);
        let mut report = CentralVerifyReport {
            events: 0,
            stations: Vec::new(),
            checkpoints: 0,
            error: None,
        };

        if let Some(cp) = checkpoint {
            if !cp.is_consistent() {
                report.error = Some(CentralVerifyError::CheckpointFile {
                    message: format!(
                        "checkpoint {} does not match its own root and hash: the file was edited",
                        cp.id
                    ),
                });
                return Ok(report);
            }
        }

        // The stored checkpoints must chain.
        let mut prev = hex::encode(GENESIS);
        let mut expect_id = 1i64;
        for r in tx
            .query(
                "SELECT id, created_at, heads, root, prev_hash, hash FROM checkpoints ORDER BY id",
                &[],
            )
            .await
            .map_err(err)?
        {
            let stored: CentralCheckpoint = self.decode(&r)?;
            let id = stored.id;
            let problem = if id != expect_id {
                Some(format!("central checkpoint {expect_id} is missing"))
            } else if stored.prev_hash != prev || !stored.is_consistent() {
                Some(format!("central checkpoint {id} was changed"))
            } else {
                None
            };
            if let Some(message) = problem {
                report.error = Some(CentralVerifyError::CheckpointChain { id, message });
                return Ok(report);
            }
            if let Some(cp) = checkpoint {
                if cp.id == id && !cp.hash.eq_ignore_ascii_case(&stored.hash) {
                    report.error = Some(CentralVerifyError::CheckpointChain {
                        id,
                        message: format!(
                            "central checkpoint {id} is not the checkpoint in the file: checkpoints were rewritten"
                        ),
                    });
                    return Ok(report);
                }
            }
            prev = stored.hash;
            expect_id += 1;
            report.checkpoints += 1;
        }
        if let Some(cp) = checkpoint {
            if cp.id >= expect_id {
                report.error = Some(CentralVerifyError::CheckpointChain {
                    id: cp.id,
                    message: format!(
                        "central checkpoint {} is no longer in the central database: checkpoints were removed",
                        cp.id
                    ),
                });
                return Ok(report);
            }
        }

        let heads: BTreeMap<String, (i64, String)> = self
            .decode_all::<CheckpointHead>(
                &tx.query("SELECT station_id, seq, hash FROM bench_heads", &[])
                    .await
                    .map_err(err)?,
            )?
            .into_iter()
            .map(|h| (h.station_id, (h.seq, h.hash)))
            .collect();
        let cp_heads: BTreeMap<&str, &CheckpointHead> = checkpoint
            .map(|cp| {
                cp.heads
                    .iter()
                    .map(|h| (h.station_id.as_str(), h))
                    .collect()
            })
            .unwrap_or_default();

        struct Walk {
            station: String,
            prev: [u8; 32],
            expect: i64,
            count: i64,
            last_hash: String,
            cp_seen: bool,
        }
        // Ends one station's walk: its chain must reach the recorded head and the checkpoint.
        let close = |w: &Walk| -> Option<CentralVerifyError> {
            let (head_seq, head_hash) = heads
                .get(&w.station)
                .cloned()
                .unwrap_or((0, hex::encode(GENESIS)));
            let have = w.expect - 1;
            if head_seq > have {
                return Some(CentralVerifyError::event(
                    &w.station,
                    VerifyError::Missing { seq: have + 1 },
                ));
            }
            if head_seq == have && have > 0 && head_hash != w.last_hash {
                return Some(CentralVerifyError::event(
                    &w.station,
                    VerifyError::CheckpointMismatch { seq: have },
                ));
            }
            if let Some(h) = cp_heads.get(w.station.as_str()) {
                if !w.cp_seen {
                    return Some(CentralVerifyError::event(
                        &w.station,
                        VerifyError::Truncated {
                            have,
                            checkpoint: h.seq,
                        },
                    ));
                }
            }
            None
        };

        let stream = tx
            .query_raw(
                "SELECT station_id, seq, at, type, actor, order_no, data, prev_hash, hash
                 FROM events ORDER BY station_id, seq",
                slice_iter(&[]),
            )
            .await
            .map_err(err)?;
        pin_mut!(stream);
        let mut walk: Option<Walk> = None;
        let mut walked: Vec<String> = Vec::new();
        while let Some(r) = stream.try_next().await.map_err(err)? {
            let ChainRow {
                seq,
                at,
                kind,
                actor,
                station_id: station,
                order_no,
                data,
                prev_hash,
                hash,
            } = self.decode(&r)?;
            if walk.as_ref().map(|w| &w.station) != Some(&station) {
                if let Some(w) = walk.take() {
                    if let Some(e) = close(&w) {
                        report.error = Some(e);
                        return Ok(report);
                    }
                    report.stations.push(StationSummary {
                        station_id: w.station.clone(),
                        events: w.count,
                        head_seq: w.expect - 1,
                        head_hash: w.last_hash.clone(),
                    });
                    walked.push(w.station);
                }
                walk = Some(Walk {
                    station: station.clone(),
                    prev: GENESIS,
                    expect: 1,
                    count: 0,
                    last_hash: String::new(),
                    cp_seen: false,
                });
            }
            let w = walk.as_mut().expect("set above");
            if seq != w.expect {
                report.error = Some(CentralVerifyError::event(
                    &station,
                    VerifyError::Missing { seq: w.expect },
                ));
                return Ok(report);
            }
            let computed = chain::event_hash(
                &w.prev,
                &EventFields {
                    seq,
                    at: &at,
                    kind: &kind,
                    actor: actor.as_deref(),
                    station_id: &station,
                    order_no: order_no.as_deref(),
                    data: &data,
                },
            );
            if hex::encode(computed) != hash {
                let moved = prev_hash != hex::encode(w.prev);
                report.error = Some(CentralVerifyError::event(
                    &station,
                    if moved {
                        VerifyError::Broken { seq }
                    } else {
                        VerifyError::Changed { seq }
                    },
                ));
                return Ok(report);
            }
            if let Some(h) = cp_heads.get(station.as_str()) {
                if h.seq == seq {
                    if !h.hash.eq_ignore_ascii_case(&hash) {
                        report.error = Some(CentralVerifyError::event(
                            &station,
                            VerifyError::CheckpointMismatch { seq },
                        ));
                        return Ok(report);
                    }
                    w.cp_seen = true;
                }
            }
            w.prev = computed;
            w.expect += 1;
            w.count += 1;
            w.last_hash = hash;
            report.events += 1;
        }
        if let Some(w) = walk.take() {
            if let Some(e) = close(&w) {
                report.error = Some(e);
                return Ok(report);
            }
            report.stations.push(StationSummary {
                station_id: w.station.clone(),
                events: w.count,
                head_seq: w.expect - 1,
                head_hash: w.last_hash.clone(),
            });
            walked.push(w.station);
        }
        // Stations whose every event is gone while a head or the checkpoint remembers them.
        let mut gone: Vec<&str> = heads
            .iter()
            .filter(|(_, (seq, _))| *seq > 0)
            .map(|(s, _)| s.as_str())
            .chain(cp_heads.keys().copied())
            .filter(|s| !walked.iter().any(|w| w == s))
            .collect();
        gone.sort_unstable();
        if let Some(s) = gone.first() {
            let w = Walk {
                station: s.to_string(),
                prev: GENESIS,
                expect: 1,
                count: 0,
                last_hash: String::new(),
                cp_seen: false,
            };
            report.error = close(&w);
        }
        tx.commit().await.map_err(err)?;
        Ok(report)
    }
}
