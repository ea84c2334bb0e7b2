//! Station events: the one vocabulary shared by the log, the headless JSON lines and audit.
//!
//! Every event type has its fields as a Rust struct of the same name (`ItemAccepted`,
//! `ScanRejected`, ...), and [`EventData`] holds one of them: the engine writes events only
//! through these types and every reader gets them back (`StoredEvent::payload`), so a renamed
//! or retyped field is a compile error rather than a blank on a screen.
//!
//! The log stores (and hashes) each event's fields as the JSON object its struct serialises
//! to, so the structs are the storage format too: keys are sorted (serde_json's map), a field
//! that may be unknown is written as `null`, a field only some events of a type have is left
//! out when absent (`skip_serializing_if`), integers stay integers and grams stay floats.
//! `tests/engine.rs` pins the bytes against the log written before these types existed.

use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::commands::HoldReason;
// Returns check-in: its events' fields live with the rest of the returns vocabulary.
pub use super::returns::{
    ForeignItem, ReturnClosed, ReturnCondition, ReturnItem, ReturnOpened, ReturnReasonGiven,
    ReturnUndone, ReturnWeighed, ReturnsEnded, ReturnsStarted,
};
use super::weight::Hint;

macro_rules! event_types {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// Every kind of event the station records.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventType { $( #[serde(rename = $name)] $variant ),* }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $name),* }
            }

            pub fn parse(s: &str) -> Option<EventType> {
                match s { $($name => Some(EventType::$variant),)* _ => None }
            }
        }

        /// One event's own fields, as the type of its event type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum EventData { $( $variant($variant) ),* }

        impl EventData {
            pub fn kind(&self) -> EventType {
                match self { $(EventData::$variant(_) => EventType::$variant),* }
            }

            /// The JSON object the log stores for these fields.
            pub fn to_map(&self) -> Map<String, Value> {
                match self { $(EventData::$variant(d) => object(d)),* }
            }

            /// Reads the stored fields of an event of type `kind`.
            pub fn decode(kind: EventType, data: &Map<String, Value>) -> Result<EventData, serde_json::Error> {
                Ok(match kind {
                    $(EventType::$variant => EventData::$variant($variant::deserialize(data)?)),*
                })
            }
        }

        $(
            impl Payload for $variant {
                const KIND: EventType = EventType::$variant;
            }

            impl From<$variant> for EventData {
                fn from(d: $variant) -> EventData {
                    EventData::$variant(d)
                }
            }
        )*
    };
}

