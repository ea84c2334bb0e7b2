//! What a window shows in words, and which of those words are English on a Chinese screen: the
//! check behind "every word on every screen goes through the text catalogue".
//!
//! A visible string is read from the element tree (text elements' labels, input fields' values
//! and placeholders), so a string that reaches the screen from Rust, from Slint or from a
//! formatted number is caught alike. Data that is English by nature (a product's name, a
//! packer's name, a buyer's note) is passed in by the caller as whole strings and cut out
//! before the check; codes (anything with a digit, or in capitals) are data too.

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery, ElementRoot};

/// Abbreviations a Chinese screen keeps in Latin letters on purpose (units and names of
/// standards), lower-case ones included. Everything else with two or more lower-case Latin
/// letters is an English word that missed the catalogue.
const KEPT: &[&str] = &["g", "kg", "lb", "oz", "mm", "dpi", "ms", "px"];

/// Every string the window shows now, in tree order: text elements' text, and the text and
/// placeholder of input fields. Elements of no size or fully transparent are not shown, so not
/// read; an element clipped away may still be read, which only makes the check stricter.
pub fn visible_texts(root: &impl ElementRoot) -> Vec<String> {
    let mut out = Vec::new();
    for e in ElementQuery::from_root(root).find_all() {
        if !shown(&e) {
            continue;
        }
        let role = e.accessible_role();
        if role == Some(AccessibleRole::Text) {
            // A text the tests find by a label shows its value (the screens' convention:
            // `accessible-label: "handle"; accessible-value: self.text`).
            let shown = e.accessible_value().or_else(|| e.accessible_label());
            out.extend(shown.map(|s| s.to_string()));
        } else if role == Some(AccessibleRole::TextInput) {
            out.extend(e.accessible_value().map(|s| s.to_string()));
            out.extend(e.accessible_placeholder_text().map(|s| s.to_string()));
        }
    }
    out.retain(|s| !s.trim().is_empty());
    // A check over no words passes whatever the screen says.
    assert!(
        !out.is_empty(),
        "no visible text found in the window's element tree"
    );
    out
}

fn shown(e: &ElementHandle) -> bool {
    let size = e.size();
    size.width > 0.0 && size.height > 0.0 && e.computed_opacity() > 0.0
}

/// The strings among `texts` that hold an English word once every `data` string (whole, as
/// the caller knows it from its fixture) is cut out: on a Chinese screen, each is a visible
/// string missing from the Chinese catalogue. A word is a run of Latin letters; it is English
/// when it has two or more letters, at least one lower-case, no digit next to it and is not a
/// unit in [`KEPT`]. `weight_mismatch` is two English words: identifiers are caught too.
pub fn untranslated(texts: &[String], data: &[&str]) -> Vec<String> {
    let mut data: Vec<&str> = data.iter().copied().filter(|d| !d.is_empty()).collect();
    // Longest first, so a name is not half cut by a shorter one inside it.
    data.sort_by_key(|d| std::cmp::Reverse(d.len()));
    texts
        .iter()
        .filter(|t| {
            let rest = data.iter().fold(t.to_string(), |r, d| r.replace(d, " "));
            has_english(&rest)
        })
        .cloned()
        .collect()
}

fn has_english(s: &str) -> bool {
    english_words(s).next().is_some()
}

/// The English words of `s` (see [`untranslated`]).
pub fn english_words(s: &str) -> impl Iterator<Item = &str> {
    // A token is a run of letters, digits, '-' and '.' ('SKU-MUG-01', 'H1001', 'v1.2'): a code
    // when it has a digit or no lower-case letter. Underscores split, so identifiers show.
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .filter(|tok| !tok.is_empty())
        .filter(|tok| !tok.chars().any(|c| c.is_ascii_digit()))
        .flat_map(|tok| tok.split(|c: char| !c.is_ascii_alphabetic()))
        .filter(|w| w.len() >= 2)
        .filter(|w| w.chars().any(|c| c.is_ascii_lowercase()))
        .filter(|w| !KEPT.contains(w))
}
