//! The command barcodes at the bench (undo, hold, reprint, sign-out, dispatch, returns).

use super::dispatch::close_dispatch;
use super::{returning, Dispatch, Engine, Out, State};
use crate::domain::commands::Command;
use crate::domain::event::{
    DispatchStarted, OrderHeld, OrderReleased, PackerSignedOut, RejectReason, ReprintRequested,
    ScanUndone,
};
use crate::text;
use chrono::{DateTime, FixedOffset};

impl Engine {
    pub(super) fn command(
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
                text!("refuse.sign_in_first"),
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
                        text!("refuse.no_scan_to_undo"),
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
                        text!("refuse.no_order_to_hold"),
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
                        text!("refuse.nothing_packed_yet"),
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
                            text!("refuse.finish_before_dispatch", o = o),
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
                        text!("refuse.not_in_dispatch"),
                        None,
                    );
                    return;
                };
                close_dispatch(out, actor, &d);
            }
        }
    }
}
