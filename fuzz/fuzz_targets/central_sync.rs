//! What a bench decodes from the centre while it syncs, on arbitrary input: events read back
//! from the central log (`EventData::decode` / `StoredEvent::try_payload`, as
//! `CentralEvent::stored` hands them over) and the order's returns folded from them
//! (`returns::fold`, what a returns desk reads from `pb_packed_history`); master-data text
//! columns decoded into domain types (barcodes, attributes and order lines as JSON, roles,
//! PIN hashes, as `row_to_sku` / `row_to_order` / `row_to_employee` read them); and a
//! central checkpoint file (`CentralCheckpoint::from_json`).
//!
//! Input: `[mode] [kind] text…`. Mode 0: `text` is one event's data object for event type
//! `EventType::ALL[kind]`. Mode 1: `text` is a log, one event a line,
//! `type<TAB>station<TAB>order<TAB>data` (a line with fewer fields is skipped). Mode 2: master
//! columns separated by 0x1E: barcodes, attributes, lines, roles, PIN hash. Mode 3: a
//! checkpoint's JSON.
//!
//! Properties: no panic. A decoded event is of the type asked for and round-trips: its
//! stored object decodes to the same value and the same object. The returns fold keeps one
//! record per (station, return id), takes a record's order number from its `return_opened`,
//! and its unit sums (order's own + foreign = all, per SKU ≤ own) are the exact sums of the
//! units folded in (no wrap-around). Decoded master rows build a catalog or fail with an
//! error, and an order's version is stable. A checkpoint round-trips through its JSON and
//! keeps its consistency verdict.
#![no_main]

use chrono::{FixedOffset, TimeZone};
use libfuzzer_sys::fuzz_target;
use packbench::central::CentralCheckpoint;
use packbench::domain::barcode::parse;
use packbench::domain::event::{EventData, EventType, StoredEvent};
use packbench::domain::pin::PinHash;
use packbench::domain::returns::fold;
use packbench::domain::{BarcodeEntry, Catalog, Order, OrderLine, Roles, Sku};
use serde_json::{Map, Value};

fn at(i: usize) -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 30, 10, 0, 0)
        .unwrap()
        + chrono::Duration::seconds(i as i64)
}

fn decode_one(kind: EventType, text: &str) {
    let Ok(data) = serde_json::from_str::<Map<String, Value>>(text) else {
        return;
    };
    let ev = StoredEvent {
        seq: 1,
        at: at(0),
        kind,
        actor: Some("E003".into()),
        station_id: "BENCH-F".into(),
        order_no: Some("TB1".into()),
        data,
        hash: "00".repeat(32),
    };
    let _ = ev.to_line();
    let Ok(d) = ev.try_payload() else { return };
    assert_eq!(d.kind(), kind, "decoded as another type");
    let stored = d.to_map();
    let again = EventData::decode(kind, &stored).expect("a stored object does not decode");
    assert_eq!(again, d, "{kind:?} does not round-trip");
    assert_eq!(again.to_map(), stored, "{kind:?} stores another object");
}

