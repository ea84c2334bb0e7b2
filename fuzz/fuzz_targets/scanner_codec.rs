//! ScannerCodec: arbitrary bytes in arbitrary chunks, under every suffix set and a range of
//! `max_frame_len`s.
//!
//! Properties: no panic and no decode error; after `decode` → `None` the buffer holds at most
//! `max_frame_len + 1` bytes (a trailing CR may be half of a CRLF); every frame's code is
//! non-empty, holds no CR/LF/TAB nor any other control byte except GS/RS/EOT, has at least one
//! printable character and at most `max_frame_len` characters (AIM prefix included); and the
//! frames do not depend on how the stream was chunked.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use common::{feed, CodecInput};
use libfuzzer_sys::fuzz_target;
use packbench_drivers::scanner::{ScanFrame, ScannerCodec, ScannerConfig, Suffix};

const MAX_LENS: [usize; 16] = [1024, 0, 1, 2, 3, 4, 5, 8, 13, 16, 20, 32, 64, 100, 128, 255];

fn config(cfg: u8) -> ScannerConfig {
    let suffixes = Suffix::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| cfg & (1 << i) != 0)
        .map(|(_, s)| s)
        .collect();
    ScannerConfig {
        suffixes,
        max_frame_len: MAX_LENS[usize::from(cfg >> 4)],
    }
}

fn is_kept(c: char) -> bool {
    matches!(c, '\u{1d}' | '\u{1e}' | '\u{04}')
}

fn check_frame(f: &ScanFrame, max: usize) {
    assert!(!f.code.is_empty(), "empty code: {f:?}");
    assert!(
        !f.code.contains(['\r', '\n', '\t']),
        "terminator inside code: {f:?}"
    );
    assert!(
        f.code
            .chars()
            .all(|c| !(c < ' ' || c == '\u{7f}') || is_kept(c)),
        "control byte left in code: {f:?}"
    );
    assert!(
        f.code.chars().any(|c| !is_kept(c)),
        "separator-only code: {f:?}"
    );
    // Each raw byte becomes at most one char (U+FFFD for an invalid one).
    assert!(
        f.code.chars().count() <= max,
        "frame longer than max_frame_len {max}: {f:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let input = CodecInput::parse(data);
    let cfg = config(input.cfg);
    let max = cfg.max_frame_len.max(1);
    let bound = max + 1;
    let chunked = feed(
        &mut ScannerCodec::new(&cfg),
        input.payload,
        input.lens,
        bound,
    );
    for f in &chunked.items {
        check_frame(f, max);
    }
    let whole = feed(&mut ScannerCodec::new(&cfg), input.payload, &[], bound);
    assert_eq!(
        chunked.items, whole.items,
        "chunking changed the frames (cfg {cfg:?}, lens {:?})",
        input.lens
    );
});
