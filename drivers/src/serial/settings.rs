//! Serial line settings as the station config names them, with one clear error per bad value.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Baud rate of most scanners and scales as shipped.
pub const DEFAULT_BAUD: u32 = 9600;
/// Lowest and highest baud rates accepted: the POSIX table starts at 50, USB adapters top out
/// at a few Mbaud.
pub const MIN_BAUD: u32 = 50;
pub const MAX_BAUD: u32 = 4_000_000;

/// A bad serial setting. The messages name the accepted values, so a config typo is fixed
/// from the error line alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("serial port path is empty")]
    EmptyPath,
    #[error("baud rate must be a number from {MIN_BAUD} to {MAX_BAUD} (got {0:?})")]
    Baud(String),
    #[error("data bits must be 5, 6, 7 or 8 (got {0:?})")]
    DataBits(String),
    #[error("parity must be none, odd or even (got {0:?})")]
    Parity(String),
    #[error("stop bits must be 1 or 2 (got {0:?})")]
    StopBits(String),
    #[error("flow control must be none, software or hardware (got {0:?})")]
    FlowControl(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataBits {
    Five,
    Six,
    Seven,
    #[default]
    Eight,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Parity {
    #[default]
    None,
    Odd,
    Even,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StopBits {
    #[default]
    One,
    Two,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FlowControl {
    #[default]
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS.
    Hardware,
}

fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

impl FromStr for DataBits {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "5" => Ok(DataBits::Five),
            "6" => Ok(DataBits::Six),
            "7" => Ok(DataBits::Seven),
            "8" => Ok(DataBits::Eight),
            _ => Err(SettingsError::DataBits(s.to_owned())),
        }
    }
}

impl FromStr for Parity {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The one-letter forms are how framings are written ("7E1").
        match norm(s).as_str() {
            "none" | "n" => Ok(Parity::None),
            "odd" | "o" => Ok(Parity::Odd),
            "even" | "e" => Ok(Parity::Even),
            _ => Err(SettingsError::Parity(s.to_owned())),
        }
    }
}

impl FromStr for StopBits {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "1" => Ok(StopBits::One),
            "2" => Ok(StopBits::Two),
            _ => Err(SettingsError::StopBits(s.to_owned())),
        }
    }
}

impl FromStr for FlowControl {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Device manuals say XON/XOFF and RTS/CTS more often than software/hardware.
        match norm(s).replace(['/', '-', '_'], "").as_str() {
            "none" | "off" => Ok(FlowControl::None),
            "software" | "xonxoff" => Ok(FlowControl::Software),
            "hardware" | "rtscts" => Ok(FlowControl::Hardware),
            _ => Err(SettingsError::FlowControl(s.to_owned())),
        }
    }
}

impl DataBits {
    pub const fn bits(self) -> u8 {
        match self {
            DataBits::Five => 5,
            DataBits::Six => 6,
            DataBits::Seven => 7,
            DataBits::Eight => 8,
        }
    }
}

impl Parity {
    pub const fn name(self) -> &'static str {
        match self {
            Parity::None => "none",
            Parity::Odd => "odd",
            Parity::Even => "even",
        }
    }
}

impl StopBits {
    pub const fn bits(self) -> u8 {
        match self {
            StopBits::One => 1,
            StopBits::Two => 2,
        }
    }
}

impl FlowControl {
    pub const fn name(self) -> &'static str {
        match self {
            FlowControl::None => "none",
            FlowControl::Software => "software",
            FlowControl::Hardware => "hardware",
        }
    }
}

impl fmt::Display for DataBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.bits())
    }
}

impl fmt::Display for Parity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for StopBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.bits())
    }
}

impl fmt::Display for FlowControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a baud rate and checks its range.
pub fn parse_baud(s: &str) -> Result<u32, SettingsError> {
    match s.trim().parse::<u32>() {
        Ok(b) if (MIN_BAUD..=MAX_BAUD).contains(&b) => Ok(b),
        _ => Err(SettingsError::Baud(s.to_owned())),
    }
}

/// How one serial device is reached.
///
/// Deserializes from a config table such as
/// `{ port = "/dev/ttyUSB0", baud = 9600, data_bits = 7, parity = "even", stop_bits = 1,
/// flow_control = "none" }`: only `port` (alias `path`) is required, the rest default to
/// 9600 8N1 without flow control. Unknown keys are left to the enclosing table, so the app
/// can `#[serde(flatten)]` this into its scanner or scale section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SerialSettings {
    /// Device path; `/dev/serial/by-id/...` symlinks are followed on every open, so a
    /// replugged adapter that came back as another ttyUSBn is found again.
    #[serde(rename = "port", alias = "path", deserialize_with = "de_path")]
    pub path: PathBuf,
    #[serde(default = "default_baud", deserialize_with = "de_baud")]
    pub baud: u32,
    #[serde(default)]
    pub data_bits: DataBits,
    #[serde(default)]
    pub parity: Parity,
    #[serde(default)]
    pub stop_bits: StopBits,
    #[serde(default)]
    pub flow_control: FlowControl,
}

impl SerialSettings {
    /// 8N1 without flow control at `baud`.
    pub fn new(path: impl Into<PathBuf>, baud: u32) -> Self {
        SerialSettings {
            path: path.into(),
            baud,
            data_bits: DataBits::Eight,
            parity: Parity::None,
            stop_bits: StopBits::One,
            flow_control: FlowControl::None,
        }
    }

