//! The power-cut harness. SIGKILL (`tests/crash.rs`) cannot lose what the kernel already has:
//! the page cache outlives a killed process, so that harness would pass with
//! `synchronous=OFF`. Here the station's database lives on a lazy filesystem
//! (`tests/lazyfs`: FUSE in this process) that keeps every write not yet fsynced in memory and
//! drops it at a cut, as a power cut does (the LazyFS approach).
//!
//! One cut: the headless station packs generated orders (scanner on stdin, scale on a pty,
//! the printer a file off the lazy disk: paper survives a power cut) and is stopped at a
//! random moment — during start-up, right after an input while it decides and commits, or
//! between inputs — with SIGKILL and reaped, so nothing is in flight; then every unsynced
//! write is dropped and the station restarts on what survived. The lazy disk takes 300 µs a
//! write and 1 ms an fsync, so cuts also land between a commit's WAL writes and its fsync
//! (those writes are lost) and between its fsync and its line (durable, never acknowledged).
//! After every cut:
//! - every line the station printed (acknowledged) is in the log with the same seq, type and
//!   order;
//! - `verify` passes on the chain;
//! - per order, the units in the log are at least those acknowledged, at most those scanned and
//!   never more than ordered (an event committed durably but not yet printed may be there);
//! - every `label_printed` in the log is a label the printer received (never counted printed
//!   when it was not), so with the first check no acknowledged label is lost;
//! - after the restart, the reopened order shows exactly the counts in the log.
//!
//! At the end every packed order has exactly its units, a `label_printed` and a label on paper,
//! and the cuts dropped unsynced writes (the filesystem really simulated something).
//!
//! The bug it exists to catch: with `PACKBENCH_TEST_SYNCHRONOUS=OFF` (a test-only switch,
//! `src/store/sqlite.rs`) SQLite never fsyncs, and the harness must report lost acknowledged
//! events; `synchronous_off_loses_acknowledged_events_and_the_harness_finds_them` proves it does.
//!
//! The suite runs 30 cuts. The long run: `PB_POWER_CUTS=1000 cargo test --test power --
//! --nocapture power_cuts` (seed with `PB_POWER_SEED`; `PB_POWER_OFF_CUTS` for the OFF run's
//! cuts). Needs root, /dev/fuse and FUSE in the kernel: a failed mount fails the test.

mod harness;
mod lazyfs;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::Due as Cut;
use harness::*;
use lazyfs::{Dropped, LazyFs};
use packbench::domain::event::EventType;
use packbench::store::{EventLog, SqliteStore};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);
/// How long each write and fsync on the lazy disk takes (see `LazyFs::set_latency`).
const WRITE_LATENCY: Duration = Duration::from_micros(300);
const FSYNC_LATENCY: Duration = Duration::from_millis(1);

/// A rig whose database sits on a lazy filesystem. Field order: the filesystem is unmounted
/// before the rig's folder is removed.
struct PowerRig {
    fs: LazyFs,
    rig: Rig,
    db: PathBuf,
}

impl PowerRig {
    fn new(n_orders: usize, seed: u64) -> PowerRig {
        let rig = Rig::new(n_orders, seed, Duration::from_millis(5));
        let (backing, mnt) = (rig.dir.path().join("disk"), rig.dir.path().join("mnt"));
        std::fs::create_dir(&backing).unwrap();
        std::fs::create_dir(&mnt).unwrap();
        // The imported database (closed, its WAL checkpointed away) is the disk's durable
        // state at power-on.
        for ext in ["", "-wal", "-shm"] {
            let from = rig.dir.path().join(format!("bench.db{ext}"));
            if from.exists() {
                std::fs::rename(&from, backing.join(format!("bench.db{ext}"))).unwrap();
            }
        }
        let fs = LazyFs::mount(&backing, &mnt).unwrap_or_else(|e| panic!("{e}"));
        let db = mnt.join("bench.db");
        let toml = rig.dir.path().join("station.toml");
        let cfg = std::fs::read_to_string(&toml).unwrap();
        assert!(cfg.contains("database = \"bench.db\""), "{cfg}");
        let cfg = cfg.replace(
            "database = \"bench.db\"",
            &format!("database = \"{}\"", db.display()),
        );
        std::fs::write(&toml, cfg).unwrap();
        PowerRig { fs, rig, db }
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.db).unwrap()
    }

    fn labels(&self) -> Vec<u8> {
        std::fs::read(self.rig.dir.path().join("labels.bin")).unwrap_or_default()
    }
}

