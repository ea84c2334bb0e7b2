//! Many benches, one PostgreSQL: the figures of issue 10 (`cargo bench --bench central_floor`;
//! one part alone: `-- floor`, `scan`, `catchup`, `audit` or `memory`).
//!
//! Everything runs on this machine against a throwaway PostgreSQL cluster from the test rig
//! (`tests/pg`), restarted with room for 200 benches' connections (`max_connections`), with the
//! rig's `fsync=off` unless `PB_PG_FSYNC=on`. Benches reach it over TCP on 127.0.0.1.
//!
//! - `floor`: N benches (`PB_FLOOR_BENCHES`, 200), each the station library (`Bench` on its
//!   own SQLite file) with its own central link (`station::link::start`: its own pool, shipper,
//!   master-data follower and heartbeat), packing at `PB_FLOOR_RATE` parcels/hour each
//!   (600: 10× a peak hour of 60) for `PB_FLOOR_SECS` (120). Claim latency, order open,
//!   central lag (event durable on the bench → in `bench_heads`), ingest, connections.
//! - `scan`: a real headless station through the rig's TCP proxy: scan → line with the centre
//!   up, slow (200 ms each way) and down, and the order open in each case.
//! - `catchup`: N benches with `PB_CATCHUP_EVENTS` (3,000) events of backlog each reconnecting
//!   when the proxy heals; one of them is a real headless station (its peak memory).
//! - `audit`: `PB_CENTRAL_EVENTS` (1,000,000) events shipped with `Central::ship`, then
//!   `audit order --central` and `central verify` (`PB_CENTRAL_MAX_SECS` bounds the load).
//! - `memory`: RSS of a headless station packing `PB_MEM_ORDERS` (1,000) with and without
//!   `[central]`.
//!
//! `audit` stops loading while less than `PB_CENTRAL_MIN_FREE_GB` (2) of the disk is free.
//! `PB_BIN` runs another station binary than the one cargo built (a copy a rebuild cannot
//! replace mid-run). Each part prints who used the CPU meanwhile, as figures taken on a
//! shared machine move with it.

#[path = "../../tests/harness/mod.rs"]
mod harness;
#[path = "../../tests/pg/mod.rs"]
mod pg;

// The parts, one file each; this file holds what they share and `main`.
mod audit;
mod catchup;
mod floor;
mod memory;
mod replay;
mod scan;

use audit::*;
use catchup::*;
use floor::*;
use memory::*;
use replay::*;
use scan::*;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone};
use harness::*;
use packbench::central::{self, Central, ShipEvent};
use packbench::config::{CentralConfig, Offline};
use packbench::domain::event::{EventType, LabelPrinted, NewEvent, StoredEvent};
use packbench::domain::session::EngineConfig;
use packbench::station::runtime::{EventSink, Outcome};
use packbench::station::{link, Bench};
use packbench::store::{chain, ClaimOutcome, Claims, EventLog, ReferenceData, SqliteStore};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// "p50 X ms, p99 Y ms, max Z ms (n)".
fn summary(v: &mut [f64]) -> String {
    if v.is_empty() {
        return "no samples".into();
    }
    let (p50, p99) = (pct(v, 0.5), pct(v, 0.99));
    format!(
        "p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms ({} samples)",
        v[v.len() - 1],
        v.len()
    )
}

fn now() -> DateTime<FixedOffset> {
    chrono::Local::now().fixed_offset()
}

fn t0() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
        .unwrap()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// VmRSS and VmHWM (peak) of a process, KiB.
fn rss_hwm(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Free bytes on the file system holding `p`.
fn free_bytes(p: &Path) -> u64 {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a zeroed statvfs is a valid out-parameter; the path is NUL-terminated.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return 0;
        }
        st.f_bavail as u64 * st.f_frsize as u64
    }
}

/// CPU seconds (user + system) a process has used.
fn cpu_secs(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let rest = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    f.iter().sum::<f64>() / hz
}

/// CPU seconds used by a cluster: its postmaster and every process it started (backends,
/// checkpointer, ...), while they run.
fn cluster_cpu_secs(c: &pg::Cluster) -> f64 {
    let Some(pm) = std::fs::read_to_string(c.data.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
    else {
        return 0.0;
    };
    let ppid = |pid: u32| -> Option<u32> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        s.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid == pm || ppid(pid) == Some(pm))
        .map(cpu_secs)
        .sum()
}

/// The machine's busy CPU seconds so far (all CPUs, from /proc/stat).
fn machine_busy_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let busy: f64 = v
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, x)| x)
        .sum();
    // SAFETY: sysconf has no preconditions.
    busy / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// Who used the CPU over a run: the machine, this cluster, this process (and `extra`), so a
/// figure measured while other work shared the two cores says so.
struct CpuWatch {
    t: Instant,
    machine: f64,
    cluster: f64,
    me: f64,
    extra: Vec<(u32, f64)>,
}

