//! The crash harness: the headless station packs generated orders with a scale streaming on a
//! pty and is killed with SIGKILL, then restarted, again and again. Half the kills come from the
//! harness at random moments — during start-up, right after an input (while it decides and
//! commits), between inputs. The other half the station makes itself at a kill point
//! (`PACKBENCH_KILL_AT=<point>:<n>`, `src/killpoint.rs`), in turn: **before the commit** (the
//! events written into the open transaction), **inside the commit** (from SQLite's commit hook)
//! and **after the commit, before the event line** is printed.
//!
//! A kill counts only when the station died of SIGKILL (its exit signal) with no panic on its
//! stderr; anything else fails with the stderr tail. A kill-point kill counts only when the
//! station wrote `kill-point reached: <point>` just before it. Before and inside the commit
//! nothing of the killed append may be in the log; after the commit the killed batch must be
//! there, durable though never acknowledged (so the log may hold more than was printed).
//!
//! After every kill: every line the station printed is in the log (same seq, type, order);
//! `audit verify` passes; for every order, the units in the log are at least those printed as
//! accepted and at most those scanned (a unit is never counted twice) and never more than
//! ordered; after the restart the reopened order shows exactly the counts in the log. At the
//! end every packed order has a printed label, and each kill point was reached.
//!
//! The suite runs 20 kills. The long run: `PB_CRASH_KILLS=1000 cargo test --test crash --
//! --nocapture` (seed with `PB_CRASH_SEED`).

mod harness;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use harness::Due as Kill;
use harness::*;
use packbench::domain::event::EventType;
use packbench::killpoint::{self, Point};
use packbench::store::{EventLog, SqliteStore};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

/// The packer: works through the orders in sequence, reading where it is from what the
/// station shows after each restart, exactly like a person at the bench.
struct Packer {
    current: usize,
    /// Unit scans sent, per order.
    sent: HashMap<String, u32>,
    /// `item_accepted` lines seen, per order.
    acked: HashMap<String, u32>,
    /// Counts per SKU the log held for each order at the last kill: what a restart must show.
    expect_reopened: HashMap<String, HashMap<String, u32>>,
    /// Inputs left before the kill and the delay after the last one.
    inputs: Budget,
    /// Scan → line times seen so far (µs): kills are aimed at the end of that window, where
    /// the station commits.
    latencies: Vec<u64>,
    wrong_items: u32,
    reopened_checked: u32,
}

impl Packer {
    /// The next line `want` accepts; `Err(Kill)` when the station has ended (killed itself at
    /// its kill point; how it ended is checked by the caller).
    fn expect(
        st: &mut Station,
        what: &str,
        want: impl FnMut(&Value) -> bool,
    ) -> Result<Value, Kill> {
        match st.until(WAIT, want) {
            Some((_, v)) => Ok(v),
            None if st.exited() => Err(Kill),
            None => panic!("no {what}; seen: {:#?}", last(&st.seen)),
        }
    }

