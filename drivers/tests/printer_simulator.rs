//! Print jobs against the loopback printer simulator, the file transport, and a connection
//! over an in-memory stream.

use packbench_drivers::label::{build_label, LabelData, LabelLine};
use packbench_drivers::printer::{
    print_to_target, PrintError, PrinterConnection, PrinterSimulator, PrinterTarget,
    PrinterTimeouts, SimMode,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn label() -> Vec<u8> {
    build_label(&LabelData {
        order_no: "SO-1001".into(),
        waybill_no: "YT9876543210".into(),
        carrier: "YTO".into(),
        recipient: "Bob".into(),
        address: "1 Main St".into(),
        lines: vec![LabelLine {
            sku: "SKU-1".into(),
            name: "Widget".into(),
            qty: 3,
            gift: false,
        }],
        ..LabelData::default()
    })
}

fn quick() -> PrinterTimeouts {
    PrinterTimeouts {
        connect: Duration::from_secs(2),
        status: Duration::from_millis(300),
        write: Duration::from_secs(2),
        after_job: Duration::from_millis(500),
    }
}

async fn print(sim: &PrinterSimulator, job: &[u8]) -> Result<(), PrintError> {
    print_to_target(&sim.target(), job, quick())
        .await
        .map(|_| ())
}

#[tokio::test]
async fn prints_when_ready() {
    let sim = PrinterSimulator::start().await.unwrap();
    let job = label();
    let receipt = print_to_target(&sim.target(), &job, quick()).await.unwrap();
    assert_eq!(receipt.bytes_sent, job.len());
    assert!(receipt.before.is_ready() && receipt.after.is_ready());
    assert_eq!(receipt.warning(), None);
    assert_eq!(sim.job_bytes(), job, "printer got exactly the label");
    // Status asked before and after the job.
    assert_eq!(sim.status_requests(), vec![1, 2, 4, 1, 2, 4]);
    // A second job on a new connection appends.
    print(&sim, &job).await.unwrap();
    assert_eq!(sim.take_job_bytes().len(), 2 * job.len());
    assert_eq!(sim.connections(), 2);
    assert!(sim.job_bytes().is_empty());
}

#[tokio::test]
async fn paper_out_refused_and_nothing_printed() {
    let sim = PrinterSimulator::start_in(SimMode::PaperOut).await.unwrap();
    let err = print(&sim, &label()).await.unwrap_err();
    assert_eq!(err.kind(), "paper_out", "{err}");
    assert!(err.reason().contains("out of paper"), "{err}");
    assert!(matches!(err, PrintError::PaperOut { status, .. } if status.paper_out));
    assert!(sim.job_bytes().is_empty());
    assert!(sim.ignored_bytes().is_empty(), "job must not even be sent");
    assert_eq!(sim.status_requests(), vec![1, 2, 4]);
    // Paper loaded: the same job prints.
    sim.set_mode(SimMode::Ready).await.unwrap();
    print(&sim, &label()).await.unwrap();
    assert_eq!(sim.job_bytes(), label());
}

#[tokio::test]
async fn cover_open_offline_and_error_refused() {
    let sim = PrinterSimulator::start().await.unwrap();
    for (mode, kind, words) in [
        (SimMode::CoverOpen, "cover_open", "cover is open"),
        (SimMode::Offline, "offline", "offline"),
        (SimMode::Error, "printer_error", "error"),
    ] {
        sim.set_mode(mode).await.unwrap();
        let err = print(&sim, &label()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.reason().contains(words), "{err}");
    }
    assert!(sim.job_bytes().is_empty());
    assert!(sim.ignored_bytes().is_empty());
}

#[tokio::test]
async fn paper_near_end_prints_with_warning() {
    let sim = PrinterSimulator::start_in(SimMode::PaperNearEnd)
        .await
        .unwrap();
    let receipt = print_to_target(&sim.target(), &label(), quick())
        .await
        .unwrap();
    assert!(receipt.warning().unwrap().contains("nearly used up"));
    assert_eq!(sim.job_bytes(), label());
}

#[tokio::test]
async fn paper_out_during_job_is_reported() {
    let sim = PrinterSimulator::start_in(SimMode::PaperOutDuringJob)
        .await
        .unwrap();
    let err = print(&sim, &label()).await.unwrap_err();
    assert_eq!(err.kind(), "paper_out", "{err}");
    assert!(err.reason().contains("after sending the job"), "{err}");
    assert_eq!(sim.status_requests(), vec![1, 2, 4, 1, 2, 4]);
}

#[tokio::test]
async fn connection_refused_is_unreachable() {
    // A port nobody listens on: bind, note the port, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target = PrinterTarget::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let err = print_to_target(&target, &label(), quick())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "unreachable", "{err}");
    assert!(err.reason().contains(&port.to_string()), "{err}");
}

#[tokio::test]
async fn simulator_refuse_mode_then_back() {
    let sim = PrinterSimulator::start().await.unwrap();
    sim.set_mode(SimMode::Refuse).await.unwrap();
    let err = print(&sim, &label()).await.unwrap_err();
    assert_eq!(err.kind(), "unreachable", "{err}");
    sim.set_mode(SimMode::Ready).await.unwrap();
    print(&sim, &label()).await.unwrap();
    assert_eq!(sim.job_bytes(), label());
}

#[tokio::test]
async fn dropped_mid_job_is_connection_lost() {
    let sim = PrinterSimulator::start_in(SimMode::DropMidJob)
        .await
        .unwrap();
    // A job larger than socket buffers, so the drop may hit the write itself as well.
    let mut job = label();
    job.resize(job.len() + (4 << 20), b'x');
    let err = print(&sim, &job).await.unwrap_err();
    assert_eq!(err.kind(), "connection_lost", "{err}");
    assert!(sim.job_bytes().is_empty());
    // And a small job, which fits in the buffers: the status after the job finds the loss.
    let err = print(&sim, &label()).await.unwrap_err();
    assert_eq!(err.kind(), "connection_lost", "{err}");
    assert!(sim.job_bytes().is_empty());
}

#[tokio::test]
async fn silent_printer_times_out() {
    let sim = PrinterSimulator::start_in(SimMode::Silent).await.unwrap();
    let err = print(&sim, &label()).await.unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert!(err.reason().contains("DLE EOT 1"), "{err}");
    assert!(sim.job_bytes().is_empty());
}

#[tokio::test]
async fn status_request_split_across_reads() {
    let sim = PrinterSimulator::start().await.unwrap();
    let mut s = TcpStream::connect(sim.addr()).await.unwrap();
    s.set_nodelay(true).unwrap();
    for chunk in [&b"AB\x10"[..], b"\x04", b"\x01CD"] {
        s.write_all(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut reply = [0u8; 1];
    tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply[0], 0x12);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sim.job_bytes(), b"ABCD");
    assert_eq!(sim.status_requests(), vec![1]);
}

#[tokio::test]
async fn dropping_the_simulator_stops_it() {
    let sim = PrinterSimulator::start().await.unwrap();
    let target = sim.target();
    drop(sim);
    // The listener goes with the aborted task; give the runtime a moment to drop it.
    let mut last = None;
    for _ in 0..50 {
        match print_to_target(&target, &label(), quick()).await {
            Err(e) if e.kind() == "unreachable" => return,
            other => last = Some(other),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("simulator still answering after drop: {last:?}");
}

#[tokio::test]
async fn file_target_appends_and_creates() {
    let dir = std::env::temp_dir().join(format!("packbench-printer-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("labels.prn");
    let _ = std::fs::remove_file(&path);
    let target = PrinterTarget::parse(&format!("file://{}", path.display())).unwrap();
    let job = label();
    let r = print_to_target(&target, &job, quick()).await.unwrap();
    assert!(r.before.is_ready() && r.after.is_ready());
    print_to_target(&target, b"second", quick()).await.unwrap();
    let written = std::fs::read(&path).unwrap();
    assert_eq!(written, [job.as_slice(), b"second"].concat());
    std::fs::remove_dir_all(&dir).unwrap();

    let bad = PrinterTarget::parse("file:///nonexistent-dir-packbench/x.prn").unwrap();
    let err = print_to_target(&bad, &job, quick()).await.unwrap_err();
    assert_eq!(err.kind(), "io", "{err}");
    assert!(err.reason().contains("nonexistent-dir-packbench"), "{err}");
}

#[tokio::test]
async fn serial_target_needs_an_opened_port() {
    let t = PrinterTarget::parse("serial:///dev/ttyUSB9?baud=19200").unwrap();
    let err = print_to_target(&t, &label(), quick()).await.unwrap_err();
    assert_eq!(err.kind(), "unsupported");
    assert!(err.reason().contains("/dev/ttyUSB9"));
}

/// The generic connection over any AsyncRead + AsyncWrite (as a serial port would be).
#[tokio::test]
async fn generic_stream_connection_and_bad_status() {
    let (client, mut printer) = tokio::io::duplex(1024);
    let fake = tokio::spawn(async move {
        let mut req = [0u8; 3];
        // Good printer for the first check, then garbage for DLE EOT 1 after the job.
        for _ in 0..3 {
            printer.read_exact(&mut req).await.unwrap();
            assert_eq!(&req[..2], &[0x10, 0x04]);
            printer.write_all(&[0x12]).await.unwrap();
        }
        let mut job = vec![0u8; 5];
        printer.read_exact(&mut job).await.unwrap();
        printer.read_exact(&mut req).await.unwrap();
        printer.write_all(&[0xFF]).await.unwrap();
        job
    });
    let mut conn = PrinterConnection::new(client, quick(), "duplex");
    let err = conn.print(b"hello").await.unwrap_err();
    assert_eq!(err.kind(), "bad_status", "{err}");
    assert!(err.reason().contains("0xFF"), "{err}");
    assert_eq!(fake.await.unwrap(), b"hello");
}
