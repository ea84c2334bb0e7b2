//! packbench::domain::barcode::parse on arbitrary text.
//!
//! Properties: no panic; the key is either the code text unchanged or a valid 14-digit GTIN;
//! a check-digit error leaves the key as the text; a GS1 GTIN, when found, is the key and a
//! valid GTIN-14; the AIM id is `]` + letter + alphanumeric and text is the trimmed input
//! without it; surrounding whitespace (scanner suffixes) changes nothing; a GTIN-14 key is a
//! fixed point of `catalog_key`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packbench::domain::barcode::{catalog_key, is_valid_gtin, parse};

fn is_gtin14(k: &str) -> bool {
    k.len() == 14 && k.bytes().all(|b| b.is_ascii_digit()) && is_valid_gtin(k)
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let p = parse(&input);

    assert!(
        p.key == p.text || is_gtin14(&p.key),
        "key {:?} is neither the text {:?} nor a GTIN-14",
        p.key,
        p.text
    );
    if p.check_digit_error {
        assert_eq!(p.key, p.text, "check-digit error but a normalised key");
    }
    if let Some(g) = &p.gs1 {
        assert!(!g.elements.is_empty(), "GS1 with no elements");
        if let Some(gtin) = &g.gtin {
            assert!(is_gtin14(gtin), "GS1 GTIN {gtin:?} not a valid GTIN-14");
            assert_eq!(&p.key, gtin, "GS1 GTIN is not the key");
        }
    }
    let trimmed = input.trim();
    match &p.aim {
        Some(a) => {
            let b = a.as_bytes();
            assert!(
                b.len() == 3
                    && b[0] == b']'
                    && b[1].is_ascii_alphabetic()
                    && b[2].is_ascii_alphanumeric(),
                "bad AIM {a:?}"
            );
            assert_eq!(
                format!("{a}{}", p.text),
                trimmed,
                "AIM + text is not the input"
            );
        }
        None => assert_eq!(p.text, trimmed, "text is not the trimmed input"),
    }
    // Scanner suffixes and stray spaces do not matter.
    let padded = format!(" \t{input}\r\n");
    assert_eq!(parse(&padded), p, "padding changed the parse");
    // Normalisation is idempotent for GTIN keys.
    if is_gtin14(&p.key) {
        assert_eq!(catalog_key(&p.key), p.key, "GTIN-14 key not a fixed point");
    }
});