event_types! {
    PackerSignedIn => "packer_signed_in",
    PackerSignedOut => "packer_signed_out",
    OrderLoaded => "order_loaded",
    OrderReleased => "order_released",
    ItemAccepted => "item_accepted",
    ScanRejected => "scan_rejected",
    ScanUndone => "scan_undone",
    PickerSet => "picker_set",
    PackagingSet => "packaging_set",
    WeightChecked => "weight_checked",
    Override => "override",
    OrderPacked => "order_packed",
    OrderHeld => "order_held",
    ReprintRequested => "reprint_requested",
    LabelPrinted => "label_printed",
    PrintFailed => "print_failed",
    DispatchStarted => "dispatch_started",
    OrderDispatched => "order_dispatched",
    DispatchClosed => "dispatch_closed",
    Device => "device",
    Imported => "imported",
    OrderChanged => "order_changed",
    OrderCancelled => "order_cancelled",
    SupervisorViewOpened => "supervisor_view_opened",
    OrderClaimed => "order_claimed",
    ClaimReleased => "claim_released",
    ClaimConflict => "claim_conflict",
    Reviewed => "reviewed",
    PinRequired => "pin_required",
    PinFailed => "pin_failed",
    BadgeLocked => "badge_locked",
    ReasonRequired => "reason_required",
    ApprovalLapsed => "approval_lapsed",
    LogAlarm => "log_alarm",
    ReturnsStarted => "returns_started",
    ReturnsEnded => "returns_ended",
    ReturnOpened => "return_opened",
    ReturnItem => "return_item",
    ForeignItem => "foreign_item",
    ReturnCondition => "return_condition",
    ReturnReasonGiven => "return_reason",
    ReturnUndone => "return_undone",
    ReturnWeighed => "return_weighed",
    ReturnClosed => "return_closed",
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of one event type: ties the struct to its type name.
pub trait Payload: Serialize + DeserializeOwned + Into<EventData> {
    const KIND: EventType;
}

fn object<T: Serialize>(d: &T) -> Map<String, Value> {
    match serde_json::to_value(d) {
        Ok(Value::Object(m)) => m,
        // Every payload is a struct with named fields: always an object.
        other => unreachable!("an event payload serialised to {other:?}"),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Grams as stored: a reading that was not a number (NaN) is stored as `null` by serde_json,
/// and reads back as NaN rather than making the whole event unreadable.
fn grams<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Why a scan (or a weight, or a command) was refused. The names are the contract's
/// `reason` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    NoPacker,
    UnknownBarcode,
    BadCheckDigit,
    NotAllowed,
    PickerFromImport,
    NoOrder,
    OrderChanged,
    OrderCancelled,
    NotInOrder,
    OverQuantity,
    NothingToUndo,
    NothingToReprint,
    OrderInProgress,
    OrderAlreadyPacked,
    AlreadyDispatched,
    OrderHeld,
    NotPacked,
    WrongCarrier,
    /// Another bench holds the order (central claims).
    OrderClaimedElsewhere,
    /// The central database did not answer and the offline rule does not allow opening.
    CentralUnreachable,
    /// The badge of an employee who is no longer active.
    BadgeInactive,
    /// The badge is locked after too many wrong PINs.
    BadgeLocked,
    /// A supervisor who is the signed-in packer or the recorded picker of the parcel.
    SelfApproval,
    /// A PIN is needed and this employee has none (`packbench employee pin ID`).
    PinNotSet,
    /// Returns check-in: the order was never packed (pending, held, cancelled).
    NotShipped,
    /// Returns check-in: a return closed before the buyer's reason was given.
    NoReturnReason,
    /// Never in the log: the screen's word for a scan the store could not save.
    NotRecorded,
    /// Never in the log as a refusal: the screen's word for a `log_alarm`.
    LogAlarm,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NoPacker => "no_packer",
            RejectReason::UnknownBarcode => "unknown_barcode",
            RejectReason::BadCheckDigit => "bad_check_digit",
            RejectReason::NotAllowed => "not_allowed",
            RejectReason::PickerFromImport => "picker_from_import",
            RejectReason::NoOrder => "no_order",
            RejectReason::OrderChanged => "order_changed",
            RejectReason::OrderCancelled => "order_cancelled",
            RejectReason::NotInOrder => "not_in_order",
            RejectReason::OverQuantity => "over_quantity",
            RejectReason::NothingToUndo => "nothing_to_undo",
            RejectReason::NothingToReprint => "nothing_to_reprint",
            RejectReason::OrderInProgress => "order_in_progress",
            RejectReason::OrderAlreadyPacked => "order_already_packed",
            RejectReason::AlreadyDispatched => "already_dispatched",
            RejectReason::OrderHeld => "order_held",
            RejectReason::NotPacked => "not_packed",
            RejectReason::WrongCarrier => "wrong_carrier",
            RejectReason::OrderClaimedElsewhere => "order_claimed_elsewhere",
            RejectReason::CentralUnreachable => "central_unreachable",
            RejectReason::BadgeInactive => "badge_inactive",
            RejectReason::BadgeLocked => "badge_locked",
            RejectReason::SelfApproval => "self_approval",
            RejectReason::PinNotSet => "pin_not_set",
            RejectReason::NotShipped => "not_shipped",
            RejectReason::NoReturnReason => "no_return_reason",
            RejectReason::NotRecorded => "not_recorded",
            RejectReason::LogAlarm => "log_alarm",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the supervisor's approval was needed for (the override's `cause`; logs written
/// before reasons were given stored it as `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideReason {
    /// The parcel was weighed out of tolerance.
    WeightMismatch,
    /// The weight is right but nobody can say who picked the order.
    PickerUnknown,
}

impl OverrideReason {
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideReason::WeightMismatch => "weight_mismatch",
            OverrideReason::PickerUnknown => "picker_unknown",
        }
    }
}

/// Why a supervisor approved a parcel: the contract's list, each also a command barcode
/// `PB-REASON-<REASON>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalReason {
    ScaleDrift,
    PackagingHeavier,
    CatalogWeightWrong,
    RecountedOk,
    CustomerRequest,
    Other,
    /// Only read, never written: an override logged before reasons were asked for.
    NotGiven,
}