/// The printer's paper, read as it grows: labels per order. The file is split at each
/// label's cut command and a label counts for the order number it carries; bytes after the
/// last cut wait for the rest of their label.
#[derive(Default)]
struct Paper {
    read: usize,
    labels: HashMap<String, u32>,
}

impl Paper {
    const CUT: &'static [u8] = b"\x1dV";

    fn update(&mut self, file: &[u8]) -> &HashMap<String, u32> {
        let mut rest = &file[self.read..];
        while let Some(i) = rest.windows(Self::CUT.len()).position(|w| w == Self::CUT) {
            let label = &rest[..i + Self::CUT.len()];
            // The generated orders are SOAK and 7 digits (in text; a barcode may split them).
            if let Some(no) = label
                .windows(11)
                .find(|w| w.starts_with(b"SOAK") && w[4..].iter().all(u8::is_ascii_digit))
            {
                let no = String::from_utf8_lossy(no).into_owned();
                *self.labels.entry(no).or_insert(0) += 1;
            }
            self.read += label.len();
            rest = &rest[label.len()..];
        }
        &self.labels
    }
}

/// The packer: works through the orders, reading where it is from what the station shows after
/// each restart.
struct Packer {
    current: usize,
    /// Units in the log per order at the last check: what the station showed on reopening.
    base: HashMap<String, u32>,
    /// Unit scans sent this run, per order.
    sent: HashMap<String, u32>,
    /// Counts per SKU the log held for the order in hand at the last cut.
    expect_reopened: HashMap<String, HashMap<String, u32>>,
    /// Inputs left before the cut and the delay after the last one.
    inputs: Budget,
    /// Scan → line times (µs): cuts are aimed at the end of that window, where it commits.
    latencies: Vec<u64>,
    reopened_checked: u32,
    paper: Paper,
}

impl Packer {
    fn new() -> Packer {
        Packer {
            current: 0,
            base: HashMap::new(),
            sent: HashMap::new(),
            expect_reopened: HashMap::new(),
            inputs: Budget::default(),
            latencies: Vec::new(),
            reopened_checked: 0,
            paper: Paper::default(),
        }
    }

    fn expect(st: &mut Station, what: &str, want: impl FnMut(&Value) -> bool) -> Value {
        st.until(WAIT, want)
            .unwrap_or_else(|| {
                panic!(
                    "no {what}; seen: {:#?}",
                    &st.seen[st.seen.len().saturating_sub(8)..]
                )
            })
            .1
    }

    /// Packs orders until the cut is due or `until` orders are packed.
    fn work(&mut self, rig: &Rig, st: &mut Station, until: usize) -> Result<(), Cut> {
        self.inputs.scan(st, PACKER)?;
        Self::expect(st, "sign-in", |v| v["event"] == "packer_signed_in");
        while self.current < until {
            let o = rig.orders[self.current].clone();
            self.inputs.scan(st, &o.order_no)?;
            let v = Self::expect(st, "order answer", |v| {
                v["event"] == "order_loaded" || v["event"] == "scan_rejected"
            });
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
            for (sku, n) in left {
                let code = rig.barcode_of(&sku);
                for _ in 0..n {
                    *self.sent.entry(o.order_no.clone()).or_default() += 1;
                    self.inputs.scan(st, &code)?;
                    let (at, a) = st
                        .until(WAIT, |v| {
                            v["event"] == "item_accepted" || v["event"] == "scan_rejected"
                        })
                        .unwrap_or_else(|| panic!("no item_accepted; seen: {:#?}", st.seen));
                    if let Some(t) = self.inputs.sent_at.take() {
                        self.latencies.push(at.duration_since(t).as_micros() as u64);
                    }
                    assert_eq!(a["event"], "item_accepted", "{a}");
                }
            }
            self.inputs.place(rig, o.expected_g)?;
            // The last parcel may still be on the scale from before the cut: a true mismatch
            // the packer clears by placing the right parcel.
            let want = o.expected_g;
            let p = Self::expect(st, "order_packed", |v| {
                v["event"] == "order_packed"
                    || (v["event"] == "weight_checked"
                        && v["ok"] == false
                        && v["measured_g"].as_f64() == Some(want))
            });
            assert_eq!(p["event"], "order_packed", "{p}");
            Self::expect(st, "label", |v| {
                v["event"] == "label_printed" && v["order_no"] == o.order_no.as_str()
            });
            self.current += 1;
            self.inputs.place(rig, 0.0)?;
        }
        Ok(())
    }
}

