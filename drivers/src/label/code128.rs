//! CODE128 for ESC/POS `GS k 73 n d1…dn` (function B). The escpos crate has no CODE128, so the
//! bytes are produced here.
//!
//! The data starts with a code set selector: `{B` (printable ASCII, `{` written `{{`) or `{C`
//! (each byte is a binary digit pair 0–99). Long digit runs use set C, which halves their
//! width; everything else uses set B.

use thiserror::Error;

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

    /// The widest module (`GS w`, dots per module, up to 3) that fits `dots`, or `None` when
    /// even one dot per module is too wide. 1 is a last resort: many printers accept only 2–6
    /// and scanners struggle with 0.125 mm bars.
    pub fn module_width_for(&self, dots: usize) -> Option<u8> {
        let m = self.modules();
        (1..=3u8).rev().find(|&w| m * usize::from(w) <= dots)
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
