//! Each scale protocol end to end over an in-memory duplex stream: the simulated scale on one
//! end, `Framed`/`FramedRead` with the real codec on the other.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use packbench_drivers::scale::{
    Reading, ReadingKind, ScaleCodec, ScaleCommand, ScaleConfig, ScaleEvent, ScaleProtocol,
    WeighMode, WeightUnit,
};
use packbench_drivers::sim::scale::{SimCondition, SimScale, SimScaleState};
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::time::{timeout, Instant};
use tokio_util::codec::{Framed, FramedRead};

const TIMEOUT: Duration = Duration::from_secs(5);

fn start(
    protocol: ScaleProtocol,
    state: SimScaleState,
) -> (Framed<DuplexStream, ScaleCodec>, SimScale) {
    let cfg = ScaleConfig {
        demand_unit: state.unit,
        ..ScaleConfig::new(protocol)
    };
    let (host, device) = tokio::io::duplex(1024);
    let sim = SimScale::new(protocol, state);
    let server = sim.clone();
    tokio::spawn(async move { server.serve(device).await });
    (Framed::new(host, ScaleCodec::new(&cfg)), sim)
}

async fn ask(framed: &mut Framed<DuplexStream, ScaleCodec>, command: ScaleCommand) -> ScaleEvent {
    framed.send(command).await.unwrap();
    next(framed).await
}

async fn next(framed: &mut Framed<DuplexStream, ScaleCodec>) -> ScaleEvent {
    timeout(TIMEOUT, framed.next())
        .await
        .expect("scale answered")
        .expect("stream open")
        .expect("no decode error")
}

fn weight(ev: &ScaleEvent) -> Option<f64> {
    ev.reading().and_then(Reading::weight_grams)
}

/// Polls at the protocol's interval until a stable weight arrives; returns it and the polls.
async fn poll_until_stable(
    framed: &mut Framed<DuplexStream, ScaleCodec>,
    protocol: ScaleProtocol,
) -> (f64, u32) {
    let mut ticker = tokio::time::interval(protocol.poll_interval().unwrap());
    let mut polls = 0;
    loop {
        ticker.tick().await;
        polls += 1;
        let ev = ask(framed, ScaleCommand::WeighNow).await;
        if let Some(g) = weight(&ev) {
            return (g, polls);
        }
        assert!(polls < 100, "never settled");
    }
}

#[tokio::test(start_paused = true)]
async fn demand_protocols_poll_until_the_scale_settles() {
    for protocol in [
        ScaleProtocol::MtSics,
        ScaleProtocol::Toledo8213,
        ScaleProtocol::Sma,
    ] {
        let state = SimScaleState::new(1250.0, WeightUnit::Kilogram, 3)
            .with_condition(SimCondition::Motion);
        let (mut framed, sim) = start(protocol, state);
        let handle = sim.handle();
        let settle = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            handle.set_load(1250.0, SimCondition::Normal);
        });
        let t0 = Instant::now();
        let (grams, polls) = poll_until_stable(&mut framed, protocol).await;
        settle.await.unwrap();
        assert_eq!(grams, 1250.0, "{protocol}");
        // Settled at 400 ms; the poll after that must come within one interval.
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(400),
            "{protocol}: {waited:?}"
        );
        assert!(
            waited <= Duration::from_millis(400) + protocol.poll_interval().unwrap(),
            "{protocol}: {waited:?}"
        );
        assert!(polls >= 5, "{protocol}: {polls} polls");
    }
}

