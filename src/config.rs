//! Station configuration (`station.toml`), per the operator contract.
//!
//! Every setting that names one of a set (a scale protocol, a unit, a scanner suffix, a
//! printer target, a label language, a paper width) is parsed into its type when the file is
//! read, so the code after it never meets an unparsed string; a bad value is refused then,
//! with the section and the values it may take.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use packbench_drivers::label::{CaptionLanguage, PaperWidth};
use packbench_drivers::printer::PrinterTarget;
use packbench_drivers::scale::{ScaleProtocol, WeightUnit};
use packbench_drivers::scanner::Suffix;
use packbench_drivers::serial::{
    DataBits, FlowControl, Parity, SerialSettings, SettingsError, StopBits,
};
use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::domain::session::EngineConfig;
use crate::domain::weight::ToleranceRule;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_station")]
    pub station_id: String,
    #[serde(default = "default_db")]
    pub database: PathBuf,
    #[serde(default)]
    pub weight: WeightConfig,
    #[serde(default)]
    pub scanner: Vec<ScannerConfig>,
    pub scale: Option<ScaleConfig>,
    pub printer: Option<PrinterConfig>,
    #[serde(default)]
    pub sound: SoundConfig,
    #[serde(default)]
    pub security: SecurityConfig,
    /// One of many benches on a central PostgreSQL; `None`: the bench works alone.
    pub central: Option<CentralConfig>,
    /// `[import.<kind>]`: the shop's column names → the contract's, per kind (catalog,
    /// orders, employees, packaging); `""` leaves a column out.
    #[serde(default)]
    pub import: BTreeMap<String, HashMap<String, String>>,
    /// Folder of the config file: relative paths in it are relative to this.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[security]`: where a badge needs its PIN too, and how long an approval may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    #[serde(default = "yes")]
    pub supervisor_pin: bool,
    #[serde(default)]
    pub sign_in_pin: bool,
    /// Seconds an approval (badge, PIN) may wait for its reason. Read as a signed number so
    /// that 0 or a negative value is refused by name rather than by a type error.
    #[serde(default = "default_approval_timeout")]
    pub approval_timeout_s: i64,
}

fn default_approval_timeout() -> i64 {
    i64::from(crate::domain::session::Security::default().approval_timeout_s)
}

impl Default for SecurityConfig {
    fn default() -> Self {
        let d = crate::domain::session::Security::default();
        SecurityConfig {
            supervisor_pin: d.supervisor_pin,
            sign_in_pin: d.sign_in_pin,
            approval_timeout_s: i64::from(d.approval_timeout_s),
        }
    }
}

/// What is wrong with a config. Each says it in one sentence, naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("config {path} is not valid: {message}")]
    Syntax { path: String, message: String },
    #[error("config {path}: {problem}")]
    In {
        path: String,
        problem: Box<ConfigError>,
    },
    #[error("weight tolerances must not be negative")]
    NegativeTolerance,
    #[error("[security] approval_timeout_s must be a whole number of seconds from 1 to {max} (got {got})", max = u32::MAX)]
    ApprovalTimeout { got: i64 },
    #[error(
        "[import.{kind}]: {kind:?} is not a kind of import (catalog, orders, employees, packaging)"
    )]
    ImportKind { kind: String },
    #[error("[import.{kind}]: {problem}")]
    ImportMap { kind: String, problem: String },
    #[error("scanner {0} has no port")]
    ScannerWithoutPort(usize),
    #[error("the scale has no port")]
    ScaleWithoutPort,
    #[error("{device} {port}: {error}")]
    Serial {
        device: &'static str,
        port: String,
        error: SettingsError,
    },
}

impl SecurityConfig {
    /// The approval timeout as the engine takes it: at least one second. 0 would make every
    /// approval lapse before its reason, and a negative number means nothing.
    pub fn approval_timeout(&self) -> Result<u32, ConfigError> {
        u32::try_from(self.approval_timeout_s)
            .ok()
            .filter(|s| *s > 0)
            .ok_or(ConfigError::ApprovalTimeout {
                got: self.approval_timeout_s,
            })
    }
}