impl ApprovalReason {
    /// The reasons a supervisor chooses from, in the order of the screen and the sheet.
    pub const CHOICES: [ApprovalReason; 6] = [
        ApprovalReason::ScaleDrift,
        ApprovalReason::PackagingHeavier,
        ApprovalReason::CatalogWeightWrong,
        ApprovalReason::RecountedOk,
        ApprovalReason::CustomerRequest,
        ApprovalReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalReason::ScaleDrift => "scale_drift",
            ApprovalReason::PackagingHeavier => "packaging_heavier",
            ApprovalReason::CatalogWeightWrong => "catalog_weight_wrong",
            ApprovalReason::RecountedOk => "recounted_ok",
            ApprovalReason::CustomerRequest => "customer_request",
            ApprovalReason::Other => "other",
            ApprovalReason::NotGiven => "not_given",
        }
    }

    /// A reason by its name, as a keypad line (`@reason scale_drift`) gives it.
    pub fn parse(s: &str) -> Option<ApprovalReason> {
        let s = s.trim();
        Self::CHOICES
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }
}

/// What a badge + PIN is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthPurpose {
    SignIn,
    Approval,
    SupervisorView,
}

/// A badge was accepted and its PIN is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinRequired {
    pub employee_id: String,
    pub purpose: AuthPurpose,
}

/// A wrong PIN (never the PIN itself): `failures` in a row so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinFailed {
    pub employee_id: String,
    pub purpose: AuthPurpose,
    pub failures: u32,
    pub remaining: u32,
}

/// Too many wrong PINs: the badge is refused until `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadgeLocked {
    pub employee_id: String,
    pub until: String,
}

/// The supervisor is known (badge and, where asked, PIN): the reason is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonRequired {
    pub supervisor_id: String,
    pub cause: OverrideReason,
}

/// Why an approval (badge, PIN) ended without its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LapseCause {
    /// `[security] approval_timeout_s` passed since the badge.
    Timeout,
    /// Something else was done at the bench first (a scan, a command): the approval was for
    /// the parcel as it was.
    OtherInput,
    /// A new weighing replaced the one the approval was for.
    MeasurementChanged,
}

impl LapseCause {
    pub fn as_str(self) -> &'static str {
        match self {
            LapseCause::Timeout => "timeout",
            LapseCause::OtherInput => "other_input",
            LapseCause::MeasurementChanged => "measurement_changed",
        }
    }
}

/// An approval that lapsed before its reason: nothing was approved, and the parcel waits for
/// a new one (badge, PIN, reason again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalLapsed {
    pub supervisor_id: String,
    pub cause: LapseCause,
    /// What it would have approved (`weight_mismatch`, `picker_unknown`).
    pub approves: OverrideReason,
    /// The weighing it was for.
    #[serde(deserialize_with = "grams")]
    pub measured_g: f64,
    #[serde(deserialize_with = "grams")]
    pub expected_g: f64,
    /// The PIN had been given (the approval was waiting for its reason).
    pub pin_given: bool,
    /// Seconds from the badge to the lapse.
    pub waited_s: i64,
}

/// The station found its log not as it left it (a trigger missing, the chain's tail
/// broken): a supervisor must look before the log is trusted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogAlarm {
    pub problem: String,
    pub detail: String,
}

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

/// A supervisor's approval: who, why (`reason`, the supervisor's choice) and what it
/// settled (`cause`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "OverrideStored")]
pub struct Override {
    pub supervisor_id: String,
    pub reason: ApprovalReason,
    pub cause: OverrideReason,
    pub measured_g: f64,
    pub expected_g: f64,
    pub tolerance_g: f64,
    pub picker_id: Option<String>,
}

/// An override as any log holds it: before reasons were given, `reason` was the cause and
/// there was no `cause`.
#[derive(Deserialize)]
struct OverrideStored {
    supervisor_id: String,
    reason: String,
    #[serde(default)]
    cause: Option<OverrideReason>,
    #[serde(deserialize_with = "grams")]
    measured_g: f64,
    #[serde(deserialize_with = "grams")]
    expected_g: f64,
    #[serde(deserialize_with = "grams")]
    tolerance_g: f64,
    picker_id: Option<String>,
}

