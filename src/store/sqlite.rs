//! SQLite backend: WAL with `synchronous=FULL`, so an event is on disk before `append`
//! returns; the log refuses UPDATE and DELETE by triggers and is hash-chained for when
//! someone drops them.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde_json::{Map, Value};

use super::chain::{self, ChainRow, Checkpoint, EventFields, Verifier, VerifyReport, GENESIS};
use super::{
    Changes, EventFilter, EventLog, OrderNow, OrderRow, Put, ReferenceData, ReferenceRead, Result,
    StoreError, VerifyError,
};
use crate::domain::catalog::BarcodeEntry;
use crate::domain::event::{EventType, NewEvent, StoredEvent};
use crate::domain::{Employee, Order, OrderLine, Packaging, Roles, Sku};
use crate::killpoint::{self, Point};

/// A testing aid for the power-cut harness (`tests/power.rs`): `PACKBENCH_TEST_SYNCHRONOUS=OFF`
/// opens the store with `synchronous=OFF`, so that the harness can show it finds the events
/// such a store loses at a power cut. Never set it on a bench. Any other value is ignored.
pub const TEST_SYNCHRONOUS_VAR: &str = "PACKBENCH_TEST_SYNCHRONOUS";

/// `FULL`, unless the power-cut harness's switch asks for `OFF`.
fn synchronous() -> &'static str {
    synchronous_for(std::env::var(TEST_SYNCHRONOUS_VAR).ok().as_deref())
}

fn synchronous_for(setting: Option<&str>) -> &'static str {
    match setting {
        Some("OFF") => {
            tracing::warn!(
                "{TEST_SYNCHRONOUS_VAR}=OFF: the store runs with synchronous=OFF and a power \
                 cut will lose acknowledged events; a testing aid only, never for a bench"
            );
            "OFF"
        }
        Some(v) => {
            tracing::warn!("{TEST_SYNCHRONOUS_VAR}={v:?} ignored: only OFF is understood");
            "FULL"
        }
        None => "FULL",
    }
}

const MIGRATIONS: &[&str] = &[
    // 1: base schema
    r#"
    CREATE TABLE skus (
        sku TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        barcodes TEXT NOT NULL,
        unit_weight_g REAL NOT NULL,
        weight_tolerance_g REAL,
        attributes TEXT NOT NULL
    );
    CREATE TABLE orders (
        order_no TEXT PRIMARY KEY,
        waybill_no TEXT NOT NULL,
        carrier TEXT NOT NULL,
        recipient TEXT NOT NULL,
        country TEXT NOT NULL,
        address TEXT NOT NULL,
        buyer_note TEXT NOT NULL,
        lines TEXT NOT NULL,
        picker_id TEXT,
        cancelled INTEGER NOT NULL DEFAULT 0,
        version TEXT NOT NULL
    );
    CREATE INDEX orders_waybill ON orders(waybill_no);
    CREATE TABLE employees (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        roles TEXT NOT NULL,
        badge TEXT NOT NULL UNIQUE
    );
    CREATE TABLE packaging (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tare_g REAL NOT NULL
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        actor TEXT,
        station_id TEXT NOT NULL,
        order_no TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX events_order ON events(order_no, seq) WHERE order_no IS NOT NULL;
    CREATE INDEX events_type ON events(type, seq);
    CREATE INDEX events_station ON events(station_id, seq);
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE refused'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE refused'); END;
    "#,
    // 2: a counter every reference-data write bumps, so a running bench sees an import
    r#"
    CREATE TABLE reference_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
    INSERT INTO reference_version (id, version) VALUES (1, 0);
    "#,
    // 3: how far this bench's copy of the central master data goes
    r#"
    CREATE TABLE central_copy (id INTEGER PRIMARY KEY CHECK (id = 1), change_id INTEGER NOT NULL);
    INSERT INTO central_copy (id, change_id) VALUES (1, 0);
    "#,
    // 4: PINs (Argon2id hashes only) and inactive employees
    r#"
    ALTER TABLE employees ADD COLUMN pin_hash TEXT;
    ALTER TABLE employees ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
    "#,
    // 5: `INSERT OR REPLACE` / `REPLACE INTO` deletes the old row without firing the delete
    // trigger (no recursive triggers), so the log refuses any insert that is not a new seq
    // after the head, whatever its conflict clause.
    r#"
    CREATE TRIGGER events_append_only BEFORE INSERT ON events
        WHEN NEW.seq <= (SELECT coalesce(max(seq), 0) FROM events)
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: REPLACE refused'); END;
    "#,
    // 6: the head the last start verified (seq 0: none yet), the anchor of the next start's
    // check. The row is there from the start, so a deleted row is itself a finding.
    r#"
    CREATE TABLE verified_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
    INSERT INTO verified_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
    "#,
];

