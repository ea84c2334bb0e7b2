//! Shared helpers for the codec targets: input layout, chunked feeding, scale-event checks.
#![allow(dead_code)]

use bytes::BytesMut;
use packbench_drivers::scale::{Reading, ReadingKind, ScaleEvent};
use tokio_util::codec::Decoder;

/// Codec target input: `[cfg] [n] [len_1 .. len_n] payload…`.
///
/// `cfg` selects the codec configuration; `n % 17` chunk lengths follow (0 = call `decode`
/// once more without new bytes); the payload is fed in chunks cycling through those lengths.
/// With no lengths (or only zeros) the payload goes in as one chunk. Missing bytes are 0.
pub struct CodecInput<'a> {
    pub cfg: u8,
    pub lens: &'a [u8],
    pub payload: &'a [u8],
}

impl<'a> CodecInput<'a> {
    pub fn parse(data: &'a [u8]) -> Self {
        let cfg = data.first().copied().unwrap_or(0);
        let n = usize::from(data.get(1).copied().unwrap_or(0) % 17);
        let rest = data.get(2..).unwrap_or(&[]);
        let n = n.min(rest.len());
        let (lens, payload) = rest.split_at(n);
        CodecInput { cfg, lens, payload }
    }
}

/// What one feed produced, and how the buffer looked after each `decode` → `None`.
pub struct Fed<T> {
    pub items: Vec<T>,
    /// Largest buffer length seen right after `decode` returned `Ok(None)`.
    pub max_pending: usize,
}

/// Feeds `payload` to `codec` in chunks of `lens` (cycling), draining `decode` after every
/// chunk, then drains `decode_eof` as `FramedRead` does at end of stream.
///
/// Checks on the way: `decode`/`decode_eof` never return an error (bad bytes are never an
/// error for these codecs), the buffer after `decode` → `None` is at most `bound` bytes, every
/// item consumed at least one byte (no more items than payload bytes + 1), and the buffer is
/// empty once `decode_eof` returns `None`.
pub fn feed<D>(codec: &mut D, payload: &[u8], lens: &[u8], bound: usize) -> Fed<D::Item>
where
    D: Decoder,
    D::Error: std::fmt::Debug,
{
    let whole = lens.iter().all(|&l| l == 0);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut max_pending = 0usize;
    let mut pos = 0usize;
    let mut i = 0usize;
    let limit = payload.len() + 1;
    let mut drain = |codec: &mut D, buf: &mut BytesMut, items: &mut Vec<D::Item>| loop {
        match codec.decode(buf) {
            Ok(Some(item)) => {
                items.push(item);
                assert!(
                    items.len() <= limit,
                    "more items than input bytes: decode makes no progress"
                );
            }
            Ok(None) => {
                assert!(
                    buf.len() <= bound,
                    "buffer holds {} bytes after decode -> None (bound {bound})",
                    buf.len()
                );
                max_pending = max_pending.max(buf.len());
                break;
            }
            Err(e) => panic!("decode returned an error on plain bytes: {e:?}"),
        }
    };
    while pos < payload.len() {
        let n = if whole {
            payload.len()
        } else {
            usize::from(lens[i % lens.len()])
        };
        i += 1;
        let end = (pos + n).min(payload.len());
        buf.extend_from_slice(&payload[pos..end]);
        pos = end;
        drain(codec, &mut buf, &mut items);
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(item)) => {
                items.push(item);
                assert!(items.len() <= limit, "decode_eof makes no progress");
            }
            Ok(None) => break,
            Err(e) => panic!("decode_eof returned an error on plain bytes: {e:?}"),
        }
    }
    assert!(
        buf.is_empty(),
        "{} bytes left after decode_eof -> None",
        buf.len()
    );
    Fed { items, max_pending }
}

/// The documented `Reading` invariants: `stable` exactly for `Weight`, a stable reading has
/// finite grams, every grams value is finite, non-weight states carry no weight.
pub fn check_reading(r: &Reading) {
    assert_eq!(
        r.stable,
        r.kind == ReadingKind::Weight,
        "stable flag vs kind: {r:?}"
    );
    if r.stable {
        let g = r.grams.expect("stable reading without grams");
        assert!(g.is_finite(), "stable reading with non-finite grams: {r:?}");
        assert_eq!(r.weight_grams(), Some(g));
    } else {
        assert_eq!(
            r.weight_grams(),
            None,
            "non-stable reading counts as a weight: {r:?}"
        );
    }
    if let Some(g) = r.grams {
        assert!(g.is_finite(), "non-finite grams: {r:?}");
    }
    match &r.kind {
        ReadingKind::Weight | ReadingKind::Motion => {}
        ReadingKind::Overload
        | ReadingKind::Underload
        | ReadingKind::OutOfRange
        | ReadingKind::Busy
        | ReadingKind::Error(_) => {
            assert!(r.grams.is_none(), "state reading with a weight: {r:?}");
        }
    }
    if let ReadingKind::Error(msg) = &r.kind {
        assert!(!msg.is_empty(), "error reading without a message");
    }
}

pub fn check_event(ev: &ScaleEvent) {
    match ev {
        ScaleEvent::Reading(r) => check_reading(r),
        ScaleEvent::Tare { grams } => assert!(grams.is_finite(), "non-finite tare: {ev:?}"),
        ScaleEvent::Rejected { reason, .. } => assert!(!reason.is_empty()),
        ScaleEvent::Zeroed | ScaleEvent::Info(_) => {}
    }
}

/// Runs a scale codec chunked and in one piece; checks every event, the buffer bound, and
/// (when `invariant`) that the chunking did not change what was decoded.
pub fn scale_target<D>(
    mk: impl Fn() -> D,
    input: &CodecInput<'_>,
    bound: usize,
    invariant: bool,
) -> Vec<ScaleEvent>
where
    D: Decoder<Item = ScaleEvent>,
    D::Error: std::fmt::Debug,
{
    let chunked = feed(&mut mk(), input.payload, input.lens, bound);
    chunked.items.iter().for_each(check_event);
    let whole = feed(&mut mk(), input.payload, &[], bound);
    whole.items.iter().for_each(check_event);
    if invariant {
        assert_eq!(
            chunked.items, whole.items,
            "chunking changed the decoded events (lens {:?})",
            input.lens
        );
    }
    chunked.items
}