    /// Checks what the type cannot: a path and a baud rate in range (the fields are public,
    /// so a hand-built value may hold anything).
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.path.as_os_str().is_empty() {
            return Err(SettingsError::EmptyPath);
        }
        if !(MIN_BAUD..=MAX_BAUD).contains(&self.baud) {
            return Err(SettingsError::Baud(self.baud.to_string()));
        }
        Ok(())
    }

    /// The framing in the usual short form, e.g. `8N1`.
    pub fn framing(&self) -> String {
        let p = match self.parity {
            Parity::None => 'N',
            Parity::Odd => 'O',
            Parity::Even => 'E',
        };
        format!("{}{}{}", self.data_bits, p, self.stop_bits)
    }
}

impl fmt::Display for SerialSettings {
    /// `/dev/ttyUSB0 9600 8N1`, plus the flow control when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.path.display(),
            self.baud,
            self.framing()
        )?;
        if self.flow_control != FlowControl::None {
            write!(f, " flow {}", self.flow_control)?;
        }
        Ok(())
    }
}

fn default_baud() -> u32 {
    DEFAULT_BAUD
}

fn de_path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    let path = PathBuf::deserialize(d)?;
    if path.as_os_str().is_empty() {
        return Err(de::Error::custom(SettingsError::EmptyPath));
    }
    Ok(path)
}

fn de_baud<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    d.deserialize_any(StrOrInt::<BaudRate>(PhantomData))
        .map(|b| b.0)
}

struct BaudRate(u32);

impl FromStr for BaudRate {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_baud(s).map(BaudRate)
    }
}

/// Accepts a string or an integer and parses it with `FromStr`, so `data_bits = 7` and
/// `data_bits = "7"` both work and every mistake gets the type's own message.
struct StrOrInt<T>(PhantomData<T>);

impl<T> Visitor<'_> for StrOrInt<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an integer")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
}

macro_rules! deserialize_from_str {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(StrOrInt::<$t>(PhantomData))
            }
        }
    )*};
}

deserialize_from_str!(DataBits, Parity, StopBits, FlowControl);

impl From<DataBits> for tokio_serial::DataBits {
    fn from(v: DataBits) -> Self {
        match v {
            DataBits::Five => tokio_serial::DataBits::Five,
            DataBits::Six => tokio_serial::DataBits::Six,
            DataBits::Seven => tokio_serial::DataBits::Seven,
            DataBits::Eight => tokio_serial::DataBits::Eight,
        }
    }
}

impl From<Parity> for tokio_serial::Parity {
    fn from(v: Parity) -> Self {
        match v {
            Parity::None => tokio_serial::Parity::None,
            Parity::Odd => tokio_serial::Parity::Odd,
            Parity::Even => tokio_serial::Parity::Even,
        }
    }
}

impl From<StopBits> for tokio_serial::StopBits {
    fn from(v: StopBits) -> Self {
        match v {
            StopBits::One => tokio_serial::StopBits::One,
            StopBits::Two => tokio_serial::StopBits::Two,
        }
    }
}

impl From<FlowControl> for tokio_serial::FlowControl {
    fn from(v: FlowControl) -> Self {
        match v {
            FlowControl::None => tokio_serial::FlowControl::None,
            FlowControl::Software => tokio_serial::FlowControl::Software,
            FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_field_and_names_the_choices() {
        assert_eq!("7".parse::<DataBits>(), Ok(DataBits::Seven));
        assert_eq!(" Even ".parse::<Parity>(), Ok(Parity::Even));
        assert_eq!("o".parse::<Parity>(), Ok(Parity::Odd));
        assert_eq!("2".parse::<StopBits>(), Ok(StopBits::Two));
        assert_eq!("XON/XOFF".parse::<FlowControl>(), Ok(FlowControl::Software));
        assert_eq!("rts-cts".parse::<FlowControl>(), Ok(FlowControl::Hardware));
        assert_eq!(
            "x".parse::<Parity>().unwrap_err().to_string(),
            "parity must be none, odd or even (got \"x\")"
        );
        assert_eq!(
            "9".parse::<DataBits>().unwrap_err().to_string(),
            "data bits must be 5, 6, 7 or 8 (got \"9\")"
        );
        assert_eq!(
            "1.5".parse::<StopBits>().unwrap_err().to_string(),
            "stop bits must be 1 or 2 (got \"1.5\")"
        );
        assert!("rts"
            .parse::<FlowControl>()
            .unwrap_err()
            .to_string()
            .contains("none, software or hardware"));
        assert_eq!(parse_baud("19200"), Ok(19200));
        assert!(parse_baud("0").is_err());
        assert!(parse_baud("fast").is_err());
    }

    #[test]
    fn framing_and_display() {
        let mut s = SerialSettings::new("/dev/ttyUSB0", 9600);
        assert_eq!(s.to_string(), "/dev/ttyUSB0 9600 8N1");
        s.data_bits = DataBits::Seven;
        s.parity = Parity::Even;
        s.flow_control = FlowControl::Hardware;
        assert_eq!(s.to_string(), "/dev/ttyUSB0 9600 7E1 flow hardware");
        assert_eq!(s.validate(), Ok(()));
        s.baud = 0;
        assert_eq!(s.validate(), Err(SettingsError::Baud("0".into())));
        assert_eq!(
            SerialSettings::new("", 9600).validate(),
            Err(SettingsError::EmptyPath)
        );
    }
}