    /// Packs orders until the kill is due (or `until` orders are packed).
    fn work(
        &mut self,
        rig: &Rig,
        st: &mut Station,
        rng: &mut Rng,
        until: usize,
    ) -> Result<(), Kill> {
        self.inputs.scan(st, PACKER)?;
        Self::expect(st, "sign-in", |v| v["event"] == "packer_signed_in")?;
        while self.current < until {
            let o = rig.orders[self.current].clone();
            self.inputs.scan(st, &o.order_no)?;
            let v = Self::expect(st, "order answer", |v| {
                v["event"] == "order_loaded" || v["event"] == "scan_rejected"
            })?;
            if v["event"] == "scan_rejected" {
                assert_eq!(v["reason"], "order_already_packed", "{v}");
                self.current += 1;
                self.inputs.place(rig, 0.0)?;
                continue;
            }
            let (left, shown) = loaded_counts(&v);
            if let Some(want) = self.expect_reopened.remove(&o.order_no) {
                assert_shows_log(&shown, &want, &o.order_no);
                self.reopened_checked += 1;
            }
            // A wrong item: refused, counted nowhere. Not when every unit is already in (an
            // order restored complete after a kill): the parcel still on the scale packs it at
            // the next reading, and the wrong scan would race that.
            let wrong_item = rng.chance(0.1);
            if wrong_item && left.iter().any(|(_, n)| *n > 0) {
                let wrong = rig
                    .items
                    .iter()
                    .find(|i| o.lines.iter().all(|&(it, _)| rig.items[it].sku != i.sku))
                    .unwrap()
                    .barcode
                    .clone();
                self.inputs.scan(st, &wrong)?;
                let r = Self::expect(st, "refusal", |v| v["event"] == "scan_rejected")?;
                assert_eq!(
                    r["reason"],
                    "not_in_order",
                    "{r}; seen: {:#?}",
                    last(&st.seen)
                );
                self.wrong_items += 1;
            }
            for (sku, n) in left {
                let code = rig.barcode_of(&sku);
                for _ in 0..n {
                    *self.sent.entry(o.order_no.clone()).or_default() += 1;
                    self.inputs.scan(st, &code)?;
                    let (at, a) = match st.until(WAIT, |v| {
                        v["event"] == "item_accepted" || v["event"] == "scan_rejected"
                    }) {
                        Some(r) => r,
                        None if st.exited() => return Err(Kill),
                        None => panic!("no item_accepted; seen: {:#?}", last(&st.seen)),
                    };
                    if let Some(t) = self.inputs.sent_at.take() {
                        self.latencies.push(at.duration_since(t).as_micros() as u64);
                    }
                    assert_eq!(a["event"], "item_accepted", "{a}");
                    *self.acked.entry(o.order_no.clone()).or_default() += 1;
                }
            }
            self.inputs.place(rig, o.expected_g)?;
            // A check of the last parcel, still on the scale when the station was killed
            // before the packer lifted it, is a true mismatch the packer clears by placing
            // the right parcel: the reading moves and the station checks again.
            let want = o.expected_g;
            let p = Self::expect(st, "order_packed", |v| {
                v["event"] == "order_packed"
                    || (v["event"] == "weight_checked"
                        && v["ok"] == false
                        && v["measured_g"].as_f64() == Some(want))
            })?;
            assert_eq!(p["event"], "order_packed", "{p}");
            assert_eq!(p["order_no"], o.order_no.as_str());
            Self::expect(st, "label", |v| {
                v["event"] == "label_printed" && v["order_no"] == o.order_no.as_str()
            })?;
            self.current += 1;
            self.inputs.place(rig, 0.0)?;
        }
        Ok(())
    }
}

fn last(seen: &[Value]) -> &[Value] {
    &seen[seen.len().saturating_sub(8)..]
}

/// Everything that must hold with the station dead.
fn check_after_kill(rig: &Rig, printed: &[Value], packer: &mut Packer) {
    let store = SqliteStore::open(rig.db()).unwrap();
    let report = store.verify(None).unwrap();
    assert_eq!(report.error, None, "audit verify after a kill");
    let events = store.events(&Default::default()).unwrap();
    let by_seq: HashMap<i64, _> = events.iter().map(|e| (e.seq, e)).collect();
    for l in printed {
        let seq = l["seq"].as_i64().expect("seq on every line");
        let e = by_seq
            .get(&seq)
            .unwrap_or_else(|| panic!("printed event {l} is not in the log"));
        assert_eq!(l["event"], e.kind.as_str(), "seq {seq}");
        assert_eq!(l["order_no"].as_str(), e.order_no.as_deref(), "seq {seq}");
    }
    let (units, per_sku) = units_in_log(&store);
    for o in &rig.orders[..(packer.current + 1).min(rig.orders.len())] {
        let logged = units.get(&o.order_no).copied().unwrap_or(0);
        let acked = packer.acked.get(&o.order_no).copied().unwrap_or(0);
        let sent = packer.sent.get(&o.order_no).copied().unwrap_or(0);
        assert!(
            acked <= logged,
            "{}: {acked} accepted on screen, {logged} in the log",
            o.order_no
        );
        assert!(
            logged <= sent,
            "{}: {logged} in the log from {sent} scans",
            o.order_no
        );
        assert!(
            logged <= o.units(),
            "{}: {logged} of {} ordered",
            o.order_no,
            o.units()
        );
    }
    if let Some(o) = rig.orders.get(packer.current) {
        packer.expect_reopened.insert(
            o.order_no.clone(),
            per_sku.get(&o.order_no).cloned().unwrap_or_default(),
        );
    }
}

/// Did the kill leave a transaction half-written? In WAL mode a commit appends page frames and
/// marks the last one as the commit; frames of the current WAL generation (same salts as the
/// header) after the last commit mark belong to a transaction the kill cut off.
fn killed_mid_commit(wal: &std::path::Path) -> bool {
    let Ok(b) = std::fs::read(wal) else {
        return false;
    };
    if b.len() < 32 {
        return false;
    }
    let be = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    let (page, salt) = (be(8) as usize, (be(16), be(20)));
    let (mut at, mut tail) = (32, false);
    while at + 24 + page <= b.len() && (be(at + 8), be(at + 12)) == salt {
        tail = be(at + 4) == 0;
        at += 24 + page;
    }
    tail
}

