//! SMA (Scale Manufacturers Association) serial protocol, level 1.
//!
//! Commands are `LF c CR`: `W` weight, `R` repeat weight, `Z` zero, `T` tare. The standard
//! reply is 20 bytes, `LF s r n m f wwwwwwwwww uuu CR` (Fairbanks FB2550 manual appendix III
//! "SMA protocol"; Sartorius PR 5220 manual "SMA protocol"; B-Tek T419S service manual §7.1):
//!
//! - `s` status: `Z` centre of zero, `O` over capacity, `U` under capacity, `E` zero error,
//!   `I` initial-zero error, `T` tare error, space for none of these. For `E`, `I` and `T`
//!   the weight field is dashes.
//! - `r` range, `1` for single-range scales.
//! - `n` `G` gross, `N` net, `T` tare (reply to `M`), `g`/`n` high-resolution gross/net.
//! - `m` `M` while the scale is in motion, else space.
//! - `f` reserved.
//! - weight: always 10 characters, sign and decimal point included.
//! - unit: 3 characters padded with spaces or underscores (`kg `, `kg_`, `lb_`, `g__`).
//!
//! An unknown command is answered with `LF ? CR`; information replies look like
//! `LF SMA:2/1.0 CR` (three-letter field, colon, up to 25 characters).

use super::frame::{End, FrameFormat, FramedCodec, Framing, Start};
use super::{
    parse_decimal, Reading, ReadingKind, ScaleEvent, ScaleProtocol, WeighMode, WeightUnit,
};

pub const LF: u8 = b'\n';
pub const CR: u8 = b'\r';
/// Length of the standard reply, LF to CR inclusive.
pub const FRAME_LEN: usize = 20;
/// Longest line considered: an information reply (LF + 3 + ':' + 25 + CR).
pub const MAX_LINE: usize = 31;

/// SMA replies, `LF … CR`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sma;

pub type SmaCodec = FramedCodec<Sma>;

impl SmaCodec {
    pub fn new() -> Self {
        FramedCodec::with_format(Sma)
    }
}

impl FrameFormat for Sma {
    const PROTOCOL: ScaleProtocol = ScaleProtocol::Sma;

    fn framing(&self) -> Framing {
        Framing {
            start: Start::Byte(LF),
            end: End::Byte {
                any_of: &[CR],
                max: MAX_LINE,
            },
            mask: 0xff,
        }
    }

    fn parse(&self, frame: &[u8]) -> Option<ScaleEvent> {
        parse_line(frame)
    }
}

/// Parses one line from LF to CR inclusive.
pub fn parse_line(line: &[u8]) -> Option<ScaleEvent> {
    let body = line.strip_prefix(&[LF])?.strip_suffix(&[CR])?;
    if !body.iter().all(|b| (0x20..0x7f).contains(b)) {
        return None;
    }
    if body == b"?" {
        return Some(ScaleEvent::Reading(Reading::error(
            "SMA: command not recognised",
        )));
    }
    if line.len() == FRAME_LEN {
        return parse_standard(body);
    }
    parse_info(body)
}

fn parse_standard(body: &[u8]) -> Option<ScaleEvent> {
    let (status, range, gross_net, motion) = (body[0], body[1], body[2], body[3]);
    let weight = &body[5..15];
    let unit_field = &body[15..18];
    if !b"ZOUEIT ".contains(&status)
        || !range.is_ascii_digit()
        || !b"GNTgn".contains(&gross_net)
        || !b"M ".contains(&motion)
    {
        return None;
    }
    let unit = parse_unit(unit_field)?;
    let reading = match status {
        b'O' => Reading::state(ReadingKind::Overload),
        b'U' => Reading::state(ReadingKind::Underload),
        b'E' | b'I' | b'T' => {
            // The weight field holds dashes here; only check it is not something else.
            if !weight.iter().all(|&b| b == b'-' || b == b' ') {
                return None;
            }
            Reading::error(match status {
                b'E' => "SMA: zero error",
                b'I' => "SMA: initial zero error",
                _ => "SMA: tare error",
            })
        }
        _ => {
            let value = parse_decimal(weight)?;
            let unit = match unit {
                UnitField::Known(u) => u,
                UnitField::Unsupported(name) => {
                    return Some(ScaleEvent::Reading(Reading::error(format!(
                        "unsupported unit '{name}'"
                    ))))
                }
            };
            let grams = value.to_grams(unit);
            let mode = match gross_net {
                b'G' | b'g' => WeighMode::Gross,
                b'N' | b'n' => WeighMode::Net,
                _ => return Some(ScaleEvent::Tare { grams }),
            };
            if motion == b'M' {
                Reading::motion(Some(grams), Some(mode))
            } else {
                Reading::stable(grams, Some(mode))
            }
        }
    };
    Some(ScaleEvent::Reading(reading))
}

/// A well-formed unit field: a unit we convert, or one we cannot (reported, never guessed).
enum UnitField<'a> {
    Known(WeightUnit),
    Unsupported(&'a str),
}

/// Letters, then padding of spaces or underscores.
fn parse_unit(field: &[u8]) -> Option<UnitField<'_>> {
    let letters = field
        .iter()
        .position(|&b| b == b' ' || b == b'_')
        .unwrap_or(field.len());
    let (name, pad) = field.split_at(letters);
    if name.is_empty()
        || !name.iter().all(u8::is_ascii_alphabetic)
        || !pad.iter().all(|&b| b == b' ' || b == b'_')
    {
        return None;
    }
    let name = std::str::from_utf8(name).ok()?;
    Some(match name.parse::<WeightUnit>() {
        Ok(u) => UnitField::Known(u),
        Err(_) => UnitField::Unsupported(name),
    })
}

