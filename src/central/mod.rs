//! Many benches, one central PostgreSQL (contract: "Many benches, one central PostgreSQL").
//!
//! Everything the centre does, as a self-contained async API over `tokio-postgres` with a small
//! `deadpool` pool. Hand-written SQL with bind parameters only; the rules that matter for
//! safety (chain checks, claims, who may write what) live in the database, in the `pb_*`
//! functions of [`schema`], so they hold for any client.
//!
//! # Set-up (administrator)
//! - [`init`]`(url, password_file)`: create or migrate the schema; idempotent
//!   (`packbench central init`).
//! - [`add_bench`]`(url, password_file, station_id)` → [`AddedBench`] with the bench's own
//!   `postgres://` URL and generated password (`packbench central add-bench`); adding a
//!   bench again gives it a new password.
//!
//! # A bench
//! - [`Central::connect`]`(url, password_file)` (pool of 2; [`Central::connect_with`] and
//!   [`ConnectOptions`] for other sizes and timeouts). Every call is bounded by
//!   `ConnectOptions::op_timeout`; a connection that timed out is thrown away, never reused.
//! - [`Central::ship`]`(&[ShipEvent])` → [`ShipOutcome`]: the sync task sends its log in
//!   order (any batch size, re-sends welcome: known events are skipped). `refused` says which
//!   event the centre would not take and why (an alarm is raised centrally); `flagged` lists
//!   the seqs stored with a `claim_conflict`.
//! - [`Central::claim`]`(station, order_no, packer, lease)` → [`ClaimOutcome`] (one round
//!   trip; bound it by `claim_timeout_ms` at the call site). [`Central::release`] by the
//!   holder. Events made under a claim carry its epoch in [`ShipEvent::claim_epoch`].
//! - [`Central::heartbeat`]`(station, &BenchReport)`: who is signed in, the held order, the
//!   backlog; also marks the bench online.
//! - [`Central::changes_since`]`(change_id, limit)` → [`MasterChanges`] to apply to the local
//!   SQLite copy, and a [`Listener`] ([`Central::listener`]) on its own connection that
//!   reports [`ListenerEvent::Changed`] within a moment of every central change, and catches
//!   up after every reconnect and periodically.
//!
//! # Supervisor and audit
//! - [`Central::supervisor_release`] (`central release`; `by` must be a supervisor),
//!   [`Central::status`] (`central status`), [`Central::alarms`] /
//!   [`Central::acknowledge_alarm`], [`Central::head`] of one station.
//! - [`Central::order_events`] (order number or waybill), [`Central::events`] /
//!   [`Central::scan_events`] with a [`crate::store::EventFilter`]: every bench's events (and
//!   the centre's), ordered by time, then station and seq, as [`CentralEvent`] (the type as
//!   text; [`CentralEvent::stored`] gives a [`crate::domain::event::StoredEvent`] when this
//!   build knows the type).
//! - [`Central::verify`] (every chain rehashed with [`crate::store::chain::event_hash`],
//!   heads, stored checkpoints; the first bad station and seq), [`Central::checkpoint`] →
//!   [`CentralCheckpoint`] (JSON, `write`/`read`), [`Central::verify_checkpoint_file`].
//! - Central imports: [`Central::import_parsed`] takes rows already parsed by
//!   [`crate::import`] and applies the same rules as every store ([`crate::import::plan`]); [`import_file`] is the whole
//!   `packbench import KIND FILE --central URL`; [`Central::load_catalog`] for checks. Their
//!   events (`imported`, `order_changed`, `order_cancelled`) are on the chain of the
//!   pseudo-station [`CENTRAL_STATION`], as are supervisor releases and claim conflicts.
//!
//! Errors are [`CentralError`] values naming the database (`user@host:port/dbname`, never the
//! password) and what failed; a database that is down is an error, never a panic.

mod admit;
mod claims;
pub mod conn;
mod ingest;
mod listen;
mod master;
mod pins;
pub mod privileges;
mod read;
mod reader;
mod roles;
pub mod schema;
mod supervise;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use crate::store::row::FromRow;

