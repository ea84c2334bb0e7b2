//! Toledo continuous codec, with and without the checksum byte (cfg bit 0).
//!
//! Properties: no panic and no decode error; after `decode` → `None` the buffer is shorter
//! than one frame; every event keeps the `Reading` invariants; the events do not depend on the
//! chunking (the decoder only ever waits for a whole frame after an STX).
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use common::{scale_target, CodecInput};
use libfuzzer_sys::fuzz_target;
use packbench_drivers::scale::toledo_continuous::FRAME_LEN;
use packbench_drivers::scale::ToledoContinuousCodec;

fuzz_target!(|data: &[u8]| {
    let input = CodecInput::parse(data);
    let checksum = input.cfg & 1 == 1;
    let frame_len = FRAME_LEN + usize::from(checksum);
    scale_target(
        || ToledoContinuousCodec::new(checksum),
        &input,
        frame_len - 1,
        true,
    );
});
