//! Toledo continuous output: `STX SWA SWB SWC wwwwww tttttt CR [CHK]`, sent over and over.
//!
//! Sources for the bit layout (facts only):
//! - Status word A bits 0–2 hold the decimal point, bits 3–4 the count-by, bit 5 is always 1
//!   (Rice Lake 920i installation manual §10.7.1 "Toledo 8142 indicator"; a Mettler Toledo
//!   manual extract at cnblogs.com/dirgo/p/21366370). The decimal code table, which
//!   neither page shows whole: 0 → `XXXX00`, 1 → `XXXXX0` (the cnblogs row "bits 0,1,2 =
//!   1,0,0 → XXXXX0"), 2 → `XXXXXX`, 3 → `XXXXX.X` … 7 → `X.XXXXX`, i.e. the weight is the
//!   six digits times 10^(2 − code); the Mettler Toledo IND245 firmware's continuous-output
//!   builder (github zpq001/DL_Scale, `ContOut.c`) sets code 7 for `x.xxxxx` and 6 for
//!   `xx.xxxx`, which fixes the direction.
//! - Status word B: bit 0 net, bit 1 negative, bit 2 out of range (over capacity or under
//!   zero), bit 3 motion, bit 4 kg (else lb), bit 5 always 1 (Fairbanks FB3000 manual
//!   appendix "Toledo data format"; Rice Lake 920i; IND245 `ContOut.c`). Bit 6 means
//!   "power up" to Fairbanks but "always 1" in the cnblogs extract, so it is ignored.
//! - Status word C bits 0–2 refine the unit: 000 kg or lb per SWB bit 4, 001 g, 010 metric
//!   tonne (cnblogs extract); 011 oz (IND245 `ContOut.c`). Other codes are reported as an
//!   unsupported unit rather than guessed. Terminals that leave SWC at 0 (Fairbanks, Rice
//!   Lake) fall back to SWB bit 4.
//! - Checksum: the two's complement of the 7-bit sum of STX..CR, so the low 7 bits of the sum
//!   of all bytes including CHK are 0 (Mettler Toledo IND445 manual §5.2.2).
//!
//! Every byte is read with bit 7 masked: these ports are often 7E1, and a host port set to
//! 8N1 sees the parity bit as bit 7. The checksum test is unaffected (bit 7 is worth 128).
//!
//! STX never appears inside a frame except possibly as the checksum byte, so resync drops
//! one byte and skips to the next STX.

use super::frame::{End, FrameFormat, FramedCodec, Framing, Start};
use super::{Decimal, Reading, ReadingKind, ScaleEvent, ScaleProtocol, WeighMode, WeightUnit};

pub const STX: u8 = 0x02;
pub const CR: u8 = 0x0d;
/// Frame length without the checksum byte.
pub const FRAME_LEN: usize = 17;

/// SWB bits.
pub const SWB_NET: u8 = 0x01;
pub const SWB_NEGATIVE: u8 = 0x02;
pub const SWB_OUT_OF_RANGE: u8 = 0x04;
pub const SWB_MOTION: u8 = 0x08;
pub const SWB_KG: u8 = 0x10;
/// Bit 5 of every status word is always 1.
pub const STATUS_ALWAYS: u8 = 0x20;

const GRAMS_PER_TONNE: f64 = 1_000_000.0;

/// Toledo continuous frames. Encoding sends zero/tare for terminals that accept them (see
/// [`ScaleProtocol::command_bytes`]).
#[derive(Debug, Clone, Copy)]
pub struct ToledoContinuous {
    /// Whether each frame ends with the CHK byte after CR.
    pub checksum: bool,
}

impl Default for ToledoContinuous {
    fn default() -> Self {
        ToledoContinuous { checksum: true }
    }
}

pub type ToledoContinuousCodec = FramedCodec<ToledoContinuous>;

impl ToledoContinuousCodec {
    /// `checksum`: whether each frame ends with the CHK byte after CR.
    pub fn new(checksum: bool) -> Self {
        FramedCodec::with_format(ToledoContinuous { checksum })
    }
}

