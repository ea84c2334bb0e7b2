//! Who may sign in to the supervisors' console: an active supervisor with the right PIN, not
//! locked after too many wrong ones. The console only asks and words the answer; the decision
//! and its log line are here, so every refusal is logged the same way.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset};

use crate::domain::order::Employee;
use crate::domain::pin::{Pin, LOCK_MINUTES, MAX_FAILURES};

/// Why a console sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// No employee has that id or badge.
    Unknown,
    Inactive,
    NotSupervisor,
    /// `failures` wrong PINs within the last [`LOCK_MINUTES`]; the PIN was not checked.
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

/// Wrong PINs per employee and when the last one was typed; kept by the console for as long
/// as it runs (the station's own lockout is in its log).
#[derive(Debug, Default)]
pub struct PinFailures(HashMap<String, (u32, DateTime<FixedOffset>)>);

/// Decides whether `employee` (found by the id or badge typed as `who`) may sign in with
/// `pin` at `now`: the employee admitted, or why not. Counts a wrong PIN, and logs the
/// outcome with who it was, never the PIN.
pub fn admit<'a>(
    who: &str,
    employee: Option<&'a Employee>,
    pin: &Pin,
    failures: &mut PinFailures,
    now: DateTime<FixedOffset>,
) -> Result<&'a Employee, SignInRefusal> {
    let lock = Duration::minutes(LOCK_MINUTES);
    let outcome = match employee {
        None => Err(SignInRefusal::Unknown),
        Some(e) if !e.active => Err(SignInRefusal::Inactive),
        Some(e) if !e.roles.supervisor => Err(SignInRefusal::NotSupervisor),
        Some(e) => match failures.0.get(&e.id) {
            Some(&(n, last)) if n >= MAX_FAILURES && now - last < lock => {
                Err(SignInRefusal::Locked { failures: n })
            }
            _ => match &e.pin_hash {
                None => Err(SignInRefusal::NoPin),
                Some(hash) if hash.verify(pin) => {
                    failures.0.remove(&e.id);
                    Ok(e)
                }
                Some(_) => {
                    let f = failures.0.entry(e.id.clone()).or_insert((0, now));
                    if now - f.1 >= lock {
                        f.0 = 0;
                    }
                    f.0 += 1;
                    f.1 = now;
                    Err(SignInRefusal::WrongPin {
                        tries_left: MAX_FAILURES.saturating_sub(f.0),
                    })
                }
            },
        },
    };
    match (&outcome, employee) {
        (Ok(e), _) => tracing::info!(employee = %e.id, outcome = "admitted", "console sign-in"),
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
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::Roles;

    fn at(min: i64) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-22T09:00:00+08:00").unwrap() + Duration::minutes(min)
    }

    fn employee(id: &str, supervisor: bool, active: bool, pin: Option<&str>) -> Employee {
        Employee {
            id: id.into(),
            name: "刘洋".into(),
            roles: Roles {
                supervisor,
                ..Default::default()
            },
            badge: format!("B{id}"),
            pin_hash: pin.map(|p| Pin::new(p).hash()),
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

    #[test]
    fn only_an_active_supervisor_with_a_pin_is_let_in() {
        logged(|| {
            let mut f = PinFailures::default();
            let pin = Pin::new("2468");
            let mut ask =
                |e: Option<&Employee>| admit("E005", e, &pin, &mut f, at(0)).map(|e| e.id.clone());
            assert_eq!(ask(None), Err(SignInRefusal::Unknown));
            let packer = employee("E003", false, true, Some("2468"));
            assert_eq!(ask(Some(&packer)), Err(SignInRefusal::NotSupervisor));
            let gone = employee("E006", true, false, Some("2468"));
            assert_eq!(ask(Some(&gone)), Err(SignInRefusal::Inactive));
            let no_pin = employee("E007", true, true, None);
            assert_eq!(ask(Some(&no_pin)), Err(SignInRefusal::NoPin));
            let sup = employee("E005", true, true, Some("2468"));
            assert_eq!(ask(Some(&sup)), Ok("E005".to_string()));
        });
    }

    #[test]
    fn wrong_pins_count_down_then_lock_until_the_minutes_pass() {
        logged(|| {
            let mut f = PinFailures::default();
            let sup = employee("E005", true, true, Some("2468"));
            let (wrong, right) = (Pin::new("0000"), Pin::new("2468"));
            for n in 1..=MAX_FAILURES {
                assert_eq!(
                    admit("E005", Some(&sup), &wrong, &mut f, at(0)),
                    Err(SignInRefusal::WrongPin {
                        tries_left: MAX_FAILURES - n
                    })
                );
            }
            // Locked: even the right PIN is not checked.
            assert_eq!(
                admit("E005", Some(&sup), &right, &mut f, at(LOCK_MINUTES - 1)),
                Err(SignInRefusal::Locked {
                    failures: MAX_FAILURES
                })
            );
            assert_eq!(
                admit("E005", Some(&sup), &right, &mut f, at(LOCK_MINUTES)),
                Ok(&sup)
            );
            // A success forgets the count: the next wrong PIN is the first again.
            assert_eq!(
                admit("E005", Some(&sup), &wrong, &mut f, at(LOCK_MINUTES)),
                Err(SignInRefusal::WrongPin {
                    tries_left: MAX_FAILURES - 1
                })
            );
        });
    }

    #[test]
    fn every_outcome_is_logged_with_who_and_never_the_pin() {
        let ((), text) = logged(|| {
            let mut f = PinFailures::default();
            let packer = employee("E003", false, true, Some("1357"));
            let sup = employee("E005", true, true, Some("2468"));
            let gone = employee("E006", true, false, Some("3579"));
            assert!(admit("E003", Some(&packer), &Pin::new("1357"), &mut f, at(0)).is_err());
            assert!(admit("E006", Some(&gone), &Pin::new("3579"), &mut f, at(0)).is_err());
            assert!(admit("E005", Some(&sup), &Pin::new("9753"), &mut f, at(0)).is_err());
            assert!(admit("E005", Some(&sup), &Pin::new("2468"), &mut f, at(0)).is_ok());
            assert!(admit("X9", None, &Pin::new("8642"), &mut f, at(0)).is_err());
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
        for pin in ["1357", "3579", "9753", "2468", "8642"] {
            assert!(!text.contains(pin), "a PIN in the log: {text}");
        }
    }
}
