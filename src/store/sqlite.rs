//! SQLite backend: WAL with `synchronous=FULL`, so an event is on disk before `append`
//! returns; the log refuses UPDATE and DELETE by triggers and is hash-chained for when
//! someone drops them.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde_json::{Map, Value};

use super::chain::{self, ChainRow, GENESIS};
use super::{
    Changes, EventFilter, EventLog, OrderNow, OrderRow, Put, ReferenceData, ReferenceRead, Result,
    StoreError,
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
];

/// The triggers that keep the log append-only; a bench checks they are there at start.
pub const LOG_TRIGGERS: &[&str] = &["events_no_update", "events_no_delete", "events_append_only"];

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

    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        if killpoint::armed_at(Point::InsideCommit) {
            // The crash harness's kill point inside a commit (see `killpoint`); never set in
            // service. Returning false lets the commit go on.
            conn.commit_hook(Some(|| {
                killpoint::in_commit_hook();
                false
            }))?;
        }
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
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, type, actor, station_id, order_no, data, prev_hash, hash
             FROM events WHERE seq > ?1 ORDER BY seq",
        )?;
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

    fn startup_problems(&self) -> Result<Vec<(String, String)>> {
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
        if let Some(e) = chain::verify_tail(self, 100)? {
            out.push(("chain_tail".into(), e.to_string()));
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
