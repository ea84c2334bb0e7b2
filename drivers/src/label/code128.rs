//! CODE128 for ESC/POS `GS k 73 n d1…dn` (function B). The escpos crate has no CODE128, so the
//! bytes are produced here.
//!
//! The data starts with a code set selector: `{B` (printable ASCII, `{` written `{{`) or `{C`
//! (each byte is a binary digit pair 0–99). Long digit runs use set C, which halves their
//! width; everything else uses set B.

use thiserror::Error;

use super::PaperWidth;

/// Most data bytes one `GS k 73` command can carry (`n` is one byte).
pub const MAX_DATA_BYTES: usize = 255;

/// Modules outside the data characters: start (11), check (11) and stop (13).
const OVERHEAD_MODULES: usize = 35;
/// Quiet zone on each side, in modules, so a scanner finds the edges.
const QUIET_MODULES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BarcodeError {
    #[error("barcode data is empty")]
    Empty,
    #[error("CODE128 set B cannot encode {0:?}: only printable ASCII")]
    Unsupported(char),
    #[error("barcode data is {0} bytes; GS k allows at most {MAX_DATA_BYTES}")]
    TooLong(usize),
}

/// Data for `GS k 73`, ready to send, and its size in symbol characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code128 {
    /// `{B…`/`{C…` bytes, the `d1…dn` of the command.
    pub data: Vec<u8>,
    /// Symbol characters after the start character (data, code-set switches), used to size
    /// the bars to the paper.
    pub symbols: usize,
}

impl Code128 {
    /// Encodes printable ASCII text; digit runs use set C where that is shorter.
    pub fn encode(text: &str) -> Result<Self, BarcodeError> {
        if text.is_empty() {
            return Err(BarcodeError::Empty);
        }
        if let Some(c) = text.chars().find(|c| !(' '..='~').contains(c)) {
            return Err(BarcodeError::Unsupported(c));
        }
        let mut enc = Encoder::default();
        enc.optimised(text.as_bytes());
        // A real-time command (DLE EOT / DLE ENQ / DLE DC4) is acted on by many printers even
        // inside barcode data; set C pairs "16" "04" would make exactly those bytes, so such
        // data goes out in set B, whose bytes are all >= 0x20.
        if has_realtime_sequence(&enc.out) {
            enc = Encoder::default();
            for &b in text.as_bytes() {
                enc.push_b(b);
            }
        }
        if enc.out.len() > MAX_DATA_BYTES {
            return Err(BarcodeError::TooLong(enc.out.len()));
        }
        Ok(Code128 {
            data: enc.out,
            symbols: enc.symbols,
        })
    }

    /// The full `GS k 73 n d1…dn` command.
    pub fn command(&self) -> Vec<u8> {
        let mut cmd = Vec::with_capacity(self.data.len() + 4);
        // Length is checked against MAX_DATA_BYTES in `encode`.
        cmd.extend_from_slice(&[0x1D, b'k', 73, self.data.len() as u8]);
        cmd.extend_from_slice(&self.data);
        cmd
    }

    /// Width in modules including quiet zones.
    pub fn modules(&self) -> usize {
        self.symbols * 11 + OVERHEAD_MODULES + 2 * QUIET_MODULES
    }

    /// The widest module (`GS w`, dots per module, up to 3) at which the bars fit the paper's
    /// printable width and the quiet zones fit beside them, the paper's unprinted margins
    /// counting as quiet zone; `None` when even one dot per module is too wide. 1 is a last
    /// resort: many printers accept only 2–6 and scanners struggle with 0.125 mm bars.
    pub fn module_width_for(&self, paper: PaperWidth) -> Option<u8> {
        let all = self.modules();
        let bars = all - 2 * QUIET_MODULES;
        (1..=3u8).rev().find(|&w| {
            let w = usize::from(w);
            bars * w <= paper.dots() && all * w <= paper.dots() + 2 * paper.margin_dots()
        })
    }
}

/// Human-readable text of `GS k 73` data (what the HRI line shows), for previews and tests.
pub fn decode_data(data: &[u8]) -> String {
    let mut out = String::new();
    let mut set_c = false;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'{' && i + 1 < data.len() {
            match data[i + 1] {
                b'{' => out.push('{'),
                b'C' => set_c = true,
                b'A' | b'B' => set_c = false,
                _ => {} // FNC1–4, shift: no printed text
            }
            i += 2;
            continue;
        }
        if set_c {
            out.push_str(&format!("{:02}", b.min(99)));
        } else {
            out.push(if (0x20..0x7F).contains(&b) {
                b as char
            } else {
                '?'
            });
        }
        i += 1;
    }
    out
}

