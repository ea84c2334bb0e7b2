//! SQLite backend: WAL with `synchronous=FULL`, so an event is on disk before `append`
//! returns; the log refuses UPDATE and DELETE by triggers and is hash-chained for when
//! someone drops them.

use std::path::Path;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde_json::{Map, Value};

use super::chain::{self, EventFields, GENESIS};
use super::{
    Checkpoint, EventFilter, ImportMeta, ImportReport, OrderNow, Progress, Result, Store,
    StoreError, VerifyError, VerifyReport,
};
use crate::domain::catalog::BarcodeEntry;
use crate::domain::event::{EventType, NewEvent, StoredEvent};
use crate::domain::{Employee, Order, OrderLine, Packaging, Roles, Sku};

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
];

pub struct SqliteStore {
    conn: Connection,
}

fn fmt_at(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn parse_at(s: &str) -> rusqlite::Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
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

    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a committed event survives a power cut, not just a process crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = SqliteStore { conn };
        store.migrate()?;
        Ok(store)
    }

    /// Direct access for tests and tools that must act as an attacker would.
    pub fn connection(&self) -> &Connection {
        &self.conn
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

    fn head(tx: &Connection) -> Result<(i64, [u8; 32])> {
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
        let (mut seq, mut prev) = Self::head(tx)?;
        let mut stmt = tx.prepare_cached(
            "INSERT INTO events (seq, at, type, actor, station_id, order_no, data, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            seq += 1;
            let at = fmt_at(&e.at);
            let data = serde_json::to_string(&e.data).expect("a JSON map always serialises");
            let hash = chain::event_hash(
                &prev,
                &EventFields {
                    seq,
                    at: &at,
                    kind: e.kind.as_str(),
                    actor: e.actor.as_deref(),
                    station_id: &e.station_id,
                    order_no: e.order_no.as_deref(),
                    data: &data,
                },
            );
            let hash_hex = hex::encode(hash);
            stmt.execute(params![
                seq,
                at,
                e.kind.as_str(),
                e.actor,
                e.station_id,
                e.order_no,
                data,
                hex::encode(prev),
                hash_hex
            ])?;
            out.push(StoredEvent {
                seq,
                at: parse_at(&at)?,
                kind: e.kind,
                actor: e.actor.clone(),
                station_id: e.station_id.clone(),
                order_no: e.order_no.clone(),
                data: e.data.clone(),
                hash: hash_hex,
            });
            prev = hash;
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
        })
    }

    fn import_event(
        tx: &Transaction,
        kind: &str,
        meta: &ImportMeta,
        report: &ImportReport,
        extra: Vec<NewEvent>,
    ) -> Result<()> {
        // Re-importing the same file changes nothing, not even the log.
        if report.added == 0 && report.changed == 0 && report.cancelled == 0 {
            return Ok(());
        }
        let mut events = extra;
        events.push(
            NewEvent::new(EventType::Imported, meta.at, &meta.station_id)
                .actor(Some("import"))
                .with("kind", kind)
                .with("file", meta.file.as_str())
                .with("sha256", meta.sha256.as_str())
                .with("rows", report.rows)
                .with("added", report.added)
                .with("changed", report.changed)
                .with("unchanged", report.unchanged)
                .with("cancelled", report.cancelled),
        );
        Self::append_tx(tx, &events)?;
        Ok(())
    }

    /// An immediate write transaction, for bulk tools and benchmarks that build large data
    /// sets in one go (with [`Self::append_in`]).
    pub fn tx(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Appends within a caller's transaction (benchmarks and bulk tools).
    pub fn append_in(tx: &Transaction, events: &[NewEvent]) -> Result<Vec<StoredEvent>> {
        Self::append_tx(tx, events)
    }
}

