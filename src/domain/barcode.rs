//! Barcode parsing: AIM symbology identifiers, GS1 element strings, GTIN normalisation.
//!
//! Every scan and every catalog barcode goes through [`parse`], so that a product printed as
//! UPC-A, EAN-13, GTIN-14 or inside a GS1 element string ends up under one lookup key.

/// GS1 data found in an element string.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Gs1 {
    /// GTIN-14 from AI 01 or 02, check digit validated.
    pub gtin: Option<String>,
    /// AI 10
    pub lot: Option<String>,
    /// AI 21
    pub serial: Option<String>,
    /// AI 17, as YYMMDD
    pub expiry: Option<String>,
    /// Every element in order, (AI, value).
    pub elements: Vec<(String, String)>,
}

/// One scanned code, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCode {
    /// The AIM symbology identifier that prefixed the code, e.g. "]C1".
    pub aim: Option<String>,
    /// The code without the AIM prefix (GS separators kept).
    pub text: String,
    /// Present when the code is a GS1 element string.
    pub gs1: Option<Gs1>,
    /// Catalog lookup key: a 14-digit GTIN for any valid UPC-A/EAN-8/EAN-13/GTIN-14 or GS1 GTIN,
    /// otherwise `text` unchanged.
    pub key: String,
    /// A numeric code of GTIN length whose check digit is wrong.
    pub check_digit_error: bool,
}

/// ASCII group separator: FNC1 as scanners transmit it, ends a variable-length GS1 field.
const GS: char = '\u{1d}';

/// AIM identifiers whose data is a GS1 element string (FNC1 in first position).
const GS1_AIMS: [&str; 5] = ["]C1", "]d2", "]Q3", "]e0", "]J1"];

/// Takes a scanned string apart. Never panics, whatever the input.
pub fn parse(input: &str) -> ParsedCode {
    // Scanners append CR, LF, CRLF or TAB; catalog cells may carry stray spaces.
    let trimmed = input.trim();
    let (aim, text) = split_aim(trimmed);
    let gs1 = detect_gs1(aim, text);

    let (key, check_digit_error) = match &gs1 {
        Some(g) => match &g.gtin {
            Some(gtin) => (gtin.clone(), false),
            None => (text.to_string(), has_bad_gs1_gtin(g)),
        },
        None => plain_key(aim, text),
    };

    ParsedCode {
        aim: aim.map(str::to_string),
        text: text.to_string(),
        gs1,
        key,
        check_digit_error,
    }
}

/// Lookup key for a barcode written in the catalog (same normalisation as `parse`).
pub fn catalog_key(code: &str) -> String {
    parse(code).key
}

/// The GS1 check digit for the given data digits (without check digit); None if not all digits.
///
/// An empty string also gives None: there is nothing to protect.
pub fn gtin_check_digit(data: &str) -> Option<u8> {
    if data.is_empty() || !data.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Weight 3 for the rightmost data digit, then alternating 1, 3, ...; reduce as we go so
    // arbitrarily long input cannot overflow.
    let sum = data.bytes().rev().enumerate().fold(0u32, |acc, (i, b)| {
        let weight = if i % 2 == 0 { 3 } else { 1 };
        (acc + u32::from(b - b'0') * weight) % 10
    });
    Some(((10 - sum) % 10) as u8)
}

/// True for an 8, 12, 13 or 14 digit string whose last digit is its correct check digit.
pub fn is_valid_gtin(code: &str) -> bool {
    matches!(code.len(), 8 | 12 | 13 | 14) && has_valid_check_digit(code)
}

/// True when `code` is all digits and its last digit is the check digit of the rest.
fn has_valid_check_digit(code: &str) -> bool {
    if code.len() < 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // All ASCII, so the last byte is a char boundary.
    let (data, check) = code.split_at(code.len() - 1);
    gtin_check_digit(data) == Some(check.as_bytes()[0] - b'0')
}