impl CpuWatch {
    fn start(c: &pg::Cluster, extra: &[u32]) -> CpuWatch {
        CpuWatch {
            t: Instant::now(),
            machine: machine_busy_secs(),
            cluster: cluster_cpu_secs(c),
            me: cpu_secs(std::process::id()),
            extra: extra.iter().map(|&p| (p, cpu_secs(p))).collect(),
        }
    }

    fn report(&self, c: &pg::Cluster, me_name: &str, extra_names: &[&str]) -> String {
        let secs = self.t.elapsed().as_secs_f64();
        let machine = machine_busy_secs() - self.machine;
        let cluster = cluster_cpu_secs(c) - self.cluster;
        let me = cpu_secs(std::process::id()) - self.me;
        let mut text = format!(
            "CPU over {secs:.0} s ({:.0} CPU-s on 2 cores): machine busy {machine:.0} s; \
             PostgreSQL {cluster:.0} s; {me_name} {me:.0} s",
            2.0 * secs
        );
        let mut rest = machine - cluster - me;
        for ((pid, before), name) in self.extra.iter().zip(extra_names) {
            let used = cpu_secs(*pid) - before;
            rest -= used;
            text.push_str(&format!("; {name} {used:.0} s"));
        }
        text.push_str(&format!("; everything else on the machine {rest:.0} s"));
        text
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The station binary: `PB_BIN` (a copy that a rebuild during a long run cannot replace),
/// else the one cargo built with this bench.
fn binary() -> &'static Path {
    static BIN: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var_os("PB_BIN")
            .map(Into::into)
            .unwrap_or_else(|| bin::path().into())
    })
}

// ---------------------------------------------------------------------------------------
// The cluster.

/// The rig's cluster (TCP on), restarted with the rig's flags but `max_connections` for 200
/// benches × 3 connections, and fsync on when asked.
fn start_pg(fsync: bool) -> pg::Cluster {
    let c = pg::Cluster::start(pg::Options {
        tcp: true,
        ssl: false,
    });
    c.stop_immediate();
    let f = if fsync { "on" } else { "off" };
    let opts = format!(
        "-k {} -c listen_addresses='127.0.0.1' -p {} -c fsync={f} -c synchronous_commit={f} \
         -c full_page_writes={f} -c max_connections=800 -c shared_buffers=32MB",
        c.base.display(),
        c.port
    );
    let pg_ctl = pg::bindir().join("pg_ctl");
    // SAFETY: geteuid has no preconditions.
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(pg_ctl);
        cmd
    } else {
        Command::new(pg_ctl)
    };
    let out = cmd
        .arg("-D")
        .arg(&c.data)
        .arg("-l")
        .arg(c.base.join("log"))
        .args(["-w", "-t", "60", "-o", &opts, "start"])
        .output()
        .expect("pg_ctl");
    assert!(
        out.status.success(),
        "pg_ctl start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = Command::new(pg::bindir().join("postgres"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!(
        "PostgreSQL: {v}, throwaway cluster, fsync={f} synchronous_commit={f} \
         full_page_writes={f}, max_connections=800, shared_buffers=32MB, TCP 127.0.0.1:{}",
        c.port
    );
    c
}

fn fsync_wanted() -> bool {
    std::env::var("PB_PG_FSYNC").is_ok_and(|v| v == "on" || v == "1")
}