impl Store for SqliteStore {
    fn append(&mut self, events: &[NewEvent]) -> Result<Vec<StoredEvent>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = Self::append_tx(&tx, events)?;
        crash_point();
        tx.commit()?;
        Ok(out)
    }

    fn load_catalog(&self) -> Result<Vec<Sku>> {
        let mut stmt = self.conn.prepare(
            "SELECT sku, name, barcodes, unit_weight_g, weight_tolerance_g, attributes FROM skus",
        )?;
        let rows = stmt.query_map([], |r| {
            let barcodes: String = r.get(2)?;
            let attributes: String = r.get(5)?;
            Ok(Sku {
                sku: r.get(0)?,
                name: r.get(1)?,
                barcodes: serde_json::from_str::<Vec<BarcodeEntry>>(&barcodes).map_err(json_err)?,
                unit_weight_g: r.get(3)?,
                weight_tolerance_g: r.get(4)?,
                attributes: serde_json::from_str(&attributes).map_err(json_err)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn find_order(&self, code: &str) -> Result<Option<Order>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM orders WHERE order_no = ?1
             UNION ALL SELECT * FROM orders WHERE waybill_no = ?1 AND order_no <> ?1 LIMIT 1",
        )?;
        Ok(stmt.query_row([code], Self::row_to_order).optional()?)
    }

    fn order_now(&self, order_no: &str) -> Result<Option<OrderNow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT version, cancelled FROM orders WHERE order_no = ?1")?;
        Ok(stmt
            .query_row([order_no], |r| {
                Ok(OrderNow {
                    version: r.get(0)?,
                    cancelled: r.get::<_, i64>(1)? != 0,
                })
            })
            .optional()?)
    }

    fn employee_by_badge(&self, badge: &str) -> Result<Option<Employee>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM employees WHERE badge = ?1")?;
        Ok(stmt.query_row([badge], Self::row_to_employee).optional()?)
    }

    fn employee(&self, id: &str) -> Result<Option<Employee>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM employees WHERE id = ?1")?;
        Ok(stmt.query_row([id], Self::row_to_employee).optional()?)
    }

    fn packaging(&self, code: &str) -> Result<Option<Packaging>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT code, name, tare_g FROM packaging WHERE code = ?1")?;
        Ok(stmt
            .query_row([code], |r| {
                Ok(Packaging {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    tare_g: r.get(2)?,
                })
            })
            .optional()?)
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
            // Times carry their own offsets: compare instants, not strings.
            if filter.from.is_some_and(|from| e.at < from) || filter.to.is_some_and(|to| e.at > to)
            {
                continue;
            }
            if !f(e) {
                break;
            }
        }
        Ok(())
    }

    fn import_catalog(
        &mut self,
        skus: &[Sku],
        meta: &ImportMeta,
        progress: Progress,
    ) -> Result<ImportReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = ImportReport {
            rows: skus.len(),
            ..Default::default()
        };
        {
            let mut get = tx.prepare("SELECT name, barcodes, unit_weight_g, weight_tolerance_g, attributes FROM skus WHERE sku = ?1")?;
            let mut put = tx.prepare(
                "INSERT INTO skus (sku, name, barcodes, unit_weight_g, weight_tolerance_g, attributes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(sku) DO UPDATE SET name=excluded.name, barcodes=excluded.barcodes,
                   unit_weight_g=excluded.unit_weight_g, weight_tolerance_g=excluded.weight_tolerance_g,
                   attributes=excluded.attributes",
            )?;
            for (n, s) in skus.iter().enumerate() {
                if n % 1000 == 0 {
                    progress(n);
                }
                let barcodes = serde_json::to_string(&s.barcodes).expect("serialisable");
                let attributes = serde_json::to_string(&s.attributes).expect("serialisable");
                let old: Option<(String, String, f64, Option<f64>, String)> = get
                    .query_row([&s.sku], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .optional()?;
                let new = (
                    s.name.clone(),
                    barcodes.clone(),
                    s.unit_weight_g,
                    s.weight_tolerance_g,
                    attributes.clone(),
                );
                match old {
                    Some(o) if o == new => {
                        report.unchanged += 1;
                        continue;
                    }
                    Some(_) => report.changed += 1,
                    None => report.added += 1,
                }
                put.execute(params![
                    s.sku,
                    s.name,
                    barcodes,
                    s.unit_weight_g,
                    s.weight_tolerance_g,
                    attributes
                ])?;
            }
        }
        Self::import_event(&tx, "catalog", meta, &report, Vec::new())?;
        tx.commit()?;
        Ok(report)
    }

    fn import_orders(
        &mut self,
        orders: &[Order],
        meta: &ImportMeta,
        progress: Progress,
    ) -> Result<ImportReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = ImportReport {
            rows: orders.len(),
            ..Default::default()
        };
        let mut events = Vec::new();
        {
            let mut get =
                tx.prepare("SELECT version, cancelled, picker_id FROM orders WHERE order_no = ?1")?;
            let mut put = tx.prepare(
                "INSERT INTO orders (order_no, waybill_no, carrier, recipient, country, address,
                   buyer_note, lines, picker_id, cancelled, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT(order_no) DO UPDATE SET waybill_no=excluded.waybill_no,
                   carrier=excluded.carrier, recipient=excluded.recipient, country=excluded.country,
                   address=excluded.address, buyer_note=excluded.buyer_note, lines=excluded.lines,
                   picker_id=excluded.picker_id, cancelled=excluded.cancelled,
                   version=excluded.version",
            )?;
            for (n, o) in orders.iter().enumerate() {
                if n % 1000 == 0 {
                    progress(n);
                }
                let version = o.version();
                let old: Option<(String, bool, Option<String>)> = get
                    .query_row([&o.order_no], |r| {
                        Ok((r.get(0)?, r.get::<_, i64>(1)? != 0, r.get(2)?))
                    })
                    .optional()?;
                // A cancellation sticks: an older export without the status column must not
                // bring a cancelled order back to the bench.
                let cancelled = o.cancelled || old.as_ref().is_some_and(|x| x.1);
                match &old {
                    Some((v, c, p)) if *v == version && *c == cancelled && *p == o.picker_id => {
                        report.unchanged += 1;
                        continue;
                    }
                    Some((v, c, _)) => {
                        if *v != version {
                            report.changed += 1;
                            events.push(
                                NewEvent::new(EventType::OrderChanged, meta.at, &meta.station_id)
                                    .actor(Some("import"))
                                    .order(&o.order_no)
                                    .with("old_version", v.as_str())
                                    .with("version", version.as_str())
                                    .with("file", meta.file.as_str()),
                            );
                        } else if !*c && !cancelled {
                            // Only the imported picker changed.
                            report.changed += 1;
                        }
                        if cancelled && !*c {
                            report.cancelled += 1;
                            events.push(
                                NewEvent::new(EventType::OrderCancelled, meta.at, &meta.station_id)
                                    .actor(Some("import"))
                                    .order(&o.order_no)
                                    .with("file", meta.file.as_str()),
                            );
                        }
                    }
                    None => {
                        report.added += 1;
                        if cancelled {
                            report.cancelled += 1;
                        }
                    }
                }
                put.execute(params![
                    o.order_no,
                    o.waybill_no,
                    o.carrier,
                    o.recipient,
                    o.country,
                    o.address,
                    o.buyer_note,
                    serde_json::to_string(&o.lines).expect("serialisable"),
                    o.picker_id,
                    cancelled as i64,
                    version
                ])?;
            }
        }
        Self::import_event(&tx, "orders", meta, &report, events)?;
        tx.commit()?;
        Ok(report)
    }

    fn import_employees(
        &mut self,
        emps: &[Employee],
        meta: &ImportMeta,
        progress: Progress,
    ) -> Result<ImportReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = ImportReport {
            rows: emps.len(),
            ..Default::default()
        };
        {
            let mut get = tx.prepare("SELECT name, roles, badge FROM employees WHERE id = ?1")?;
            let mut put = tx.prepare(
                "INSERT INTO employees (id, name, roles, badge) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET name=excluded.name, roles=excluded.roles,
                   badge=excluded.badge",
            )?;
            for (n, e) in emps.iter().enumerate() {
                if n % 1000 == 0 {
                    progress(n);
                }
                let roles = e.roles.to_field();
                let old: Option<(String, String, String)> = get
                    .query_row([&e.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                match old {
                    Some(o) if o == (e.name.clone(), roles.clone(), e.badge.clone()) => {
                        report.unchanged += 1;
                        continue;
                    }
                    Some(_) => report.changed += 1,
                    None => report.added += 1,
                }
                put.execute(params![e.id, e.name, roles, e.badge])
                    .map_err(|err| match err {
                        rusqlite::Error::SqliteFailure(f, _)
                            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            StoreError::Invalid(format!(
                                "badge {} of {} is already the badge of another employee",
                                e.badge, e.id
                            ))
                        }
                        other => other.into(),
                    })?;
            }
        }
        Self::import_event(&tx, "employees", meta, &report, Vec::new())?;
        tx.commit()?;
        Ok(report)
    }

    fn import_packaging(
        &mut self,
        p: &[Packaging],
        meta: &ImportMeta,
        progress: Progress,
    ) -> Result<ImportReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = ImportReport {
            rows: p.len(),
            ..Default::default()
        };
        {
            let mut get = tx.prepare("SELECT name, tare_g FROM packaging WHERE code = ?1")?;
            let mut put = tx.prepare(
                "INSERT INTO packaging (code, name, tare_g) VALUES (?1, ?2, ?3)
                 ON CONFLICT(code) DO UPDATE SET name=excluded.name, tare_g=excluded.tare_g",
            )?;
            for (n, x) in p.iter().enumerate() {
                if n % 1000 == 0 {
                    progress(n);
                }
                let old: Option<(String, f64)> = get
                    .query_row([&x.code], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                match old {
                    Some(o) if o == (x.name.clone(), x.tare_g) => {
                        report.unchanged += 1;
                        continue;
                    }
                    Some(_) => report.changed += 1,
                    None => report.added += 1,
                }
                put.execute(params![x.code, x.name, x.tare_g])?;
            }
        }
        Self::import_event(&tx, "packaging", meta, &report, Vec::new())?;
        tx.commit()?;
        Ok(report)
    }

    fn verify(&self, checkpoint: Option<&Checkpoint>) -> Result<VerifyReport> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, type, actor, station_id, order_no, data, prev_hash, hash
             FROM events ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut prev = GENESIS;
        let mut expect_seq = 1i64;
        let mut count = 0i64;
        let mut last: Option<(i64, String)> = None;
        let mut error = None;
        let mut at_checkpoint: Option<String> = None;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let at: String = r.get(1)?;
            let kind: String = r.get(2)?;
            let actor: Option<String> = r.get(3)?;
            let station: String = r.get(4)?;
            let order_no: Option<String> = r.get(5)?;
            let data: String = r.get(6)?;
            let prev_hash: String = r.get(7)?;
            let hash: String = r.get(8)?;
            if seq != expect_seq {
                error = Some(VerifyError::Missing { seq: expect_seq });
                break;
            }
            let computed = chain::event_hash(
                &prev,
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
                // The row's own link tells a moved event from an edited one.
                let moved = prev_hash != hex::encode(prev);
                error = Some(if moved {
                    VerifyError::Broken { seq }
                } else {
                    VerifyError::Changed { seq }
                });
                break;
            }
            if let Some(cp) = checkpoint {
                if cp.seq == seq {
                    at_checkpoint = Some(hash.clone());
                }
            }
            prev = computed;
            expect_seq += 1;
            count += 1;
            last = Some((seq, hash));
        }
        if error.is_none() {
            if let Some(cp) = checkpoint {
                match at_checkpoint {
                    None => {
                        error = Some(VerifyError::Truncated {
                            have: last.as_ref().map(|l| l.0).unwrap_or(0),
                            checkpoint: cp.seq,
                        })
                    }
                    Some(h) if h != cp.hash => {
                        error = Some(VerifyError::CheckpointMismatch { seq: cp.seq })
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(VerifyReport {
            events: count,
            head: last.map(|(seq, hash)| Checkpoint {
                seq,
                hash,
                created_at: String::new(),
            }),
            error,
        })
    }

    fn checkpoint(&self, now: DateTime<FixedOffset>) -> Result<Option<Checkpoint>> {
        let (seq, hash) = Self::head(&self.conn)?;
        if seq == 0 {
            return Ok(None);
        }
        Ok(Some(Checkpoint {
            seq,
            hash: hex::encode(hash),
            created_at: fmt_at(&now),
        }))
    }
}

/// A testing aid for the crash harness: with `PACKBENCH_KILL_IN_APPEND=N` the process sends
/// itself SIGKILL inside its Nth append, with the events written into the open transaction
/// and the commit not yet made, so a kill lands in the middle of a commit for certain rather
/// than by chance.
fn crash_point() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    static APPENDS: AtomicU64 = AtomicU64::new(0);
    let at = AT.get_or_init(|| {
        std::env::var("PACKBENCH_KILL_IN_APPEND")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if let Some(n) = *at {
        if APPENDS.fetch_add(1, Ordering::Relaxed) + 1 == n {
            // SAFETY: kill(2) on this process's own pid.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
    }
}
