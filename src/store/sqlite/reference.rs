//! Master data in the bench database (its own imports and its copy of the centre's), each
//! row type read through its one decoder ([`FromRow`]).

use rusqlite::{params, Connection, Row, Transaction, TransactionBehavior};

use super::SqliteStore;
use crate::domain::event::StoredEvent;
use crate::domain::{Employee, Order, Packaging, Sku};
use crate::store::row::FromRow;
use crate::store::{
    Changes, OrderNow, OrderRow, Put, ReferenceData, ReferenceRead, Result, StoreError,
};

impl SqliteStore {
    /// The first row of `sql` with `key`, decoded by its type's one decoder.
    fn one<T: for<'r> FromRow<Row<'r>>>(
        conn: &Connection,
        sql: &str,
        key: &str,
    ) -> Result<Option<T>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query([key])?;
        Ok(match rows.next()? {
            Some(r) => Some(T::from_row(r)?),
            None => None,
        })
    }

    /// Every row of `sql`, decoded by its type's one decoder.
    fn all<T: for<'r> FromRow<Row<'r>>>(conn: &Connection, sql: &str) -> Result<Vec<T>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(T::from_row(r)?);
        }
        Ok(out)
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
        SqliteStore::one(self.0, SELECT_SKU, sku)
    }

    fn order_row(&self, order_no: &str) -> Result<Option<OrderRow>> {
        SqliteStore::one(self.0, SELECT_ORDER, order_no)
    }

    fn employee(&self, id: &str) -> Result<Option<Employee>> {
        SqliteStore::one(self.0, SELECT_EMPLOYEE, id)
    }

    fn packaging(&self, code: &str) -> Result<Option<Packaging>> {
        SqliteStore::one(self.0, SELECT_PACKAGING, code)
    }
}

/// Imports, and the bench's copy of the central master data.
impl SqliteStore {
    /// Bounds this connection's page cache ([`super::open_background`]).
    pub(in crate::store) fn limit_cache(&self, kib: u32) -> Result<()> {
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

impl ReferenceData for SqliteStore {
    fn load_catalog(&self) -> Result<Vec<Sku>> {
        Self::all(&self.conn, "SELECT * FROM skus")
    }

    fn find_order(&self, code: &str) -> Result<Option<Order>> {
        Self::one(
            &self.conn,
            "SELECT * FROM orders WHERE order_no = ?1
             UNION ALL SELECT * FROM orders WHERE waybill_no = ?1 AND order_no <> ?1 LIMIT 1",
            code,
        )
    }

    fn order_now(&self, order_no: &str) -> Result<Option<OrderNow>> {
        Self::one(
            &self.conn,
            "SELECT version, cancelled FROM orders WHERE order_no = ?1",
            order_no,
        )
    }

    fn employee_by_badge(&self, badge: &str) -> Result<Option<Employee>> {
        Self::one(
            &self.conn,
            "SELECT * FROM employees WHERE badge = ?1",
            badge,
        )
    }

    fn employee(&self, id: &str) -> Result<Option<Employee>> {
        Self::one(&self.conn, SELECT_EMPLOYEE, id)
    }

    fn packaging(&self, code: &str) -> Result<Option<Packaging>> {
        Self::one(&self.conn, SELECT_PACKAGING, code)
    }

    fn employees(&self) -> Result<Vec<Employee>> {
        Self::all(&self.conn, "SELECT * FROM employees")
    }

    fn packagings(&self) -> Result<Vec<Packaging>> {
        Self::all(&self.conn, "SELECT code, name, tare_g FROM packaging")
    }

    fn reference_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT version FROM reference_version")?
            .query_row([], |r| r.get("version"))?)
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
            .query_row([], |r| r.get("change_id"))?)
    }
}