fn default_station() -> String {
    "BENCH-01".into()
}

fn default_db() -> PathBuf {
    PathBuf::from("packbench.db")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightConfig {
    #[serde(default = "d15")]
    pub tolerance_g: f64,
    #[serde(default = "d3")]
    pub tolerance_pct: f64,
    #[serde(default = "d5")]
    pub min_weight_g: f64,
    #[serde(default)]
    pub default_packaging: String,
}

fn d15() -> f64 {
    15.0
}
fn d3() -> f64 {
    3.0
}
fn d5() -> f64 {
    5.0
}

impl Default for WeightConfig {
    fn default() -> Self {
        WeightConfig {
            tolerance_g: 15.0,
            tolerance_pct: 3.0,
            min_weight_g: 5.0,
            default_packaging: String::new(),
        }
    }
}

/// A misspelt setting is an error, not a silently ignored line: every device section denies
/// unknown keys, and its errors start with its name.
#[derive(Debug, Clone, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct ScannerConfig {
    pub port: String,
    #[serde(default = "d9600")]
    pub baud: u32,
    #[serde(flatten)]
    pub line: SerialLine,
    /// `cr`, `lf`, `crlf`, `tab`, `any` (the default) or `none`.
    #[serde(default, deserialize_with = "parsed_opt")]
    pub suffix: Option<ScanSuffix>,
    /// Identical scans within this many milliseconds count once. Off by default: two
    /// identical units are two scans.
    pub debounce_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct ScaleConfig {
    pub port: String,
    #[serde(default = "d9600")]
    pub baud: u32,
    #[serde(deserialize_with = "parsed")]
    pub protocol: ScaleProtocol,
    /// Required by toledo-8213, whose replies carry none.
    #[serde(default, deserialize_with = "parsed_unit")]
    pub unit: Option<WeightUnit>,
    #[serde(flatten)]
    pub line: SerialLine,
    /// Whether Toledo continuous frames end with a checksum byte (default true).
    pub checksum: Option<bool>,
    /// `no_reading_alarm_s`: how long a demand for a weight may go without a readable reading.
    #[serde(
        default,
        rename = "no_reading_alarm_s",
        deserialize_with = "no_reading_alarm"
    )]
    pub no_reading_alarm: Option<Duration>,
    /// `unsettled_alarm_s`: how long a load may keep moving.
    #[serde(
        default,
        rename = "unsettled_alarm_s",
        deserialize_with = "unsettled_alarm"
    )]
    pub unsettled_alarm: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct PrinterConfig {
    #[serde(deserialize_with = "parsed")]
    pub target: PrinterTarget,
    #[serde(default)]
    pub chinese: bool,
    /// `paper_mm`: 58 or 80 (default 80).
    #[serde(default = "d80", rename = "paper_mm", deserialize_with = "paper_width")]
    pub paper: PaperWidth,
    /// Caption language on the label: "zh" or "en" (default "zh" with `chinese`, else "en").
    #[serde(default, deserialize_with = "parsed_opt")]
    pub language: Option<Language>,
}

/// `suffix` of a scanner: which terminators end a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanSuffix {
    Any,
    None,
    One(Suffix),
}

/// A printer or scanner value the config does not know, naming the values it may take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("scanner suffix: {0}")]
    Suffix(#[from] packbench_drivers::scanner::UnknownSuffix),
    #[error("printer language must be zh or en, not {0:?}")]
    Language(String),
}

impl FromStr for ScanSuffix {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        match s {
            "any" => Ok(ScanSuffix::Any),
            "none" => Ok(ScanSuffix::None),
            one => Ok(ScanSuffix::One(one.parse()?)),
        }
    }
}

impl ScanSuffix {
    pub fn suffixes(&self) -> Vec<Suffix> {
        match self {
            ScanSuffix::Any => Suffix::ALL.to_vec(),
            ScanSuffix::None => Vec::new(),
            ScanSuffix::One(s) => vec![*s],
        }
    }
}

/// `language` of the printer: the captions' language on the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Zh,
    En,
}

