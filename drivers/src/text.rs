//! Text from outside (shop data, scans, device replies) made harmless for where it goes.
//!
//! One rule decides which characters are a hazard; each destination renders them its own way:
//!
//! - [`for_printer`]: dropped, so nothing can act as a printer command (ESC, GS, FS, DLE) or
//!   reach the paper as `?`;
//! - [`for_screen`]: shown as `\u{XXXX}`, so nothing hides or reorders text on the display;
//! - [`for_terminal`]: shown as Rust escapes (`\u{1b}`, `\n`), so nothing drives the
//!   operator's terminal.
//!
//! Line breaks and tabs become spaces on the printer and the screen: a note that spans lines
//! still reads as words.

/// What makes a character unsafe to pass on as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hazard {
    /// Tab, line or paragraph break.
    Break,
    /// Any other control character (C0 including ESC, DEL, C1).
    Control,
    /// Invisible, yet changes what is read: bidirectional controls, zero-width characters.
    Hidden,
    /// Invisible but shaping the visible text around it (soft hyphen, zero-width (non-)joiner,
    /// variation selectors, e.g. in emoji): kept on a screen, unprintable on a label.
    Shaping,
}

fn hazard(c: char) -> Option<Hazard> {
    Some(match c {
        '\t' | '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
            Hazard::Break
        }
        c if c.is_control() => Hazard::Control,
        '\u{061C}'
        | '\u{180E}'
        | '\u{200B}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}' => Hazard::Hidden,
        '\u{00AD}' | '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}' => Hazard::Shaping,
        _ => return None,
    })
}

/// For the printer: breaks become spaces, every other hazard is removed.
pub fn for_printer(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match hazard(c) {
            None => out.push(c),
            Some(Hazard::Break) => out.push(' '),
            Some(_) => {}
        }
    }
    out
}

/// For the screen: breaks become spaces, controls and hidden characters show as `\u{XXXX}`.
/// (Slint's `Text` never interprets markup, so `<b>` needs nothing.)
pub fn for_screen(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match hazard(c) {
            None | Some(Hazard::Shaping) => out.push(c),
            Some(Hazard::Break) => out.push(' '),
            Some(Hazard::Control | Hazard::Hidden) => {
                out.push_str(&format!("\\u{{{:04X}}}", c as u32))
            }
        }
    }
    out
}

/// For a terminal: controls (breaks included) and hidden characters show as Rust escapes.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match hazard(c) {
            None | Some(Hazard::Shaping) => out.push(c),
            Some(_) => out.extend(c.escape_default()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_drops_controls_and_keeps_text() {
        assert_eq!(for_printer("a\x1b@b\x1dVc\x7f\u{9b}d"), "a@bVcd");
        assert_eq!(for_printer("line1\nline2\tx"), "line1 line2 x");
        assert_eq!(for_printer("zero\u{200B}width"), "zerowidth");
        assert_eq!(for_printer("soft\u{AD}hy ❤\u{FE0F}"), "softhy ❤");
        assert_eq!(for_printer("订单"), "订单");
    }

    #[test]
    fn screen_shows_what_would_hide_or_reorder_text() {
        assert_eq!(for_screen("a\nb\u{2028}c"), "a b c");
        assert_eq!(for_screen("x\u{1b}[2J"), "x\\u{001B}[2J");
        assert_eq!(for_screen("abc\u{202E}def"), "abc\\u{202E}def");
        assert_eq!(for_screen("pay\u{200B}pal"), "pay\\u{200B}pal");
        // Emoji sequences and soft hyphens shape what is shown; they stay.
        assert_eq!(
            for_screen("❤\u{FE0F} 👩\u{200D}💻"),
            "❤\u{FE0F} 👩\u{200D}💻"
        );
        assert_eq!(for_screen("<b>订单</b>"), "<b>订单</b>");
    }

    #[test]
    fn terminal_escapes_controls_bidi_and_zero_width() {
        assert_eq!(for_terminal("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(for_terminal("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(
            for_terminal("abc\u{202E}d\u{FEFF}"),
            "abc\\u{202e}d\\u{feff}"
        );
        assert_eq!(for_terminal("Müller 订单 \\"), "Müller 订单 \\");
    }
}
