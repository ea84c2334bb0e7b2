//! Kill points, a testing aid for the crash harness (`tests/crash.rs`): with
//! `PACKBENCH_KILL_AT=<point>:<n>` the process sends itself SIGKILL the nth time it passes
//! `<point>`, so a kill lands there for certain rather than by chance:
//!
//! - `before-commit`: in an append, the events written into the open transaction, `COMMIT`
//!   not yet issued;
//! - `inside-commit`: in an append's `COMMIT`, from SQLite's commit hook. SQLite calls the hook
//!   once it has begun the commit and before it writes the transaction's frames to the WAL, so
//!   nothing of the transaction is durable yet; a kill in the middle of the frame writes is
//!   left to the harness's random moments (it reads the WAL to tell);
//! - `after-commit`: the events committed, their lines not yet written to stdout: durable but
//!   never acknowledged to the packer.
//!
//! Just before the kill it writes `kill-point reached: <point>` to stderr, so the harness counts
//! a kill at a point only when the station confirmed it got there.
//!
//! Only in test builds: the hook exists with the `testing` feature (which the crate's
//! dev-dependency on itself turns on for `cargo test` and `cargo bench`, so the harness's
//! `CARGO_BIN_EXE_packbench` has it) or in the library's own unit tests. A build without it
//! (`cargo build --release`, every bench in service) keeps [`Point`] and the calls, but they
//! are empty: no environment read, no commit hook, and the variable's name is not in the
//! binary, so `PACKBENCH_KILL_AT` set on a bench does nothing. Even where it is compiled in,
//! all it can do is end the process, which is exactly what the log is built to survive; it
//! never writes or changes data.

#[cfg(any(test, feature = "testing"))]
pub use armed::*;

/// The environment variable that arms a kill point (test builds only).
#[cfg(any(test, feature = "testing"))]
pub const VAR: &str = "PACKBENCH_KILL_AT";
/// What the station writes to stderr just before it kills itself, followed by the point.
#[cfg(any(test, feature = "testing"))]
pub const REACHED: &str = "kill-point reached: ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    BeforeCommit,
    InsideCommit,
    AfterCommit,
}

impl Point {
    pub const ALL: [Point; 3] = [Point::BeforeCommit, Point::InsideCommit, Point::AfterCommit];

    pub fn name(self) -> &'static str {
        match self {
            Point::BeforeCommit => "before-commit",
            Point::InsideCommit => "inside-commit",
            Point::AfterCommit => "after-commit",
        }
    }

    /// `<point>:<n>`, the variable's value; `n` counts from 1.
    #[cfg(any(test, feature = "testing"))]
    pub fn parse_setting(s: &str) -> Option<(Point, u64)> {
        let (p, n) = s.split_once(':')?;
        let p = Point::ALL.into_iter().find(|q| q.name() == p)?;
        let n: u64 = n.parse().ok()?;
        (n > 0).then_some((p, n))
    }

    /// The marker line the station writes on stderr before it kills itself here.
    #[cfg(any(test, feature = "testing"))]
    pub fn marker(self) -> String {
        format!("{REACHED}{}", self.name())
    }
}

/// The working hooks, in test builds.
#[cfg(any(test, feature = "testing"))]
mod armed {
    use super::{Point, VAR};
    use std::cell::Cell;
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    fn armed() -> Option<(Point, u64)> {
        static ARMED: OnceLock<Option<(Point, u64)>> = OnceLock::new();
        *ARMED.get_or_init(|| {
            let v = std::env::var(VAR).ok()?;
            let parsed = Point::parse_setting(&v);
            if parsed.is_none() {
                tracing::warn!("{VAR}={v} is not <point>:<n>; no kill point armed");
            }
            parsed
        })
    }

    /// Is the kill point `p` armed?
    pub fn armed_at(p: Point) -> bool {
        armed().is_some_and(|(q, _)| q == p)
    }

    /// The process passes `p`: on the armed pass, it says so on stderr and dies of SIGKILL.
    pub fn pass(p: Point) {
        static PASSES: AtomicU64 = AtomicU64::new(0);
        let Some((at, n)) = armed() else { return };
        if at != p || PASSES.fetch_add(1, Ordering::Relaxed) + 1 != n {
            return;
        }
        // Straight to stderr (unbuffered), not through `tracing`: the harness's confirmation must
        // be out before the kill whatever the log filter or format.
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", p.marker()).and_then(|_| err.flush());
        // SAFETY: kill(2) on this process's own pid.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }

    thread_local! {
        /// Set while an append commits: the commit hook acts on appends' commits only, so `n`
        /// counts appends as the other points do (not migrations' or imports' commits).
        static APPEND_COMMIT: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs an append's commit, the `inside-commit` point live for its commit hook.
    pub fn append_commit<T>(commit: impl FnOnce() -> T) -> T {
        APPEND_COMMIT.with(|c| c.set(true));
        let r = commit();
        APPEND_COMMIT.with(|c| c.set(false));
        r
    }

    /// For SQLite's commit hook: the `inside-commit` point, when the commit is an append's.
    pub fn in_commit_hook() {
        if APPEND_COMMIT.with(|c| c.get()) {
            pass(Point::InsideCommit);
        }
    }
}

/// The hooks of a build without `testing`: nothing, and nothing read.
#[cfg(not(any(test, feature = "testing")))]
mod inert {
    use super::Point;

    #[inline(always)]
    pub fn armed_at(_: Point) -> bool {
        false
    }

    #[inline(always)]
    pub fn pass(_: Point) {}

    #[inline(always)]
    pub fn append_commit<T>(commit: impl FnOnce() -> T) -> T {
        commit()
    }

    #[inline(always)]
    pub fn in_commit_hook() {}
}

#[cfg(not(any(test, feature = "testing")))]
pub use inert::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse() {
        assert_eq!(
            Point::parse_setting("inside-commit:3"),
            Some((Point::InsideCommit, 3))
        );
        assert_eq!(
            Point::parse_setting("after-commit:1"),
            Some((Point::AfterCommit, 1))
        );
        assert_eq!(Point::parse_setting("after-commit:0"), None);
        assert_eq!(Point::parse_setting("during:2"), None);
        assert_eq!(Point::parse_setting("7"), None);
    }
}