impl FromStr for Language {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        match s {
            "zh" | "zh-CN" => Ok(Language::Zh),
            "en" => Ok(Language::En),
            other => Err(ValueError::Language(other.to_string())),
        }
    }
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }
}

/// How this bench's printer is set up: what the label is laid out for. Here, below both the
/// station and the sheets, since both print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSetup {
    pub paper: PaperWidth,
    pub chinese: bool,
    pub language: CaptionLanguage,
}

impl LabelSetup {
    /// The label set-up of the configured printer (defaults when there is none).
    pub fn from_config(cfg: &Config) -> LabelSetup {
        let Some(p) = &cfg.printer else {
            return LabelSetup::default();
        };
        LabelSetup {
            paper: p.paper,
            chinese: p.chinese,
            language: match p.language() {
                Language::Zh => CaptionLanguage::SimplifiedChinese,
                Language::En => CaptionLanguage::English,
            },
        }
    }
}

impl Default for LabelSetup {
    fn default() -> Self {
        LabelSetup {
            paper: PaperWidth::Mm80,
            chinese: true,
            language: CaptionLanguage::SimplifiedChinese,
        }
    }
}

impl PrinterConfig {
    /// The captions' language: as set, else Chinese with `chinese` and English without.
    pub fn language(&self) -> Language {
        self.language.unwrap_or(if self.chinese {
            Language::Zh
        } else {
            Language::En
        })
    }

    /// The paper width in millimetres, as the setting says it.
    pub fn paper_mm(&self) -> u32 {
        match self.paper {
            PaperWidth::Mm58 => 58,
            PaperWidth::Mm80 => 80,
        }
    }
}

/// A setting parsed by its type; the type's error names the values it may take.
fn parsed<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    String::deserialize(d)?.parse().map_err(de::Error::custom)
}

fn parsed_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    parsed(d).map(Some)
}

fn parsed_unit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WeightUnit>, D::Error> {
    String::deserialize(d)?
        .parse()
        .map(Some)
        .map_err(|e| de::Error::custom(format!("scale unit: {e}")))
}

fn paper_width<'de, D: Deserializer<'de>>(d: D) -> Result<PaperWidth, D::Error> {
    match u32::deserialize(d)? {
        58 => Ok(PaperWidth::Mm58),
        80 => Ok(PaperWidth::Mm80),
        other => Err(de::Error::custom(format!(
            "printer paper_mm must be 58 or 80, not {other}"
        ))),
    }
}

/// An alarm time in seconds, more than 0 and at most an hour.
fn alarm<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Option<Duration>, D::Error> {
    let secs = f64::deserialize(d)?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(de::Error::custom(format!(
            "scale {key} must be a number of seconds (0 < s <= 3600)"
        )));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

fn no_reading_alarm<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    alarm(d, "no_reading_alarm_s")
}

fn unsettled_alarm<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    alarm(d, "unsettled_alarm_s")
}

/// The serial framing of a device section (8N1 without flow control unless set).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SerialLine {
    pub data_bits: DataBits,
    pub parity: Parity,
    pub stop_bits: StopBits,
    pub flow_control: FlowControl,
}

impl ScannerConfig {
    /// A scanner on standard input (`port = "stdin"` or `"-"`).
    pub fn is_stdin(&self) -> bool {
        self.port == "stdin" || self.port == "-"
    }

    /// The serial settings, checked (port named, baud in range).
    pub fn serial(&self) -> Result<SerialSettings, ConfigError> {
        serial("scanner", &self.port, self.baud, &self.line)
    }

    /// Which terminators end a scan (any, unless set).
    pub fn suffixes(&self) -> Vec<Suffix> {
        self.suffix
            .as_ref()
            .map_or_else(|| Suffix::ALL.to_vec(), ScanSuffix::suffixes)
    }
}

impl ScaleConfig {
    /// The serial settings, checked (port named, baud in range).
    pub fn serial(&self) -> Result<SerialSettings, ConfigError> {
        serial("scale", &self.port, self.baud, &self.line)
    }
}

