//! Scale protocols as `tokio_util` codecs.
//!
//! Every protocol decodes to the same [`ScaleEvent`]; a weight reading is a [`Reading`] whose
//! [`ReadingKind`] tells a real weight apart from motion, overload, underload, out of range,
//! busy and error states, which never count as a weight ([`Reading::weight_grams`] is `None`
//! for them). Weights are always converted to grams.
//!
//! Decoders never fail on bad bytes: garbage and partial frames are skipped, a bad frame drops
//! one byte and the stream resynchronises on the next frame start, and the buffer is kept
//! bounded ([`frame`], shared by all four). The only decoder error is an I/O error from the
//! transport.

pub mod frame;
pub mod mtsics;
pub mod sma;
pub mod toledo8213;
pub mod toledo_continuous;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

pub use mtsics::MtSicsCodec;
pub use sma::SmaCodec;
pub use toledo8213::Toledo8213Codec;
pub use toledo_continuous::ToledoContinuousCodec;

/// Grams in one avoirdupois pound (exact by definition).
pub const GRAMS_PER_POUND: f64 = 453.592_37;
/// Grams in one avoirdupois ounce (a sixteenth of the pound, exact).
pub const GRAMS_PER_OUNCE: f64 = 28.349_523_125;

/// Poll period for demand protocols: 80 ms is 12.5 Hz, above the 10 Hz a waiting station
/// needs, with room for a ~20-byte reply at 9600 baud (about 21 ms on the wire).
pub const DEMAND_POLL_INTERVAL: Duration = Duration::from_millis(80);

/// Unit a scale reports in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightUnit {
    Gram,
    Kilogram,
    Pound,
    Ounce,
}

impl WeightUnit {
    pub const ALL: [WeightUnit; 4] = [
        WeightUnit::Gram,
        WeightUnit::Kilogram,
        WeightUnit::Pound,
        WeightUnit::Ounce,
    ];

    pub const fn grams_per_unit(self) -> f64 {
        match self {
            WeightUnit::Gram => 1.0,
            WeightUnit::Kilogram => 1000.0,
            WeightUnit::Pound => GRAMS_PER_POUND,
            WeightUnit::Ounce => GRAMS_PER_OUNCE,
        }
    }

    pub fn to_grams(self, value: f64) -> f64 {
        value * self.grams_per_unit()
    }

    pub fn from_grams(self, grams: f64) -> f64 {
        grams / self.grams_per_unit()
    }

    /// The usual symbol, as MT-SICS and SMA print it.
    pub const fn symbol(self) -> &'static str {
        match self {
            WeightUnit::Gram => "g",
            WeightUnit::Kilogram => "kg",
            WeightUnit::Pound => "lb",
            WeightUnit::Ounce => "oz",
        }
    }
}

impl fmt::Display for WeightUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for WeightUnit {
    type Err = ScaleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "g" => Ok(WeightUnit::Gram),
            "kg" => Ok(WeightUnit::Kilogram),
            "lb" | "lbs" => Ok(WeightUnit::Pound),
            "oz" => Ok(WeightUnit::Ounce),
            _ => Err(ScaleError::UnknownUnit(s.to_string())),
        }
    }
}

/// Gross or net, where the protocol says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeighMode {
    Gross,
    Net,
}

/// What a reading is. Only [`ReadingKind::Weight`] is a weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadingKind {
    /// A stable weight.
    Weight,
    /// The scale is moving; `grams` holds the indicated value if the protocol sent one.
    Motion,
    /// Above capacity.
    Overload,
    /// Below zero / under the lower limit.
    Underload,
    /// Out of range without saying which side (Toledo continuous SWB bit 2).
    OutOfRange,
    /// The scale could not answer now (MT-SICS `S I`).
    Busy,
    /// An error reply or an unusable reading (unsupported unit, error status).
    Error(String),
}

/// One reading from a scale.
///
/// Invariant kept by the constructors: `stable` is true exactly when `kind` is
/// [`ReadingKind::Weight`].
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub kind: ReadingKind,
    /// Indicated weight in grams, when the frame carried one (also for motion).
    pub grams: Option<f64>,
    pub stable: bool,
    /// Gross or net, when the protocol tells.
    pub mode: Option<WeighMode>,
}

