//! The hash chain over the event log: SHA-256 of the previous hash and the event's canonical
//! bytes. Canonical bytes are length-prefixed fields, so no field can bleed into another and
//! no JSON re-serialisation is needed to check an event.

use sha2::{Digest, Sha256};

pub const GENESIS: [u8; 32] = [0; 32];

pub struct EventFields<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub kind: &'a str,
    pub actor: Option<&'a str>,
    pub station_id: &'a str,
    pub order_no: Option<&'a str>,
    pub data: &'a str,
}

fn field(h: &mut Sha256, v: Option<&str>) {
    match v {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
    }
}

pub fn event_hash(prev: &[u8; 32], e: &EventFields) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(e.seq.to_be_bytes());
    field(&mut h, Some(e.at));
    field(&mut h, Some(e.kind));
    field(&mut h, e.actor);
    field(&mut h, Some(e.station_id));
    field(&mut h, e.order_no);
    field(&mut h, Some(e.data));
    h.finalize().into()
}

/// A hash as the lower-case hex the log stores, on the stack.
fn hex_of(h: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    hex::encode_to_slice(h, &mut out).expect("64 hex digits for 32 bytes");
    out
}

pub fn parse_hash(s: &str) -> Option<[u8; 32]> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

/// An event row exactly as stored: the text that was hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRow {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub actor: Option<String>,
    pub station_id: String,
    pub order_no: Option<String>,
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
}

impl ChainRow {
    pub fn fields(&self) -> EventFields<'_> {
        EventFields {
            seq: self.seq,
            at: &self.at,
            kind: &self.kind,
            actor: self.actor.as_deref(),
            station_id: &self.station_id,
            order_no: self.order_no.as_deref(),
            data: &self.data,
        }
    }
}

impl ChainRow {
    /// The event this row holds, as a reader gets it; `None` for a row that does not read
    /// (an unknown type, data that is not a JSON object, a malformed time).
    pub fn to_event(&self) -> Option<crate::domain::event::StoredEvent> {
        Some(crate::domain::event::StoredEvent {
            seq: self.seq,
            at: chrono::DateTime::parse_from_rfc3339(&self.at).ok()?,
            kind: crate::domain::event::EventType::parse(&self.kind)?,
            actor: self.actor.clone(),
            station_id: self.station_id.clone(),
            order_no: self.order_no.clone(),
            data: serde_json::from_str(&self.data).ok()?,
            hash: self.hash.clone(),
        })
    }
}

/// The chain part of an exported event line: every field exactly as stored and hashed, so
/// the line can be checked without the database (`audit verify --file`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportedChain {
    pub seq: i64,
    pub at: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: Option<String>,
    pub station_id: String,
    pub order_no: Option<String>,
    /// The stored JSON text of the event's data, byte for byte.
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&ChainRow> for ExportedChain {
    fn from(r: &ChainRow) -> Self {
        ExportedChain {
            seq: r.seq,
            at: r.at.clone(),
            kind: r.kind.clone(),
            actor: r.actor.clone(),
            station_id: r.station_id.clone(),
            order_no: r.order_no.clone(),
            data: r.data.clone(),
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
        }
    }
}

impl From<ExportedChain> for ChainRow {
    fn from(c: ExportedChain) -> Self {
        ChainRow {
            seq: c.seq,
            at: c.at,
            kind: c.kind,
            actor: c.actor,
            station_id: c.station_id,
            order_no: c.order_no,
            data: c.data,
            prev_hash: c.prev_hash,
            hash: c.hash,
        }
    }
}

/// An exported log that cannot be checked: a line that is not an exported event.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("line {line}: not JSON: {source}")]
    NotJson {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("line {line}: no chain fields ({source}): export with `audit export --format jsonl` from a bench database")]
    NoChain {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// Checks an exported JSONL log (each line's `chain`), offline. An export that starts
/// after the first event is checked from its first line on (what came before is not in the
/// file); the checkpoint, when given, must be in the file.
pub fn verify_export(
    text: &str,
    checkpoint: Option<&Checkpoint>,
) -> Result<VerifyReport, ExportError> {
    let mut v: Option<Verifier> = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|source| ExportError::NotJson {
                line: i + 1,
                source,
            })?;
        let chain: ExportedChain =
            serde_json::from_value(value["chain"].clone()).map_err(|source| {
                ExportError::NoChain {
                    line: i + 1,
                    source,
                }
            })?;
        let row = ChainRow::from(chain);
        let v = v.get_or_insert_with(|| {
            let prev = if row.seq == 1 {
                GENESIS
            } else {
                parse_hash(&row.prev_hash).unwrap_or(GENESIS)
            };
            Verifier::starting_at(row.seq, prev, checkpoint)
        });
        if !v.push(&row) {
            break;
        }
    }
    Ok(match v {
        Some(v) => v.finish(),
        None => Verifier::new(checkpoint).finish(),
    })
}