impl TryFrom<OverrideStored> for Override {
    type Error = String;
    fn try_from(o: OverrideStored) -> Result<Override, String> {
        let (reason, cause) = match o.cause {
            Some(cause) => (
                ApprovalReason::parse(&o.reason)
                    .ok_or_else(|| format!("unknown approval reason {:?}", o.reason))?,
                cause,
            ),
            None => (
                ApprovalReason::NotGiven,
                serde_json::from_value(Value::String(o.reason.clone()))
                    .map_err(|_| format!("unknown override reason {:?}", o.reason))?,
            ),
        };
        Ok(Override {
            supervisor_id: o.supervisor_id,
            reason,
            cause,
            measured_g: o.measured_g,
            expected_g: o.expected_g,
            tolerance_g: o.tolerance_g,
            picker_id: o.picker_id,
        })
    }
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// `scanner`, `scale`, `printer`, ... ([`DeviceKind`] for the ones a bench always has).
    pub device: String,
    /// A [`DeviceStatus`]; text, so a log from a newer build with another state still reads.
    pub state: String,
    pub detail: String,
}

/// The devices every bench has; others (`central`, a second scanner) go by their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Scanner,
    Scale,
    Printer,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 3] = [DeviceKind::Scanner, DeviceKind::Scale, DeviceKind::Printer];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Scanner => "scanner",
            DeviceKind::Scale => "scale",
            DeviceKind::Printer => "printer",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A `device` event's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Connected,
    Disconnected,
    Error,
    /// The demo station's on-screen scanner and scale.
    Simulated,
}

impl DeviceStatus {
    pub const ALL: [DeviceStatus; 4] = [
        DeviceStatus::Connected,
        DeviceStatus::Disconnected,
        DeviceStatus::Error,
        DeviceStatus::Simulated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Connected => "connected",
            DeviceStatus::Disconnected => "disconnected",
            DeviceStatus::Error => "error",
            DeviceStatus::Simulated => "simulated",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceStatus> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The device cannot be used: the board counts it and the console names it.
    pub fn is_lost(self) -> bool {
        match self {
            DeviceStatus::Disconnected | DeviceStatus::Error => true,
            DeviceStatus::Connected | DeviceStatus::Simulated => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    /// `catalog`, `orders`, `employees` or `packaging`.
    pub kind: String,
    pub file: String,
    pub sha256: String,
    pub rows: usize,
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub cancelled: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderChanged {
    pub old_version: String,
    pub version: String,
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub file: String,
}

/// This bench opened the order and holds it (central claims).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderClaimed {
    /// The central claim's epoch; `null` when opened offline, unclaimed.
    pub claim_epoch: Option<i64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub offline: bool,
}

/// A claim ended by someone other than the bench's own flow (a supervisor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimReleased {
    pub by: String,
    pub reason: String,
}

/// An order packed at two benches while they were offline: for a supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimConflict {
    pub stations: Vec<String>,
}

/// A supervisor marked a review-queue item (`STATION:SEQ` or `alarm:ID`) reviewed; on the
/// centre's chain only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewed {
    pub item: String,
    pub note: String,
}

/// A supervisor's badge opened the supervisor view (reports) at this bench.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisorViewOpened {
    pub supervisor_id: String,
    pub name: String,
}

/// An event decided but not yet stored. `data` is the JSON object of its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: DateTime<FixedOffset>,
    pub kind: EventType,
    pub actor: Option<String>,
    pub station_id: String,
    pub order_no: Option<String>,
    pub data: Map<String, Value>,
}

impl NewEvent {
    /// An event of `data`'s type with `data` as its fields.
    pub fn of(data: impl Into<EventData>, at: DateTime<FixedOffset>, station_id: &str) -> Self {
        let data = data.into();
        NewEvent {
            at,
            kind: data.kind(),
            actor: None,
            station_id: station_id.to_string(),
            order_no: None,
            data: data.to_map(),
        }
    }

    /// An event with no fields yet, filled with [`NewEvent::with`]: for tests and tools that
    /// write raw events (a tampered log, a synthetic one). The station and the imports build
    /// every event from its typed payload with [`NewEvent::of`].
    pub fn new(kind: EventType, at: DateTime<FixedOffset>, station_id: &str) -> Self {
        NewEvent {
            at,
            kind,
            actor: None,
            station_id: station_id.to_string(),
            order_no: None,
            data: Map::new(),
        }
    }

    pub fn actor(mut self, actor: Option<&str>) -> Self {
        self.actor = actor.map(str::to_string);
        self
    }

    pub fn order(mut self, order_no: &str) -> Self {
        self.order_no = Some(order_no.to_string());
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }

    /// The fields of a decided event known to be of type `P`; `None` for any other type.
    pub fn payload_as<P: Payload>(&self) -> Option<P> {
        payload_as(self.kind, &self.data, None)
    }
}