fn serial(
    device: &'static str,
    port: &str,
    baud: u32,
    line: &SerialLine,
) -> Result<SerialSettings, ConfigError> {
    let s = line.settings(port, baud);
    s.validate().map_err(|error| ConfigError::Serial {
        device,
        port: port.to_string(),
        error,
    })?;
    Ok(s)
}

impl SerialLine {
    pub fn settings(&self, port: &str, baud: u32) -> SerialSettings {
        SerialSettings {
            path: port.into(),
            baud,
            data_bits: self.data_bits,
            parity: self.parity,
            stop_bits: self.stop_bits,
            flow_control: self.flow_control,
        }
    }
}

// The derived `deserialize` (serde's `remote = "Self"`), with the section named in errors.
impl<'de> Deserialize<'de> for ScannerConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ScannerConfig::deserialize(d).map_err(|e| section_error("scanner", &e))
    }
}

impl<'de> Deserialize<'de> for ScaleConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let c = ScaleConfig::deserialize(d).map_err(|e| section_error("scale", &e))?;
        if c.protocol == ScaleProtocol::Toledo8213 && c.unit.is_none() {
            return Err(de::Error::custom(
                "scale protocol toledo-8213 sends no unit: set unit = \"kg\" or \"lb\"",
            ));
        }
        Ok(c)
    }
}

impl<'de> Deserialize<'de> for PrinterConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PrinterConfig::deserialize(d).map_err(|e| section_error("printer", &e))
    }
}

/// `scale: unknown setting `x``: the section first, and settings rather than serde's fields.
/// The TOML error names a bad value's key on a line of its own: kept, on the same line. A
/// value's own error that names the section already ("scale unit: ...") is not named twice.
fn section_error<E: de::Error>(section: &str, e: &E) -> E {
    let msg = e.to_string().lines().collect::<Vec<_>>().join(" ");
    let msg = match msg.strip_prefix("unknown field") {
        Some(rest) => format!("unknown setting{rest}"),
        None => msg,
    };
    if msg.starts_with(section) {
        E::custom(msg)
    } else {
        E::custom(format!("{section}: {msg}"))
    }
}

fn d80() -> PaperWidth {
    PaperWidth::Mm80
}

