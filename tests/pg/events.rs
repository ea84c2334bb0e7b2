//! Events as a bench's log makes them, for the tests that ship to a real centre: one
//! hashed onto its predecessor exactly as `src/store/chain.rs` hashes it, chains of them,
//! and the fixtures' data set imported centrally.

use chrono::{FixedOffset, TimeZone};
use packbench::central::{self, Central, ShipEvent};
use packbench::store::chain::{self, EventFields, GENESIS};

pub fn t0() -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .unwrap()
}

#[allow(unused_imports)]
pub use super::fixture_files::{data_set, fixture, fixtures};

/// One event of E003 hashed onto `prev` exactly as a bench's log hashes it.
pub fn ev(
    station: &str,
    seq: i64,
    prev: &str,
    kind: &str,
    order: Option<&str>,
    data: &str,
    epoch: Option<i64>,
) -> ShipEvent {
    ev_as("E003", station, seq, prev, kind, order, data, epoch)
}

/// The same, by `actor`.
#[allow(clippy::too_many_arguments)]
pub fn ev_as(
    actor: &str,
    station: &str,
    seq: i64,
    prev: &str,
    kind: &str,
    order: Option<&str>,
    data: &str,
    epoch: Option<i64>,
) -> ShipEvent {
    let at = format!(
        "2026-11-22T10:{:02}:{:02}.000+08:00",
        (seq / 60) % 60,
        seq % 60
    );
    let hash = chain::event_hash(
        &chain::parse_hash(prev).unwrap(),
        &EventFields {
            seq,
            at: &at,
            kind,
            actor: Some(actor),
            station_id: station,
            order_no: order,
            data,
        },
    );
    ShipEvent {
        seq,
        at,
        kind: kind.into(),
        actor: Some(actor.into()),
        station_id: station.into(),
        order_no: order.map(Into::into),
        data: data.into(),
        prev_hash: prev.into(),
        hash: hex::encode(hash),
        claim_epoch: epoch,
    }
}

pub fn zeros() -> String {
    hex::encode(GENESIS)
}

/// `n` device events of `station` from seq `from`, chained onto `prev`.
pub fn chain_of(station: &str, from: i64, prev: &str, n: usize) -> Vec<ShipEvent> {
    let mut out: Vec<ShipEvent> = Vec::new();
    let mut prev = prev.to_string();
    for i in 0..n as i64 {
        let e = ev(
            station,
            from + i,
            &prev,
            "device",
            None,
            &format!(r#"{{"device":"scale","state":"connected","n":{i}}}"#),
            None,
        );
        prev = e.hash.clone();
        out.push(e);
    }
    out
}

pub async fn import_fixtures(c: &Central) {
    central::import_data_set(c, &fixtures(), t0())
        .await
        .unwrap();
}

/// Events chained one after another from seq 1: `(type, order, data, claim epoch)` each.
pub fn chain(station: &str, items: &[(&str, Option<&str>, &str, Option<i64>)]) -> Vec<ShipEvent> {
    let mut prev = zeros();
    let mut out = Vec::new();
    for (i, (kind, order, data, epoch)) in items.iter().enumerate() {
        let e = ev(station, i as i64 + 1, &prev, kind, *order, data, *epoch);
        prev = e.hash.clone();
        out.push(e);
    }
    out
}
