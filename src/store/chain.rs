//! The hash chain over the event log: SHA-256 of the previous hash and the event's canonical
//! bytes. Canonical bytes are length-prefixed fields, so no field can bleed into another and
//! no JSON re-serialisation is needed to check an event.

use sha2::{Digest, Sha256};

pub const GENESIS: [u8; 32] = [0; 32];

pub struct EventFields<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub kind: &'a str,
    pub actor: Option<&'a str>,
    pub station_id: &'a str,
    pub order_no: Option<&'a str>,
    pub data: &'a str,
}

fn field(h: &mut Sha256, v: Option<&str>) {
    match v {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
    }
}

pub fn event_hash(prev: &[u8; 32], e: &EventFields) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(e.seq.to_be_bytes());
    field(&mut h, Some(e.at));
    field(&mut h, Some(e.kind));
    field(&mut h, e.actor);
    field(&mut h, Some(e.station_id));
    field(&mut h, e.order_no);
    field(&mut h, Some(e.data));
    h.finalize().into()
}

pub fn parse_hash(s: &str) -> Option<[u8; 32]> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_differ_and_fields_do_not_bleed() {
        let base = EventFields {
            seq: 1,
            at: "t",
            kind: "k",
            actor: None,
            station_id: "s",
            order_no: None,
            data: "{}",
        };
        let a = event_hash(&GENESIS, &base);
        let b = event_hash(
            &GENESIS,
            &EventFields {
                actor: Some(""),
                ..base
            },
        );
        assert_ne!(a, b);
        let c = event_hash(
            &GENESIS,
            &EventFields {
                at: "tk",
                kind: "",
                ..base
            },
        );
        assert_ne!(a, c);
    }
}