impl Reading {
    pub fn stable(grams: f64, mode: Option<WeighMode>) -> Self {
        Reading {
            kind: ReadingKind::Weight,
            grams: Some(grams),
            stable: true,
            mode,
        }
    }

    pub fn motion(grams: Option<f64>, mode: Option<WeighMode>) -> Self {
        Reading {
            kind: ReadingKind::Motion,
            grams,
            stable: false,
            mode,
        }
    }

    /// A non-weight state (overload, underload, out of range, busy, error).
    pub fn state(kind: ReadingKind) -> Self {
        debug_assert!(kind != ReadingKind::Weight);
        Reading {
            kind,
            grams: None,
            stable: false,
            mode: None,
        }
    }

    pub fn error(msg: impl Into<String>) -> Self {
        Reading::state(ReadingKind::Error(msg.into()))
    }

    /// The weight in grams, only for a stable weight reading; `None` for every other state.
    pub fn weight_grams(&self) -> Option<f64> {
        match self.kind {
            ReadingKind::Weight => self.grams,
            _ => None,
        }
    }
}

/// Everything a scale can tell the host.
#[derive(Debug, Clone, PartialEq)]
pub enum ScaleEvent {
    Reading(Reading),
    /// Zero was set (MT-SICS `Z A`).
    Zeroed,
    /// The scale reports its tare in grams (MT-SICS `T S`, SMA reply with `T` in the
    /// gross/net field).
    Tare {
        grams: f64,
    },
    /// A zero or tare command was not carried out.
    Rejected {
        command: ScaleCommand,
        reason: String,
    },
    /// Identification text (MT-SICS `I4 A "…"`, SMA information lines).
    Info(String),
}

impl ScaleEvent {
    pub fn reading(&self) -> Option<&Reading> {
        match self {
            ScaleEvent::Reading(r) => Some(r),
            _ => None,
        }
    }
}

/// A command the host sends. Not every protocol has every command; see
/// [`ScaleProtocol::command_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScaleCommand {
    /// Send a stable weight (MT-SICS `S`, 8213 `W`, SMA `W`).
    Weigh,
    /// Send the current weight at once, stable or not (MT-SICS `SI`; 8213 and SMA `W`).
    WeighNow,
    /// Send weights repeatedly (MT-SICS `SIR`, SMA `R`).
    WeighRepeat,
    Zero,
    Tare,
    /// Reset / identify (MT-SICS `@`, answered with `I4 A "serial"`).
    Reset,
}

#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error("scale I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "unknown scale protocol '{0}' (expected one of: mt-sics, toledo-continuous, toledo-8213, sma)"
    )]
    UnknownProtocol(String),
    #[error("unknown weight unit '{0}' (expected one of: g, kg, lb, oz)")]
    UnknownUnit(String),
    #[error("the {protocol} protocol has no {command:?} command")]
    Unsupported {
        protocol: ScaleProtocol,
        command: ScaleCommand,
    },
    /// A command could not be written to the scale's port.
    #[error(transparent)]
    Write(#[from] crate::serial::WriteError),
}

/// The scale protocols packbench speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScaleProtocol {
    MtSics,
    ToledoContinuous,
    Toledo8213,
    Sma,
}

impl ScaleProtocol {
    pub const ALL: [ScaleProtocol; 4] = [
        ScaleProtocol::MtSics,
        ScaleProtocol::ToledoContinuous,
        ScaleProtocol::Toledo8213,
        ScaleProtocol::Sma,
    ];

