//! Text the Rust side renders in English and Simplified Chinese: the touchscreen's refusals
//! and messages, the console's tallies and messages, the command and badge sheets.
//!
//! One source a translator edits: `src/text/catalogue.toml`, one `[key]` table per text with
//! its `en` and `zh`. Code names a text with [`text!`]: `text!("reject.unknown_barcode")`, or
//! with values for its `{name}` placeholders, `text!("console.found", n = 3)`. The catalogue
//! is read at compile time by a `const fn`, so a key the catalogue does not have is a compile
//! error, not a blank on a screen; `tests/ui_translations.rs` checks that every text has both
//! languages with the same placeholders, that every text is used, and that no bilingual
//! string literal is left in the code.
//!
//! The windows' own words stay with Slint's `@tr` and `ui/lang/`; this catalogue is for what
//! Rust builds. Text stored inside events (refusal details) is not display text and stays
//! in English where it is written, so the event log does not change.

/// The catalogue's source, compiled in.
pub const CATALOGUE: &str = include_str!("catalogue.toml");

/// The two languages Rust-side text comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

/// One text of the catalogue, both languages, placeholders not yet filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub key: &'static str,
    pub en: &'static str,
    pub zh: &'static str,
}

/// A text ready to show, in both languages: the screen picks by its language when it shows
/// it (and again after a language switch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    pub en: String,
    pub zh: String,
}

impl Text {
    /// The text with no placeholders to fill.
    pub fn words(self) -> Words {
        Words {
            en: self.en.to_string(),
            zh: self.zh.to_string(),
        }
    }

    /// The text with each `{name}` replaced by its value, in both languages (a value that
    /// is itself [`Words`] or a [`Text`] goes in in the same language).
    pub fn fill(self, values: &[(&str, &dyn Fill)]) -> Words {
        Words {
            en: fill(self.en, Lang::En, values),
            zh: fill(self.zh, Lang::Zh, values),
        }
    }

    pub fn pick(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Zh => self.zh,
        }
    }
}

impl Words {
    /// Text that reads the same in both languages: data (a code, a name), or what was logged
    /// and has no translation.
    pub fn same(s: impl Into<String>) -> Words {
        let en = s.into();
        Words { zh: en.clone(), en }
    }

    pub fn pick(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }

    /// Both languages joined with their own separators ("a, b" / "a、b").
    pub fn join(parts: &[Words], en_sep: &str, zh_sep: &str) -> Words {
        Words {
            en: parts
                .iter()
                .map(|w| w.en.as_str())
                .collect::<Vec<_>>()
                .join(en_sep),
            zh: parts
                .iter()
                .map(|w| w.zh.as_str())
                .collect::<Vec<_>>()
                .join(zh_sep),
        }
    }
}

impl From<Text> for Words {
    fn from(t: Text) -> Words {
        t.words()
    }
}

/// A value for a placeholder: the same in both languages (numbers, codes, names), or in
/// each language its own.
pub trait Fill {
    fn in_lang(&self, lang: Lang) -> String;
}

impl Fill for Words {
    fn in_lang(&self, lang: Lang) -> String {
        self.pick(lang).to_string()
    }
}

impl Fill for Text {
    fn in_lang(&self, lang: Lang) -> String {
        self.pick(lang).to_string()
    }
}

impl<T: Fill + ?Sized> Fill for &T {
    fn in_lang(&self, lang: Lang) -> String {
        (**self).in_lang(lang)
    }
}

/// Values that read the same in either language. (No blanket impl over `Display`: `Text`
/// displays as "English / 中文", which is not what a placeholder wants.)
macro_rules! same_in_both {
    ($($t:ty),*) => {$(
        impl Fill for $t {
            fn in_lang(&self, _: Lang) -> String {
                self.to_string()
            }
        }
    )*};
}
same_in_both!(str, String, char, i32, i64, u32, u64, usize, u128, f64);

/// The combined form "English / 中文", where one line carries both (the command list of
/// `packbench commands`, the demo's command buttons, a PDF's title).
impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.en, self.zh)
    }
}

