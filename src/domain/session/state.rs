//! The engine's inputs, its configuration, and the state a bench is in between inputs.

use super::ReturnsMode;
use crate::domain::barcode::ParsedCode;
use crate::domain::catalog::ItemMatch;
use crate::domain::commands::Command;
use crate::domain::event::{ApprovalReason, AuthPurpose, NewEvent};
use crate::domain::order::{Employee, Order, Packaging};
use crate::domain::pin::Pin;
use crate::domain::progress::{Accepted, OrderProgress};
use crate::domain::weight::{self, LineWeight, ToleranceRule};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;

/// A new stable reading closer than this to the last checked one is the same parcel
/// still lying on the scale, not a re-weigh.
pub const RECHECK_DELTA_G: f64 = 1.0;

#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    pub station_id: String,
    pub rule: ToleranceRule,
    /// Readings below this are "scale empty".
    pub min_weight_g: f64,
    /// Packaging assumed when none is scanned.
    pub default_packaging: Option<Packaging>,
    pub security: Security,
}

/// Where a badge alone is not enough (`[security]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Security {
    /// An approval and the supervisor view need the supervisor's PIN after the badge.
    pub supervisor_pin: bool,
    /// A badge sign-in needs the PIN too (a keypad sign-in always does).
    pub sign_in_pin: bool,
    /// Seconds an approval (badge, PIN) may wait for its reason before it lapses.
    pub approval_timeout_s: u32,
    /// PINs are known to a centre (a bench with `[central]`): a badge with no PIN in this
    /// bench's copy is still asked for one, which the centre checks (station/bench.rs).
    pub pins_at_centre: bool,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            supervisor_pin: true,
            sign_in_pin: false,
            approval_timeout_s: 120,
            pins_at_centre: false,
        }
    }
}

/// The scanner name of a badge typed on the screen's keypad: anyone can type a number, so
/// such a sign-in always needs the PIN.
pub const KEYPAD: &str = "keypad";

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            station_id: "BENCH-01".into(),
            rule: ToleranceRule {
                tolerance_g: 15.0,
                tolerance_pct: 3.0,
            },
            min_weight_g: 5.0,
            default_packaging: None,
            security: Security::default(),
        }
    }
}

/// An order line with what the bench needs from the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineInfo {
    pub sku: String,
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub qty: u32,
    pub gift: bool,
    pub unit_weight_g: f64,
    pub unit_tolerance_g: Option<f64>,
}

/// An order as found in the store, with its catalog details and its derived progress.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderView {
    pub order: Order,
    pub lines: Vec<LineInfo>,
    pub progress: OrderProgress,
}

/// What a scanned code turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Command(Command),
    Badge(Employee),
    Packaging(Packaging),
    Order(Box<OrderView>),
    Item(ItemMatch),
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub code: ParsedCode,
    pub resolved: Resolved,
    /// Which scanner it came from, when a bench has several.
    pub scanner: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Scan(Box<Scan>),
    Weight {
        grams: f64,
        stable: bool,
    },
    Command(Command),
    /// A code offered to open the supervisor view (reports): only a supervisor's badge does.
    SupervisorView(Box<Scan>),
    /// A PIN typed for the badge that asked for one.
    Pin(Pin),
    /// A supervisor's reason for the approval awaiting one (a button or `@reason`).
    Reason(ApprovalReason),
    /// The PIN pad or the reason choice was closed: the badge that opened it is forgotten.
    CancelAuth,
    /// Time passed with no input: an approval past `approval_timeout_s` lapses now, so the
    /// screen stops offering it.
    Tick,
}

