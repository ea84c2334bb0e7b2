//! The bench's line parsers on arbitrary text, line by line: keypad lines
//! (`station::devices::keypad_line`), command barcodes (`domain::commands::parse_command`,
//! returns commands included), returns conditions and buyers' reasons (`Condition::parse`,
//! `ReturnReason::parse`), approval reasons, PIN forms (`Pin::valid`, `PinHash::parse`), roles
//! (`Roles::parse`) and the GS1 rules of `domain::barcode::parse` (SSCC check digits,
//! calendar dates, AI lengths).
//!
//! Properties: no panic. A keypad line is `@pin`, `@reason` or `@cancel` (any case, any
//! padding) and nothing else; a PIN never shows in the message's `Debug` or an error; a reason
//! is exactly the one named. A command parse is the command whose code is the trimmed line
//! (ASCII case aside), round-trips through its code, is never the unlisted
//! `PB-REASON-NOT_GIVEN`, and is found for every listed code; the same holds for conditions
//! and reasons, whose serde names are their `as_str`. A valid PIN is 4–8 ASCII digits; a
//! parsed PIN hash is Argon2id and never shows in `Debug`. Parsed roles name at least the
//! roles they list. Every GS1 element has a known AI and content: an SSCC (00) is 18 digits
//! with a right check digit, a date AI (11–17) a real YYMMDD date (DD 00 allowed), digits
//! AIs are digits.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use packbench::domain::barcode::{self, gtin_check_digit};
use packbench::domain::commands::{parse_command, Command, COMMANDS};
use packbench::domain::event::ApprovalReason;
use packbench::domain::pin::{Pin, PinHash};
use packbench::domain::returns::{Condition, ReturnReason};
use packbench::domain::Roles;
use packbench::station::devices::keypad_line;
use packbench::station::runtime::Msg;

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn real_date(v: &str) -> bool {
    if v.len() != 6 || !digits(v) {
        return false;
    }
    let n = |i: usize| v[i..i + 2].parse::<u32>().unwrap();
    let (yy, mm, dd) = (n(0) as i32, n(2), n(4));
    let year = if yy >= 51 { 1900 + yy } else { 2000 + yy };
    NaiveDate::from_ymd_opt(year, mm, dd.max(1)).is_some()
        && (dd == 0 || NaiveDate::from_ymd_opt(year, mm, dd).is_some())
}

fn keypad(line: &str) {
    let rest = line.trim().trim_start_matches('@');
    let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let (word, arg) = (word.to_ascii_lowercase(), arg.trim());
    let got = keypad_line(line);
    match &got {
        Ok(Msg::Pin(p)) => {
            assert_eq!(word, "pin", "{line:?} read as a PIN");
            assert!(*p == Pin::new(arg), "the PIN is not the argument");
        }
        Ok(Msg::Reason(r)) => {
            assert_eq!(word, "reason", "{line:?} read as a reason");
            assert!(r.as_str().eq_ignore_ascii_case(arg), "{r:?} for {arg:?}");
            assert_ne!(*r, ApprovalReason::NotGiven, "NotGiven can be typed");
        }
        Ok(Msg::CancelAuth) => assert_eq!(word, "cancel", "{line:?} read as cancel"),
        Ok(other) => panic!("keypad line {line:?} gave {other:?}"),
        Err(e) => {
            assert!(!e.is_empty());
            assert!(word != "pin" && word != "cancel", "{line:?} refused: {e}");
        }
    }
    if word == "pin" && digits(arg) {
        let shown = format!("{got:?}");
        assert!(!shown.contains(arg), "a PIN shows in {shown}");
    }
    // Padding and a scanner's line end change nothing.
    let padded = format!("  {line}\r\n");
    assert_eq!(
        format!("{:?}", keypad_line(&padded)),
        format!("{got:?}"),
        "padding changed {line:?}"
    );
}