/// Bar and space widths (in modules, bar first) of CODE128 symbol values 0–105; the stop
/// pattern is [`STOP`]. Every symbol is 11 modules wide.
const PATTERNS: [[u8; 6]; 106] = [
    [2, 1, 2, 2, 2, 2],
    [2, 2, 2, 1, 2, 2],
    [2, 2, 2, 2, 2, 1],
    [1, 2, 1, 2, 2, 3],
    [1, 2, 1, 3, 2, 2],
    [1, 3, 1, 2, 2, 2],
    [1, 2, 2, 2, 1, 3],
    [1, 2, 2, 3, 1, 2],
    [1, 3, 2, 2, 1, 2],
    [2, 2, 1, 2, 1, 3],
    [2, 2, 1, 3, 1, 2],
    [2, 3, 1, 2, 1, 2],
    [1, 1, 2, 2, 3, 2],
    [1, 2, 2, 1, 3, 2],
    [1, 2, 2, 2, 3, 1],
    [1, 1, 3, 2, 2, 2],
    [1, 2, 3, 1, 2, 2],
    [1, 2, 3, 2, 2, 1],
    [2, 2, 3, 2, 1, 1],
    [2, 2, 1, 1, 3, 2],
    [2, 2, 1, 2, 3, 1],
    [2, 1, 3, 2, 1, 2],
    [2, 2, 3, 1, 1, 2],
    [3, 1, 2, 1, 3, 1],
    [3, 1, 1, 2, 2, 2],
    [3, 2, 1, 1, 2, 2],
    [3, 2, 1, 2, 2, 1],
    [3, 1, 2, 2, 1, 2],
    [3, 2, 2, 1, 1, 2],
    [3, 2, 2, 2, 1, 1],
    [2, 1, 2, 1, 2, 3],
    [2, 1, 2, 3, 2, 1],
    [2, 3, 2, 1, 2, 1],
    [1, 1, 1, 3, 2, 3],
    [1, 3, 1, 1, 2, 3],
    [1, 3, 1, 3, 2, 1],
    [1, 1, 2, 3, 1, 3],
    [1, 3, 2, 1, 1, 3],
    [1, 3, 2, 3, 1, 1],
    [2, 1, 1, 3, 1, 3],
    [2, 3, 1, 1, 1, 3],
    [2, 3, 1, 3, 1, 1],
    [1, 1, 2, 1, 3, 3],
    [1, 1, 2, 3, 3, 1],
    [1, 3, 2, 1, 3, 1],
    [1, 1, 3, 1, 2, 3],
    [1, 1, 3, 3, 2, 1],
    [1, 3, 3, 1, 2, 1],
    [3, 1, 3, 1, 2, 1],
    [2, 1, 1, 3, 3, 1],
    [2, 3, 1, 1, 3, 1],
    [2, 1, 3, 1, 1, 3],
    [2, 1, 3, 3, 1, 1],
    [2, 1, 3, 1, 3, 1],
    [3, 1, 1, 1, 2, 3],
    [3, 1, 1, 3, 2, 1],
    [3, 3, 1, 1, 2, 1],
    [3, 1, 2, 1, 1, 3],
    [3, 1, 2, 3, 1, 1],
    [3, 3, 2, 1, 1, 1],
    [3, 1, 4, 1, 1, 1],
    [2, 2, 1, 4, 1, 1],
    [4, 3, 1, 1, 1, 1],
    [1, 1, 1, 2, 2, 4],
    [1, 1, 1, 4, 2, 2],
    [1, 2, 1, 1, 2, 4],
    [1, 2, 1, 4, 2, 1],
    [1, 4, 1, 1, 2, 2],
    [1, 4, 1, 2, 2, 1],
    [1, 1, 2, 2, 1, 4],
    [1, 1, 2, 4, 1, 2],
    [1, 2, 2, 1, 1, 4],
    [1, 2, 2, 4, 1, 1],
    [1, 4, 2, 1, 1, 2],
    [1, 4, 2, 2, 1, 1],
    [2, 4, 1, 2, 1, 1],
    [2, 2, 1, 1, 1, 4],
    [4, 1, 3, 1, 1, 1],
    [2, 4, 1, 1, 1, 2],
    [1, 3, 4, 1, 1, 1],
    [1, 1, 1, 2, 4, 2],
    [1, 2, 1, 1, 4, 2],
    [1, 2, 1, 2, 4, 1],
    [1, 1, 4, 2, 1, 2],
    [1, 2, 4, 1, 1, 2],
    [1, 2, 4, 2, 1, 1],
    [4, 1, 1, 2, 1, 2],
    [4, 2, 1, 1, 1, 2],
    [4, 2, 1, 2, 1, 1],
    [2, 1, 2, 1, 4, 1],
    [2, 1, 4, 1, 2, 1],
    [4, 1, 2, 1, 2, 1],
    [1, 1, 1, 1, 4, 3],
    [1, 1, 1, 3, 4, 1],
    [1, 3, 1, 1, 4, 1],
    [1, 1, 4, 1, 1, 3],
    [1, 1, 4, 3, 1, 1],
    [4, 1, 1, 1, 1, 3],
    [4, 1, 1, 3, 1, 1],
    [1, 1, 3, 1, 4, 1],
    [1, 1, 4, 1, 3, 1],
    [3, 1, 1, 1, 4, 1],
    [4, 1, 1, 1, 3, 1],
    [2, 1, 1, 4, 1, 2],
    [2, 1, 1, 2, 1, 4],
    [2, 1, 1, 2, 3, 2],
];
const STOP: [u8; 7] = [2, 3, 3, 1, 1, 1, 2];
const START_A: u8 = 103;
const START_B: u8 = 104;
const START_C: u8 = 105;

