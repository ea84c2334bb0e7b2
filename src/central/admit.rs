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
    let employee = employee.map_or(who, |e| e.id.as_str());
    match outcome {
        Ok(_) => tracing::info!(employee, outcome = "admitted", "console sign-in"),
        Err(r @ SignInRefusal::WrongPin { tries_left }) => tracing::warn!(
            employee,
            outcome = r.as_str(),
            tries_left,
            "console sign-in refused"
        ),
        Err(r @ SignInRefusal::Locked { failures }) => tracing::warn!(
            employee,
            outcome = r.as_str(),
            failures,
            "console sign-in refused"
        ),
        Err(
            r @ (SignInRefusal::Unknown
            | SignInRefusal::Inactive
            | SignInRefusal::NotSupervisor
            | SignInRefusal::NoPin),
        ) => {
            tracing::warn!(employee, outcome = r.as_str(), "console sign-in refused")
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

    #[test]
    fn only_an_active_supervisor_with_a_pin_is_let_in() {
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
    }

    #[test]
    fn wrong_pins_count_down_then_lock_until_the_minutes_pass() {
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
    }
}
