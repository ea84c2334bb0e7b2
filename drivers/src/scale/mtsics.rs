//! MT-SICS (Mettler Toledo Standard Interface Command Set), level 0/1 subset.
//!
//! Host commands end with CR LF: `S` (stable weight), `SI` (weight now), `SIR` (weight now,
//! repeated), `Z` (zero), `T` (tare), `@` (reset, answered with the serial number).
//! Replies, one per line:
//!
//! | reply                | meaning                                      |
//! |----------------------|----------------------------------------------|
//! | `S S     100.00 g`   | stable weight                                |
//! | `S D     100.00 g`   | dynamic (moving) weight, only from `SI`/`SIR` |
//! | `S I`                | busy, no weight now                          |
//! | `S +` / `S -`        | overload / underload                         |
//! | `Z A`                | zero set; `Z I`, `Z +`, `Z -` not done       |
//! | `T S     12.00 g`    | tare stored; `T I`, `T +`, `T -` not done    |
//! | `ES` / `ET` / `EL`   | syntax, transmission, logical error          |
//! | `I4 A "0123456789"`  | serial number, reply to `@`                  |
//!
//! Lines end with CR LF; a bare CR or LF also ends a line so that balances set to another
//! line end still work. A line that does not parse is retried without its first byte
//! (drop one byte, resynchronise; see [`super::frame`]), so garbage glued to the front of a
//! reply does not lose it.

use super::frame::{End, FrameFormat, FramedCodec, Framing, Start};
use super::{
    parse_decimal, Reading, ReadingKind, ScaleCommand, ScaleEvent, ScaleProtocol, WeightUnit,
};

/// The longest line considered, line end included; real replies are under 40 bytes. A longer
/// run without a line end is garbage, dropped a byte at a time so a reply after it survives.
pub const MAX_LINE: usize = 128;

/// MT-SICS replies, one per line.
#[derive(Debug, Clone, Copy, Default)]
pub struct MtSics;

/// Decoder of MT-SICS replies and encoder of host commands.
pub type MtSicsCodec = FramedCodec<MtSics>;

impl MtSicsCodec {
    pub fn new() -> Self {
        FramedCodec::with_format(MtSics)
    }
}

impl FrameFormat for MtSics {
    const PROTOCOL: ScaleProtocol = ScaleProtocol::MtSics;

    fn framing(&self) -> Framing {
        Framing {
            start: Start::Line,
            end: End::Byte {
                any_of: b"\r\n",
                max: MAX_LINE,
            },
            mask: 0xff,
        }
    }

    /// The line without its end; garbage in front of a reply is dropped by the framing, a
    /// byte at a time.
    fn parse(&self, frame: &[u8]) -> Option<ScaleEvent> {
        parse_reply(&frame[..frame.len() - 1])
    }
}

/// Parses exactly one reply (no line end), strictly: every token must be accounted for.
pub fn parse_reply(line: &[u8]) -> Option<ScaleEvent> {
    if line
        .iter()
        .any(|&b| !(0x20..0x7f).contains(&b) && b != b'\t')
    {
        return None;
    }
    if let Some(rest) = line.strip_prefix(b"I4 A ") {
        return parse_quoted(rest).map(ScaleEvent::Info);
    }
    let tokens: Vec<&[u8]> = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|t| !t.is_empty())
        .collect();
    let event = match tokens.as_slice() {
        [b"S", b"S", value, unit] => ScaleEvent::Reading(match weight_grams(value, unit)? {
            Ok(g) => Reading::stable(g, None),
            Err(r) => r,
        }),
        [b"S", b"D", value, unit] => ScaleEvent::Reading(match weight_grams(value, unit)? {
            Ok(g) => Reading::motion(Some(g), None),
            Err(r) => r,
        }),
        [b"S", b"I"] => ScaleEvent::Reading(Reading::state(ReadingKind::Busy)),
        [b"S", b"+"] => ScaleEvent::Reading(Reading::state(ReadingKind::Overload)),
        [b"S", b"-"] => ScaleEvent::Reading(Reading::state(ReadingKind::Underload)),
        [b"Z", b"A"] => ScaleEvent::Zeroed,
        [b"Z", status] => rejected(ScaleCommand::Zero, status, "zero")?,
        [b"T", b"S", value, unit] => match weight_grams(value, unit)? {
            Ok(grams) => ScaleEvent::Tare { grams },
            Err(r) => ScaleEvent::Reading(r),
        },
        [b"T", status] => rejected(ScaleCommand::Tare, status, "tare")?,
        [b"ES"] => ScaleEvent::Reading(Reading::error("ES: syntax error, command not known")),
        [b"ET"] => ScaleEvent::Reading(Reading::error("ET: transmission error")),
        [b"EL"] => ScaleEvent::Reading(Reading::error("EL: logical error, command not possible")),
        _ => return None,
    };
    Some(event)
}

/// MT-SICS weight replies carry no gross/net flag, so readings have no mode.
fn weight_grams(value: &[u8], unit: &[u8]) -> Option<Result<f64, Reading>> {
    let value = parse_decimal(value)?;
    if !unit.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let unit = std::str::from_utf8(unit).ok()?;
    Some(match unit.parse::<WeightUnit>() {
        Ok(u) => Ok(value.to_grams(u)),
        // A well-formed reply in a unit we cannot convert is reported, never guessed.
        Err(_) => Err(Reading::error(format!("unsupported unit '{unit}'"))),
    })
}