/// What the checks after one cut found.
#[derive(Debug, Default)]
struct Findings {
    /// Acknowledged events (printed lines) missing from the log, or different there.
    lost_events: Vec<String>,
    /// Orders holding fewer units than were acknowledged.
    lost_units: Vec<String>,
    /// Anything else that must never happen: a broken chain, units counted twice or beyond
    /// the order, a label counted printed that the printer never got.
    broken: Vec<String>,
    events_checked: u64,
    labels_checked: u64,
}

impl Findings {
    fn clean(&self) -> bool {
        self.lost_events.is_empty() && self.lost_units.is_empty() && self.broken.is_empty()
    }
}

/// Everything that must hold after a cut, with the station dead and the writes dropped. Reports
/// rather than panics, so the synchronous=OFF test can show what it finds.
fn check_after_cut(pr: &PowerRig, printed: &[Value], packer: &mut Packer) -> Findings {
    let mut f = Findings::default();
    let store = pr.store();
    let report = store.verify(None).unwrap();
    if let Some(e) = report.error {
        f.broken.push(format!("verify: {e:?}"));
    }
    let events = store.events(&Default::default()).unwrap();
    let by_seq: HashMap<i64, _> = events.iter().map(|e| (e.seq, e)).collect();
    let mut acked: HashMap<String, u32> = HashMap::new();
    for l in printed {
        let seq = l["seq"].as_i64().expect("seq on every line");
        f.events_checked += 1;
        match by_seq.get(&seq) {
            None => f
                .lost_events
                .push(format!("seq {seq} ({}) is not in the log", l["event"])),
            Some(e)
                if l["event"] != e.kind.as_str()
                    || l["order_no"].as_str() != e.order_no.as_deref() =>
            {
                f.lost_events.push(format!(
                    "seq {seq} printed as {} {}, in the log {} {:?}",
                    l["event"],
                    l["order_no"],
                    e.kind.as_str(),
                    e.order_no
                ))
            }
            Some(_) => {}
        }
        if l["event"] == "item_accepted" {
            let o = l["order_no"].as_str().unwrap().to_string();
            *acked.entry(o).or_default() += l["units"].as_u64().unwrap_or(1) as u32;
        }
    }
    let (units, per_sku) = units_in_log(&store);
    for o in &pr.rig.orders {
        let logged = units.get(&o.order_no).copied().unwrap_or(0);
        let base = packer.base.get(&o.order_no).copied().unwrap_or(0);
        let acked = base + acked.get(&o.order_no).copied().unwrap_or(0);
        let sent = base + packer.sent.get(&o.order_no).copied().unwrap_or(0);
        if logged < acked {
            f.lost_units.push(format!(
                "{}: {acked} accepted on screen, {logged} in the log",
                o.order_no
            ));
        }
        if logged > sent {
            f.broken.push(format!(
                "{}: {logged} in the log from {sent} scans",
                o.order_no
            ));
        }
        if logged > o.units() {
            f.broken
                .push(format!("{}: {logged} of {} ordered", o.order_no, o.units()));
        }
    }
    // Never counted printed when it was not: each label_printed is a label on paper.
    let paper = packer.paper.update(&pr.labels());
    let mut logged_labels: HashMap<&str, u32> = HashMap::new();
    for e in events.iter().filter(|e| e.kind == EventType::LabelPrinted) {
        *logged_labels
            .entry(e.order_no.as_deref().unwrap())
            .or_default() += 1;
    }
    for (o, n) in logged_labels {
        f.labels_checked += u64::from(n);
        let on_paper = paper.get(o).copied().unwrap_or(0);
        if n > on_paper {
            f.broken.push(format!(
                "{o}: {n} labels logged as printed, {on_paper} on paper"
            ));
        }
    }
    // What survived is the new truth the station will show: the next run counts from it.
    packer.base = units;
    packer.sent.clear();
    if let Some(o) = pr.rig.orders.get(packer.current) {
        packer.expect_reopened.insert(
            o.order_no.clone(),
            per_sku.get(&o.order_no).cloned().unwrap_or_default(),
        );
    }
    f
}