#[tokio::test(start_paused = true)]
async fn demand_protocols_report_states_and_zero() {
    for protocol in [
        ScaleProtocol::MtSics,
        ScaleProtocol::Toledo8213,
        ScaleProtocol::Sma,
    ] {
        let (mut framed, sim) = start(protocol, SimScaleState::new(500.0, WeightUnit::Pound, 2));
        let handle = sim.handle();

        let ev = ask(&mut framed, ScaleCommand::WeighNow).await;
        let want = WeightUnit::Pound.to_grams(1.10);
        assert!(
            (weight(&ev).unwrap() - want).abs() < 1e-9,
            "{protocol}: {ev:?}"
        );

        for (condition, kind) in [
            (SimCondition::Overload, ReadingKind::Overload),
            (SimCondition::Underload, ReadingKind::Underload),
            (SimCondition::Motion, ReadingKind::Motion),
        ] {
            handle.set_load(500.0, condition);
            let ev = ask(&mut framed, ScaleCommand::WeighNow).await;
            assert_eq!(ev.reading().unwrap().kind, kind, "{protocol}");
            assert_eq!(weight(&ev), None);
        }

        handle.set_load(500.0, SimCondition::Normal);
        let ev = ask(&mut framed, ScaleCommand::Zero).await;
        match protocol {
            ScaleProtocol::MtSics => assert_eq!(ev, ScaleEvent::Zeroed),
            ScaleProtocol::Sma => assert_eq!(weight(&ev), Some(0.0)),
            // The 8213 answers zero with a status record: never a weight.
            _ => assert_eq!(weight(&ev), None),
        }
        let ev = ask(&mut framed, ScaleCommand::WeighNow).await;
        assert_eq!(weight(&ev), Some(0.0), "{protocol} after zero");
    }
}

