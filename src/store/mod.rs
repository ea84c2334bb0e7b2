//! Persistence, split by the roles a backend plays: the append-only [`EventLog`], the
//! [`ReferenceData`] (catalog, employees, packaging, orders) and the order [`Claims`]. A
//! backend only stores and loads: the rules of an import live in `crate::import`, the chain
//! check in [`chain`], so a second backend (the central PostgreSQL, a test's memory store)
//! implements storage and nothing else.

pub mod chain;
pub mod row;
pub mod sqlite;

use std::path::Path;

use chrono::{DateTime, FixedOffset};

use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::{Employee, Order, Packaging, Sku};

pub use chain::{Checkpoint, VerifyError, VerifyReport};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (I/O, a locked or corrupt file, a lost connection).
    #[error("database error: {0}")]
    Db(Box<dyn std::error::Error + Send + Sync>),
    /// A write that would break a uniqueness rule (two employees with one badge).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// A database file that could not be opened, naming it (the cause is the source).
    #[error("{action} database {path}")]
    File {
        action: &'static str,
        path: String,
        #[source]
        source: Box<StoreError>,
    },
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

impl EventFilter {
    /// Whether an event passes the filter (for backends that filter in memory, and the
    /// time bounds, which compare instants rather than strings).
    pub fn admits(&self, e: &StoredEvent) -> bool {
        self.order_no
            .as_ref()
            .is_none_or(|o| e.order_no.as_ref() == Some(o))
            && self.station_id.as_ref().is_none_or(|s| &e.station_id == s)
            && self.after_seq.is_none_or(|a| e.seq > a)
            && (self.types.is_empty() || self.types.contains(&e.kind.as_str()))
            && self.from.is_none_or(|from| e.at >= from)
            && self.to.is_none_or(|to| e.at <= to)
    }
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

/// An order as stored: the imported order, its version fingerprint and whether it is
/// cancelled (a cancellation sticks across re-imports, so it is the store's, not the file's).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    pub order: Order,
    pub version: String,
}

/// One row an import writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Put {
    Sku(Sku),
    Order(OrderRow),
    Employee(Employee),
    Packaging(Packaging),
}

/// What an import writes, in one transaction: the rows and the events that record them.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub puts: Vec<Put>,
    pub events: Vec<NewEvent>,
}

/// Row lookups by key, as an import's rules need them (inside the import's transaction).
pub trait ReferenceRead {
    fn sku(&self, sku: &str) -> Result<Option<Sku>>;
    fn order_row(&self, order_no: &str) -> Result<Option<OrderRow>>;
    fn employee(&self, id: &str) -> Result<Option<Employee>>;
    fn packaging(&self, code: &str) -> Result<Option<Packaging>>;
}

/// The append-only, hash-chained event log.
pub trait EventLog {
    /// Appends events durably, in order, in one transaction; returns them as stored.
    fn append(&mut self, events: &[NewEvent]) -> Result<Vec<StoredEvent>>;

    /// Events in sequence order; `f` may stop the walk by returning false.
    fn scan_events(
        &self,
        filter: &EventFilter,
        f: &mut dyn FnMut(StoredEvent) -> bool,
    ) -> Result<()>;

    /// The rows after `after_seq` as stored, in sequence order, for the chain check and
    /// for shipping to a central log: the text that was hashed, not a re-serialisation.
    fn scan_chain(&self, after_seq: i64, f: &mut dyn FnMut(chain::ChainRow) -> bool) -> Result<()>;

    /// The last event's sequence number and hash, `None` for an empty log.
    fn head(&self) -> Result<Option<(i64, String)>>;

    fn events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>> {
        let mut out = Vec::new();
        self.scan_events(filter, &mut |e| {
            out.push(e);
            true
        })?;
        Ok(out)
    }

    /// Checks the whole chain, and the checkpoint when one is given ([`chain::verify`]).
    fn verify(&self, checkpoint: Option<&Checkpoint>) -> Result<VerifyReport> {
        chain::verify(self, checkpoint)
    }

    /// What is wrong with the log as a station finds it at start: its whole chain (and, for
    /// SQLite, the triggers that keep it append-only and the head verified at the last start:
    /// `SqliteStore`'s). Empty when all is well. `problem` names stay as they were when only
    /// the last 100 events were checked (`chain_tail`), so alarms stay comparable.
    fn startup_problems(&self) -> Result<Vec<(String, String)>> {
        Ok(match self.verify(None)?.error {
            Some(e) => vec![("chain_tail".into(), e.to_string())],
            None => Vec::new(),
        })
    }

    /// The head as a checkpoint to keep elsewhere ([`chain::checkpoint`]).
    fn checkpoint(&self, now: DateTime<FixedOffset>) -> Result<Option<Checkpoint>> {
        chain::checkpoint(self, now)
    }
}

