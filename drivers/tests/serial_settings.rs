//! Serial settings from TOML, opening errors, settings on a pty, and printing over a pty.

use std::path::PathBuf;
use std::time::Duration;

use packbench_drivers::printer::{status_reply, PrinterCondition, PrinterTimeouts, StatusRequest};
use packbench_drivers::serial::{
    open, print_serial, resolve_device, DataBits, FlowControl, OpenErrorKind, Parity,
    SerialSettings, StopBits, VirtualPort,
};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(5);

fn parse(text: &str) -> Result<SerialSettings, String> {
    toml::from_str::<SerialSettings>(text).map_err(|e| e.to_string())
}

#[test]
fn full_table_from_toml() {
    let s = parse(
        r#"
        port = "/dev/serial/by-id/usb-Mettler_Toledo-if00"
        baud = 19200
        data_bits = 7
        parity = "even"
        stop_bits = "2"
        flow_control = "rts/cts"
        "#,
    )
    .unwrap();
    assert_eq!(
        s.path,
        PathBuf::from("/dev/serial/by-id/usb-Mettler_Toledo-if00")
    );
    assert_eq!(s.baud, 19200);
    assert_eq!(s.data_bits, DataBits::Seven);
    assert_eq!(s.parity, Parity::Even);
    assert_eq!(s.stop_bits, StopBits::Two);
    assert_eq!(s.flow_control, FlowControl::Hardware);
    assert_eq!(s.framing(), "7E2");
}

