//! The framing all four scale protocols share, so that each protocol only parses its frame.
//!
//! A frame begins at a start byte (or anywhere, for line protocols) and ends at an end byte
//! within a maximum length, or after a fixed length. A candidate that does not parse drops
//! one byte and the search starts again, since a real frame may begin inside a bad one. The
//! bytes dropped that way are counted and logged (target `packbench::scale`, debug level)
//! once the next good frame arrives, at end of stream, or after [`REPORT_EVERY`] bytes without
//! one: the log then tells a noisy line or a wrong baud rate apart from a healthy scale.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{ScaleCommand, ScaleError, ScaleEvent, ScaleProtocol};

/// Skipped bytes are reported at least this often while no frame parses.
pub const REPORT_EVERY: usize = 4096;

/// Where frames begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At this byte.
    Byte(u8),
    /// At any byte: line protocols. End bytes between frames are blank lines, not garbage.
    Line,
}

/// Where frames end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// At the first of these bytes after the start byte; `max` is the longest frame, start
    /// and end byte included.
    Byte { any_of: &'static [u8], max: usize },
    /// After exactly this many bytes.
    Len(usize),
}

/// How a protocol's frames sit in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    pub start: Start,
    pub end: End,
    /// Applied to each byte before it is compared with the start and end bytes: `0x7f` where
    /// 7E1 ports are often read as 8N1 and bit 7 carries the parity.
    pub mask: u8,
}

/// What one protocol adds to the shared framing.
pub trait FrameFormat {
    const PROTOCOL: ScaleProtocol;

    fn framing(&self) -> Framing;

    /// Parses one whole frame, start and end bytes included; `None`: not a frame.
    fn parse(&self, frame: &[u8]) -> Option<ScaleEvent>;
}

/// A scale codec: the shared framing around one protocol's [`FrameFormat`].
///
/// Decoding never fails on bad bytes: garbage and partial frames are skipped and the buffer
/// stays shorter than the longest frame. Encoding writes the protocol's command bytes.
#[derive(Debug, Clone, Default)]
pub struct FramedCodec<F> {
    format: F,
    /// Bytes dropped since the last report.
    skipped: usize,
}

impl<F: FrameFormat> FramedCodec<F> {
    pub fn with_format(format: F) -> Self {
        FramedCodec { format, skipped: 0 }
    }

    fn next_frame(&mut self, src: &mut BytesMut) -> Option<ScaleEvent> {
        let Framing { start, end, mask } = self.format.framing();
        let is_end =
            |b: u8| matches!(end, End::Byte { any_of, .. } if any_of.contains(&(b & mask)));
        loop {
            match start {
                Start::Byte(s) => {
                    let at = src.iter().position(|&b| b & mask == s);
                    self.skip(src, at.unwrap_or(src.len()));
                }
                Start::Line => {
                    let blank = src.iter().take_while(|&&b| is_end(b)).count();
                    src.advance(blank);
                }
            }
            if src.is_empty() {
                return None;
            }
            let len = match end {
                End::Len(n) if src.len() < n => return None,
                End::Len(n) => n,
                End::Byte { max, .. } => {
                    let window = &src[1..src.len().min(max)];
                    match window.iter().position(|&b| is_end(b)) {
                        Some(p) => p + 2,
                        // Too long to be a frame from here.
                        None if src.len() >= max => {
                            self.skip(src, 1);
                            continue;
                        }
                        None => return None,
                    }
                }
            };
            match self.format.parse(&src[..len]) {
                Some(event) => {
                    src.advance(len);
                    self.report("before this frame");
                    return Some(event);
                }
                None => self.skip(src, 1),
            }
        }
    }

    fn skip(&mut self, src: &mut BytesMut, n: usize) {
        src.advance(n);
        self.skipped += n;
        if self.skipped >= REPORT_EVERY {
            self.report("and no frame yet");
        }
    }

    fn report(&mut self, when: &str) {
        let n = std::mem::take(&mut self.skipped);
        if n > 0 {
            tracing::debug!(
                target: "packbench::scale",
                protocol = F::PROTOCOL.name(),
                skipped = n,
                "resync: skipped {n} bytes {when}"
            );
        }
    }
}

impl<F: FrameFormat> Decoder for FramedCodec<F> {
    type Item = ScaleEvent;
    type Error = ScaleError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ScaleEvent>, ScaleError> {
        Ok(self.next_frame(src))
    }

    /// At end of stream a partial frame is garbage, not an error.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ScaleEvent>, ScaleError> {
        let event = self.next_frame(src);
        if event.is_none() {
            self.skipped += src.len();
            src.clear();
            self.report("at end of stream");
        }
        Ok(event)
    }
}

impl<F: FrameFormat> Encoder<ScaleCommand> for FramedCodec<F> {
    type Error = ScaleError;

    fn encode(&mut self, item: ScaleCommand, dst: &mut BytesMut) -> Result<(), ScaleError> {
        dst.extend_from_slice(F::PROTOCOL.try_command_bytes(item)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use super::*;
    use crate::scale::{MtSicsCodec, Reading, ToledoContinuousCodec};

    /// One logged event's fields (and its target), as text.
    type Logged = Vec<(String, String)>;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<Logged>>>);

    struct Fields(Logged);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0
                .push((field.name().to_string(), format!("{value:?}")));
        }
    }

    impl Subscriber for Captured {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let target = event.metadata().target().to_string();
            let mut fields = Fields(vec![("target".to_string(), target)]);
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn logged(run: impl FnOnce()) -> Vec<Logged> {
        let captured = Captured::default();
        tracing::subscriber::with_default(captured.clone(), run);
        let events = captured.0.lock().unwrap().clone();
        events
    }

    fn field<'a>(event: &'a [(String, String)], name: &str) -> Option<&'a str> {
        event
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn resync_is_logged_with_the_bytes_skipped_after_the_next_frame() {
        let mut codec = MtSicsCodec::new();
        let events = logged(|| {
            let mut buf = BytesMut::from(&b"\x00\xffxyzS S  1.00 g\r\n"[..]);
            assert_eq!(
                codec.decode(&mut buf).unwrap(),
                Some(ScaleEvent::Reading(Reading::stable(1.0, None)))
            );
            // A clean frame afterwards: nothing more to report.
            buf.extend_from_slice(b"S S 2 g\r\n");
            codec.decode(&mut buf).unwrap().unwrap();
        });
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0];
        assert_eq!(field(e, "target"), Some("packbench::scale"));
        assert_eq!(field(e, "protocol"), Some("\"mt-sics\""));
        assert_eq!(field(e, "skipped"), Some("5"));
        assert_eq!(
            field(e, "message"),
            Some("resync: skipped 5 bytes before this frame")
        );
    }

    #[test]
    fn garbage_without_a_frame_is_reported_in_batches_and_at_end_of_stream() {
        let mut codec = ToledoContinuousCodec::new(true);
        let events = logged(|| {
            let mut buf = BytesMut::from(&vec![b'x'; REPORT_EVERY + 10][..]);
            assert_eq!(codec.decode(&mut buf).unwrap(), None);
            buf.extend_from_slice(b"\x02abc");
            assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
            assert!(buf.is_empty());
        });
        let skipped: Vec<Option<&str>> = events.iter().map(|e| field(e, "skipped")).collect();
        assert_eq!(
            skipped,
            vec![Some("4106"), Some("4")],
            "one report for the run, one for the partial frame at the end"
        );
    }
}