/// An event made ready for the log: the row to store and the event as read back.
pub struct Sealed {
    pub row: ChainRow,
    pub event: crate::domain::event::StoredEvent,
    pub hash: [u8; 32],
}

/// The stored form of an event time: RFC 3339 with milliseconds and the station's offset.
pub fn format_at(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// Numbers and hashes event `seq` after `prev`: every backend appends what this returns, so
/// every backend's chain is the same chain.
pub fn seal(prev: &[u8; 32], seq: i64, e: &crate::domain::event::NewEvent) -> Sealed {
    let at = format_at(&e.at);
    let data = serde_json::to_string(&e.data).expect("a JSON map always serialises");
    let row = ChainRow {
        seq,
        at,
        kind: e.kind.as_str().to_string(),
        actor: e.actor.clone(),
        station_id: e.station_id.clone(),
        order_no: e.order_no.clone(),
        data,
        prev_hash: hex::encode(prev),
        hash: String::new(),
    };
    let hash = event_hash(prev, &row.fields());
    let row = ChainRow {
        hash: hex::encode(hash),
        ..row
    };
    let event = crate::domain::event::StoredEvent {
        seq,
        // Read back as stored: whole milliseconds.
        at: chrono::DateTime::parse_from_rfc3339(&row.at).expect("formatted just above"),
        kind: e.kind,
        actor: e.actor.clone(),
        station_id: e.station_id.clone(),
        order_no: e.order_no.clone(),
        data: e.data.clone(),
        hash: row.hash.clone(),
    };
    Sealed { row, event, hash }
}

/// The head of the event log: what a checkpoint records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// An event's stored hash does not match its contents.
    Changed { seq: i64 },
    /// A sequence number is missing.
    Missing { seq: i64 },
    /// The event does not chain onto the one before it (reordered or spliced).
    Broken { seq: i64 },
    /// The log ends before the checkpoint's sequence number.
    Truncated { have: i64, checkpoint: i64 },
    /// The checkpoint's event is there but is not the one the checkpoint saw.
    CheckpointMismatch { seq: i64 },
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The catalogue's English: a station's log alarm shows it read back in Chinese.
            VerifyError::Changed { seq } => {
                f.write_str(&crate::text!("alarm.event_changed", seq = *seq).en)
            }
            VerifyError::Missing { seq } => {
                f.write_str(&crate::text!("alarm.event_missing", seq = *seq).en)
            }
            VerifyError::Broken { seq } => {
                f.write_str(&crate::text!("alarm.event_broken", seq = *seq).en)
            }
            VerifyError::Truncated { have, checkpoint } => f.write_str(
                &crate::text!(
                    "alarm.checkpoint_truncated",
                    have = *have,
                    checkpoint = *checkpoint
                )
                .en,
            ),
            VerifyError::CheckpointMismatch { seq } => {
                f.write_str(&crate::text!("alarm.checkpoint_mismatch", seq = *seq).en)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: i64,
    pub head: Option<Checkpoint>,
    pub error: Option<VerifyError>,
}

/// Walks the chain of rows given in sequence order: the first changed, missing or moved
/// event, and whether the checkpoint's event is still the one it saw.
#[derive(Default)]
pub struct Verifier<'c> {
    prev: Option<[u8; 32]>,
    expect_seq: i64,
    count: i64,
    /// The last good row's seq; its hash is `prev` (equal to the stored one, or it failed).
    last: Option<i64>,
    error: Option<VerifyError>,
    checkpoint: Option<&'c Checkpoint>,
    at_checkpoint: Option<String>,
}

