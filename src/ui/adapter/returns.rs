//! Returns check-in on the screen: the open return beside its pack record, the buyer's
//! reason and the units' conditions as the screen's buttons know them.

use crate::domain::returns::{Condition, PackRecord, ReturnReason};
use crate::station::view::ReturnsPanel;
use crate::ui::{
    BuyerReason, ForeignRow, PackRecordView, ReturnLineRow, ReturnVerdict, UnitCondition,
};

use super::words::{closed_words, condition_text, condition_words};
use super::{bilingual, grams, plain, UiState};

/// The pack record for the screen.
pub fn pack_record_view(p: &PackRecord) -> PackRecordView {
    let g = |x: Option<f64>| x.map(grams).unwrap_or_default();
    PackRecordView {
        packer: p
            .packer_id
            .clone()
            .map(|s| plain(&s))
            .unwrap_or_default()
            .into(),
        picker: p
            .picker_id
            .clone()
            .map(|s| plain(&s))
            .unwrap_or_default()
            .into(),
        bench: p
            .station_id
            .clone()
            .map(|s| plain(&s))
            .unwrap_or_default()
            .into(),
        packed_at: p
            .packed_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
            .into(),
        units: format!("{} / {}", p.units_scanned, p.units_ordered).into(),
        measured: g(p.measured_g).into(),
        expected: g(p.expected_g).into(),
        weight_ok: p.weight_ok == Some(true),
        override_by: p
            .override_by
            .clone()
            .map(|s| plain(&s))
            .unwrap_or_default()
            .into(),
        labels: p.labels_printed as i32,
        clean: p.clean(),
    }
}

impl UiState {
    pub(super) fn set_returns(&mut self, r: &ReturnsPanel) {
        self.returns_active = true;
        if let Some(c) = &r.last_closed {
            self.return_closed = closed_words(c);
        }
        let Some(o) = &r.open else { return };
        self.has_return = true;
        self.return_id = plain(&o.return_id);
        self.return_order = plain(&o.order_no);
        self.return_waybill = plain(&o.waybill_no);
        self.return_recipient = plain(&o.recipient);
        self.return_lines = o
            .lines
            .iter()
            .map(|l| ReturnLineRow {
                sku: plain(&l.sku).into(),
                name: plain(&l.name).into(),
                attributes: plain(&l.attributes).into(),
                packed: l.packed as i32,
                before: l.before as i32,
                now: l.now as i32,
                conditions: bilingual(&condition_words(&l.conditions)),
            })
            .collect();
        self.return_foreign = o
            .foreign
            .iter()
            .map(|f| ForeignRow {
                code: plain(&f.code).into(),
                sku: f.sku.as_deref().map(plain).unwrap_or_default().into(),
                units: f.units as i32,
                condition: bilingual(&condition_text(f.condition).words()),
            })
            .collect();
        self.return_units = o.units as i32;
        self.return_units_packed = o.units_packed as i32;
        self.return_units_returned = o.units_returned as i32;
        self.return_reason = o.reason.map_or(BuyerReason::None, buyer_reason);
        if let Some((unit, c)) = &o.last_unit {
            self.return_last_unit = plain(unit);
            self.return_last_condition = unit_condition(*c);
        }
        self.return_weighed = o.weighed_g.map(grams).unwrap_or_default();
        self.return_verdict = match o.verdict {
            Some(true) => ReturnVerdict::Confirmed,
            Some(false) => ReturnVerdict::Contradicted,
            None => ReturnVerdict::None,
        };
        self.pack_record = pack_record_view(&o.pack);
    }
}

/// The buyer's reason as the screen's buttons know it.
pub fn buyer_reason(r: ReturnReason) -> BuyerReason {
    match r {
        ReturnReason::Size => BuyerReason::Size,
        ReturnReason::Quality => BuyerReason::Quality,
        ReturnReason::NotAsDescribed => BuyerReason::NotAsDescribed,
        ReturnReason::WrongItemSent => BuyerReason::WrongItemSent,
        ReturnReason::MissingItem => BuyerReason::MissingItem,
        ReturnReason::ChangedMind => BuyerReason::ChangedMind,
        ReturnReason::DamagedInTransit => BuyerReason::DamagedInTransit,
        ReturnReason::Other => BuyerReason::Other,
    }
}

/// A returned unit's condition as the screen's buttons know it.
pub fn unit_condition(c: Condition) -> UnitCondition {
    match c {
        Condition::Ok => UnitCondition::Ok,
        Condition::Damaged => UnitCondition::Damaged,
        Condition::Used => UnitCondition::Used,
        Condition::WrongVariant => UnitCondition::WrongVariant,
    }
}