fn fill(template: &str, lang: Lang, values: &[(&str, &dyn Fill)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .and_then(|close| values.iter().find(|(n, _)| *n == &after[..close]))
            .map(|(n, v)| (n.len(), v));
        match value {
            Some((len, v)) => {
                out.push_str(&v.in_lang(lang));
                rest = &after[len + 1..];
            }
            // Not a placeholder of this call: kept as written (the catalogue test makes
            // sure every placeholder a text has is one its callers fill).
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// English the bench wrote into its log (a refusal's detail), read back in both languages.
///
/// The log keeps the English it was written in, so that its bytes never depend on a
/// translation; a screen that shows the text again finds the catalogue text of `group` (a key
/// prefix, e.g. `"refuse."`) whose English, each `{name}` taken for a value, is the whole of
/// `en`, and fills that text's Chinese with the same values. The group's placeholders are
/// data (codes, numbers, names), never words, so each value reads the same in both languages.
/// `None` for English that no text of the group says (a log written before the text was).
pub fn read_back(group: &str, en: &str) -> Option<Words> {
    said_by(group, en).map(|(_, w)| w)
}

/// The text of `group` that says `en`, and its words.
fn said_by(group: &str, en: &str) -> Option<(Text, Words)> {
    // Each text cut into its pieces once, not for every detail read back.
    static ALL: std::sync::OnceLock<Vec<(Text, Vec<Piece<'static>>)>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| all().into_iter().map(|t| (t, pieces(t.en))).collect())
        .iter()
        .filter(|(t, _)| t.key.starts_with(group))
        .find_map(|(t, ps)| {
            let mut values = Vec::new();
            matches(ps, en, &mut values).then(|| {
                let fills: Vec<(&str, &dyn Fill)> =
                    values.iter().map(|(n, v)| (*n, v as &dyn Fill)).collect();
                (*t, t.fill(&fills))
            })
        })
}

/// A template cut into its literal runs and its `{name}` placeholders.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Lit(&'a str),
    Hole(&'a str),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        if open > 0 {
            out.push(Piece::Lit(&rest[..open]));
        }
        out.push(Piece::Hole(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Lit(rest));
    }
    out
}

/// Whether `s` is the whole of `pieces`, each placeholder a non-empty value (the shortest that
/// lets the rest match, trying longer ones on failure); the values found go into `values`.
fn matches<'p>(pieces: &[Piece<'p>], s: &str, values: &mut Vec<(&'p str, String)>) -> bool {
    match pieces.split_first() {
        None => s.is_empty(),
        Some((Piece::Lit(l), rest)) => s.strip_prefix(l).is_some_and(|s| matches(rest, s, values)),
        Some((Piece::Hole(name), rest)) => {
            let mark = values.len();
            let ends = s.char_indices().skip(1).map(|(i, _)| i).chain([s.len()]);
            for i in ends.filter(|i| *i > 0) {
                values.push((name, s[..i].to_string()));
                if matches(rest, &s[i..], values) {
                    return true;
                }
                values.truncate(mark);
            }
            false
        }
    }
}

/// A text of the catalogue by key; with `name = value` pairs, filled in.
#[macro_export]
macro_rules! text {
    ($key:literal) => {{
        const T: $crate::text::Text = $crate::text::lookup($key);
        T
    }};
    ($key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::text!($key).fill(&[$((stringify!($name), &$value as &dyn $crate::text::Fill)),+])
    };
}

/// The text of `key`, found at compile time (through [`text!`]); a missing key does not
/// compile.
pub const fn lookup(key: &str) -> Text {
    match find(key) {
        Some(t) => t,
        None => panic!("a text! key is missing from src/text/catalogue.toml"),
    }
}

/// Every text of the catalogue, in file order (for the completeness test).
pub fn all() -> Vec<Text> {
    let src = CATALOGUE.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < src.len() {
        let end = line_end(src, at);
        if let Some((start, stop)) = header(src, at, end) {
            if let Some(t) = entry(src, end + 1, sub(src, start, stop)) {
                out.push(t);
            }
        }
        at = end + 1;
    }
    out
}

// A small reader of the catalogue's shape, usable in `const`: lines `[key]`, then
// `en = "…"` and `zh = "…"` (no escapes; the test checks that TOML reads the same).

const fn find(key: &str) -> Option<Text> {
    let src = CATALOGUE.as_bytes();
    let k = key.as_bytes();
    let mut at = 0;
    while at < src.len() {
        let end = line_end(src, at);
        if let Some((start, stop)) = header(src, at, end) {
            if same(src, start, stop, k) {
                return entry(src, end + 1, sub(src, start, stop));
            }
        }
        at = end + 1;
    }
    None
}

/// The `en` and `zh` lines after a header, up to the next header.
const fn entry(src: &'static [u8], mut at: usize, key: &'static str) -> Option<Text> {
    let mut en: Option<&'static str> = None;
    let mut zh: Option<&'static str> = None;
    while at < src.len() {
        let end = line_end(src, at);
        if header(src, at, end).is_some() {
            break;
        }
        if let Some(v) = value(src, at, end, b"en") {
            en = Some(v);
        } else if let Some(v) = value(src, at, end, b"zh") {
            zh = Some(v);
        }
        at = end + 1;
    }
    match (en, zh) {
        (Some(en), Some(zh)) => Some(Text { key, en, zh }),
        _ => None,
    }
}

const fn line_end(src: &[u8], mut at: usize) -> usize {
    while at < src.len() && src[at] != b'\n' {
        at += 1;
    }
    at
}

/// `[key]` on its own line: the key's bounds.
const fn header(src: &[u8], at: usize, end: usize) -> Option<(usize, usize)> {
    let mut stop = end;
    while stop > at && (src[stop - 1] == b' ' || src[stop - 1] == b'\r') {
        stop -= 1;
    }
    if stop - at >= 3 && src[at] == b'[' && src[stop - 1] == b']' {
        Some((at + 1, stop - 1))
    } else {
        None
    }
}

/// `name = "value"`: the value.
const fn value(src: &'static [u8], at: usize, end: usize, name: &[u8]) -> Option<&'static str> {
    let n = name.len();
    if end - at < n + 4 || !same(src, at, at + n, name) {
        return None;
    }
    let mut i = at + n;
    while i < end && src[i] == b' ' {
        i += 1;
    }
    if i >= end || src[i] != b'=' {
        return None;
    }
    i += 1;
    while i < end && src[i] == b' ' {
        i += 1;
    }
    let mut stop = end;
    while stop > i && (src[stop - 1] == b' ' || src[stop - 1] == b'\r') {
        stop -= 1;
    }
    if stop - i < 2 || src[i] != b'"' || src[stop - 1] != b'"' {
        return None;
    }
    Some(sub(src, i + 1, stop - 1))
}

const fn same(src: &[u8], start: usize, stop: usize, want: &[u8]) -> bool {
    if stop - start != want.len() {
        return false;
    }
    let mut i = 0;
    while i < want.len() {
        if src[start + i] != want[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn sub(src: &'static [u8], start: usize, stop: usize) -> &'static str {
    let (_, tail) = src.split_at(start);
    let (part, _) = tail.split_at(stop - start);
    match std::str::from_utf8(part) {
        Ok(s) => s,
        Err(_) => panic!("src/text/catalogue.toml is not UTF-8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_both_languages() {
        let w = Text {
            key: "k",
            en: "{n} found for {who}",
            zh: "找到 {who} 的 {n} 项",
        }
        .fill(&[("n", &3), ("who", &"E003")]);
        assert_eq!(w.en, "3 found for E003");
        assert_eq!(w.zh, "找到 E003 的 3 项");
        assert_eq!(fill("{a} {b}", Lang::En, &[("a", &1)]), "1 {b}");
        let ok = text!("returns.condition_ok");
        assert_eq!(
            text!("returns.condition_count", n = 2, condition = ok),
            Words {
                en: "2 OK".into(),
                zh: "完好 2".into()
            }
        );
        assert_eq!(ok.to_string(), "OK / 完好");
    }

    #[test]
    fn english_from_the_log_reads_back_in_both_languages() {
        let w = read_back(
            "refuse.",
            "H1001 was already packed by E001 at B-01 on 2026-12-07T09:00:00+08:00",
        )
        .expect("a refusal the catalogue says");
        assert_eq!(
            w.zh,
            text!(
                "refuse.already_packed",
                o = "H1001",
                by = "E001",
                station = "B-01",
                at = "2026-12-07T09:00:00+08:00"
            )
            .zh
        );
        // A value may hold the words around it ("is", ":") and still be found whole.
        let odd = "A: is not: B";
        let w = read_back("refuse.", &text!("refuse.unknown_code", code = odd).en).unwrap();
        assert_eq!(w, text!("refuse.unknown_code", code = odd));
        assert_eq!(read_back("refuse.", "something no text says"), None);
        assert_eq!(read_back("refuse.", ""), None);
    }

    /// Every refusal and log alarm reads back as itself: no two texts of a group say the same English, and
    /// none has two placeholders side by side (their split would be a guess).
    #[test]
    fn every_refusal_reads_back_as_itself() {
        for (group, at_least) in [("refuse.", 60), ("alarm.", 10)] {
            every_text_reads_back(group, at_least);
        }
    }

    fn every_text_reads_back(group: &str, at_least: usize) {
        let texts: Vec<Text> = all()
            .into_iter()
            .filter(|t| t.key.starts_with(group))
            .collect();
        assert!(
            texts.len() >= at_least,
            "the {group} texts are in the catalogue"
        );
        for t in texts {
            let ps = pieces(t.en);
            assert!(
                !ps.windows(2)
                    .any(|w| matches!(w, [Piece::Hole(_), Piece::Hole(_)])),
                "{}: two placeholders side by side",
                t.key
            );
            let values: Vec<(&str, String)> = ps
                .iter()
                .filter_map(|p| match p {
                    Piece::Hole(n) => Some((*n, format!("V-{n}-9"))),
                    Piece::Lit(_) => None,
                })
                .collect();
            let fills: Vec<(&str, &dyn Fill)> =
                values.iter().map(|(n, v)| (*n, v as &dyn Fill)).collect();
            let w = t.fill(&fills);
            let (by, back) = said_by(group, &w.en).expect(t.key);
            assert_eq!(by.key, t.key, "{:?} reads back as another text", w.en);
            assert_eq!(back, w);
        }
    }
}
