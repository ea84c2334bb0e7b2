//! A second backend, in memory: it only stores and loads (the chain, the import rules and
//! the engine are the library's), which is what proves a backend is only storage.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use packbench::domain::event::{NewEvent, StoredEvent};
use packbench::domain::{Employee, Order, Packaging, Sku};
use packbench::store::chain::{self, ChainRow, GENESIS};
use packbench::store::*;

#[derive(Clone, Default)]
struct Tables {
    skus: BTreeMap<String, Sku>,
    orders: BTreeMap<String, OrderRow>,
    employees: BTreeMap<String, Employee>,
    packaging: BTreeMap<String, Packaging>,
    version: i64,
    change_id: i64,
}

#[derive(Default)]
pub struct MemoryStore {
    log: Vec<(ChainRow, StoredEvent)>,
    t: Tables,
    /// While set, appends fail as on a full disk.
    pub full: Arc<AtomicBool>,
}

impl ReferenceRead for Tables {
    fn sku(&self, sku: &str) -> Result<Option<Sku>> {
        Ok(self.skus.get(sku).cloned())
    }
    fn order_row(&self, order_no: &str) -> Result<Option<OrderRow>> {
        Ok(self.orders.get(order_no).cloned())
    }
    fn employee(&self, id: &str) -> Result<Option<Employee>> {
        Ok(self.employees.get(id).cloned())
    }
    fn packaging(&self, code: &str) -> Result<Option<Packaging>> {
        Ok(self.packaging.get(code).cloned())
    }
}

impl MemoryStore {
    /// A copy with a disk-full switch of its own.
    pub fn copy(&self) -> MemoryStore {
        MemoryStore {
            log: self.log.clone(),
            t: self.t.clone(),
            full: Arc::default(),
        }
    }

    /// The fixtures imported once per test process, copied for each caller (see
    /// `store_with_fixtures`).
    pub fn with_fixtures() -> MemoryStore {
        static TEMPLATE: std::sync::OnceLock<std::sync::Mutex<MemoryStore>> =
            std::sync::OnceLock::new();
        TEMPLATE
            .get_or_init(|| {
                let mut s = MemoryStore::default();
                super::import_fixtures(&mut s);
                std::sync::Mutex::new(s)
            })
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .copy()
    }

    fn sealed(&self, events: &[NewEvent]) -> Result<Vec<(ChainRow, StoredEvent)>> {
        if self.full.load(Ordering::SeqCst) {
            return Err(StoreError::Db("database or disk is full".into()));
        }
        let (mut seq, mut prev) = match self.log.last() {
            Some((r, _)) => (r.seq, chain::parse_hash(&r.hash).expect("own hash")),
            None => (0, GENESIS),
        };
        Ok(events
            .iter()
            .map(|e| {
                seq += 1;
                let s = chain::seal(&prev, seq, e);
                prev = s.hash;
                (s.row, s.event)
            })
            .collect())
    }
}

impl EventLog for MemoryStore {
    fn append(&mut self, events: &[NewEvent]) -> Result<Vec<StoredEvent>> {
        let new = self.sealed(events)?;
        let out = new.iter().map(|(_, e)| e.clone()).collect();
        self.log.extend(new);
        Ok(out)
    }
    fn scan_events(&self, f: &EventFilter, g: &mut dyn FnMut(StoredEvent) -> bool) -> Result<()> {
        for (_, e) in self.log.iter().filter(|(_, e)| f.admits(e)) {
            if !g(e.clone()) {
                break;
            }
        }
        Ok(())
    }
    fn scan_chain(&self, after: i64, g: &mut dyn FnMut(ChainRow) -> bool) -> Result<()> {
        for (r, _) in self.log.iter().filter(|(r, _)| r.seq > after) {
            if !g(r.clone()) {
                break;
            }
        }
        Ok(())
    }
    fn head(&self) -> Result<Option<(i64, String)>> {
        Ok(self.log.last().map(|(r, _)| (r.seq, r.hash.clone())))
    }
}

impl ReferenceData for MemoryStore {
    fn load_catalog(&self) -> Result<Vec<Sku>> {
        Ok(self.t.skus.values().cloned().collect())
    }
    fn find_order(&self, code: &str) -> Result<Option<Order>> {
        let by_no = self.t.orders.get(code);
        let by_waybill = || self.t.orders.values().find(|o| o.order.waybill_no == code);
        Ok(by_no.or_else(by_waybill).map(|o| o.order.clone()))
    }
    fn order_now(&self, order_no: &str) -> Result<Option<OrderNow>> {
        Ok(self.t.orders.get(order_no).map(|o| OrderNow {
            version: o.version.clone(),
            cancelled: o.order.cancelled,
        }))
    }
    fn employee_by_badge(&self, badge: &str) -> Result<Option<Employee>> {
        Ok(self
            .t
            .employees
            .values()
            .find(|e| e.badge == badge)
            .cloned())
    }
    fn employee(&self, id: &str) -> Result<Option<Employee>> {
        self.t.employee(id)
    }
    fn packaging(&self, code: &str) -> Result<Option<Packaging>> {
        ReferenceRead::packaging(&self.t, code)
    }
    fn employees(&self) -> Result<Vec<Employee>> {
        Ok(self.t.employees.values().cloned().collect())
    }
    fn packagings(&self) -> Result<Vec<Packaging>> {
        Ok(self.t.packaging.values().cloned().collect())
    }
    fn reference_version(&self) -> Result<i64> {
        Ok(self.t.version)
    }
    fn central_change_id(&self) -> Result<i64> {
        Ok(self.t.change_id)
    }
    fn import_at(
        &mut self,
        change_id: Option<i64>,
        plan: &mut dyn FnMut(&dyn ReferenceRead) -> Result<Changes>,
    ) -> Result<Vec<StoredEvent>> {
        // Written into a copy, kept only when everything succeeded: all or nothing.
        let changes = plan(&self.t)?;
        let mut t = self.t.clone();
        for p in changes.puts.iter().cloned() {
            match p {
                Put::Sku(s) => drop(t.skus.insert(s.sku.clone(), s)),
                Put::Order(o) => drop(t.orders.insert(o.order.order_no.clone(), o)),
                Put::Packaging(x) => drop(t.packaging.insert(x.code.clone(), x)),
                Put::Employee(e) => {
                    if t.employees
                        .values()
                        .any(|o| o.badge == e.badge && o.id != e.id)
                    {
                        return Err(StoreError::Conflict(format!(
                            "badge {} of {} is already the badge of another employee",
                            e.badge, e.id
                        )));
                    }
                    t.employees.insert(e.id.clone(), e);
                }
            }
        }
        t.version += !changes.puts.is_empty() as i64;
        t.change_id = change_id.unwrap_or(t.change_id);
        let new = self.sealed(&changes.events)?;
        self.t = t;
        let out = new.iter().map(|(_, e)| e.clone()).collect();
        self.log.extend(new);
        Ok(out)
    }
}
