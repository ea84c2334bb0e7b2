//! The printer's side of a job: arbitrary status reply bytes and a connection that may break.
//!
//! Input: `[flags] [write_budget] replies…`. Flag bit 0 makes writes fail once `write_budget`
//! bytes have gone out (the printer dropped the connection mid-label). The replies are what the
//! printer answers to each `DLE EOT n`, one byte per request; when they run out, the stream is
//! at EOF.
//!
//! Properties: `print` returns what a straightforward model of "status before, job, status
//! after" says, kind for kind; `Ok` only when all six replies are status bytes and both checks
//! allow printing; the job's bytes never go out unless the check before it allowed printing;
//! what was written is exactly the requests and the job, in order.
#![no_main]

use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;
use packbench_drivers::printer::status::{is_status_byte, PrinterStatus, StatusRequest};
use packbench_drivers::printer::{PrintError, PrinterConnection, PrinterTimeouts};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const JOB: &[u8] = b"\x1b@packbench\n\x1dV\x00";

struct Wire<'a> {
    replies: &'a [u8],
    read: usize,
    budget: Option<usize>,
    written: Vec<u8>,
}

impl AsyncRead for Wire<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // One byte per read, as a printer answers each request separately.
        if let Some(&b) = self.replies.get(self.read) {
            if buf.remaining() > 0 {
                buf.put_slice(&[b]);
                self.read += 1;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Wire<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let room = match self.budget {
            Some(b) => b.saturating_sub(self.written.len()),
            None => usize::MAX,
        };
        if room == 0 {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let n = buf.len().min(room);
        self.written.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The model: what `print` must answer, and the bytes it must have written.
fn model(replies: &[u8], budget: Option<usize>) -> (Result<(), &'static str>, Vec<u8>) {
    let mut out = Vec::new();
    let mut next = replies.iter().copied();
    // Writes all of `bytes` or as much as the budget allows, then fails.
    let write = |out: &mut Vec<u8>, bytes: &[u8]| -> bool {
        let room = budget.map_or(usize::MAX, |b| b.saturating_sub(out.len()));
        let n = bytes.len().min(room);
        out.extend_from_slice(&bytes[..n]);
        n == bytes.len()
    };
    for after in [false, true] {
        if after && !write(&mut out, JOB) {
            return (Err("connection_lost"), out);
        }
        let mut status = PrinterStatus::default();
        for req in StatusRequest::JOB_CHECK {
            if !write(&mut out, &req.command()) {
                return (Err("connection_lost"), out);
            }
            let Some(b) = next.next() else {
                return (Err("connection_lost"), out);
            };
            if !is_status_byte(b) {
                return (Err("bad_status"), out);
            }
            status.apply(req, b).expect("a status byte applies");
        }
        if let Some(e) = PrintError::from_status(status, after) {
            return (Err(e.kind()), out);
        }
    }
    (Ok(()), out)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let flags = data.first().copied().unwrap_or(0);
    let budget = (flags & 1 == 1).then(|| usize::from(data.get(1).copied().unwrap_or(0)));
    let replies = data.get(2..).unwrap_or(&[]);
    let wire = Wire {
        replies,
        read: 0,
        budget,
        written: Vec::new(),
    };
    let mut conn = PrinterConnection::new(wire, PrinterTimeouts::default(), "fuzz");
    let got = runtime().block_on(conn.print(JOB));
    let wire = conn.into_inner();
    let (want, want_written) = model(replies, budget);

    match (&got, want) {
        (Ok(receipt), Ok(())) => {
            assert_eq!(receipt.bytes_sent, JOB.len());
            assert!(receipt.before.is_ready() && receipt.after.is_ready());
            let pairs: Vec<_> = StatusRequest::JOB_CHECK
                .iter()
                .copied()
                .zip(replies.iter().copied())
                .collect();
            assert_eq!(PrinterStatus::from_replies(&pairs).unwrap(), receipt.before);
        }
        (Err(e), Err(kind)) => assert_eq!(e.kind(), kind, "{e}"),
        (got, want) => panic!("print gave {got:?}, the model says {want:?}"),
    }
    assert_eq!(wire.written, want_written, "bytes written");
    // The job goes out only after a check that allowed printing.
    // (The three requests before it are 9 bytes.)
    if wire.written.len() > 9 {
        let pairs: Vec<_> = StatusRequest::JOB_CHECK
            .iter()
            .copied()
            .zip(replies.iter().copied())
            .collect();
        assert_eq!(pairs.len(), 3);
        let before = PrinterStatus::from_replies(&pairs).expect("valid replies before the job");
        assert!(
            before.is_ready(),
            "job sent to a printer that said {before}"
        );
    }
});
