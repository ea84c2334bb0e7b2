//! The supervised serial link over pty pairs: scanner frames, resync, unplug and replug
//! through a by-id style symlink, a missing port, stale input, writes, shutdown, and the
//! backoff schedule under paused time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use packbench_drivers::scanner::{ScanFrame, ScannerCodec, ScannerConfig, Suffix};
use packbench_drivers::serial::{
    open, scanner_link, BackoffPolicy, LinkEvent, LinkOptions, LinkState, OpenErrorKind,
    SerialLink, SerialSettings, VirtualPort, WriteError,
};
use packbench_drivers::sim::scanner::{encode_scan, type_bytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_serial::SerialPortBuilderExt;

const LIMIT: Duration = Duration::from_secs(5);

/// Waits until `cond` holds, failing the test after `LIMIT`: for states that no event
/// announces (bytes queued in a pty, bytes taken by the link).
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Quick retries so the tests do not wait for the production 2 s cap.
fn quick() -> LinkOptions {
    LinkOptions {
        backoff: BackoffPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(150),
            jitter: 0.2,
        },
        jitter_seed: Some(1),
        ..LinkOptions::default()
    }
}

/// A scratch directory for symlinks, unique per test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("packbench-serial-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Points `name` at `target`, replacing an older link (what udev does on replug).
    fn link(&self, name: &str, target: &Path) -> PathBuf {
        let path = self.0.join(name);
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink(target, &path).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn next<T>(link: &mut SerialLink<T>) -> LinkEvent<T> {
    timeout(LIMIT, link.recv())
        .await
        .expect("an event within the time limit")
        .expect("the link is running")
}

async fn expect_connected<T: std::fmt::Debug>(link: &mut SerialLink<T>, device: &Path) {
    match next(link).await {
        LinkEvent::Connected { device: d } => assert_eq!(d, device),
        other => panic!("expected Connected, got {other:?}"),
    }
}

async fn next_frame(link: &mut SerialLink<ScanFrame>) -> ScanFrame {
    match next(link).await {
        LinkEvent::Frame(f) => f,
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// No event at all for `quiet`.
async fn assert_quiet<T: std::fmt::Debug>(link: &mut SerialLink<T>, quiet: Duration) {
    if let Ok(ev) = timeout(quiet, link.recv()).await {
        panic!("expected no event, got {ev:?}");
    }
}

fn scan(code: &str) -> ScanFrame {
    ScanFrame { code: code.into() }
}

#[tokio::test]
async fn scanner_frame_arrives_decoded() {
    let mut vp = VirtualPort::new().unwrap();
    let settings = SerialSettings::new(vp.path(), 9600);
    let mut link = scanner_link(settings, &ScannerConfig::default(), quick());
    expect_connected(&mut link, vp.path()).await;

    let gs1 = "0109501101530003\u{1d}10ABC123";
    vp.write_all(&encode_scan(gs1, Some("]C1"), Some(Suffix::CrLf)))
        .await
        .unwrap();
    vp.write_all(&encode_scan(
        "4006381333931",
        Some("]E0"),
        Some(Suffix::Tab),
    ))
    .await
    .unwrap();
    let f = next_frame(&mut link).await;
    assert_eq!(
        f.code,
        format!("]C1{gs1}"),
        "AIM prefix and GS separator kept"
    );
    let f = next_frame(&mut link).await;
    assert_eq!(f.code, "]E04006381333931");
    assert_eq!(link.status().state, LinkState::Connected);
    link.shutdown().await;
}

#[tokio::test]
async fn garbage_then_valid_frame_resyncs() {
    let mut vp = VirtualPort::new().unwrap();
    let config = ScannerConfig {
        max_frame_len: 64,
        ..ScannerConfig::default()
    };
    let mut link = scanner_link(SerialSettings::new(vp.path(), 9600), &config, quick());
    expect_connected(&mut link, vp.path()).await;

    // Line noise, an over-long runaway frame, then a good scan split across writes.
    vp.write_all(b"\x00\x07\x7f\x1b\r\n").await.unwrap();
    vp.write_all(&[b'X'; 300]).await.unwrap();
    vp.write_all(b"\r").await.unwrap();
    let good = encode_scan("SO-1001", None, Some(Suffix::Cr));
    type_bytes(&mut vp, &good, Duration::from_millis(2))
        .await
        .unwrap();
    assert_eq!(next_frame(&mut link).await, scan("SO-1001"));
    assert_quiet(&mut link, Duration::from_millis(200)).await;
    link.shutdown().await;
}

#[tokio::test]
async fn scanner_without_suffix_is_framed_by_the_idle_gap() {
    let mut vp = VirtualPort::new().unwrap();
    let config = ScannerConfig {
        suffixes: vec![],
        ..ScannerConfig::default()
    };
    let mut link = scanner_link(SerialSettings::new(vp.path(), 9600), &config, quick());
    expect_connected(&mut link, vp.path()).await;
    type_bytes(&mut vp, b"ABC123", Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(next_frame(&mut link).await, scan("ABC123"));
    tokio::time::sleep(Duration::from_millis(120)).await;
    vp.write_all(b"DEF456").await.unwrap();
    assert_eq!(next_frame(&mut link).await, scan("DEF456"));
    link.shutdown().await;
}

#[tokio::test]
async fn unplug_and_replug_through_a_symlink() {
    let scratch = Scratch::new("replug");
    let mut vp1 = VirtualPort::new().unwrap();
    let port = scratch.link("usb-Honeywell-if00", vp1.path());
    let mut link = scanner_link(
        SerialSettings::new(&port, 9600),
        &ScannerConfig::default(),
        quick(),
    );
    expect_connected(&mut link, vp1.path()).await;
    // A half-sent code after it, which must not survive into the next connection: sent in
    // one write with the first code, it is in the link's buffer once the link has decoded
    // that code and the terminal holds nothing unread.
    vp1.write_all(b"FIRST\rHALF").await.unwrap();
    assert_eq!(next_frame(&mut link).await, scan("FIRST"));
    wait_until("the link has read HALF", || vp1.unread().unwrap() == 0).await;

    // Unplug: the device end goes away and its node with it; the by-id link dangles.
    drop(vp1);
    match next(&mut link).await {
        LinkEvent::Disconnected { reason } => {
            assert!(reason.contains("end of stream"), "{reason}")
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    match next(&mut link).await {
        LinkEvent::Error { kind, reason } => {
            assert_eq!(kind, OpenErrorKind::Missing);
            assert!(reason.contains("usb-Honeywell-if00"), "{reason}");
        }
        other => panic!("expected Error, got {other:?}"),
    }
    // Still missing: retries go on, quietly.
    let before = link.status().failed_opens;
    assert_quiet(&mut link, Duration::from_millis(600)).await;
    let status = link.status();
    assert_eq!(status.state, LinkState::Down);
    assert!(
        status.failed_opens >= before + 2,
        "kept retrying: {before} -> {}",
        status.failed_opens
    );

    // Replug: a new device appears behind the same name.
    let mut vp2 = VirtualPort::new().unwrap();
    scratch.link("usb-Honeywell-if00", vp2.path());
    expect_connected(&mut link, vp2.path()).await;
    vp2.write_all(b"SECOND\r").await.unwrap();
    assert_eq!(next_frame(&mut link).await, scan("SECOND"));
    assert_eq!(link.status().connects, 2);
    link.shutdown().await;
}

#[tokio::test]
async fn missing_port_is_one_clear_error_then_retried_until_it_appears() {
    let scratch = Scratch::new("missing");
    let port = scratch.0.join("ttyUSB-none");

    // Opening directly: one typed error naming the port.
    let err = open(&SerialSettings::new(&port, 9600)).unwrap_err();
    assert_eq!(err.kind, OpenErrorKind::Missing);
    assert_eq!(err.path, port);
    let text = err.to_string();
    assert!(text.starts_with("cannot open serial port "), "{text}");
    assert!(
        text.contains("ttyUSB-none") && text.contains("no such device"),
        "{text}"
    );

    let mut link = scanner_link(
        SerialSettings::new(&port, 9600),
        &ScannerConfig::default(),
        quick(),
    );
    match next(&mut link).await {
        LinkEvent::Error { kind, reason } => {
            assert_eq!(kind, OpenErrorKind::Missing);
            assert_eq!(reason, text);
        }
        other => panic!("expected Error, got {other:?}"),
    }
    assert_quiet(&mut link, Duration::from_millis(400)).await;
    assert!(link.status().failed_opens >= 3);
    assert_eq!(link.status().last_error.as_deref(), Some(text.as_str()));

    let mut vp = VirtualPort::new().unwrap();
    scratch.link("ttyUSB-none", vp.path());
    expect_connected(&mut link, vp.path()).await;
    assert_eq!(link.status().failed_opens, 0);
    vp.write_all(b"HELLO\n").await.unwrap();
    assert_eq!(next_frame(&mut link).await, scan("HELLO"));
    link.shutdown().await;
}

#[tokio::test]
async fn stale_input_is_flushed_on_open() {
    let mut vp = VirtualPort::new().unwrap();

    // Control: a pty does keep bytes sent before anyone opened the port, so the check below
    // would fail without the flush.
    vp.write_all(b"STALE-1\r").await.unwrap();
    wait_until("STALE-1 waits in the terminal", || {
        vp.unread().unwrap() == 8
    })
    .await;
    {
        let mut raw = tokio_serial::new(vp.path().to_str().unwrap(), 9600)
            .open_native_async()
            .unwrap();
        let mut buf = [0u8; 32];
        let n = timeout(LIMIT, raw.read(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"STALE-1\r");
    }

    vp.write_all(b"STALE-2\rSTALE-3\r").await.unwrap();
    wait_until("both codes wait in the terminal", || {
        vp.unread().unwrap() == 16
    })
    .await;
    let mut link = scanner_link(
        SerialSettings::new(vp.path(), 9600),
        &ScannerConfig::default(),
        quick(),
    );
    expect_connected(&mut link, vp.path()).await;
    vp.write_all(b"FRESH\r").await.unwrap();
    assert_eq!(next_frame(&mut link).await, scan("FRESH"));
    assert_quiet(&mut link, Duration::from_millis(150)).await;
    link.shutdown().await;
}

#[tokio::test]
async fn busy_port_is_reported_and_shutdown_releases_it() {
    let vp = VirtualPort::new().unwrap();
    let settings = SerialSettings::new(vp.path(), 9600);
    let mut first = scanner_link(settings.clone(), &ScannerConfig::default(), quick());
    expect_connected(&mut first, vp.path()).await;

    let err = open(&settings).unwrap_err();
    assert_eq!(err.kind, OpenErrorKind::Busy, "{err}");
    assert!(err.to_string().contains("busy"), "{err}");

    let mut second = scanner_link(settings.clone(), &ScannerConfig::default(), quick());
    match next(&mut second).await {
        LinkEvent::Error { kind, .. } => assert_eq!(kind, OpenErrorKind::Busy),
        other => panic!("expected Error, got {other:?}"),
    }
    // The first link lets go; the second one gets the port on its next retry.
    first.shutdown().await;
    expect_connected(&mut second, vp.path()).await;
    second.shutdown().await;
    // After shutdown the port is closed: it opens again at once.
    drop(open(&settings).expect("port released by shutdown"));
}

#[tokio::test]
async fn writes_reach_the_device_only_while_connected() {
    let scratch = Scratch::new("writes");
    let mut vp = VirtualPort::new().unwrap();
    let port = scratch.link("dev", vp.path());
    let mut link = scanner_link(
        SerialSettings::new(&port, 9600),
        &ScannerConfig::default(),
        quick(),
    );
    expect_connected(&mut link, vp.path()).await;
    let writer = link.writer();
    writer.write(&b"PING\r\n"[..]).await.unwrap();
    let mut got = [0u8; 6];
    timeout(LIMIT, vp.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got, b"PING\r\n");

    drop(vp);
    assert!(matches!(
        next(&mut link).await,
        LinkEvent::Disconnected { .. }
    ));
    match writer.write(&b"TARE"[..]).await {
        Err(WriteError::NotConnected { port: p }) => assert!(p.ends_with("dev")),
        other => panic!("expected NotConnected, got {other:?}"),
    }
    link.shutdown().await;
    assert!(matches!(
        writer.write(&b"x"[..]).await,
        Err(WriteError::Stopped { .. })
    ));
}

#[tokio::test]
async fn dropping_the_link_closes_the_port_and_the_stream_ends() {
    let vp = VirtualPort::new().unwrap();
    let settings = SerialSettings::new(vp.path(), 9600);
    let mut link: SerialLink<ScanFrame> =
        SerialLink::spawn(settings.clone(), ScannerCodec::default(), quick());
    // The link is also a Stream of events.
    let ev = timeout(LIMIT, link.next()).await.unwrap().unwrap();
    assert_eq!(ev.name(), "connected");
    let mut status = link.watch_status();
    drop(link);
    timeout(LIMIT, status.wait_for(|s| s.state == LinkState::Stopped))
        .await
        .expect("the task stops after drop")
        .ok();
    // Closed with the task: the port opens again.
    let reopened = async {
        loop {
            if open(&settings).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    timeout(LIMIT, reopened).await.unwrap();
}

/// The backoff schedule on a missing port, under paused time: with no jitter, attempts at
/// 0, 0.1, 0.3, 0.7, 1.5, 3.1, 5.1, 7.1, 9.1 s (doubling from 100 ms, capped at 2 s), one
/// `Error` event for all of them.
#[tokio::test(start_paused = true)]
async fn backoff_schedule_on_a_missing_port() {
    let options = LinkOptions {
        backoff: BackoffPolicy {
            jitter: 0.0,
            ..BackoffPolicy::default()
        },
        ..LinkOptions::default()
    };
    let mut link = scanner_link(
        SerialSettings::new("/nonexistent/packbench/ttyUSB7", 9600),
        &ScannerConfig::default(),
        options,
    );
    let mut status = link.watch_status();
    match next(&mut link).await {
        LinkEvent::Error { kind, .. } => assert_eq!(kind, OpenErrorKind::Missing),
        other => panic!("expected Error, got {other:?}"),
    }
    let start = tokio::time::Instant::now();
    let mut attempts_at = vec![];
    while attempts_at.len() < 9 {
        status.changed().await.unwrap();
        let n = status.borrow_and_update().failed_opens as usize;
        if n > attempts_at.len() {
            attempts_at.push(start.elapsed().as_millis());
        }
    }
    assert_eq!(
        attempts_at,
        [0, 100, 300, 700, 1500, 3100, 5100, 7100, 9100]
    );
    assert!(
        link.recv().now_or_never().is_none(),
        "no event for the repeated failures"
    );
    link.shutdown().await;
}
