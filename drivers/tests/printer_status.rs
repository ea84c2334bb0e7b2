//! DLE EOT status parsing and printer target parsing.

use packbench_drivers::printer::{
    is_status_byte, status_reply, PrinterCondition, PrinterStatus, PrinterTarget, StatusRequest,
    TargetError, DEFAULT_TCP_PORT,
};
use std::path::PathBuf;

use StatusRequest::{ErrorCause, OfflineCause, PaperSensor, Printer};

#[test]
fn request_bytes() {
    assert_eq!(Printer.command(), [0x10, 0x04, 1]);
    assert_eq!(OfflineCause.command(), [0x10, 0x04, 2]);
    assert_eq!(ErrorCause.command(), [0x10, 0x04, 3]);
    assert_eq!(PaperSensor.command(), [0x10, 0x04, 4]);
    assert_eq!(StatusRequest::from_n(4), Some(PaperSensor));
    assert_eq!(StatusRequest::from_n(5), None);
}

#[test]
fn pattern_accepts_only_0xx1xx10() {
    let valid: Vec<u8> = (0..=255u8).filter(|&b| is_status_byte(b)).collect();
    // Four free bits (2, 3, 5, 6): 16 valid bytes, all with bits 1 and 4 set, 0 and 7 clear.
    assert_eq!(valid.len(), 16);
    assert!(valid.iter().all(|b| b & 0x12 == 0x12 && b & 0x81 == 0));
    for bad in [0x00, 0xFF, 0x13, 0x92, 0x02, 0x10, 0x0A, 0x1B] {
        let err = PrinterStatus::default().apply(Printer, bad).unwrap_err();
        assert_eq!(err.byte, bad);
        assert!(err.to_string().contains("0xx1xx10"));
    }
}

#[test]
fn all_clear_is_ready() {
    let s =
        PrinterStatus::from_replies(&[(Printer, 0x12), (OfflineCause, 0x12), (PaperSensor, 0x12)])
            .unwrap();
    assert_eq!(s, PrinterStatus::READY);
    assert_eq!(s.condition(), PrinterCondition::Ready);
    assert!(s.is_ready());
    assert_eq!(s.reason(), "printer is ready");
}

#[test]
fn offline_cause_bits() {
    let s = PrinterStatus::from_replies(&[(OfflineCause, 0x12 | 0x04)]).unwrap();
    assert!(s.cover_open);
    assert_eq!(s.condition(), PrinterCondition::CoverOpen);
    let s = PrinterStatus::from_replies(&[(OfflineCause, 0x12 | 0x08)]).unwrap();
    assert!(s.feed_button && s.is_ready());
    let s = PrinterStatus::from_replies(&[(OfflineCause, 0x12 | 0x20)]).unwrap();
    assert!(s.paper_out);
    assert_eq!(s.condition(), PrinterCondition::PaperOut);
    let s = PrinterStatus::from_replies(&[(OfflineCause, 0x12 | 0x40)]).unwrap();
    assert!(s.error);
    assert_eq!(s.condition(), PrinterCondition::Error);
}

#[test]
fn printer_and_paper_sensor_bits() {
    let s = PrinterStatus::from_replies(&[(Printer, 0x1A)]).unwrap();
    assert!(s.offline);
    assert_eq!(s.condition(), PrinterCondition::Offline);
    assert!(!s.is_ready());
    assert_eq!(s.reason(), "printer is offline");
    // Near end: either of bits 2, 3; still prints.
    for b in [0x16, 0x1A, 0x1E] {
        let s = PrinterStatus::from_replies(&[(PaperSensor, b)]).unwrap();
        assert!(s.paper_near_end && !s.paper_out, "{b:#x}");
        assert_eq!(s.condition(), PrinterCondition::PaperNearEnd);
        assert!(s.is_ready());
    }
    // Paper out: either of bits 5, 6.
    for b in [0x32, 0x52, 0x72, 0x7E] {
        let s = PrinterStatus::from_replies(&[(PaperSensor, b)]).unwrap();
        assert!(s.paper_out, "{b:#x}");
        assert!(!s.is_ready());
    }
}

#[test]
fn condition_priority_and_reason() {
    // Cover open while out of paper and offline: the cover is what the operator must fix.
    let s =
        PrinterStatus::from_replies(&[(Printer, 0x1A), (OfflineCause, 0x36), (PaperSensor, 0x7E)])
            .unwrap();
    assert_eq!(s.condition(), PrinterCondition::CoverOpen);
    assert_eq!(s.reason(), "printer cover is open; printer is out of paper");
    assert_eq!(
        s.to_string(),
        "cover_open: printer cover is open; printer is out of paper"
    );
}

