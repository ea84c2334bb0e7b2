//! Aligned text tables for terminal output; CJK characters count as two columns.

use unicode_width::UnicodeWidthStr;

/// Makes text safe for a terminal: control characters (an ESC in a buyer note could
/// otherwise drive the operator's terminal), bidi and zero-width characters become visible
/// escapes.
pub use packbench_drivers::text::for_terminal as clean;

pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.width());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let mut s = String::new();
        for (i, c) in cells.enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(c);
            if i + 1 < widths.len() {
                s.push_str(&" ".repeat(widths[i].saturating_sub(c.width())));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(&mut headers.iter().copied());
    out.push('\n');
    out.push_str(&line(
        &mut widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    ));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(&mut r.iter().map(String::as_str)));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_cjk_as_double_width() {
        let t = render(
            &["sku", "name"],
            &[
                vec!["A".into(), "纯棉T恤".into()],
                vec!["LONGER".into(), "x".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "sku     name");
        assert_eq!(lines[2], "A       纯棉T恤");
        assert_eq!(lines[3], "LONGER  x");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
    }

    /// Bidi overrides and zero-width characters (which reorder or hide text, as in a
    /// "Trojan Source" buyer note) show as escapes in a table, as on the screen.
    #[test]
    fn bidi_and_zero_width_characters_are_escaped() {
        let t = render(&["note"], &[vec!["abc\u{202E}fed\u{200B}x\u{2066}".into()]]);
        let row = t.lines().nth(2).unwrap();
        assert_eq!(row, "abc\\u{202e}fed\\u{200b}x\\u{2066}");
        assert!(!row.contains('\u{202E}') && !row.contains('\u{200B}'));
    }
}
