//! Every `@tr("…")` string of the screens has a Chinese translation, and every character of
//! the translations is in the bundled font subset's source list (the subset script reads the
//! .po file, so a new word only needs the script run again: this test says when).

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn slint_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            slint_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "slint") {
            out.push(p);
        }
    }
}

/// The string literal right after each `@tr(`, unescaped.
fn tr_strings(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("@tr(") {
        rest = &rest[i + 4..];
        let Some(q) = rest.find('"') else { break };
        let mut s = String::new();
        let mut chars = rest[q + 1..].char_indices();
        let mut end = 0;
        while let Some((j, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        s.push(n);
                    }
                }
                '"' => {
                    end = q + 1 + j + 1;
                    break;
                }
                c => s.push(c),
            }
        }
        out.push(s);
        rest = &rest[end..];
    }
    out
}

fn po_entries(po: &str) -> Vec<(String, String)> {
    let unq = |l: &str, key: &str| -> Option<String> {
        let v = l.strip_prefix(key)?.trim();
        Some(
            v.strip_prefix('"')?
                .strip_suffix('"')?
                .replace("\\\"", "\"")
                .replace("\\\\", "\\"),
        )
    };
    let mut out = Vec::new();
    let mut id: Option<String> = None;
    for l in po.lines() {
        if let Some(v) = unq(l, "msgid ") {
            id = Some(v);
        } else if let Some(v) = unq(l, "msgstr ") {
            if let Some(i) = id.take() {
                if !i.is_empty() {
                    out.push((i, v));
                }
            }
        }
    }
    out
}

#[test]
fn every_screen_string_has_a_chinese_translation() {
    let mut files = Vec::new();
    slint_files(&root().join("ui"), &mut files);
    assert!(files.len() >= 5, "ui/*.slint files: {files:?}");
    let po = std::fs::read_to_string(root().join("ui/lang/zh_CN/LC_MESSAGES/packbench.po"))
        .expect("the Chinese translation");
    let entries = po_entries(&po);
    let mut missing = BTreeSet::new();
    let mut seen = 0;
    for f in &files {
        for s in tr_strings(&std::fs::read_to_string(f).unwrap()) {
            seen += 1;
            match entries.iter().find(|(id, _)| *id == s) {
                Some((_, zh)) if !zh.is_empty() => {
                    // Placeholders survive translation.
                    assert_eq!(
                        s.matches("{}").count(),
                        zh.matches("{}").count(),
                        "{s:?} → {zh:?}"
                    );
                }
                _ => {
                    missing.insert(format!("{}: {s:?}", f.display()));
                }
            }
        }
    }
    assert!(seen > 50, "only {seen} @tr strings found");
    assert!(missing.is_empty(), "untranslated: {missing:#?}");
}

#[test]
fn the_bundled_font_and_its_licence_are_there() {
    let fonts = root().join("assets/fonts");
    for f in [
        "NotoSansCJKsc-Regular-subset.otf",
        "NotoSansCJKsc-Bold-subset.otf",
        "OFL.txt",
    ] {
        let len = std::fs::metadata(fonts.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .len();
        assert!(len > 1000, "{f} is {len} bytes");
    }
    let total: u64 = [
        "NotoSansCJKsc-Regular-subset.otf",
        "NotoSansCJKsc-Bold-subset.otf",
    ]
    .iter()
    .map(|f| std::fs::metadata(fonts.join(f)).unwrap().len())
    .sum();
    assert!(total < 6_000_000, "the font subsets grew to {total} bytes");
    let ofl = std::fs::read_to_string(fonts.join("OFL.txt")).unwrap();
    assert!(ofl.contains("SIL OPEN FONT LICENSE Version 1.1"));
    let app = std::fs::read_to_string(root().join("ui/app.slint")).unwrap();
    assert!(
        app.contains("NotoSansCJKsc-Regular-subset.otf"),
        "the window imports the font"
    );
}

// ---------------------------------------------------------------------------------------
// The Rust side's catalogue (src/text/catalogue.toml): what `text!` renders.

/// The catalogue as TOML reads it: key → (en, zh), the keys dotted as in the file.
fn catalogue_as_toml() -> Vec<(String, String, String)> {
    fn walk(prefix: &str, t: &toml::Table, out: &mut Vec<(String, String, String)>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            let table = v.as_table().unwrap_or_else(|| panic!("{key}: not a table"));
            match (table.get("en"), table.get("zh")) {
                (Some(en), Some(zh)) => out.push((
                    key,
                    en.as_str().expect("en is text").to_string(),
                    zh.as_str().expect("zh is text").to_string(),
                )),
                _ => walk(&key, table, out),
            }
        }
    }
    let t: toml::Table = toml::from_str(packbench::text::CATALOGUE).expect("the catalogue is TOML");
    let mut out = Vec::new();
    walk("", &t, &mut out);
    out
}

