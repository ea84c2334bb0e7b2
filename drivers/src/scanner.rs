//! Barcode scanner codec: serial (or keyboard-wedge style) scanners that end each code with
//! a suffix.
//!
//! - Frames end on CR, LF, CRLF or TAB; which ones is configurable, default any of them.
//!   With no suffix configured, frames end only on an idle gap ([`frame_with_timeout`]) or
//!   at end of stream.
//! - An AIM symbology identifier (`]C1`, `]E0`, …) stays at the front of the code, as sent:
//!   the app's barcode parser is the one place that takes it apart.
//! - GS (0x1D) stays in the code: it is the GS1 field separator. RS (0x1E) and EOT (0x04)
//!   stay too, as ISO/IEC 15434 envelopes in 2D codes use them. Every other control byte
//!   (NUL, stray CR, DEL, …) is line noise and removed.
//! - A frame with no printable content left (empty, noise only) is dropped.
//! - Invalid UTF-8 is decoded lossily (U+FFFD): the operator then sees a code that matches
//!   nothing and rescans, instead of a scan that silently vanished.
//! - A frame longer than `max_frame_len` is dropped whole, up to its suffix: a truncated code
//!   would be a different, wrong code.
//! - Dropped frames and removed noise are logged (target `packbench::scanner`, debug level).
//!
//! Debouncing identical scans is a separate [`ScanDebouncer`] with explicit timestamps.

use std::io;
use std::str::FromStr;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::codec::Decoder;

const GS: u8 = 0x1d;
const RS: u8 = 0x1e;
const EOT: u8 = 0x04;

/// The idle gap after which a partial frame is taken as complete, for scanners without a
/// suffix. At 9600 baud a byte takes about 1 ms, so 50 ms is far beyond any inter-character
/// gap inside one scan and far below the time between two scans by hand.
pub const DEFAULT_IDLE_GAP: Duration = Duration::from_millis(50);

/// A frame terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suffix {
    /// A CR on its own ends the frame (a following LF is then an empty frame, dropped).
    Cr,
    Lf,
    /// Only the pair CR LF ends the frame; a lone CR is noise inside it.
    CrLf,
    Tab,
}

impl Suffix {
    pub const ALL: [Suffix; 4] = [Suffix::Cr, Suffix::Lf, Suffix::CrLf, Suffix::Tab];

