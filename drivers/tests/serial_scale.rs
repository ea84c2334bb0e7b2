//! Each scale protocol end to end over a pty: the simulated scale serves the device end, the
//! station side runs the real link, codec and poller on the terminal path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use packbench_drivers::scale::{
    Reading, ReadingKind, ScaleCommand, ScaleConfig, ScaleError, ScaleEvent, ScaleProtocol,
    WeightUnit,
};
use packbench_drivers::serial::{
    scale_link, BackoffPolicy, DataBits, LinkEvent, LinkOptions, OpenErrorKind, Parity,
    ScalePoller, SerialLink, SerialSettings, VirtualPort,
};
use packbench_drivers::sim::scale::{
    toledo_continuous_frame, SimCondition, SimScale, SimScaleHandle, SimScaleState,
};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(5);

fn quick() -> LinkOptions {
    LinkOptions {
        backoff: BackoffPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(150),
            jitter: 0.2,
        },
        jitter_seed: Some(2),
        ..LinkOptions::default()
    }
}

/// The serial settings a real scale of each protocol typically uses.
fn settings_for(protocol: ScaleProtocol, path: &Path) -> SerialSettings {
    let mut s = SerialSettings::new(path, 9600);
    if protocol == ScaleProtocol::Toledo8213 {
        // 8213-style scales usually run 7E1; a pty accepts the setting and ignores it.
        s.data_bits = DataBits::Seven;
        s.parity = Parity::Even;
    }
    s
}

/// A simulated scale on a fresh pty, serving until the task is aborted (an unplug).
fn sim_on_pty(
    protocol: ScaleProtocol,
    state: SimScaleState,
) -> (PathBuf, SimScaleHandle, JoinHandle<()>) {
    let vp = VirtualPort::new().unwrap();
    let path = vp.path().to_path_buf();
    let sim = SimScale::new(protocol, state);
    let handle = sim.handle();
    let task = tokio::spawn(async move {
        let _ = sim.serve(vp).await;
    });
    (path, handle, task)
}

async fn unplug(task: JoinHandle<()>) {
    task.abort();
    let _ = task.await;
}

fn config_for(protocol: ScaleProtocol, unit: WeightUnit) -> ScaleConfig {
    ScaleConfig {
        demand_unit: unit,
        ..ScaleConfig::new(protocol)
    }
}

async fn next(link: &mut SerialLink<ScaleEvent>) -> LinkEvent<ScaleEvent> {
    timeout(LIMIT, link.recv())
        .await
        .expect("an event within the time limit")
        .expect("the link is running")
}

