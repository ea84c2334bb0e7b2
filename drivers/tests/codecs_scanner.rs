//! Scanner codec on byte streams: chunking, noise, arbitrary bytes, and end to end over a
//! duplex stream with `FramedRead` and with the idle-gap helper under paused time.

use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use packbench_drivers::scanner::{
    frame_with_timeout, ScanFrame, ScannerCodec, ScannerConfig, Suffix, TimedScanner,
    DEFAULT_IDLE_GAP,
};
use packbench_drivers::sim::scanner::{encode_scan, type_bytes};
use proptest::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use tokio_util::codec::{Decoder, FramedRead};

fn decode_chunked(config: &ScannerConfig, bytes: &[u8], cuts: &[usize]) -> Vec<ScanFrame> {
    let mut codec = ScannerCodec::new(config);
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    for cut in cuts {
        buf.extend_from_slice(&bytes[at..cut]);
        at = cut;
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            out.push(frame);
        }
        // A pending CR (half a CRLF) may sit on top of a full-length frame.
        assert!(
            buf.len() <= config.max_frame_len + 1,
            "buffer {}",
            buf.len()
        );
    }
    out.extend(codec.decode_eof(&mut buf).unwrap());
    out
}

/// The frame of a scan: the AIM prefix stays in front of the code, as sent.
fn frame(code: &str, aim: Option<&str>) -> ScanFrame {
    ScanFrame {
        code: format!("{}{code}", aim.unwrap_or("")),
    }
}

/// Printable ASCII (space included) and GS, with at least one printable byte, not starting
/// with `]` (which could read as an AIM prefix).
fn code_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![8 => 0x20u8..0x7f, 1 => Just(0x1du8)], 1..60)
        .prop_filter("needs printable content", |b| b.iter().any(|&c| c != 0x1d))
        .prop_map(|mut b| {
            if b[0] == b']' {
                b[0] = b'X';
            }
            String::from_utf8(b).unwrap()
        })
}

fn aim_strategy() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "]C1", "]E0", "]d2", "]Q3", "]A0",
    ]))
}

fn suffix_strategy() -> impl Strategy<Value = Suffix> {
    prop::sample::select(Suffix::ALL.to_vec())
}

/// Control bytes that are noise: everything below 0x20 except the terminators and the kept
/// separators (GS, RS, EOT), plus DEL.
fn noise_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(
            (0u8..0x20)
                .filter(|b| ![b'\r', b'\n', b'\t', 0x1d, 0x1e, 0x04].contains(b))
                .chain([0x7f])
                .collect::<Vec<u8>>(),
        ),
        0..6,
    )
}