#[test]
fn simulator_replies_parse_back() {
    use PrinterCondition as C;
    for c in [
        C::Ready,
        C::PaperNearEnd,
        C::PaperOut,
        C::CoverOpen,
        C::Offline,
        C::Error,
    ] {
        let replies: Vec<_> = [Printer, OfflineCause, ErrorCause, PaperSensor]
            .into_iter()
            .map(|r| (r, status_reply(c, r)))
            .collect();
        assert!(replies.iter().all(|&(_, b)| is_status_byte(b)));
        let s = PrinterStatus::from_replies(&replies).unwrap();
        assert_eq!(s.condition(), c);
        assert_eq!(c.can_print(), s.is_ready());
    }
}

#[test]
fn targets_parse() {
    assert_eq!(
        PrinterTarget::parse("tcp://192.168.1.50:9100").unwrap(),
        PrinterTarget::Tcp {
            host: "192.168.1.50".into(),
            port: 9100
        }
    );
    assert_eq!(
        PrinterTarget::parse("tcp://printer-3.local").unwrap(),
        PrinterTarget::Tcp {
            host: "printer-3.local".into(),
            port: DEFAULT_TCP_PORT
        }
    );
    assert_eq!(
        PrinterTarget::parse("tcp://[::1]:9101").unwrap(),
        PrinterTarget::Tcp {
            host: "::1".into(),
            port: 9101
        }
    );
    assert_eq!(
        PrinterTarget::parse("serial:///dev/ttyUSB0?baud=19200").unwrap(),
        PrinterTarget::Serial {
            path: PathBuf::from("/dev/ttyUSB0"),
            baud: 19200
        }
    );
    assert_eq!(
        PrinterTarget::parse("serial:///dev/serial/by-id/usb-Printer_1234-if00").unwrap(),
        PrinterTarget::Serial {
            path: PathBuf::from("/dev/serial/by-id/usb-Printer_1234-if00"),
            baud: 9600
        }
    );
    assert_eq!(
        PrinterTarget::parse("file:///tmp/labels.bin").unwrap(),
        PrinterTarget::File {
            path: PathBuf::from("/tmp/labels.bin")
        }
    );
    // Display round-trips.
    for s in [
        "tcp://10.0.0.2:9100",
        "tcp://[::1]:9100",
        "serial:///dev/ttyS0?baud=38400",
        "file:///var/spool/x.prn",
    ] {
        let t: PrinterTarget = s.parse().unwrap();
        assert_eq!(t.to_string(), s);
    }
}

#[test]
fn target_errors_are_specific() {
    use TargetError as E;
    type Check = fn(&TargetError) -> bool;
    let cases: Vec<(&str, Check)> = vec![
        ("192.168.1.5:9100", |e| matches!(e, E::MissingScheme(_))),
        (
            "usb://printer",
            |e| matches!(e, E::UnknownScheme(s) if s == "usb"),
        ),
        ("tcp://", |e| matches!(e, E::MissingHost(_))),
        ("tcp://:9100", |e| matches!(e, E::MissingHost(_))),
        ("tcp://host:0", |e| matches!(e, E::BadPort { .. })),
        ("tcp://host:99999", |e| matches!(e, E::BadPort { .. })),
        (
            "tcp://host:abc",
            |e| matches!(e, E::BadPort { port, .. } if port == "abc"),
        ),
        ("tcp://host:9100/path", |e| {
            matches!(e, E::UnknownOption { .. })
        }),
        ("serial://dev/ttyUSB0", |e| matches!(e, E::RelativePath(_))),
        ("serial:///dev/ttyUSB0?baud=fast", |e| {
            matches!(e, E::BadBaud { .. })
        }),
        ("serial:///dev/ttyUSB0?baud=0", |e| {
            matches!(e, E::BadBaud { .. })
        }),
        (
            "serial:///dev/ttyUSB0?parity=even",
            |e| matches!(e, E::UnknownOption { option, .. } if option == "parity=even"),
        ),
        ("file://labels.bin", |e| matches!(e, E::RelativePath(_))),
        ("file:///tmp/x?append=1", |e| {
            matches!(e, E::UnknownOption { .. })
        }),
    ];
    for (input, check) in cases {
        let err = PrinterTarget::parse(input).unwrap_err();
        assert!(check(&err), "{input}: {err:?}");
        assert!(!err.to_string().is_empty());
    }
    let msg = PrinterTarget::parse("usb://x").unwrap_err().to_string();
    assert!(msg.contains("tcp, serial or file"), "{msg}");
}