#[derive(Default, Debug)]
struct Tally {
    kills: u32,
    /// Kills by the harness at a random moment, and where they landed:
    random: u32,
    at_start: u32,
    /// Killed with the last input's line not printed, but its event durable.
    committed_unprinted: u32,
    /// Killed with the last input's line not printed and nothing of it in the log.
    not_committed: u32,
    /// Killed after the last input's line was printed.
    after_line: u32,
    /// The WAL ended in frames of a transaction with no commit mark: killed inside a commit.
    mid_commit: u32,
    /// Kills the station made at a kill point (`PACKBENCH_KILL_AT`), each counted only when it
    /// confirmed on stderr that it got there.
    before_commit: u32,
    inside_commit: u32,
    after_commit_before_line: u32,
}

/// Which kill, by cycle: a third of them at the kill points in turn, the rest at random moments.
fn kill_point_of(k: u32) -> Option<Point> {
    match k % 6 {
        1 => Some(Point::BeforeCommit),
        3 => Some(Point::InsideCommit),
        5 => Some(Point::AfterCommit),
        _ => None,
    }
}

/// The events now in the log.
fn log_len(rig: &Rig) -> usize {
    SqliteStore::open(rig.db())
        .unwrap()
        .events(&Default::default())
        .unwrap()
        .len()
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_counts_nothing_twice() {
    let kills: u32 = env_or("PB_CRASH_KILLS", 20);
    let seed: u64 = env_or("PB_CRASH_SEED", 20261122);
    eprintln!("crash harness: {kills} kills, seed {seed}");
    let bin = bin::path();
    let rig = Rig::new(kills as usize + 20, seed, Duration::from_millis(5));
    // On failure, what the stations said on stderr.
    struct ShowStderr<'a>(&'a Rig);
    impl Drop for ShowStderr<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!("station stderr:\n{}", self.0.stderr_text());
            }
        }
    }
    let _show = ShowStderr(&rig);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut packer = Packer {
        current: 0,
        sent: HashMap::new(),
        acked: HashMap::new(),
        expect_reopened: HashMap::new(),
        inputs: Budget::default(),
        latencies: Vec::new(),
        wrong_items: 0,
        reopened_checked: 0,
    };
    let mut tally = Tally::default();
    let started = Instant::now();
    for k in 0..kills {
        let before = log_len(&rig);
        // This run's stderr starts here (the file takes every run's, appended).
        let err_from = rig.stderr_text().len();
        let point = kill_point_of(k);
        let mut st = match point {
            // The station kills itself the nth time it passes the point: n counts appends
            // (before and inside the commit) or batches of lines (after the commit).
            Some(p) => {
                let n = 1 + rng.below(12);
                rig.spawn_env(bin, &[(killpoint::VAR, format!("{}:{n}", p.name()))])
            }
            None => rig.spawn(bin),
        };
        let printed = if let Some(p) = point {
            packer.inputs.left = None;
            let r = packer.work(&rig, &mut st, &mut rng, rig.orders.len());
            assert!(r.is_err(), "ran out of orders before the kill point");
            let (status, printed) = st.kill_status();
            let stderr = rig.stderr_text()[err_from..].to_string();
            assert_died_of_sigkill(status, &stderr);
            assert!(
                stderr.lines().any(|l| l == p.marker()),
                "died of SIGKILL without confirming it reached {}; stderr:\n{stderr}",
                p.name()
            );
            let after = log_len(&rig);
            match p {
                // Nothing of the killed append may be in the log: only what was printed.
                Point::BeforeCommit | Point::InsideCommit => assert_eq!(
                    after,
                    before + printed.len(),
                    "killed {} left events that were never printed",
                    p.name()
                ),
                // The killed batch is durable though never acknowledged; the checks accept it
                // (the log may hold more than was printed, never less).
                Point::AfterCommit => assert!(
                    after > before + printed.len(),
                    "killed after the commit, yet nothing unprinted is in the log"
                ),
            }
            match p {
                Point::BeforeCommit => tally.before_commit += 1,
                Point::InsideCommit => tally.inside_commit += 1,
                Point::AfterCommit => tally.after_commit_before_line += 1,
            }
            printed
        } else if rng.chance(0.1) {
            // During start-up: opening the database, recovering the WAL, restoring the bench.
            spin(Duration::from_micros(rng.below(30_000)));
            let (status, printed) = st.kill_status();
            assert_died_of_sigkill(status, &rig.stderr_text()[err_from..]);
            tally.random += 1;
            tally.at_start += 1;
            printed
        } else {
            packer.inputs.left = Some(1 + rng.below(15) as u32);
            // Half the kills at any time up to 2 ms after the input; half aimed at 60–110 % of
            // the typical scan → line time, where the decision is being committed.
            packer.inputs.delay = if rng.chance(0.5) || packer.latencies.len() < 10 {
                Duration::from_micros(rng.below(2_000))
            } else {
                let mut l = packer.latencies.clone();
                l.sort_unstable();
                let typical = l[l.len() / 2];
                Duration::from_micros(typical * (60 + rng.below(51)) / 100)
            };
            let r = packer.work(&rig, &mut st, &mut rng, rig.orders.len());
            assert!(r.is_err(), "ran out of orders before the kill");
            let lines_before = st.seen.len();
            let (status, printed) = st.kill_status();
            assert_died_of_sigkill(status, &rig.stderr_text()[err_from..]);
            tally.random += 1;
            if killed_mid_commit(&rig.dir.path().join("bench.db-wal")) {
                tally.mid_commit += 1;
            }
            let after = log_len(&rig);
            let printed_now = printed.len();
            if printed_now > lines_before {
                tally.after_line += 1;
            } else if after > before + printed_now {
                tally.committed_unprinted += 1;
            } else {
                tally.not_committed += 1;
            }
            printed
        };
        tally.kills += 1;
        check_after_kill(&rig, &printed, &mut packer);
    }
    // A last clean run finishes the order in hand and two more; then a clean stop.
    packer.inputs.left = None;
    let mut st = rig.spawn(bin);
    let until = (packer.current + 3).min(rig.orders.len());
    assert!(packer.work(&rig, &mut st, &mut rng, until).is_ok());
    let (code, printed) = st.term();
    assert_eq!(code, Some(0));
    check_after_kill(&rig, &printed, &mut packer);

    // Every order up to here is packed with exactly its units, and has a printed label.
    let store = SqliteStore::open(rig.db()).unwrap();
    let (units, _) = units_in_log(&store);
    let events = store.events(&Default::default()).unwrap();
    for o in &rig.orders[..packer.current] {
        assert_eq!(
            units.get(&o.order_no).copied(),
            Some(o.units()),
            "{}",
            o.order_no
        );
        let rec = packbench::audit::order_record(&store, &o.order_no)
            .unwrap()
            .unwrap();
        assert_eq!(rec.status, "packed", "{}", o.order_no);
        assert!(
            events.iter().any(|e| e.kind == EventType::LabelPrinted
                && e.order_no.as_deref() == Some(o.order_no.as_str())),
            "{} was packed but no label was printed",
            o.order_no
        );
    }
    let out = bin::Pb::at(bin)
        .dir(rig.dir.path())
        .args(["audit", "verify", "--db", "bench.db"])
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "crash harness: kills by point: random moment {} (at start-up {}, line printed {}, \
         committed unprinted {}, not committed {}, WAL cut mid-commit {}), before commit {}, \
         inside commit {}, after commit before line {}; {} kills in all",
        tally.random,
        tally.at_start,
        tally.after_line,
        tally.committed_unprinted,
        tally.not_committed,
        tally.mid_commit,
        tally.before_commit,
        tally.inside_commit,
        tally.after_commit_before_line,
        tally.kills
    );
    eprintln!(
        "crash harness: {} orders packed, {} wrong items refused, {} reopened orders checked, {} events, {:.1} s",
        packer.current,
        packer.wrong_items,
        packer.reopened_checked,
        events.len(),
        started.elapsed().as_secs_f64()
    );
    if kills >= 6 {
        assert!(
            tally.before_commit > 0
                && tally.inside_commit > 0
                && tally.after_commit_before_line > 0,
            "every kill point reached and confirmed: {tally:?}"
        );
    }
    assert!(
        packer.current >= (kills / 4) as usize,
        "the shifts made progress"
    );
    assert!(
        packer.reopened_checked > 0,
        "restarts reopened orders in hand"
    );
}

/// The exit check itself: a process dead of SIGKILL passes; one that exited, or panicked
/// before it was killed, does not.
#[test]
fn a_kill_counts_only_for_a_sigkill_death_without_a_panic() {
    let run = |script: &str| {
        std::process::Command::new("sh")
            .args(["-c", script])
            .output()
            .unwrap()
    };
    let fails = |status, stderr: String| {
        std::panic::catch_unwind(move || assert_died_of_sigkill(status, &stderr)).is_err()
    };
    assert_died_of_sigkill(run("kill -9 $$").status, "");
    assert!(fails(run("exit 101").status, String::new()));
    assert!(fails(run("kill -15 $$").status, String::new()));
    let panicked = run("echo \"thread 'main' panicked at src/x.rs:1:1\" >&2; kill -9 $$");
    let stderr = String::from_utf8_lossy(&panicked.stderr).into_owned();
    assert!(fails(panicked.status, stderr));
}
