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
    let real = Pin::valid("555555").unwrap().hash();
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

// ---- The check at start (issue 22, item 6) ----

/// A bench's database file with `n` events appended through the store, as a station leaves it.
fn file_log(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let mut s = SqliteStore::open(&db).unwrap();
    let events: Vec<NewEvent> = (0..n)
        .map(|i| {
            NewEvent::new(EventType::Device, t(i as i64), "B-01")
                .with("device", "scale")
                .with("i", i as i64)
        })
        .collect();
    s.append(&events).unwrap();
    (dir, db)
}

/// A station's start on the file: the problems it raises, in order.
fn start(db: &std::path::Path) -> Vec<(String, String)> {
    SqliteStore::open(db).unwrap().startup_problems().unwrap()
}

fn names(p: &[(String, String)]) -> Vec<&str> {
    p.iter().map(|(n, _)| n.as_str()).collect()
}

/// The head the last start recorded as verified.
fn verified_head(raw: &rusqlite::Connection) -> (i64, String) {
    raw.query_row("SELECT seq, hash FROM verified_head", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

fn head(db: &std::path::Path) -> (i64, String) {
    SqliteStore::open(db).unwrap().head().unwrap().unwrap()
}

/// The attacker's edit: drop the update trigger, change the event, put the trigger back
/// exactly as it was (its stored SQL), so the trigger check sees nothing.
fn edit_behind_the_triggers(raw: &rusqlite::Connection, sql: &str) {
    let trigger: String = raw
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'events_no_update'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    raw.execute_batch("DROP TRIGGER events_no_update").unwrap();
    assert_eq!(raw.execute(sql, []).unwrap(), 1, "{sql}");
    raw.execute_batch(&trigger).unwrap();
}

/// Recomputes every hash from the first event, as an attacker who knows the chain would.
fn rehash_everything(raw: &rusqlite::Connection) {
    let rows: Vec<Row> = {
        let mut st = raw
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
        raw.execute(
            "UPDATE events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![hex::encode(prev), hex::encode(h), seq],
        )
        .unwrap();
        prev = h;
    }
}

/// The three triggers dropped and put back under the same names with bodies that do nothing:
/// the log takes UPDATEs again, and the start names every swapped trigger.
#[test]
fn swapped_triggers_are_found_at_start() {
    let (_dir, db) = file_log(20);
    assert_eq!(start(&db), Vec::<(String, String)>::new());
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch(
        "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; DROP TRIGGER events_append_only;
         CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT 1; END;
         CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT 1; END;
         CREATE TRIGGER events_append_only BEFORE INSERT ON events BEGIN SELECT 1; END;",
    )
    .unwrap();
    // The names are all there (what the start used to check)...
    assert!(SqliteStore::open(&db)
        .unwrap()
        .missing_triggers()
        .unwrap()
        .is_empty());
    // ...and they refuse nothing (an UPDATE that changes nothing, so the chain stays sound).
    assert_eq!(
        raw.execute("UPDATE events SET actor = actor WHERE seq = 1", [])
            .unwrap(),
        1
    );
    let p = start(&db);
    assert_eq!(names(&p), ["triggers_changed"], "{p:?}");
    for t in ["events_no_update", "events_no_delete", "events_append_only"] {
        assert!(p[0].1.contains(t), "{p:?}");
    }
}

/// Only whitespace is forgiven: the same trigger written on one line is the same trigger, one
/// word more is not.
#[test]
fn a_trigger_differing_only_in_whitespace_passes_and_one_word_does_not() {
    let (_dir, db) = file_log(3);
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch(
        "DROP TRIGGER events_no_delete;
         CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE refused'); END;",
    )
    .unwrap();
    assert_eq!(start(&db), Vec::<(String, String)>::new());
    raw.execute_batch(
        "DROP TRIGGER events_no_delete;
         CREATE TRIGGER events_no_delete BEFORE DELETE ON events WHEN 0 BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE refused'); END;",
    )
    .unwrap();
    let p = start(&db);
    assert_eq!(names(&p), ["triggers_changed"], "{p:?}");
    assert!(p[0].1.contains("events_no_delete"), "{p:?}");
}

/// A trigger the station never creates, on the log: this one would swallow every append.
#[test]
fn an_added_trigger_on_the_log_is_found_at_start() {
    let (_dir, db) = file_log(3);
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch(
        // `EVENTS`: table names are not case-sensitive, and neither is the check.
        "CREATE TRIGGER zz_swallow BEFORE INSERT ON EVENTS BEGIN SELECT RAISE(IGNORE); END;",
    )
    .unwrap();
    let p = start(&db);
    assert_eq!(names(&p), ["triggers_added"], "{p:?}");
    assert!(p[0].1.contains("zz_swallow"), "{p:?}");
}

/// The case: a 10,050-event log verified at a start, then an event 10,000 back from
/// the head edited in place behind identical triggers. The next start finds it.
#[test]
fn an_event_changed_10000_events_back_is_found_at_start() {
    let (_dir, db) = file_log(10_050);
    assert_eq!(start(&db), Vec::<(String, String)>::new());
    let (h, hash) = head(&db);
    let raw = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(verified_head(&raw), (h, hash));
    let target = h - 10_000;
    edit_behind_the_triggers(
        &raw,
        &format!(
            "UPDATE events SET data = replace(data, '\"scale\"', '\"scalf\"') WHERE seq = {target}"
        ),
    );
    let p = start(&db);
    assert_eq!(
        p,
        [(
            "chain_tail".to_string(),
            VerifyError::Changed { seq: target }.to_string()
        )]
    );
    // Not verified, so not recorded: the next start says it again.
    assert_eq!(verified_head(&raw).0, h);
    assert_eq!(names(&start(&db)), ["chain_tail"]);
}

/// Events added since the last verified start are all checked, not only the last 100.
#[test]
fn every_event_since_the_last_start_is_checked() {
    let (_dir, db) = file_log(50);
    assert!(start(&db).is_empty());
    let mut s = SqliteStore::open(&db).unwrap();
    let more: Vec<NewEvent> = (0..300)
        .map(|i| NewEvent::new(EventType::Device, t(100 + i), "B-01").with("device", "printer"))
        .collect();
    s.append(&more).unwrap();
    drop(s);
    let raw = rusqlite::Connection::open(&db).unwrap();
    edit_behind_the_triggers(&raw, "UPDATE events SET station_id = 'B-99' WHERE seq = 51");
    assert_eq!(
        start(&db),
        [(
            "chain_tail".to_string(),
            VerifyError::Changed { seq: 51 }.to_string()
        )]
    );
}

/// An edit and a chain recomputed from the first event verifies as a chain; the head the last
/// start verified shows it. The same attacker rewriting that record too passes: the limit the
/// doc comment names (the central copy and off-bench checkpoints are the defence).
#[test]
fn a_chain_recomputed_below_the_verified_head_is_found_unless_the_record_is_rewritten_too() {
    let (_dir, db) = file_log(500);
    assert!(start(&db).is_empty());
    let (h, _) = head(&db);
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch("DROP TRIGGER events_no_update").unwrap();
    raw.execute("UPDATE events SET actor = 'E999' WHERE seq = 7", [])
        .unwrap();
    rehash_everything(&raw);
    raw.execute_batch(
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE refused'); END;",
    )
    .unwrap();
    assert_eq!(
        SqliteStore::open(&db).unwrap().verify(None).unwrap().error,
        None
    );
    let p = start(&db);
    assert_eq!(names(&p), ["chain_rewritten"], "{p:?}");
    assert!(p[0].1.contains(&format!("event {h} ")), "{p:?}");
    // The attacker who also knows of the record.
    let (_, new_hash) = head(&db);
    raw.execute("UPDATE verified_head SET hash = ?1", [new_hash])
        .unwrap();
    assert!(start(&db).is_empty());
}

/// Events cut off the end below the verified head: the chain alone cannot tell.
#[test]
fn a_log_cut_below_the_verified_head_is_found() {
    let (_dir, db) = file_log(40);
    assert!(start(&db).is_empty());
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch("DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > 37;")
        .unwrap();
    assert_eq!(
        SqliteStore::open(&db).unwrap().verify(None).unwrap().error,
        None
    );
    let p = start(&db);
    assert_eq!(names(&p), ["triggers_missing", "chain_truncated"], "{p:?}");
    assert!(
        p[1].1.contains("ends at event 37") && p[1].1.contains("up to event 40"),
        "{p:?}"
    );
}

/// The record removed: said once, then recorded again from a chain that verifies.
#[test]
fn a_deleted_verified_head_is_reported() {
    let (_dir, db) = file_log(10);
    assert!(start(&db).is_empty());
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute("DELETE FROM verified_head", []).unwrap();
    assert_eq!(names(&start(&db)), ["verified_head_missing"]);
    assert_eq!(verified_head(&raw), head(&db));
    assert!(start(&db).is_empty());
}

/// A log from before the record (schema 5) gets it by migration, and its first start
/// verifies the whole log: an edit at its second event is found, and nothing is recorded.
#[test]
fn an_existing_log_is_verified_whole_at_its_first_start() {
    let (_dir, db) = file_log(300);
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch("DROP TABLE verified_head; PRAGMA user_version = 5;")
        .unwrap();
    edit_behind_the_triggers(&raw, "UPDATE events SET at = at || ' ' WHERE seq = 2");
    assert_eq!(
        start(&db),
        [(
            "chain_tail".to_string(),
            VerifyError::Changed { seq: 2 }.to_string()
        )]
    );
    let v: i64 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!((v, verified_head(&raw).0), (6, 0));
}
