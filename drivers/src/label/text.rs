//! Text for the printer: map characters to what it can print, measure and wrap by printed
//! width, and encode lines for the wire. Outside text is first made harmless by
//! [`crate::text::for_printer`].

use encoding_rs::GB18030;

/// `FS &`: select Chinese (double-byte) character mode.
pub const CHINESE_ON: [u8; 2] = [0x1C, b'&'];
/// `FS .`: cancel Chinese character mode.
pub const CHINESE_OFF: [u8; 2] = [0x1C, b'.'];

/// Printed width in font A columns. Any non-ASCII character we let through is only printed in
/// Chinese mode, where every double-byte code is a full-width glyph (two columns), whatever its
/// Unicode East-Asian width says (é, —, ü are full width on these printers too).
pub fn char_width(c: char) -> usize {
    if c.is_ascii() {
        1
    } else {
        2
    }
}

/// Printed width of a string already passed through [`to_printable`].
pub fn text_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Maps text passed through [`crate::text::for_printer`] to characters the printer can show.
///
/// * `chinese = true`: ASCII stays; a character with a two-byte GB18030 (GBK-compatible) code
///   stays. Characters that need a four-byte GB18030 code (emoji, rare ideographs, many Latin
///   letters with diacritics) are printer-dependent: many "GB18030" printers carry only the
///   two-byte font. They get the ASCII fallback below, else `?`.
/// * `chinese = false` (printer without Chinese mode): only printable ASCII may go out, since a
///   byte >= 0x80 would print as some code-page glyph. Full-width forms and common CJK
///   punctuation map to their ASCII look-alikes, Latin letters lose their accents, and
///   everything else becomes `?`, so the label stays readable and the gaps are visible.
pub fn to_printable(s: &str, chinese: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        if c.is_ascii() {
            // Sanitized text has no controls left; keep this cheap check as a second line.
            out.push(if c.is_ascii_control() { '?' } else { c });
            continue;
        }
        if chinese && gb18030_len(c.encode_utf8(&mut buf)) == 2 {
            out.push(c);
            continue;
        }
        match ascii_fallback(c) {
            Some(s) => out.push_str(s),
            None => out.push('?'),
        }
    }
    out
}

fn gb18030_len(s: &str) -> usize {
    let (bytes, _, _) = GB18030.encode(s);
    bytes.len()
}

/// ASCII look-alikes for characters a non-Chinese printer cannot print.
fn ascii_fallback(c: char) -> Option<&'static str> {
    const FULLWIDTH: &str = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
    let cp = c as u32;
    if (0xFF01..=0xFF5E).contains(&cp) {
        let i = (cp - 0xFF01) as usize;
        return FULLWIDTH.get(i..i + 1);
    }
    Some(match c {
        '\u{3000}' => " ",
        '。' | '·' | '・' => ".",
        '、' => ",",
        '「' | '『' | '【' | '〔' | '〖' => "[",
        '」' | '』' | '】' | '〕' | '〗' => "]",
        '《' | '〈' => "<",
        '》' | '〉' => ">",
        '“' | '”' | '„' | '«' | '»' => "\"",
        '‘' | '’' | '‚' => "'",
        '–' | '—' | '―' | '−' => "-",
        '…' => "...",
        '×' => "x",
        'À'..='Å' => "A",
        'à'..='å' => "a",
        'Æ' => "AE",
        'æ' => "ae",
        'Ç' => "C",
        'ç' => "c",
        'È'..='Ë' => "E",
        'è'..='ë' => "e",
        'Ì'..='Ï' => "I",
        'ì'..='ï' => "i",
        'Ð' => "D",
        'ð' => "d",
        'Ñ' => "N",
        'ñ' => "n",
        'Ò'..='Ö' | 'Ø' => "O",
        'ò'..='ö' | 'ø' => "o",
        'Ù'..='Ü' => "U",
        'ù'..='ü' => "u",
        'Ý' => "Y",
        'ý' | 'ÿ' => "y",
        'ß' => "ss",
        'Œ' => "OE",
        'œ' => "oe",
        'Š' => "S",
        'š' => "s",
        'Ž' => "Z",
        'ž' => "z",
        'Ł' => "L",
        'ł' => "l",
        _ => return None,
    })
}