    /// The configuration name.
    pub const fn name(self) -> &'static str {
        match self {
            ScaleProtocol::MtSics => "mt-sics",
            ScaleProtocol::ToledoContinuous => "toledo-continuous",
            ScaleProtocol::Toledo8213 => "toledo-8213",
            ScaleProtocol::Sma => "sma",
        }
    }

    /// Demand protocols answer only when asked and must be polled.
    pub const fn is_demand(self) -> bool {
        !matches!(self, ScaleProtocol::ToledoContinuous)
    }

    /// The bytes of `command` in this protocol, or `None` where the protocol lacks it.
    pub const fn command_bytes(self, command: ScaleCommand) -> Option<&'static [u8]> {
        use ScaleCommand::*;
        match self {
            ScaleProtocol::MtSics => Some(match command {
                Weigh => b"S\r\n",
                WeighNow => b"SI\r\n",
                WeighRepeat => b"SIR\r\n",
                Zero => b"Z\r\n",
                Tare => b"T\r\n",
                Reset => b"@\r\n",
            }),
            // The 8213 knows W (weigh), H (W with extra framing, not used) and Z (zero).
            ScaleProtocol::Toledo8213 => match command {
                Weigh | WeighNow => Some(b"W"),
                Zero => Some(b"Z"),
                _ => None,
            },
            ScaleProtocol::Sma => match command {
                Weigh | WeighNow => Some(b"\nW\r"),
                WeighRepeat => Some(b"\nR\r"),
                Zero => Some(b"\nZ\r"),
                Tare => Some(b"\nT\r"),
                Reset => None,
            },
            // Continuous output needs no request. Terminals in Toledo continuous mode that
            // take remote commands list Z (zero) and T (tare) as input (Mettler Toledo IND445
            // and KERN FTC manuals; KERN ends them with CR LF, which single-character
            // terminals ignore). Unverified on hardware.
            ScaleProtocol::ToledoContinuous => match command {
                Zero => Some(b"Z\r\n"),
                Tare => Some(b"T\r\n"),
                _ => None,
            },
        }
    }

    /// What to send to get a reading, `None` for continuous output. Demand protocols are
    /// polled with the "weigh now" form so that motion shows up instead of blocking.
    pub const fn poll_command(self) -> Option<&'static [u8]> {
        if self.is_demand() {
            self.command_bytes(ScaleCommand::WeighNow)
        } else {
            None
        }
    }

    /// How often to send [`Self::poll_command`] while a weight is awaited.
    pub const fn poll_interval(self) -> Option<Duration> {
        if self.is_demand() {
            Some(DEMAND_POLL_INTERVAL)
        } else {
            None
        }
    }

    pub const fn zero_command(self) -> Option<&'static [u8]> {
        self.command_bytes(ScaleCommand::Zero)
    }

    pub const fn tare_command(self) -> Option<&'static [u8]> {
        self.command_bytes(ScaleCommand::Tare)
    }

    /// [`Self::command_bytes`], with [`ScaleError::Unsupported`] where the protocol lacks it.
    pub fn try_command_bytes(self, command: ScaleCommand) -> Result<&'static [u8], ScaleError> {
        self.command_bytes(command).ok_or(ScaleError::Unsupported {
            protocol: self,
            command,
        })
    }
}

impl fmt::Display for ScaleProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScaleProtocol {
    type Err = ScaleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        ScaleProtocol::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| ScaleError::UnknownProtocol(s.to_string()))
    }
}

/// Settings a scale codec needs beyond the protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleConfig {
    pub protocol: ScaleProtocol,
    /// Unit of the Toledo 8213 reply, which carries none. Ignored by the other protocols.
    pub demand_unit: WeightUnit,
    /// Whether Toledo continuous frames end with the checksum byte.
    pub toledo_checksum: bool,
}

impl ScaleConfig {
    pub fn new(protocol: ScaleProtocol) -> Self {
        ScaleConfig {
            protocol,
            demand_unit: WeightUnit::Pound,
            toledo_checksum: true,
        }
    }
}

/// Any of the four codecs behind one type, for a runtime that picks the protocol from its
/// configuration.
#[derive(Debug, Clone)]
pub enum ScaleCodec {
    MtSics(MtSicsCodec),
    ToledoContinuous(ToledoContinuousCodec),
    Toledo8213(Toledo8213Codec),
    Sma(SmaCodec),
}