/// Catalog, employees, packaging and orders: read by the bench, written by imports.
pub trait ReferenceData {
    fn load_catalog(&self) -> Result<Vec<Sku>>;
    /// An order by order number or waybill number.
    fn find_order(&self, code: &str) -> Result<Option<Order>>;
    fn order_now(&self, order_no: &str) -> Result<Option<OrderNow>>;
    fn employee_by_badge(&self, badge: &str) -> Result<Option<Employee>>;
    fn employee(&self, id: &str) -> Result<Option<Employee>>;
    fn packaging(&self, code: &str) -> Result<Option<Packaging>>;
    /// Every employee and packaging type (small tables a bench keeps in memory).
    fn employees(&self) -> Result<Vec<Employee>>;
    fn packagings(&self) -> Result<Vec<Packaging>>;

    /// A number that changes whenever the reference data changed since it was last read
    /// (an import by another process, a central update): a running bench compares it
    /// instead of re-reading what it holds in memory.
    fn reference_version(&self) -> Result<i64>;

    /// One import: `plan` reads the current rows and returns what to write; the rows, the
    /// events and `central_change_id` (when given: the centre's change a bench's copy of
    /// master data reaches) are written in one transaction, or nothing is. A crash leaves
    /// the copy at the old change id or the new, never between.
    fn import_at(
        &mut self,
        central_change_id: Option<i64>,
        plan: &mut dyn FnMut(&dyn ReferenceRead) -> Result<Changes>,
    ) -> Result<Vec<StoredEvent>>;

    /// The central change id this copy of master data holds (0: none yet).
    fn central_change_id(&self) -> Result<i64>;

    /// An import by a person or a program (not from the centre).
    fn import(
        &mut self,
        plan: &mut dyn FnMut(&dyn ReferenceRead) -> Result<Changes>,
    ) -> Result<Vec<StoredEvent>> {
        self.import_at(None, plan)
    }
}

/// Everything a bench and the audit read and write. A backend implements the roles;
/// this is only their sum.
pub trait Store: EventLog + ReferenceData {}
impl<T: EventLog + ReferenceData> Store for T {}

/// Who holds an order, when a claim is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub station_id: String,
    pub packer_id: Option<String>,
    pub since: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// This bench holds the order. `epoch` is the central claim's (`None`: opened offline,
    /// unclaimed); `history` is the order's events from other benches, so their counts show.
    Granted {
        epoch: Option<i64>,
        history: Vec<StoredEvent>,
    },
    /// Another bench holds it.
    Held(Holder),
    /// Packed already, at another bench (`since` is when).
    Packed(Holder),
    /// No answer in time and the offline rule does not allow opening it.
    Unreachable(String),
}

/// Order claims: two benches never pack one order. A bench alone holds every order it
/// opens without asking; with a central database the claim is one round trip there. A
/// claim ends through the bench's own events (packed, held, released), which the centre
/// reads as they arrive, so ending one never waits on the network.
pub trait Claims: Send {
    fn claim(&mut self, order_no: &str, packer_id: &str) -> ClaimOutcome;

    /// Other benches' events of a packed order, for a return checked in at this bench (one
    /// round trip, bounded like a claim). A bench alone has none.
    fn packed_history(&mut self, _order_no: &str) -> Vec<StoredEvent> {
        Vec::new()
    }

    /// A PIN checked at the centre, which counts wrong ones across every bench and console
    /// (bounded like a claim). `None` when there is no centre or it did not answer: the
    /// bench's own copy decides.
    fn check_pin(
        &mut self,
        _employee_id: &str,
        _pin: &crate::domain::pin::Pin,
    ) -> Option<crate::central::PinCheck> {
        None
    }
}

/// Opens a database only to read it (audit, the screen's lookups): never created, never
/// migrated, never written, and readable on a write-protected copy.
pub fn open_read_only(path: &Path) -> Result<SqliteStore> {
    if !path.exists() {
        return Err(StoreError::Invalid(format!(
            "database {} does not exist (give --db or run in the station's folder)",
            path.display()
        )));
    }
    SqliteStore::open_read_only(path).map_err(|e| StoreError::File {
        action: "cannot read",
        path: path.display().to_string(),
        source: Box::new(e),
    })
}

/// Opens (creating and migrating) the bench's database; the one way every front end and
/// command gets a store, with the error naming the file.
pub fn open(path: &Path) -> Result<SqliteStore> {
    SqliteStore::open(path).map_err(|e| StoreError::File {
        action: "cannot open",
        path: path.display().to_string(),
        source: Box::new(e),
    })
}

/// Another connection to the bench's database, for a background task that reads the log
/// once front to back or writes a few rows (the central link): its page cache is bounded,
/// as such a task gains nothing from keeping pages (SQLite's default is 2 MiB each).
pub fn open_background(path: &Path) -> Result<SqliteStore> {
    let store = open(path)?;
    store.limit_cache(BACKGROUND_CACHE_KIB)?;
    Ok(store)
}

/// Page cache of each background connection.
const BACKGROUND_CACHE_KIB: u32 = 256;

/// An empty database in memory, created and migrated like [`open`]'s, gone when dropped.
pub fn open_in_memory() -> Result<SqliteStore> {
    SqliteStore::open_in_memory()
}

/// Who and what an import event records.
#[derive(Debug, Clone)]
pub struct ImportMeta {
    pub file: String,
    pub sha256: String,
    pub station_id: String,
    pub at: DateTime<FixedOffset>,
}
