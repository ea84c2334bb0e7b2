//! The event log: append-only by triggers, and a hash chain that proves tampering even after
//! the triggers are gone.

mod common;

use common::*;
use packbench::domain::event::{EventType, NewEvent};
use packbench::store::chain::{event_hash, EventFields, GENESIS};
use packbench::store::{EventLog, SqliteStore, VerifyError};

/// The copied log in a file, and a second, raw connection to it: the attacker's.
struct Log {
    store: SqliteStore,
    raw: rusqlite::Connection,
    _dir: tempfile::TempDir,
}

impl Log {
    fn connection(&self) -> &rusqlite::Connection {
        &self.raw
    }
}

impl std::ops::Deref for Log {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

/// A store with a packed order and some noise: about 20 events.
fn log() -> Log {
    let mut b = bench();
    order1_complete(&mut b);
    b.scan("NOPE", None, t(6)).unwrap();
    b.weight(265.0, true, t(7)).unwrap();
    let store = b.store();
    let n = store.verify(None).unwrap().events;
    assert!(n >= 12, "{n}");
    // Copy the log into a file that a second connection can tamper with.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let mut s = SqliteStore::open(&db).unwrap();
    // Copy events as they are (same hashes) into a fresh store via the public API.
    let events = store.events(&Default::default()).unwrap();
    let news: Vec<NewEvent> = events
        .iter()
        .map(|e| NewEvent {
            at: e.at,
            kind: e.kind,
            actor: e.actor.clone(),
            station_id: e.station_id.clone(),
            order_no: e.order_no.clone(),
            data: e.data.clone(),
        })
        .collect();
    let stored = s.append(&news).unwrap();
    assert_eq!(stored.last().unwrap().hash, events.last().unwrap().hash);
    Log {
        store: s,
        raw: rusqlite::Connection::open(&db).unwrap(),
        _dir: dir,
    }
}

/// seq, at, type, actor, station_id, order_no, data
type Row = (
    i64,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
);

fn drop_triggers(s: &Log) {
    s.connection()
        .execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
        .unwrap();
}

#[test]
fn intact_log_verifies() {
    let s = log();
    let r = s.verify(None).unwrap();
    assert_eq!(r.error, None);
    assert!(r.events > 10);
}

#[test]
fn triggers_refuse_update_and_delete() {
    let s = log();
    let e = s
        .connection()
        .execute("UPDATE events SET actor = 'X' WHERE seq = 3", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = s
        .connection()
        .execute("DELETE FROM events WHERE seq = 3", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    assert_eq!(s.verify(None).unwrap().error, None);
}

#[test]
fn changed_payload_is_named() {
    let s = log();
    drop_triggers(&s);
    let seq: i64 = s
        .connection()
        .query_row(
            "SELECT seq FROM events WHERE type = 'order_packed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let n = s
        .connection()
        .execute(
            "UPDATE events SET data = replace(data, '\"E003\"', '\"E004\"') WHERE seq = ?1",
            [seq],
        )
        .unwrap();
    assert_eq!(n, 1);
    let data: String = s
        .connection()
        .query_row("SELECT data FROM events WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(data.contains("\"packer_id\":\"E004\""), "{data}");
    assert_eq!(
        s.verify(None).unwrap().error,
        Some(VerifyError::Changed { seq })
    );
}

#[test]
fn changed_time_or_actor_is_named() {
    let s = log();
    drop_triggers(&s);
    s.connection()
        .execute("UPDATE events SET actor = 'E999' WHERE seq = 9", [])
        .unwrap();
    assert_eq!(
        s.verify(None).unwrap().error,
        Some(VerifyError::Changed { seq: 9 })
    );
}

#[test]
fn deleted_event_is_named() {
    let s = log();
    drop_triggers(&s);
    s.connection()
        .execute("DELETE FROM events WHERE seq = 6", [])
        .unwrap();
    assert_eq!(
        s.verify(None).unwrap().error,
        Some(VerifyError::Missing { seq: 6 })
    );
}

#[test]
fn deleted_and_renumbered_is_caught() {
    let s = log();
    drop_triggers(&s);
    s.connection()
        .execute_batch(
            "DELETE FROM events WHERE seq = 6;
             UPDATE events SET seq = seq - 1 WHERE seq > 6;",
        )
        .unwrap();
    let err = s.verify(None).unwrap().error.unwrap();
    assert_eq!(err, VerifyError::Broken { seq: 6 });
}

#[test]
fn swapped_pair_is_named() {
    let s = log();
    drop_triggers(&s);
    // Swap every column but seq between events 5 and 6.
    s.connection()
        .execute_batch(
            "CREATE TEMP TABLE t AS SELECT * FROM events WHERE seq IN (5, 6);
             UPDATE events SET (at, type, actor, station_id, order_no, data, prev_hash, hash) =
               (SELECT at, type, actor, station_id, order_no, data, prev_hash, hash FROM t WHERE t.seq = 11 - events.seq)
               WHERE seq IN (5, 6);",
        )
        .unwrap();
    assert_eq!(
        s.verify(None).unwrap().error,
        Some(VerifyError::Broken { seq: 5 })
    );
}

#[test]
fn truncation_is_proved_by_an_exported_checkpoint() {
    let s = log();
    let cp = s.checkpoint(t(100)).unwrap().unwrap();
    let head = cp.seq;
    // The checkpoint round-trips through JSON (it is kept off the bench as a file).
    let cp: packbench::store::Checkpoint =
        serde_json::from_str(&serde_json::to_string(&cp).unwrap()).unwrap();
    assert_eq!(s.verify(Some(&cp)).unwrap().error, None);
    drop_triggers(&s);
    s.connection()
        .execute("DELETE FROM events WHERE seq > ?1", [head - 3])
        .unwrap();
    // The chain alone cannot tell a short log from a truncated one...
    assert_eq!(s.verify(None).unwrap().error, None);
    // ...the checkpoint can.
    assert_eq!(
        s.verify(Some(&cp)).unwrap().error,
        Some(VerifyError::Truncated {
            have: head - 3,
            checkpoint: head
        })
    );
}

#[test]
fn a_rewritten_chain_is_proved_by_the_checkpoint() {
    let s = log();
    let cp = s.checkpoint(t(100)).unwrap().unwrap();
    drop_triggers(&s);
    // The attacker edits event 4 and recomputes every hash after it.
    s.connection()
        .execute("UPDATE events SET actor = 'E999' WHERE seq = 4", [])
        .unwrap();
    let rows: Vec<Row> = {
        let mut st = s
            .connection()
            .prepare(
                "SELECT seq, at, type, actor, station_id, order_no, data FROM events ORDER BY seq",
            )
            .unwrap();
        st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let mut prev = GENESIS;
    for (seq, at, kind, actor, station, order, data) in rows {
        let h = event_hash(
            &prev,
            &EventFields {
                seq,
                at: &at,
                kind: &kind,
                actor: actor.as_deref(),
                station_id: &station,
                order_no: order.as_deref(),
                data: &data,
            },
        );
        s.connection()
            .execute(
                "UPDATE events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
                rusqlite::params![hex::encode(prev), hex::encode(h), seq],
            )
            .unwrap();
        prev = h;
    }
    assert_eq!(s.verify(None).unwrap().error, None);
    assert_eq!(
        s.verify(Some(&cp)).unwrap().error,
        Some(VerifyError::CheckpointMismatch { seq: cp.seq })
    );
}

#[test]
fn append_is_atomic_and_sequenced() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let a = s
        .append(&[
            NewEvent::new(EventType::Device, t(0), "B").with("device", "scale"),
            NewEvent::new(EventType::Device, t(1), "B").with("device", "printer"),
        ])
        .unwrap();
    assert_eq!(a.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(a[0].at, t(0));
    assert!(s.append(&[]).unwrap().is_empty());
    let r = s.verify(None).unwrap();
    assert_eq!((r.events, r.error), (2, None));
}

#[test]
fn durable_across_reopen_with_wal_and_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    {
        let mut s = SqliteStore::open(&db).unwrap();
        s.append(&[NewEvent::new(EventType::Device, t(0), "B")])
            .unwrap();
        // WAL is the file's mode (FULL sync is the store's own connection's: checked in
        // store::sqlite's unit tests).
        let mode: String = rusqlite::Connection::open(&db)
            .unwrap()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode.as_str(), "wal");
    }
    let s = SqliteStore::open(&db).unwrap();
    assert_eq!(s.verify(None).unwrap().events, 1);
}

#[test]
fn a_pin_hash_without_salt_or_hash_is_no_pin() {
    // Found by the scan_lines fuzz target (finding scan_lines-1): `PinHash::parse` took a PHC
    // string without a salt or a hash (`$argon2id`) for an Argon2id hash, so a badge whose
    // stored hash was cut short asked for a PIN no PIN could match (strikes, then a lock)
    // instead of being refused as a badge without a PIN.
    use packbench::domain::pin::{Pin, PinHash};
    use packbench::store::ReferenceData;
    for s in [
        "$argon2id",
        "$argon2id$v=19",
        "$argon2id$v=19$m=19456,t=2,p=1",
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzYWx0",
    ] {
        assert!(PinHash::parse(s).is_err(), "{s}");
    }
    let real = Pin::valid("5555").unwrap().hash();
    assert!(PinHash::parse(real.as_str()).is_ok());
    // The store reads such a column as no PIN.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pins.db");
    let mut s = SqliteStore::open(&db).unwrap();
    import_fixtures(&mut s);
    assert!(s.employee("E005").unwrap().unwrap().pin_hash.is_some());
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute(
        "UPDATE employees SET pin_hash = '$argon2id' WHERE id = 'E005'",
        [],
    )
    .unwrap();
    assert!(s.employee("E005").unwrap().unwrap().pin_hash.is_none());
}
