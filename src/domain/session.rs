//! The pack session: every decision a bench makes, as a pure state machine.
//!
//! `decide` never mutates: it returns the events to store and the state that holds once they
//! are durable. The caller appends the events and only then `commit`s, so a failed write
//! leaves the bench exactly where it was.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::barcode::ParsedCode;
use super::catalog::ItemMatch;
use super::commands::Command;
use super::event::{
    ApprovalLapsed, ApprovalReason, AuthPurpose, BadgeLocked, DispatchClosed, DispatchStarted,
    EventData, Gs1Fields, ItemAccepted, LapseCause, LoadedLine, NewEvent, OrderDispatched,
    OrderHeld, OrderLoaded, OrderPacked, OrderReleased, Override, OverrideReason, PackagingSet,
    PackerSignedIn, PackerSignedOut, PickerSet, PinFailed, PinRequired, ReasonRequired,
    RejectReason, ReprintRequested, ScanRejected, ScanUndone, SupervisorViewOpened, VersionChange,
    WeightChecked as WeightCheckedEvent,
};
use super::order::{Employee, Order, Packaging};
use super::pin::{self, Pin};
use super::progress::{Accepted, OrderProgress, OrderStatus};
use super::weight::{self, LineWeight, ToleranceRule};

mod returning;
pub use returning::{OpenReturn, ReturnsMode};

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

    fn totals(&self, sku: &str) -> (u32, u32) {
        self.lines
            .iter()
            .zip(&self.scanned)
            .filter(|(l, _)| l.sku == sku)
            .fold((0, 0), |(s, q), (l, n)| (s + n, q + l.qty))
    }

    fn line_weights(&self) -> Vec<LineWeight> {
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

#[derive(Debug, Clone)]
pub struct Engine {
    cfg: EngineConfig,
    state: State,
}

/// Collects the events of one decision, all stamped with the same time and station.
struct Out<'a> {
    cfg: &'a EngineConfig,
    now: DateTime<FixedOffset>,
    events: Vec<NewEvent>,
}

impl Out<'_> {
    fn ev(&mut self, data: impl Into<EventData>, actor: Option<&str>, order: Option<&str>) {
        let mut e = NewEvent::of(data, self.now, &self.cfg.station_id).actor(actor);
        e.order_no = order.map(str::to_string);
        self.events.push(e);
    }

    /// A refusal of `code`, about `order` or else the open order.
    fn reject(
        &mut self,
        s: &State,
        code: &str,
        reason: RejectReason,
        detail: String,
        order: Option<&str>,
    ) {
        self.refuse(s, ScanRejected::new(code, reason, detail), order)
    }

    /// A refusal with more to say than its detail.
    fn refuse(&mut self, s: &State, r: ScanRejected, order: Option<&str>) {
        let actor = s.packer.as_ref().map(|p| p.id.clone());
        let order = order
            .map(str::to_string)
            .or_else(|| s.open.as_ref().map(|o| o.order.order_no.clone()));
        self.ev(r, actor.as_deref(), order.as_deref());
    }
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

