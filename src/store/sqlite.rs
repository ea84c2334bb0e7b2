//! SQLite backend: WAL with `synchronous=FULL`, so an event is on disk before `append`
//! returns; the log refuses UPDATE and DELETE by triggers and is hash-chained for when
//! someone drops them.
//!
//! Its rooms: [`schema`] (the migrations, the log's triggers, how a connection is set up),
//! [`startup`] (the log check at start), [`reference`] (master data and imports); here the
//! store itself and its event log.

mod reference;
mod schema;
mod startup;

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::chain::{self, ChainRow, Checkpoint, Verifier, VerifyReport, GENESIS};
use super::row::FromRow;
use super::{EventFilter, EventLog, Result, StoreError};
use crate::domain::event::{NewEvent, StoredEvent};
use crate::killpoint::{self, Point};

use schema::{arm_commit_kill_point, harden, synchronous, MIGRATIONS};
pub use schema::{created_trigger_sql, LOG_TRIGGERS, TEST_SYNCHRONOUS_VAR};

/// The chain's rows as stored, in order, for the check.
const SELECT_CHAIN: &str =
    "SELECT seq, at, type, actor, station_id, order_no, data, prev_hash, hash
     FROM events WHERE seq > ?1 ORDER BY seq";

pub struct SqliteStore {
    conn: Connection,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(Box::new(e))
    }
}

impl SqliteStore {
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// Read-only (`SQLITE_OPEN_READ_ONLY`, `query_only`), never migrated. A write-protected
    /// copy (a read-only file, or one in a read-only folder) cannot get the WAL index file
    /// SQLite would make beside it; such a file is read as immutable, which it is.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        use rusqlite::OpenFlags;
        let path = path.as_ref();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let probe = |c: &Connection| {
            c.query_row("SELECT count(*) AS n FROM sqlite_master", [], |r| {
                r.get::<_, i64>("n")
            })
        };
        // A file marked read-only is a copy nobody writes: read as immutable at once, so not
        // even the WAL index appears beside it (root could make one despite the marks).
        let protected = std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly());
        let live = if protected {
            None
        } else {
            Connection::open_with_flags(path, flags)
                .ok()
                .filter(|c| probe(c).is_ok())
        };
        let conn = match live {
            Some(c) => c,
            None => {
                let conn = Connection::open_with_flags(immutable_uri(path), flags)?;
                probe(&conn)?;
                conn
            }
        };
        harden(&conn)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "query_only", true)?;
        let version: i64 =
            conn.pragma_query_value(None, "user_version", |r| r.get("user_version"))?;
        if version == 0 {
            return Err(StoreError::Invalid(
                "not a packbench database (no schema)".into(),
            ));
        }
        if version as usize > MIGRATIONS.len() {
            return Err(StoreError::Invalid(format!(
                "database schema version {version} is newer than this packbench understands ({}); upgrade packbench",
                MIGRATIONS.len()
            )));
        }
        Ok(SqliteStore { conn })
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    /// A copy of this database in memory, through SQLite's backup API: what a test starts
    /// from instead of importing (and hashing every PIN of) the same set-up again.
    pub fn copy_in_memory(&self) -> Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        rusqlite::backup::Backup::new(&self.conn, &mut conn)?.run_to_completion(
            i32::MAX,
            std::time::Duration::ZERO,
            None,
        )?;
        Self::init(conn)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        harden(&conn)?;
        arm_commit_kill_point(&mut conn)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a committed event survives a power cut, not just a process crash.
        conn.pragma_update(None, "synchronous", synchronous())?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = SqliteStore { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 =
            tx.pragma_query_value(None, "user_version", |r| r.get("user_version"))?;
        if version as usize > MIGRATIONS.len() {
            return Err(StoreError::Invalid(format!(
                "database schema version {version} is newer than this packbench understands ({}); upgrade packbench",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn head_in(tx: &Connection) -> Result<(i64, [u8; 32])> {
        let row: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get("seq")?, r.get("hash")?)),
            )
            .optional()?;
        match row {
            None => Ok((0, GENESIS)),
            Some((seq, h)) => {
                let hash = chain::parse_hash(&h).ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "event {seq} has a malformed hash: run `packbench audit verify`"
                    ))
                })?;
                Ok((seq, hash))
            }
        }
    }

    fn append_tx(tx: &Transaction, events: &[NewEvent]) -> Result<Vec<StoredEvent>> {
        let (mut seq, mut prev) = Self::head_in(tx)?;
        let mut stmt = tx.prepare_cached(
            "INSERT INTO events (seq, at, type, actor, station_id, order_no, data, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            seq += 1;
            let s = chain::seal(&prev, seq, e);
            let r = &s.row;
            stmt.execute(params![
                r.seq,
                r.at,
                r.kind,
                r.actor,
                r.station_id,
                r.order_no,
                r.data,
                r.prev_hash,
                r.hash
            ])?;
            out.push(s.event);
            prev = s.hash;
        }
        Ok(out)
    }
}