/// `data` as type `P` when `kind` is `P`'s; a stored object that does not read as its
/// type is said in the log (`seq` when stored) and its fields ignored.
fn payload_as<P: Payload>(
    kind: EventType,
    data: &Map<String, Value>,
    seq: Option<i64>,
) -> Option<P> {
    if kind != P::KIND {
        return None;
    }
    match P::deserialize(data) {
        Ok(p) => Some(p),
        Err(err) => {
            tracing::warn!(?seq, %kind, %err, "event data does not read as its type");
            None
        }
    }
}

/// An event as the log holds it. `data` is the stored object exactly (it is hashed); read
/// its fields through [`StoredEvent::payload`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub at: DateTime<FixedOffset>,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub actor: Option<String>,
    pub station_id: String,
    pub order_no: Option<String>,
    pub data: Map<String, Value>,
    pub hash: String,
}

impl StoredEvent {
    /// The event's fields as its type's struct.
    pub fn try_payload(&self) -> Result<EventData, serde_json::Error> {
        EventData::decode(self.kind, &self.data)
    }

    /// The event's fields, or `None` (said in the log) for a stored object that does not
    /// read as its type: its fields are then ignored, as a missing field always was.
    pub fn payload(&self) -> Option<EventData> {
        match self.try_payload() {
            Ok(d) => Some(d),
            Err(err) => {
                tracing::warn!(seq = self.seq, kind = %self.kind, %err, "event data does not read as its type");
                None
            }
        }
    }

    /// The fields of an event known to be of type `P`; `None` for any other type.
    pub fn payload_as<P: Payload>(&self) -> Option<P> {
        payload_as(self.kind, &self.data, Some(self.seq))
    }

    /// The headless JSON line of this event: `event`, `at`, `order_no` where there is one,
    /// `seq`, and the event's own fields at the top level.
    pub fn to_line(&self) -> Value {
        let mut m = Map::new();
        m.insert("event".into(), self.kind.as_str().into());
        m.insert("at".into(), self.at.to_rfc3339().into());
        m.insert("seq".into(), self.seq.into());
        m.insert("station_id".into(), self.station_id.clone().into());
        if let Some(o) = &self.order_no {
            m.insert("order_no".into(), o.clone().into());
        }
        if let Some(a) = &self.actor {
            m.insert("actor".into(), a.clone().into());
        }
        for (k, v) in &self.data {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn device_words_read_back_and_unknown_ones_stay_unknown() {
        for k in DeviceKind::ALL {
            assert_eq!(DeviceKind::parse(k.as_str()), Some(k));
        }
        for st in DeviceStatus::ALL {
            assert_eq!(DeviceStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(DeviceKind::parse("central"), None);
        assert_eq!(DeviceStatus::parse("unknown"), None);
        let lost: Vec<_> = DeviceStatus::ALL
            .into_iter()
            .filter(|s| s.is_lost())
            .collect();
        assert_eq!(lost, [DeviceStatus::Disconnected, DeviceStatus::Error]);
    }

    #[test]
    fn optional_parts_are_absent_or_null_as_the_log_has_them() {
        let e = ItemAccepted {
            sku: "T-BLU-L".into(),
            units: 1,
            scanned: 1,
            qty: 1,
            code: "6975432100137".into(),
            aim: None,
            gs1: None,
            scanner: None,
            version: "v".into(),
            alloc: vec![(0, 1)],
            complete: false,
        };
        let m = EventData::from(e.clone()).to_map();
        assert_eq!(m["aim"], Value::Null);
        assert!(!m.contains_key("gtin"), "no GS1 data, no GS1 keys");
        assert_eq!(m["alloc"], json!([[0, 1]]));
        assert!(m["units"].is_u64());
        let back = EventData::decode(EventType::ItemAccepted, &m).unwrap();
        assert_eq!(back, EventData::ItemAccepted(e));

        let r = ScanRejected::new("X", RejectReason::UnknownBarcode, "d".into());
        assert_eq!(
            EventData::from(r).to_map(),
            map(json!({"code": "X", "reason": "unknown_barcode", "detail": "d"}))
        );
    }

    #[test]
    fn grams_stay_floats_and_counts_integers() {
        let m = EventData::from(PackagingSet {
            packaging: "PKG-BAG-M".into(),
            tare_g: 18.0,
        })
        .to_map();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"packaging":"PKG-BAG-M","tare_g":18.0}"#
        );
        let m = EventData::from(OrderReleased {}).to_map();
        assert_eq!(serde_json::to_string(&m).unwrap(), "{}");
    }

    /// `approval_lapsed` as the log stores it: the names the README gives, and it reads back.
    #[test]
    fn approval_lapsed_stores_its_cause_and_reads_back() {
        let e = ApprovalLapsed {
            supervisor_id: "E005".into(),
            cause: LapseCause::MeasurementChanged,
            approves: OverrideReason::WeightMismatch,
            measured_g: 225.0,
            expected_g: 265.0,
            pin_given: true,
            waited_s: 12,
        };
        let m = EventData::from(e.clone()).to_map();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"approves":"weight_mismatch","cause":"measurement_changed","expected_g":265.0,"measured_g":225.0,"pin_given":true,"supervisor_id":"E005","waited_s":12}"#
        );
        assert_eq!(
            EventData::decode(EventType::ApprovalLapsed, &m).unwrap(),
            EventData::ApprovalLapsed(e)
        );
        for c in [
            LapseCause::Timeout,
            LapseCause::OtherInput,
            LapseCause::MeasurementChanged,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
        }
    }

