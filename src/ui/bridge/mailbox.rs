//! The one way a worker thread hands results to a window's UI thread: the worker posts
//! (changing what waits, under a lock) and the UI thread is woken once per burst of posts;
//! the UI thread takes everything waiting and shows it. Used by the station's screen
//! ([`super::Inbox`]: the newest view and lookup replies) and by the console (its answers).
//!
//! A poisoned lock (a thread panicked while holding it) is recovered, not re-panicked: what
//! waits is plain data changed in one step (a value replaced, an answer pushed), so it is
//! whole either way, and the screen should keep showing what did arrive instead of taking
//! the UI thread down with the worker. The panic itself is reported where it happened (the
//! thread's own panic message; the console's `shutdown` joins its worker).

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Wakes the UI thread (from any thread) so it takes what waits.
pub type Wake = Box<dyn Fn() + Send + Sync>;

struct Waiting<T> {
    items: T,
    /// A wake was sent and the UI thread has not taken since: no need for another.
    woken: bool,
}

pub struct Mailbox<T> {
    waiting: Mutex<Waiting<T>>,
    wake: Mutex<Option<Wake>>,
}

impl<T: Default> Default for Mailbox<T> {
    fn default() -> Self {
        Mailbox {
            waiting: Mutex::new(Waiting {
                items: T::default(),
                woken: false,
            }),
            wake: Mutex::new(None),
        }
    }
}

/// The lock, recovered if a panicking thread poisoned it (see the module's note).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Default> Mailbox<T> {
    /// How the UI thread is woken; until set, posts only wait (tests take them themselves).
    pub fn set_wake(&self, wake: Wake) {
        *lock(&self.wake) = Some(wake);
    }

    /// Changes what waits, then wakes the UI thread unless a wake is already on its way.
    /// The wake runs outside the lock.
    pub fn post(&self, f: impl FnOnce(&mut T)) {
        let wake_now = {
            let mut w = lock(&self.waiting);
            f(&mut w.items);
            !std::mem::replace(&mut w.woken, true)
        };
        if wake_now {
            if let Some(wake) = lock(&self.wake).as_ref() {
                wake();
            }
        }
    }

    /// Everything waiting; the next post wakes the UI thread again.
    pub fn take(&self) -> T {
        let mut w = lock(&self.waiting);
        w.woken = false;
        std::mem::take(&mut w.items)
    }

    /// A look at what waits, without taking it.
    pub fn peek<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&lock(&self.waiting).items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn one_wake_per_burst_and_a_poisoned_lock_keeps_what_was_posted() {
        let mail: Arc<Mailbox<Vec<u32>>> = Arc::default();
        let wakes = Arc::new(AtomicU64::new(0));
        {
            let wakes = wakes.clone();
            mail.set_wake(Box::new(move || {
                wakes.fetch_add(1, Ordering::SeqCst);
            }));
        }
        mail.post(|v| v.push(1));
        mail.post(|v| v.push(2));
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert_eq!(mail.take(), [1, 2]);
        // A poster that panics while holding the lock poisons it; the UI thread still takes.
        let m = mail.clone();
        let _ = std::thread::spawn(move || {
            m.post(|v| {
                v.push(3);
                panic!("a worker fails mid-post");
            })
        })
        .join();
        assert!(mail.waiting.is_poisoned());
        assert!(mail.peek(|v| v == &[3]));
        assert_eq!(mail.take(), [3]);
        mail.post(|v| v.push(4));
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
    }
}