fn d9600() -> u32 {
    9600
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = || path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: shown(),
            error,
        })?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: shown(),
            message: e.message().to_string(),
        })?;
        cfg.base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        cfg.check().map_err(|problem| ConfigError::In {
            path: shown(),
            problem: Box::new(problem),
        })?;
        Ok(cfg)
    }

    /// What a value alone cannot say: tolerances, the approval time, the import maps.
    fn check(&self) -> Result<(), ConfigError> {
        if self.weight.tolerance_g < 0.0 || self.weight.tolerance_pct < 0.0 {
            return Err(ConfigError::NegativeTolerance);
        }
        self.security.approval_timeout()?;
        for (kind, map) in &self.import {
            let k = crate::import::Kind::from_name(kind)
                .ok_or_else(|| ConfigError::ImportKind { kind: kind.clone() })?;
            crate::import::check_map(k, map).map_err(|problem| ConfigError::ImportMap {
                kind: kind.clone(),
                problem: problem.to_string(),
            })?;
        }
        Ok(())
    }

    /// Every device section as a station opens it: ports named, serial settings in range.
    /// Checked when a station is built, before any device is touched, so a typo is one clear
    /// error instead of a half-started station.
    pub fn check_devices(&self) -> Result<(), ConfigError> {
        for (i, s) in self.scanner.iter().enumerate() {
            if s.port.trim().is_empty() {
                return Err(ConfigError::ScannerWithoutPort(i + 1));
            }
            if !s.is_stdin() {
                s.serial()?;
            }
        }
        if let Some(scale) = &self.scale {
            if scale.port.trim().is_empty() {
                return Err(ConfigError::ScaleWithoutPort);
            }
            scale.serial()?;
        }
        Ok(())
    }

    /// The label set-up of the configured printer (defaults when there is none).
    pub fn label_setup(&self) -> LabelSetup {
        LabelSetup::from_config(self)
    }

    /// The database path, relative paths taken from the config file's folder.
    pub fn database_path(&self) -> PathBuf {
        if self.database.is_absolute() {
            self.database.clone()
        } else {
            self.base_dir.join(&self.database)
        }
    }

    /// The `[import.<kind>]` column map (empty when there is none).
    pub fn import_map(&self, kind: crate::import::Kind) -> HashMap<String, String> {
        self.import.get(kind.name()).cloned().unwrap_or_default()
    }

    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            station_id: self.station_id.clone(),
            rule: ToleranceRule {
                tolerance_g: self.weight.tolerance_g,
                tolerance_pct: self.weight.tolerance_pct,
            },
            min_weight_g: self.weight.min_weight_g,
            default_packaging: None,
            security: crate::domain::session::Security {
                supervisor_pin: self.security.supervisor_pin,
                sign_in_pin: self.security.sign_in_pin,
                // Checked by `load`; a config built in code falls back to the default.
                approval_timeout_s: self.security.approval_timeout().unwrap_or_else(|_| {
                    crate::domain::session::Security::default().approval_timeout_s
                }),
                pins_at_centre: self.central.is_some(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoundConfig {
    /// A cue for every refusal: wrong, extra or unknown item, weight mismatch, failed label,
    /// a device lost, a scan that could not be recorded.
    #[serde(default = "yes")]
    pub alerts: bool,
    /// A short chime when an order is packed.
    #[serde(default)]
    pub packed: bool,
    /// The player and its arguments; the sound file's path is added as the last argument.
    /// Unset: the first of paplay, pw-play, aplay found on PATH, if the machine has sound.
    pub command: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

impl Default for SoundConfig {
    fn default() -> Self {
        SoundConfig {
            alerts: true,
            packed: false,
            command: None,
        }
    }
}

/// `[central]`: the warehouse's central database.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralConfig {
    /// A libpq URL (`postgres://bench01@db.lan/packbench?sslmode=verify-full`) or a
    /// key=value string.
    pub url: String,
    /// The password, read from this file; else PGPASSWORD or ~/.pgpass.
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub offline: Offline,
    /// How long an order scan waits for the central claim before `offline` applies.
    #[serde(default = "d2000")]
    pub claim_timeout_ms: u64,
}

/// What a bench may do while the central database is unreachable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Offline {
    /// Finish the orders it holds; refuse to open others.
    #[default]
    Finish,
    /// Also open orders that were unclaimed when it last heard from the centre.
    Open,
}

fn d2000() -> u64 {
    2000
}

impl Config {
    /// The central password file, relative paths taken from the config file's folder.
    pub fn central_password_file(&self) -> Option<PathBuf> {
        let c = self.central.as_ref()?;
        let p = c.password_file.as_ref()?;
        Some(if p.is_absolute() {
            p.clone()
        } else {
            self.base_dir.join(p)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timeout, or the error's sentence.
    fn security(toml_text: &str) -> Result<u32, String> {
        let cfg: Config = toml::from_str(toml_text).unwrap();
        cfg.security.approval_timeout().map_err(|e| e.to_string())
    }

    #[test]
    fn approval_timeout_defaults_to_120_and_must_be_positive() {
        assert_eq!(security(""), Ok(120));
        let cfg: Config = toml::from_str("").unwrap();
        assert_eq!(cfg.engine_config().security.approval_timeout_s, 120);
        assert_eq!(security("[security]\napproval_timeout_s = 30\n"), Ok(30));
        let cfg: Config = toml::from_str("[security]\napproval_timeout_s = 30\n").unwrap();
        assert_eq!(cfg.engine_config().security.approval_timeout_s, 30);
        for bad in ["0", "-1", "4294967296"] {
            let e = security(&format!("[security]\napproval_timeout_s = {bad}\n")).unwrap_err();
            assert!(e.contains("approval_timeout_s") && e.contains(bad), "{e}");
        }
    }

    fn error_of(toml_text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("station.toml");
        std::fs::write(&path, toml_text).unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        e.replace(&path.display().to_string(), "station.toml")
    }

    #[test]
    fn device_settings_are_typed_when_read() {
        let cfg: Config = toml::from_str(
            "[[scanner]]\nport = \"/dev/ttyACM0\"\nsuffix = \"none\"\n\
             [scale]\nport = \"/dev/ttyUSB0\"\nprotocol = \"toledo-8213\"\nunit = \"kg\"\n\
             unsettled_alarm_s = 2.5\n\
             [printer]\ntarget = \"tcp://10.0.0.9\"\npaper_mm = 58\nlanguage = \"zh-CN\"\n",
        )
        .unwrap();
        assert_eq!(cfg.scanner[0].suffixes(), Vec::new());
        let scale = cfg.scale.as_ref().unwrap();
        assert_eq!(scale.protocol, ScaleProtocol::Toledo8213);
        assert_eq!(scale.unit, Some(WeightUnit::Kilogram));
        assert_eq!(scale.unsettled_alarm, Some(Duration::from_millis(2500)));
        assert_eq!(scale.no_reading_alarm, None);
        let printer = cfg.printer.as_ref().unwrap();
        assert_eq!(printer.target.to_string(), "tcp://10.0.0.9:9100");
        assert_eq!(printer.paper_mm(), 58);
        assert_eq!(
            cfg.label_setup(),
            LabelSetup {
                paper: PaperWidth::Mm58,
                chinese: false,
                language: CaptionLanguage::SimplifiedChinese,
            }
        );
    }

    #[test]
    fn a_bad_device_value_is_refused_with_its_section_and_choices() {
        for (toml_text, want) in [
            (
                "[scale]\nport = \"/dev/ttyUSB0\"\nprotocol = \"fancy\"\n",
                "config station.toml is not valid: scale: unknown scale protocol",
            ),
            (
                "[scale]\nport = \"/dev/ttyUSB0\"\nprotocol = \"sma\"\nunit = \"stone\"\n",
                "config station.toml is not valid: scale unit: ",
            ),
            (
                "[scale]\nport = \"/dev/ttyUSB0\"\nprotocol = \"toledo-8213\"\n",
                "config station.toml is not valid: scale protocol toledo-8213 sends no unit",
            ),
            (
                "[scale]\nport = \"/dev/ttyUSB0\"\nprotocol = \"sma\"\nno_reading_alarm_s = 0\n",
                "config station.toml is not valid: scale no_reading_alarm_s must be a number of seconds",
            ),
            (
                "[[scanner]]\nport = \"/dev/ttyACM0\"\nsuffix = \"semicolon\"\n",
                "config station.toml is not valid: scanner suffix: unknown scanner suffix 'semicolon'",
            ),
            (
                "[printer]\ntarget = \"lpt://1\"\n",
                "config station.toml is not valid: printer target scheme \"lpt\" is not supported",
            ),
            (
                "[printer]\ntarget = \"file:///tmp/l.bin\"\npaper_mm = 60\n",
                "config station.toml is not valid: printer paper_mm must be 58 or 80, not 60",
            ),
            (
                "[printer]\ntarget = \"file:///tmp/l.bin\"\nlanguage = \"fr\"\n",
                "config station.toml is not valid: printer language must be zh or en, not \"fr\"",
            ),
            (
                "[weight]\ntolerance_g = -1\n",
                "config station.toml: weight tolerances must not be negative",
            ),
        ] {
            let e = error_of(toml_text);
            assert!(e.starts_with(want), "{e}\nwanted: {want}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn device_sections_are_checked_before_a_station_opens_them() {
        let cfg: Config =
            toml::from_str("[[scanner]]\nport = \"stdin\"\n[[scanner]]\nport = \" \"\n").unwrap();
        assert_eq!(
            cfg.check_devices().unwrap_err().to_string(),
            "scanner 2 has no port"
        );
        let cfg: Config =
            toml::from_str("[scale]\nport = \"/dev/ttyUSB0\"\nprotocol = \"sma\"\nbaud = 0\n")
                .unwrap();
        assert!(cfg
            .check_devices()
            .unwrap_err()
            .to_string()
            .starts_with("scale /dev/ttyUSB0: "));
    }
}