    pub const fn bytes(self) -> &'static [u8] {
        match self {
            Suffix::Cr => b"\r",
            Suffix::Lf => b"\n",
            Suffix::CrLf => b"\r\n",
            Suffix::Tab => b"\t",
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Suffix::Cr => "cr",
            Suffix::Lf => "lf",
            Suffix::CrLf => "crlf",
            Suffix::Tab => "tab",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scanner suffix '{0}' (expected one of: cr, lf, crlf, tab)")]
pub struct UnknownSuffix(pub String);

impl FromStr for Suffix {
    type Err = UnknownSuffix;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Suffix::ALL
            .into_iter()
            .find(|x| x.name() == wanted)
            .ok_or_else(|| UnknownSuffix(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerConfig {
    /// Terminators that end a frame. Empty: only an idle gap or end of stream ends one.
    pub suffixes: Vec<Suffix>,
    /// Longest code accepted, in bytes, AIM prefix included.
    pub max_frame_len: usize,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            suffixes: Suffix::ALL.to_vec(),
            // GS1 DataMatrix labels stay well under this; a frame this long is a runaway.
            max_frame_len: 1024,
        }
    }
}

/// One scan.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScanFrame {
    /// The code as sent, without suffix and noise: an AIM prefix (`]C1`, …) and GS
    /// separators kept.
    pub code: String,
}

/// Splits a scanner byte stream into [`ScanFrame`]s.
#[derive(Debug, Clone)]
pub struct ScannerCodec {
    cr: bool,
    lf: bool,
    crlf: bool,
    tab: bool,
    max_frame_len: usize,
    /// Inside an over-long frame: drop bytes until its terminator.
    discarding: bool,
    /// Bytes of the over-long frame dropped so far.
    discarded: usize,
    /// Bytes at the front of the buffer already searched for a terminator.
    scanned: usize,
}

impl Default for ScannerCodec {
    fn default() -> Self {
        ScannerCodec::new(&ScannerConfig::default())
    }
}

impl ScannerCodec {
    pub fn new(config: &ScannerConfig) -> Self {
        let has = |s| config.suffixes.contains(&s);
        ScannerCodec {
            cr: has(Suffix::Cr),
            lf: has(Suffix::Lf),
            crlf: has(Suffix::CrLf),
            tab: has(Suffix::Tab),
            max_frame_len: config.max_frame_len.max(1),
            discarding: false,
            discarded: 0,
            scanned: 0,
        }
    }

    /// Takes whatever partial frame is buffered as complete: used after an idle gap and at
    /// end of stream. Returns `None` when that leaves nothing worth reporting.
    pub fn flush(&mut self, src: &mut BytesMut) -> Option<ScanFrame> {
        self.scanned = 0;
        if std::mem::take(&mut self.discarding) || src.len() > self.max_frame_len {
            self.dropped_overlong(src.len());
            src.clear();
            return None;
        }
        let bytes = src.split();
        make_frame(&bytes)
    }

    fn dropped_overlong(&mut self, tail: usize) {
        let n = std::mem::take(&mut self.discarded) + tail;
        tracing::debug!(
            target: "packbench::scanner",
            bytes = n,
            "dropped a frame of {n} bytes, longer than max_frame_len {}",
            self.max_frame_len
        );
    }

    /// Whether bytes of an unfinished frame are waiting (what an idle timer should watch).
    pub fn has_pending(&self, src: &BytesMut) -> bool {
        !src.is_empty() || self.discarding
    }

    /// Finds the first terminator at or after `from`: `Ok((start, len))`, or `Err(resume)`
    /// with the index to resume searching from when more bytes arrive.
    fn find_terminator(&self, buf: &[u8], from: usize) -> Result<(usize, usize), usize> {
        let mut i = from;
        while i < buf.len() {
            match buf[i] {
                b'\n' if self.lf => return Ok((i, 1)),
                b'\t' if self.tab => return Ok((i, 1)),
                b'\r' if self.cr => return Ok((i, 1)),
                b'\r' if self.crlf => match buf.get(i + 1) {
                    Some(b'\n') => return Ok((i, 2)),
                    Some(_) => {}
                    // A CR at the very end may be half of a CRLF still on the wire.
                    None => return Err(i),
                },
                _ => {}
            }
            i += 1;
        }
        Err(buf.len())
    }
}

impl Decoder for ScannerCodec {
    type Item = ScanFrame;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ScanFrame>, io::Error> {
        loop {
            match self.find_terminator(src, self.scanned.min(src.len())) {
                Ok((start, len)) => {
                    self.scanned = 0;
                    let too_long =
                        std::mem::take(&mut self.discarding) || start > self.max_frame_len;
                    let frame = src.split_to(start);
                    src.advance(len);
                    if too_long {
                        self.dropped_overlong(frame.len());
                        continue;
                    }
                    if let Some(frame) = make_frame(&frame) {
                        return Ok(Some(frame));
                    }
                }
                Err(resume) => {
                    if self.discarding || resume > self.max_frame_len {
                        // Keep memory bounded: forget the over-long frame's bytes but remember
                        // to drop the rest of it up to its terminator.
                        self.discarding = true;
                        self.discarded += resume;
                        src.advance(resume);
                        self.scanned = 0;
                    } else {
                        self.scanned = resume;
                    }
                    return Ok(None);
                }
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ScanFrame>, io::Error> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        Ok(self.flush(src))
    }
}

fn is_kept_control(b: u8) -> bool {
    b == GS || b == RS || b == EOT
}

/// Cleans one raw frame (without terminator) into a scan, or `None` if it is only noise.
fn make_frame(raw: &[u8]) -> Option<ScanFrame> {
    let code: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|&b| !(b < 0x20 || b == 0x7f) || is_kept_control(b))
        .collect();
    // Only printable content makes a scan; separators alone are noise.
    if !code.iter().any(|&b| !is_kept_control(b)) {
        if !raw.is_empty() {
            tracing::debug!(
                target: "packbench::scanner",
                bytes = raw.len(),
                "dropped a frame of {} bytes with nothing printable",
                raw.len()
            );
        }
        return None;
    }
    let noise = raw.len() - code.len();
    if noise > 0 {
        tracing::debug!(target: "packbench::scanner", noise, "removed {noise} control bytes from a scan");
    }
    Some(ScanFrame {
        code: String::from_utf8_lossy(&code).into_owned(),
    })
}

/// Reads the next frame, taking a partial frame as complete once no byte arrived for `idle`
/// (for scanners that send no suffix). Returns `Ok(None)` at end of stream.
///
/// Keep `buf` and `codec` between calls: they hold bytes already read. Cancel-safe in the
/// same way as `read_buf` is: dropping the future loses no bytes.
pub async fn frame_with_timeout<R>(
    reader: &mut R,
    codec: &mut ScannerCodec,
    buf: &mut BytesMut,
    idle: Duration,
) -> io::Result<Option<ScanFrame>>
where
    R: AsyncRead + Unpin,
{
    loop {
        if let Some(frame) = codec.decode(buf)? {
            return Ok(Some(frame));
        }
        let read = if codec.has_pending(buf) {
            match tokio::time::timeout(idle, reader.read_buf(buf)).await {
                Ok(read) => read?,
                Err(_elapsed) => match codec.flush(buf) {
                    Some(frame) => return Ok(Some(frame)),
                    None => continue,
                },
            }
        } else {
            reader.read_buf(buf).await?
        };
        if read == 0 {
            return codec.decode_eof(buf);
        }
    }
}

/// A scanner stream with the idle-gap rule built in: owns the reader, codec and buffer.
#[derive(Debug)]
pub struct TimedScanner<R> {
    reader: R,
    codec: ScannerCodec,
    buf: BytesMut,
    idle: Duration,
}

impl<R: AsyncRead + Unpin> TimedScanner<R> {
    pub fn new(reader: R, config: &ScannerConfig, idle: Duration) -> Self {
        TimedScanner {
            reader,
            codec: ScannerCodec::new(config),
            buf: BytesMut::with_capacity(256),
            idle,
        }
    }

    /// The next scan, `Ok(None)` at end of stream.
    pub async fn next_frame(&mut self) -> io::Result<Option<ScanFrame>> {
        frame_with_timeout(&mut self.reader, &mut self.codec, &mut self.buf, self.idle).await
    }

    pub fn into_inner(self) -> R {
        self.reader
    }
}

/// Suppresses a scan identical to the previous one within `window` (off by default: two
/// identical units are two scans). The window slides: a code held under a presentation
/// scanner that re-reads it every few milliseconds counts once.
///
/// Time is passed in, never read from a clock, so the rule is testable.
#[derive(Debug, Clone, Default)]
pub struct ScanDebouncer {
    window: Option<Duration>,
    last: Option<(String, Instant)>,
}

impl ScanDebouncer {
    /// `None` or a zero window disables debouncing.
    pub fn new(window: Option<Duration>) -> Self {
        ScanDebouncer {
            window: window.filter(|w| !w.is_zero()),
            last: None,
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.window.is_some()
    }

    /// Whether the scan of `code` at `at` should be reported.
    pub fn accept(&mut self, code: &str, at: Instant) -> bool {
        let Some(window) = self.window else {
            return true;
        };
        let repeat = matches!(&self.last, Some((last, when))
            if last == code && at.saturating_duration_since(*when) < window);
        match &mut self.last {
            Some((last, when)) if last == code => *when = at,
            _ => self.last = Some((code.to_string(), at)),
        }
        !repeat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut ScannerCodec, bytes: &[u8]) -> Vec<ScanFrame> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            out.push(f);
        }
        if let Some(f) = codec.decode_eof(&mut buf).unwrap() {
            out.push(f);
        }
        out
    }

    fn codes(frames: &[ScanFrame]) -> Vec<&str> {
        frames.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn any_suffix_by_default() {
        let mut c = ScannerCodec::default();
        let got = decode_all(&mut c, b"A1\rB2\nC3\r\nD4\tE5");
        assert_eq!(codes(&got), ["A1", "B2", "C3", "D4", "E5"]);
    }

    #[test]
    fn aim_prefix_and_gs_kept() {
        let mut c = ScannerCodec::default();
        let got = decode_all(
            &mut c,
            b"]C1010950123456789017\x1d10ABC\r]E04006381333931\r",
        );
        assert_eq!(
            codes(&got),
            ["]C1010950123456789017\u{1d}10ABC", "]E04006381333931"]
        );
    }

    #[test]
    fn noise_and_empty_frames_dropped() {
        let mut c = ScannerCodec::default();
        let got = decode_all(&mut c, b"\r\n\r\n\x00\x00\r\x1d\r\x07\x1b\rA\x00B\r");
        assert_eq!(codes(&got), ["AB"]);
    }

    #[test]
    fn crlf_only_keeps_waiting_for_lf() {
        let cfg = ScannerConfig {
            suffixes: vec![Suffix::CrLf],
            ..ScannerConfig::default()
        };
        let mut c = ScannerCodec::new(&cfg);
        let mut buf = BytesMut::from(&b"ABC\r"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"\nDE\rF\r\n");
        assert_eq!(c.decode(&mut buf).unwrap().unwrap().code, "ABC");
        // The lone CR inside is noise, removed.
        assert_eq!(c.decode(&mut buf).unwrap().unwrap().code, "DEF");
    }

    #[test]
    fn tab_only_ignores_newlines() {
        let cfg = ScannerConfig {
            suffixes: vec![Suffix::Tab],
            ..ScannerConfig::default()
        };
        let mut c = ScannerCodec::new(&cfg);
        assert_eq!(
            codes(&decode_all(&mut c, b"AB\r\nCD\tEF\t")),
            ["ABCD", "EF"]
        );
    }

    #[test]
    fn overlong_frames_are_dropped_whole() {
        let cfg = ScannerConfig {
            max_frame_len: 8,
            ..ScannerConfig::default()
        };
        let mut c = ScannerCodec::new(&cfg);
        let mut buf = BytesMut::new();
        for _ in 0..100 {
            buf.extend_from_slice(b"0123456789");
            assert_eq!(c.decode(&mut buf).unwrap(), None);
            assert!(buf.len() <= 8);
        }
        buf.extend_from_slice(b"TAIL\rOK\r");
        assert_eq!(c.decode(&mut buf).unwrap().unwrap().code, "OK");
        assert_eq!(
            codes(&decode_all(&mut c, b"123456789\r12345678\r")),
            ["12345678"]
        );
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let mut c = ScannerCodec::default();
        let got = decode_all(&mut c, b"AB\xffC\r");
        assert_eq!(got[0].code, "AB\u{fffd}C");
    }

    #[test]
    fn eof_flushes_pending_frame() {
        let cfg = ScannerConfig {
            suffixes: vec![],
            ..ScannerConfig::default()
        };
        let mut c = ScannerCodec::new(&cfg);
        assert_eq!(codes(&decode_all(&mut c, b"NOSUFFIX")), ["NOSUFFIX"]);
    }

    #[test]
    fn suffix_names_parse() {
        assert_eq!("CRLF".parse::<Suffix>().unwrap(), Suffix::CrLf);
        let err = "semicolon".parse::<Suffix>().unwrap_err().to_string();
        assert!(err.contains("'semicolon'") && err.contains("crlf"), "{err}");
    }

    #[test]
    fn debouncer_off_by_default() {
        let t0 = Instant::now();
        let mut d = ScanDebouncer::default();
        assert!(!d.is_enabled());
        assert!(d.accept("A", t0));
        assert!(d.accept("A", t0));
    }

    #[test]
    fn debouncer_window_slides_and_distinguishes_codes() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut d = ScanDebouncer::new(Some(Duration::from_millis(100)));
        assert!(d.accept("A", ms(0)));
        assert!(!d.accept("A", ms(50)));
        assert!(!d.accept("A", ms(140)), "window restarts at each repeat");
        assert!(d.accept("A", ms(300)));
        assert!(d.accept("B", ms(310)));
        assert!(
            d.accept("A", ms(320)),
            "a different code in between breaks the run"
        );
        assert!(ScanDebouncer::new(Some(Duration::ZERO)).accept("A", ms(0)));
    }
}
