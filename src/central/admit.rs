//! Who may sign in to the supervisors' console: an active supervisor with the right PIN, not
//! locked after too many wrong ones. The PIN itself is checked by the centre (wrong ones
//! counted there, across every console and bench); the console only asks and words the
//! answer. The decision and its log line are here, so every refusal is logged the same way.

use crate::domain::order::Employee;
use crate::domain::pin::{PinHash, MAX_FAILURES};

use super::PinCheck;

/// Why a console sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// No employee has that id or badge.
    Unknown,
    Inactive,
    NotSupervisor,
    /// Locked after `failures` wrong PINs in a row; the PIN was not checked.
    Locked {
        failures: u32,
    },
    NoPin,
    WrongPin {
        tries_left: u32,
    },
}

impl SignInRefusal {
    /// For the log.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInRefusal::Unknown => "unknown",
            SignInRefusal::Inactive => "inactive",
            SignInRefusal::NotSupervisor => "not_supervisor",
            SignInRefusal::Locked { .. } => "locked",
            SignInRefusal::NoPin => "no_pin",
            SignInRefusal::WrongPin { .. } => "wrong_pin",
        }
    }
}

/// Decides whether `employee` (found by the id or badge typed as `who`) may sign in: only an
/// active supervisor's PIN is sent to the centre (`check`), so a packer's badge never counts
/// towards anyone's lockout. Admitted, the employee and the PIN's proof (the console's
/// credential for its reviews); `Err` only when the centre could not answer. Logs the
/// outcome with who it was, never the PIN.
pub fn admit<'a, E>(
    who: &str,
    employee: Option<&'a Employee>,
    check: impl FnOnce(&Employee) -> Result<PinCheck, E>,
) -> Result<Result<(&'a Employee, PinHash), SignInRefusal>, E> {
    let outcome = match employee {
        None => Err(SignInRefusal::Unknown),
        Some(e) if !e.active => Err(SignInRefusal::Inactive),
        Some(e) if !e.roles.supervisor => Err(SignInRefusal::NotSupervisor),
        Some(e) => match check(e)? {
            PinCheck::Right { proof } => Ok((e, proof)),
            PinCheck::Wrong { remaining, .. } => Err(SignInRefusal::WrongPin {
                tries_left: remaining,
            }),
            PinCheck::LockedNow { .. } | PinCheck::Locked { .. } => Err(SignInRefusal::Locked {
                failures: MAX_FAILURES,
            }),
            PinCheck::NoPin => Err(SignInRefusal::NoPin),
            PinCheck::Unknown => Err(SignInRefusal::Unknown),
            PinCheck::Inactive => Err(SignInRefusal::Inactive),
        },
    };
    match (&outcome, employee) {
        (Ok((e, _)), _) => {
            tracing::info!(employee = %e.id, outcome = "admitted", "console sign-in")
        }
        (Err(r), Some(e)) => tracing::warn!(
            employee = %e.id,
            outcome = r.as_str(),
            detail = ?r,
            "console sign-in refused"
        ),
        // Nobody has that id or badge: what was typed, escaped (it is free text).
        (Err(r), None) => {
            tracing::warn!(typed = ?who, outcome = r.as_str(), "console sign-in refused")
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::Roles;
    use std::convert::Infallible;

    fn employee(id: &str, supervisor: bool, active: bool) -> Employee {
        Employee {
            id: id.into(),
            name: "刘洋".into(),
            roles: Roles {
                supervisor,
                ..Default::default()
            },
            badge: format!("B{id}"),
            pin_hash: None,
            active,
        }
    }

    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Runs `f` with its log captured as text. Every test here calls `admit` inside one: a
    /// log line first reached with no subscriber listening is cached by tracing as unwanted,
    /// and a test running alongside would then miss it in its capture.
    fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
        let buf = Buf::default();
        let w = buf.clone();
        let log = tracing_subscriber::fmt()
            .with_writer(move || w.clone())
            .with_ansi(false)
            .finish();
        let out = tracing::subscriber::with_default(log, f);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        (out, text)
    }

    fn proof() -> PinHash {
        PinHash::parse("$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g").unwrap()
    }

    #[test]
    fn only_an_active_supervisor_is_checked_and_the_centre_decides_the_pin() {
        logged(|| {
            let asked = std::cell::Cell::new(0);
            let ask = |e: Option<&Employee>, answer: PinCheck| {
                admit("E005", e, |_| {
                    asked.set(asked.get() + 1);
                    Ok::<_, Infallible>(answer)
                })
                .unwrap()
                .map(|(e, _)| e.id.clone())
            };
            let right = || PinCheck::Right { proof: proof() };
            assert_eq!(ask(None, right()), Err(SignInRefusal::Unknown));
            let packer = employee("E003", false, true);
            assert_eq!(
                ask(Some(&packer), right()),
                Err(SignInRefusal::NotSupervisor)
            );
            let gone = employee("E006", true, false);
            assert_eq!(ask(Some(&gone), right()), Err(SignInRefusal::Inactive));
            assert_eq!(asked.get(), 0, "nobody's PIN goes to the centre for these");
            let sup = employee("E005", true, true);
            assert_eq!(ask(Some(&sup), PinCheck::NoPin), Err(SignInRefusal::NoPin));
            assert_eq!(
                ask(
                    Some(&sup),
                    PinCheck::Wrong {
                        failures: 2,
                        remaining: 3
                    }
                ),
                Err(SignInRefusal::WrongPin { tries_left: 3 })
            );
            assert_eq!(
                ask(Some(&sup), PinCheck::Locked { until: None }),
                Err(SignInRefusal::Locked {
                    failures: MAX_FAILURES
                })
            );
            assert_eq!(ask(Some(&sup), right()), Ok("E005".to_string()));
            assert_eq!(asked.get(), 4);
        });
    }

    #[test]
    fn the_centre_being_unreachable_is_an_error_not_a_refusal() {
        let sup = employee("E005", true, true);
        let r = admit("E005", Some(&sup), |_| Err("down"));
        assert_eq!(r.map(|x| x.is_ok()), Err("down"));
    }

    #[test]
    fn every_outcome_is_logged_with_who_and_never_the_pin() {
        let ((), text) = logged(|| {
            let packer = employee("E003", false, true);
            let sup = employee("E005", true, true);
            let gone = employee("E006", true, false);
            let check = |answer: PinCheck| move |_: &Employee| Ok::<_, Infallible>(answer);
            let right = PinCheck::Right { proof: proof() };
            let wrong = PinCheck::Wrong {
                failures: 1,
                remaining: 4,
            };
            assert!(admit("E003", Some(&packer), check(right.clone()))
                .unwrap()
                .is_err());
            assert!(admit("E006", Some(&gone), check(right.clone()))
                .unwrap()
                .is_err());
            assert!(admit("E005", Some(&sup), check(wrong)).unwrap().is_err());
            assert!(admit("E005", Some(&sup), check(right.clone()))
                .unwrap()
                .is_ok());
            assert!(admit("X9", None, check(right)).unwrap().is_err());
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        for (line, (who, outcome)) in lines.iter().zip([
            ("E003", "not_supervisor"),
            ("E006", "inactive"),
            ("E005", "wrong_pin"),
            ("E005", "admitted"),
            ("X9", "unknown"),
        ]) {
            assert!(line.contains(who) && line.contains(outcome), "{line}");
        }
        assert!(!text.contains("aGFzaGhh"), "a proof in the log: {text}");
    }
}
