//! MT-SICS codec: arbitrary bytes in arbitrary chunks.
//!
//! Properties: no panic and no decode error; the buffer never holds more than `MAX_LINE`
//! bytes after `decode` → `None`; every event keeps the `Reading` invariants (stable ⇔ weight,
//! stable ⇒ finite grams, states carry no weight, tare finite); and the events do not depend
//! on the chunking (an over-long line is dropped a byte at a time, never trimmed by how much
//! happened to be buffered).
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use common::{scale_target, CodecInput};
use libfuzzer_sys::fuzz_target;
use packbench_drivers::scale::mtsics::MAX_LINE;
use packbench_drivers::scale::MtSicsCodec;

fuzz_target!(|data: &[u8]| {
    let input = CodecInput::parse(data);
    scale_target(MtSicsCodec::new, &input, MAX_LINE, true);
});