impl FrameFormat for ToledoContinuous {
    const PROTOCOL: ScaleProtocol = ScaleProtocol::ToledoContinuous;

    fn framing(&self) -> Framing {
        Framing {
            start: Start::Byte(STX),
            end: End::Len(FRAME_LEN + usize::from(self.checksum)),
            mask: 0x7f,
        }
    }

    fn parse(&self, frame: &[u8]) -> Option<ScaleEvent> {
        parse_frame(frame, self.checksum).map(ScaleEvent::Reading)
    }
}

/// The checksum byte for the 17 bytes STX..CR.
pub fn checksum(frame: &[u8]) -> u8 {
    let sum = frame.iter().fold(0u8, |acc, &b| acc.wrapping_add(b));
    sum.wrapping_neg() & 0x7f
}

/// Parses one frame of exactly 17 (no checksum) or 18 bytes; `None` when it is not a frame.
pub fn parse_frame(frame: &[u8], with_checksum: bool) -> Option<Reading> {
    if frame.len() != FRAME_LEN + usize::from(with_checksum) {
        return None;
    }
    let m: Vec<u8> = frame.iter().map(|b| b & 0x7f).collect();
    if m[0] != STX || m[16] != CR {
        return None;
    }
    let (swa, swb, swc) = (m[1], m[2], m[3]);
    if swa & swb & swc & STATUS_ALWAYS == 0 {
        return None;
    }
    if with_checksum && frame.iter().fold(0u8, |a, &b| a.wrapping_add(b)) & 0x7f != 0 {
        return None;
    }
    let raw = six_digits(&m[4..10])?;
    // The tare field is validated for framing even though readings do not report it.
    six_digits(&m[10..16])?;

    if swb & SWB_OUT_OF_RANGE != 0 {
        return Some(Reading::state(ReadingKind::OutOfRange));
    }
    let grams_per_unit = match swc & 0x07 {
        0 if swb & SWB_KG != 0 => WeightUnit::Kilogram.grams_per_unit(),
        0 => WeightUnit::Pound.grams_per_unit(),
        1 => WeightUnit::Gram.grams_per_unit(),
        2 => GRAMS_PER_TONNE,
        3 => WeightUnit::Ounce.grams_per_unit(),
        code => {
            return Some(Reading::error(format!(
                "unsupported unit code {code} in status word C"
            )))
        }
    };
    let dp = i32::from(swa & 0x07);
    // Weight = digits × 10^(2 − dp): codes 0 and 1 are ×100 and ×10, 2 is whole units.
    let mut mantissa = raw;
    let mut scale = 0u32;
    if dp < 2 {
        mantissa *= 10i64.pow((2 - dp) as u32);
    } else {
        scale = (dp - 2) as u32;
    }
    if swb & SWB_NEGATIVE != 0 {
        mantissa = -mantissa;
    }
    let grams = Decimal { mantissa, scale }.to_grams_with(grams_per_unit);
    let mode = Some(if swb & SWB_NET != 0 {
        WeighMode::Net
    } else {
        WeighMode::Gross
    });
    Some(if swb & SWB_MOTION != 0 {
        Reading::motion(Some(grams), mode)
    } else {
        Reading::stable(grams, mode)
    })
}

