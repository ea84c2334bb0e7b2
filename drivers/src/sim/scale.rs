//! Scale simulator: the bytes each protocol sends for a weight and state, and a simulated
//! scale that answers host commands over any byte stream.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Decoder, FramedRead};

use crate::scale::toledo_continuous::{self as tc, STATUS_ALWAYS};
use crate::scale::{toledo8213, ScaleCommand, ScaleProtocol, WeightUnit};

/// What the simulated scale is doing besides weighing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimCondition {
    /// Settled: the weight is stable.
    Normal,
    /// Something is moving on the platform.
    Motion,
    Overload,
    Underload,
    /// A fault the protocol can express (MT-SICS `EL`, SMA zero error, 8213 bare status,
    /// Toledo continuous out of range).
    Error,
}

/// The state of a simulated scale.
#[derive(Debug, Clone, PartialEq)]
pub struct SimScaleState {
    /// What lies on the platform, in grams.
    pub load_grams: f64,
    /// Zero offset set by a zero command.
    pub zero_grams: f64,
    /// Tare set by a tare command; readings are net while it is set.
    pub tare_grams: Option<f64>,
    pub condition: SimCondition,
    /// Unit the scale displays and sends in.
    pub unit: WeightUnit,
    /// Digits after the decimal point on the display.
    pub decimals: u32,
}

impl SimScaleState {
    pub fn new(load_grams: f64, unit: WeightUnit, decimals: u32) -> Self {
        SimScaleState {
            load_grams,
            zero_grams: 0.0,
            tare_grams: None,
            condition: SimCondition::Normal,
            unit,
            decimals: decimals.min(5),
        }
    }

    pub fn with_condition(mut self, condition: SimCondition) -> Self {
        self.condition = condition;
        self
    }

    pub fn is_net(&self) -> bool {
        self.tare_grams.is_some()
    }

    /// The weight on the display in grams: net when a tare is set, else gross.
    pub fn displayed_grams(&self) -> f64 {
        self.load_grams - self.zero_grams - self.tare_grams.unwrap_or(0.0)
    }

    /// The displayed weight in the display unit, rounded to the display's decimals.
    pub fn displayed_value(&self) -> f64 {
        let p = 10f64.powi(self.decimals as i32);
        let v = (self.unit.from_grams(self.displayed_grams()) * p).round() / p;
        // No "-0.000" on the display (the 8213 could not even send it).
        if v == 0.0 {
            0.0
        } else {
            v
        }
    }

    /// What a correct decoder reports for a stable reading of this state, in grams.
    pub fn expected_grams(&self) -> f64 {
        self.unit.to_grams(self.displayed_value())
    }

    /// Zeroes the scale if it is settled and in gross mode.
    pub fn zero(&mut self) -> bool {
        if self.condition != SimCondition::Normal || self.is_net() {
            return false;
        }
        self.zero_grams = self.load_grams;
        true
    }

    /// Takes the current gross weight as tare if the scale is settled.
    pub fn tare(&mut self) -> bool {
        if self.condition != SimCondition::Normal {
            return false;
        }
        self.tare_grams = Some(self.load_grams - self.zero_grams);
        true
    }

    fn value_text(&self, width: usize) -> String {
        format!(
            "{:>width$.prec$}",
            self.displayed_value(),
            prec = self.decimals as usize
        )
    }
}

/// Protocol details the simulated scale can vary.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Toledo continuous: send the checksum byte.
    pub toledo_checksum: bool,
    /// SMA: pad the unit field with this byte (`b'_'` or `b' '`).
    pub sma_unit_pad: u8,
    /// Period of continuous output (Toledo continuous, MT-SICS `SIR`, SMA `R`).
    pub repeat_interval: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            toledo_checksum: true,
            sma_unit_pad: b'_',
            repeat_interval: Duration::from_millis(50),
        }
    }
}

/// MT-SICS reply to `S` (`immediate = false`: busy while moving, as a real balance answers
/// when it cannot settle) or to `SI` (`immediate = true`: `S D` while moving).
pub fn mtsics_weight(state: &SimScaleState, immediate: bool) -> Vec<u8> {
    let line = match state.condition {
        SimCondition::Overload => "S +".to_string(),
        SimCondition::Underload => "S -".to_string(),
        SimCondition::Error => "EL".to_string(),
        SimCondition::Motion if !immediate => "S I".to_string(),
        SimCondition::Motion => format!("S D {} {}", state.value_text(10), state.unit),
        SimCondition::Normal => format!("S S {} {}", state.value_text(10), state.unit),
    };
    format!("{line}\r\n").into_bytes()
}