/// Whether a scanned code holds nothing but an AIM prefix and separators (GS, RS, EOT):
/// line noise a serial scanner can send, never a scan.
pub fn is_blank(code: &str) -> bool {
    split_aim(code)
        .1
        .chars()
        .all(|c| matches!(c, GS | '\u{1e}' | '\u{04}'))
}

/// Splits off an AIM symbology identifier: `]`, one letter, one alphanumeric modifier.
fn split_aim(s: &str) -> (Option<&str>, &str) {
    let b = s.as_bytes();
    if b.len() >= 3 && b[0] == b']' && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphanumeric() {
        // The three bytes are ASCII, so index 3 is a char boundary.
        (Some(&s[..3]), &s[3..])
    } else {
        (None, s)
    }
}

/// Decides whether `text` is a GS1 element string and, if so, takes it apart.
fn detect_gs1(aim: Option<&str>, text: &str) -> Option<Gs1> {
    // Human-readable form is unambiguous whatever symbology carried it.
    if text.starts_with('(') {
        return build_gs1(parse_bracketed(text));
    }
    if aim.is_some_and(|a| GS1_AIMS.contains(&a)) {
        return build_gs1(parse_unbracketed(text).0);
    }
    if aim.is_some() {
        // A non-GS1 symbology said what it is; its digits are not AIs.
        return None;
    }
    // No AIM: only accept a string that is very unlikely to be anything else, i.e. one that
    // opens with a valid GTIN under AI 01/02 and either ends there or goes on with more AIs.
    let body = text.trim_start_matches(GS);
    let opens_with_gtin = (body.starts_with("01") || body.starts_with("02"))
        && body.get(2..16).is_some_and(is_valid_gtin);
    if !opens_with_gtin {
        return None;
    }
    let (elements, consumed_all) = parse_unbracketed(body);
    // Exactly `01`+GTIN (16 chars, maybe with GS around) or at least one further known AI.
    if consumed_all || elements.len() >= 2 {
        build_gs1(elements)
    } else {
        None
    }
}

/// Fills the named fields from the element list; None when nothing was recognised.
fn build_gs1(elements: Vec<(String, String)>) -> Option<Gs1> {
    if elements.is_empty() {
        return None;
    }
    let first = |ai: &str| {
        elements
            .iter()
            .find(|(a, _)| a == ai)
            .map(|(_, v)| v.clone())
    };
    let gtin = elements
        .iter()
        .find(|(a, _)| a == "01" || a == "02")
        .map(|(_, v)| v.clone())
        .filter(|v| is_valid_gtin(v));
    Some(Gs1 {
        gtin,
        lot: first("10"),
        serial: first("21"),
        expiry: first("17"),
        elements,
    })
}

/// An AI 01/02 is present but its GTIN failed the check digit.
fn has_bad_gs1_gtin(g: &Gs1) -> bool {
    g.gtin.is_none() && g.elements.iter().any(|(a, _)| a == "01" || a == "02")
}

/// Key for a code that is not a GS1 element string.
fn plain_key(aim: Option<&str>, text: &str) -> (String, bool) {
    let all_digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !all_digits || !matches!(text.len(), 8 | 12 | 13 | 14) {
        return (text.to_string(), false);
    }
    if text.len() == 8 {
        // `]E0` with 8 digits can only be UPC-E (EAN-8 is `]E4`). Without an AIM, EAN-8 wins
        // and UPC-E is the fallback, so a valid UPC-E scan is not reported as misread.
        let upce = upce_to_upca(text).filter(|a| has_valid_check_digit(a));
        let as_gtin = match aim {
            Some("]E0") => upce,
            None if !is_valid_gtin(text) => upce,
            _ => None,
        };
        if let Some(upca) = as_gtin {
            return (pad14(&upca), false);
        }
    }
    if is_valid_gtin(text) {
        (pad14(text), false)
    } else {
        (text.to_string(), true)
    }
}

/// Left-pads a GTIN of up to 14 digits with zeros to GTIN-14.
fn pad14(gtin: &str) -> String {
    format!("{gtin:0>14}")
}

