//! Returns check-in (退货签收): a returned parcel checked unit by unit against what was packed.
//!
//! The engine (`session`) decides; this module holds the vocabulary (conditions, buyers'
//! reasons), the events' fields, the fold that reads an order's returns back from its events,
//! the pack record shown beside a return, and [`confirms`]: whether a buyer's packing claim is
//! borne out by the check-in, the one rule the audit, the screens and the central reports
//! share.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::event::{EventData, StoredEvent};
// The events' fields and the words were defined here first; their paths stay.
pub use super::event::{
    ForeignItem, PackedLine, ReturnClosed, ReturnCondition, ReturnItem, ReturnOpened,
    ReturnReasonGiven, ReturnUndone, ReturnWeighed, ReturnsEnded, ReturnsStarted,
};
pub use super::vocab::{Condition, ReturnReason};

/// What the check-in found that bears on a packing claim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Units that were never in the order (this return).
    pub foreign_units: u32,
    /// Units of the order's SKUs marked `wrong_variant` (this return).
    pub wrong_variant_units: u32,
    /// Units of the order back over all its returns so far, this one included.
    pub returned_units: u32,
    /// Units packed.
    pub packed_units: u32,
}

/// Whether the check-in bears out the buyer's reason: `None` when the reason blames nothing
/// at the bench; `Some(true)` when a claim of a wrong or missing item is confirmed (a foreign
/// or wrong-variant unit came back, or fewer units than were packed); `Some(false)` when the
/// evidence contradicts it (every packed unit came back, all of them right). The one rule for
/// the log (`return_closed.confirmed`), `audit packer`, `audit returns` and the central
/// reports (which read the stored `confirmed`).
pub fn confirms(reason: ReturnReason, e: &Evidence) -> Option<bool> {
    if !reason.is_packing_claim() {
        return None;
    }
    Some(e.foreign_units > 0 || e.wrong_variant_units > 0 || e.returned_units < e.packed_units)
}

/// Whether a closed return counts as a packing error of the order's packer and picker (for
/// readers of the stored event, such as the central reports).
pub fn counts_as_packing_error(closed: &ReturnClosed) -> bool {
    closed.reason.is_packing_claim() && closed.confirmed == Some(true)
}

// ---- the pack record ----

/// What the log says about how the order left: the evidence beside a return.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PackRecord {
    pub packer_id: Option<String>,
    pub picker_id: Option<String>,
    pub station_id: Option<String>,
    pub packed_at: Option<DateTime<FixedOffset>>,
    pub dispatched_at: Option<DateTime<FixedOffset>>,
    pub measured_g: Option<f64>,
    pub expected_g: Option<f64>,
    pub tolerance_g: Option<f64>,
    pub weight_ok: Option<bool>,
    pub override_by: Option<String>,
    pub labels_printed: u32,
    pub units_scanned: u32,
    pub units_ordered: u32,
}

impl PackRecord {
    /// Every unit scanned and the parcel weighed within tolerance, no supervisor needed: the
    /// strongest evidence that it left complete.
    pub fn clean(&self) -> bool {
        self.units_ordered > 0
            && self.units_scanned >= self.units_ordered
            && self.weight_ok == Some(true)
            && self.override_by.is_none()
    }
}

// ---- an order's returns, read back from its events ----

/// One scan of a return: a unit (or a case) of the order, or a foreign one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnedUnit {
    pub sku: Option<String>,
    pub code: String,
    pub units: u32,
    pub condition: Condition,
    pub foreign: bool,
}

/// Units of a return's scans that are foreign (`true`) or the order's own (`false`).
pub fn units_where(units: &[ReturnedUnit], foreign: bool) -> u32 {
    units
        .iter()
        .filter(|u| u.foreign == foreign)
        .map(|u| u.units)
        .sum()
}

/// A return as its events tell it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnRecord {
    pub return_id: String,
    pub order_no: String,
    pub station_id: String,
    pub handler_id: Option<String>,
    pub opened_at: DateTime<FixedOffset>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    pub units: Vec<ReturnedUnit>,
    pub reason: Option<ReturnReason>,
    pub weighed_g: Option<f64>,
    /// The summary as written at close.
    pub closed: Option<ReturnClosed>,
}

impl ReturnRecord {
    /// Units of `sku` in this return (the order's own, not foreign ones).
    pub fn units_of(&self, sku: &str) -> u32 {
        self.units
            .iter()
            .filter(|u| !u.foreign && u.sku.as_deref() == Some(sku))
            .map(|u| u.units)
            .sum()
    }

    /// Units of the order's SKUs in this return.
    pub fn order_units(&self) -> u32 {
        units_where(&self.units, false)
    }

    pub fn foreign_units(&self) -> u32 {
        units_where(&self.units, true)
    }

    pub fn all_units(&self) -> u32 {
        self.units.iter().map(|u| u.units).sum()
    }

    /// Units by condition, foreign ones included.
    pub fn conditions(&self) -> BTreeMap<Condition, u32> {
        let mut m = BTreeMap::new();
        for u in &self.units {
            *m.entry(u.condition).or_insert(0) += u.units;
        }
        m
    }

    pub fn wrong_variant_units(&self) -> u32 {
        self.units
            .iter()
            .filter(|u| !u.foreign && u.condition == Condition::WrongVariant)
            .map(|u| u.units)
            .sum()
    }