/// The triggers that keep the log append-only; a bench checks at start that each is there with
/// exactly the SQL the station creates ([`created_trigger_sql`]).
pub const LOG_TRIGGERS: &[&str] = &["events_no_update", "events_no_delete", "events_append_only"];

/// The migration that creates `verified_head` (the version from which a file must have it).
const VERIFIED_HEAD_VERSION: usize = 6;

/// `sql` with every run of whitespace made one space, trimmed: how a trigger's stored text is
/// compared with the station's (SQLite keeps the text as written, indentation and all).
fn normalise_ws(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `CREATE TRIGGER` statement for `name` exactly as the migrations create it (up to its
/// `END`, without the `;`, as SQLite stores it in `sqlite_master.sql`), whitespace normalised.
/// Taken from [`MIGRATIONS`] themselves, so the check can never drift from what is created.
pub fn created_trigger_sql(name: &str) -> Option<String> {
    let head = format!("CREATE TRIGGER {name} ");
    MIGRATIONS.iter().find_map(|m| {
        let start = m.find(&head)?;
        let len = m[start..].find("END;")? + "END".len();
        Some(normalise_ws(&m[start..start + len]))
    })
}

/// Every connection the store opens: SQLite's defensive mode, so no statement on it can write
/// the schema behind SQLite's back (`PRAGMA writable_schema`, `sqlite_dbpage`, shadow tables)
/// or turn the journal off.
fn harden(conn: &Connection) -> Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    Ok(())
}

/// The crash harness's kill point inside a commit (see `killpoint`), when it is armed: SQLite's
/// commit hook. Returning false lets the commit go on.
#[cfg(any(test, feature = "testing"))]
fn arm_commit_kill_point(conn: &mut Connection) -> Result<()> {
    if killpoint::armed_at(Point::InsideCommit) {
        conn.commit_hook(Some(|| {
            killpoint::in_commit_hook();
            false
        }))?;
    }
    Ok(())
}

/// Builds without the `testing` feature (every station in service) have no kill points.
#[cfg(not(any(test, feature = "testing")))]
fn arm_commit_kill_point(_: &mut Connection) -> Result<()> {
    Ok(())
}

/// The chain's rows as stored, in order, for the check.
const SELECT_CHAIN: &str =
    "SELECT seq, at, type, actor, station_id, order_no, data, prev_hash, hash
     FROM events WHERE seq > ?1 ORDER BY seq";

pub struct SqliteStore {
    conn: Connection,
}

fn parse_at(s: &str) -> rusqlite::Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(Box::new(e))
    }
}

fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
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
            c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
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
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
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
                format!(
                    "the log's append-only triggers are missing ({}): someone changed the database",
                    missing.join(", ")
                ),
            ));
        }
        let found: Vec<(String, Option<String>)> = {
            let mut stmt = self.conn.prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND (lower(tbl_name) = 'events' OR name IN (?1, ?2, ?3)) ORDER BY name",
            )?;
            let rows = stmt.query_map(
                params![LOG_TRIGGERS[0], LOG_TRIGGERS[1], LOG_TRIGGERS[2]],
                |r| Ok((r.get(0)?, r.get(1)?)),
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
                format!(
                    "the log's append-only triggers are not the ones the station creates ({}): someone replaced them",
                    changed.join(", ")
                ),
            ));
        }
        if !added.is_empty() {
            out.push((
                "triggers_added".into(),
                format!(
                    "the log has triggers the station never creates ({}): someone changed the database",
                    added.join(", ")
                ),
            ));
        }
        Ok(out)
    }

    /// The head the last start verified: `Ok(None)` when none was yet (seq 0, or a read-only
    /// file from before the table), `Err(())` when the row or the table is gone.
    fn verified_head(&self) -> Result<std::result::Result<Option<Checkpoint>, ()>> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let table = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'verified_head'",
            [],
            |r| r.get::<_, i64>(0),
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
                |r| Ok((r.get(0)?, r.get(1)?)),
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
    fn walk_chain(&self, after_seq: i64, v: &mut Verifier) -> Result<()> {
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
        let mut rows = stmt.query([after_seq])?;
        while let Some(r) = rows.next()? {
            let f = EventFields {
                seq: r.get(0)?,
                at: text(r, 1)?,
                kind: text(r, 2)?,
                actor: text_or_null(r, 3)?,
                station_id: text(r, 4)?,
                order_no: text_or_null(r, 5)?,
                data: text(r, 6)?,
            };
            if !v.push_fields(&f, text(r, 7)?, text(r, 8)?) {
                break;
            }
        }
        Ok(())
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
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
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
                |r| Ok((r.get(0)?, r.get(1)?)),
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

    fn row_to_event(r: &Row) -> rusqlite::Result<StoredEvent> {
        let kind: String = r.get("type")?;
        let data: String = r.get("data")?;
        let data: Map<String, Value> = serde_json::from_str(&data).map_err(json_err)?;
        Ok(StoredEvent {
            seq: r.get("seq")?,
            at: parse_at(&r.get::<_, String>("at")?)?,
            kind: EventType::parse(&kind).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    format!("unknown event type {kind:?}").into(),
                )
            })?,
            actor: r.get("actor")?,
            station_id: r.get("station_id")?,
            order_no: r.get("order_no")?,
            data,
            hash: r.get("hash")?,
        })
    }

    fn row_to_order(r: &Row) -> rusqlite::Result<Order> {
        let lines: String = r.get("lines")?;
        let lines: Vec<OrderLine> = serde_json::from_str(&lines).map_err(json_err)?;
        Ok(Order {
            order_no: r.get("order_no")?,
            waybill_no: r.get("waybill_no")?,
            carrier: r.get("carrier")?,
            recipient: r.get("recipient")?,
            country: r.get("country")?,
            address: r.get("address")?,
            buyer_note: r.get("buyer_note")?,
            lines,
            picker_id: r.get("picker_id")?,
            cancelled: r.get::<_, i64>("cancelled")? != 0,
        })
    }

    fn row_to_employee(r: &Row) -> rusqlite::Result<Employee> {
        let roles: String = r.get("roles")?;
        Ok(Employee {
            id: r.get("id")?,
            name: r.get("name")?,
            roles: Roles::parse(&roles).unwrap_or_default(),
            badge: r.get("badge")?,
            // A value that is not an Argon2id hash counts as no PIN (and so no approval
            // where one is needed), never as a PIN in clear.
            // A read-only reader of an older file has no such columns: no PIN, active.
            pin_hash: r
                .get::<_, Option<String>>("pin_hash")
                .ok()
                .flatten()
                .and_then(|h| crate::domain::pin::PinHash::parse(&h).ok()),
            active: !matches!(r.get::<_, i64>("active"), Ok(0)),
        })
    }

    fn row_to_sku(r: &Row) -> rusqlite::Result<Sku> {
        let barcodes: String = r.get("barcodes")?;
        let attributes: String = r.get("attributes")?;
        Ok(Sku {
            sku: r.get("sku")?,
            name: r.get("name")?,
            barcodes: serde_json::from_str::<Vec<BarcodeEntry>>(&barcodes).map_err(json_err)?,
            unit_weight_g: r.get("unit_weight_g")?,
            weight_tolerance_g: r.get("weight_tolerance_g")?,
            attributes: serde_json::from_str(&attributes).map_err(json_err)?,
        })
    }

    fn row_to_packaging(r: &Row) -> rusqlite::Result<Packaging> {
        Ok(Packaging {
            code: r.get("code")?,
            name: r.get("name")?,
            tare_g: r.get("tare_g")?,
        })
    }

    fn one<T>(
        conn: &Connection,
        sql: &str,
        key: &str,
        map: fn(&Row) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let mut stmt = conn.prepare_cached(sql)?;
        Ok(stmt.query_row([key], map).optional()?)
    }

    fn all<T>(
        conn: &Connection,
        sql: &str,
        map: fn(&Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], map)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn put(tx: &Transaction, p: &Put) -> Result<()> {
        match p {
            Put::Sku(s) => {
                tx.prepare_cached(
                    "INSERT INTO skus (sku, name, barcodes, unit_weight_g, weight_tolerance_g, attributes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(sku) DO UPDATE SET name=excluded.name, barcodes=excluded.barcodes,
                       unit_weight_g=excluded.unit_weight_g, weight_tolerance_g=excluded.weight_tolerance_g,
                       attributes=excluded.attributes",
                )?
                .execute(params![
                    s.sku,
                    s.name,
                    serde_json::to_string(&s.barcodes).expect("serialisable"),
                    s.unit_weight_g,
                    s.weight_tolerance_g,
                    serde_json::to_string(&s.attributes).expect("serialisable"),
                ])?;
            }
            Put::Order(row) => {
                let o = &row.order;
                tx.prepare_cached(
                    "INSERT INTO orders (order_no, waybill_no, carrier, recipient, country, address,
                       buyer_note, lines, picker_id, cancelled, version)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT(order_no) DO UPDATE SET waybill_no=excluded.waybill_no,
                       carrier=excluded.carrier, recipient=excluded.recipient, country=excluded.country,
                       address=excluded.address, buyer_note=excluded.buyer_note, lines=excluded.lines,
                       picker_id=excluded.picker_id, cancelled=excluded.cancelled,
                       version=excluded.version",
                )?
                .execute(params![
                    o.order_no,
                    o.waybill_no,
                    o.carrier,
                    o.recipient,
                    o.country,
                    o.address,
                    o.buyer_note,
                    serde_json::to_string(&o.lines).expect("serialisable"),
                    o.picker_id,
                    o.cancelled as i64,
                    row.version
                ])?;
            }
            Put::Employee(e) => {
                tx.prepare_cached(
                    "INSERT INTO employees (id, name, roles, badge, pin_hash, active)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(id) DO UPDATE SET name=excluded.name, roles=excluded.roles,
                       badge=excluded.badge, pin_hash=excluded.pin_hash, active=excluded.active",
                )?
                .execute(params![
                    e.id,
                    e.name,
                    e.roles.to_field(),
                    e.badge,
                    e.pin_hash.as_ref().map(|h| h.as_str()),
                    e.active as i64
                ])
                .map_err(|err| match err {
                    rusqlite::Error::SqliteFailure(f, _)
                        if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        StoreError::Conflict(format!(
                            "badge {} of {} is already the badge of another employee",
                            e.badge, e.id
                        ))
                    }
                    other => other.into(),
                })?;
            }
            Put::Packaging(x) => {
                tx.prepare_cached(
                    "INSERT INTO packaging (code, name, tare_g) VALUES (?1, ?2, ?3)
                     ON CONFLICT(code) DO UPDATE SET name=excluded.name, tare_g=excluded.tare_g",
                )?
                .execute(params![x.code, x.name, x.tare_g])?;
            }
        }
        Ok(())
    }
}

