//! Toledo 8213 demand codec, in each configured unit (cfg & 3).
//!
//! Properties: no panic and no decode error; after `decode` → `None` the buffer is shorter than
//! `MAX_PAYLOAD + 2` (STX + payload + CR); every event keeps the `Reading` invariants; a stable
//! weight is never negative (the protocol has no sign: below zero is a status record); the
//! events do not depend on the chunking.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use common::{scale_target, CodecInput};
use libfuzzer_sys::fuzz_target;
use packbench_drivers::scale::toledo8213::MAX_PAYLOAD;
use packbench_drivers::scale::{ScaleEvent, Toledo8213Codec, WeightUnit};

fuzz_target!(|data: &[u8]| {
    let input = CodecInput::parse(data);
    let unit = WeightUnit::ALL[usize::from(input.cfg & 3)];
    let events = scale_target(|| Toledo8213Codec::new(unit), &input, MAX_PAYLOAD + 1, true);
    for ev in &events {
        if let Some(g) = ev.reading().and_then(|r| r.weight_grams()) {
            assert!(
                g >= 0.0,
                "negative weight from an unsigned protocol: {ev:?}"
            );
        }
        assert!(
            matches!(ev, ScaleEvent::Reading(_)),
            "the 8213 only sends readings: {ev:?}"
        );
    }
});
