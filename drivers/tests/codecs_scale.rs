//! Scale codecs on byte streams: simulator round trips, every split position, arbitrary
//! chunking, garbage between frames, arbitrary bytes.

use bytes::BytesMut;
use packbench_drivers::scale::{
    mtsics, sma, toledo8213, toledo_continuous, ReadingKind, ScaleCodec, ScaleConfig, ScaleEvent,
    ScaleProtocol, WeighMode, WeightUnit,
};
use packbench_drivers::sim::scale::{encode_reading, SimCondition, SimOptions, SimScaleState};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn config(protocol: ScaleProtocol, unit: WeightUnit) -> ScaleConfig {
    ScaleConfig {
        demand_unit: unit,
        ..ScaleConfig::new(protocol)
    }
}

/// Feeds `bytes` in pieces cut at `cuts` (sorted or not), decoding after each piece, and
/// checks the buffer stays bounded after every decode.
fn decode_chunked(cfg: &ScaleConfig, bytes: &[u8], cuts: &[usize]) -> Vec<ScaleEvent> {
    let mut codec = ScaleCodec::new(cfg);
    let bound = buffer_bound(cfg.protocol);
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    for cut in cuts {
        buf.extend_from_slice(&bytes[at..cut]);
        at = cut;
        while let Some(ev) = codec
            .decode(&mut buf)
            .expect("decoders never fail on bytes")
        {
            out.push(ev);
        }
        assert!(
            buf.len() <= bound,
            "{} buffer {} > {bound}",
            cfg.protocol,
            buf.len()
        );
    }
    out
}

fn decode_whole(cfg: &ScaleConfig, bytes: &[u8]) -> Vec<ScaleEvent> {
    decode_chunked(cfg, bytes, &[])
}

fn buffer_bound(protocol: ScaleProtocol) -> usize {
    match protocol {
        ScaleProtocol::MtSics => mtsics::MAX_LINE,
        ScaleProtocol::ToledoContinuous => toledo_continuous::FRAME_LEN + 1,
        ScaleProtocol::Toledo8213 => toledo8213::MAX_PAYLOAD + 2,
        ScaleProtocol::Sma => sma::MAX_LINE,
    }
}

/// Can this byte start a frame (or, for MT-SICS, end a line)? Garbage without such bytes
/// cannot form a frame of its own.
fn can_frame(protocol: ScaleProtocol, b: u8) -> bool {
    match protocol {
        ScaleProtocol::MtSics => b == b'\r' || b == b'\n',
        ScaleProtocol::ToledoContinuous | ScaleProtocol::Toledo8213 => b & 0x7f == 0x02,
        ScaleProtocol::Sma => b == b'\n',
    }
}

fn protocol_strategy() -> impl Strategy<Value = ScaleProtocol> {
    prop::sample::select(ScaleProtocol::ALL.to_vec())
}

fn state_strategy() -> impl Strategy<Value = SimScaleState> {
    (
        -2_000.0f64..60_000.0,
        prop::sample::select(WeightUnit::ALL.to_vec()),
        0u32..=3,
        prop::sample::select(vec![
            SimCondition::Normal,
            SimCondition::Normal,
            SimCondition::Motion,
            SimCondition::Overload,
            SimCondition::Underload,
            SimCondition::Error,
        ]),
        prop::option::of(0.0f64..5_000.0),
    )
        .prop_map(|(load, unit, decimals, condition, tare)| {
            let mut s = SimScaleState::new(load, unit, decimals).with_condition(condition);
            s.tare_grams = tare;
            s
        })
}

fn options() -> SimOptions {
    SimOptions::default()
}

fn stream_of(protocol: ScaleProtocol, states: &[SimScaleState]) -> Vec<u8> {
    states
        .iter()
        .flat_map(|s| encode_reading(protocol, s, &options()))
        .collect()
}