/// Word-wraps printable text to `width` columns; continuation lines start with `indent`
/// spaces. Leading spaces of the text are kept (they align columns such as quantities).
/// ASCII words break at spaces (a word longer than a line is cut); CJK text may break between
/// any two characters. Every returned line fits in `width` columns.
pub fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
    let width = width.max(1);
    let indent = if indent * 2 > width { 0 } else { indent };
    let lead = (text.len() - text.trim_start_matches(' ').len()).min(width / 2);
    let mut lines = Vec::new();
    let mut cur = " ".repeat(lead);
    let mut cur_w = lead;
    // Whether the current line holds more than its leading or indent spaces.
    let mut content = false;

    for (token, space_before) in tokens(text) {
        let tw = text_width(token);
        let sep = usize::from(space_before && content);
        if cur_w + sep + tw <= width {
            if sep == 1 {
                cur.push(' ');
            }
            cur.push_str(token);
            cur_w += sep + tw;
            content = true;
            continue;
        }
        if tw <= width - indent {
            // Fits on a fresh line.
            lines.push(std::mem::replace(&mut cur, " ".repeat(indent)));
            cur.push_str(token);
            cur_w = indent + tw;
            content = true;
            continue;
        }
        // Longer than any line: fill the current line, then cut it character by character.
        if sep == 1 && cur_w + 1 < width {
            cur.push(' ');
            cur_w += 1;
        }
        for c in token.chars() {
            let cw = char_width(c);
            if cur_w + cw > width {
                lines.push(std::mem::replace(&mut cur, " ".repeat(indent)));
                cur_w = indent;
            }
            cur.push(c);
            cur_w += cw;
            content = true;
        }
    }
    if content || lines.is_empty() {
        if !content {
            cur.clear();
        }
        lines.push(cur);
    }
    lines
}

/// Splits text into breakable units: runs of non-space ASCII, and single non-ASCII characters
/// (CJK may break anywhere). The flag tells whether spaces came before the unit.
fn tokens(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut space = false;
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c == ' ' {
            if let Some(s) = start.take() {
                out.push((&text[s..i], space));
            }
            space = true;
        } else if !c.is_ascii() {
            if let Some(s) = start.take() {
                out.push((&text[s..i], space));
                space = false;
            }
            out.push((&text[i..i + c.len_utf8()], space));
            space = false;
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((&text[s..], space));
    }
    out
}

/// Encodes one printable line for the wire. ASCII goes out as is; a line with any other
/// character is GB18030 inside `FS &` … `FS .` so the printer reads the double-byte codes.
pub fn encode_line(line: &str, chinese: bool, out: &mut Vec<u8>) {
    if chinese && !line.is_ascii() {
        let (bytes, _, _) = GB18030.encode(line);
        out.extend_from_slice(&CHINESE_ON);
        out.extend_from_slice(&bytes);
        out.extend_from_slice(&CHINESE_OFF);
    } else {
        // `to_printable` with chinese = false leaves ASCII only; be strict anyway.
        out.extend(line.chars().map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c as u8
            } else {
                b'?'
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_fallbacks() {
        assert_eq!(to_printable("Müller 订单！", false), "Muller ??!");
        assert_eq!(to_printable("Müller 订单！", true), "Müller 订单！");
        // Emoji has only a four-byte GB18030 code.
        assert_eq!(to_printable("好😀", true), "好?");
    }

    #[test]
    fn wrap_ascii_and_cjk() {
        assert_eq!(wrap("aaa bbb ccc", 7, 0), vec!["aaa bbb", "ccc"]);
        assert_eq!(wrap("订单订单订单", 5, 0), vec!["订单", "订单", "订单"]);
        assert_eq!(wrap("abcdefghij", 4, 0), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("Note: aa bb cc", 8, 2), vec!["Note: aa", "  bb cc"]);
        assert_eq!(wrap("", 8, 2), vec![""]);
        assert_eq!(wrap("  2 x abc def", 12, 6), vec!["  2 x abc", "      def"]);
    }
}