/// The bars a printer draws for `GS k 73` data, one `bool` per module (`true` is a bar):
/// start, data, check character and stop, no quiet zone. This is the printer's side of
/// [`Code128::command`], for the label preview; `None` for data a printer would reject (no
/// code set selector first, a byte the set cannot hold).
pub fn bars(data: &[u8]) -> Option<Vec<bool>> {
    let mut values = Vec::with_capacity(data.len() + 2);
    let mut set = None;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'{' {
            let next = *data.get(i + 1)?;
            i += 2;
            let switch = |to: u8, from: Option<u8>| match from {
                None => Some(match to {
                    b'A' => START_A,
                    b'B' => START_B,
                    _ => START_C,
                }),
                Some(f) if f == to => None,
                Some(_) => Some(match to {
                    b'A' => 101,
                    b'B' => 100,
                    _ => 99,
                }),
            };
            match next {
                b'A' | b'B' | b'C' => {
                    if let Some(v) = switch(next, set) {
                        values.push(v);
                    }
                    set = Some(next);
                }
                b'{' if set == Some(b'B') => values.push(b'{' - 32),
                b'1' if set.is_some() => values.push(102),
                _ => return None,
            }
            continue;
        }
        i += 1;
        values.push(match set? {
            b'A' if b < 0x20 => b + 64,
            b'A' if b < 0x60 => b - 32,
            b'B' if (0x20..0x80).contains(&b) => b - 32,
            b'C' if b < 100 => b,
            _ => return None,
        });
    }
    if values.len() < 2 {
        return None;
    }
    let check = values
        .iter()
        .enumerate()
        .map(|(i, &v)| i.max(1) * usize::from(v))
        .sum::<usize>()
        % 103;
    values.push(check as u8);
    let mut out = Vec::with_capacity(values.len() * 11 + 13);
    let widths = values
        .iter()
        .map(|&v| &PATTERNS[usize::from(v)][..])
        .chain(std::iter::once(&STOP[..]));
    for pattern in widths {
        for (k, &w) in pattern.iter().enumerate() {
            out.extend(std::iter::repeat_n(k % 2 == 0, usize::from(w)));
        }
    }
    Some(out)
}