#[test]
fn defaults_are_9600_8n1() {
    let s = parse(r#"port = "/dev/ttyUSB0""#).unwrap();
    assert_eq!(s, SerialSettings::new("/dev/ttyUSB0", 9600));
    // `path` is accepted for `port`.
    assert_eq!(parse(r#"path = "/dev/ttyUSB0""#).unwrap(), s);
}

#[test]
fn each_bad_value_has_its_own_message() {
    let cases = [
        (
            r#"port = "/dev/x"
               parity = "x""#,
            "parity must be none, odd or even",
        ),
        (
            r#"port = "/dev/x"
               data_bits = 9"#,
            "data bits must be 5, 6, 7 or 8",
        ),
        (
            r#"port = "/dev/x"
               stop_bits = 3"#,
            "stop bits must be 1 or 2",
        ),
        (
            r#"port = "/dev/x"
               flow_control = "maybe""#,
            "flow control must be none, software or hardware",
        ),
        (
            r#"port = "/dev/x"
               baud = 0"#,
            "baud rate must be a number from 50 to 4000000",
        ),
        (
            r#"port = "/dev/x"
               baud = "fast""#,
            "baud rate must be a number",
        ),
        (r#"port = """#, "serial port path is empty"),
        (r#"baud = 9600"#, "missing field `port`"),
    ];
    for (text, want) in cases {
        let err = parse(text).unwrap_err();
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

/// The app can flatten the settings into its own device table beside other keys.
#[test]
fn flattens_into_a_device_table() {
    #[derive(Debug, Deserialize)]
    struct Scale {
        protocol: String,
        #[serde(flatten)]
        serial: SerialSettings,
    }
    let scale: Scale = toml::from_str(
        r#"
        port = "/dev/ttyUSB0"
        baud = 9600
        protocol = "toledo-8213"
        parity = "even"
        data_bits = "7"
        "#,
    )
    .unwrap();
    assert_eq!(scale.protocol, "toledo-8213");
    assert_eq!(scale.serial.framing(), "7E1");
    let bad: Result<Scale, _> = toml::from_str(
        r#"
        port = "/dev/ttyUSB0"
        protocol = "sma"
        parity = "x"
        "#,
    );
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("parity must be none, odd or even"));
}

#[tokio::test]
async fn open_errors_name_the_port_and_never_panic() {
    let dir = std::env::temp_dir().join(format!("packbench-serial-{}-open", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("not-a-tty");
    std::fs::write(&file, b"x").unwrap();

    let cases = [
        (dir.join("absent"), OpenErrorKind::Missing, "no such device"),
        (
            file.clone(),
            OpenErrorKind::NotSerial,
            "not a serial device",
        ),
        (dir.clone(), OpenErrorKind::NotSerial, "not a serial device"),
    ];
    for (path, kind, words) in cases {
        let err = open(&SerialSettings::new(&path, 9600)).unwrap_err();
        assert_eq!(err.kind, kind, "{err}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains(words), "{text}");
    }
    // A dangling by-id link is a missing device too.
    let dangling = dir.join("usb-Gone-if00");
    std::os::unix::fs::symlink(dir.join("ttyUSB99"), &dangling).unwrap();
    let err = open(&SerialSettings::new(&dangling, 9600)).unwrap_err();
    assert_eq!(err.kind, OpenErrorKind::Missing);
    assert!(err.to_string().contains("usb-Gone-if00"));

    let mut bad = SerialSettings::new(&file, 9600);
    bad.baud = 0;
    let err = open(&bad).unwrap_err();
    assert_eq!(err.kind, OpenErrorKind::InvalidSettings);
    assert!(err.to_string().contains("baud rate"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn open_outside_a_runtime_is_an_error_not_a_panic() {
    let err = open(&SerialSettings::new("/dev/null", 9600)).unwrap_err();
    assert_eq!(err.kind, OpenErrorKind::Other);
    assert!(err.to_string().contains("runtime"), "{err}");
}

#[tokio::test]
async fn opens_through_a_by_id_symlink() {
    let mut vp = VirtualPort::new().unwrap();
    let dir = std::env::temp_dir().join(format!("packbench-serial-{}-byid", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("usb-FTDI_FT232R_A1B2C3-if00-port0");
    std::os::unix::fs::symlink(vp.path(), &link).unwrap();
    assert_eq!(resolve_device(&link), vp.path());

    let mut port = open(&SerialSettings::new(&link, 115_200)).unwrap();
    vp.write_all(b"hi").await.unwrap();
    let mut got = [0u8; 2];
    timeout(LIMIT, port.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got, b"hi");
    port.write_all(b"yo").await.unwrap();
    port.flush().await.unwrap();
    timeout(LIMIT, vp.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got, b"yo");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a pty can show of the line settings: every framing and flow control is accepted, but
/// none is emulated. With 7E1 the eighth bit still arrives (a real 7-bit line would lose it)
/// and no parity is checked; so parity and data bits can only be tested on hardware.
#[tokio::test]
async fn a_pty_accepts_but_does_not_emulate_line_settings() {
    for (data_bits, parity, stop_bits, flow) in [
        (
            DataBits::Seven,
            Parity::Even,
            StopBits::One,
            FlowControl::None,
        ),
        (
            DataBits::Seven,
            Parity::Odd,
            StopBits::Two,
            FlowControl::Software,
        ),
        (
            DataBits::Eight,
            Parity::None,
            StopBits::One,
            FlowControl::Hardware,
        ),
        (
            DataBits::Five,
            Parity::None,
            StopBits::One,
            FlowControl::None,
        ),
    ] {
        let mut vp = VirtualPort::new().unwrap();
        let settings = SerialSettings {
            data_bits,
            parity,
            stop_bits,
            flow_control: flow,
            ..SerialSettings::new(vp.path(), 4800)
        };
        let mut port = open(&settings).unwrap_or_else(|e| panic!("{settings}: {e}"));
        vp.write_all(&[0xC1, b'\r']).await.unwrap();
        let mut got = [0u8; 2];
        timeout(LIMIT, port.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, [0xC1, b'\r'], "{settings}: bytes pass unchanged");
    }
}

/// A tiny ESC/POS printer on the device end of a pty: answers `DLE EOT n` with "ready" and
/// keeps everything else as the job. The station asks three statuses before and three after.
/// The port is handed back, not dropped: closing the device end is a hangup, and the station
/// would lose the last reply still in its input queue.
async fn fake_printer(mut vp: VirtualPort, job_len: usize) -> (Vec<u8>, VirtualPort) {
    let mut job = Vec::new();
    let mut pending = Vec::new();
    let mut answered = 0;
    let mut buf = [0u8; 256];
    while answered < 6 || job.len() < job_len {
        let n = vp.read(&mut buf).await.unwrap();
        assert!(n > 0, "station hung up");
        pending.extend_from_slice(&buf[..n]);
        loop {
            match pending.as_slice() {
                [0x10, 0x04, n, ..] => {
                    let request = StatusRequest::from_n(*n).unwrap();
                    vp.write_all(&[status_reply(PrinterCondition::Ready, request)])
                        .await
                        .unwrap();
                    answered += 1;
                    pending.drain(..3);
                }
                [] | [0x10] | [0x10, 0x04] => break,
                [b, ..] => {
                    job.push(*b);
                    pending.remove(0);
                }
            }
        }
    }
    (job, vp)
}

#[tokio::test]
async fn prints_a_job_over_a_serial_port() {
    let vp = VirtualPort::new().unwrap();
    let settings = SerialSettings::new(vp.path(), 19200);
    let job = b"\x1b@PACKBENCH LABEL\n\x1dV\x00".to_vec();
    let printer = tokio::spawn(fake_printer(vp, job.len()));
    let receipt = timeout(
        LIMIT,
        print_serial(&settings, &job, PrinterTimeouts::default()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(receipt.bytes_sent, job.len());
    assert!(receipt.before.is_ready() && receipt.after.is_ready());
    assert_eq!(timeout(LIMIT, printer).await.unwrap().unwrap().0, job);

    let missing = SerialSettings::new("/nonexistent/packbench/ttyUSB3", 9600);
    let err = print_serial(&missing, &job, PrinterTimeouts::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "unreachable");
    assert!(
        err.reason().contains("/nonexistent/packbench/ttyUSB3"),
        "{err}"
    );
}
