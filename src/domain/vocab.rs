//! The station's small words: why a scan was refused, why an order was held, why a supervisor
//! approved, what a returned unit came back as and why the buyer sent it. Plain enums whose
//! serde names are the contract's (and the log's) strings; they depend on nothing else in the
//! domain, so every other module can use them without a cycle.
//!
//! The domain's modules, each using only those listed before it:
//! - `vocab` (this), `barcode`, `pin`, `weight` — leaves;
//! - `catalog` (barcode), `order` (pin);
//! - `event` — every event's fields, the log's format (vocab, weight's `Hint`);
//! - `returns` — the check-in rules and the fold of an order's returns (event, vocab);
//! - `progress` — an order's state folded from its events (event, order, returns);
//! - `commands` — the command barcodes (vocab);
//! - `session` — the engine, which uses all of them.

use serde::{Deserialize, Serialize};

/// Why an order was put on hold (`PB-HOLD-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Goods short in stock or missing from the basket.
    Short,
    Damaged,
    /// The buyer changed the order or it needs a look by customer service.
    OrderQuery,
    Other,
}

impl HoldReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            HoldReason::Short => "short",
            HoldReason::Damaged => "damaged",
            HoldReason::OrderQuery => "order_query",
            HoldReason::Other => "other",
        }
    }
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

/// What state a returned unit came back in (`PB-COND-*`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    #[default]
    Ok,
    Damaged,
    Used,
    /// The right product but not the variant packed (size, colour): a picking error.
    WrongVariant,
}

impl Condition {
    pub const ALL: [Condition; 4] = [
        Condition::Ok,
        Condition::Damaged,
        Condition::Used,
        Condition::WrongVariant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Ok => "ok",
            Condition::Damaged => "damaged",
            Condition::Used => "used",
            Condition::WrongVariant => "wrong_variant",
        }
    }

    pub fn parse(s: &str) -> Option<Condition> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// The buyer's reason for the return (`PB-RET-REASON-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    Size,
    Quality,
    NotAsDescribed,
    WrongItemSent,
    MissingItem,
    ChangedMind,
    DamagedInTransit,
    Other,
}

impl ReturnReason {
    pub const ALL: [ReturnReason; 8] = [
        ReturnReason::Size,
        ReturnReason::Quality,
        ReturnReason::NotAsDescribed,
        ReturnReason::WrongItemSent,
        ReturnReason::MissingItem,
        ReturnReason::ChangedMind,
        ReturnReason::DamagedInTransit,
        ReturnReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReturnReason::Size => "size",
            ReturnReason::Quality => "quality",
            ReturnReason::NotAsDescribed => "not_as_described",
            ReturnReason::WrongItemSent => "wrong_item_sent",
            ReturnReason::MissingItem => "missing_item",
            ReturnReason::ChangedMind => "changed_mind",
            ReturnReason::DamagedInTransit => "damaged_in_transit",
            ReturnReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ReturnReason> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The buyer blames the packing (a wrong or a missing item): the check-in can confirm it.
    pub fn is_packing_claim(self) -> bool {
        matches!(
            self,
            ReturnReason::WrongItemSent | ReturnReason::MissingItem
        )
    }
}
