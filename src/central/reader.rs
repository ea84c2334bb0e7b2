//! The central database as a read-only store, so every `audit` report and the supervisor
//! view run unchanged across all benches (`--central`). Writes go elsewhere: benches append
//! through their sync, imports through [`super::import_file`].

use tokio_postgres::Row;

use super::{with_client, Central, CentralError};
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::{Employee, Order, Packaging, Sku};
use crate::store::chain::ChainRow;
use crate::store::row::FromRow;
use crate::store::{
    Changes, EventFilter, EventLog, OrderNow, ReferenceData, ReferenceRead, Result, StoreError,
};

/// A blocking, read-only view of the centre. Owns a small runtime of its own, so the
/// synchronous report code can use it from any thread that is not inside a runtime.
pub struct CentralReader {
    rt: tokio::runtime::Runtime,
    central: Central,
}

fn db_err(e: CentralError) -> StoreError {
    StoreError::Db(Box::new(e))
}

fn read_only(what: &str) -> StoreError {
    StoreError::Invalid(format!(
        "the central database is read here only: {what} goes through a bench's sync or `packbench import --central`"
    ))
}

impl CentralReader {
    pub fn new(central: Central) -> std::io::Result<CentralReader> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(CentralReader { rt, central })
    }

    pub fn central(&self) -> &Central {
        &self.central
    }

    /// Runs one of the centre's async calls on this reader's runtime (the console's worker).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn rows(&self, what: &'static str, sql: &str, key: &str) -> Result<Vec<Row>> {
        let c = &self.central;
        self.rt
            .block_on(async {
                with_client!(c, what, |client| async {
                    client
                        .query(sql, &[&key])
                        .await
                        .map_err(|e| c.query_err(what, e))
                })
            })
            .map_err(db_err)
    }
}

/// The first row, by its type's one decoder (the bench's store reads the same way).
fn one<T: FromRow<Row>>(rows: &[Row]) -> Result<Option<T>> {
    rows.first().map(|r| Ok(T::from_row(r)?)).transpose()
}

/// Every row, by its type's one decoder.
fn all<T: FromRow<Row>>(rows: &[Row]) -> Result<Vec<T>> {
    rows.iter().map(|r| Ok(T::from_row(r)?)).collect()
}

const ORDER: &str =
    "SELECT order_no, waybill_no, carrier, recipient, country, address, buyer_note, \
                     lines::text AS lines, picker_id, cancelled, version FROM orders";
// Never the PIN hash: consoles and benches may not read it; PINs are checked by the centre.
const EMPLOYEE: &str =
    "SELECT id, name, roles, badge, NULL::text AS pin_hash, active FROM employees";
const PACKAGING: &str = "SELECT code, name, tare_g FROM packaging";

impl EventLog for CentralReader {
    fn append(&mut self, _events: &[NewEvent]) -> Result<Vec<StoredEvent>> {
        Err(read_only("appending events"))
    }

    fn scan_events(
        &self,
        filter: &EventFilter,
        f: &mut dyn FnMut(StoredEvent) -> bool,
    ) -> Result<()> {
        // Events of types this build does not know (a newer bench) are left out of reports.
        let mut out = Vec::new();
        self.rt
            .block_on(self.central.scan_events(filter, &mut |e| {
                if let Some(s) = e.stored() {
                    out.push(s);
                }
                true
            }))
            .map_err(db_err)?;
        for e in out {
            if !f(e) {
                break;
            }
        }
        Ok(())
    }

    fn scan_chain(&self, _after: i64, _f: &mut dyn FnMut(ChainRow) -> bool) -> Result<()> {
        Err(StoreError::Invalid(
            "the central log is one chain per bench: use `packbench central verify`".into(),
        ))
    }

    fn head(&self) -> Result<Option<(i64, String)>> {
        Ok(None)
    }
}

impl ReferenceData for CentralReader {
    fn load_catalog(&self) -> Result<Vec<Sku>> {
        self.rt
            .block_on(self.central.load_catalog())
            .map_err(db_err)
    }

    fn find_order(&self, code: &str) -> Result<Option<Order>> {
        let sql = format!(
            "{ORDER} WHERE order_no = $1
             UNION ALL {ORDER} WHERE waybill_no = $1 AND order_no <> $1 LIMIT 1"
        );
        one(&self.rows("finding an order", &sql, code)?)
    }

    fn order_now(&self, order_no: &str) -> Result<Option<OrderNow>> {
        let sql = format!("{ORDER} WHERE order_no = $1");
        one(&self.rows("reading an order", &sql, order_no)?)
    }

    fn employee_by_badge(&self, badge: &str) -> Result<Option<Employee>> {
        let sql = format!("{EMPLOYEE} WHERE badge = $1");
        one(&self.rows("reading an employee", &sql, badge)?)
    }

    fn employee(&self, id: &str) -> Result<Option<Employee>> {
        let sql = format!("{EMPLOYEE} WHERE id = $1");
        one(&self.rows("reading an employee", &sql, id)?)
    }

    fn packaging(&self, code: &str) -> Result<Option<Packaging>> {
        let sql = format!("{PACKAGING} WHERE code = $1");
        one(&self.rows("reading packaging", &sql, code)?)
    }

    fn employees(&self) -> Result<Vec<Employee>> {
        let sql = format!("{EMPLOYEE} WHERE $1::text IS NOT NULL ORDER BY id");
        all(&self.rows("reading employees", &sql, "")?)
    }

    fn packagings(&self) -> Result<Vec<Packaging>> {
        let sql = format!("{PACKAGING} WHERE $1::text IS NOT NULL ORDER BY code");
        all(&self.rows("reading packaging", &sql, "")?)
    }

    fn reference_version(&self) -> Result<i64> {
        self.rt.block_on(self.central.master_head()).map_err(db_err)
    }

    fn import_at(
        &mut self,
        _central_change_id: Option<i64>,
        _plan: &mut dyn FnMut(&dyn ReferenceRead) -> Result<Changes>,
    ) -> Result<Vec<StoredEvent>> {
        Err(read_only("an import"))
    }

    /// The centre is the master data: it is always at its own head.
    fn central_change_id(&self) -> Result<i64> {
        self.reference_version()
    }
}