impl<'c> Verifier<'c> {
    pub fn new(checkpoint: Option<&'c Checkpoint>) -> Self {
        Verifier {
            prev: Some(GENESIS),
            expect_seq: 1,
            checkpoint,
            ..Default::default()
        }
    }

    /// A walk that starts at `seq` on `prev` (an export that begins mid-log): what came
    /// before cannot be checked, only that the rest chains onto it.
    pub fn starting_at(seq: i64, prev: [u8; 32], checkpoint: Option<&'c Checkpoint>) -> Self {
        Verifier {
            prev: Some(prev),
            expect_seq: seq,
            checkpoint,
            ..Default::default()
        }
    }

    /// Takes the next row; false once an error is found (the walk may stop).
    pub fn push(&mut self, r: &ChainRow) -> bool {
        self.push_fields(&r.fields(), &r.prev_hash, &r.hash)
    }

    /// [`Verifier::push`] for a row read in place (borrowed text, no copies): the walk a
    /// station makes over its whole log at every start allocates nothing per event.
    pub fn push_fields(&mut self, f: &EventFields, prev_hash: &str, hash: &str) -> bool {
        if self.error.is_some() {
            return false;
        }
        let prev = self.prev.unwrap_or(GENESIS);
        if f.seq != self.expect_seq {
            self.error = Some(VerifyError::Missing {
                seq: self.expect_seq,
            });
            return false;
        }
        let computed = event_hash(&prev, f);
        // Compared as the lower-case hex the log stores, byte for byte, as before.
        if hex_of(&computed) != hash.as_bytes() {
            // The row's own link tells a moved event from an edited one.
            let moved = hex_of(&prev) != prev_hash.as_bytes();
            self.error = Some(if moved {
                VerifyError::Broken { seq: f.seq }
            } else {
                VerifyError::Changed { seq: f.seq }
            });
            return false;
        }
        if self.checkpoint.is_some_and(|cp| cp.seq == f.seq) {
            self.at_checkpoint = Some(hash.to_string());
        }
        self.prev = Some(computed);
        self.expect_seq += 1;
        self.count += 1;
        self.last = Some(f.seq);
        true
    }

    pub fn finish(mut self) -> VerifyReport {
        if self.error.is_none() {
            if let Some(cp) = self.checkpoint {
                match &self.at_checkpoint {
                    None => {
                        self.error = Some(VerifyError::Truncated {
                            have: self.last.unwrap_or(0),
                            checkpoint: cp.seq,
                        })
                    }
                    // Hex digits written by hand or another tool may be upper case.
                    Some(h) if !h.eq_ignore_ascii_case(&cp.hash) => {
                        self.error = Some(VerifyError::CheckpointMismatch { seq: cp.seq })
                    }
                    Some(_) => {}
                }
            }
        }
        let prev = self.prev.unwrap_or(GENESIS);
        VerifyReport {
            events: self.count,
            head: self.last.map(|seq| Checkpoint {
                seq,
                hash: hex::encode(prev),
                created_at: String::new(),
            }),
            error: self.error,
        }
    }
}

/// Checks a whole log, and the checkpoint when one is given.
pub fn verify<L: super::EventLog + ?Sized>(
    log: &L,
    checkpoint: Option<&Checkpoint>,
) -> super::Result<VerifyReport> {
    let mut v = Verifier::new(checkpoint);
    log.scan_chain(0, &mut |r| v.push(&r))?;
    Ok(v.finish())
}

/// The log's head as a checkpoint to keep off the bench; `None` for an empty log.
pub fn checkpoint<L: super::EventLog + ?Sized>(
    log: &L,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> super::Result<Option<Checkpoint>> {
    Ok(log.head()?.map(|(seq, hash)| Checkpoint {
        seq,
        hash,
        created_at: format_at(&now),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_differ_and_fields_do_not_bleed() {
        let base = EventFields {
            seq: 1,
            at: "t",
            kind: "k",
            actor: None,
            station_id: "s",
            order_no: None,
            data: "{}",
        };
        let a = event_hash(&GENESIS, &base);
        let b = event_hash(
            &GENESIS,
            &EventFields {
                actor: Some(""),
                ..base
            },
        );
        assert_ne!(a, b);
        let c = event_hash(
            &GENESIS,
            &EventFields {
                at: "tk",
                kind: "",
                ..base
            },
        );
        assert_ne!(a, c);
    }
}
