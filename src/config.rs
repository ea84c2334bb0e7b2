//! Station configuration (`station.toml`), per the operator contract.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use packbench_drivers::serial::{DataBits, FlowControl, Parity, SerialSettings, StopBits};
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

impl SecurityConfig {
    /// The approval timeout as the engine takes it: at least one second. 0 would make every
    /// approval lapse before its reason, and a negative number means nothing.
    pub fn approval_timeout(&self) -> Result<u32, String> {
        u32::try_from(self.approval_timeout_s)
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                format!(
                    "[security] approval_timeout_s must be a whole number of seconds from 1 to {} (got {})",
                    u32::MAX,
                    self.approval_timeout_s
                )
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
    pub suffix: Option<String>,
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
    pub protocol: String,
    pub unit: Option<String>,
    #[serde(flatten)]
    pub line: SerialLine,
    /// Whether Toledo continuous frames end with a checksum byte (default true).
    pub checksum: Option<bool>,
    /// Seconds a demand for a weight may go without a readable reading.
    pub no_reading_alarm_s: Option<f64>,
    /// Seconds a load may keep moving.
    pub unsettled_alarm_s: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct PrinterConfig {
    pub target: String,
    #[serde(default)]
    pub chinese: bool,
    /// Paper width in millimetres: 58 or 80 (default 80).
    #[serde(default = "d80")]
    pub paper_mm: u32,
    /// Caption language on the label: "zh" or "en" (default "zh" with `chinese`, else "en").
    pub language: Option<String>,
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
        ScaleConfig::deserialize(d).map_err(|e| section_error("scale", &e))
    }
}

impl<'de> Deserialize<'de> for PrinterConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PrinterConfig::deserialize(d).map_err(|e| section_error("printer", &e))
    }
}

/// `scale: unknown setting `x``: the section first, and settings rather than serde's fields.
/// The TOML error names a bad value's key on a line of its own: kept, on the same line.
fn section_error<E: de::Error>(section: &str, e: &E) -> E {
    let msg = e.to_string().lines().collect::<Vec<_>>().join(" ");
    let msg = match msg.strip_prefix("unknown field") {
        Some(rest) => format!("unknown setting{rest}"),
        None => msg,
    };
    E::custom(format!("{section}: {msg}"))
}

fn d80() -> u32 {
    80
}

fn d9600() -> u32 {
    9600
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        let mut cfg: Config = toml::from_str(&text)
            .map_err(|e| format!("config {} is not valid: {}", path.display(), e.message()))?;
        cfg.base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        if cfg.weight.tolerance_g < 0.0 || cfg.weight.tolerance_pct < 0.0 {
            return Err(format!(
                "config {}: weight tolerances must not be negative",
                path.display()
            ));
        }
        cfg.security
            .approval_timeout()
            .map_err(|e| format!("config {}: {e}", path.display()))?;
        for (kind, map) in &cfg.import {
            let k = crate::import::Kind::from_name(kind).ok_or_else(|| {
                format!(
                    "config {}: [import.{kind}]: {kind:?} is not a kind of import (catalog, orders, employees, packaging)",
                    path.display()
                )
            })?;
            crate::import::check_map(k, map)
                .map_err(|e| format!("config {}: [import.{kind}]: {e}", path.display()))?;
        }
        Ok(cfg)
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

    fn security(toml_text: &str) -> Result<u32, String> {
        let cfg: Config = toml::from_str(toml_text).unwrap();
        cfg.security.approval_timeout()
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
}