pub use admit::{admit, SignInRefusal};
pub use claims::{ClaimOutcome, ReleaseOutcome};
pub use conn::SslMode;
pub use ingest::{BenchReport, Refusal, ShipEvent, ShipOutcome};
pub use listen::{Listener, ListenerEvent};
pub use master::{check_file, import_data_set, import_file, MasterChanges};
pub use pins::{Login, PinCheck};
pub use read::{
    Alarm, BenchState, CentralCheckpoint, CentralEvent, CentralVerifyError, CentralVerifyReport,
    CheckpointHead, HeldOrder, StationSummary,
};
pub use reader::CentralReader;
pub use roles::{add_bench, add_console, AddedBench, AddedConsole};
pub use schema::{init, init_report, InitReport, CENTRAL_STATION};
pub use supervise::{
    per_order_rate, BoardRow, HitKind, HourlyRow, LastRefusal, Report, ReportRow, ReviewItem,
    SearchHit, Waiting, SEARCH_MIN_CHARS,
};

/// What went wrong, naming the database.
#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    #[error("central database {db}: {message}")]
    Config { db: String, message: String },
    #[error("central database {db} is unreachable: {}", pg_message(.source))]
    Connect {
        db: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("central database {db}: no connection: {message}")]
    Pool { db: String, message: String },
    #[error("central database {db}: {what} failed: {}", pg_message(.source))]
    Query {
        db: String,
        what: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error(
        "central database {db}: {what} took longer than {after:?}; the connection was dropped"
    )]
    Timeout {
        db: String,
        what: &'static str,
        after: Duration,
    },
    #[error("central database {db}: {message}")]
    Refused { db: String, message: String },
    #[error("central database {db}: {message}")]
    Data { db: String, message: String },
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

/// tokio-postgres shows a server error as just "db error": say what the server said.
pub(crate) fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = db.message().to_string();
            if let Some(d) = db.detail() {
                m.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                m.push_str(&format!("; hint: {h}"));
            }
            m
        }
        None => {
            let mut m = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                m.push_str(&format!(": {s}"));
                src = s.source();
            }
            m
        }
    }
}

impl CentralError {
    /// The SQLSTATE of a refusal by PostgreSQL, e.g. `42501` (insufficient privilege).
    pub fn sql_state(&self) -> Option<&str> {
        match self {
            CentralError::Query { source, .. } | CentralError::Connect { source, .. } => {
                source.code().map(|c| c.code())
            }
            _ => None,
        }
    }

    /// The server's own message, when PostgreSQL refused something.
    pub fn db_message(&self) -> Option<&str> {
        match self {
            CentralError::Query { source, .. } | CentralError::Connect { source, .. } => {
                source.as_db_error().map(|e| e.message())
            }
            _ => None,
        }
    }

    /// True when the database could not be reached or the connection broke (retry later),
    /// false when it answered with a refusal.
    pub fn is_unreachable(&self) -> bool {
        match self {
            CentralError::Connect { .. }
            | CentralError::Pool { .. }
            | CentralError::Timeout { .. } => true,
            CentralError::Query { source, .. } => {
                source.as_db_error().is_none() || source.is_closed()
            }
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, CentralError>;

/// Pool and timeout settings.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Connections the pool may open: a bench needs 1–2 (its listener has one more).
    pub max_connections: usize,
    /// Upper bound of any one call (query or transaction), waiting for a connection included.
    pub op_timeout: Duration,
    /// How often the [`Listener`] asks for the master head even without notifications.
    pub catch_up_every: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 2,
            op_timeout: Duration::from_secs(10),
            catch_up_every: Duration::from_secs(10),
        }
    }
}

/// A connection pool to the central database.
#[derive(Clone)]
pub struct Central {
    pool: Pool,
    target: Arc<conn::Target>,
    opts: ConnectOptions,
}

impl std::fmt::Debug for Central {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Central")
            .field("db", &self.target.db)
            .finish_non_exhaustive()
    }
}

pub(crate) type Client = deadpool_postgres::Object;

