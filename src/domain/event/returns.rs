//! The events of returns check-in (退货签收); the rules that read them are `domain::returns`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{is_false, Gs1Fields};
use crate::domain::vocab::{Condition, ReturnReason};

/// Returns check-in started at this bench (`PB-RETURNS`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReturnsStarted {
    /// Returns mode was on already: nothing changes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub repeat: bool,
}

/// Returns check-in ended (`PB-RETURNS-END`, or the handler signed out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReturnsEnded {
    /// A return left open (signed out before closing it): it stays unclosed.
    pub open_return: Option<String>,
}

/// One line of the order as packed, with what earlier returns brought back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackedLine {
    pub sku: String,
    pub name: String,
    pub packed: u32,
    /// Units of this SKU back by earlier returns of the order.
    pub returned: u32,
}

/// A return opened for a packed order: what was packed, and who packed it where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnOpened {
    pub return_id: String,
    pub waybill_no: String,
    pub lines: Vec<PackedLine>,
    pub packer_id: Option<String>,
    pub picker_id: Option<String>,
    pub packed_at: Option<String>,
    pub packed_station: Option<String>,
    pub measured_g: Option<f64>,
    pub expected_g: Option<f64>,
    pub weight_ok: Option<bool>,
    /// The open return's parcel scanned again: its state repeated for a re-sync.
    #[serde(default, skip_serializing_if = "is_false")]
    pub repeat: bool,
}

/// A unit (or a case of `units`) of the order back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnItem {
    pub return_id: String,
    pub sku: String,
    pub units: u32,
    pub code: String,
    pub condition: Condition,
    /// Units of this SKU back over all returns of the order, this scan included.
    pub returned: u32,
    /// Units of this SKU packed.
    pub packed: u32,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub gs1: Option<Gs1Fields>,
}

/// A unit that was never in the order: recorded as evidence, not refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignItem {
    pub return_id: String,
    pub code: String,
    /// The SKU where the barcode is in the catalog.
    pub sku: Option<String>,
    pub units: u32,
    pub condition: Condition,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub gs1: Option<Gs1Fields>,
}

/// The condition of the unit scanned last (`item`: its place in the return, from 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnCondition {
    pub return_id: String,
    pub item: u32,
    pub sku: Option<String>,
    pub condition: Condition,
}

/// The buyer's reason (the last one given counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnReasonGiven {
    pub return_id: String,
    pub reason: ReturnReason,
}

/// The unit scanned last taken back out of the return (`PB-UNDO`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnUndone {
    pub return_id: String,
    pub item: u32,
    pub sku: Option<String>,
    pub units: u32,
}

/// A stable scale reading while the return was open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnWeighed {
    pub return_id: String,
    pub measured_g: f64,
    /// What the parcel weighed when it was packed.
    pub packed_g: Option<f64>,
}

/// The return's summary (`PB-RETURN-CLOSE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnClosed {
    pub return_id: String,
    pub reason: ReturnReason,
    pub handler_id: String,
    /// Every unit of this return, foreign ones included.
    pub units: u32,
    /// Units by condition (`ok`, `damaged`, `used`, `wrong_variant`), foreign ones included.
    pub conditions: BTreeMap<Condition, u32>,
    pub foreign_units: u32,
    /// Units of the order back over all its returns, this one included.
    pub returned_units: u32,
    pub packed_units: u32,
    /// The last stable reading while it was open.
    pub measured_g: Option<f64>,
    /// The parcel weighed right with every unit scanned and no override when it was packed.
    pub packed_clean: bool,
    /// [`confirms`]: `null` for a reason that blames nothing at the bench.
    pub confirmed: Option<bool>,
    /// Who packed and who picked the order: the people a confirmed claim counts against.
    pub packer_id: Option<String>,
    pub picker_id: Option<String>,
}