fn command(line: &str) {
    let c = parse_command(line);
    if let Some(c) = c {
        assert!(
            c.code().eq_ignore_ascii_case(line.trim()),
            "{c:?} for {line:?}"
        );
        assert_ne!(c, Command::Reason(ApprovalReason::NotGiven));
        assert_eq!(
            parse_command(c.code()),
            Some(c),
            "{c:?} does not round-trip"
        );
        assert_eq!(
            parse_command(&format!("\t{}\r\n", c.code().to_lowercase())),
            Some(c)
        );
    } else {
        assert!(
            !COMMANDS
                .iter()
                .any(|(c, _)| c.code().eq_ignore_ascii_case(line.trim())),
            "listed code {line:?} not parsed"
        );
    }
    if let Some(x) = Condition::parse(line) {
        assert!(x.as_str().eq_ignore_ascii_case(line.trim()));
        let v: Condition = serde_json::from_value(serde_json::json!(x.as_str())).unwrap();
        assert_eq!(v, x);
    }
    if let Some(x) = ReturnReason::parse(line) {
        assert!(x.as_str().eq_ignore_ascii_case(line.trim()));
        let v: ReturnReason = serde_json::from_value(serde_json::json!(x.as_str())).unwrap();
        assert_eq!(v, x);
    }
    if let Some(x) = ApprovalReason::parse(line) {
        assert!(
            x.as_str().eq_ignore_ascii_case(line.trim()),
            "{x:?} for {line:?}"
        );
    }
}

fn secrets(line: &str) {
    if let Ok(p) = Pin::valid(line) {
        let t = line.trim();
        assert!(
            (4..=8).contains(&t.len()) && digits(t),
            "PIN {t:?} accepted"
        );
        assert_eq!(p.len(), t.len());
        assert!(!format!("{p:?}").contains(t));
    }
    if let Ok(h) = PinHash::parse(line) {
        assert!(
            line.starts_with("$argon2id$"),
            "{line:?} taken for an Argon2id hash"
        );
        assert_eq!(h.as_str(), line);
        let shown = format!("{h:?}");
        assert!(!shown.contains("argon2"), "the hash shows in {shown}");
    }
    match Roles::parse(line) {
        Ok(r) => {
            for part in line.split('|').map(|p| p.trim().to_ascii_lowercase()) {
                match part.as_str() {
                    "picker" => assert!(r.picker),
                    "packer" => assert!(r.packer),
                    "supervisor" => assert!(r.supervisor),
                    "" => {}
                    other => panic!("role {other:?} accepted"),
                }
            }
        }
        Err(e) => assert!(e.to_string().contains("role"), "{e}"),
    }
}

fn gs1(line: &str) {
    let p = barcode::parse(line);
    let Some(g) = &p.gs1 else { return };
    for (ai, v) in &g.elements {
        assert!(digits(ai) && (2..=4).contains(&ai.len()), "AI {ai:?}");
        assert!(!v.is_empty(), "empty value for AI {ai}");
        match ai.as_str() {
            "00" => assert!(
                v.len() == 18
                    && digits(v)
                    && gtin_check_digit(&v[..17]) == Some(v.as_bytes()[17] - b'0'),
                "SSCC {v:?}"
            ),
            "01" | "02" => assert!(v.len() == 14 && digits(v), "GTIN {v:?}"),
            "11" | "12" | "13" | "15" | "16" | "17" => {
                assert!(real_date(v), "AI {ai} date {v:?}")
            }
            "20" => assert!(v.len() == 2 && digits(v)),
            "30" | "37" => assert!(v.len() <= 8 && digits(v), "AI {ai} count {v:?}"),
            a if a.len() == 4 && a.starts_with('3') => {
                assert!(v.len() == 6 && digits(v), "AI {ai} measure {v:?}")
            }
            _ => {}
        }
    }
    if let Some(e) = &g.expiry {
        assert!(real_date(e), "expiry {e:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n').chain(std::iter::once(text.as_ref())) {
        if line.trim_start().starts_with('@') {
            keypad(line);
        }
        command(line);
        secrets(line);
        gs1(line);
    }
});
