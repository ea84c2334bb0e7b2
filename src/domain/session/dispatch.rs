//! The courier's handover: each packed parcel scanned into the open batch.

use super::{Dispatch, Engine, OrderView, Out, State};
use crate::domain::event::{DispatchClosed, OrderDispatched, RejectReason};
use crate::domain::progress::OrderStatus;
use crate::text;

impl Engine {
    pub(super) fn dispatch_order(
        &self,
        s: &mut State,
        out: &mut Out,
        view: &OrderView,
        code: &str,
    ) {
        let order = &view.order;
        let p = &view.progress;
        let o = order.order_no.as_str();
        let refuse = |s: &State, out: &mut Out, reason: RejectReason, detail: text::Words| {
            out.reject(s, code, reason, detail, Some(o));
        };
        if order.cancelled {
            return refuse(
                s,
                out,
                RejectReason::OrderCancelled,
                text!("refuse.dispatch_cancelled", o = o),
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
                    text!("refuse.dispatch_already", o = o, at = at),
                );
            }
            OrderStatus::Held => {
                return refuse(
                    s,
                    out,
                    RejectReason::OrderHeld,
                    text!("refuse.dispatch_held", o = o),
                )
            }
            _ => {
                return refuse(
                    s,
                    out,
                    RejectReason::NotPacked,
                    text!("refuse.dispatch_not_packed", o = o),
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
                    text!(
                        "refuse.dispatch_other_carrier",
                        o = o,
                        carrier = order.carrier,
                        c = c
                    ),
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

pub(super) fn close_dispatch(out: &mut Out, actor: Option<&str>, d: &Dispatch) {
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