#[derive(Debug, Default)]
struct Tally {
    cuts: u32,
    at_start: u32,
    /// The last input's line printed before the cut.
    after_line: u32,
    /// The last input's line not printed, its event durable.
    committed_unprinted: u32,
    /// The last input's line not printed, nothing of it in the log.
    not_committed: u32,
    /// Cuts that dropped unsynced writes, and what they dropped.
    cuts_dropping: u32,
    /// Cuts that dropped writes to the database or its WAL (not just the `-shm` index).
    cuts_dropping_data: u32,
    dropped: Dropped,
    events_checked: u64,
    labels_checked: u64,
    lost_events: u64,
    lost_units: u64,
    broken: u64,
    /// The first findings, word for word.
    first_findings: Vec<String>,
}

/// The events now in the log (a plain count: the full checks come after the cut).
fn log_len(pr: &PowerRig) -> usize {
    let c = rusqlite::Connection::open(&pr.db).unwrap();
    c.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize
}

/// `cuts` power cuts at random moments of a shift; `off`: the station runs with the test-only
/// `synchronous=OFF`. With `strict` every finding fails at once; otherwise they are tallied.
fn run_cuts(cuts: u32, seed: u64, off: bool, strict: bool) -> (Tally, Packer, PowerRig) {
    let pr = PowerRig::new(2 * cuts as usize + 20, seed);
    pr.fs.set_latency(WRITE_LATENCY, FSYNC_LATENCY);
    let env: Vec<(&str, String)> = if off {
        vec![(packbench::store::sqlite::TEST_SYNCHRONOUS_VAR, "OFF".into())]
    } else {
        Vec::new()
    };
    let mut rng = Rng::new(seed ^ 0x90_3e4);
    let mut packer = Packer::new();
    let mut t = Tally::default();
    for _ in 0..cuts {
        let before = log_len(&pr);
        let err_from = pr.rig.stderr_text().len();
        let mut st = pr.rig.spawn_env(bin::path(), &env);
        let (lines_before, at_start) = if rng.chance(0.1) {
            // During start-up: opening the database, recovering the WAL, restoring the bench.
            spin(Duration::from_micros(rng.below(30_000)));
            (0, true)
        } else {
            packer.inputs.left = Some(1 + rng.below(15) as u32);
            // A fifth between inputs (up to 20 ms after the last, its line mostly printed);
            // of the rest, half up to 2 ms after the input and half aimed at 60–110 % of the
            // typical scan → line time, where the station commits.
            packer.inputs.delay = if rng.chance(0.2) {
                Duration::from_micros(rng.below(20_000))
            } else if rng.chance(0.5) || packer.latencies.len() < 10 {
                Duration::from_micros(rng.below(2_000))
            } else {
                let mut l = packer.latencies.clone();
                l.sort_unstable();
                Duration::from_micros(l[l.len() / 2] * (60 + rng.below(51)) / 100)
            };
            let r = packer.work(&pr.rig, &mut st, pr.rig.orders.len());
            assert!(r.is_err(), "ran out of orders before the cut");
            (st.seen.len(), false)
        };
        let (status, printed) = st.kill_status();
        assert_died_of_sigkill(status, &pr.rig.stderr_text()[err_from..]);
        // The station is reaped: nothing is in flight. Power off.
        if std::env::var_os("PB_POWER_DEBUG").is_some() {
            let mut l = packer.latencies.clone();
            l.sort_unstable();
            eprintln!(
                "cut after {:?} (typical latency {:?} µs), {} lines; pending: {:?}",
                packer.inputs.delay,
                l.get(l.len() / 2),
                printed.len(),
                pr.fs.pending_files()
            );
        }
        let d = pr.fs.cut();
        t.cuts += 1;
        if d.bytes > 0 || d.truncates > 0 {
            t.cuts_dropping += 1;
        }
        if d.bytes > d.shm_bytes {
            t.cuts_dropping_data += 1;
        }
        t.dropped.add(&d);
        let after = log_len(&pr);
        if at_start {
            t.at_start += 1;
        } else if printed.len() > lines_before {
            t.after_line += 1;
        } else if after > before + printed.len() {
            t.committed_unprinted += 1;
        } else {
            t.not_committed += 1;
        }
        let f = check_after_cut(&pr, &printed, &mut packer);
        if strict {
            assert!(f.clean(), "after cut {}: {f:#?}", t.cuts);
        }
        t.events_checked += f.events_checked;
        t.labels_checked += f.labels_checked;
        t.lost_events += f.lost_events.len() as u64;
        t.lost_units += f.lost_units.len() as u64;
        t.broken += f.broken.len() as u64;
        if !f.clean() && t.first_findings.is_empty() {
            t.first_findings = [&f.lost_events, &f.lost_units, &f.broken]
                .into_iter()
                .flatten()
                .take(3)
                .map(|m| format!("cut {}: {m}", t.cuts))
                .collect();
        }
        if t.cuts % 100 == 0 {
            eprintln!("power-cut harness: {} cuts, {t:?}", t.cuts);
        }
    }
    (t, packer, pr)
}