/// One Toledo continuous frame (17 bytes, 18 with checksum).
pub fn toledo_continuous_frame(state: &SimScaleState, checksum: bool) -> Vec<u8> {
    let scale = 10f64.powi(state.decimals as i32);
    let digits = |grams: f64| (state.unit.from_grams(grams).abs() * scale).round() as i64;
    let value = state.displayed_value();
    let mut weight = digits(state.displayed_grams());
    let mut swb = STATUS_ALWAYS;
    if state.is_net() {
        swb |= tc::SWB_NET;
    }
    if value < 0.0 {
        swb |= tc::SWB_NEGATIVE;
    }
    match state.condition {
        SimCondition::Normal => {}
        SimCondition::Motion => swb |= tc::SWB_MOTION,
        SimCondition::Overload | SimCondition::Underload | SimCondition::Error => {
            swb |= tc::SWB_OUT_OF_RANGE
        }
    }
    if weight > 999_999 {
        swb |= tc::SWB_OUT_OF_RANGE;
        weight = 999_999;
    }
    let swc_unit = match state.unit {
        WeightUnit::Kilogram => {
            swb |= tc::SWB_KG;
            0
        }
        WeightUnit::Pound => 0,
        WeightUnit::Gram => 1,
        WeightUnit::Ounce => 3,
    };
    // Decimal code = decimals + 2; count-by ×1 is bits 4..3 = 01.
    let swa = STATUS_ALWAYS | 0x08 | (state.decimals.min(5) as u8 + 2);
    let tare = digits(state.tare_grams.unwrap_or(0.0)).min(999_999);
    let mut frame = vec![tc::STX, swa, swb, STATUS_ALWAYS | swc_unit];
    frame.extend_from_slice(format!("{weight:06}{tare:06}").as_bytes());
    frame.push(tc::CR);
    if checksum {
        let chk = tc::checksum(&frame);
        frame.push(chk);
    }
    frame
}

/// Status byte of a Toledo 8213 status record: bits 5 and 6 always set.
fn status_byte(flags: u8) -> u8 {
    0x60 | flags
}

