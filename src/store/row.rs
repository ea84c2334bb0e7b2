//! Rows read by column name, through one decoder per row type ([`FromRow`]).
//!
//! The master data (orders, SKUs, employees, packaging) and the chain's rows are stored both
//! in a bench's SQLite and in the centre's PostgreSQL; each type has ONE decoder, generic over
//! [`NamedRow`], which both drivers' rows implement. Rows only one backend has implement
//! [`FromRow`] for that backend's row type alone (the centre's in `central::rows`).

use chrono::DateTime;
use serde_json::{Map, Value as Json};

use crate::domain::catalog::BarcodeEntry;
use crate::domain::event::{EventType, StoredEvent};
use crate::domain::pin::PinHash;
use crate::domain::{Employee, Order, OrderLine, Packaging, Roles, Sku};

use super::chain::ChainRow;
use super::{OrderNow, OrderRow, StoreError};

/// A row could not be decoded: a column missing or of another type, or a text column whose
/// content does not parse.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("{0}")]
    Column(Box<dyn std::error::Error + Send + Sync>),
    #[error("{0}")]
    Data(String),
}

impl From<rusqlite::Error> for RowError {
    fn from(e: rusqlite::Error) -> Self {
        RowError::Column(Box::new(e))
    }
}

impl From<tokio_postgres::Error> for RowError {
    fn from(e: tokio_postgres::Error) -> Self {
        RowError::Column(Box::new(e))
    }
}

impl From<RowError> for StoreError {
    fn from(e: RowError) -> Self {
        match e {
            // As the driver's own errors were before: the stored row is unreadable.
            RowError::Column(e) => StoreError::Db(e),
            RowError::Data(m) => StoreError::Db(m.into()),
        }
    }
}

/// A value both drivers can read from a column (text, numbers, booleans, and `Option`s of
/// them).
pub trait Value: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a> {}
impl<T> Value for T where T: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a> {}

/// A row whose columns are read by name, whichever database it came from.
pub trait NamedRow {
    fn col<T: Value>(&self, name: &str) -> Result<T, RowError>;
    /// Whether the row has the column (an older file may lack newer columns).
    fn has(&self, name: &str) -> bool;
}

impl NamedRow for rusqlite::Row<'_> {
    fn col<T: Value>(&self, name: &str) -> Result<T, RowError> {
        Ok(self.get(name)?)
    }
    fn has(&self, name: &str) -> bool {
        self.as_ref().column_index(name).is_ok()
    }
}

impl NamedRow for tokio_postgres::Row {
    fn col<T: Value>(&self, name: &str) -> Result<T, RowError> {
        Ok(self.try_get(name)?)
    }
    fn has(&self, name: &str) -> bool {
        self.columns().iter().any(|c| c.name() == name)
    }
}

/// One row type decoded from one kind of row `R`, every column by name.
pub trait FromRow<R: ?Sized>: Sized {
    fn from_row(r: &R) -> Result<Self, RowError>;
}

fn json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<T, RowError> {
    serde_json::from_str(text).map_err(|e| RowError::Data(format!("{} is unreadable: {e}", what())))
}

/// Columns `order_no, waybill_no, carrier, recipient, country, address, buyer_note, lines`
/// (JSON text), `picker_id, cancelled`.
impl<R: NamedRow + ?Sized> FromRow<R> for Order {
    fn from_row(r: &R) -> Result<Self, RowError> {
        let order_no: String = r.col("order_no")?;
        let lines: String = r.col("lines")?;
        let lines: Vec<OrderLine> = json(&lines, || format!("the lines of order {order_no}"))?;
        Ok(Order {
            waybill_no: r.col("waybill_no")?,
            carrier: r.col("carrier")?,
            recipient: r.col("recipient")?,
            country: r.col("country")?,
            address: r.col("address")?,
            buyer_note: r.col("buyer_note")?,
            lines,
            picker_id: r.col("picker_id")?,
            cancelled: r.col("cancelled")?,
            order_no,
        })
    }
}

/// An [`Order`]'s columns and `version`.
impl<R: NamedRow + ?Sized> FromRow<R> for OrderRow {
    fn from_row(r: &R) -> Result<Self, RowError> {
        Ok(OrderRow {
            order: Order::from_row(r)?,
            version: r.col("version")?,
        })
    }
}