/// Six digits, right-aligned: leading spaces allowed (blanked zeros), at least one digit.
fn six_digits(field: &[u8]) -> Option<i64> {
    let digits_from = field.iter().position(|&b| b != b' ')?;
    field[digits_from..].iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use tokio_util::codec::Decoder;

    fn frame(swa: u8, swb: u8, swc: u8, weight: &[u8; 6], tare: &[u8; 6], chk: bool) -> Vec<u8> {
        let mut f = vec![STX, swa, swb, swc];
        f.extend_from_slice(weight);
        f.extend_from_slice(tare);
        f.push(CR);
        if chk {
            let c = checksum(&f);
            f.push(c);
        }
        f
    }

    fn decode_all(codec: &mut ToledoContinuousCodec, bytes: &[u8]) -> Vec<Reading> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(ev) = codec.decode(&mut buf).unwrap() {
            out.push(ev.reading().unwrap().clone());
        }
        out
    }

    #[test]
    fn decimal_point_codes() {
        // 0x20 | code; SWB 0x30 = kg, stable, gross.
        let cases = [
            (0, 12_300.0 * 1000.0),
            (1, 1_230.0 * 1000.0),
            (2, 123.0 * 1000.0),
            (3, 12.3 * 1000.0),
            (4, 1.23 * 1000.0),
            (5, 123.0),
            (6, 12.3),
            (7, 1.23),
        ];
        for (code, grams) in cases {
            let f = frame(0x20 | code, 0x30, 0x20, b"000123", b"000000", true);
            let r = parse_frame(&f, true).unwrap();
            let got = r.weight_grams().unwrap();
            assert!((got - grams).abs() < 1e-9, "code {code}: {got} vs {grams}");
            assert_eq!(r.mode, Some(WeighMode::Gross));
        }
    }

    #[test]
    fn status_bits() {
        // lb, net, negative: 2.50 lb with dp code 4.
        let f = frame(
            0x24,
            0x20 | SWB_NET | SWB_NEGATIVE,
            0x20,
            b"000250",
            b"000100",
            true,
        );
        let r = parse_frame(&f, true).unwrap();
        assert_eq!(r, Reading::stable(-2.5 * 453.59237, Some(WeighMode::Net)));
        let f = frame(0x24, 0x30 | SWB_MOTION, 0x20, b"  1250", b"000000", true);
        assert_eq!(
            parse_frame(&f, true).unwrap(),
            Reading::motion(Some(12_500.0), Some(WeighMode::Gross))
        );
        let f = frame(
            0x24,
            0x30 | SWB_OUT_OF_RANGE,
            0x20,
            b"999999",
            b"000000",
            true,
        );
        assert_eq!(parse_frame(&f, true).unwrap().kind, ReadingKind::OutOfRange);
        // SWC unit code 1 = grams overrides SWB's lb.
        let f = frame(0x22, 0x20, 0x21, b"000750", b"000000", true);
        assert_eq!(parse_frame(&f, true).unwrap().weight_grams(), Some(750.0));
        let f = frame(0x22, 0x20, 0x27, b"000750", b"000000", true);
        assert!(matches!(
            parse_frame(&f, true).unwrap().kind,
            ReadingKind::Error(_)
        ));
    }

    #[test]
    fn parity_bit_is_ignored() {
        let f: Vec<u8> = frame(0x24, 0x30, 0x20, b"001000", b"000000", true)
            .into_iter()
            .map(|b| if b.count_ones() % 2 == 1 { b | 0x80 } else { b })
            .collect();
        let mut codec = ToledoContinuousCodec::new(true);
        assert_eq!(
            decode_all(&mut codec, &f),
            vec![Reading::stable(10_000.0, Some(WeighMode::Gross))]
        );
    }

    #[test]
    fn bad_checksum_resyncs() {
        let good = frame(0x24, 0x30, 0x20, b"001000", b"000000", true);
        let mut bad = good.clone();
        bad[17] ^= 0x01;
        let mut stream = bad;
        stream.extend_from_slice(&good);
        let mut codec = ToledoContinuousCodec::new(true);
        assert_eq!(decode_all(&mut codec, &stream).len(), 1);
    }

    #[test]
    fn without_checksum() {
        let f = frame(0x23, 0x30, 0x20, b"000015", b"000000", false);
        let mut stream = b"junk".to_vec();
        stream.extend_from_slice(&f);
        stream.extend_from_slice(&f[..9]);
        stream.extend_from_slice(&f);
        let mut codec = ToledoContinuousCodec::new(false);
        let got = decode_all(&mut codec, &stream);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].weight_grams(), Some(1500.0));
    }
}