fn rejected(command: ScaleCommand, status: &[u8], what: &str) -> Option<ScaleEvent> {
    let reason = match status {
        b"I" => format!("{what} not executed: scale busy or not stable"),
        b"+" => format!("upper limit of {what} range exceeded"),
        b"-" => format!("lower limit of {what} range exceeded"),
        _ => return None,
    };
    Some(ScaleEvent::Rejected { command, reason })
}

fn parse_quoted(rest: &[u8]) -> Option<String> {
    let inner = rest.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if inner.contains(&b'"') {
        return None;
    }
    Some(String::from_utf8_lossy(inner).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use tokio_util::codec::{Decoder, Encoder};

    fn decode_all(bytes: &[u8]) -> Vec<ScaleEvent> {
        let mut codec = MtSicsCodec::new();
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(ev) = codec.decode(&mut buf).unwrap() {
            out.push(ev);
        }
        out
    }

    #[test]
    fn real_replies() {
        let events = decode_all(
            b"S S     100.00 g\r\nS D     100.02 g\r\nS I\r\nS +\r\nS -\r\nZ A\r\n\
              T S      12.50 g\r\nES\r\nET\r\nEL\r\nI4 A \"B123456789\"\r\nS S      -0.5 kg\r\n",
        );
        assert_eq!(
            events,
            vec![
                ScaleEvent::Reading(Reading::stable(100.0, None)),
                ScaleEvent::Reading(Reading::motion(Some(100.02), None)),
                ScaleEvent::Reading(Reading::state(ReadingKind::Busy)),
                ScaleEvent::Reading(Reading::state(ReadingKind::Overload)),
                ScaleEvent::Reading(Reading::state(ReadingKind::Underload)),
                ScaleEvent::Zeroed,
                ScaleEvent::Tare { grams: 12.5 },
                ScaleEvent::Reading(Reading::error("ES: syntax error, command not known")),
                ScaleEvent::Reading(Reading::error("ET: transmission error")),
                ScaleEvent::Reading(Reading::error("EL: logical error, command not possible")),
                ScaleEvent::Info("B123456789".into()),
                ScaleEvent::Reading(Reading::stable(-500.0, None)),
            ]
        );
    }

    #[test]
    fn units_and_rejections() {
        let events = decode_all(b"S S 1.5 lb\nS S 2 oz\rS S 1.234 kg\nS S 5 ct\nZ I\nT +\n");
        let grams: Vec<Option<f64>> = events[..3]
            .iter()
            .map(|e| e.reading().unwrap().weight_grams())
            .collect();
        assert_eq!(
            grams,
            vec![
                Some(1.5 * 453.59237),
                Some(2.0 * 28.349523125),
                Some(1234.0)
            ]
        );
        assert_eq!(
            events[3].reading().unwrap().kind,
            ReadingKind::Error("unsupported unit 'ct'".into())
        );
        assert!(matches!(
            events[4],
            ScaleEvent::Rejected {
                command: ScaleCommand::Zero,
                ..
            }
        ));
        assert!(matches!(
            events[5],
            ScaleEvent::Rejected {
                command: ScaleCommand::Tare,
                ..
            }
        ));
    }

    #[test]
    fn garbage_in_front_of_a_reply_is_dropped() {
        let events = decode_all(b"\x00\xffxyzS S  1.00 g\r\n@@@\r\nS SS S 2.00 g\r\n");
        assert_eq!(
            events,
            vec![
                ScaleEvent::Reading(Reading::stable(1.0, None)),
                ScaleEvent::Reading(Reading::stable(2.0, None)),
            ]
        );
    }

    #[test]
    fn strict_parsing_rejects_near_misses() {
        for line in [
            &b"S S 100.00"[..],
            b"S S g",
            b"S S 1.0 g extra",
            b"S X 1.0 g",
            b"I4 A \"unterminated",
            b"I4 A \"a\"b\"",
            b"Z Q",
        ] {
            assert_eq!(parse_reply(line), None, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn buffer_stays_bounded_without_line_ends() {
        let mut codec = MtSicsCodec::new();
        let mut buf = BytesMut::new();
        for _ in 0..100 {
            buf.extend_from_slice(&[b'x'; 50]);
            assert_eq!(codec.decode(&mut buf).unwrap(), None);
            assert!(buf.len() <= MAX_LINE);
        }
        buf.extend_from_slice(b"S S 3 g\r\n");
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(ScaleEvent::Reading(Reading::stable(3.0, None)))
        );
    }

    #[test]
    fn encodes_commands_with_crlf() {
        let mut codec = MtSicsCodec::new();
        let mut dst = BytesMut::new();
        for c in [
            ScaleCommand::Weigh,
            ScaleCommand::WeighNow,
            ScaleCommand::WeighRepeat,
            ScaleCommand::Zero,
            ScaleCommand::Tare,
            ScaleCommand::Reset,
        ] {
            codec.encode(c, &mut dst).unwrap();
        }
        assert_eq!(&dst[..], b"S\r\nSI\r\nSIR\r\nZ\r\nT\r\n@\r\n");
    }
}
