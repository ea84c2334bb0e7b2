//! MT-SICS codec: arbitrary bytes in arbitrary chunks.
//!
//! Properties: no panic and no decode error; the buffer never holds more than `MAX_LINE`
//! bytes after `decode` → `None`; every event keeps the `Reading` invariants (stable ⇔ weight,
//! stable ⇒ finite grams, states carry no weight, tare finite); and when no line of the input
//! is longer than `MAX_LINE` (so the bounded-buffer trim never kicks in) the events do not
//! depend on the chunking.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use common::{scale_target, CodecInput};
use libfuzzer_sys::fuzz_target;
use packbench_drivers::scale::mtsics::MAX_LINE;
use packbench_drivers::scale::MtSicsCodec;

fuzz_target!(|data: &[u8]| {
    let input = CodecInput::parse(data);
    let longest_line = input
        .payload
        .split(|&b| b == b'\r' || b == b'\n')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    scale_target(MtSicsCodec::new, &input, MAX_LINE, longest_line <= MAX_LINE);
});