/// Skips everything up to the next stable weight; returns it and the readings seen before.
async fn next_weight(link: &mut SerialLink<ScaleEvent>) -> (f64, Vec<Reading>) {
    let mut before = vec![];
    loop {
        match next(link).await {
            LinkEvent::Frame(ScaleEvent::Reading(r)) => match r.weight_grams() {
                Some(g) => return (g, before),
                None => before.push(r),
            },
            LinkEvent::Frame(_) | LinkEvent::Connected { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Skips readings up to the next non-reading scale event.
async fn next_reply(link: &mut SerialLink<ScaleEvent>) -> ScaleEvent {
    loop {
        match next(link).await {
            LinkEvent::Frame(ScaleEvent::Reading(_)) => {}
            LinkEvent::Frame(ev) => return ev,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn assert_grams(got: f64, want: f64) {
    assert!((got - want).abs() < 0.01, "got {got} g, want {want} g");
}

async fn connected(link: &mut SerialLink<ScaleEvent>, path: &Path) {
    match next(link).await {
        LinkEvent::Connected { device } => assert_eq!(device, path),
        other => panic!("expected Connected, got {other:?}"),
    }
}

#[tokio::test]
async fn every_protocol_reads_a_stable_weight_over_a_pty() {
    let cases = [
        (ScaleProtocol::MtSics, WeightUnit::Gram, 2, 1234.5),
        (
            ScaleProtocol::ToledoContinuous,
            WeightUnit::Kilogram,
            3,
            2750.0,
        ),
        (
            ScaleProtocol::Toledo8213,
            WeightUnit::Pound,
            3,
            1.5 * 453.592_37,
        ),
        (ScaleProtocol::Sma, WeightUnit::Kilogram, 3, 5025.0),
    ];
    for (protocol, unit, decimals, grams) in cases {
        let state = SimScaleState::new(grams, unit, decimals);
        let want = state.expected_grams();
        let (path, _handle, sim) = sim_on_pty(protocol, state);
        let settings = settings_for(protocol, &path);
        let (mut link, poller) = scale_link(settings, &config_for(protocol, unit), quick());
        connected(&mut link, &path).await;
        poller.set_awaiting(true);
        let (got, _) = next_weight(&mut link).await;
        assert_grams(got, want);
        poller.set_awaiting(false);
        if protocol.is_demand() {
            assert!(poller.polls_sent() >= 1, "{protocol}: polled");
        } else {
            assert_eq!(poller.polls_sent(), 0, "{protocol}: streams by itself");
        }
        drop(poller);
        link.shutdown().await;
        unplug(sim).await;
    }
}

#[tokio::test]
async fn demand_scales_are_polled_until_they_settle() {
    for protocol in [
        ScaleProtocol::MtSics,
        ScaleProtocol::Toledo8213,
        ScaleProtocol::Sma,
    ] {
        let state =
            SimScaleState::new(980.0, WeightUnit::Kilogram, 3).with_condition(SimCondition::Motion);
        let (path, handle, sim) = sim_on_pty(protocol, state);
        let config = config_for(protocol, WeightUnit::Kilogram);
        let (mut link, poller) = scale_link(settings_for(protocol, &path), &config, quick());
        connected(&mut link, &path).await;
        poller.set_awaiting(true);
        let settle = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            handle.set_load(1010.0, SimCondition::Normal);
        });
        let (got, before) = next_weight(&mut link).await;
        assert_grams(got, 1010.0);
        assert!(!before.is_empty(), "{protocol}: answers while moving");
        assert!(
            before.iter().all(|r| r.kind == ReadingKind::Motion),
            "{protocol}: {before:?}"
        );
        assert!(poller.polls_sent() >= 3, "{protocol}: kept polling");
        settle.await.unwrap();
        drop(poller);
        link.shutdown().await;
        unplug(sim).await;
    }
}

/// The poll rate while a weight is awaited, counted in paused time: 80 ms is 12.5 Hz, so one
/// virtual second holds 13 polls (the first at once), and none while not awaiting.
#[tokio::test(start_paused = true)]
async fn polls_at_least_ten_times_a_second_only_while_awaiting() {
    let protocol = ScaleProtocol::MtSics;
    let (path, _handle, sim) = sim_on_pty(protocol, SimScaleState::new(10.0, WeightUnit::Gram, 1));
    let (mut link, poller) = scale_link(
        settings_for(protocol, &path),
        &config_for(protocol, WeightUnit::Gram),
        quick(),
    );
    connected(&mut link, &path).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(poller.polls_sent(), 0, "quiet while nothing is awaited");
    poller.set_awaiting(true);
    assert!(poller.is_awaiting());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let polled = poller.polls_sent();
    poller.set_awaiting(false);
    assert!((12..=14).contains(&polled), "{polled} polls in 1 s");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(poller.polls_sent(), polled, "stops when no longer awaiting");
    drop(poller);
    link.shutdown().await;
    unplug(sim).await;
}

#[tokio::test]
async fn zero_and_tare_reach_the_scale() {
    // MT-SICS answers both.
    let (path, handle, sim) = sim_on_pty(
        ScaleProtocol::MtSics,
        SimScaleState::new(12.0, WeightUnit::Gram, 1),
    );
    let config = config_for(ScaleProtocol::MtSics, WeightUnit::Gram);
    let (mut link, poller) =
        scale_link(settings_for(ScaleProtocol::MtSics, &path), &config, quick());
    connected(&mut link, &path).await;
    poller.zero().await.unwrap();
    assert_eq!(next_reply(&mut link).await, ScaleEvent::Zeroed);
    handle.set_load(812.0, SimCondition::Normal);
    poller.tare().await.unwrap();
    match next_reply(&mut link).await {
        ScaleEvent::Tare { grams } => assert_grams(grams, 800.0),
        other => panic!("expected Tare, got {other:?}"),
    }
    poller.set_awaiting(true);
    let (net, _) = next_weight(&mut link).await;
    assert_grams(net, 0.0);
    drop(poller);
    link.shutdown().await;
    unplug(sim).await;

    // The 8213 has zero but no tare: refused before anything is sent.
    let (path, handle, sim) = sim_on_pty(
        ScaleProtocol::Toledo8213,
        SimScaleState::new(200.0, WeightUnit::Pound, 2),
    );
    let config = config_for(ScaleProtocol::Toledo8213, WeightUnit::Pound);
    let (mut link, poller) = scale_link(
        settings_for(ScaleProtocol::Toledo8213, &path),
        &config,
        quick(),
    );
    connected(&mut link, &path).await;
    assert!(matches!(
        poller.tare().await,
        Err(ScaleError::Unsupported {
            protocol: ScaleProtocol::Toledo8213,
            command: ScaleCommand::Tare
        })
    ));
    poller.zero().await.unwrap();
    let zeroed = async {
        while handle.get().zero_grams == 0.0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    timeout(LIMIT, zeroed)
        .await
        .expect("the scale took the zero");
    drop(poller);
    link.shutdown().await;
    unplug(sim).await;
}

#[tokio::test]
async fn continuous_scale_garbage_then_frames_resync() {
    let mut vp = VirtualPort::new().unwrap();
    let protocol = ScaleProtocol::ToledoContinuous;
    let config = config_for(protocol, WeightUnit::Kilogram);
    let (mut link, _poller) = scale_link(settings_for(protocol, vp.path()), &config, quick());
    match next(&mut link).await {
        LinkEvent::Connected { .. } => {}
        other => panic!("expected Connected, got {other:?}"),
    }
    let state = SimScaleState::new(3210.0, WeightUnit::Kilogram, 3);
    let frame = toledo_continuous_frame(&state, true);
    let mut bytes = b"\x02\x02garbage\r\xff\xfe".to_vec();
    // A frame cut short, as when the station starts in the middle of one.
    bytes.extend_from_slice(&frame[5..]);
    bytes.extend_from_slice(&frame);
    bytes.extend_from_slice(&frame);
    vp.write_all(&bytes).await.unwrap();
    let (g1, _) = next_weight(&mut link).await;
    let (g2, _) = next_weight(&mut link).await;
    assert_grams(g1, 3210.0);
    assert_grams(g2, 3210.0);
    link.shutdown().await;
}

#[tokio::test]
async fn scale_unplug_and_replug_resumes_polling() {
    let scratch =
        std::env::temp_dir().join(format!("packbench-serial-{}-scale", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let port = scratch.join("usb-Scale-if00");
    let relink = |target: &Path| {
        let _ = std::fs::remove_file(&port);
        std::os::unix::fs::symlink(target, &port).unwrap();
    };

    let protocol = ScaleProtocol::Sma;
    let (path1, _h1, sim1) = sim_on_pty(protocol, SimScaleState::new(1000.0, WeightUnit::Gram, 0));
    relink(&path1);
    let config = config_for(protocol, WeightUnit::Gram);
    let (mut link, poller) = scale_link(settings_for(protocol, &port), &config, quick());
    connected(&mut link, &path1).await;
    poller.set_awaiting(true);
    assert_grams(next_weight(&mut link).await.0, 1000.0);

    unplug(sim1).await;
    // Readings already on their way may arrive before the loss is seen.
    let reason = loop {
        match next(&mut link).await {
            LinkEvent::Disconnected { reason } => break reason,
            LinkEvent::Frame(_) => {}
            other => panic!("expected Disconnected, got {other:?}"),
        }
    };
    assert!(!reason.is_empty());
    match next(&mut link).await {
        LinkEvent::Error { kind, .. } => assert_eq!(kind, OpenErrorKind::Missing),
        other => panic!("expected Error, got {other:?}"),
    }

    // The same scale comes back with something else on it; polling resumes by itself.
    let (path2, _h2, sim2) = sim_on_pty(protocol, SimScaleState::new(2000.0, WeightUnit::Gram, 0));
    relink(&path2);
    connected(&mut link, &path2).await;
    assert!(poller.is_awaiting());
    assert_grams(next_weight(&mut link).await.0, 2000.0);

    drop(poller);
    link.shutdown().await;
    unplug(sim2).await;
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A poller for a continuous scale sends nothing even when awaiting.
#[tokio::test]
async fn continuous_poller_sends_nothing() {
    let (path, _h, sim) = sim_on_pty(
        ScaleProtocol::ToledoContinuous,
        SimScaleState::new(500.0, WeightUnit::Kilogram, 3),
    );
    let config = config_for(ScaleProtocol::ToledoContinuous, WeightUnit::Kilogram);
    let (mut link, _) = scale_link(
        settings_for(ScaleProtocol::ToledoContinuous, &path),
        &config,
        quick(),
    );
    connected(&mut link, &path).await;
    let poller = ScalePoller::spawn(link.writer(), ScaleProtocol::ToledoContinuous);
    poller.set_awaiting(true);
    assert_grams(next_weight(&mut link).await.0, 500.0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(poller.polls_sent(), 0);
    drop(poller);
    link.shutdown().await;
    unplug(sim).await;
}