const SELECT_ORDER: &str = "SELECT * FROM orders WHERE order_no = ?1";
const SELECT_EMPLOYEE: &str = "SELECT * FROM employees WHERE id = ?1";
const SELECT_SKU: &str = "SELECT * FROM skus WHERE sku = ?1";
const SELECT_PACKAGING: &str = "SELECT code, name, tare_g FROM packaging WHERE code = ?1";

/// Reads inside an import's transaction.
struct TxRead<'a>(&'a Transaction<'a>);

impl ReferenceRead for TxRead<'_> {
    fn sku(&self, sku: &str) -> Result<Option<Sku>> {
        SqliteStore::one(self.0, SELECT_SKU, sku, SqliteStore::row_to_sku)
    }

    fn order_row(&self, order_no: &str) -> Result<Option<OrderRow>> {
        SqliteStore::one(self.0, SELECT_ORDER, order_no, |r| {
            Ok(OrderRow {
                order: SqliteStore::row_to_order(r)?,
                version: r.get("version")?,
            })
        })
    }

    fn employee(&self, id: &str) -> Result<Option<Employee>> {
        SqliteStore::one(self.0, SELECT_EMPLOYEE, id, SqliteStore::row_to_employee)
    }

    fn packaging(&self, code: &str) -> Result<Option<Packaging>> {
        SqliteStore::one(
            self.0,
            SELECT_PACKAGING,
            code,
            SqliteStore::row_to_packaging,
        )
    }
}