/// Imports the fixtures' catalog, staff and packaging and `orders` into the centre.
fn import_master(rt: &tokio::runtime::Runtime, admin: &Central, orders_csv: &Path) {
    for (kind, file) in data_set(Some(orders_csv)) {
        rt.block_on(central::import_file(
            admin,
            kind,
            &file,
            &Default::default(),
            t0(),
            &mut |_| {},
        ))
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// Connections by kind: (all, client backends, bench roles matching `like`).
async fn connections(c: &tokio_postgres::Client, like: &str) -> (i64, i64, i64) {
    let r = c
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE backend_type = 'client backend'),
                    count(*) FILTER (WHERE usename LIKE $1) FROM pg_stat_activity",
            &[&like],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

// ---------------------------------------------------------------------------------------
// A bench as the station library: `Bench` on its own SQLite file with its link.

/// The claim as the bench waits for it (the link's `claim_with_history`: one round trip).
struct TimedClaims {
    inner: Box<dyn Claims>,
    out: Arc<Mutex<Vec<f64>>>,
}

impl Claims for TimedClaims {
    fn claim(&mut self, order_no: &str, packer_id: &str) -> ClaimOutcome {
        let t = Instant::now();
        let r = self.inner.claim(order_no, packer_id);
        self.out.lock().unwrap().push(ms(t.elapsed()));
        r
    }
}

/// (seq, when durable) of a bench's events not yet seen central.
type Pending = Arc<Mutex<VecDeque<(i64, Instant)>>>;

struct LibBench {
    station: String,
    bench: Bench<SqliteStore>,
    /// The link's sink (wakes the shipper); none for a bench alone.
    sink: Option<EventSink>,
    pending: Pending,
}

#[derive(Default)]
struct Timings {
    open: Vec<f64>,
    scan: Vec<f64>,
    late: Vec<f64>,
    orders: usize,
    events: usize,
}

impl LibBench {
    fn durable(&mut self, ev: &[StoredEvent]) {
        let at = Instant::now();
        if let Some(s) = &self.sink {
            s(Outcome::Stored(ev));
        }
        self.pending
            .lock()
            .unwrap()
            .extend(ev.iter().map(|e| (e.seq, at)));
    }

    fn input(
        &mut self,
        t: &mut Timings,
        what: &str,
        f: impl FnOnce(&mut Bench<SqliteStore>) -> Vec<StoredEvent>,
        want: EventType,
    ) -> f64 {
        let s = Instant::now();
        let ev = f(&mut self.bench);
        let took = ms(s.elapsed());
        t.events += ev.len();
        self.durable(&ev);
        assert!(
            ev.iter().any(|e| e.kind == want),
            "{}: {what} gave {:?}",
            self.station,
            ev.iter()
                .map(|e| (e.kind.as_str(), e.data.clone()))
                .collect::<Vec<_>>()
        );
        took
    }

    fn sign_in(&mut self, badge: &str, t: &mut Timings) {
        self.input(
            t,
            badge,
            |b| b.scan(badge, None, now()).unwrap(),
            EventType::PackerSignedIn,
        );
    }

    /// One order the way the station does it: order scan (the claim), every unit, the
    /// weight, the label printed.
    fn pack(&mut self, items: &[Item], o: &GenOrder, t: &mut Timings) {
        let open = self.input(
            t,
            &o.order_no,
            |b| b.scan(&o.order_no, None, now()).unwrap(),
            EventType::OrderLoaded,
        );
        t.open.push(open);
        for &(it, q) in &o.lines {
            for _ in 0..q {
                let code = &items[it].barcode;
                let took = self.input(
                    t,
                    code,
                    |b| b.scan(code, None, now()).unwrap(),
                    EventType::ItemAccepted,
                );
                t.scan.push(took);
            }
        }
        self.input(
            t,
            "weight",
            |b| b.weight(o.expected_g, true, now()).unwrap(),
            EventType::OrderPacked,
        );
        let _ = self.bench.weight(0.0, true, now()).unwrap();
        let packer = self.bench.state().packer.as_ref().map(|p| p.id.clone());
        let station = self.station.clone();
        self.input(
            t,
            "label",
            |b| {
                b.record(&[NewEvent::of(
                    LabelPrinted {
                        copy: 1,
                        bytes: 772,
                        reprint: false,
                        warning: None,
                    },
                    now(),
                    &station,
                )
                .order(&o.order_no)
                .actor(packer.as_deref())])
                    .unwrap()
            },
            EventType::LabelPrinted,
        );
        t.orders += 1;
    }
}

fn central_cfg(url: &str) -> CentralConfig {
    CentralConfig {
        url: url.to_string(),
        password_file: None,
        offline: Offline::Finish,
        claim_timeout_ms: 2000,
    }
}

fn engine_cfg(station: &str) -> EngineConfig {
    EngineConfig {
        station_id: station.to_string(),
        ..EngineConfig::default()
    }
}

const PACKER_BADGES: [&str; 5] = [
    "BADGE-E002",
    "BADGE-E003",
    "BADGE-E004",
    "BADGE-E006",
    "BADGE-E008",
];

fn main() {
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |p: &str| parts.is_empty() || parts.iter().any(|x| x == p);
    println!(
        "central_floor: {} CPUs, load average {}, {} build",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load_average(),
        if cfg!(debug_assertions) {
            "debug-assertions (dev profile)"
        } else {
            "optimised (bench/release profile)"
        }
    );
    if want("floor") {
        floor();
    }
    if want("scan") {
        scan_figure();
    }
    if want("catchup") {
        catchup();
    }
    if want("memory") {
        memory();
    }
    if want("audit") {
        audit();
    }
    // Only by name: it reads a database loaded before (by `audit`, or a real centre's copy).
    if parts.iter().any(|x| x == "supervise") {
        supervise();
    }
}

/// The console's queries against the central database at `PB_CENTRAL_URL`, as it is.
fn supervise() {
    let url = std::env::var("PB_CENTRAL_URL")
        .expect("supervise reads the central database at PB_CENTRAL_URL");
    let rt = runtime(1);
    let admin = Central::connect(&url, None).unwrap();
    let client = rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        c
    });
    let sample: Vec<(String, String)> = rt
        .block_on(client.query(
            "SELECT order_no, waybill_no FROM orders TABLESAMPLE SYSTEM (1) LIMIT 1000",
            &[],
        ))
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let (events, benches): (i64, i64) = rt
        .block_on(client.query_one(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM bench_heads)",
            &[],
        ))
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    println!(
        "\n== supervise: the console's queries on {events} events of {benches} benches, {} sampled orders",
        sample.len()
    );
    let mut rng = Rng::new(11);
    let mut pick = || sample[rng.below(sample.len() as u64) as usize].clone();
    supervision_figures(&rt, &admin, &mut pick, benches as usize);
}