#[test]
fn power_cuts_at_random_moments_lose_nothing_acknowledged() {
    let cuts: u32 = env_or("PB_POWER_CUTS", 30);
    let seed: u64 = env_or("PB_POWER_SEED", 20261130);
    eprintln!("power-cut harness: {cuts} cuts, seed {seed}");
    let started = Instant::now();
    let (t, mut packer, pr) = run_cuts(cuts, seed, false, true);

    // A last clean run finishes the order in hand and two more; then a clean stop.
    packer.inputs.left = None;
    let mut st = pr.rig.spawn(bin::path());
    let until = (packer.current + 3).min(pr.rig.orders.len());
    assert!(packer.work(&pr.rig, &mut st, until).is_ok());
    let (code, printed) = st.term();
    assert_eq!(code, Some(0));
    let f = check_after_cut(&pr, &printed, &mut packer);
    assert!(f.clean(), "after the clean stop: {f:#?}");

    // Every order up to here is packed with exactly its units, a label_printed and a label on
    // paper.
    let store = pr.store();
    let (units, _) = units_in_log(&store);
    let events = store.events(&Default::default()).unwrap();
    let paper = packer.paper.update(&pr.labels()).clone();
    for o in &pr.rig.orders[..packer.current] {
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
            "{} was packed but no label_printed is in the log",
            o.order_no
        );
        assert!(
            paper.get(&o.order_no).copied().unwrap_or(0) > 0,
            "{} was packed but no label reached the printer",
            o.order_no
        );
    }
    drop(store);
    let out = bin::Pb::new()
        .args(["audit", "verify", "--db"])
        .arg(&pr.db)
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let totals = pr.fs.totals();
    eprintln!(
        "power-cut harness: {} cuts survived (at start-up {}, line printed {}, committed \
         unprinted {}, not committed {}); {} acknowledged events and {} labels checked; \
         {} reopened orders checked; {} orders packed, {} events",
        t.cuts,
        t.at_start,
        t.after_line,
        t.committed_unprinted,
        t.not_committed,
        t.events_checked,
        t.labels_checked,
        packer.reopened_checked,
        packer.current,
        events.len()
    );
    eprintln!(
        "power-cut harness: {} cuts dropped unsynced writes ({} of them to the database or \
         WAL): {} writes, {} bytes ({} of them the -shm index), {} truncates; {} fsyncs made \
         {} bytes durable; {:.1} s",
        t.cuts_dropping,
        t.cuts_dropping_data,
        t.dropped.writes,
        t.dropped.bytes,
        t.dropped.shm_bytes,
        t.dropped.truncates,
        totals.fsyncs,
        totals.bytes_synced,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(t.lost_events + t.lost_units + t.broken, 0);
    // The filesystem really cut something: writes were pending and dropped, and fsyncs made
    // others durable.
    assert!(t.cuts_dropping > 0 && t.dropped.bytes > 0, "{t:?}");
    // And some cuts landed inside a commit, dropping its WAL frames (about a third do: with
    // 20 cuts or more, none would be a broken harness, not bad luck).
    if cuts >= 20 {
        assert!(
            t.cuts_dropping_data > 0,
            "no cut dropped database writes: {t:?}"
        );
    }
    assert!(totals.fsyncs > 0 && totals.bytes_synced > 0, "{totals:?}");
    assert!(
        packer.current >= (cuts / 4) as usize,
        "the shifts made progress"
    );
    assert!(
        packer.reopened_checked > 0,
        "restarts reopened orders in hand"
    );
}

