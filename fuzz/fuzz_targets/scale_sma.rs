//! SMA level 1 codec: arbitrary bytes in arbitrary chunks.
//!
//! Properties: no panic and no decode error; after `decode` → `None` the buffer is shorter than
//! `MAX_LINE`; every event keeps the `Reading` invariants (tare finite too); an info reply is
//! printable ASCII of at most `MAX_LINE - 2` bytes; the events do not depend on the chunking.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use common::{scale_target, CodecInput};
use libfuzzer_sys::fuzz_target;
use packbench_drivers::scale::sma::MAX_LINE;
use packbench_drivers::scale::{ScaleEvent, SmaCodec};

fuzz_target!(|data: &[u8]| {
    let input = CodecInput::parse(data);
    let events = scale_target(SmaCodec::new, &input, MAX_LINE - 1, true);
    for ev in &events {
        if let ScaleEvent::Info(s) = ev {
            assert!(
                s.len() <= MAX_LINE - 2 && s.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "info reply {s:?}"
            );
        }
    }
});