/// The store's current word on the order open at this bench, read fresh for each input so a
/// change or cancellation made after the order was opened is seen at once.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOrderNow {
    pub version: String,
    pub cancelled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightCheck {
    pub measured_g: f64,
    pub expected_g: f64,
    pub tolerance_g: f64,
    pub ok: bool,
    pub hint: Option<weight::Hint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenOrder {
    pub order: Order,
    pub lines: Vec<LineInfo>,
    pub version: String,
    pub scanned: Vec<u32>,
    pub stack: Vec<Accepted>,
    pub picker_id: Option<String>,
    pub packaging: Option<Packaging>,
    pub last_check: Option<WeightCheck>,
    /// The next stable reading is checked (set when the order became complete or the parcel
    /// was lifted).
    pub armed: bool,
}

impl OpenOrder {
    /// The order as a bench holds it: counts and undo stack from its progress (which counts
    /// only the current version), packaging from the log or else the bench's default.
    pub fn from_view(view: &OrderView, default_packaging: Option<&Packaging>) -> OpenOrder {
        let p = &view.progress;
        let mut open = OpenOrder {
            order: view.order.clone(),
            lines: view.lines.clone(),
            version: view.order.version(),
            scanned: p.scanned.clone(),
            stack: p.stack.clone(),
            picker_id: p.picker_id.clone(),
            packaging: match (&p.packaging, p.tare_g) {
                (Some(code), Some(tare)) => Some(Packaging {
                    code: code.clone(),
                    name: code.clone(),
                    tare_g: tare,
                }),
                _ => default_packaging.cloned(),
            },
            last_check: None,
            armed: false,
        };
        open.armed = open.complete();
        open
    }

    pub fn complete(&self) -> bool {
        self.lines
            .iter()
            .zip(&self.scanned)
            .all(|(l, s)| *s >= l.qty)
    }

    pub fn units_scanned(&self) -> u32 {
        self.scanned.iter().sum()
    }

    pub fn units_ordered(&self) -> u32 {
        self.lines.iter().map(|l| l.qty).sum()
    }

    pub(super) fn totals(&self, sku: &str) -> (u32, u32) {
        self.lines
            .iter()
            .zip(&self.scanned)
            .filter(|(l, _)| l.sku == sku)
            .fold((0, 0), |(s, q), (l, n)| (s + n, q + l.qty))
    }

    pub(super) fn line_weights(&self) -> Vec<LineWeight> {
        self.lines
            .iter()
            .map(|l| LineWeight {
                sku: l.sku.clone(),
                qty: l.qty,
                unit_weight_g: l.unit_weight_g,
                unit_tolerance_g: l.unit_tolerance_g,
            })
            .collect()
    }

    pub fn expected_g(&self) -> f64 {
        weight::round2(weight::expected_g(
            &self.line_weights(),
            self.packaging.as_ref().map(|p| p.tare_g).unwrap_or(0.0),
        ))
    }

    /// Waiting for a supervisor: the parcel was weighed and is out of tolerance, or it is in
    /// tolerance but nobody can say who picked it.
    pub fn needs_override(&self) -> bool {
        self.complete()
            && match &self.last_check {
                Some(c) => !c.ok || self.picker_id.is_none(),
                None => false,
            }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    pub batch_id: String,
    pub carrier: Option<String>,
    pub count: u32,
}

/// A badge accepted and waiting for its PIN, or (an approval) for its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    pub employee: Employee,
    pub purpose: AuthPurpose,
    /// The PIN was given (or not needed): an approval waits for its reason.
    pub pin_ok: bool,
    /// When the badge was accepted: an approval lapses `approval_timeout_s` later.
    pub since: DateTime<FixedOffset>,
    /// What an approval approves; `None` for a sign-in or the supervisor view.
    pub approves: Option<Approves>,
}

/// The order and the weighing an approval was given for: its reason applies to them only.
#[derive(Debug, Clone, PartialEq)]
pub struct Approves {
    pub order_no: String,
    pub check: WeightCheck,
}

/// Wrong PINs in a row of one badge, and the lock they led to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Strikes {
    pub failures: u32,
    pub locked_until: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub packer: Option<Employee>,
    pub auth: Option<Auth>,
    /// By employee id.
    pub strikes: std::collections::BTreeMap<String, Strikes>,
    pub open: Option<OpenOrder>,
    pub dispatch: Option<Dispatch>,
    pub last_packed: Option<String>,
    /// Last reading from the scale (grams, stable), for display.
    pub scale: Option<(f64, bool)>,
    /// Returns check-in (`PB-RETURNS`): on, and the return open, if any.
    pub returns: Option<ReturnsMode>,
    /// The signed-in person is a supervisor without the packer role: returns check-in (and
    /// the courier handover) only, never packing.
    pub returns_only: bool,
}

/// What the packer should do next: the banner of the pack screen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum NextStep {
    EnterPin {
        employee_id: String,
        purpose: AuthPurpose,
    },
    ChooseReason {
        supervisor_id: String,
    },
    SignIn,
    ScanOrder,
    /// A supervisor signed in for returns: scan `PB-RETURNS`.
    StartReturns,
    ScanItems {
        remaining: u32,
    },
    Weigh,
    ScanPicker,
    ResolveMismatch,
    Dispatch,
    /// Returns check-in: scan the returned parcel's waybill or order number.
    ScanReturn,
    /// A return is open: scan each unit, give its condition and the buyer's reason, close.
    CheckReturn {
        return_id: String,
    },
}

impl State {
    pub fn next_step(&self) -> NextStep {
        if let Some(a) = &self.auth {
            return if a.pin_ok {
                NextStep::ChooseReason {
                    supervisor_id: a.employee.id.clone(),
                }
            } else {
                NextStep::EnterPin {
                    employee_id: a.employee.id.clone(),
                    purpose: a.purpose,
                }
            };
        }
        if self.packer.is_none() {
            return NextStep::SignIn;
        }
        if self.dispatch.is_some() {
            return NextStep::Dispatch;
        }
        if let Some(r) = &self.returns {
            return match &r.open {
                Some(o) => NextStep::CheckReturn {
                    return_id: o.return_id.clone(),
                },
                None => NextStep::ScanReturn,
            };
        }
        let Some(o) = &self.open else {
            return if self.returns_only {
                NextStep::StartReturns
            } else {
                NextStep::ScanOrder
            };
        };
        if !o.complete() {
            return NextStep::ScanItems {
                remaining: o.units_ordered() - o.units_scanned(),
            };
        }
        match &o.last_check {
            None => NextStep::Weigh,
            Some(c) if !c.ok => NextStep::ResolveMismatch,
            Some(_) => NextStep::ScanPicker,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub events: Vec<NewEvent>,
    pub next: State,
}