type Scan = (String, Option<&'static str>, Suffix, Vec<u8>, Vec<u8>);

fn scans_strategy() -> impl Strategy<Value = Vec<Scan>> {
    prop::collection::vec(
        (
            code_strategy(),
            aim_strategy(),
            suffix_strategy(),
            noise_strategy(),
            noise_strategy(),
        ),
        1..10,
    )
}

/// Noise in front of and inside each scan, and noise-only frames between scans.
fn stream(scans: &[Scan]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (code, aim, suffix, noise_in, noise_frame) in scans {
        bytes.extend(noise_frame);
        bytes.extend(suffix.bytes());
        bytes.extend(noise_in);
        let scan = encode_scan(code, *aim, Some(*suffix));
        let mid = aim.map_or(0, str::len) + code.len() / 2;
        bytes.extend(&scan[..mid]);
        bytes.extend(noise_in);
        bytes.extend(&scan[mid..]);
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_scan_survives_noise_and_chunking(
        scans in scans_strategy(),
        cuts in prop::collection::vec(0usize..800, 0..40),
    ) {
        let bytes = stream(&scans);
        let want: Vec<ScanFrame> = scans.iter().map(|(c, a, ..)| frame(c, *a)).collect();
        let cfg = ScannerConfig::default();
        prop_assert_eq!(decode_chunked(&cfg, &bytes, &cuts), want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..800),
        cuts in prop::collection::vec(0usize..800, 0..20),
        suffixes in prop::sample::subsequence(Suffix::ALL.to_vec(), 0..=4),
        max_frame_len in 1usize..64,
    ) {
        let cfg = ScannerConfig { suffixes, max_frame_len };
        for f in decode_chunked(&cfg, &bytes, &cuts) {
            prop_assert!(!f.code.is_empty());
            prop_assert!(!f.code.bytes().any(|b| (b < 0x20 && ![0x1d, 0x1e, 0x04].contains(&b)) || b == 0x7f));
            prop_assert!(f.code.len() <= max_frame_len * 3, "lossy decoding at most triples");
        }
    }
}

#[test]
fn every_split_position_gives_the_same_frames() {
    let bytes = [
        encode_scan("4006381333931", Some("]E0"), Some(Suffix::Cr)),
        b"\x00\r\n".to_vec(),
        encode_scan(
            "0109501234567890\u{1d}10LOT7",
            Some("]C1"),
            Some(Suffix::CrLf),
        ),
        encode_scan("ORDER-1001", None, Some(Suffix::Tab)),
        encode_scan("SKU 42", None, Some(Suffix::Lf)),
    ]
    .concat();
    let cfg = ScannerConfig::default();
    let whole = decode_chunked(&cfg, &bytes, &[]);
    assert_eq!(
        whole,
        vec![
            frame("4006381333931", Some("]E0")),
            frame("0109501234567890\u{1d}10LOT7", Some("]C1")),
            frame("ORDER-1001", None),
            frame("SKU 42", None),
        ]
    );
    for split in 0..=bytes.len() {
        assert_eq!(
            decode_chunked(&cfg, &bytes, &[split]),
            whole,
            "split at {split}"
        );
    }
    let every: Vec<usize> = (0..bytes.len()).collect();
    assert_eq!(decode_chunked(&cfg, &bytes, &every), whole);
}

#[tokio::test]
async fn framed_read_over_a_duplex_stream() {
    let (mut scanner, host) = tokio::io::duplex(16);
    let writer = tokio::spawn(async move {
        for i in 0..50 {
            let code = format!("CODE{i:03}");
            let bytes = encode_scan(&code, Some("]C0"), Some(Suffix::CrLf));
            scanner.write_all(&bytes).await.unwrap();
        }
        // No suffix on the last one: end of stream ends it.
        scanner.write_all(b"LAST").await.unwrap();
    });
    let mut frames = FramedRead::new(host, ScannerCodec::default());
    let mut got = Vec::new();
    while let Some(f) = frames.next().await {
        got.push(f.unwrap());
    }
    writer.await.unwrap();
    assert_eq!(got.len(), 51);
    assert_eq!(got[7], frame("CODE007", Some("]C0")));
    assert_eq!(got[50], frame("LAST", None));
}

fn no_suffix() -> ScannerConfig {
    ScannerConfig {
        suffixes: vec![],
        ..ScannerConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn idle_gap_ends_frames_without_suffix() {
    let (mut scanner, mut host) = tokio::io::duplex(64);
    let t0 = Instant::now();
    let writer = tokio::spawn(async move {
        // 9600 baud is about 1 ms per byte; a slow scanner may leave 10 ms gaps.
        type_bytes(&mut scanner, b"ABC123", Duration::from_millis(10))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        type_bytes(&mut scanner, b"XYZ", Duration::from_millis(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    });
    let mut codec = ScannerCodec::new(&no_suffix());
    let mut buf = BytesMut::new();

    let first = frame_with_timeout(&mut host, &mut codec, &mut buf, DEFAULT_IDLE_GAP)
        .await
        .unwrap();
    assert_eq!(first, Some(frame("ABC123", None)));
    // Last byte at 50 ms, flushed one idle gap later.
    assert_eq!(t0.elapsed(), Duration::from_millis(50) + DEFAULT_IDLE_GAP);

    let second = frame_with_timeout(&mut host, &mut codec, &mut buf, DEFAULT_IDLE_GAP)
        .await
        .unwrap();
    assert_eq!(second, Some(frame("XYZ", None)));
    assert_eq!(t0.elapsed(), Duration::from_millis(352) + DEFAULT_IDLE_GAP);

    writer.await.unwrap();
    assert_eq!(
        frame_with_timeout(&mut host, &mut codec, &mut buf, DEFAULT_IDLE_GAP)
            .await
            .unwrap(),
        None,
        "end of stream"
    );
}

#[tokio::test(start_paused = true)]
async fn timed_scanner_with_suffixes_and_a_stalled_partial() {
    let (mut scanner, host) = tokio::io::duplex(64);
    let writer = tokio::spawn(async move {
        scanner.write_all(b"ONE\rTWO\r\nTHR").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        scanner.write_all(b"FOUR\t").await.unwrap();
    });
    let mut timed = TimedScanner::new(host, &ScannerConfig::default(), DEFAULT_IDLE_GAP);
    let mut got = Vec::new();
    while let Some(f) = timed.next_frame().await.unwrap() {
        got.push(f.code);
    }
    writer.await.unwrap();
    // "THR" stalled longer than the idle gap, so it was taken as a scan of its own.
    assert_eq!(got, ["ONE", "TWO", "THR", "FOUR"]);
}
