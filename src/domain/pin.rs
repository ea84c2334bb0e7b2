//! PINs: 4 to 8 digits (a supervisor's at least 6), kept only as Argon2id hashes (PHC strings
//! with their own salt) at a cost that makes a stolen copy expensive to attack: 64 MiB and 3
//! passes per guess ([`COST_M_KIB`], [`COST_T`]).
//!
//! A PIN in clear lives only as long as the input that carries it: [`Pin`] and [`PinHash`]
//! print as `***` in any `Debug` output, and neither serialises, so no log line, event or
//! JSON output can carry one by accident.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};

/// Wrong PINs in a row that lock a badge.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked badge stays locked.
pub const LOCK_MINUTES: i64 = 5;
/// Argon2id memory per hash, in KiB (64 MiB), and passes: a hash cheaper than either is
/// replaced on the next right entry.
pub const COST_M_KIB: u32 = 65_536;
pub const COST_T: u32 = 3;
/// The shortest PIN a supervisor may have: their PIN approves what a packer cannot.
pub const SUPERVISOR_MIN_DIGITS: usize = 6;

fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(COST_M_KIB, COST_T, 1, None).expect("valid Argon2 parameters"),
    )
}

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
    pub fn valid(typed: &str) -> Result<Pin, PinError> {
        let t = typed.trim();
        if !(4..=8).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PinError::Form);
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

    /// 4 to 8 digits, and at least [`SUPERVISOR_MIN_DIGITS`] for a supervisor.
    pub fn valid_for(typed: &str, supervisor: bool) -> Result<Pin, PinError> {
        let pin = Pin::valid(typed)?;
        if supervisor && pin.len() < SUPERVISOR_MIN_DIGITS {
            return Err(PinError::SupervisorForm);
        }
        Ok(pin)
    }

    /// A new Argon2id hash of this PIN with a fresh random salt, at today's cost.
    pub fn hash(&self) -> PinHash {
        let salt = SaltString::generate(&mut OsRng);
        let h = hasher()
            .hash_password(self.0.as_bytes(), &salt)
            .expect("Argon2id with fixed parameters hashes any input");
        PinHash(h.to_string())
    }

    /// This PIN hashed with the salt and cost of `params` (a stored hash's PHC string
    /// without its hash, as the centre gives it): equal to the stored hash exactly when the
    /// PIN is right, so the centre can check a PIN without anyone reading its hash.
    pub fn proof(&self, params: &str) -> Result<PinHash, PinError> {
        let bad = || PinError::CentreParams;
        let ph = PasswordHash::new(params).map_err(|_| bad())?;
        if ph.algorithm.as_str() != "argon2id" {
            return Err(bad());
        }
        let salt = ph.salt.ok_or_else(bad)?;
        let p = Params::try_from(&ph).map_err(|_| bad())?;
        // Never hash at a cost a bench cannot afford, whatever the centre asks.
        if p.m_cost() > 1 << 20 || p.t_cost() > 16 {
            return Err(bad());
        }
        let h = Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
            .hash_password(self.0.as_bytes(), salt)
            .map_err(|_| bad())?;
        Ok(PinHash(h.to_string()))
    }
}

/// A PIN, a PIN hash or the centre's hash parameters that are not of their form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("a PIN is 4 to 8 digits")]
    Form,
    #[error("a supervisor's PIN is {} to 8 digits", SUPERVISOR_MIN_DIGITS)]
    SupervisorForm,
    #[error("the centre's PIN parameters are not an Argon2id PHC string")]
    CentreParams,
    #[error("not an Argon2id PIN hash")]
    NotAHash,
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
    pub fn parse(s: &str) -> Result<PinHash, PinError> {
        match PasswordHash::new(s) {
            Ok(h) if h.algorithm.as_str() == "argon2id" && h.salt.is_some() && h.hash.is_some() => {
                Ok(PinHash(s.to_string()))
            }
            _ => Err(PinError::NotAHash),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this hash costs less than today's ([`COST_M_KIB`], [`COST_T`]).
    pub fn needs_rehash(&self) -> bool {
        match PasswordHash::new(&self.0)
            .ok()
            .and_then(|h| Params::try_from(&h).ok())
        {
            Some(p) => p.m_cost() < COST_M_KIB || p.t_cost() < COST_T,
            None => true,
        }
    }

    /// The PHC string without its hash: the algorithm, cost and salt, which a PIN check
    /// needs and which say nothing about the PIN.
    pub fn params(&self) -> &str {
        self.0.rsplit_once('$').map_or("", |(p, _)| p)
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
    fn the_cost_is_64_mib_and_3_passes_and_cheaper_hashes_are_redone() {
        let h = Pin::valid("482193").unwrap().hash();
        assert!(h.as_str().contains("$m=65536,t=3,p=1$"), "{}", h.as_str());
        assert!(!h.needs_rehash());
        let old = PinHash(
            Argon2::default()
                .hash_password(b"482193", &SaltString::generate(&mut OsRng))
                .unwrap()
                .to_string(),
        );
        assert!(old.needs_rehash(), "{}", old.as_str());
        assert!(old.verify(&Pin::new("482193")), "old hashes still verify");
    }

    #[test]
    fn a_proof_from_the_params_equals_the_hash_only_for_the_right_pin() {
        let h = Pin::valid("482193").unwrap().hash();
        let params = h.params();
        assert!(params.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"));
        assert!(!h.as_str()[params.len() + 1..].is_empty());
        assert_eq!(Pin::new("482193").proof(params).unwrap(), h);
        assert_ne!(Pin::new("482194").proof(params).unwrap(), h);
        assert!(Pin::new("1").proof("$pbkdf2$x").is_err());
        assert!(
            Pin::new("1")
                .proof("$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0")
                .is_err(),
            "a cost no bench can afford is refused"
        );
    }

    #[test]
    fn supervisors_pins_are_at_least_six_digits() {
        assert!(Pin::valid_for("1234", false).is_ok());
        assert!(Pin::valid_for("1234", true).is_err());
        assert!(Pin::valid_for("12345", true).is_err());
        assert!(Pin::valid_for("123456", true).is_ok());
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
