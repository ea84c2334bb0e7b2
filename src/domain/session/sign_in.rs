//! Signing in and the PIN: a badge at the bench (sign-in, approval, supervisor view), the
//! PIN it may need, wrong PINs counted and the badge locked.

use super::approval::cause_of;
use super::{Approves, Auth, Engine, Out, Resolved, Scan, State, Strikes, KEYPAD};
use crate::domain::event::{
    AuthPurpose, BadgeLocked, PackerSignedIn, PickerSet, PinFailed, PinRequired, ReasonRequired,
    RejectReason, ScanRejected, SupervisorViewOpened,
};
use crate::domain::order::Employee;
use crate::domain::pin::{self, Pin};
use crate::text;
use chrono::{DateTime, FixedOffset};

impl Engine {
    pub(super) fn badge(
        &self,
        s: &mut State,
        out: &mut Out,
        emp: &Employee,
        code: &str,
        keypad: bool,
    ) {
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
                    text!("refuse.no_packer_role", who = emp.id),
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
                        Some(text!("refuse.self_approval_packer", who = emp.id))
                    } else if emp.roles.supervisor && picker == Some(&emp.id) {
                        Some(text!("refuse.self_approval_picker", who = emp.id))
                    } else {
                        None
                    };
                    if let Some(detail) = own {
                        let mut r = ScanRejected::new(code, RejectReason::SelfApproval, detail.en);
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
                                text!("refuse.picked_per_import", o = order_no, picker = imported),
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
            text!("refuse.nothing_to_override").words()
        } else {
            text!("refuse.packer_signed_in", who = packer.id)
        };
        out.reject(s, code, RejectReason::NotAllowed, detail, None);
    }

    /// The supervisor view opens for a supervisor's badge only. Nothing at the bench changes
    /// either way; the refusal says whose badge it was, and is not a refused bench scan.
    pub(super) fn supervisor_view(&self, s: &mut State, out: &mut Out, scan: &Scan) {
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
                    text!("refuse.not_a_supervisor", who = emp.id).en,
                );
                r.employee_id = Some(emp.id.clone());
                r.name = Some(emp.name.clone());
                r
            }
            _ => ScanRejected::new(
                code,
                RejectReason::UnknownBarcode,
                text!("refuse.not_a_badge", code = code).en,
            ),
        };
        r.supervisor_view = true;
        out.ev(r, actor.as_deref(), None);
    }

    /// Why this badge cannot be used now, if it cannot: locked after wrong PINs, or
    /// inactive.
    pub(super) fn unusable(
        &self,
        s: &State,
        out: &Out,
        emp: &Employee,
        code: &str,
    ) -> Option<ScanRejected> {
        let (reason, detail) = if let Some(until) = locked_until(s, &emp.id, out.now) {
            (
                RejectReason::BadgeLocked,
                text!(
                    "refuse.badge_locked",
                    who = emp.id,
                    n = pin::MAX_FAILURES,
                    until = until.format("%H:%M:%S").to_string()
                )
                .en,
            )
        } else if !emp.active {
            (
                RejectReason::BadgeInactive,
                text!("refuse.badge_inactive", who = emp.id).en,
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
    pub(super) fn ask_pin(
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
                text!("refuse.pin_not_set", who = emp.id).en,
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
    pub(super) fn pin(&self, s: &mut State, out: &mut Out, typed: &Pin) {
        let actor = s.packer.as_ref().map(|p| p.id.clone());
        let Some(auth) = s.auth.clone().filter(|a| !a.pin_ok) else {
            // Never the PIN itself as the refused "code".
            out.reject(
                s,
                "",
                RejectReason::NotAllowed,
                text!("refuse.no_pin_asked"),
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
    pub(super) fn after_pin(&self, s: &mut State, out: &mut Out) {
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
                        text!("refuse.nothing_to_approve"),
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

    pub(super) fn sign_in(&self, s: &mut State, out: &mut Out, emp: &Employee) {
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
}

pub(super) fn open_supervisor_view(out: &mut Out, emp: &Employee) {
    out.ev(
        SupervisorViewOpened {
            supervisor_id: emp.id.clone(),
            name: emp.name.clone(),
        },
        Some(&emp.id),
        None,
    );
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
