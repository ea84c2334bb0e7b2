//! Reading ESC/POS bytes back: a tokenizer that knows the lengths of the commands labels use
//! (so tests can check that text runs hold no command bytes), and a plain-text preview.

use encoding_rs::GB18030;

use super::code128;

/// One piece of an ESC/POS byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// Printable bytes: ASCII 0x20–0x7E and, in Chinese mode, GB18030 (>= 0x80 leads).
    Text(&'a [u8]),
    /// `LF`.
    LineFeed,
    /// `ESC @`.
    Init,
    /// `FS &`.
    ChineseOn,
    /// `FS .`.
    ChineseOff,
    /// `GS k m …`: barcode system `m` and its data (without the length byte or NUL).
    Barcode { system: u8, data: &'a [u8] },
    /// `GS ( k … 49 80 48 d…`: QR code data stored for printing.
    QrData(&'a [u8]),
    /// `GS ( k 3 0 49 81 48`: print the stored QR code.
    QrPrint,
    /// `GS V …`.
    Cut,
    /// Any other command of known length, all its bytes.
    Command(&'a [u8]),
    /// A control byte that starts nothing known (or a command cut short at the end).
    Unknown(u8),
}

/// Splits ESC/POS bytes into tokens. Never fails: what it does not know is `Unknown`.
pub fn tokenize(bytes: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_text_byte(b) {
            let start = i;
            while i < bytes.len() && is_text_byte(bytes[i]) {
                i += 1;
            }
            out.push(Token::Text(&bytes[start..i]));
            continue;
        }
        match command_at(&bytes[i..]) {
            Some((tok, len)) => {
                out.push(tok);
                i += len;
            }
            None => {
                out.push(Token::Unknown(b));
                i += 1;
            }
        }
    }
    out
}

fn is_text_byte(b: u8) -> bool {
    b >= 0x20 && b != 0x7F
}

/// The token at the start of `b` (a control byte) and its length, if it is a known command
/// and complete.
fn command_at(b: &[u8]) -> Option<(Token<'_>, usize)> {
    let at = |i: usize| b.get(i).copied();
    let fixed = |len: usize| (b.len() >= len).then(|| (Token::Command(&b[..len]), len));
    match b[0] {
        0x0A => Some((Token::LineFeed, 1)),
        0x09 | 0x0D => fixed(1),
        0x1B => match at(1)? {
            b'@' => Some((Token::Init, 2)),
            b'2' => fixed(2),
            b'a' | b'E' | b'd' | b'!' | b'-' | b't' | b'M' | b'J' | b'3' | b'R' | b'G' | b'{'
            | b'V' | b'r' | b'e' | b'U' => fixed(3),
            b'$' => fixed(4),
            b'p' => fixed(5),
            _ => None,
        },
        0x1C => match at(1)? {
            b'&' => Some((Token::ChineseOn, 2)),
            b'.' => Some((Token::ChineseOff, 2)),
            b'!' | b'-' | b'C' | b'W' => fixed(3),
            _ => None,
        },
        0x1D => match at(1)? {
            b'!' | b'h' | b'w' | b'H' | b'f' | b'B' | b'a' | b'b' | b'r' | b'I' => fixed(3),
            b'L' | b'W' | b'$' | b'\\' | b'P' => fixed(4),
            b'V' => {
                let len = match at(2)? {
                    0 | 1 | 48 | 49 => 3,
                    65 | 66 | 97 | 98 | 103 | 104 => 4,
                    _ => return None,
                };
                (b.len() >= len).then_some((Token::Cut, len))
            }
            b'k' => {
                let system = at(2)?;
                if system <= 6 {
                    // Function A: data ends with NUL.
                    let end = b[3..].iter().position(|&x| x == 0)? + 3;
                    Some((
                        Token::Barcode {
                            system,
                            data: &b[3..end],
                        },
                        end + 1,
                    ))
                } else {
                    let n = usize::from(at(3)?);
                    let end = 4 + n;
                    (b.len() >= end).then(|| {
                        (
                            Token::Barcode {
                                system,
                                data: &b[4..end],
                            },
                            end,
                        )
                    })
                }
            }
            b'(' => {
                let len = 5 + usize::from(at(3)?) + 256 * usize::from(at(4)?);
                if b.len() < len {
                    return None;
                }
                let body = &b[5..len];
                let tok = match (at(2)?, body) {
                    (b'k', [49, 80, 48, data @ ..]) => Token::QrData(data),
                    (b'k', [49, 81, 48]) => Token::QrPrint,
                    _ => Token::Command(&b[..len]),
                };
                Some((tok, len))
            }
            _ => None,
        },
        0x10 => match at(1)? {
            0x04 | 0x05 => fixed(3),
            _ => None,
        },
        _ => None,
    }
}

/// A plain-text preview of a label: commands dropped, GB18030 text decoded to UTF-8, barcodes
/// and QR codes shown as bracketed placeholders with their text, the cut as a dashed line.
pub fn label_to_text(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut chinese = false;
    for tok in tokenize(bytes) {
        match tok {
            Token::Text(t) if chinese => {
                let (s, _) = GB18030.decode_without_bom_handling(t);
                out.push_str(&s);
            }
            Token::Text(t) => out.extend(t.iter().map(|&b| {
                if b.is_ascii() {
                    b as char
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            })),
            Token::LineFeed => out.push('\n'),
            Token::ChineseOn => chinese = true,
            Token::ChineseOff => chinese = false,
            Token::Init => chinese = false,
            Token::Barcode { system, data } => {
                let text = if system == 73 {
                    code128::decode_data(data)
                } else {
                    String::from_utf8_lossy(data).into_owned()
                };
                start_line(&mut out);
                out.push_str(&format!("[barcode {text}]\n"));
            }
            Token::QrData(d) => {
                start_line(&mut out);
                out.push_str(&format!("[QR {}]\n", String::from_utf8_lossy(d)));
            }
            Token::Cut => {
                start_line(&mut out);
                out.push_str("--- cut ---\n");
            }
            Token::QrPrint | Token::Command(_) | Token::Unknown(_) => {}
        }
    }
    out
}

fn start_line(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}