fn parse_info(body: &[u8]) -> Option<ScaleEvent> {
    let (field, rest) = (body.get(..3)?, body.get(3..)?);
    if !field.iter().all(|b| b.is_ascii_uppercase() || *b == b' ') || rest.first() != Some(&b':') {
        return None;
    }
    Some(ScaleEvent::Info(String::from_utf8_lossy(body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use tokio_util::codec::{Decoder, Encoder};

    use crate::scale::ScaleCommand;

    fn decode_all(bytes: &[u8]) -> Vec<ScaleEvent> {
        let mut codec = SmaCodec::new();
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(ev) = codec.decode(&mut buf).unwrap() {
            out.push(ev);
        }
        out
    }

    fn reading(ev: &ScaleEvent) -> &Reading {
        ev.reading().unwrap()
    }

    fn assert_close(got: Option<f64>, want: f64) {
        let got = got.expect("a weight");
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }

    /// A standard reply: status, gross/net, motion, weight (right-aligned to 10), unit field.
    fn fr(s: char, n: char, m: char, weight: &str, unit: &str) -> Vec<u8> {
        let line = format!("\n{s}1{n}{m} {weight:>10}{unit}\r");
        assert_eq!(line.len(), FRAME_LEN, "{line:?}");
        line.into_bytes()
    }

    #[test]
    fn standard_replies() {
        let stream = [
            fr(' ', 'G', ' ', "5.025", "lb_"),
            fr(' ', 'N', ' ', "100000", "lb "),
            fr('Z', 'G', ' ', "0.000", "kg_"),
            fr(' ', 'G', 'M', "7.650", "kg "),
            fr(' ', 'N', ' ', "-0.250", "kg_"),
            fr(' ', 'G', ' ', "1250.0", "g__"),
            fr(' ', 'g', ' ', "3.500", "oz_"),
            fr(' ', 'n', ' ', "+12", "g  "),
        ]
        .concat();
        let got = decode_all(&stream);
        assert_eq!(got.len(), 8);
        assert_close(reading(&got[0]).weight_grams(), 5.025 * 453.59237);
        assert_eq!(reading(&got[0]).mode, Some(WeighMode::Gross));
        assert_close(reading(&got[1]).weight_grams(), 100_000.0 * 453.59237);
        assert_eq!(reading(&got[1]).mode, Some(WeighMode::Net));
        assert_eq!(
            reading(&got[2]),
            &Reading::stable(0.0, Some(WeighMode::Gross))
        );
        assert_eq!(
            reading(&got[3]),
            &Reading::motion(Some(7650.0), Some(WeighMode::Gross))
        );
        assert_eq!(reading(&got[4]).weight_grams(), Some(-250.0));
        assert_eq!(reading(&got[5]).weight_grams(), Some(1250.0));
        assert_close(reading(&got[6]).weight_grams(), 3.5 * 28.349523125);
        assert_eq!(
            reading(&got[7]),
            &Reading::stable(12.0, Some(WeighMode::Net))
        );
    }

    #[test]
    fn states_never_weigh() {
        let stream = [
            fr('O', 'G', ' ', "99.999", "kg_"),
            fr('U', 'G', ' ', "-1.000", "kg_"),
            fr('E', 'G', ' ', "----------", "kg_"),
            fr('I', 'G', ' ', "----------", "kg_"),
            fr('T', 'N', ' ', "  ------  ", "kg_"),
            b"\n?\r".to_vec(),
            fr(' ', 'G', ' ', "1.000", "ct_"),
        ]
        .concat();
        let got = decode_all(&stream);
        assert_eq!(got.len(), 7);
        assert_eq!(reading(&got[0]).kind, ReadingKind::Overload);
        assert_eq!(reading(&got[1]).kind, ReadingKind::Underload);
        for ev in &got[2..] {
            assert!(matches!(reading(ev).kind, ReadingKind::Error(_)), "{ev:?}");
        }
        assert!(got.iter().all(|e| reading(e).weight_grams().is_none()));
    }

    #[test]
    fn tare_and_info_lines() {
        let mut stream = fr(' ', 'T', ' ', "1.200", "kg_");
        stream.extend_from_slice(b"\nSMA:1/1.0\r\nCAP:kg_:6000:1:0\r");
        assert_eq!(
            decode_all(&stream),
            vec![
                ScaleEvent::Tare { grams: 1200.0 },
                ScaleEvent::Info("SMA:1/1.0".into()),
                ScaleEvent::Info("CAP:kg_:6000:1:0".into()),
            ]
        );
    }

    #[test]
    fn garbage_and_truncation_resync() {
        let good1 = fr(' ', 'G', ' ', "1.000", "kg_");
        let good2 = fr(' ', 'G', ' ', "2.000", "kg_");
        let mut bad_field = good1.clone();
        bad_field[3] = b'X';
        let stream = [
            b"xx".to_vec(),
            good1[..9].to_vec(),
            good1.clone(),
            b"!".to_vec(),
            bad_field,
            good2,
        ]
        .concat();
        let got = decode_all(&stream);
        assert_eq!(
            got.iter()
                .map(|e| reading(e).weight_grams())
                .collect::<Vec<_>>(),
            vec![Some(1000.0), Some(2000.0)]
        );
    }

    #[test]
    fn encodes_commands() {
        let mut codec = SmaCodec::new();
        let mut dst = BytesMut::new();
        codec.encode(ScaleCommand::WeighNow, &mut dst).unwrap();
        codec.encode(ScaleCommand::Zero, &mut dst).unwrap();
        codec.encode(ScaleCommand::Tare, &mut dst).unwrap();
        assert_eq!(&dst[..], b"\nW\r\nZ\r\nT\r");
        assert!(codec.encode(ScaleCommand::Reset, &mut dst).is_err());
    }
}
