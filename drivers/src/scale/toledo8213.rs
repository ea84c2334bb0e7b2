//! Toledo 8213 / 8217 demand protocol (the PS60-style postal scale protocol).
//!
//! The host sends `W`; the scale answers `STX ww.www CR` with the weight in the configured
//! unit (the reply carries no unit), or `STX ? s CR` with a status byte when there is no
//! valid weight: bit 0 motion, bit 1 over capacity, bit 2 under zero; bit 3 "outside zero
//! capture range", bit 4 "center of zero", bits 5–6 always 1, bit 7 parity (Transcell PC-150
//! manual, appendix B.1.4 "Toledo 8213 demand format"). `Z` zeroes the scale, which answers
//! with a status record. 8217-style scales print other widths (`XXX.XX`), so any run of
//! digits with at most one decimal point is accepted.
//!
//! Bit 7 of every byte is masked (the port is often 7E1, see `toledo_continuous`).

use super::frame::{End, FrameFormat, FramedCodec, Framing, Start};
use super::{
    parse_decimal, trim_spaces, Reading, ReadingKind, ScaleEvent, ScaleProtocol, WeightUnit,
};

pub const STX: u8 = 0x02;
pub const CR: u8 = 0x0d;
/// Longest payload between STX and CR that is still a reply.
pub const MAX_PAYLOAD: usize = 12;

pub const STATUS_MOTION: u8 = 0x01;
pub const STATUS_OVER_CAPACITY: u8 = 0x02;
pub const STATUS_UNDER_ZERO: u8 = 0x04;
pub const STATUS_OUTSIDE_ZERO_CAPTURE: u8 = 0x08;
pub const STATUS_CENTER_OF_ZERO: u8 = 0x10;

/// Toledo 8213 replies, `STX … CR`, in a unit the replies do not name.
#[derive(Debug, Clone, Copy)]
pub struct Toledo8213 {
    /// What the scale is set to weigh in.
    pub unit: WeightUnit,
}

pub type Toledo8213Codec = FramedCodec<Toledo8213>;

impl Toledo8213Codec {
    /// `unit`: what the scale is set to weigh in; the replies do not say.
    pub fn new(unit: WeightUnit) -> Self {
        FramedCodec::with_format(Toledo8213 { unit })
    }
}

impl FrameFormat for Toledo8213 {
    const PROTOCOL: ScaleProtocol = ScaleProtocol::Toledo8213;

    fn framing(&self) -> Framing {
        Framing {
            start: Start::Byte(STX),
            end: End::Byte {
                any_of: &[CR],
                max: MAX_PAYLOAD + 2,
            },
            mask: 0x7f,
        }
    }

    /// A bad frame drops only its STX: a real frame may start inside it.
    fn parse(&self, frame: &[u8]) -> Option<ScaleEvent> {
        let payload: Vec<u8> = frame[1..frame.len() - 1].iter().map(|b| b & 0x7f).collect();
        parse_payload(&payload, self.unit).map(ScaleEvent::Reading)
    }
}

/// Parses what lies between STX and CR (bit 7 already masked).
pub fn parse_payload(payload: &[u8], unit: WeightUnit) -> Option<Reading> {
    if let [b'?', status] = payload {
        return Some(status_reading(*status));
    }
    let field = trim_spaces(payload);
    // Digits and one optional point only: no sign, the scale sends a status for < 0.
    if field.is_empty() || !field.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value = parse_decimal(field)?;
    Some(Reading::stable(value.to_grams(unit), None))
}

/// Over capacity and under zero outrank motion: neither can become a weight by waiting.
pub fn status_reading(status: u8) -> Reading {
    if status & STATUS_OVER_CAPACITY != 0 {
        Reading::state(ReadingKind::Overload)
    } else if status & STATUS_UNDER_ZERO != 0 {
        Reading::state(ReadingKind::Underload)
    } else if status & STATUS_MOTION != 0 {
        Reading::motion(None, None)
    } else {
        let mut flags = Vec::new();
        if status & STATUS_OUTSIDE_ZERO_CAPTURE != 0 {
            flags.push("outside zero capture range");
        }
        if status & STATUS_CENTER_OF_ZERO != 0 {
            flags.push("center of zero");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", flags.join(", "))
        };
        Reading::error(format!(
            "status record 0x{status:02X} without a weight{flags}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use tokio_util::codec::Decoder;

    fn decode_all(bytes: &[u8], unit: WeightUnit) -> Vec<Reading> {
        let mut codec = Toledo8213Codec::new(unit);
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(ev) = codec.decode(&mut buf).unwrap() {
            out.push(ev.reading().unwrap().clone());
        }
        out
    }

    fn assert_close(got: Option<f64>, want: f64) {
        let got = got.expect("a weight");
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }

    #[test]
    fn weight_and_status_replies() {
        let got = decode_all(
            b"\x0201.500\r\x02?a\r\x02?b\r\x02?d\r\x02?p\r\x02123.45\r\x02  2\r",
            WeightUnit::Pound,
        );
        assert_eq!(got.len(), 7);
        assert_close(got[0].weight_grams(), 1.5 * 453.59237);
        assert_eq!(got[1], Reading::motion(None, None));
        assert_eq!(got[2].kind, ReadingKind::Overload);
        assert_eq!(got[3].kind, ReadingKind::Underload);
        assert_eq!(
            got[4].kind,
            ReadingKind::Error("status record 0x70 without a weight (center of zero)".into())
        );
        assert_close(got[5].weight_grams(), 123.45 * 453.59237);
        assert_close(got[6].weight_grams(), 2.0 * 453.59237);
    }

    #[test]
    fn kilograms_from_config() {
        assert_eq!(
            decode_all(b"\x0201.250\r", WeightUnit::Kilogram),
            vec![Reading::stable(1250.0, None)]
        );
    }

    #[test]
    fn seven_e_one_seen_as_eight_n_one() {
        let with_parity: Vec<u8> = b"\x0201.500\r"
            .iter()
            .map(|&b| if b.count_ones() % 2 == 1 { b | 0x80 } else { b })
            .collect();
        assert_eq!(decode_all(&with_parity, WeightUnit::Kilogram).len(), 1);
    }

    #[test]
    fn truncated_and_bad_frames_resync() {
        let got = decode_all(
            b"\x0201.5\x0202.000\r\x021.2.3\r\x02-1.0\r\x02\r\x02?\r\x0203.000\r",
            WeightUnit::Kilogram,
        );
        assert_eq!(
            got,
            vec![Reading::stable(2000.0, None), Reading::stable(3000.0, None)]
        );
    }

    #[test]
    fn long_runs_without_cr_stay_bounded() {
        let mut codec = Toledo8213Codec::new(WeightUnit::Pound);
        let mut buf = BytesMut::new();
        for _ in 0..50 {
            buf.extend_from_slice(b"\x02123456789");
            assert_eq!(codec.decode(&mut buf).unwrap(), None);
            assert!(buf.len() <= MAX_PAYLOAD + 2);
        }
    }
}
