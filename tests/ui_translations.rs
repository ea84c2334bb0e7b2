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