impl ScaleCodec {
    pub fn new(config: &ScaleConfig) -> Self {
        match config.protocol {
            ScaleProtocol::MtSics => ScaleCodec::MtSics(MtSicsCodec::new()),
            ScaleProtocol::ToledoContinuous => {
                ScaleCodec::ToledoContinuous(ToledoContinuousCodec::new(config.toledo_checksum))
            }
            ScaleProtocol::Toledo8213 => {
                ScaleCodec::Toledo8213(Toledo8213Codec::new(config.demand_unit))
            }
            ScaleProtocol::Sma => ScaleCodec::Sma(SmaCodec::new()),
        }
    }

    pub fn protocol(&self) -> ScaleProtocol {
        match self {
            ScaleCodec::MtSics(_) => ScaleProtocol::MtSics,
            ScaleCodec::ToledoContinuous(_) => ScaleProtocol::ToledoContinuous,
            ScaleCodec::Toledo8213(_) => ScaleProtocol::Toledo8213,
            ScaleCodec::Sma(_) => ScaleProtocol::Sma,
        }
    }
}

impl Decoder for ScaleCodec {
    type Item = ScaleEvent;
    type Error = ScaleError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ScaleEvent>, ScaleError> {
        match self {
            ScaleCodec::MtSics(c) => c.decode(src),
            ScaleCodec::ToledoContinuous(c) => c.decode(src),
            ScaleCodec::Toledo8213(c) => c.decode(src),
            ScaleCodec::Sma(c) => c.decode(src),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ScaleEvent>, ScaleError> {
        match self {
            ScaleCodec::MtSics(c) => c.decode_eof(src),
            ScaleCodec::ToledoContinuous(c) => c.decode_eof(src),
            ScaleCodec::Toledo8213(c) => c.decode_eof(src),
            ScaleCodec::Sma(c) => c.decode_eof(src),
        }
    }
}

impl Encoder<ScaleCommand> for ScaleCodec {
    type Error = ScaleError;

    fn encode(&mut self, item: ScaleCommand, dst: &mut BytesMut) -> Result<(), ScaleError> {
        dst.extend_from_slice(self.protocol().try_command_bytes(item)?);
        Ok(())
    }
}

/// A decimal number as printed by a scale: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub mantissa: i64,
    pub scale: u32,
}

impl Decimal {
    /// Converts with one multiplication and one division so that values like `1.234 kg`
    /// come out as exactly 1234 g.
    pub fn to_grams_with(self, grams_per_unit: f64) -> f64 {
        self.mantissa as f64 * grams_per_unit / 10f64.powi(self.scale as i32)
    }

