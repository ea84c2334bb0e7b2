//! The central database as a read-only store, so every `audit` report and the supervisor
//! view run unchanged across all benches (`--central`). Writes go elsewhere: benches append
//! through their sync, imports through [`super::import_file`].

use tokio_postgres::Row;

use super::{with_client, Central, CentralError};
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::{Employee, Order, OrderLine, Packaging, Roles, Sku};
use crate::store::chain::ChainRow;
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

    fn order_of(&self, r: &Row) -> Result<Order> {
        let lines: String = r.get("lines");
        let lines: Vec<OrderLine> = serde_json::from_str(&lines)
            .map_err(|e| StoreError::Invalid(format!("central order lines: {e}")))?;
        Ok(Order {
            order_no: r.get("order_no"),
            waybill_no: r.get("waybill_no"),
            carrier: r.get("carrier"),
            recipient: r.get("recipient"),
            country: r.get("country"),
            address: r.get("address"),
            buyer_note: r.get("buyer_note"),
            lines,
            picker_id: r.get("picker_id"),
            cancelled: r.get("cancelled"),
        })
    }

    fn employee_of(r: &Row) -> Employee {
        let roles: String = r.get("roles");
        Employee {
            id: r.get("id"),
            name: r.get("name"),
            roles: Roles::parse(&roles).unwrap_or_default(),
            badge: r.get("badge"),
            pin_hash: r
                .get::<_, Option<String>>("pin_hash")
                .and_then(|h| crate::domain::pin::PinHash::parse(&h).ok()),
            active: r.get("active"),
        }
    }

    fn packaging_of(r: &Row) -> Packaging {
        Packaging {
            code: r.get("code"),
            name: r.get("name"),
            tare_g: r.get("tare_g"),
        }
    }
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
        self.rows("finding an order", &sql, code)?
            .first()
            .map(|r| self.order_of(r))
            .transpose()
    }

    fn order_now(&self, order_no: &str) -> Result<Option<OrderNow>> {
        let sql = format!("{ORDER} WHERE order_no = $1");
        Ok(self
            .rows("reading an order", &sql, order_no)?
            .first()
            .map(|r| OrderNow {
                version: r.get("version"),
                cancelled: r.get("cancelled"),
            }))
    }

    fn employee_by_badge(&self, badge: &str) -> Result<Option<Employee>> {
        let sql = format!("{EMPLOYEE} WHERE badge = $1");
        Ok(self
            .rows("reading an employee", &sql, badge)?
            .first()
            .map(Self::employee_of))
    }

    fn employee(&self, id: &str) -> Result<Option<Employee>> {
        let sql = format!("{EMPLOYEE} WHERE id = $1");
        Ok(self
            .rows("reading an employee", &sql, id)?
            .first()
            .map(Self::employee_of))
    }

    fn packaging(&self, code: &str) -> Result<Option<Packaging>> {
        let sql = format!("{PACKAGING} WHERE code = $1");
        Ok(self
            .rows("reading packaging", &sql, code)?
            .first()
            .map(Self::packaging_of))
    }

    fn employees(&self) -> Result<Vec<Employee>> {
        let sql = format!("{EMPLOYEE} WHERE $1::text IS NOT NULL ORDER BY id");
        Ok(self
            .rows("reading employees", &sql, "")?
            .iter()
            .map(Self::employee_of)
            .collect())
    }

    fn packagings(&self) -> Result<Vec<Packaging>> {
        let sql = format!("{PACKAGING} WHERE $1::text IS NOT NULL ORDER BY code");
        Ok(self
            .rows("reading packaging", &sql, "")?
            .iter()
            .map(Self::packaging_of)
            .collect())
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