impl Central {
    /// A pool of 2 connections (opened lazily: this does not touch the network, so a bench
    /// starts while the centre is down).
    pub fn connect(url: &str, password_file: Option<&Path>) -> Result<Central> {
        Self::connect_with(url, password_file, ConnectOptions::default())
    }

    pub fn connect_with(
        url: &str,
        password_file: Option<&Path>,
        opts: ConnectOptions,
    ) -> Result<Central> {
        let target = conn::Target::parse(url, password_file)?;
        let mgr = Manager::from_config(
            target.config.clone(),
            target.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(opts.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(opts.op_timeout))
            .create_timeout(Some(opts.op_timeout))
            .recycle_timeout(Some(opts.op_timeout))
            .build()
            .map_err(|e| CentralError::Config {
                db: target.db.to_string(),
                message: format!("connection pool: {e}"),
            })?;
        Ok(Central {
            pool,
            target: Arc::new(target),
            opts,
        })
    }

    /// `user@host:port/dbname`, for messages.
    pub fn database(&self) -> &str {
        &self.target.db
    }

    pub fn options(&self) -> &ConnectOptions {
        &self.opts
    }

    /// Connections open now (in use or idle), for the connection-count figures.
    pub fn open_connections(&self) -> usize {
        self.pool.status().size
    }

    /// A connection from the pool.
    pub(crate) async fn client(&self) -> Result<Client> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(source) => CentralError::Connect {
                db: self.target.db.to_string(),
                source,
            },
            deadpool_postgres::PoolError::Timeout(_) => CentralError::Timeout {
                db: self.target.db.to_string(),
                what: "waiting for a connection",
                after: self.opts.op_timeout,
            },
            other => CentralError::Pool {
                db: self.target.db.to_string(),
                message: other.to_string(),
            },
        })
    }

    pub(crate) fn query_err(
        &self,
        what: &'static str,
        source: tokio_postgres::Error,
    ) -> CentralError {
        CentralError::Query {
            db: self.target.db.to_string(),
            what,
            source,
        }
    }

    pub(crate) fn data_err(&self, message: impl Into<String>) -> CentralError {
        CentralError::Data {
            db: self.target.db.to_string(),
            message: message.into(),
        }
    }

    /// A row of the centre decoded by its type's one decoder ([`FromRow`]), every column by
    /// name; a row that does not decode is an error naming the database.
    pub(crate) fn decode<T: FromRow<tokio_postgres::Row>>(
        &self,
        r: &tokio_postgres::Row,
    ) -> Result<T> {
        T::from_row(r).map_err(|e| self.data_err(e.to_string()))
    }

    /// Every row, as [`Central::decode`].
    pub(crate) fn decode_all<T: FromRow<tokio_postgres::Row>>(
        &self,
        rows: &[tokio_postgres::Row],
    ) -> Result<Vec<T>> {
        rows.iter().map(|r| self.decode(r)).collect()
    }

    pub(crate) fn timeout_err(&self, what: &'static str) -> CentralError {
        CentralError::Timeout {
            db: self.target.db.to_string(),
            what,
            after: self.opts.op_timeout,
        }
    }
}

/// Runs `$body` (an async block using the connection `$client`) within the operation
/// timeout. On timeout the connection is taken out of the pool and closed: it may be stuck
/// behind a stalled network and must not serve the next call.
macro_rules! with_client {
    ($central:expr, $what:expr, |$client:ident| $body:expr) => {{
        let central: &$crate::central::Central = $central;
        let mut obj = central.client().await?;
        let res = {
            let $client = &mut obj;
            tokio::time::timeout(central.options().op_timeout, $body).await
        };
        match res {
            Ok(r) => r,
            Err(_) => {
                drop(deadpool_postgres::Object::take(obj));
                Err(central.timeout_err($what))
            }
        }
    }};
}
pub(crate) use with_client;

/// Formats an event time as the bench does before hashing it (RFC 3339, milliseconds).
pub(crate) use crate::store::chain::format_at as fmt_at;
