//! A supervisor's approval of a parcel: its reason, the override it leads to, and its lapse
//! (time, another input, a new weighing).

use super::{Auth, Engine, Input, Out, Resolved, State, WeightCheck};
use crate::domain::commands::Command;
use crate::domain::event::{
    ApprovalLapsed, ApprovalReason, AuthPurpose, LapseCause, Override, OverrideReason, RejectReason,
};
use crate::domain::order::Employee;
use crate::text;
use chrono::{DateTime, FixedOffset};

impl Engine {
    /// An approval waiting for its PIN or reason lapses when `approval_timeout_s` has passed
    /// since the badge, or when any other input comes first: it approves the parcel as it
    /// was when the supervisor looked, not whatever happens at the bench afterwards.
    pub(super) fn lapse_before(&self, s: &mut State, out: &mut Out, input: &Input) {
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
    pub(super) fn lapse_after(&self, s: &mut State, out: &mut Out, input: &Input) {
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
    pub(super) fn lapse(&self, s: &mut State, out: &mut Out, cause: LapseCause) {
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
    pub(super) fn reason(&self, s: &mut State, out: &mut Out, reason: ApprovalReason, code: &str) {
        let waiting = s
            .auth
            .clone()
            .filter(|a| a.pin_ok && a.purpose == AuthPurpose::Approval);
        let Some(auth) = waiting else {
            out.reject(
                s,
                code,
                RejectReason::NotAllowed,
                text!("refuse.no_approval_waiting"),
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
                text!("refuse.approval_other_weighing"),
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
                text!("refuse.nothing_to_approve"),
                None,
            );
            return;
        }
        self.override_pack(s, out, &auth.employee, reason);
    }

    pub(super) fn override_pack(
        &self,
        s: &mut State,
        out: &mut Out,
        sup: &Employee,
        reason: ApprovalReason,
    ) {
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
}

/// What an approval of this check settles.
pub(super) fn cause_of(check: &WeightCheck) -> OverrideReason {
    if !check.ok {
        OverrideReason::WeightMismatch
    } else {
        OverrideReason::PickerUnknown
    }
}

/// Inputs that belong to an approval in progress: its PIN, its reason, closing its pad, and
/// the clock. A scale reading counts only if it changes the weighing (`lapse_after`).
pub(super) fn is_other_input(input: &Input) -> bool {
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
pub(super) fn unbound(s: &State, auth: &Auth) -> Option<LapseCause> {
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
