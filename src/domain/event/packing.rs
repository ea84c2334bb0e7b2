//! Packing an order: sign-in, the order opened, scans, the weighing, packed or held, the label,
//! and the courier's dispatch.

use serde::{Deserialize, Serialize};

use super::{grams, is_false};
use crate::domain::vocab::{HoldReason, RejectReason};
use crate::domain::weight::Hint;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackerSignedIn {
    pub packer_id: String,
    pub name: String,
    /// The signed-in packer's badge again: a re-sync, nothing changes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub repeat: bool,
    /// A supervisor without the packer role, signed in to check in returns: no order can be
    /// opened for packing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub returns_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackerSignedOut {
    pub packer_id: String,
    /// The order left open at the bench, if any.
    pub open_order: Option<String>,
}

/// One line of an opened order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadedLine {
    pub sku: String,
    pub name: String,
    pub qty: u32,
    /// Units already scanned (after a restart, or a re-scan of the open order).
    pub scanned: u32,
    pub gift: bool,
}

/// Set when an order was opened again after it changed: its older scans no longer count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionChange {
    /// Always true; the key marks the event.
    pub changed: bool,
    pub previous_version: Option<String>,
    pub discarded_units: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLoaded {
    pub lines: Vec<LoadedLine>,
    pub version: String,
    pub waybill_no: String,
    pub picker_id: Option<String>,
    pub packaging: Option<String>,
    #[serde(deserialize_with = "grams")]
    pub expected_g: f64,
    /// The open order scanned again: its state repeated for a re-sync.
    #[serde(default, skip_serializing_if = "is_false")]
    pub repeat: bool,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub change: Option<VersionChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderReleased {}

/// GS1 data of a scanned code (present as a whole, each part `null` when the code lacked it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gs1Fields {
    // `Option::deserialize` makes each key required (though it may be null), so an event
    // without GS1 data reads back as `gs1: None`, not as four nulls.
    #[serde(deserialize_with = "Option::deserialize")]
    pub gtin: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    pub lot: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    pub serial: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    pub expiry: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemAccepted {
    pub sku: String,
    /// Units this scan counted (a case code counts several).
    pub units: u32,
    /// Units of this SKU scanned so far, over all its lines.
    pub scanned: u32,
    pub qty: u32,
    pub code: String,
    /// The scanner's AIM symbology prefix, when it sent one.
    pub aim: Option<String>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub gs1: Option<Gs1Fields>,
    pub scanner: Option<String>,
    /// The order version the scan counts for.
    pub version: String,
    /// (line index, units) pairs.
    pub alloc: Vec<(usize, u32)>,
    pub complete: bool,
}

/// Which bench holds (or packed) an order, by the central claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimHolder {
    pub held_by: String,
    // Required though it may be null, so a refusal without a holder reads as `None`.
    #[serde(deserialize_with = "Option::deserialize")]
    pub held_by_packer: Option<String>,
    pub since: String,
}

/// A refusal. Besides `code`, `reason` and `detail`, some reasons say more: `not_in_order`
/// and `over_quantity` the `sku` (with the counts for the latter), `order_already_packed`
/// who packed it where and when (or, by the central claims, the holder's fields), and
/// `order_claimed_elsewhere` the bench holding it; a badge refused at the supervisor view
/// says whose it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRejected {
    /// What was scanned; empty for a refused weight.
    pub code: String,
    pub reason: RejectReason,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanned: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qty: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packed_station: Option<String>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<ClaimHolder>,
    /// The code was offered to open the supervisor view (not as a scan at the bench).
    #[serde(default, skip_serializing_if = "is_false")]
    pub supervisor_view: bool,
    /// Whose badge it was, when it was a badge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ScanRejected {
    pub fn new(code: &str, reason: RejectReason, detail: String) -> ScanRejected {
        ScanRejected {
            code: code.to_string(),
            reason,
            detail,
            sku: None,
            scanned: None,
            qty: None,
            units: None,
            packed_by: None,
            packed_at: None,
            packed_station: None,
            holder: None,
            supervisor_view: false,
            employee_id: None,
            name: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanUndone {
    pub sku: String,
    pub units: u32,
    pub scanned: u32,
    pub qty: u32,
    pub version: String,
    pub alloc: Vec<(usize, u32)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickerSet {
    pub picker_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackagingSet {
    pub packaging: String,
    #[serde(deserialize_with = "grams")]
    pub tare_g: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightChecked {
    #[serde(deserialize_with = "grams")]
    pub measured_g: f64,
    #[serde(deserialize_with = "grams")]
    pub expected_g: f64,
    #[serde(deserialize_with = "grams")]
    pub tolerance_g: f64,
    pub ok: bool,
    pub packaging: Option<String>,
    /// On a mismatch: what might explain it, in words and in parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_detail: Option<Hint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderPacked {
    pub picker_id: Option<String>,
    pub packer_id: Option<String>,
    #[serde(deserialize_with = "grams")]
    pub measured_g: f64,
    #[serde(deserialize_with = "grams")]
    pub expected_g: f64,
    #[serde(deserialize_with = "grams")]
    pub tolerance_g: f64,
    pub weight_ok: bool,
    pub override_by: Option<String>,
    pub packaging: Option<String>,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderHeld {
    pub reason: HoldReason,
    pub scanned_units: u32,
    pub ordered_units: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReprintRequested {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelPrinted {
    /// 1 for the first label of an order, 2 for its first reprint, ...
    pub copy: u32,
    pub bytes: usize,
    pub reprint: bool,
    /// What the printer said while taking the label (paper low, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrintFailed {
    pub reason: String,
    /// The driver's kind of failure (`paper_out`, `no_printer`, ...).
    pub kind: String,
    pub copy: u32,
    /// Labels now waiting for a reprint.
    pub queued: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispatchStarted {
    pub batch_id: String,
    /// Dispatch mode was on already: the same batch goes on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub repeat: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDispatched {
    pub batch_id: String,
    pub carrier: String,
    pub waybill_no: String,
    /// Parcels in the batch so far.
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispatchClosed {
    pub batch_id: String,
    pub carrier: Option<String>,
    pub count: u32,
}