    /// The claim events as the bench wrote them field by field before they were typed.
    #[test]
    fn claims_store_what_they_always_stored() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap();
        for epoch in [Some(7_i64), None] {
            let mut old =
                NewEvent::new(EventType::OrderClaimed, at, "B").with("claim_epoch", epoch);
            if epoch.is_none() {
                old = old.with("offline", true);
            }
            let new = NewEvent::of(
                OrderClaimed {
                    claim_epoch: epoch,
                    offline: epoch.is_none(),
                },
                at,
                "B",
            );
            assert_eq!(new, old);
        }
        for packer in [Some("E003".to_string()), None] {
            let old = NewEvent::new(EventType::ScanRejected, at, "B")
                .with("code", "TB1")
                .with("reason", "order_claimed_elsewhere")
                .with("detail", "d")
                .with("held_by", "B2")
                .with("held_by_packer", packer.clone())
                .with("since", "t");
            let mut r = ScanRejected::new("TB1", RejectReason::OrderClaimedElsewhere, "d".into());
            r.holder = Some(ClaimHolder {
                held_by: "B2".into(),
                held_by_packer: packer,
                since: "t".into(),
            });
            let new = NewEvent::of(r.clone(), at, "B");
            assert_eq!(new, old);
            let back = EventData::decode(EventType::ScanRejected, &new.data).unwrap();
            assert_eq!(back, EventData::ScanRejected(r));
        }
        let plain = ScanRejected::new("X", RejectReason::CentralUnreachable, "d".into());
        let m = EventData::from(plain.clone()).to_map();
        assert_eq!(
            EventData::decode(EventType::ScanRejected, &m).unwrap(),
            EventData::ScanRejected(plain),
            "no holder reads back as none"
        );
    }

    /// An override of a log written before reasons were asked for reads with its cause and
    /// no reason; a new one stores both.
    #[test]
    fn overrides_old_and_new_read_back() {
        let old = map(
            json!({"expected_g": 125.0, "measured_g": 60.0, "picker_id": "E007",
            "reason": "weight_mismatch", "supervisor_id": "E005", "tolerance_g": 15.0}),
        );
        let EventData::Override(o) = EventData::decode(EventType::Override, &old).unwrap() else {
            unreachable!()
        };
        assert_eq!(o.reason, ApprovalReason::NotGiven);
        assert_eq!(o.cause, OverrideReason::WeightMismatch);
        let new = EventData::from(Override {
            reason: ApprovalReason::CatalogWeightWrong,
            ..o
        })
        .to_map();
        assert_eq!(new["reason"], json!("catalog_weight_wrong"));
        assert_eq!(new["cause"], json!("weight_mismatch"));
        let mut bad = new.clone();
        bad.insert("reason".into(), json!("because"));
        assert!(EventData::decode(EventType::Override, &bad).is_err());
    }

    #[test]
    fn reject_reasons_are_their_contract_names() {
        for r in [
            RejectReason::NoPacker,
            RejectReason::OrderAlreadyPacked,
            RejectReason::NotRecorded,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
        }
    }

    #[test]
    fn a_stored_object_of_the_wrong_shape_reads_as_nothing() {
        let e = StoredEvent {
            seq: 1,
            at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap(),
            kind: EventType::PickerSet,
            actor: None,
            station_id: "B".into(),
            order_no: None,
            data: map(json!({"picker_id": 7})),
            hash: String::new(),
        };
        assert!(e.payload().is_none());
        assert!(e.payload_as::<PackerSignedIn>().is_none());
    }
}