fn fold_log(text: &str) {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.splitn(4, '\t').collect();
        let [kind, station, order, data] = f[..] else {
            continue;
        };
        let Some(kind) = EventType::parse(kind) else {
            continue;
        };
        let Ok(data) = serde_json::from_str::<Map<String, Value>>(data) else {
            continue;
        };
        events.push(StoredEvent {
            seq: i as i64 + 1,
            at: at(i),
            kind,
            actor: Some("E003".into()),
            station_id: station.to_string(),
            order_no: (!order.is_empty()).then(|| order.to_string()),
            data,
            hash: "00".repeat(32),
        });
    }
    let records = fold(&events);
    let mut keys = std::collections::HashSet::new();
    for r in &records {
        assert!(
            keys.insert((r.station_id.clone(), r.return_id.clone())),
            "return {} of {} folded twice",
            r.return_id,
            r.station_id
        );
        let own: u64 = r
            .units
            .iter()
            .filter(|u| !u.foreign)
            .map(|u| u64::from(u.units))
            .sum();
        let foreign: u64 = r
            .units
            .iter()
            .filter(|u| u.foreign)
            .map(|u| u64::from(u.units))
            .sum();
        assert_eq!(u64::from(r.order_units()), own, "order units wrapped");
        assert_eq!(
            u64::from(r.foreign_units()),
            foreign,
            "foreign units wrapped"
        );
        assert_eq!(u64::from(r.all_units()), own + foreign, "all units wrapped");
        let by_condition: u64 = r.conditions().values().map(|&n| u64::from(n)).sum();
        assert_eq!(by_condition, own + foreign, "conditions do not add up");
        for u in r.units.iter().filter(|u| !u.foreign) {
            let sku = u.sku.as_deref().expect("an order's unit without a SKU");
            assert!(u64::from(r.units_of(sku)) <= own);
        }
        assert!(u64::from(r.wrong_variant_units()) <= own);
        let _ = r.confirmed();
    }
}

fn master(text: &str) {
    let mut f = text.split('\u{1e}');
    let (barcodes, attributes, lines, roles, pin_hash) = (
        f.next().unwrap_or(""),
        f.next().unwrap_or(""),
        f.next().unwrap_or(""),
        f.next().unwrap_or(""),
        f.next().unwrap_or(""),
    );
    let barcodes = serde_json::from_str::<Vec<BarcodeEntry>>(barcodes);
    let attributes = serde_json::from_str::<Vec<(String, String)>>(attributes);
    if let (Ok(barcodes), Ok(attributes)) = (barcodes, attributes) {
        let sku = Sku {
            sku: "SKU-F".into(),
            name: "Fuzzed".into(),
            barcodes,
            unit_weight_g: 10.0,
            weight_tolerance_g: None,
            attributes,
        };
        if let Ok(cat) = Catalog::new([sku.clone()]) {
            // Every barcode of an accepted catalog finds its SKU.
            for b in &sku.barcodes {
                let m = cat.lookup(&parse(&b.code));
                assert_eq!(
                    m.map(|m| m.sku),
                    Some("SKU-F".to_string()),
                    "barcode {:?} not found",
                    b.code
                );
            }
        }
    }
    if let Ok(lines) = serde_json::from_str::<Vec<OrderLine>>(lines) {
        let o = Order {
            order_no: "TB-F".into(),
            waybill_no: "SF-F".into(),
            carrier: "SF".into(),
            recipient: String::new(),
            country: "CN".into(),
            address: String::new(),
            buyer_note: String::new(),
            lines,
            picker_id: None,
            cancelled: false,
        };
        assert_eq!(o.version(), o.clone().version(), "order version not stable");
    }
    let _ = Roles::parse(roles).unwrap_or_default();
    if let Ok(h) = PinHash::parse(pin_hash) {
        assert!(!format!("{h:?}").contains(pin_hash) || pin_hash.is_empty());
    }
}

fn checkpoint(text: &str) {
    let Ok(c) = CentralCheckpoint::from_json(text) else {
        return;
    };
    let ok = c.is_consistent();
    let back = CentralCheckpoint::from_json(&c.to_json()).expect("own JSON does not read");
    assert_eq!(back, c, "checkpoint does not round-trip");
    assert_eq!(back.is_consistent(), ok, "verdict changed by a round trip");
}

fuzz_target!(|data: &[u8]| {
    let (mode, kind) = (
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    );
    let text = String::from_utf8_lossy(data.get(2..).unwrap_or(&[]));
    match mode % 4 {
        0 => decode_one(
            EventType::ALL[usize::from(kind) % EventType::ALL.len()],
            &text,
        ),
        1 => fold_log(&text),
        2 => master(&text),
        _ => checkpoint(&text),
    }
});