impl EventLog for SqliteStore {
    fn append(&mut self, events: &[NewEvent]) -> Result<Vec<StoredEvent>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = Self::append_tx(&tx, events)?;
        killpoint::pass(Point::BeforeCommit);
        killpoint::append_commit(|| tx.commit())?;
        Ok(out)
    }

    fn scan_events(
        &self,
        filter: &EventFilter,
        f: &mut dyn FnMut(StoredEvent) -> bool,
    ) -> Result<()> {
        let mut sql = String::from("SELECT * FROM events WHERE 1=1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(o) = &filter.order_no {
            args.push(Box::new(o.clone()));
            sql.push_str(&format!(" AND order_no = ?{}", args.len()));
        }
        if let Some(s) = &filter.station_id {
            args.push(Box::new(s.clone()));
            sql.push_str(&format!(" AND station_id = ?{}", args.len()));
        }
        if let Some(a) = filter.after_seq {
            args.push(Box::new(a));
            sql.push_str(&format!(" AND seq > ?{}", args.len()));
        }
        if !filter.types.is_empty() {
            let mut ph = Vec::new();
            for t in &filter.types {
                args.push(Box::new(t.to_string()));
                ph.push(format!("?{}", args.len()));
            }
            sql.push_str(&format!(" AND type IN ({})", ph.join(",")));
        }
        sql.push_str(" ORDER BY seq");
        let mut stmt = self.conn.prepare(&sql)?;
        let params: Vec<&dyn rusqlite::ToSql> = args.iter().map(|b| b.as_ref()).collect();
        let mut rows = stmt.query(params.as_slice())?;
        while let Some(r) = rows.next()? {
            let e = StoredEvent::from_row(r)?;
            // Times carry their own offsets: the filter compares instants, not strings.
            if !filter.admits(&e) {
                continue;
            }
            if !f(e) {
                break;
            }
        }
        Ok(())
    }

    fn scan_chain(&self, after_seq: i64, f: &mut dyn FnMut(ChainRow) -> bool) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(SELECT_CHAIN)?;
        let mut rows = stmt.query([after_seq])?;
        while let Some(r) = rows.next()? {
            let row = ChainRow::from_row(r)?;
            if !f(row) {
                break;
            }
        }
        Ok(())
    }

    fn head(&self) -> Result<Option<(i64, String)>> {
        let (seq, hash) = Self::head_in(&self.conn)?;
        Ok((seq > 0).then(|| (seq, hex::encode(hash))))
    }

    /// The same check as the trait's, each row read in place (no copies).
    fn verify(&self, checkpoint: Option<&Checkpoint>) -> Result<VerifyReport> {
        let mut v = Verifier::new(checkpoint);
        self.walk_chain(0, &mut v)?;
        Ok(v.finish())
    }

    /// The log as a station finds it at start: see [`SqliteStore::startup_check`].
    fn startup_problems(&self) -> Result<Vec<(String, String)>> {
        self.startup_check()
    }
}

/// `file:` URI of `path` read as immutable; the characters a URI gives meaning are escaped.
fn immutable_uri(path: &Path) -> String {
    let mut s = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => s.push_str(&format!("%{:02X}", c as u32)),
            c => s.push(c),
        }
    }
    s.push_str("?immutable=1");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_writes_wal_with_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path().join("x.db")).unwrap();
        let mode: String = s
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get("journal_mode"))
            .unwrap();
        let sync: i64 = s
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get("synchronous"))
            .unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2));
    }
}