/// Expands an 8-digit UPC-E (number system, 6 digits, check) to its 12-digit UPC-A, keeping
/// the check digit as transmitted. None when it cannot be UPC-E (wrong length or system).
fn upce_to_upca(code: &str) -> Option<String> {
    let b = code.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) || !matches!(b[0], b'0' | b'1') {
        return None;
    }
    let (sys, d, check) = (&code[..1], &code[1..7], &code[7..]);
    // The last of the six digits says where the manufacturer/product zeros were removed.
    let middle = match d.as_bytes()[5] {
        b'0'..=b'2' => format!("{}{}0000{}", &d[..2], &d[5..], &d[2..5]),
        b'3' => format!("{}00000{}", &d[..3], &d[3..5]),
        b'4' => format!("{}00000{}", &d[..4], &d[4..5]),
        _ => format!("{}0000{}", &d[..5], &d[5..]),
    };
    Some(format!("{sys}{middle}{check}"))
}

/// How long an AI's data field is.
#[derive(Clone, Copy)]
enum Len {
    Fixed(usize),
    Var(usize),
}

/// What the data field may contain.
#[derive(Clone, Copy, PartialEq)]
enum Content {
    Digits,
    /// YYMMDD, a real calendar date; DD may be 00 ("end of month") per the GS1 spec.
    Date,
    /// 18 digits whose last is the GS1 check digit of the rest (SSCC, AI 00).
    CheckedDigits,
    Any,
}

#[derive(Clone, Copy)]
struct AiSpec {
    ai_len: usize,
    len: Len,
    content: Content,
}

const fn spec(ai_len: usize, len: Len, content: Content) -> Option<AiSpec> {
    Some(AiSpec {
        ai_len,
        len,
        content,
    })
}

/// Looks up the AI at the start of `s`. Only the AIs a packing bench meets are known; anything
/// else returns None, which ends parsing.
fn lookup_ai(s: &str) -> Option<AiSpec> {
    use Content::{Any, CheckedDigits, Date, Digits};
    use Len::{Fixed, Var};
    let b = s.as_bytes();
    let digit = |i: usize| b.get(i).filter(|c| c.is_ascii_digit()).map(|c| c - b'0');
    let (d0, d1) = (digit(0)?, digit(1)?);
    match (d0, d1) {
        (0, 0) => spec(2, Fixed(18), CheckedDigits),
        (0, 1) | (0, 2) => spec(2, Fixed(14), Digits),
        (1, 0) | (2, 1) | (2, 2) => spec(2, Var(20), Any),
        (1, 1) | (1, 2) | (1, 3) | (1, 5) | (1, 6) | (1, 7) => spec(2, Fixed(6), Date),
        (2, 0) => spec(2, Fixed(2), Digits),
        (3, 0) | (3, 7) => spec(2, Var(8), Digits),
        // Trade/logistic measures: 3-digit AI + decimal-point digit, always 6 digits.
        (3, 1..=6) => {
            digit(2)?;
            digit(3)?;
            spec(4, Fixed(6), Digits)
        }
        (2, 4) => match digit(2)? {
            0 | 1 => spec(3, Var(30), Any),
            _ => None,
        },
        (2, 5) => match digit(2)? {
            0 | 1 => spec(3, Var(30), Any),
            _ => None,
        },
        (4, 0) => match digit(2)? {
            0 | 1 | 3 => spec(3, Var(30), Any),
            2 => spec(3, Fixed(17), Digits),
            _ => None,
        },
        // Ship-to / bill-to GLNs.
        (4, 1) => match digit(2)? {
            0..=7 => spec(3, Fixed(13), Digits),
            _ => None,
        },
        (4, 2) => match digit(2)? {
            0 => spec(3, Var(20), Any),
            1 => spec(3, Var(12), Any),
            2 => spec(3, Fixed(3), Digits),
            _ => None,
        },
        (9, _) => spec(2, Var(90), Any),
        _ => None,
    }
}