fn placeholders(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if let Some(j) = rest.find('}') {
            out.insert(rest[..j].to_string());
            rest = &rest[j + 1..];
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every text has both languages and the same placeholders in each; the compile-time reader
/// (`text!`) reads exactly what TOML reads; every text is used by the code.
#[test]
fn the_rust_catalogue_is_complete_and_every_text_is_used() {
    let texts = packbench::text::all();
    let toml = catalogue_as_toml();
    assert!(texts.len() > 100, "only {} texts", texts.len());
    let from_reader: Vec<(String, String, String)> = texts
        .iter()
        .map(|t| (t.key.to_string(), t.en.to_string(), t.zh.to_string()))
        .collect();
    let mut a = from_reader.clone();
    let mut b = toml.clone();
    a.sort();
    b.sort();
    assert_eq!(
        a, b,
        "the text! reader and TOML read the catalogue differently"
    );
    let mut keys = BTreeSet::new();
    for t in &texts {
        assert!(keys.insert(t.key), "{} twice", t.key);
        assert!(!t.en.trim().is_empty(), "{}: no English", t.key);
        assert!(!t.zh.trim().is_empty(), "{}: no Chinese", t.key);
        assert_eq!(
            placeholders(t.en),
            placeholders(t.zh),
            "{}: placeholders differ",
            t.key
        );
    }
    // Used: `text!` takes its key as a literal, so a used key is in the code as "key".
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let code: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let unused: Vec<&str> = texts
        .iter()
        .map(|t| t.key)
        .filter(|k| !code.contains(&format!("\"{k}\"")))
        .collect();
    assert!(unused.is_empty(), "texts no code uses: {unused:?}");
}

/// Chinese shows only where the bundled font has the glyph: every character of the
/// catalogue is in both subsets (rebuilding them: assets/fonts/README.md).
#[test]
fn the_bundled_font_draws_every_character_of_the_rust_catalogue() {
    use skrifa::{FontRef, MetadataProvider};
    for f in [
        "NotoSansCJKsc-Regular-subset.otf",
        "NotoSansCJKsc-Bold-subset.otf",
    ] {
        let bytes = std::fs::read(root().join("assets/fonts").join(f)).unwrap();
        let font = FontRef::new(&bytes).unwrap();
        let cmap = font.charmap();
        let missing: BTreeSet<char> = packbench::text::all()
            .iter()
            .flat_map(|t| t.en.chars().chain(t.zh.chars()))
            .filter(|c| !c.is_ascii() && cmap.map(*c).is_none())
            .collect();
        assert!(missing.is_empty(), "{f} lacks {missing:?}");
    }
}

/// One way to write text in two languages: no "English / 中文" literal split at run time, no
/// Chinese string literal outside the catalogue. Exempt: the shops' export formats (Chinese
/// column headers are data, `src/import*`), comments, and test modules (data such as names).
#[test]
fn no_bilingual_literals_outside_the_catalogue() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut found = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .to_string();
        if rel.starts_with("src/import") {
            continue;
        }
        let src = std::fs::read_to_string(f).unwrap();
        // Test modules come last in a file, or in their own `tests.rs`.
        if rel.ends_with("/tests.rs") {
            continue;
        }
        let body = src.split("#[cfg(test)]\nmod tests").next().unwrap();
        for (n, line) in body.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            let in_literal = code
                .split('"')
                .skip(1)
                .step_by(2)
                .any(|lit| lit.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
            if in_literal {
                found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "Chinese outside src/text/catalogue.toml: {found:#?}"
    );
}

// The check the screen tests run on every Chinese screen (tests/ui_harness/words.rs), itself
// checked here once: it must find English words and identifiers, and pass codes, units and data.
#[path = "ui_harness/words.rs"]
#[allow(dead_code)]
mod words;

#[test]
fn the_untranslated_check_finds_english_words_and_passes_codes_units_and_data() {
    use words::{english_words, untranslated};
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let texts = s(&[
        "重量不符",
        "weight_mismatch",
        "H1001 · SKU-MUG-01 · 350 g",
        "± 17 g",
        "3 min",
        "在线 2",
        "Ceramic mug ×2",
        "PIN",
        "扫描 PB-RETURNS",
        "已打包 2 单 (orders)",
    ]);
    assert_eq!(
        untranslated(&texts, &["Ceramic mug"]),
        s(&["weight_mismatch", "3 min", "已打包 2 单 (orders)"])
    );
    assert_eq!(
        english_words("weight_mismatch").collect::<Vec<_>>(),
        ["weight", "mismatch"]
    );
    assert!(untranslated(&texts, &[]).contains(&"Ceramic mug ×2".to_string()));
}