/// The harness catches the bug it exists for: with synchronous=OFF SQLite never fsyncs, so a
/// cut drops everything the station wrote since it started, and acknowledged events with it.
#[test]
fn synchronous_off_loses_acknowledged_events_and_the_harness_finds_them() {
    let cuts: u32 = env_or("PB_POWER_OFF_CUTS", 5);
    let seed: u64 = env_or("PB_POWER_SEED", 20261130);
    let started = Instant::now();
    let (t, _, _pr) = run_cuts(cuts, seed, true, false);
    eprintln!(
        "power-cut harness, synchronous=OFF: {} cuts; {} acknowledged events checked, {} lost; \
         {} orders with fewer units than acknowledged; {} other findings; {} bytes dropped; \
         {:.1} s",
        t.cuts,
        t.events_checked,
        t.lost_events,
        t.lost_units,
        t.broken,
        t.dropped.bytes,
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "power-cut harness, synchronous=OFF: first findings: {:#?}",
        t.first_findings
    );
    assert!(t.lost_events > 0, "synchronous=OFF lost nothing: {t:?}");
    assert!(
        t.first_findings
            .iter()
            .any(|m| m.contains("is not in the log")),
        "the checker names the lost events: {:?}",
        t.first_findings
    );
    assert!(
        t.cuts_dropping_data > 0,
        "the lost events were writes to the database the cuts dropped: {t:?}"
    );
}

/// The filesystem itself: reads see pending writes, a cut drops them, an fsync keeps them, a
/// close keeps nothing.
#[test]
fn the_lazy_filesystem_keeps_only_what_was_fsynced() {
    use std::io::{Read, Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let (backing, mnt) = (dir.path().join("disk"), dir.path().join("mnt"));
    std::fs::create_dir(&backing).unwrap();
    std::fs::create_dir(&mnt).unwrap();
    let fs = LazyFs::mount(&backing, &mnt).unwrap_or_else(|e| panic!("{e}"));
    let read = |name: &str| std::fs::read(mnt.join(name)).unwrap();

    // Synced, then more written and closed without a sync.
    let mut f = std::fs::File::create(mnt.join("a")).unwrap();
    f.write_all(b"durable").unwrap();
    f.sync_all().unwrap();
    f.write_all(b" and lazy").unwrap();
    drop(f);
    assert_eq!(read("a"), b"durable and lazy", "reads see pending writes");
    assert_eq!(std::fs::read(backing.join("a")).unwrap(), b"durable");
    // A truncate and a write past the old end, read with a hole in between.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(mnt.join("b"))
        .unwrap();
    f.write_all(b"0123456789").unwrap();
    f.sync_data().unwrap();
    f.set_len(4).unwrap();
    f.seek(SeekFrom::Start(6)).unwrap();
    f.write_all(b"xy").unwrap();
    let mut got = Vec::new();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"0123\0\0xy");
    drop(f);
    assert_eq!(std::fs::metadata(mnt.join("b")).unwrap().len(), 8);

    let p = fs.pending();
    assert_eq!((p.files, p.writes, p.truncates), (2, 2, 1), "{p:?}");
    let d = fs.cut();
    assert_eq!(d.bytes, (" and lazy".len() + 2) as u64);
    assert_eq!(
        read("a"),
        b"durable",
        "the cut dropped what was not fsynced"
    );
    assert_eq!(read("b"), b"0123456789");
    assert_eq!(fs.pending(), Dropped::default());
    fs.unmount().unwrap();
}