impl Engine {
    pub fn new(cfg: EngineConfig) -> Self {
        Engine {
            cfg,
            state: State::default(),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Takes the state of a decision whose events are now durable.
    pub fn commit(&mut self, next: State) {
        self.state = next;
    }

    /// Decides what an input means. Pure: `now` is the only clock.
    pub fn decide(
        &self,
        input: &Input,
        open_now: Option<&OpenOrderNow>,
        now: DateTime<FixedOffset>,
    ) -> Decision {
        let mut s = self.state.clone();
        let mut out = Out {
            cfg: &self.cfg,
            now,
            events: Vec::new(),
        };
        self.lapse_before(&mut s, &mut out, input);
        match input {
            Input::Scan(scan) => self.scan(&mut s, &mut out, scan, open_now),
            Input::Command(c) => self.command(&mut s, &mut out, c, "", now),
            Input::Weight { grams, stable } => {
                self.weight(&mut s, &mut out, *grams, *stable, open_now)
            }
            Input::SupervisorView(scan) => self.supervisor_view(&mut s, &mut out, scan),
            Input::Pin(p) => self.pin(&mut s, &mut out, p),
            Input::Reason(r) => self.reason(&mut s, &mut out, *r, ""),
            Input::CancelAuth => s.auth = None,
            Input::Tick => {}
        }
        self.lapse_after(&mut s, &mut out, input);
        Decision {
            events: out.events,
            next: s,
        }
    }

    fn scan(&self, s: &mut State, out: &mut Out, scan: &Scan, open_now: Option<&OpenOrderNow>) {
        let code = scan.code.text.as_str();
        match &scan.resolved {
            Resolved::Command(c) => return self.command(s, out, c, code, out.now),
            Resolved::Badge(emp) => {
                let keypad = scan.scanner.as_deref() == Some(KEYPAD);
                return self.badge(s, out, emp, code, keypad);
            }
            _ => {}
        }
        if s.packer.is_none() {
            out.reject(
                s,
                code,
                RejectReason::NoPacker,
                "sign in with your badge first".into(),
                None,
            );
            return;
        }
        if s.returns.is_some() {
            return self.returns_scan(s, out, scan);
        }
        match &scan.resolved {
            Resolved::Packaging(p) => self.packaging(s, out, p, code),
            Resolved::Order(view) => {
                if s.dispatch.is_some() {
                    self.dispatch_order(s, out, view, code)
                } else {
                    self.open_order(s, out, view, code)
                }
            }
            Resolved::Item(m) => self.item(s, out, scan, m, open_now),
            Resolved::Unknown => {
                let (reason, detail) = if scan.code.check_digit_error {
                    (
                        RejectReason::BadCheckDigit,
                        format!("{code} has a wrong check digit: rescan or key it in"),
                    )
                } else {
                    (
                        RejectReason::UnknownBarcode,
                        format!("{code} is not a product, order, badge or packaging code"),
                    )
                };
                out.reject(s, code, reason, detail, None);
            }
            Resolved::Command(_) | Resolved::Badge(_) => unreachable!("handled above"),
        }
    }

    fn badge(&self, s: &mut State, out: &mut Out, emp: &Employee, code: &str, keypad: bool) {
        // A new badge replaces one still waiting for its PIN or reason.
        s.auth = None;
        if let Some(r) = self.unusable(s, out, emp, code) {
            out.refuse(s, r, None);
            return;
        }
        let Some(packer) = s.packer.clone() else {
            // A supervisor signs in only to check in returns; with `supervisor_pin` their
            // badge needs its PIN here too, as the returns they confirm count against packers.
            let supervisor_only = !emp.roles.packer && emp.roles.supervisor;
            if emp.roles.packer || supervisor_only {
                if keypad
                    || self.cfg.security.sign_in_pin
                    || (supervisor_only && self.cfg.security.supervisor_pin)
                {
                    self.ask_pin(s, out, emp, code, AuthPurpose::SignIn, false);
                } else {
                    self.sign_in(s, out, emp);
                }
            } else {
                out.reject(
                    s,
                    code,
                    RejectReason::NotAllowed,
                    format!("{} has no packer role and cannot sign in", emp.id),
                    None,
                );
            }
            return;
        };
        if s.dispatch.is_none() {
            if let Some(open) = s.open.as_mut() {
                if open.needs_override() {
                    let picker = open.picker_id.as_ref().or(open.order.picker_id.as_ref());
                    let own = if emp.id == packer.id {
                        Some("signed-in packer")
                    } else if emp.roles.supervisor && picker == Some(&emp.id) {
                        Some("recorded picker")
                    } else {
                        None
                    };
                    if let Some(role) = own {
                        let mut r = ScanRejected::new(
                            code,
                            RejectReason::SelfApproval,
                            format!(
                                "{} is the {role} of this parcel: another supervisor approves it",
                                emp.id
                            ),
                        );
                        r.employee_id = Some(emp.id.clone());
                        out.refuse(s, r, None);
                        return;
                    }
                    if emp.roles.supervisor {
                        self.ask_pin(s, out, emp, code, AuthPurpose::Approval, keypad);
                        return;
                    }
                }
                if emp.roles.picker {
                    let order_no = open.order.order_no.clone();
                    if let Some(imported) = open.order.picker_id.clone() {
                        if imported != emp.id {
                            out.reject(
                                s,
                                code,
                                RejectReason::PickerFromImport,
                                format!("{order_no} was picked by {imported} per the order import"),
                                None,
                            );
                            return;
                        }
                    }
                    let open = s.open.as_mut().expect("checked above");
                    open.picker_id = Some(emp.id.clone());
                    out.ev(
                        PickerSet {
                            picker_id: emp.id.clone(),
                        },
                        Some(&packer.id),
                        Some(&order_no),
                    );
                    if open.complete() && open.last_check.as_ref().is_some_and(|c| c.ok) {
                        self.pack(s, out, None);
                    }
                    return;
                }
            }
        }
        if emp.id == packer.id {
            out.ev(
                PackerSignedIn {
                    packer_id: emp.id.clone(),
                    name: emp.name.clone(),
                    repeat: true,
                    returns_only: s.returns_only,
                },
                Some(&emp.id),
                None,
            );
            return;
        }
        let detail = if emp.roles.supervisor && s.open.is_some() {
            "no weight mismatch or missing picker to override".to_string()
        } else {
            format!(
                "{} is signed in: the packer changes only by signing out",
                packer.id
            )
        };
        out.reject(s, code, RejectReason::NotAllowed, detail, None);
    }

    /// The supervisor view opens for a supervisor's badge only. Nothing at the bench changes
    /// either way; the refusal says whose badge it was, and is not a refused bench scan.
    fn supervisor_view(&self, s: &mut State, out: &mut Out, scan: &Scan) {
        let code = scan.code.text.as_str();
        let actor = s.packer.as_ref().map(|p| p.id.clone());
        s.auth = None;
        let mut r = match &scan.resolved {
            Resolved::Badge(emp) if self.unusable(s, out, emp, code).is_some() => {
                let mut r = self.unusable(s, out, emp, code).expect("checked");
                r.name = Some(emp.name.clone());
                r
            }
            Resolved::Badge(emp) if emp.roles.supervisor => {
                if self.cfg.security.supervisor_pin {
                    let keypad = scan.scanner.as_deref() == Some(KEYPAD);
                    self.ask_pin(s, out, emp, code, AuthPurpose::SupervisorView, keypad);
                } else {
                    open_supervisor_view(out, emp);
                }
                return;
            }
            Resolved::Badge(emp) => {
                let mut r = ScanRejected::new(
                    code,
                    RejectReason::NotAllowed,
                    format!(
                        "{} is not a supervisor: the supervisor view stays closed",
                        emp.id
                    ),
                );
                r.employee_id = Some(emp.id.clone());
                r.name = Some(emp.name.clone());
                r
            }
            _ => ScanRejected::new(
                code,
                RejectReason::UnknownBarcode,
                format!("{code} is not a badge"),
            ),
        };
        r.supervisor_view = true;
        out.ev(r, actor.as_deref(), None);
    }

    /// Why this badge cannot be used now, if it cannot: locked after wrong PINs, or
    /// inactive.
    fn unusable(&self, s: &State, out: &Out, emp: &Employee, code: &str) -> Option<ScanRejected> {
        let (reason, detail) = if let Some(until) = locked_until(s, &emp.id, out.now) {
            (
                RejectReason::BadgeLocked,
                format!(
                    "{} is locked after {} wrong PINs until {}",
                    emp.id,
                    pin::MAX_FAILURES,
                    until.format("%H:%M:%S")
                ),
            )
        } else if !emp.active {
            (
                RejectReason::BadgeInactive,
                format!("{} is no longer active: this badge is refused", emp.id),
            )
        } else {
            return None;
        };
        let mut r = ScanRejected::new(code, reason, detail);
        r.employee_id = Some(emp.id.clone());
        Some(r)
    }

    /// A badge accepted: its PIN is asked for where one is needed (an approval without one
    /// goes straight to its reason).
    fn ask_pin(
        &self,
        s: &mut State,
        out: &mut Out,
        emp: &Employee,
        code: &str,
        purpose: AuthPurpose,
        keypad: bool,
    ) {
        let needed = keypad
            || match purpose {
                AuthPurpose::SignIn => true,
                AuthPurpose::Approval | AuthPurpose::SupervisorView => {
                    self.cfg.security.supervisor_pin
                }
            };
        let actor = s.packer.as_ref().map(|p| p.id.clone());
        // An approval is of the order open now and of its last weighing.
        let approves = match purpose {
            AuthPurpose::Approval => s.open.as_ref().and_then(|o| {
                Some(Approves {
                    order_no: o.order.order_no.clone(),
                    check: o.last_check.clone()?,
                })
            }),
            _ => None,
        };
        if !needed {
            s.auth = Some(Auth {
                employee: emp.clone(),
                purpose,
                pin_ok: true,
                since: out.now,
                approves,
            });
            return self.after_pin(s, out);
        }
        if emp.pin_hash.is_none() && !self.cfg.security.pins_at_centre {
            let mut r = ScanRejected::new(
                code,
                RejectReason::PinNotSet,
                format!(
                    "{} has no PIN yet: set one with `packbench employee pin {}`",
                    emp.id, emp.id
                ),
            );
            r.employee_id = Some(emp.id.clone());
            r.supervisor_view = purpose == AuthPurpose::SupervisorView;
            out.refuse(s, r, None);
            return;
        }
        let order = match purpose {
            AuthPurpose::Approval => s.open.as_ref().map(|o| o.order.order_no.clone()),
            _ => None,
        };
        out.ev(
            PinRequired {
                employee_id: emp.id.clone(),
                purpose,
            },
            actor.as_deref(),
            order.as_deref(),
        );
        s.auth = Some(Auth {
            employee: emp.clone(),
            purpose,
            pin_ok: false,
            since: out.now,
            approves,
        });
    }

    /// A PIN for the badge waiting for one: right, it does what the badge was for; wrong,
    /// it counts, and the fifth in a row locks the badge.
    fn pin(&self, s: &mut State, out: &mut Out, typed: &Pin) {
        let actor = s.packer.as_ref().map(|p| p.id.clone());
        let Some(auth) = s.auth.clone().filter(|a| !a.pin_ok) else {
            // Never the PIN itself as the refused "code".
            out.reject(
                s,
                "",
                RejectReason::NotAllowed,
                "no PIN was asked for: scan the badge first".into(),
                None,
            );
            return;
        };
        let id = auth.employee.id.clone();
        let ok = auth
            .employee
            .pin_hash
            .as_ref()
            .is_some_and(|h| h.verify(typed));
        if ok {
            s.strikes.remove(&id);
            s.auth = Some(Auth {
                pin_ok: true,
                ..auth
            });
            return self.after_pin(s, out);
        }
        let strikes = s.strikes.entry(id.clone()).or_default();
        strikes.failures += 1;
        let failures = strikes.failures;
        if failures >= pin::MAX_FAILURES {
            let until = out.now + chrono::Duration::minutes(pin::LOCK_MINUTES);
            *strikes = Strikes {
                failures: 0,
                locked_until: Some(until),
            };
            s.auth = None;
            out.ev(
                PinFailed {
                    employee_id: id.clone(),
                    purpose: auth.purpose,
                    failures,
                    remaining: 0,
                },
                actor.as_deref(),
                None,
            );
            out.ev(
                BadgeLocked {
                    employee_id: id,
                    until: until.to_rfc3339(),
                },
                actor.as_deref(),
                None,
            );
            return;
        }
        out.ev(
            PinFailed {
                employee_id: id,
                purpose: auth.purpose,
                failures,
                remaining: pin::MAX_FAILURES - failures,
            },
            actor.as_deref(),
            None,
        );
    }

    /// The badge's PIN is settled: sign in, open the supervisor view, or ask the reason.
    fn after_pin(&self, s: &mut State, out: &mut Out) {
        let Some(auth) = s.auth.clone() else { return };
        match auth.purpose {
            AuthPurpose::SignIn => {
                s.auth = None;
                if s.packer.is_none() {
                    self.sign_in(s, out, &auth.employee);
                }
            }
            AuthPurpose::SupervisorView => {
                s.auth = None;
                open_supervisor_view(out, &auth.employee);
            }
            AuthPurpose::Approval => {
                let actor = s.packer.as_ref().map(|p| p.id.clone());
                let Some(open) = s.open.as_ref().filter(|o| o.needs_override()) else {
                    s.auth = None;
                    out.reject(
                        s,
                        "",
                        RejectReason::NotAllowed,
                        "no weight mismatch or missing picker to approve any more".into(),
                        None,
                    );
                    return;
                };
                let check = open.last_check.clone().expect("needs_override has a check");
                let order_no = open.order.order_no.clone();
                out.ev(
                    ReasonRequired {
                        supervisor_id: auth.employee.id.clone(),
                        cause: cause_of(&check),
                    },
                    actor.as_deref(),
                    Some(&order_no),
                );
            }
        }
    }

    /// An approval waiting for its PIN or reason lapses when `approval_timeout_s` has passed
    /// since the badge, or when any other input comes first: it approves the parcel as it
    /// was when the supervisor looked, not whatever happens at the bench afterwards.
    fn lapse_before(&self, s: &mut State, out: &mut Out, input: &Input) {
        let Some(auth) = s
            .auth
            .as_ref()
            .filter(|a| a.purpose == AuthPurpose::Approval)
        else {
            return;
        };
        let timeout = chrono::Duration::seconds(i64::from(self.cfg.security.approval_timeout_s));
        let cause = if out.now - auth.since >= timeout {
            LapseCause::Timeout
        } else if is_other_input(input) {
            LapseCause::OtherInput
        } else {
            return;
        };
        self.lapse(s, out, cause);
    }

    /// After a scale reading (or anything else that slipped through): an approval whose order
    /// or weighing is no longer the bench's lapses.
    fn lapse_after(&self, s: &mut State, out: &mut Out, input: &Input) {
        let Some(auth) = s
            .auth
            .as_ref()
            .filter(|a| a.purpose == AuthPurpose::Approval)
        else {
            return;
        };
        if let Some(cause) = unbound(s, auth) {
            let cause = match input {
                Input::Weight { .. } => LapseCause::MeasurementChanged,
                _ => cause,
            };
            self.lapse(s, out, cause);
        }
    }

    /// Forgets the approval in progress, with an `approval_lapsed` event.
    fn lapse(&self, s: &mut State, out: &mut Out, cause: LapseCause) {
        let Some(auth) = s.auth.take() else { return };
        let actor = s.packer.as_ref().map(|p| p.id.clone());
        let (order, approves, measured_g, expected_g) = match &auth.approves {
            Some(a) => (
                Some(a.order_no.as_str()),
                cause_of(&a.check),
                a.check.measured_g,
                a.check.expected_g,
            ),
            None => (None, OverrideReason::WeightMismatch, f64::NAN, f64::NAN),
        };
        out.ev(
            ApprovalLapsed {
                supervisor_id: auth.employee.id.clone(),
                cause,
                approves,
                measured_g,
                expected_g,
                pin_given: auth.pin_ok,
                waited_s: (out.now - auth.since).num_seconds(),
            },
            actor.as_deref(),
            order,
        );
    }

    /// When the approval in progress, if any, lapses by the clock: for the station loop's
    /// timer, so an abandoned approval leaves the screen without waiting for an input.
    pub fn approval_deadline(&self) -> Option<DateTime<FixedOffset>> {
        let auth = self.state.auth.as_ref()?;
        (auth.purpose == AuthPurpose::Approval).then(|| {
            auth.since + chrono::Duration::seconds(i64::from(self.cfg.security.approval_timeout_s))
        })
    }

    /// The supervisor's reason completes the approval waiting for it.
    fn reason(&self, s: &mut State, out: &mut Out, reason: ApprovalReason, code: &str) {
        let waiting = s
            .auth
            .clone()
            .filter(|a| a.pin_ok && a.purpose == AuthPurpose::Approval);
        let Some(auth) = waiting else {
            out.reject(
                s,
                code,
                RejectReason::NotAllowed,
                "no approval is waiting for a reason: a supervisor scans their badge first".into(),
                None,
            );
            return;
        };
        if let Some(cause) = unbound(s, &auth) {
            // Inputs in between lapse an approval before this; kept here as well so that a
            // reason never applies to another order or weighing than the one approved.
            self.lapse(s, out, cause);
            out.reject(
                s,
                code,
                RejectReason::NotAllowed,
                "the approval was for another weighing: a supervisor scans their badge again"
                    .into(),
                None,
            );
            return;
        }
        s.auth = None;
        if !s.open.as_ref().is_some_and(|o| o.needs_override()) || s.dispatch.is_some() {
            out.reject(
                s,
                code,
                RejectReason::NotAllowed,
                "no weight mismatch or missing picker to approve any more".into(),
                None,
            );
            return;
        }
        self.override_pack(s, out, &auth.employee, reason);
    }

    fn sign_in(&self, s: &mut State, out: &mut Out, emp: &Employee) {
        let returns_only = !emp.roles.packer;
        out.ev(
            PackerSignedIn {
                packer_id: emp.id.clone(),
                name: emp.name.clone(),
                repeat: false,
                returns_only,
            },
            Some(&emp.id),
            None,
        );
        s.packer = Some(emp.clone());
        s.returns_only = returns_only;
    }

    fn override_pack(&self, s: &mut State, out: &mut Out, sup: &Employee, reason: ApprovalReason) {
        let open = s.open.as_ref().expect("override needs an open order");
        let check = open.last_check.clone().expect("override needs a check");
        let cause = cause_of(&check);
        let order_no = open.order.order_no.clone();
        out.ev(
            Override {
                supervisor_id: sup.id.clone(),
                reason,
                cause,
                measured_g: check.measured_g,
                expected_g: check.expected_g,
                tolerance_g: check.tolerance_g,
                picker_id: open.picker_id.clone(),
            },
            Some(&sup.id),
            Some(&order_no),
        );
        self.pack(s, out, Some(&sup.id));
    }

    fn pack(&self, s: &mut State, out: &mut Out, override_by: Option<&str>) {
        let open = s.open.take().expect("pack needs an open order");
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        let check = open.last_check.clone().expect("pack needs a weight check");
        out.ev(
            OrderPacked {
                picker_id: open.picker_id.clone(),
                packer_id: packer.clone(),
                measured_g: check.measured_g,
                expected_g: check.expected_g,
                tolerance_g: check.tolerance_g,
                weight_ok: check.ok,
                override_by: owned(override_by),
                packaging: open.packaging.as_ref().map(|p| p.code.clone()),
                version: open.version.clone(),
            },
            packer.as_deref(),
            Some(&open.order.order_no),
        );
        s.last_packed = Some(open.order.order_no);
    }

    fn packaging(&self, s: &mut State, out: &mut Out, p: &Packaging, code: &str) {
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        let Some(open) = s.open.as_mut().filter(|_| s.dispatch.is_none()) else {
            out.reject(
                s,
                code,
                RejectReason::NoOrder,
                "scan an order before its packaging".into(),
                None,
            );
            return;
        };
        open.packaging = Some(p.clone());
        open.last_check = None;
        open.armed = open.complete();
        out.ev(
            PackagingSet {
                packaging: p.code.clone(),
                tare_g: p.tare_g,
            },
            packer.as_deref(),
            Some(&open.order.order_no),
        );
    }

    fn open_order(&self, s: &mut State, out: &mut Out, view: &OrderView, code: &str) {
        let order = &view.order;
        if s.returns_only {
            let who = s.packer.as_ref().map(|p| p.id.clone()).unwrap_or_default();
            out.reject(
                s,
                code,
                RejectReason::NotAllowed,
                format!(
                    "{who} has no packer role: scan PB-RETURNS to check in returns, \
                     or sign out so a packer can sign in"
                ),
                Some(&order.order_no),
            );
            return;
        }
        let version = order.version();
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        if let Some(open) = &s.open {
            if open.order.order_no == order.order_no {
                if open.version == version && !order.cancelled {
                    // Re-sync: the same order scanned again repeats its state.
                    let mut loaded = order_loaded(open);
                    loaded.repeat = true;
                    out.ev(loaded, packer.as_deref(), Some(&order.order_no));
                    return;
                }
                // Changed or cancelled since opened: fall through and load it afresh.
            } else if open.units_scanned() > 0 {
                let o = open.order.order_no.clone();
                out.reject(
                    s,
                    code,
                    RejectReason::OrderInProgress,
                    format!("finish or hold {o} before opening another order"),
                    Some(&order.order_no),
                );
                return;
            } else {
                let o = open.order.order_no.clone();
                out.ev(OrderReleased {}, packer.as_deref(), Some(&o));
                s.open = None;
            }
        }
        let p = &view.progress;
        if order.cancelled {
            s.open = None;
            out.reject(
                s,
                code,
                RejectReason::OrderCancelled,
                format!("{} was cancelled: do not pack it", order.order_no),
                Some(&order.order_no),
            );
            return;
        }
        if matches!(p.status, OrderStatus::Packed | OrderStatus::Dispatched) {
            let by = p.packer_id.clone().unwrap_or_default();
            let at = p.packed_at.map(|t| t.to_rfc3339()).unwrap_or_default();
            let station = p.station_id.clone().unwrap_or_default();
            let mut r = ScanRejected::new(
                code,
                RejectReason::OrderAlreadyPacked,
                format!(
                    "{} was already packed by {by} at {station} on {at}",
                    order.order_no
                ),
            );
            r.packed_by = Some(by);
            r.packed_at = Some(at);
            r.packed_station = Some(station);
            out.refuse(s, r, Some(&order.order_no));
            return;
        }
        let current = p.loaded_version.as_deref() == Some(version.as_str());
        let open = OpenOrder::from_view(view, self.cfg.default_packaging.as_ref());
        let mut loaded = order_loaded(&open);
        if !current && p.stale_scans > 0 {
            loaded.change = Some(VersionChange {
                changed: true,
                previous_version: p.loaded_version.clone(),
                discarded_units: p.stale_scans,
            });
        }
        out.ev(loaded, packer.as_deref(), Some(&order.order_no));
        s.open = Some(open);
    }

    fn item(
        &self,
        s: &mut State,
        out: &mut Out,
        scan: &Scan,
        m: &ItemMatch,
        open_now: Option<&OpenOrderNow>,
    ) {
        let code = scan.code.text.as_str();
        if s.dispatch.is_some() {
            out.reject(
                s,
                code,
                RejectReason::NotAllowed,
                "dispatch mode: scan packed parcels, not items".into(),
                None,
            );
            return;
        }
        let Some(open) = &s.open else {
            out.reject(
                s,
                code,
                RejectReason::NoOrder,
                "scan the order or waybill first".into(),
                None,
            );
            return;
        };
        if let Some(reason) = stale(open, open_now) {
            let o = open.order.order_no.clone();
            out.reject(s, code, reason, stale_detail(reason, &o), None);
            return;
        }
        let (scanned, qty) = open.totals(&m.sku);
        if qty == 0 {
            let mut r = ScanRejected::new(
                code,
                RejectReason::NotInOrder,
                format!("{} is not in this order: take it out", m.sku),
            );
            r.sku = Some(m.sku.clone());
            out.refuse(s, r, None);
            return;
        }
        if scanned + m.units > qty {
            let detail = if m.units > 1 {
                format!(
                    "a pack of {} × {} is more than the {} still needed",
                    m.units,
                    m.sku,
                    qty - scanned
                )
            } else {
                format!(
                    "{} already has {scanned} of {qty}: take this one out",
                    m.sku
                )
            };
            let mut r = ScanRejected::new(code, RejectReason::OverQuantity, detail);
            r.sku = Some(m.sku.clone());
            r.scanned = Some(scanned);
            r.qty = Some(qty);
            r.units = Some(m.units);
            out.refuse(s, r, None);
            return;
        }
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        let open = s.open.as_mut().expect("checked above");
        // Bought lines fill before gift lines of the same SKU.
        let mut left = m.units;
        let mut alloc = Vec::new();
        for gift in [false, true] {
            for (i, l) in open.lines.iter().enumerate() {
                if left == 0 || l.sku != m.sku || l.gift != gift {
                    continue;
                }
                let take = (l.qty - open.scanned[i]).min(left);
                if take > 0 {
                    open.scanned[i] += take;
                    left -= take;
                    alloc.push((i, take));
                }
            }
        }
        open.stack.push(Accepted {
            sku: m.sku.clone(),
            alloc: alloc.clone(),
        });
        open.last_check = None;
        let complete = open.complete();
        open.armed = complete;
        let order_no = open.order.order_no.clone();
        let version = open.version.clone();
        out.ev(
            ItemAccepted {
                sku: m.sku.clone(),
                units: m.units,
                scanned: scanned + m.units,
                qty,
                code: code.to_string(),
                aim: scan.code.aim.clone(),
                gs1: scan.code.gs1.as_ref().map(|g| Gs1Fields {
                    gtin: g.gtin.clone(),
                    lot: g.lot.clone(),
                    serial: g.serial.clone(),
                    expiry: g.expiry.clone(),
                }),
                scanner: scan.scanner.clone(),
                version,
                alloc,
                complete,
            },
            packer.as_deref(),
            Some(&order_no),
        );
    }

    fn weight(
        &self,
        s: &mut State,
        out: &mut Out,
        grams: f64,
        stable: bool,
        open_now: Option<&OpenOrderNow>,
    ) {
        s.scale = Some((grams, stable));
        if s.dispatch.is_some() {
            return;
        }
        if s.returns.is_some() {
            return self.return_weight(s, out, grams, stable);
        }
        let min = self.cfg.min_weight_g;
        let packer = s.packer.as_ref().map(|p| p.id.clone());
        let Some(open) = s.open.as_mut() else {
            return;
        };
        if !open.complete() {
            return;
        }
        if !stable || grams < min {
            // The parcel moved or was lifted off: the next stable reading is a re-weigh.
            open.armed = true;
            return;
        }
        let moved = open
            .last_check
            .as_ref()
            .is_none_or(|c| (c.measured_g - grams).abs() >= RECHECK_DELTA_G);
        if !open.armed && !moved {
            return;
        }
        open.armed = false;
        if let Some(reason) = stale(open, open_now) {
            let o = open.order.order_no.clone();
            out.reject(s, "", reason, stale_detail(reason, &o), None);
            return;
        }
        let expected = open.expected_g();
        let lines = open.line_weights();
        let tolerance = weight::tolerance_g(self.cfg.rule, expected, &lines);
        let measured = weight::round2(grams);
        let ok = weight::within(measured, expected, tolerance);
        let hint = (!ok).then(|| weight::hint(measured - expected, &lines, tolerance));
        let order_no = open.order.order_no.clone();
        out.ev(
            WeightCheckedEvent {
                measured_g: measured,
                expected_g: expected,
                tolerance_g: tolerance,
                ok,
                packaging: open.packaging.as_ref().map(|p| p.code.clone()),
                hint: hint.as_ref().map(|h| h.text.clone()),
                hint_detail: hint.clone(),
            },
            packer.as_deref(),
            Some(&order_no),
        );
        open.last_check = Some(WeightCheck {
            measured_g: measured,
            expected_g: expected,
            tolerance_g: tolerance,
            ok,
            hint,
        });
        if ok && open.picker_id.is_some() {
            self.pack(s, out, None);
        }
    }

    fn command(
        &self,
        s: &mut State,
        out: &mut Out,
        c: &Command,
        code: &str,
        now: DateTime<FixedOffset>,
    ) {
        if let Command::Reason(r) = c {
            return self.reason(s, out, *r, code);
        }
        let Some(packer) = s.packer.as_ref().map(|p| p.id.clone()) else {
            out.reject(
                s,
                code,
                RejectReason::NoPacker,
                "sign in with your badge first".into(),
                None,
            );
            return;
        };
        let actor = Some(packer.as_str());
        if self.returns_command(s, out, c, code, &packer) {
            return;
        }
        match c {
            Command::UndoLastScan => {
                let Some(open) = s.open.as_mut().filter(|o| !o.stack.is_empty()) else {
                    out.reject(
                        s,
                        code,
                        RejectReason::NothingToUndo,
                        "no accepted scan to undo".into(),
                        None,
                    );
                    return;
                };
                let last = open.stack.pop().expect("not empty");
                let mut units = 0;
                for &(line, n) in &last.alloc {
                    open.scanned[line] -= n;
                    units += n;
                }
                open.last_check = None;
                open.armed = false;
                let (scanned, qty) = open.totals(&last.sku);
                let order_no = open.order.order_no.clone();
                let version = open.version.clone();
                out.ev(
                    ScanUndone {
                        sku: last.sku,
                        units,
                        scanned,
                        qty,
                        version,
                        alloc: last.alloc,
                    },
                    actor,
                    Some(&order_no),
                );
            }
            Command::Hold(reason) => {
                let Some(open) = s.open.take() else {
                    out.reject(
                        s,
                        code,
                        RejectReason::NoOrder,
                        "no open order to hold".into(),
                        None,
                    );
                    return;
                };
                out.ev(
                    OrderHeld {
                        reason: *reason,
                        scanned_units: open.units_scanned(),
                        ordered_units: open.units_ordered(),
                    },
                    actor,
                    Some(&open.order.order_no),
                );
            }
            Command::Reprint => {
                let Some(last) = s.last_packed.clone() else {
                    out.reject(
                        s,
                        code,
                        RejectReason::NothingToReprint,
                        "no order packed at this bench yet".into(),
                        None,
                    );
                    return;
                };
                out.ev(ReprintRequested {}, actor, Some(&last));
            }
            Command::SignOut => {
                if let Some(d) = s.dispatch.take() {
                    close_dispatch(out, actor, &d);
                }
                if let Some(r) = s.returns.take() {
                    returning::end_returns(out, actor, &r);
                }
                let open = s.open.take();
                out.ev(
                    PackerSignedOut {
                        packer_id: packer.clone(),
                        open_order: open.map(|o| o.order.order_no),
                    },
                    actor,
                    None,
                );
                s.packer = None;
                s.returns_only = false;
            }
            Command::DispatchStart => {
                if let Some(d) = &s.dispatch {
                    out.ev(
                        DispatchStarted {
                            batch_id: d.batch_id.clone(),
                            repeat: true,
                        },
                        actor,
                        None,
                    );
                    return;
                }
                if let Some(open) = &s.open {
                    let o = open.order.order_no.clone();
                    if open.units_scanned() > 0 {
                        out.reject(
                            s,
                            code,
                            RejectReason::OrderInProgress,
                            format!("finish or hold {o} before dispatch"),
                            None,
                        );
                        return;
                    }
                    out.ev(OrderReleased {}, actor, Some(&o));
                    s.open = None;
                }
                let batch_id = format!("{}-{}", self.cfg.station_id, now.format("%Y%m%d%H%M%S"));
                out.ev(
                    DispatchStarted {
                        batch_id: batch_id.clone(),
                        repeat: false,
                    },
                    actor,
                    None,
                );
                s.dispatch = Some(Dispatch {
                    batch_id,
                    carrier: None,
                    count: 0,
                });
            }
            Command::Reason(_) => unreachable!("handled above"),
            Command::ReturnsStart
            | Command::ReturnsEnd
            | Command::ReturnClose
            | Command::Condition(_)
            | Command::ReturnReason(_) => unreachable!("returns_command handles them"),
            Command::DispatchEnd => {
                let Some(d) = s.dispatch.take() else {
                    out.reject(
                        s,
                        code,
                        RejectReason::NotAllowed,
                        "not in dispatch mode".into(),
                        None,
                    );
                    return;
                };
                close_dispatch(out, actor, &d);
            }
        }
    }

    fn dispatch_order(&self, s: &mut State, out: &mut Out, view: &OrderView, code: &str) {
        let order = &view.order;
        let p = &view.progress;
        let o = order.order_no.as_str();
        let refuse = |s: &State, out: &mut Out, reason: RejectReason, detail: String| {
            out.reject(s, code, reason, detail, Some(o));
        };
        if order.cancelled {
            return refuse(
                s,
                out,
                RejectReason::OrderCancelled,
                format!("{o} was cancelled: keep the parcel back"),
            );
        }
        match p.status {
            OrderStatus::Packed => {}
            OrderStatus::Dispatched => {
                let at = p.dispatched_at.map(|t| t.to_rfc3339()).unwrap_or_default();
                return refuse(
                    s,
                    out,
                    RejectReason::AlreadyDispatched,
                    format!("{o} was already handed over on {at}"),
                );
            }
            OrderStatus::Held => {
                return refuse(
                    s,
                    out,
                    RejectReason::OrderHeld,
                    format!("{o} is on hold: keep it back"),
                )
            }
            _ => {
                return refuse(
                    s,
                    out,
                    RejectReason::NotPacked,
                    format!("{o} has not been packed: keep it back"),
                )
            }
        }
        let d = s.dispatch.as_mut().expect("dispatch mode");
        if let Some(c) = &d.carrier {
            if c != &order.carrier {
                let c = c.clone();
                return refuse(
                    s,
                    out,
                    RejectReason::WrongCarrier,
                    format!("{o} goes with {}, this handover is {c}", order.carrier),
                );
            }
        }
        d.carrier = Some(order.carrier.clone());
        d.count += 1;
        let (batch, count) = (d.batch_id.clone(), d.count);
        let actor = s.packer.as_ref().map(|p| p.id.clone());
        out.ev(
            OrderDispatched {
                batch_id: batch,
                carrier: order.carrier.clone(),
                waybill_no: order.waybill_no.clone(),
                count,
            },
            actor.as_deref(),
            Some(o),
        );
    }
}

fn close_dispatch(out: &mut Out, actor: Option<&str>, d: &Dispatch) {
    out.ev(
        DispatchClosed {
            batch_id: d.batch_id.clone(),
            carrier: d.carrier.clone(),
            count: d.count,
        },
        actor,
        None,
    );
}

fn stale(open: &OpenOrder, now: Option<&OpenOrderNow>) -> Option<RejectReason> {
    match now {
        None => Some(RejectReason::OrderChanged),
        Some(n) if n.cancelled => Some(RejectReason::OrderCancelled),
        Some(n) if n.version != open.version => Some(RejectReason::OrderChanged),
        Some(_) => None,
    }
}

fn stale_detail(reason: RejectReason, order_no: &str) -> String {
    if reason == RejectReason::OrderCancelled {
        format!("{order_no} was cancelled after it was opened: do not pack it")
    } else {
        format!("{order_no} changed after it was opened: scan the order again and recheck")
    }
}

/// The `order_loaded` of an open order: its lines with their counts so far.
fn order_loaded(open: &OpenOrder) -> OrderLoaded {
    OrderLoaded {
        lines: open
            .lines
            .iter()
            .zip(&open.scanned)
            .map(|(l, s)| LoadedLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                qty: l.qty,
                scanned: *s,
                gift: l.gift,
            })
            .collect(),
        version: open.version.clone(),
        waybill_no: open.order.waybill_no.clone(),
        picker_id: open.picker_id.clone(),
        packaging: open.packaging.as_ref().map(|p| p.code.clone()),
        expected_g: open.expected_g(),
        repeat: false,
        change: None,
    }
}

fn open_supervisor_view(out: &mut Out, emp: &Employee) {
    out.ev(
        SupervisorViewOpened {
            supervisor_id: emp.id.clone(),
            name: emp.name.clone(),
        },
        Some(&emp.id),
        None,
    );
}

/// What an approval of this check settles.
fn cause_of(check: &WeightCheck) -> OverrideReason {
    if !check.ok {
        OverrideReason::WeightMismatch
    } else {
        OverrideReason::PickerUnknown
    }
}

/// Inputs that belong to an approval in progress: its PIN, its reason, closing its pad, and
/// the clock. A scale reading counts only if it changes the weighing (`lapse_after`).
fn is_other_input(input: &Input) -> bool {
    match input {
        Input::Pin(_) | Input::Reason(_) | Input::CancelAuth | Input::Tick => false,
        Input::Weight { .. } => false,
        Input::Command(c) => !matches!(c, Command::Reason(_)),
        Input::Scan(scan) => !matches!(scan.resolved, Resolved::Command(Command::Reason(_))),
        Input::SupervisorView(_) => true,
    }
}

/// Why an approval no longer fits the bench, if it does not: the order it was for is no
/// longer open, or its last weighing is not the one approved.
fn unbound(s: &State, auth: &Auth) -> Option<LapseCause> {
    let Some(a) = &auth.approves else {
        return Some(LapseCause::OtherInput);
    };
    match s.open.as_ref().filter(|o| o.order.order_no == a.order_no) {
        None => Some(LapseCause::OtherInput),
        Some(o) => match &o.last_check {
            Some(c) if *c == a.check => None,
            Some(_) => Some(LapseCause::MeasurementChanged),
            None => Some(LapseCause::OtherInput),
        },
    }
}

/// Until when a badge is locked, if it is at `now`.
pub fn locked_until(
    s: &State,
    employee_id: &str,
    now: DateTime<FixedOffset>,
) -> Option<DateTime<FixedOffset>> {
    s.strikes
        .get(employee_id)
        .and_then(|x| x.locked_until)
        .filter(|until| *until > now)
}