#[tokio::test(start_paused = true)]
async fn mtsics_tare_repeat_reset_and_unknown() {
    let (mut framed, sim) = start(
        ScaleProtocol::MtSics,
        SimScaleState::new(200.0, WeightUnit::Gram, 1),
    );
    assert_eq!(
        ask(&mut framed, ScaleCommand::Tare).await,
        ScaleEvent::Tare { grams: 200.0 }
    );
    sim.handle().set_load(350.0, SimCondition::Normal);
    assert_eq!(
        weight(&ask(&mut framed, ScaleCommand::Weigh).await),
        Some(150.0)
    );

    framed.send(ScaleCommand::WeighRepeat).await.unwrap();
    for _ in 0..3 {
        assert_eq!(weight(&next(&mut framed).await), Some(150.0));
    }
    // Any other command ends the repeat; drain what was already on the wire.
    let ev = ask(&mut framed, ScaleCommand::Reset).await;
    let mut ev = ev;
    while ev != ScaleEvent::Info("SIM0000001".into()) {
        assert_eq!(weight(&ev), Some(150.0));
        ev = next(&mut framed).await;
    }

    framed.get_mut().write_all(b"XYZ\r\n").await.unwrap();
    let ev = next(&mut framed).await;
    assert!(
        matches!(ev.reading().unwrap().kind, ReadingKind::Error(_)),
        "{ev:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn sma_tare_gives_net_readings() {
    let (mut framed, sim) = start(
        ScaleProtocol::Sma,
        SimScaleState::new(1000.0, WeightUnit::Gram, 0),
    );
    let ev = ask(&mut framed, ScaleCommand::Tare).await;
    assert_eq!(
        ev.reading().unwrap(),
        &Reading::stable(0.0, Some(WeighMode::Net))
    );
    sim.handle().set_load(1600.0, SimCondition::Normal);
    let ev = ask(&mut framed, ScaleCommand::WeighNow).await;
    assert_eq!(
        ev.reading().unwrap(),
        &Reading::stable(600.0, Some(WeighMode::Net))
    );
}

#[tokio::test(start_paused = true)]
async fn toledo_continuous_streams_and_follows_the_load() {
    let protocol = ScaleProtocol::ToledoContinuous;
    let (host, device) = tokio::io::duplex(1024);
    let sim = SimScale::new(
        protocol,
        SimScaleState::new(2500.0, WeightUnit::Kilogram, 2),
    );
    let handle = sim.handle();
    tokio::spawn(async move { sim.serve(device).await });
    let mut framed = Framed::new(host, ScaleCodec::new(&ScaleConfig::new(protocol)));

    for _ in 0..3 {
        assert_eq!(weight(&next(&mut framed).await), Some(2500.0));
    }
    handle.set_load(3000.0, SimCondition::Motion);
    let mut ev = next(&mut framed).await;
    while weight(&ev) == Some(2500.0) {
        ev = next(&mut framed).await;
    }
    assert_eq!(
        ev.reading().unwrap(),
        &Reading::motion(Some(3000.0), Some(WeighMode::Gross))
    );
    handle.set_load(3000.0, SimCondition::Normal);
    framed.send(ScaleCommand::Tare).await.unwrap();
    let mut ev = next(&mut framed).await;
    while ev.reading().unwrap().mode != Some(WeighMode::Net) {
        ev = next(&mut framed).await;
    }
    assert_eq!(
        ev.reading().unwrap(),
        &Reading::stable(0.0, Some(WeighMode::Net))
    );
    assert!(
        framed.send(ScaleCommand::WeighNow).await.is_err(),
        "no poll in continuous mode"
    );
}

#[tokio::test]
async fn toledo_continuous_with_framed_read_and_no_checksum() {
    use packbench_drivers::sim::scale::{toledo_continuous_frame, SimOptions};
    let (mut device, host) = tokio::io::duplex(64);
    let cfg = ScaleConfig {
        toledo_checksum: false,
        ..ScaleConfig::new(ScaleProtocol::ToledoContinuous)
    };
    let mut reader = FramedRead::new(host, ScaleCodec::new(&cfg));
    let writer = tokio::spawn(async move {
        let opts = SimOptions {
            toledo_checksum: false,
            ..SimOptions::default()
        };
        for i in 0..20 {
            let s = SimScaleState::new(f64::from(i) * 100.0, WeightUnit::Gram, 0);
            device.write_all(b"\xff\x00").await.unwrap();
            device
                .write_all(&toledo_continuous_frame(&s, opts.toledo_checksum))
                .await
                .unwrap();
        }
    });
    let mut got = Vec::new();
    while let Some(ev) = reader.next().await {
        got.push(weight(&ev.unwrap()).unwrap());
    }
    writer.await.unwrap();
    let want: Vec<f64> = (0..20).map(|i| f64::from(i) * 100.0).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn simulator_ends_cleanly_when_the_host_hangs_up() {
    for protocol in ScaleProtocol::ALL {
        let (host, device) = tokio::io::duplex(256);
        let sim = SimScale::new(protocol, SimScaleState::new(1.0, WeightUnit::Gram, 0));
        let task = tokio::spawn(async move { sim.serve(device).await });
        let mut host = host;
        // Half a command, then hang up.
        host.write_all(b"\nS").await.unwrap();
        drop(host);
        let result = timeout(TIMEOUT, task)
            .await
            .expect("serve returned")
            .unwrap();
        // Continuous output may notice the hang-up on its next write instead of a read.
        if protocol.is_demand() {
            result.unwrap();
        }
    }
}

#[tokio::test]
async fn end_of_stream_with_a_partial_frame_is_not_an_error() {
    use packbench_drivers::sim::scale::{encode_reading, SimOptions};
    for protocol in ScaleProtocol::ALL {
        let state = SimScaleState::new(321.0, WeightUnit::Gram, 0);
        let frame = encode_reading(protocol, &state, &SimOptions::default());
        let mut bytes = frame.clone();
        bytes.extend_from_slice(&frame[..frame.len() - 3]);
        let cfg = ScaleConfig {
            demand_unit: WeightUnit::Gram,
            ..ScaleConfig::new(protocol)
        };
        let mut reader = FramedRead::new(&bytes[..], ScaleCodec::new(&cfg));
        let mut got = Vec::new();
        while let Some(ev) = reader.next().await {
            got.push(ev.expect("no error at end of stream"));
        }
        assert_eq!(got.len(), 1, "{protocol}: {got:?}");
        assert_eq!(weight(&got[0]), Some(321.0), "{protocol}");
    }
}