fn has_realtime_sequence(data: &[u8]) -> bool {
    data.windows(2)
        .any(|w| w[0] == 0x10 && matches!(w[1], 0x04 | 0x05 | 0x14))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Set {
    B,
    C,
}

#[derive(Default)]
struct Encoder {
    out: Vec<u8>,
    set: Option<Set>,
    symbols: usize,
}

impl Encoder {
    fn switch(&mut self, set: Set) {
        if self.set == Some(set) {
            return;
        }
        self.out.push(b'{');
        self.out.push(if set == Set::B { b'B' } else { b'C' });
        // The first selector is the start character (in the fixed overhead); later ones are
        // code-set switch symbols.
        if self.set.is_some() {
            self.symbols += 1;
        }
        self.set = Some(set);
    }

    fn push_b(&mut self, b: u8) {
        self.switch(Set::B);
        if b == b'{' {
            self.out.extend_from_slice(b"{{");
        } else {
            self.out.push(b);
        }
        self.symbols += 1;
    }

    fn push_c(&mut self, pair: &[u8]) {
        self.switch(Set::C);
        self.out.push((pair[0] - b'0') * 10 + (pair[1] - b'0'));
        self.symbols += 1;
    }

    /// Set C for digit runs long enough to pay for the switches (the usual thresholds: 2 when
    /// the whole code is an even digit string, 4 at either end, 6 in the middle).
    fn optimised(&mut self, b: &[u8]) {
        let n = b.len();
        let mut i = 0;
        while i < n {
            if !b[i].is_ascii_digit() {
                self.push_b(b[i]);
                i += 1;
                continue;
            }
            let mut j = i;
            while j < n && b[j].is_ascii_digit() {
                j += 1;
            }
            let len = j - i;
            let (at_start, at_end) = (i == 0, j == n);
            let threshold = match (at_start, at_end) {
                (true, true) if len % 2 == 0 => 2,
                (true, _) | (_, true) => 4,
                _ => 6,
            };
            if len < threshold {
                for &d in &b[i..j] {
                    self.push_b(d);
                }
            } else if len % 2 == 0 {
                b[i..j].chunks(2).for_each(|p| self.push_c(p));
            } else if self.set.is_none() {
                // Odd run at the start: pairs first, the last digit joins the set B that
                // follows (or ends the code).
                b[i..j - 1].chunks(2).for_each(|p| self.push_c(p));
                self.push_b(b[j - 1]);
            } else {
                // Already in set B: print the odd digit there, then switch once.
                self.push_b(b[i]);
                b[i + 1..j].chunks(2).for_each(|p| self.push_c(p));
            }
            i = j;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_use_set_c() {
        let c = Code128::encode("12345678").unwrap();
        assert_eq!(c.data, vec![b'{', b'C', 12, 34, 56, 78]);
        assert_eq!(c.symbols, 4);
    }

    #[test]
    fn odd_digits_end_in_b() {
        let c = Code128::encode("12345").unwrap();
        assert_eq!(c.data, vec![b'{', b'C', 12, 34, b'{', b'B', b'5']);
        assert_eq!(c.symbols, 4);
    }

    #[test]
    fn mixed_and_brace() {
        let c = Code128::encode("SO{1").unwrap();
        assert_eq!(c.data, b"{BSO{{1".to_vec());
        let c = Code128::encode("SF1234567890").unwrap();
        assert_eq!(
            c.data,
            vec![b'{', b'B', b'S', b'F', b'{', b'C', 12, 34, 56, 78, 90]
        );
        let c = Code128::encode("SF123456789").unwrap();
        assert_eq!(
            c.data,
            vec![b'{', b'B', b'S', b'F', b'1', b'{', b'C', 23, 45, 67, 89]
        );
        assert_eq!(decode_data(&c.data), "SF123456789");
    }

    #[test]
    fn realtime_bytes_avoided() {
        let c = Code128::encode("16041234").unwrap();
        assert_eq!(c.data, b"{B16041234".to_vec());
    }

    #[test]
    fn every_pattern_is_eleven_modules_and_bars_frame_the_symbol() {
        for (v, p) in PATTERNS.iter().enumerate() {
            assert_eq!(p.iter().map(|&w| usize::from(w)).sum::<usize>(), 11, "{v}");
        }
        assert_eq!(STOP.iter().map(|&w| usize::from(w)).sum::<usize>(), 13);
        let c = Code128::encode("PB-UNDO").unwrap();
        let b = bars(&c.data).unwrap();
        // Start, 7 data, check: 9 symbols of 11, then the 13-module stop.
        assert_eq!(b.len(), 9 * 11 + 13);
        assert_eq!(b.len(), c.modules() - 2 * QUIET_MODULES);
        assert!(b[0] && b[b.len() - 1]);
        // Start B is 2 1 1 2 1 4.
        assert_eq!(
            &b[..11],
            &[true, true, false, true, false, false, true, false, false, false, false]
        );
        let digits = Code128::encode("SF123456789").unwrap();
        assert_eq!(
            bars(&digits.data).unwrap().len(),
            digits.modules() - 2 * QUIET_MODULES
        );
    }

    #[test]
    fn bars_refuse_what_a_printer_refuses() {
        assert_eq!(bars(b"PB-UNDO"), None); // no code set selector
        assert_eq!(bars(b"{C"), None);
        assert_eq!(bars(&[b'{', b'C', 120]), None);
        assert_eq!(bars(&[b'{', b'B', 0xC3]), None);
    }

    #[test]
    fn rejects() {
        assert_eq!(Code128::encode(""), Err(BarcodeError::Empty));
        assert_eq!(
            Code128::encode("订单"),
            Err(BarcodeError::Unsupported('订'))
        );
        assert!(matches!(
            Code128::encode(&"A".repeat(300)),
            Err(BarcodeError::TooLong(_))
        ));
    }
}