/// Imports, and the bench's copy of the central master data.
impl SqliteStore {
    /// Bounds this connection's page cache ([`super::open_background`]).
    pub(super) fn limit_cache(&self, kib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -i64::from(kib))?;
        Ok(())
    }

    fn import_tx(
        &mut self,
        plan: &mut dyn FnMut(&dyn ReferenceRead) -> Result<Changes>,
        change_id: Option<i64>,
    ) -> Result<Vec<StoredEvent>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changes = plan(&TxRead(&tx))?;
        for p in &changes.puts {
            Self::put(&tx, p)?;
        }
        if !changes.puts.is_empty() {
            tx.execute("UPDATE reference_version SET version = version + 1", [])?;
        }
        if let Some(id) = change_id {
            tx.execute("UPDATE central_copy SET change_id = ?1", [id])?;
        }
        let stored = Self::append_tx(&tx, &changes.events)?;
        tx.commit()?;
        Ok(stored)
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
            let e = Self::row_to_event(r)?;
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
            let row = ChainRow {
                seq: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                actor: r.get(3)?,
                station_id: r.get(4)?,
                order_no: r.get(5)?,
                data: r.get(6)?,
                prev_hash: r.get(7)?,
                hash: r.get(8)?,
            };
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
    fn startup_problems(&self) -> Result<Vec<(String, String)>> {
        let mut out = self.trigger_problems()?;
        let anchor = match self.verified_head()? {
            Ok(a) => a,
            Err(()) => {
                out.push((
                    "verified_head_missing".into(),
                    "the record of the log head verified at the last start is gone: someone changed the database; the whole log is checked".into(),
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
                format!(
                    "event {seq} is not the event the station verified at its last start: the log was rewritten and its chain recomputed"
                ),
            )),
            Some(VerifyError::Truncated { have, checkpoint }) => out.push((
                "chain_truncated".into(),
                format!(
                    "the log ends at event {have} but the station verified it up to event {checkpoint} at its last start: events were removed"
                ),
            )),
            // `chain_tail`: the name from when only the last 100 events were checked.
            Some(e) => out.push(("chain_tail".into(), e.to_string())),
        }
        Ok(out)
    }
}

impl ReferenceData for SqliteStore {
    fn load_catalog(&self) -> Result<Vec<Sku>> {
        Self::all(&self.conn, "SELECT * FROM skus", Self::row_to_sku)
    }

    fn find_order(&self, code: &str) -> Result<Option<Order>> {
        Self::one(
            &self.conn,
            "SELECT * FROM orders WHERE order_no = ?1
             UNION ALL SELECT * FROM orders WHERE waybill_no = ?1 AND order_no <> ?1 LIMIT 1",
            code,
            Self::row_to_order,
        )
    }

    fn order_now(&self, order_no: &str) -> Result<Option<OrderNow>> {
        Self::one(
            &self.conn,
            "SELECT version, cancelled FROM orders WHERE order_no = ?1",
            order_no,
            |r| {
                Ok(OrderNow {
                    version: r.get(0)?,
                    cancelled: r.get::<_, i64>(1)? != 0,
                })
            },
        )
    }

    fn employee_by_badge(&self, badge: &str) -> Result<Option<Employee>> {
        Self::one(
            &self.conn,
            "SELECT * FROM employees WHERE badge = ?1",
            badge,
            Self::row_to_employee,
        )
    }

    fn employee(&self, id: &str) -> Result<Option<Employee>> {
        Self::one(&self.conn, SELECT_EMPLOYEE, id, Self::row_to_employee)
    }

    fn packaging(&self, code: &str) -> Result<Option<Packaging>> {
        Self::one(&self.conn, SELECT_PACKAGING, code, Self::row_to_packaging)
    }

    fn employees(&self) -> Result<Vec<Employee>> {
        Self::all(&self.conn, "SELECT * FROM employees", Self::row_to_employee)
    }

    fn packagings(&self) -> Result<Vec<Packaging>> {
        Self::all(
            &self.conn,
            "SELECT code, name, tare_g FROM packaging",
            Self::row_to_packaging,
        )
    }

    fn reference_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT version FROM reference_version")?
            .query_row([], |r| r.get(0))?)
    }

    fn import_at(
        &mut self,
        central_change_id: Option<i64>,
        plan: &mut dyn FnMut(&dyn ReferenceRead) -> Result<Changes>,
    ) -> Result<Vec<StoredEvent>> {
        self.import_tx(plan, central_change_id)
    }

    fn central_change_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT change_id FROM central_copy")?
            .query_row([], |r| r.get(0))?)
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
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let sync: i64 = s
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2));
    }

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
                    |r| r.get(0),
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

    /// The power-cut harness's switch: only `OFF` turns durability off; anything else, or
    /// nothing, keeps `FULL`. (The variable itself is not set here: tests share the process.)
    #[test]
    fn only_the_test_switch_set_to_off_turns_synchronous_off() {
        assert_eq!(synchronous_for(None), "FULL");
        assert_eq!(synchronous_for(Some("OFF")), "OFF");
        assert_eq!(synchronous_for(Some("off")), "FULL");
        assert_eq!(synchronous_for(Some("NORMAL")), "FULL");
    }
}