/// Columns `version, cancelled`.
impl<R: NamedRow + ?Sized> FromRow<R> for OrderNow {
    fn from_row(r: &R) -> Result<Self, RowError> {
        Ok(OrderNow {
            version: r.col("version")?,
            cancelled: r.col("cancelled")?,
        })
    }
}

/// Columns `sku, name, barcodes` (JSON text), `unit_weight_g, weight_tolerance_g, attributes`
/// (JSON text).
impl<R: NamedRow + ?Sized> FromRow<R> for Sku {
    fn from_row(r: &R) -> Result<Self, RowError> {
        let sku: String = r.col("sku")?;
        let barcodes: String = r.col("barcodes")?;
        let attributes: String = r.col("attributes")?;
        Ok(Sku {
            name: r.col("name")?,
            barcodes: json::<Vec<BarcodeEntry>>(&barcodes, || {
                format!("the barcodes of SKU {sku}")
            })?,
            unit_weight_g: r.col("unit_weight_g")?,
            weight_tolerance_g: r.col("weight_tolerance_g")?,
            attributes: json(&attributes, || format!("the attributes of SKU {sku}"))?,
            sku,
        })
    }
}

/// Columns `id, name, roles, badge`, and `pin_hash, active` where the row has them.
impl<R: NamedRow + ?Sized> FromRow<R> for Employee {
    fn from_row(r: &R) -> Result<Self, RowError> {
        let roles: String = r.col("roles")?;
        // A read-only reader of an older bench file has no such columns: no PIN, active.
        let pin_hash: Option<String> = if r.has("pin_hash") {
            r.col("pin_hash")?
        } else {
            None
        };
        Ok(Employee {
            id: r.col("id")?,
            name: r.col("name")?,
            roles: Roles::parse(&roles).unwrap_or_default(),
            badge: r.col("badge")?,
            // A value that is not an Argon2id hash counts as no PIN (and so no approval
            // where one is needed), never as a PIN in clear.
            pin_hash: pin_hash.and_then(|h| PinHash::parse(&h).ok()),
            active: if r.has("active") {
                r.col("active")?
            } else {
                true
            },
        })
    }
}

/// Columns `code, name, tare_g`.
impl<R: NamedRow + ?Sized> FromRow<R> for Packaging {
    fn from_row(r: &R) -> Result<Self, RowError> {
        Ok(Packaging {
            code: r.col("code")?,
            name: r.col("name")?,
            tare_g: r.col("tare_g")?,
        })
    }
}

/// Columns `seq, at, type, actor, station_id, order_no, data, prev_hash, hash`: the texts as
/// they were hashed.
impl<R: NamedRow + ?Sized> FromRow<R> for ChainRow {
    fn from_row(r: &R) -> Result<Self, RowError> {
        Ok(ChainRow {
            seq: r.col("seq")?,
            at: r.col("at")?,
            kind: r.col("type")?,
            actor: r.col("actor")?,
            station_id: r.col("station_id")?,
            order_no: r.col("order_no")?,
            data: r.col("data")?,
            prev_hash: r.col("prev_hash")?,
            hash: r.col("hash")?,
        })
    }
}

/// Columns `seq, at, type, actor, station_id, order_no, data, hash`.
impl<R: NamedRow + ?Sized> FromRow<R> for StoredEvent {
    fn from_row(r: &R) -> Result<Self, RowError> {
        let seq: i64 = r.col("seq")?;
        let at: String = r.col("at")?;
        let kind: String = r.col("type")?;
        let data: String = r.col("data")?;
        Ok(StoredEvent {
            at: DateTime::parse_from_rfc3339(&at)
                .map_err(|e| RowError::Data(format!("event {seq}: time {at:?}: {e}")))?,
            kind: EventType::parse(&kind).ok_or_else(|| {
                RowError::Data(format!("event {seq}: unknown event type {kind:?}"))
            })?,
            actor: r.col("actor")?,
            station_id: r.col("station_id")?,
            order_no: r.col("order_no")?,
            data: json::<Map<String, Json>>(&data, || format!("the data of event {seq}"))?,
            hash: r.col("hash")?,
            seq,
        })
    }
}