    pub fn to_grams(self, unit: WeightUnit) -> f64 {
        self.to_grams_with(unit.grams_per_unit())
    }
}

/// Parses `[spaces][+|-][spaces]digits[.digits][spaces]` with at least one digit, at most
/// one decimal point and at most 15 digits (so the mantissa is exact in an f64).
pub(crate) fn parse_decimal(field: &[u8]) -> Option<Decimal> {
    let mut rest = trim_spaces(field);
    let mut negative = false;
    if let Some((&sign, tail)) = rest.split_first() {
        if sign == b'-' || sign == b'+' {
            negative = sign == b'-';
            rest = trim_spaces(tail);
        }
    }
    let mut mantissa: i64 = 0;
    let mut digits = 0u32;
    let mut scale = 0u32;
    let mut seen_point = false;
    for &b in rest {
        match b {
            b'0'..=b'9' => {
                digits += 1;
                if digits > 15 {
                    return None;
                }
                mantissa = mantissa * 10 + i64::from(b - b'0');
                if seen_point {
                    scale += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    Some(Decimal {
        mantissa: if negative { -mantissa } else { mantissa },
        scale,
    })
}

pub(crate) fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while let [b' ', tail @ ..] = s {
        s = tail;
    }
    while let [head @ .., b' '] = s {
        s = head;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_round_trip_and_unknown_is_clear() {
        for p in ScaleProtocol::ALL {
            assert_eq!(p.name().parse::<ScaleProtocol>().unwrap(), p);
            assert_eq!(p.to_string(), p.name());
        }
        assert_eq!(
            " MT-SICS ".parse::<ScaleProtocol>().unwrap(),
            ScaleProtocol::MtSics
        );
        let err = "dibal".parse::<ScaleProtocol>().unwrap_err().to_string();
        assert!(err.contains("'dibal'"), "{err}");
        assert!(err.contains("toledo-8213"), "{err}");
    }

    #[test]
    fn poll_zero_tare_commands() {
        assert_eq!(ScaleProtocol::MtSics.poll_command(), Some(&b"SI\r\n"[..]));
        assert_eq!(ScaleProtocol::Toledo8213.poll_command(), Some(&b"W"[..]));
        assert_eq!(ScaleProtocol::Sma.poll_command(), Some(&b"\nW\r"[..]));
        assert_eq!(ScaleProtocol::ToledoContinuous.poll_command(), None);
        assert_eq!(ScaleProtocol::ToledoContinuous.poll_interval(), None);
        let hz = 1.0 / ScaleProtocol::Sma.poll_interval().unwrap().as_secs_f64();
        assert!(hz >= 10.0);
        assert_eq!(ScaleProtocol::MtSics.zero_command(), Some(&b"Z\r\n"[..]));
        assert_eq!(ScaleProtocol::MtSics.tare_command(), Some(&b"T\r\n"[..]));
        assert_eq!(ScaleProtocol::Toledo8213.zero_command(), Some(&b"Z"[..]));
        assert_eq!(ScaleProtocol::Toledo8213.tare_command(), None);
        assert_eq!(ScaleProtocol::Sma.tare_command(), Some(&b"\nT\r"[..]));
    }

    #[test]
    fn encoder_reports_unsupported_commands() {
        let mut codec = ScaleCodec::new(&ScaleConfig::new(ScaleProtocol::Toledo8213));
        let mut dst = BytesMut::new();
        codec.encode(ScaleCommand::WeighNow, &mut dst).unwrap();
        assert_eq!(&dst[..], b"W");
        let err = codec.encode(ScaleCommand::Tare, &mut dst).unwrap_err();
        assert!(err.to_string().contains("toledo-8213"), "{err}");
        assert_eq!(&dst[..], b"W");
    }

    #[test]
    fn units_convert_to_grams() {
        assert_eq!(WeightUnit::Pound.to_grams(1.0), 453.59237);
        assert_eq!(WeightUnit::Ounce.to_grams(16.0), 453.59237);
        assert_eq!(WeightUnit::Kilogram.to_grams(1.5), 1500.0);
        assert_eq!("LB".parse::<WeightUnit>().unwrap(), WeightUnit::Pound);
        assert!("ct".parse::<WeightUnit>().is_err());
    }

    #[test]
    fn decimals_parse_exactly() {
        let d = parse_decimal(b"   -12.340").unwrap();
        assert_eq!(
            d,
            Decimal {
                mantissa: -12340,
                scale: 3
            }
        );
        assert_eq!(
            parse_decimal(b"1.234")
                .unwrap()
                .to_grams(WeightUnit::Kilogram),
            1234.0
        );
        assert_eq!(parse_decimal(b"- 5").unwrap().mantissa, -5);
        for bad in [
            &b""[..],
            b"  ",
            b"-",
            b".",
            b"1.2.3",
            b"1 2",
            b"12a",
            b"1234567890123456",
        ] {
            assert_eq!(
                parse_decimal(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn only_stable_weights_count() {
        assert_eq!(Reading::stable(10.0, None).weight_grams(), Some(10.0));
        assert_eq!(Reading::motion(Some(10.0), None).weight_grams(), None);
        for kind in [
            ReadingKind::Overload,
            ReadingKind::Underload,
            ReadingKind::OutOfRange,
            ReadingKind::Busy,
            ReadingKind::Error("x".into()),
        ] {
            let r = Reading::state(kind);
            assert_eq!(r.weight_grams(), None);
            assert!(!r.stable);
        }
    }
}
