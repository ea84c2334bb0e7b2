//! The pack session: every decision a bench makes, as a pure state machine.
//!
//! `decide` never mutates: it returns the events to store and the state that holds once they
//! are durable. The caller appends the events and only then `commit`s, so a failed write
//! leaves the bench exactly where it was.
//!
//! By the part of the work: `sign_in` (badges, PINs), `packing` (an order opened, scanned,
//! weighed, packed), `approval` (a supervisor's reason and override, and its lapse),
//! `commands` (the command barcodes), `dispatch` (the courier's handover) and `returning`
//! (returns check-in); `state` holds the types they share.

use crate::text;
use chrono::{DateTime, FixedOffset};

use crate::domain::event::{EventData, NewEvent, RejectReason, ScanRejected};
use crate::text::Words;

mod approval;
mod commands;
mod dispatch;
mod packing;
mod returning;
mod sign_in;
mod state;
pub use returning::{OpenReturn, ReturnsMode};
pub use sign_in::locked_until;
pub use state::{
    Approves, Auth, Decision, Dispatch, EngineConfig, Input, LineInfo, NextStep, OpenOrder,
    OpenOrderNow, OrderView, Resolved, Scan, Security, State, Strikes, WeightCheck, KEYPAD,
    RECHECK_DELTA_G,
};

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
        detail: impl Into<Words>,
        order: Option<&str>,
    ) {
        let detail = detail.into().en;
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
                text!("refuse.sign_in_first"),
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
                        text!("refuse.bad_check_digit", code = code),
                    )
                } else {
                    (
                        RejectReason::UnknownBarcode,
                        text!("refuse.unknown_code", code = code),
                    )
                };
                out.reject(s, code, reason, detail, None);
            }
            Resolved::Command(_) | Resolved::Badge(_) => unreachable!("handled above"),
        }
    }
}
