//! Persistence. `Store` is the interface every backend implements (SQLite today; a shared
//! PostgreSQL for many benches later), so the station and the audit code never name SQLite.

pub mod chain;
pub mod sqlite;

use chrono::{DateTime, FixedOffset};

use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::{Employee, Order, Packaging, Sku};

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Which events to read. Every bound is optional and inclusive.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub from: Option<DateTime<FixedOffset>>,
    pub to: Option<DateTime<FixedOffset>>,
    pub order_no: Option<String>,
    pub types: Vec<&'static str>,
    pub station_id: Option<String>,
    pub after_seq: Option<i64>,
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub cancelled: usize,
}

/// The state of an order as the store sees it now (for the stale-version check).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderNow {
    pub version: String,
    pub cancelled: bool,
}

/// The head of the event log: what a checkpoint records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// An event's stored hash does not match its contents.
    Changed { seq: i64 },
    /// A sequence number is missing.
    Missing { seq: i64 },
    /// The event does not chain onto the one before it (reordered or spliced).
    Broken { seq: i64 },
    /// The log ends before the checkpoint's sequence number.
    Truncated { have: i64, checkpoint: i64 },
    /// The checkpoint's event is there but is not the one the checkpoint saw.
    CheckpointMismatch { seq: i64 },
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::Changed { seq } => {
                write!(f, "event {seq} was changed: its contents no longer match its hash")
            }
            VerifyError::Missing { seq } => write!(f, "event {seq} is missing from the log"),
            VerifyError::Broken { seq } => write!(
                f,
                "event {seq} does not follow the event before it: events were removed, inserted or reordered"
            ),
            VerifyError::Truncated { have, checkpoint } => write!(
                f,
                "the log ends at event {have} but the checkpoint saw event {checkpoint}: events after {have} were removed"
            ),
            VerifyError::CheckpointMismatch { seq } => write!(
                f,
                "event {seq} is not the event the checkpoint recorded: the log was rewritten"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: i64,
    pub head: Option<Checkpoint>,
    pub error: Option<VerifyError>,
}

pub trait Store {
    /// Appends events durably, in order, in one transaction; returns them as stored.
    fn append(&mut self, events: &[NewEvent]) -> Result<Vec<StoredEvent>>;

    fn load_catalog(&self) -> Result<Vec<Sku>>;
    /// An order by order number or waybill number.
    fn find_order(&self, code: &str) -> Result<Option<Order>>;
    fn order_now(&self, order_no: &str) -> Result<Option<OrderNow>>;
    fn employee_by_badge(&self, badge: &str) -> Result<Option<Employee>>;
    fn employee(&self, id: &str) -> Result<Option<Employee>>;
    fn packaging(&self, code: &str) -> Result<Option<Packaging>>;

    /// Events in sequence order; `f` may stop the walk by returning false.
    fn scan_events(
        &self,
        filter: &EventFilter,
        f: &mut dyn FnMut(StoredEvent) -> bool,
    ) -> Result<()>;

    fn events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>> {
        let mut out = Vec::new();
        self.scan_events(filter, &mut |e| {
            out.push(e);
            true
        })?;
        Ok(out)
    }

    fn import_catalog(
        &mut self,
        skus: &[Sku],
        meta: &ImportMeta,
        progress: Progress,
    ) -> Result<ImportReport>;
    fn import_orders(
        &mut self,
        orders: &[Order],
        meta: &ImportMeta,
        progress: Progress,
    ) -> Result<ImportReport>;
    fn import_employees(
        &mut self,
        emps: &[Employee],
        meta: &ImportMeta,
        progress: Progress,
    ) -> Result<ImportReport>;
    fn import_packaging(
        &mut self,
        p: &[Packaging],
        meta: &ImportMeta,
        progress: Progress,
    ) -> Result<ImportReport>;

    /// Checks the whole chain, and the checkpoint when one is given.
    fn verify(&self, checkpoint: Option<&Checkpoint>) -> Result<VerifyReport>;
    fn checkpoint(&self, now: DateTime<FixedOffset>) -> Result<Option<Checkpoint>>;
}

/// Called with the number of rows written so far, for a progress bar.
pub type Progress<'a> = &'a mut dyn FnMut(usize);

/// Who and what an import event records.
#[derive(Debug, Clone)]
pub struct ImportMeta {
    pub file: String,
    pub sha256: String,
    pub station_id: String,
    pub at: DateTime<FixedOffset>,
}