/// The Toledo 8213 reply to `W`, in the state's unit (which the codec must be configured
/// with: the reply does not carry it).
pub fn toledo8213_reply(state: &SimScaleState) -> Vec<u8> {
    let status = match state.condition {
        SimCondition::Overload => Some(toledo8213::STATUS_OVER_CAPACITY),
        SimCondition::Underload => Some(toledo8213::STATUS_UNDER_ZERO),
        SimCondition::Motion => Some(toledo8213::STATUS_MOTION),
        SimCondition::Error => Some(0),
        // The 8213 sends a status record, not a weight, below zero.
        SimCondition::Normal if state.displayed_value() < 0.0 => {
            Some(toledo8213::STATUS_UNDER_ZERO)
        }
        SimCondition::Normal => None,
    };
    let mut out = vec![toledo8213::STX];
    match status {
        Some(flags) => out.extend_from_slice(&[b'?', status_byte(flags)]),
        None => {
            let prec = state.decimals as usize;
            // `ww.www`: two integer digits at least, zero-padded.
            let width = if prec == 0 { 2 } else { prec + 3 };
            let text = format!("{:0width$.prec$}", state.displayed_value());
            if text.len() > toledo8213::MAX_PAYLOAD {
                out.extend_from_slice(&[b'?', status_byte(toledo8213::STATUS_OVER_CAPACITY)]);
            } else {
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out.push(toledo8213::CR);
    out
}

/// The 8213 status record sent after `Z`: centre of zero when zeroing worked.
pub fn toledo8213_zero_reply(zeroed: bool) -> Vec<u8> {
    let flags = if zeroed {
        toledo8213::STATUS_CENTER_OF_ZERO
    } else {
        toledo8213::STATUS_OUTSIDE_ZERO_CAPTURE
    };
    vec![toledo8213::STX, b'?', status_byte(flags), toledo8213::CR]
}

/// The SMA standard reply (20 bytes) for the state.
pub fn sma_reply(state: &SimScaleState, unit_pad: u8) -> Vec<u8> {
    let mut weight = state.value_text(10);
    let mut status = match state.condition {
        SimCondition::Overload => b'O',
        SimCondition::Underload => b'U',
        SimCondition::Error => b'E',
        _ if state.displayed_value() == 0.0 => b'Z',
        _ => b' ',
    };
    if weight.len() > 10 {
        status = b'O';
        weight = format!("{:>10}", "");
    }
    if status == b'E' {
        weight = "-".repeat(10);
    }
    let gross_net = if state.is_net() { b'N' } else { b'G' };
    let motion = if state.condition == SimCondition::Motion {
        b'M'
    } else {
        b' '
    };
    let mut out = vec![b'\n', status, b'1', gross_net, motion, b' '];
    out.extend_from_slice(weight.as_bytes());
    let mut unit = state.unit.symbol().as_bytes().to_vec();
    unit.resize(3, unit_pad);
    out.extend_from_slice(&unit);
    out.push(b'\r');
    out
}

/// What the scale sends for one reading in `protocol` (the reply to a poll, or one frame of
/// continuous output).
pub fn encode_reading(
    protocol: ScaleProtocol,
    state: &SimScaleState,
    opts: &SimOptions,
) -> Vec<u8> {
    match protocol {
        ScaleProtocol::MtSics => mtsics_weight(state, true),
        ScaleProtocol::ToledoContinuous => toledo_continuous_frame(state, opts.toledo_checksum),
        ScaleProtocol::Toledo8213 => toledo8213_reply(state),
        ScaleProtocol::Sma => sma_reply(state, opts.sma_unit_pad),
    }
}

/// A host request as the simulated scale understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRequest {
    Command(ScaleCommand),
    /// Bytes the scale does not know.
    Unknown(Vec<u8>),
}

/// Device-side decoder of host commands, per protocol.
#[derive(Debug, Clone)]
pub struct HostCommandDecoder {
    protocol: ScaleProtocol,
}

impl HostCommandDecoder {
    pub fn new(protocol: ScaleProtocol) -> Self {
        HostCommandDecoder { protocol }
    }
}

const MAX_COMMAND_LINE: usize = 64;

impl Decoder for HostCommandDecoder {
    type Item = HostRequest;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<HostRequest>> {
        use ScaleCommand::*;
        loop {
            match self.protocol {
                ScaleProtocol::MtSics => {
                    let Some(end) = src.iter().position(|&b| b == b'\r' || b == b'\n') else {
                        if src.len() > MAX_COMMAND_LINE {
                            src.clear();
                        }
                        return Ok(None);
                    };
                    let line = src.split_to(end);
                    src.advance(1);
                    let command = match line.as_ref() {
                        b"" => continue,
                        b"S" => Weigh,
                        b"SI" => WeighNow,
                        b"SIR" => WeighRepeat,
                        b"Z" => Zero,
                        b"T" => Tare,
                        b"@" => Reset,
                        other => return Ok(Some(HostRequest::Unknown(other.to_vec()))),
                    };
                    return Ok(Some(HostRequest::Command(command)));
                }
                ScaleProtocol::Sma => {
                    let Some(start) = src.iter().position(|&b| b == b'\n') else {
                        src.clear();
                        return Ok(None);
                    };
                    src.advance(start);
                    if src.len() < 3 {
                        return Ok(None);
                    }
                    if src[2] != b'\r' {
                        src.advance(1);
                        continue;
                    }
                    let c = src[1];
                    src.advance(3);
                    let command = match c {
                        b'W' => WeighNow,
                        b'R' => WeighRepeat,
                        b'Z' => Zero,
                        b'T' => Tare,
                        other => return Ok(Some(HostRequest::Unknown(vec![other]))),
                    };
                    return Ok(Some(HostRequest::Command(command)));
                }
                ScaleProtocol::Toledo8213 | ScaleProtocol::ToledoContinuous => {
                    if src.is_empty() {
                        return Ok(None);
                    }
                    let c = src[0] & 0x7f;
                    src.advance(1);
                    let command = match (self.protocol, c) {
                        (_, b'\r' | b'\n') => continue,
                        (ScaleProtocol::Toledo8213, b'W') => WeighNow,
                        (_, b'Z') => Zero,
                        (ScaleProtocol::ToledoContinuous, b'T') => Tare,
                        (_, other) => return Ok(Some(HostRequest::Unknown(vec![other]))),
                    };
                    return Ok(Some(HostRequest::Command(command)));
                }
            }
        }
    }

    /// A command cut off by the host hanging up is dropped, not an error.
    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<HostRequest>> {
        let request = self.decode(src)?;
        if request.is_none() {
            src.clear();
        }
        Ok(request)
    }
}

/// A shared handle on a simulated scale's state: put things on it, make it move.
#[derive(Debug, Clone)]
pub struct SimScaleHandle(Arc<Mutex<SimScaleState>>);

impl SimScaleHandle {
    fn lock(&self) -> MutexGuard<'_, SimScaleState> {
        // A panic elsewhere while holding the lock leaves plain data; keep serving it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self) -> SimScaleState {
        self.lock().clone()
    }

    pub fn set(&self, state: SimScaleState) {
        *self.lock() = state;
    }

    pub fn update<T>(&self, f: impl FnOnce(&mut SimScaleState) -> T) -> T {
        f(&mut self.lock())
    }

    pub fn set_load(&self, grams: f64, condition: SimCondition) {
        self.update(|s| {
            s.load_grams = grams;
            s.condition = condition;
        });
    }
}

/// A simulated scale speaking one protocol over any byte stream.
#[derive(Debug, Clone)]
pub struct SimScale {
    protocol: ScaleProtocol,
    options: SimOptions,
    state: SimScaleHandle,
}

impl SimScale {
    pub fn new(protocol: ScaleProtocol, state: SimScaleState) -> Self {
        SimScale {
            protocol,
            options: SimOptions::default(),
            state: SimScaleHandle(Arc::new(Mutex::new(state))),
        }
    }

    pub fn with_options(mut self, options: SimOptions) -> Self {
        self.options = options;
        self
    }

    pub fn handle(&self) -> SimScaleHandle {
        self.state.clone()
    }

    pub fn protocol(&self) -> ScaleProtocol {
        self.protocol
    }

    /// Serves until the host closes the stream (then `Ok`) or a write fails.
    ///
    /// Demand protocols answer each command; Toledo continuous sends a frame every
    /// `repeat_interval` and applies `Z`/`T` silently; MT-SICS `SIR` and SMA `R` repeat
    /// until the next command.
    pub async fn serve<S>(&self, io: S) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (reader, mut writer) = tokio::io::split(io);
        let mut requests = FramedRead::new(reader, HostCommandDecoder::new(self.protocol));
        let continuous = self.protocol == ScaleProtocol::ToledoContinuous;
        let mut repeating = continuous;
        let mut ticker = tokio::time::interval(self.options.repeat_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick(), if repeating => {
                    let bytes = encode_reading(self.protocol, &self.state.get(), &self.options);
                    writer.write_all(&bytes).await?;
                    writer.flush().await?;
                }
                request = requests.next() => {
                    let Some(request) = request.transpose()? else {
                        return Ok(());
                    };
                    if !continuous {
                        repeating = request == HostRequest::Command(ScaleCommand::WeighRepeat);
                    }
                    let reply = self.reply(&request);
                    if !reply.is_empty() {
                        writer.write_all(&reply).await?;
                        writer.flush().await?;
                    }
                }
            }
        }
    }

    /// The reply to one request, applying zero and tare to the state.
    pub fn reply(&self, request: &HostRequest) -> Vec<u8> {
        use ScaleCommand::*;
        let command = match request {
            HostRequest::Command(c) => *c,
            HostRequest::Unknown(_) => {
                return match self.protocol {
                    ScaleProtocol::MtSics => b"ES\r\n".to_vec(),
                    ScaleProtocol::Sma => b"\n?\r".to_vec(),
                    // The Toledo protocols ignore what they do not know.
                    _ => Vec::new(),
                };
            }
        };
        let opts = &self.options;
        match (self.protocol, command) {
            (ScaleProtocol::MtSics, Weigh) => mtsics_weight(&self.state.get(), false),
            (ScaleProtocol::MtSics, WeighNow | WeighRepeat) => {
                mtsics_weight(&self.state.get(), true)
            }
            (ScaleProtocol::MtSics, Zero) => {
                if self.state.update(SimScaleState::zero) {
                    b"Z A\r\n".to_vec()
                } else {
                    b"Z I\r\n".to_vec()
                }
            }
            (ScaleProtocol::MtSics, Tare) => {
                if self.state.update(SimScaleState::tare) {
                    let s = self.state.get();
                    // `T S` carries the stored tare, shown like a weight.
                    let tare = SimScaleState {
                        load_grams: s.tare_grams.unwrap_or(0.0),
                        zero_grams: 0.0,
                        tare_grams: None,
                        ..s
                    };
                    format!("T S {} {}\r\n", tare.value_text(10), tare.unit).into_bytes()
                } else {
                    b"T I\r\n".to_vec()
                }
            }
            (ScaleProtocol::MtSics, Reset) => b"I4 A \"SIM0000001\"\r\n".to_vec(),
            (ScaleProtocol::Toledo8213, Zero) => {
                toledo8213_zero_reply(self.state.update(SimScaleState::zero))
            }
            (ScaleProtocol::Sma, Zero) => {
                let ok = self.state.update(SimScaleState::zero);
                let mut s = self.state.get();
                if !ok {
                    s.condition = SimCondition::Error;
                }
                sma_reply(&s, opts.sma_unit_pad)
            }
            (ScaleProtocol::Sma, Tare) => {
                if self.state.update(SimScaleState::tare) {
                    sma_reply(&self.state.get(), opts.sma_unit_pad)
                } else {
                    // Status `T`: tare error, weight field dashed.
                    let failed = self.state.get().with_condition(SimCondition::Error);
                    let mut reply = sma_reply(&failed, opts.sma_unit_pad);
                    reply[1] = b'T';
                    reply
                }
            }
            (ScaleProtocol::ToledoContinuous, Zero) => {
                self.state.update(SimScaleState::zero);
                Vec::new()
            }
            (ScaleProtocol::ToledoContinuous, Tare) => {
                self.state.update(SimScaleState::tare);
                Vec::new()
            }
            (ScaleProtocol::ToledoContinuous, _) => Vec::new(),
            (protocol, _) => encode_reading(protocol, &self.state.get(), opts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtsics_bytes() {
        let s = SimScaleState::new(100.0, WeightUnit::Gram, 2);
        assert_eq!(mtsics_weight(&s, false), b"S S     100.00 g\r\n");
        let moving = s.clone().with_condition(SimCondition::Motion);
        assert_eq!(mtsics_weight(&moving, true), b"S D     100.00 g\r\n");
        assert_eq!(mtsics_weight(&moving, false), b"S I\r\n");
        let over = s.with_condition(SimCondition::Overload);
        assert_eq!(mtsics_weight(&over, true), b"S +\r\n");
    }

    #[test]
    fn toledo_continuous_bytes() {
        let s = SimScaleState::new(1234.0, WeightUnit::Kilogram, 3);
        let f = toledo_continuous_frame(&s, true);
        assert_eq!(f.len(), 18);
        assert_eq!(&f[..17], b"\x02\x2d\x30\x20001234000000\r");
        assert_eq!(f.iter().fold(0u8, |a, b| a.wrapping_add(*b)) & 0x7f, 0);
    }

    #[test]
    fn toledo8213_bytes() {
        let s = SimScaleState::new(1.5 * 453.59237, WeightUnit::Pound, 3);
        assert_eq!(toledo8213_reply(&s), b"\x0201.500\r");
        let moving = s.with_condition(SimCondition::Motion);
        assert_eq!(toledo8213_reply(&moving), b"\x02?a\r");
    }

    #[test]
    fn sma_bytes() {
        let s = SimScaleState::new(5025.0, WeightUnit::Kilogram, 3);
        assert_eq!(sma_reply(&s, b'_'), b"\n 1G       5.025kg_\r");
        let g = SimScaleState::new(0.0, WeightUnit::Gram, 0);
        assert_eq!(sma_reply(&g, b' '), b"\nZ1G           0g  \r");
    }

    #[test]
    fn zero_and_tare_change_the_display() {
        let mut s = SimScaleState::new(500.0, WeightUnit::Gram, 0);
        assert!(s.zero());
        assert_eq!(s.displayed_grams(), 0.0);
        s.load_grams = 800.0;
        assert!(s.tare());
        assert!(s.is_net());
        assert_eq!(s.displayed_grams(), 0.0);
        s.load_grams = 1000.0;
        assert_eq!(s.displayed_grams(), 200.0);
        assert!(!s.zero(), "no zero in net mode");
    }
}
