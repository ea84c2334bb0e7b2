//! The log check at start: the append-only triggers as the station creates them, the whole
//! chain, and the head the last start verified.

use rusqlite::{params, OptionalExtension, Row};

use super::schema::{created_trigger_sql, normalise_ws, LOG_TRIGGERS, VERIFIED_HEAD_VERSION};
use super::{SqliteStore, SELECT_CHAIN};
use crate::store::chain::{Checkpoint, EventFields, Verifier};
use crate::store::{EventLog, Result, VerifyError};

impl SqliteStore {
    /// Which of the log's append-only triggers are missing.
    pub fn missing_triggers(&self) -> Result<Vec<&'static str>> {
        let mut stmt = self
            .conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?1")?;
        let mut out = Vec::new();
        for t in LOG_TRIGGERS {
            if !stmt.exists([t])? {
                out.push(*t);
            }
        }
        Ok(out)
    }

    /// The log's triggers as found: missing ones, ours under their names but with other SQL
    /// (a no-op body passes a check of names), and triggers on `events` the station never
    /// creates (a `BEFORE INSERT … RAISE(IGNORE)` would drop every event without an error).
    fn trigger_problems(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        let missing = self.missing_triggers()?;
        if !missing.is_empty() {
            out.push((
                "triggers_missing".into(),
                crate::text!("alarm.triggers_missing", which = missing.join(", ")).en,
            ));
        }
        let found: Vec<(String, Option<String>)> = {
            let mut stmt = self.conn.prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND (lower(tbl_name) = 'events' OR name IN (?1, ?2, ?3)) ORDER BY name",
            )?;
            let rows = stmt.query_map(
                params![LOG_TRIGGERS[0], LOG_TRIGGERS[1], LOG_TRIGGERS[2]],
                |r| Ok((r.get("name")?, r.get("sql")?)),
            )?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut changed = Vec::new();
        let mut added = Vec::new();
        for (name, sql) in &found {
            match created_trigger_sql(name) {
                Some(want) if LOG_TRIGGERS.contains(&name.as_str()) => {
                    if sql.as_deref().map(normalise_ws) != Some(want) {
                        changed.push(name.as_str());
                    }
                }
                _ => added.push(name.as_str()),
            }
        }
        if !changed.is_empty() {
            out.push((
                "triggers_changed".into(),
                crate::text!("alarm.triggers_changed", which = changed.join(", ")).en,
            ));
        }
        if !added.is_empty() {
            out.push((
                "triggers_added".into(),
                crate::text!("alarm.triggers_added", which = added.join(", ")).en,
            ));
        }
        Ok(out)
    }

    /// The head the last start verified: `Ok(None)` when none was yet (seq 0, or a read-only
    /// file from before the table), `Err(())` when the row or the table is gone.
    fn verified_head(&self) -> Result<std::result::Result<Option<Checkpoint>, ()>> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get("user_version"))?;
        let table = self.conn.query_row(
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'verified_head'",
            [],
            |r| r.get::<_, i64>("n"),
        )? > 0;
        if !table {
            return Ok(if (version as usize) < VERIFIED_HEAD_VERSION {
                Ok(None)
            } else {
                Err(())
            });
        }
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM verified_head WHERE id = 1",
                [],
                |r| Ok((r.get("seq")?, r.get("hash")?)),
            )
            .optional()?;
        Ok(match row {
            None => Err(()),
            Some((seq, _)) if seq <= 0 => Ok(None),
            Some((seq, hash)) => Ok(Some(Checkpoint {
                seq,
                hash,
                created_at: String::new(),
            })),
        })
    }

    /// Records `head` as verified (never moving the record back). A store that cannot write
    /// (read-only) keeps the old record: the next start checks from it again.
    fn record_verified_head(&self, head: &Checkpoint) {
        let r = self.conn.execute(
            "INSERT INTO verified_head (id, seq, hash) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
               WHERE excluded.seq >= verified_head.seq",
            params![head.seq, head.hash],
        );
        if let Err(e) = r {
            tracing::warn!(seq = head.seq, "the verified head was not recorded: {e}");
        }
    }

    /// Walks the rows after `after_seq` into `v`, each read in place (no copies): the whole
    /// log at every start, so this is the check's cost.
    pub(super) fn walk_chain(&self, after_seq: i64, v: &mut Verifier) -> Result<()> {
        fn text<'a>(r: &'a Row, i: usize) -> Result<&'a str> {
            r.get_ref(i)?
                .as_str()
                .map_err(|e| rusqlite::Error::from(e).into())
        }
        fn text_or_null<'a>(r: &'a Row, i: usize) -> Result<Option<&'a str>> {
            r.get_ref(i)?
                .as_str_or_null()
                .map_err(|e| rusqlite::Error::from(e).into())
        }
        let mut stmt = self.conn.prepare_cached(SELECT_CHAIN)?;
        // Columns by name, looked up once: the walk reads every row of the log at each start.
        let [seq, at, kind, actor, station_id, order_no, data, prev_hash, hash] = [
            "seq",
            "at",
            "type",
            "actor",
            "station_id",
            "order_no",
            "data",
            "prev_hash",
            "hash",
        ]
        .map(|name| stmt.column_index(name));
        let (seq, at, kind, actor, station_id, order_no, data, prev_hash, hash) = (
            seq?,
            at?,
            kind?,
            actor?,
            station_id?,
            order_no?,
            data?,
            prev_hash?,
            hash?,
        );
        let mut rows = stmt.query([after_seq])?;
        while let Some(r) = rows.next()? {
            let f = EventFields {
                seq: r.get(seq)?,
                at: text(r, at)?,
                kind: text(r, kind)?,
                actor: text_or_null(r, actor)?,
                station_id: text(r, station_id)?,
                order_no: text_or_null(r, order_no)?,
                data: text(r, data)?,
            };
            if !v.push_fields(&f, text(r, prev_hash)?, text(r, hash)?) {
                break;
            }
        }
        Ok(())
    }

    /// The log as a station finds it at start (`StationLoop::check_log` raises each problem
    /// as a `log_alarm`):
    ///
    /// - the three append-only triggers are there, each with exactly the SQL the station
    ///   creates (whitespace aside), and no other trigger is on `events`;
    /// - the **whole** chain verifies, from the first event to the head: every event added
    ///   since the last start, and every older one too. Checking only from the last verified
    ///   head would cost nothing but could never see an event edited below it in place (its
    ///   stored hash left stale), which is the easy edit; so every start reads every row
    ///   (measured in BENCHMARKS.md, "Start-up log check");
    /// - the head verified at the last start (`verified_head`, seq and hash, recorded after
    ///   each start whose chain verified) is still there with the same hash. This finds a log
    ///   that was edited and then re-hashed from the edit to the head (`chain_rewritten`), and
    ///   one cut back below that head (`chain_truncated`), neither of which the chain alone
    ///   can show.
    ///
    /// What it does not defend against: whoever has the file can also rewrite (or re-seed)
    /// `verified_head` after re-hashing, and then every check here passes; nothing stored
    /// only on the bench can prevent that. The defence is a copy the bench cannot write: the
    /// central log (events shipped as they happen), and checkpoints kept off the bench
    /// (`audit checkpoint`, `audit verify --checkpoint`). A deleted `verified_head` row is
    /// reported once (`verified_head_missing`) and recorded again when the chain verifies.
    pub(super) fn startup_check(&self) -> Result<Vec<(String, String)>> {
        let mut out = self.trigger_problems()?;
        let anchor = match self.verified_head()? {
            Ok(a) => a,
            Err(()) => {
                out.push((
                    "verified_head_missing".into(),
                    crate::text!("alarm.verified_head_missing").en.to_string(),
                ));
                None
            }
        };
        let report = self.verify(anchor.as_ref())?;
        match report.error {
            None => {
                if let Some(head) = &report.head {
                    self.record_verified_head(head);
                }
            }
            Some(VerifyError::CheckpointMismatch { seq }) => out.push((
                "chain_rewritten".into(),
                crate::text!("alarm.chain_rewritten", seq = seq).en,
            )),
            Some(VerifyError::Truncated { have, checkpoint }) => out.push((
                "chain_truncated".into(),
                crate::text!(
                    "alarm.chain_truncated",
                    have = have,
                    checkpoint = checkpoint
                )
                .en,
            )),
            // `chain_tail`: the name from when only the last 100 events were checked.
            Some(e) => out.push(("chain_tail".into(), e.to_string())),
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::config::DbConfig;
    use rusqlite::Connection;

    use super::*;

    /// Defensive mode on every connection the store opens; through it, the `writable_schema`
    /// trick (rewrite a trigger's SQL in `sqlite_master` without DROP/CREATE) is refused,
    /// while the same trick on an ordinary connection works (so the test can fail).
    #[test]
    fn every_connection_is_defensive_and_refuses_writable_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        let rw = SqliteStore::open(&path).unwrap();
        let ro = SqliteStore::open_read_only(&path).unwrap();
        let mem = SqliteStore::open_in_memory().unwrap();
        for (what, s) in [("read-write", &rw), ("read-only", &ro), ("in memory", &mem)] {
            assert!(
                s.conn
                    .db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE)
                    .unwrap(),
                "{what}"
            );
        }
        let trick = "PRAGMA writable_schema = ON;
            UPDATE sqlite_master SET sql = 'CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT 1; END'
              WHERE name = 'events_no_update';";
        for (what, s) in [("read-write", &rw), ("in memory", &mem)] {
            let e = s.conn.execute_batch(trick).unwrap_err();
            assert!(e.to_string().contains("may not be modified"), "{what}: {e}");
            assert!(s.trigger_problems().unwrap().is_empty(), "{what}");
        }
        // An ordinary connection (the attacker's own) is not defensive: the trick works.
        let plain = Connection::open(&path).unwrap();
        plain.execute_batch(trick).unwrap();
        drop(plain);
        let again = SqliteStore::open(&path).unwrap();
        let found = again.trigger_problems().unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "triggers_changed");
        assert!(found[0].1.contains("events_no_update"), "{found:?}");
    }

    /// The SQL the check expects is what SQLite stored for the station's own triggers.
    #[test]
    fn the_expected_trigger_sql_is_what_the_migrations_created() {
        let s = SqliteStore::open_in_memory().unwrap();
        for t in LOG_TRIGGERS {
            let stored: String = s
                .conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1",
                    [t],
                    |r| r.get("sql"),
                )
                .unwrap();
            let want = created_trigger_sql(t).unwrap();
            assert!(
                want.starts_with("CREATE TRIGGER") && want.ends_with("END"),
                "{want}"
            );
            assert_eq!(normalise_ws(&stored), want);
        }
        assert_eq!(created_trigger_sql("events_nope"), None);
        assert!(s.startup_problems().unwrap().is_empty());
    }
}
