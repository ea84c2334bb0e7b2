//! PINs: 4 to 8 digits, kept only as Argon2id hashes (PHC strings with their own salt).
//!
//! A PIN in clear lives only as long as the input that carries it: [`Pin`] and [`PinHash`]
//! print as `***` in any `Debug` output, and neither serialises, so no log line, event or
//! JSON output can carry one by accident.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};

/// Wrong PINs in a row that lock a badge.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked badge stays locked.
pub const LOCK_MINUTES: i64 = 5;

/// A PIN as typed, for as long as it takes to check or hash it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(***)")
    }
}

impl Pin {
    /// A PIN as typed; its form is checked where it matters ([`Pin::valid`]), so a wrong
    /// length typed at the bench counts as a wrong PIN rather than as something else.
    pub fn new(typed: &str) -> Pin {
        Pin(typed.trim().to_string())
    }

    /// 4 to 8 ASCII digits: the form an import or `employee pin` accepts.
    pub fn valid(typed: &str) -> Result<Pin, String> {
        let t = typed.trim();
        if !(4..=8).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a PIN is 4 to 8 digits".into());
        }
        Ok(Pin(t.to_string()))
    }

    /// Digits typed so far, for a keypad's masked display.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A new Argon2id hash of this PIN with a fresh random salt.
    pub fn hash(&self) -> PinHash {
        let salt = SaltString::generate(&mut OsRng);
        let h = Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .expect("Argon2id with default parameters hashes any input");
        PinHash(h.to_string())
    }
}

/// An Argon2id PHC string (`$argon2id$v=19$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash(String);

impl std::fmt::Debug for PinHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinHash(***)")
    }
}

impl PinHash {
    /// A stored hash; anything that is not an Argon2id PHC string is refused, so a PIN
    /// stored in clear by some other tool never counts as a hash. A PHC string without its
    /// salt or its hash (`$argon2id`) is refused too: no PIN could ever verify against it.
    pub fn parse(s: &str) -> Result<PinHash, String> {
        match PasswordHash::new(s) {
            Ok(h) if h.algorithm.as_str() == "argon2id" && h.salt.is_some() && h.hash.is_some() => {
                Ok(PinHash(s.to_string()))
            }
            _ => Err("not an Argon2id PIN hash".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `pin` is the PIN of this hash (constant-time in the argon2 crate).
    pub fn verify(&self, pin: &Pin) -> bool {
        match PasswordHash::new(&self.0) {
            Ok(h) => Argon2::default()
                .verify_password(pin.0.as_bytes(), &h)
                .is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_pin_only_and_never_shows_it() {
        let pin = Pin::valid("4821").unwrap();
        let h = pin.hash();
        assert!(h.as_str().starts_with("$argon2id$"), "{}", h.as_str());
        assert!(!h.as_str().contains("4821"));
        assert!(h.verify(&Pin::new("4821")));
        assert!(!h.verify(&Pin::new("4822")));
        assert!(!h.verify(&Pin::new("")));
        assert_ne!(pin.hash(), h, "a fresh salt each time");
        assert_eq!(format!("{pin:?} {h:?}"), "Pin(***) PinHash(***)");
        assert_eq!(PinHash::parse(h.as_str()).unwrap(), h);
    }

    #[test]
    fn pins_are_four_to_eight_digits() {
        for ok in ["0000", "12345678", " 1234 "] {
            assert!(Pin::valid(ok).is_ok(), "{ok}");
        }
        for bad in ["123", "123456789", "12a4", "", "１２３４"] {
            assert!(Pin::valid(bad).is_err(), "{bad}");
        }
        assert!(
            PinHash::parse("1234").is_err(),
            "a PIN in clear is not a hash"
        );
    }
}