    /// The stored verdict of a closed return.
    pub fn confirmed(&self) -> Option<bool> {
        self.closed.as_ref().and_then(|c| c.confirmed)
    }
}

/// The returns among `events` (oldest first; of one order or many), in the order they were
/// opened. A return is keyed by its station and id, so two benches' returns never mix.
pub fn fold(events: &[StoredEvent]) -> Vec<ReturnRecord> {
    let mut out: Vec<ReturnRecord> = Vec::new();
    let find = |out: &mut Vec<ReturnRecord>, station: &str, id: &str| -> Option<usize> {
        out.iter()
            .rposition(|r| r.station_id == station && r.return_id == id)
    };
    for e in events {
        let Some(data) = e.payload() else { continue };
        let st = e.station_id.as_str();
        match data {
            EventData::ReturnOpened(o) => {
                if find(&mut out, st, &o.return_id).is_some() {
                    continue; // a re-sync repeats it
                }
                out.push(ReturnRecord {
                    return_id: o.return_id,
                    order_no: e.order_no.clone().unwrap_or_default(),
                    station_id: e.station_id.clone(),
                    handler_id: e.actor.clone(),
                    opened_at: e.at,
                    closed_at: None,
                    units: Vec::new(),
                    reason: None,
                    weighed_g: None,
                    closed: None,
                });
            }
            EventData::ReturnItem(i) => {
                if let Some(k) = find(&mut out, st, &i.return_id) {
                    out[k].units.push(ReturnedUnit {
                        sku: Some(i.sku),
                        code: i.code,
                        units: i.units,
                        condition: i.condition,
                        foreign: false,
                    });
                }
            }
            EventData::ForeignItem(f) => {
                if let Some(k) = find(&mut out, st, &f.return_id) {
                    out[k].units.push(ReturnedUnit {
                        sku: f.sku,
                        code: f.code,
                        units: f.units,
                        condition: f.condition,
                        foreign: true,
                    });
                }
            }
            EventData::ReturnCondition(c) => {
                if let Some(k) = find(&mut out, st, &c.return_id) {
                    let i = c.item as usize;
                    if let Some(u) = i.checked_sub(1).and_then(|i| out[k].units.get_mut(i)) {
                        u.condition = c.condition;
                    }
                }
            }
            EventData::ReturnUndone(u) => {
                if let Some(k) = find(&mut out, st, &u.return_id) {
                    out[k].units.pop();
                }
            }
            EventData::ReturnReasonGiven(r) => {
                if let Some(k) = find(&mut out, st, &r.return_id) {
                    out[k].reason = Some(r.reason);
                }
            }
            EventData::ReturnWeighed(w) => {
                if let Some(k) = find(&mut out, st, &w.return_id) {
                    out[k].weighed_g = Some(w.measured_g);
                }
            }
            EventData::ReturnClosed(c) => {
                if let Some(k) = find(&mut out, st, &c.return_id) {
                    out[k].closed_at = Some(e.at);
                    out[k].reason = Some(c.reason);
                    out[k].closed = Some(c);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(reason: ReturnReason, foreign: u32, wrong: u32, back: u32, packed: u32) -> Option<bool> {
        confirms(
            reason,
            &Evidence {
                foreign_units: foreign,
                wrong_variant_units: wrong,
                returned_units: back,
                packed_units: packed,
            },
        )
    }

    #[test]
    fn a_packing_claim_is_confirmed_only_by_the_evidence() {
        use ReturnReason::*;
        // A foreign unit, a wrong variant, or fewer units back than packed.
        assert_eq!(ev(WrongItemSent, 1, 0, 3, 3), Some(true));
        assert_eq!(ev(WrongItemSent, 0, 1, 3, 3), Some(true));
        assert_eq!(ev(MissingItem, 0, 0, 2, 3), Some(true));
        // Every packed unit back, all right: the evidence contradicts the claim.
        assert_eq!(ev(MissingItem, 0, 0, 3, 3), Some(false));
        assert_eq!(ev(WrongItemSent, 0, 0, 3, 3), Some(false));
        // Reasons that blame nothing at the bench are neither.
        for r in [
            Size,
            Quality,
            NotAsDescribed,
            ChangedMind,
            DamagedInTransit,
            Other,
        ] {
            assert_eq!(ev(r, 1, 1, 0, 3), None, "{r:?}");
        }
    }

    #[test]
    fn names_are_the_contracts() {
        for c in Condition::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(Condition::parse(&c.as_str().to_uppercase()), Some(c));
        }
        for r in ReturnReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(ReturnReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(ReturnReason::parse("because"), None);
        // Conditions as map keys are their names.
        let m: BTreeMap<Condition, u32> = [(Condition::WrongVariant, 2)].into();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"wrong_variant":2}"#);
    }

    #[test]
    fn a_clean_pack_record_needs_every_unit_the_weight_and_no_override() {
        let mut p = PackRecord {
            weight_ok: Some(true),
            units_scanned: 3,
            units_ordered: 3,
            ..Default::default()
        };
        assert!(p.clean());
        p.override_by = Some("E005".into());
        assert!(!p.clean());
        p.override_by = None;
        p.weight_ok = Some(false);
        assert!(!p.clean());
        p.weight_ok = Some(true);
        p.units_scanned = 2;
        assert!(!p.clean());
    }
}