/// True when `v` fits the AI's content rule.
fn content_ok(v: &str, content: Content) -> bool {
    let digits = v.bytes().all(|b| b.is_ascii_digit());
    match content {
        Content::Any => true,
        Content::Digits => digits,
        Content::CheckedDigits => has_valid_check_digit(v),
        Content::Date => {
            let b = v.as_bytes();
            if !digits || b.len() != 6 {
                return false;
            }
            let two = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
            let (yy, mm, dd) = (two(0), two(2), two(4));
            // GS1's century window puts YY within 2000-2049 or 1951-1999; within it a year
            // divisible by 4 is a leap year (1900 and 2100 fall outside).
            let days = match mm {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if yy % 4 == 0 => 29,
                2 => 28,
                _ => return false,
            };
            dd <= days
        }
    }
}

/// True when `v` has the length the AI demands (counted in chars; GS1 data is ASCII anyway).
fn len_ok(v: &str, len: Len) -> bool {
    let n = v.chars().count();
    match len {
        Len::Fixed(want) => n == want,
        Len::Var(max) => (1..=max).contains(&n),
    }
}

/// Parses a GS-separated element string (FNC1 already turned into GS by the scanner).
/// Returns the elements parsed and whether the whole input was used up; stops at the first
/// unknown AI or malformed field, keeping what came before.
fn parse_unbracketed(s: &str) -> (Vec<(String, String)>, bool) {
    let mut out = Vec::new();
    // Invariant: `rest` always starts on a char boundary because we only cut after ASCII
    // digits we checked or at a GS (ASCII).
    let mut rest = s;
    loop {
        // Leading GS, and GS after a fixed-length field, carry no meaning.
        rest = rest.trim_start_matches(GS);
        if rest.is_empty() {
            return (out, true);
        }
        let Some(spec) = lookup_ai(rest) else {
            return (out, false);
        };
        let ai = &rest[..spec.ai_len];
        let data = &rest[spec.ai_len..];
        let end = match spec.len {
            // Fixed fields are all numeric, so their length in bytes equals their length in
            // chars once checked; `get` refuses a cut inside a multi-byte char.
            Len::Fixed(n) => n,
            Len::Var(_) => data.find(GS).unwrap_or(data.len()),
        };
        let Some(value) = data.get(..end) else {
            return (out, false);
        };
        if !len_ok(value, spec.len) || !content_ok(value, spec.content) {
            return (out, false);
        }
        out.push((ai.to_string(), value.to_string()));
        rest = &data[end..];
    }
}

/// Parses the human-readable form `(01)06901234567892(10)LOT1`. Spaces around values are
/// dropped (they are not in the GS1 character set) and so are stray GS characters.
fn parse_bracketed(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == GS);
        let Some(after_open) = rest.strip_prefix('(') else {
            break;
        };
        let Some(close) = after_open.find(')') else {
            break;
        };
        let ai = &after_open[..close];
        let Some(spec) = lookup_ai(ai).filter(|sp| sp.ai_len == ai.len()) else {
            break;
        };
        let data = &after_open[close + 1..];
        let end = next_bracketed_ai(data);
        let value = data[..end].trim_matches(|c: char| c.is_whitespace() || c == GS);
        if !len_ok(value, spec.len) || !content_ok(value, spec.content) {
            break;
        }
        out.push((ai.to_string(), value.to_string()));
        rest = &data[end..];
    }
    out
}

/// Byte index of the next `(NN)`..`(NNNN)` in `s`, or its length. A lone `(` inside a value is
/// legal GS1 data, so only a bracketed run of 2-4 digits starts a new element.
fn next_bracketed_ai(s: &str) -> usize {
    s.match_indices('(')
        .map(|(i, _)| i)
        .find(|&i| {
            let tail = &s.as_bytes()[i + 1..];
            let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            (2..=4).contains(&digits) && tail.get(digits) == Some(&b')')
        })
        .unwrap_or(s.len())
}

#[cfg(test)]
mod tests;