/// The config a decoder needs for what the simulator sends in `state`'s unit.
fn cfg_for(protocol: ScaleProtocol, state_unit: WeightUnit) -> ScaleConfig {
    config(protocol, state_unit)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// What a decoder must make of one simulated reading.
fn check_round_trip(protocol: ScaleProtocol, state: &SimScaleState, event: &ScaleEvent) {
    let reading = event
        .reading()
        .unwrap_or_else(|| panic!("not a reading: {event:?}"));
    let want = state.expected_grams();
    let value = state.displayed_value();
    let fits_toledo = (value.abs() * 10f64.powi(state.decimals as i32)).round() <= 999_999.0;
    use ReadingKind as K;
    use SimCondition as C;
    let expected_kind = match (protocol, state.condition) {
        (ScaleProtocol::ToledoContinuous, _) if !fits_toledo => K::OutOfRange,
        (ScaleProtocol::ToledoContinuous, C::Overload | C::Underload | C::Error) => K::OutOfRange,
        (ScaleProtocol::Toledo8213, C::Normal) if value < 0.0 => K::Underload,
        (_, C::Normal) => K::Weight,
        (_, C::Motion) => K::Motion,
        (_, C::Overload) => K::Overload,
        (_, C::Underload) => K::Underload,
        (_, C::Error) => match &reading.kind {
            K::Error(msg) => K::Error(msg.clone()),
            other => panic!("{protocol}: error state decoded as {other:?}"),
        },
    };
    assert_eq!(reading.kind, expected_kind, "{protocol} {state:?}");
    assert_eq!(reading.stable, expected_kind == K::Weight);
    match expected_kind {
        K::Weight => {
            let got = reading.weight_grams().unwrap();
            assert!(
                close(got, want),
                "{protocol}: {got} g, want {want} g ({state:?})"
            );
        }
        K::Motion if protocol != ScaleProtocol::Toledo8213 => {
            let got = reading.grams.unwrap();
            assert!(
                close(got, want),
                "{protocol}: moving {got} g, want {want} g"
            );
            assert_eq!(reading.weight_grams(), None);
        }
        _ => assert_eq!(reading.weight_grams(), None, "{protocol}: {reading:?}"),
    }
    let mode = match protocol {
        ScaleProtocol::ToledoContinuous | ScaleProtocol::Sma if expected_kind == K::Weight => {
            Some(if state.is_net() {
                WeighMode::Net
            } else {
                WeighMode::Gross
            })
        }
        _ => reading.mode,
    };
    assert_eq!(reading.mode, mode, "{protocol}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Each simulated reading decodes to the same weight or state.
    #[test]
    fn simulator_round_trip(protocol in protocol_strategy(), state in state_strategy()) {
        let cfg = cfg_for(protocol, state.unit);
        let bytes = encode_reading(protocol, &state, &options());
        let events = decode_whole(&cfg, &bytes);
        prop_assert_eq!(events.len(), 1, "{:?}", String::from_utf8_lossy(&bytes));
        check_round_trip(protocol, &state, &events[0]);
    }

    /// Arbitrary chunking of a valid stream yields the same events as one piece.
    #[test]
    fn chunking_does_not_matter(
        protocol in protocol_strategy(),
        unit in prop::sample::select(WeightUnit::ALL.to_vec()),
        states in prop::collection::vec(state_strategy(), 1..8),
        cuts in prop::collection::vec(0usize..400, 0..40),
    ) {
        let states: Vec<_> = states.into_iter().map(|s| SimScaleState { unit, ..s }).collect();
        let cfg = cfg_for(protocol, unit);
        let bytes = stream_of(protocol, &states);
        let whole = decode_whole(&cfg, &bytes);
        prop_assert_eq!(whole.len(), states.len());
        prop_assert_eq!(decode_chunked(&cfg, &bytes, &cuts), whole);
    }

    /// Garbage that cannot start a frame, between and around frames, is skipped and every
    /// frame is still decoded, whatever the chunking.
    #[test]
    fn garbage_between_frames_is_skipped(
        protocol in protocol_strategy(),
        states in prop::collection::vec(state_strategy(), 1..8),
        garbage in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 9),
        cuts in prop::collection::vec(0usize..700, 0..30),
    ) {
        let unit = states[0].unit;
        let states: Vec<_> = states.into_iter().map(|s| SimScaleState { unit, ..s }).collect();
        let cfg = cfg_for(protocol, unit);
        let clean = decode_whole(&cfg, &stream_of(protocol, &states));
        let mut dirty = Vec::new();
        for (i, state) in states.iter().enumerate() {
            dirty.extend(garbage[i].iter().copied().filter(|&b| !can_frame(protocol, b)));
            dirty.extend(encode_reading(protocol, state, &options()));
        }
        dirty.extend(garbage[8].iter().copied().filter(|&b| !can_frame(protocol, b)));
        prop_assert_eq!(decode_chunked(&cfg, &dirty, &cuts), clean);
    }

    /// Any garbage at all in front of a run of frames costs at most the first frame.
    #[test]
    fn arbitrary_garbage_costs_at_most_one_frame(
        protocol in protocol_strategy(),
        garbage in prop::collection::vec(any::<u8>(), 0..64),
        load in 0.0f64..10_000.0,
    ) {
        let states: Vec<_> = (0..5)
            .map(|i| SimScaleState::new(load + f64::from(i), WeightUnit::Gram, 0))
            .collect();
        let cfg = cfg_for(protocol, WeightUnit::Gram);
        let clean = decode_whole(&cfg, &stream_of(protocol, &states));
        let mut dirty = garbage.clone();
        dirty.extend(stream_of(protocol, &states));
        let got = decode_whole(&cfg, &dirty);
        prop_assert!(got.len() >= clean.len() - 1);
        prop_assert_eq!(&got[got.len() - (clean.len() - 1)..], &clean[1..]);
    }

    /// No input makes a decoder panic or grow its buffer past the bound.
    #[test]
    fn arbitrary_bytes_never_panic(
        protocol in protocol_strategy(),
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(0usize..600, 0..20),
    ) {
        let cfg = cfg_for(protocol, WeightUnit::Kilogram);
        decode_chunked(&cfg, &bytes, &cuts);
    }

    /// Bytes biased towards each protocol's own alphabet reach the deeper parsing paths.
    #[test]
    fn protocol_like_bytes_never_panic(
        protocol in protocol_strategy(),
        bytes in prop::collection::vec(
            prop::sample::select(b"\x02\r\n SDIZTE+-?.0123456789gklbozGNM_A\"\x20\x30\x3a\xb0".to_vec()),
            0..600,
        ),
    ) {
        let cfg = cfg_for(protocol, WeightUnit::Pound);
        for ev in decode_whole(&cfg, &bytes) {
            if let ScaleEvent::Reading(r) = ev {
                prop_assert_eq!(r.stable, r.kind == ReadingKind::Weight);
                if let Some(g) = r.weight_grams() {
                    prop_assert!(g.is_finite());
                }
            }
        }
    }
}

/// A fixed mixed stream per protocol: real frames, states, garbage and a truncated frame.
fn fixed_stream(protocol: ScaleProtocol) -> (ScaleConfig, Vec<u8>) {
    let unit = WeightUnit::Kilogram;
    let states = [
        SimScaleState::new(1234.0, unit, 3),
        SimScaleState::new(50.0, unit, 3).with_condition(SimCondition::Motion),
        SimScaleState::new(99_000.0, unit, 3).with_condition(SimCondition::Overload),
        SimScaleState::new(0.0, unit, 3),
        SimScaleState::new(-20.0, unit, 3).with_condition(SimCondition::Underload),
        SimScaleState::new(12_500.0, unit, 1),
    ];
    let mut bytes = b"noise".to_vec();
    for (i, s) in states.iter().enumerate() {
        let frame = encode_reading(protocol, s, &options());
        if i == 3 {
            // A frame cut short by a reconnect, then the real one.
            bytes.extend_from_slice(&frame[..frame.len() / 2]);
        }
        bytes.extend(frame);
    }
    (cfg_for(protocol, unit), bytes)
}

#[test]
fn every_split_position_gives_the_same_events() {
    for protocol in ScaleProtocol::ALL {
        let (cfg, bytes) = fixed_stream(protocol);
        let whole = decode_whole(&cfg, &bytes);
        assert_eq!(whole.len(), 6, "{protocol}: {whole:?}");
        for split in 0..=bytes.len() {
            assert_eq!(
                decode_chunked(&cfg, &bytes, &[split]),
                whole,
                "{protocol} split at {split}"
            );
        }
        let every_byte: Vec<usize> = (0..bytes.len()).collect();
        assert_eq!(
            decode_chunked(&cfg, &bytes, &every_byte),
            whole,
            "{protocol} bytewise"
        );
    }
}

#[test]
fn fixed_stream_decodes_to_the_right_states() {
    for protocol in ScaleProtocol::ALL {
        let (cfg, bytes) = fixed_stream(protocol);
        let readings: Vec<_> = decode_whole(&cfg, &bytes)
            .into_iter()
            .map(|e| e.reading().cloned().unwrap())
            .collect();
        assert_eq!(readings[0].weight_grams(), Some(1234.0), "{protocol}");
        assert_eq!(readings[1].kind, ReadingKind::Motion, "{protocol}");
        let over = if protocol == ScaleProtocol::ToledoContinuous {
            ReadingKind::OutOfRange
        } else {
            ReadingKind::Overload
        };
        assert_eq!(readings[2].kind, over, "{protocol}");
        assert_eq!(readings[3].weight_grams(), Some(0.0), "{protocol}");
        assert!(readings[4].weight_grams().is_none(), "{protocol}");
        assert_eq!(readings[5].weight_grams(), Some(12_500.0), "{protocol}");
    }
}

#[test]
fn long_garbage_runs_keep_buffers_bounded_and_recover() {
    for protocol in ScaleProtocol::ALL {
        let cfg = cfg_for(protocol, WeightUnit::Gram);
        let mut garbage: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        garbage.retain(|&b| !can_frame(protocol, b));
        let mut bytes = garbage;
        bytes.extend(encode_reading(
            protocol,
            &SimScaleState::new(42.0, WeightUnit::Gram, 0),
            &options(),
        ));
        let cuts: Vec<usize> = (0..bytes.len()).step_by(97).collect();
        let got = decode_chunked(&cfg, &bytes, &cuts);
        assert_eq!(
            got.last()
                .and_then(|e| e.reading())
                .and_then(|r| r.weight_grams()),
            Some(42.0),
            "{protocol}"
        );
    }
}
