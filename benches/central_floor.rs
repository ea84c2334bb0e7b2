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

#[path = "../tests/harness/mod.rs"]
mod harness;
#[path = "../tests/pg/mod.rs"]
mod pg;

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
use packbench::import::Kind;
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

// ---------------------------------------------------------------------------------------
// 1. 200 benches on one PostgreSQL.

fn floor() {
    let n_benches: usize = env_or("PB_FLOOR_BENCHES", 200);
    let rate: f64 = env_or("PB_FLOOR_RATE", 600.0);
    let secs: f64 = env_or("PB_FLOOR_SECS", 120.0);
    let per_bench = ((rate * secs / 3600.0).ceil() as usize).max(1);
    let period = Duration::from_secs_f64(3600.0 / rate);
    println!(
        "\n== floor: {n_benches} benches x {rate} parcels/hour (one order every {:.1} s each, \
         {:.1} orders/s in all) for {secs} s: {per_bench} orders per bench",
        period.as_secs_f64(),
        n_benches as f64 * rate / 3600.0
    );
    let cluster = start_pg(fsync_wanted());
    let rt = runtime(2);
    let db = rt.block_on(cluster.fresh_db());
    let admin_url = cluster.tcp_url(&db.name);
    let admin = Central::connect(&admin_url, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let items = items();
    let orders = generate(n_benches * per_bench, &mut Rng::new(10), &items);
    write_orders_csv(&dir.path().join("orders.csv"), &orders, &items);
    let setup = Instant::now();
    import_master(&rt, &admin, &dir.path().join("orders.csv"));
    let master_head = rt.block_on(admin.master_head()).unwrap();

    let claims_ms = Arc::new(Mutex::new(Vec::new()));
    let mut benches = Vec::new();
    for i in 0..n_benches {
        let station = format!("FLOOR-{i:03}");
        let added = rt
            .block_on(central::add_bench(&admin_url, None, &station))
            .unwrap();
        let file = dir.path().join(format!("{station}.db"));
        let bench = Bench::open(SqliteStore::open(&file).unwrap(), engine_cfg(&station)).unwrap();
        let (tx, _rx) = std::sync::mpsc::channel();
        let l = link::start(&rt, &central_cfg(&added.url), None, &station, file, tx).unwrap();
        let bench = bench.with_claims(Box::new(TimedClaims {
            inner: l.claims,
            out: claims_ms.clone(),
        }));
        benches.push(LibBench {
            station,
            bench,
            sink: Some(l.sink),
            pending: Arc::new(Mutex::new(VecDeque::new())),
        });
    }
    // Every bench's local copy follows the centre before the shift starts.
    let end = Instant::now() + Duration::from_secs(600);
    loop {
        let behind = benches
            .iter()
            .filter(|b| {
                packbench::store::ReferenceData::central_change_id(b.bench.store()).unwrap_or(0)
                    < master_head
            })
            .count();
        if behind == 0 {
            break;
        }
        assert!(Instant::now() < end, "{behind} benches without master data");
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "  set-up: {} orders imported centrally, {n_benches} bench roles, every local copy \
         current after {:.1} s",
        orders.len(),
        setup.elapsed().as_secs_f64()
    );

    // The monitor: central lag per event and connections, on its own thread and runtime.
    let stations: HashMap<String, Pending> = benches
        .iter()
        .map(|b| (b.station.clone(), b.pending.clone()))
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let su = cluster.superuser_url(&db.name);
    let monitor = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let c = pg::connect(&su).await;
                let mut lag = Vec::new();
                let mut conns = (0i64, 0i64, 0i64);
                let mut last_conn = Instant::now() - Duration::from_secs(1);
                loop {
                    let rows = c
                        .query("SELECT station_id, seq FROM bench_heads", &[])
                        .await
                        .unwrap();
                    let seen = Instant::now();
                    for r in rows {
                        let (s, head): (String, i64) = (r.get(0), r.get(1));
                        if let Some(q) = stations.get(&s) {
                            let mut q = q.lock().unwrap();
                            while q.front().is_some_and(|(seq, _)| *seq <= head) {
                                let (_, at) = q.pop_front().unwrap();
                                lag.push(ms(seen.duration_since(at)));
                            }
                        }
                    }
                    if last_conn.elapsed() >= Duration::from_millis(500) {
                        last_conn = Instant::now();
                        let n = connections(&c, "FLOOR-%").await;
                        conns = (conns.0.max(n.0), conns.1.max(n.1), conns.2.max(n.2));
                    }
                    if stop.load(std::sync::atomic::Ordering::SeqCst)
                        && stations.values().all(|q| q.lock().unwrap().is_empty())
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                (lag, conns)
            })
        })
    };

    // A probe bench of its own (not counted above) times `Central::claim` alone, the one
    // round trip, ten times a second through the shift, each a new order.
    let shift_over = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let added = rt
            .block_on(central::add_bench(&admin_url, None, "PROBE-01"))
            .unwrap();
        let c = Central::connect(&added.url, None).unwrap();
        let over = shift_over.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut out = Vec::new();
            let mut n = 0;
            while !over.load(std::sync::atomic::Ordering::SeqCst) && n < 10_000 {
                n += 1;
                let t = Instant::now();
                let r = rt
                    .block_on(c.claim("PROBE-01", &format!("PROBE{n:06}"), Some("E003"), None))
                    .unwrap();
                out.push(ms(t.elapsed()));
                assert!(matches!(r, central::ClaimOutcome::Granted { .. }), "{r:?}");
                std::thread::sleep(Duration::from_millis(100));
            }
            out
        })
    };

    // The shift: driver threads, each with a share of the benches, on a schedule.
    let threads: usize = env_or("PB_FLOOR_THREADS", 20);
    let start = Instant::now() + Duration::from_millis(500);
    let cpu = CpuWatch::start(&cluster, &[]);
    let mut shares: Vec<Vec<(usize, LibBench)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, b) in benches.into_iter().enumerate() {
        shares[i % threads].push((i, b));
    }
    let orders = Arc::new(orders);
    let items = Arc::new(items);
    let handles: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let (orders, items) = (orders.clone(), items.clone());
            std::thread::spawn(move || {
                let mut t = Timings::default();
                let mut share: Vec<(usize, LibBench, usize)> =
                    share.into_iter().map(|(i, b)| (i, b, 0)).collect();
                for (i, b, _) in share.iter_mut() {
                    b.sign_in(PACKER_BADGES[*i % PACKER_BADGES.len()], &mut t);
                }
                let due = |i: usize, k: usize| {
                    start + period.mul_f64(i as f64 / n_benches as f64) + period.mul_f64(k as f64)
                };
                while let Some(next) = share
                    .iter_mut()
                    .filter(|(_, _, k)| *k < per_bench)
                    .min_by_key(|(i, _, k)| due(*i, *k))
                {
                    let (i, b, k) = (next.0, &mut next.1, &mut next.2);
                    let when = due(i, *k);
                    let now_i = Instant::now();
                    if when > now_i {
                        std::thread::sleep(when - now_i);
                    } else {
                        t.late.push(ms(now_i - when));
                    }
                    let o = &orders[i + *k * n_benches];
                    b.pack(&items, o, &mut t);
                    *k += 1;
                }
                (t, share)
            })
        })
        .collect();
    let mut all = Timings::default();
    let mut benches = Vec::new();
    for h in handles {
        let (t, share) = h.join().unwrap();
        all.open.extend(t.open);
        all.scan.extend(t.scan);
        all.late.extend(t.late);
        all.orders += t.orders;
        all.events += t.events;
        benches.extend(share.into_iter().map(|(_, b, _)| b));
    }
    let shift = start.elapsed().as_secs_f64();
    let load = load_average();
    let cpu = cpu.report(&cluster, "the process of the benches", &[]);
    shift_over.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut probe_ms = probe.join().unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let drain_wait = Instant::now();
    let (mut lag, conns) = monitor.join().unwrap();
    let drained_after = drain_wait.elapsed().as_secs_f64();
    let central_events: i64 = rt
        .block_on(async {
            pg::connect(&cluster.superuser_url(&db.name))
                .await
                .query_one(
                    "SELECT count(*) FROM events WHERE station_id LIKE 'FLOOR-%'",
                    &[],
                )
                .await
        })
        .unwrap()
        .get(0);
    let local_events: i64 = benches
        .iter()
        .map(|b| b.bench.store().head().unwrap().map(|h| h.0).unwrap_or(0))
        .sum();
    let mut claims = claims_ms.lock().unwrap().clone();
    println!(
        "  shift: {} orders, {} events in {shift:.1} s ({:.1} orders/s, {:.0} events/s offered); \
         load average at the end {load}",
        all.orders,
        all.events,
        all.orders as f64 / shift,
        all.events as f64 / shift
    );
    println!("  {cpu}");
    println!(
        "  behind schedule: {} of {} orders started late, {}",
        all.late.len(),
        all.orders,
        summary(&mut all.late)
    );
    println!(
        "  claim as the bench waits (pb_claim + pb_order_history pipelined, the link): {}",
        summary(&mut claims)
    );
    println!(
        "  Central::claim alone (pb_claim, one round trip; a probe bench 10 times a second): {}",
        summary(&mut probe_ms)
    );
    println!(
        "  order scan -> order_loaded durable (claim, history, decide, fsync'd append): {}",
        summary(&mut all.open)
    );
    println!(
        "  item scan -> durable (no network): {}",
        summary(&mut all.scan)
    );
    println!(
        "  central lag (durable on the bench -> in bench_heads, polled every 10 ms): {}",
        summary(&mut lag)
    );
    println!(
        "  central ingest: {central_events} events of {local_events} logged are central \
         ({:.0} events/s over the shift); the last event central {drained_after:.2} s after the \
         shift's last input",
        central_events as f64 / shift
    );
    println!(
        "  PostgreSQL connections (peak, pg_stat_activity): {} in all, {} client backends, {} of \
         the bench roles ({:.2} per bench)",
        conns.0,
        conns.1,
        conns.2,
        conns.2 as f64 / n_benches as f64
    );
    drop(benches);
    drop(rt);
}

// ---------------------------------------------------------------------------------------
// 2. A real headless station's scan → line with the centre up, slow and down.

fn expect(st: &mut Station, what: &str, want: impl FnMut(&Value) -> bool) -> (Instant, Value) {
    st.until(WAIT, want).unwrap_or_else(|| {
        panic!(
            "no {what}; last lines: {:#?}",
            &st.seen[st.seen.len().saturating_sub(8)..]
        )
    })
}

/// Opens an order: (ms from the scan to its answer, the answer).
fn timed_open(st: &mut Station, order_no: &str) -> (f64, Value) {
    let t = st.scan(order_no);
    let (at, v) = expect(st, "an answer to the order", |v| {
        (v["event"] == "order_loaded" || v["event"] == "scan_rejected") && v["order_no"] == order_no
    });
    (ms(at - t), v)
}

/// `pairs` × (item scan → item_accepted, PB-UNDO → scan_undone) on the open order.
fn scan_pairs(st: &mut Station, code: &str, pairs: usize, out: &mut Vec<f64>) {
    for _ in 0..pairs {
        let t = st.scan(code);
        let (at, v) = expect(st, "item_accepted", |v| {
            v["event"] == "item_accepted" || v["event"] == "scan_rejected"
        });
        assert_eq!(v["event"], "item_accepted", "{v}");
        out.push(ms(at - t));
        let t = st.scan("PB-UNDO");
        let (at, _) = expect(st, "scan_undone", |v| v["event"] == "scan_undone");
        out.push(ms(at - t));
    }
}

fn finish(rig: &Rig, st: &mut Station, loaded: &Value, o: &GenOrder) {
    scan_rest(rig, st, loaded, WAIT);
    rig.place(o.expected_g);
    expect(st, "order_packed", |v| {
        v["event"] == "order_packed" && v["order_no"] == o.order_no.as_str()
    });
    rig.place(0.0);
}

fn local_head(db: &Path) -> i64 {
    SqliteStore::open(db)
        .unwrap()
        .head()
        .unwrap()
        .map(|h| h.0)
        .unwrap_or(0)
}

fn scan_figure() {
    let pairs: usize = env_or("PB_SCAN_PAIRS", 100);
    let opens: usize = env_or("PB_SCAN_OPENS", 20);
    println!(
        "\n== scan: a headless station through the rig's TCP proxy; {pairs} item scan + PB-UNDO \
         pairs and {opens} order opens per case"
    );
    let cluster = start_pg(fsync_wanted());
    let rt = runtime(1);
    let db = rt.block_on(cluster.fresh_db());
    let admin_url = cluster.tcp_url(&db.name);
    let admin = Central::connect(&admin_url, None).unwrap();
    let proxy = rt.block_on(pg::Proxy::start(cluster.socket_path()));
    let added = rt
        .block_on(central::add_bench(&admin_url, None, "SCAN-01"))
        .unwrap();
    let url = proxy.url(&added.role, &added.password, &db.name);
    let rig = Rig::with(
        3 * opens + 20,
        5,
        Duration::from_millis(20),
        Setup::Central {
            station_id: "SCAN-01",
            url: &url,
            offline: "finish",
            claim_timeout_ms: 2000,
        },
    );
    import_master(&rt, &admin, &rig.orders_csv());
    let mut st = rig.spawn(binary());
    let last = rig.orders.last().unwrap().order_no.clone();
    let end = Instant::now() + WAIT;
    while SqliteStore::open(rig.db())
        .ok()
        .and_then(|s| s.find_order(&last).ok().flatten())
        .is_none()
    {
        assert!(Instant::now() < end, "master data never copied");
        std::thread::sleep(Duration::from_millis(50));
    }
    st.scan(PACKER);
    expect(&mut st, "sign-in", |v| v["event"] == "packer_signed_in");
    let orders = rig.orders.clone();
    let mut next = orders.iter();
    let mut rows = Vec::new();

    for case in ["up", "slow (+200 ms each way)", "down (proxy drops all)"] {
        let mut open_ms = Vec::new();
        let mut scan_ms = Vec::new();
        match case {
            "up" => proxy.delay(Duration::ZERO),
            "slow (+200 ms each way)" => proxy.delay(Duration::from_millis(200)),
            _ => proxy.delay(Duration::ZERO),
        }
        let down = case.starts_with("down");
        // Orders packed whole in this case (the opens measured), except when down.
        if !down {
            for _ in 0..opens {
                let o = next.next().unwrap();
                let (took, loaded) = timed_open(&mut st, &o.order_no);
                assert_eq!(loaded["event"], "order_loaded", "{case}: {loaded}");
                open_ms.push(took);
                finish(&rig, &mut st, &loaded, o);
            }
        }
        // The scan pairs on an order opened while the centre answered.
        let o = next.next().unwrap();
        let (_, loaded) = timed_open(&mut st, &o.order_no);
        assert_eq!(loaded["event"], "order_loaded", "{case}: {loaded}");
        if down {
            proxy.drop_all();
        }
        let code = rig.items[o.lines[0].0].barcode.clone();
        scan_pairs(&mut st, &code, pairs, &mut scan_ms);
        finish(&rig, &mut st, &loaded, o);
        let mut refused_drop = Vec::new();
        let mut refused_stall = Vec::new();
        if down {
            for _ in 0..5 {
                let o = next.next().unwrap();
                let (took, v) = timed_open(&mut st, &o.order_no);
                assert_eq!(v["reason"], "central_unreachable", "{v}");
                refused_drop.push(took);
            }
            proxy.heal();
            proxy.stall();
            for _ in 0..3 {
                let o = next.next().unwrap();
                let (took, v) = timed_open(&mut st, &o.order_no);
                assert_eq!(v["reason"], "central_unreachable", "{v}");
                refused_stall.push(took);
            }
            let healed = Instant::now();
            proxy.heal();
            let head = local_head(&rig.db());
            let end = Instant::now() + Duration::from_secs(60);
            while rt.block_on(admin.head("SCAN-01")).unwrap().0 < head {
                assert!(Instant::now() < end, "the backlog never drained");
                std::thread::sleep(Duration::from_millis(20));
            }
            println!(
                "  down: after the proxy healed, the backlog was central in {:.2} s (the link's \
                 backoff is at most 5 s)",
                healed.elapsed().as_secs_f64()
            );
        }
        let open_text = if down {
            format!(
                "refused (central_unreachable): drop_all {}; stall {}",
                summary(&mut refused_drop),
                summary(&mut refused_stall)
            )
        } else {
            summary(&mut open_ms)
        };
        rows.push((case, summary(&mut scan_ms), open_text));
    }
    for (case, scan, open) in rows {
        println!("  centre {case}:\n    scan -> line {scan}\n    order open {open}");
    }
    let (code, _) = st.term();
    assert_eq!(code, Some(0));
    drop(proxy);
    drop(rt);
}

// ---------------------------------------------------------------------------------------
// Real bench events to replay: orders packed by the real `Bench` (a bench alone).

/// `n` events of a bench packing generated orders, as the station library logs them, and
/// the orders.
fn template(n: usize) -> (Vec<StoredEvent>, Vec<GenOrder>) {
    let items = items();
    let orders = generate(n / 5 + 10, &mut Rng::new(99), &items);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("orders.csv");
    write_orders_csv(&csv, &orders, &items);
    let mut store = SqliteStore::open_in_memory().unwrap();
    for (kind, file) in data_set(Some(&csv)) {
        packbench::import::import_file(
            &mut store,
            kind,
            &file,
            &Default::default(),
            "RIG",
            t0(),
            &mut |_| {},
        )
        .unwrap();
    }
    let mut b = LibBench {
        station: "TEMPLATE".into(),
        bench: Bench::open(store, engine_cfg("TEMPLATE")).unwrap(),
        sink: None,
        pending: Default::default(),
    };
    let mut t = Timings::default();
    b.sign_in(PACKER, &mut t);
    for o in &orders {
        if t.events >= n {
            break;
        }
        b.pack(&items, o, &mut t);
    }
    let ev: Vec<StoredEvent> = b
        .bench
        .store()
        .events(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.station_id == "TEMPLATE")
        .collect();
    assert!(ev.len() >= n.min(100), "template of {} events", ev.len());
    (ev, orders)
}

/// The orders a replay of `tpl` by `stations` in `cycles` names, as an orders CSV for the
/// centre (the same lines as the template's orders; waybill `ORDER-WB`).
fn write_replayed_orders(
    path: &Path,
    tpl: &[StoredEvent],
    orders: &[GenOrder],
    stations: &[String],
    cycles: usize,
) -> usize {
    let used: std::collections::HashSet<&str> =
        tpl.iter().filter_map(|e| e.order_no.as_deref()).collect();
    let items = items();
    let mut w = csv::Writer::from_path(path).unwrap();
    let mut header = packbench::import::ORDER_COLUMNS.to_vec();
    header.push("picker_id");
    w.write_record(&header).unwrap();
    let mut n = 0;
    for station in stations {
        for cycle in 0..cycles {
            for o in orders.iter().filter(|o| used.contains(o.order_no.as_str())) {
                let no = format!("{station}-{cycle}-{}", o.order_no);
                for &(it, q) in &o.lines {
                    w.write_record([
                        no.as_str(),
                        &format!("{no}-WB"),
                        "SF",
                        "测试 Test",
                        "CN",
                        "浙江省杭州市",
                        "",
                        &items[it].sku,
                        &q.to_string(),
                        PICKER_ID,
                    ])
                    .unwrap();
                }
                n += 1;
            }
        }
    }
    w.flush().unwrap();
    n
}

/// Event `i` of a bench `station` replaying `tpl`: the station's own order numbers
/// (`STATION-CYCLE-ORDER`, also inside the data), times spread from `from` by `step`.
fn replayed(
    tpl: &[StoredEvent],
    station: &str,
    i: usize,
    from: DateTime<FixedOffset>,
    step: Duration,
) -> NewEvent {
    let e = &tpl[i % tpl.len()];
    let cycle = i / tpl.len();
    let mut data = e.data.clone();
    let order_no = e.order_no.as_ref().map(|o| {
        let new = format!("{station}-{cycle}-{o}");
        let wb = format!("WB{}", &o[4..]);
        let text = serde_json::to_string(&data)
            .unwrap()
            .replace(o.as_str(), &new)
            .replace(&wb, &format!("{new}-WB"));
        data = serde_json::from_str(&text).unwrap();
        new
    });
    NewEvent {
        at: from + chrono::Duration::from_std(step * i as u32).unwrap(),
        kind: e.kind,
        actor: e.actor.clone(),
        station_id: station.to_string(),
        order_no,
        data,
    }
}

/// A bench file holding `n` events of backlog (appended by the SQLite store, 500 a commit).
fn backlog_db(path: &Path, tpl: &[StoredEvent], station: &str, n: usize) {
    let mut s = SqliteStore::open(path).unwrap();
    let from = now() - chrono::Duration::hours(1);
    let step = Duration::from_secs(3600) / n as u32;
    let mut i = 0;
    while i < n {
        let batch: Vec<NewEvent> = (i..(i + 500).min(n))
            .map(|j| replayed(tpl, station, j, from, step))
            .collect();
        s.append(&batch).unwrap();
        i += batch.len();
    }
}

// ---------------------------------------------------------------------------------------
// 3. Catch-up after an outage.

fn catchup() {
    let n_benches: usize = env_or("PB_CATCHUP_BENCHES", 200);
    let per: usize = env_or("PB_CATCHUP_EVENTS", 3000);
    println!(
        "\n== catch-up: {n_benches} benches with {per} events of backlog each (one hour at 10x \
         peak) reconnecting when the proxy heals; bench 000 is a real headless station"
    );
    let cluster = start_pg(fsync_wanted());
    let rt = runtime(2);
    // The proxy on its own runtime so its copying does not queue behind the links' tasks.
    let prt = runtime(1);
    let db = rt.block_on(cluster.fresh_db());
    let admin_url = cluster.tcp_url(&db.name);
    let proxy = prt.block_on(pg::Proxy::start(cluster.socket_path()));
    proxy.drop_all();
    let (tpl, _) = template(per);
    let dir = tempfile::tempdir().unwrap();
    let made = Instant::now();
    let mut links = Vec::new();
    let mut station_rig = None;
    let mut targets: HashMap<String, i64> = HashMap::new();
    for i in 0..n_benches {
        let station = format!("CATCH-{i:03}");
        let added = rt
            .block_on(central::add_bench(&admin_url, None, &station))
            .unwrap();
        let url = proxy.url(&added.role, &added.password, &db.name);
        if i == 0 {
            let rig = Rig::with(
                1,
                3,
                Duration::from_millis(50),
                Setup::Central {
                    station_id: &station,
                    url: &url,
                    offline: "finish",
                    claim_timeout_ms: 2000,
                },
            );
            backlog_db(&rig.db(), &tpl, &station, per);
            station_rig = Some(rig);
            continue;
        }
        let file = dir.path().join(format!("{station}.db"));
        backlog_db(&file, &tpl, &station, per);
        targets.insert(station.clone(), per as i64);
        let (tx, rx) = std::sync::mpsc::channel();
        links.push((
            link::start(&rt, &central_cfg(&url), None, &station, file, tx).unwrap(),
            rx,
        ));
    }
    let rig = station_rig.unwrap();
    let st = rig.spawn(binary());
    let pid = st.pid();
    // The station logs its devices on start: its target is its head then.
    std::thread::sleep(Duration::from_secs(2));
    targets.insert("CATCH-000".into(), local_head(&rig.db()));
    let backlog: i64 = targets.values().sum();
    println!(
        "  set-up: {backlog} events in {} bench files in {:.1} s; every link failing against the \
         proxy for 6 s (backoff at its 5 s cap)",
        targets.len(),
        made.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(6));
    let (rss_before, _) = rss_hwm(pid);
    let (lib_before, _) = rss_hwm(std::process::id());
    let cpu = CpuWatch::start(&cluster, &[pid]);
    let healed = Instant::now();
    proxy.heal();
    let su = cluster.superuser_url(&db.name);
    let (drained, done_at, conns) = rt.block_on(async {
        let c = pg::connect(&su).await;
        let mut done_at: Vec<f64> = Vec::new();
        let mut done: HashMap<String, bool> = HashMap::new();
        let mut conns = (0, 0, 0);
        let mut last_conn = Instant::now();
        let limit = Instant::now() + Duration::from_secs(300);
        loop {
            for r in c
                .query("SELECT station_id, seq FROM bench_heads", &[])
                .await
                .unwrap()
            {
                let (s, seq): (String, i64) = (r.get(0), r.get(1));
                if targets.get(&s).is_some_and(|t| seq >= *t) && !done.contains_key(&s) {
                    done.insert(s, true);
                    done_at.push(healed.elapsed().as_secs_f64());
                }
            }
            if last_conn.elapsed() > Duration::from_millis(500) {
                last_conn = Instant::now();
                let n = connections(&c, "CATCH-%").await;
                conns = (
                    std::cmp::max(conns.0, n.0),
                    std::cmp::max(conns.1, n.1),
                    std::cmp::max(conns.2, n.2),
                );
            }
            if done.len() == targets.len() || Instant::now() > limit {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (done.len(), done_at, conns)
    });
    let secs = healed.elapsed().as_secs_f64();
    let cpu = cpu.report(
        &cluster,
        "the process of 199 links and the proxy",
        &["the real station"],
    );
    let (rss_after, hwm) = rss_hwm(pid);
    let (lib_after, lib_hwm) = rss_hwm(std::process::id());
    let load = load_average();
    let mut done_at = done_at;
    println!(
        "  drained: {drained} of {} benches in {secs:.1} s ({:.0} events/s); first bench done at \
         {:.1} s, median {:.1} s, last {:.1} s; load average {load}",
        targets.len(),
        backlog as f64 / secs,
        done_at.first().copied().unwrap_or(f64::NAN),
        pct(&mut done_at, 0.5),
        done_at.last().copied().unwrap_or(f64::NAN)
    );
    println!("  {cpu}");
    println!(
        "  the real station (CATCH-000): RSS {:.1} MiB before the heal, {:.1} MiB after the \
         drain, peak (VmHWM over its whole life) {:.1} MiB",
        mib(rss_before),
        mib(rss_after),
        mib(hwm)
    );
    println!(
        "  the bench process of the other {} links: RSS {:.1} MiB before, {:.1} MiB after, peak \
         {:.1} MiB (including the backlog files' creation)",
        links.len(),
        mib(lib_before),
        mib(lib_after),
        mib(lib_hwm)
    );
    println!(
        "  PostgreSQL connections (peak): {} in all, {} client backends, {} of the bench roles",
        conns.0, conns.1, conns.2
    );
    let (code, _) = st.term();
    assert_eq!(code, Some(0));
    drop(links);
    drop(proxy);
    drop(prt);
    drop(rt);
}

// ---------------------------------------------------------------------------------------
// 4. Central audit and verify at scale.

fn audit() {
    let total: usize = env_or("PB_CENTRAL_EVENTS", 1_000_000);
    let max_secs: u64 = env_or("PB_CENTRAL_MAX_SECS", 900);
    let stations: usize = env_or("PB_CENTRAL_STATIONS", 100);
    let batch: usize = env_or("PB_CENTRAL_BATCH", 2000);
    let per = total.div_ceil(stations);
    // Stop loading while this much disk is still free (the machine's disk is shared).
    let min_free: u64 = env_or("PB_CENTRAL_MIN_FREE_GB", 2) * 1_000_000_000;
    println!(
        "\n== audit: {total} events ({stations} stations x {per}) shipped with Central::ship in \
         batches of {batch} (2 at a time), at most {max_secs} s"
    );
    let cluster = start_pg(fsync_wanted());
    let rt = runtime(2);
    let db = rt.block_on(cluster.fresh_db());
    let admin_url = cluster.tcp_url(&db.name);
    let admin = Central::connect_with(
        &admin_url,
        None,
        central::ConnectOptions {
            op_timeout: Duration::from_secs(60),
            ..Default::default()
        },
    )
    .unwrap();
    let (tpl, tpl_orders) = template(3000);
    // The orders the events name, imported centrally first (as a warehouse would).
    let names: Vec<String> = (0..stations).map(|s| format!("AUDIT-{s:03}")).collect();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("orders.csv");
    let n_orders = write_replayed_orders(&csv, &tpl, &tpl_orders, &names, per.div_ceil(tpl.len()));
    let t = Instant::now();
    import_master(&rt, &admin, &csv);
    println!(
        "  imported {n_orders} orders centrally in {:.1} s (with the fixtures' master data)",
        t.elapsed().as_secs_f64()
    );
    let tpl = Arc::new(tpl);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(max_secs);
    let shipped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (admin, tpl, shipped) = (admin.clone(), tpl.clone(), shipped.clone());
            let base = cluster.base.clone();
            rt.spawn(async move {
                let from = t0();
                let step = Duration::from_millis(500);
                let mut heads = Vec::new();
                // Round-robin over this worker's stations, one batch each, so every station
                // grows alike and a time-boxed run still spans them all.
                let mine: Vec<usize> = (0..stations).filter(|s| s % 2 == w).collect();
                let mut state: Vec<([u8; 32], usize)> =
                    mine.iter().map(|_| (chain::GENESIS, 0)).collect();
                'outer: loop {
                    let mut any = false;
                    for (k, s) in mine.iter().enumerate() {
                        let station = format!("AUDIT-{s:03}");
                        let (prev, done) = &mut state[k];
                        if *done >= per {
                            continue;
                        }
                        // Bounded in time, and never filling the shared disk.
                        if Instant::now() > deadline || free_bytes(&base) < min_free {
                            break 'outer;
                        }
                        any = true;
                        let n = batch.min(per - *done);
                        let mut evs = Vec::with_capacity(n);
                        for i in *done..*done + n {
                            let e = replayed(&tpl, &station, i, from, step);
                            let sealed = chain::seal(prev, i as i64 + 1, &e);
                            *prev = sealed.hash;
                            evs.push(ShipEvent::from_row(sealed.row, None));
                        }
                        // A stalled call is timed out by the pool and retried (a re-send
                        // is skipped centrally): counted and reported, never hidden.
                        let t = Instant::now();
                        let mut tries = 0;
                        let out = loop {
                            tries += 1;
                            match admin.ship(&evs).await {
                                Ok(out) => break out,
                                Err(e) if tries < 3 && e.is_unreachable() => {
                                    println!("    ship of {station} failed, retrying: {e}");
                                }
                                Err(e) => panic!("ship of {station}: {e}"),
                            }
                        };
                        let took = t.elapsed();
                        if took > Duration::from_secs(2) {
                            println!(
                                "    a batch of {n} events took {:.1} s ({tries} tries)",
                                took.as_secs_f64()
                            );
                        }
                        assert!(out.refused.is_none(), "{:?}", out.refused);
                        *done += n;
                        let before = shipped.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                        if (before + n) / 100_000 > before / 100_000 {
                            println!(
                                "    {} events central after {:.0} s",
                                before + n,
                                started.elapsed().as_secs_f64()
                            );
                        }
                    }
                    if !any {
                        break;
                    }
                }
                for (k, s) in mine.iter().enumerate() {
                    heads.push((format!("AUDIT-{s:03}"), state[k].1));
                }
                heads
            })
        })
        .collect();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for w in workers {
        counts.extend(rt.block_on(w).unwrap());
    }
    let load_secs = started.elapsed().as_secs_f64();
    let n = shipped.load(std::sync::atomic::Ordering::SeqCst);
    let su = cluster.superuser_url(&db.name);
    let (size, count): (i64, i64) = rt.block_on(async {
        let c = pg::connect(&su).await;
        c.batch_execute("VACUUM ANALYZE events").await.unwrap();
        let r = c
            .query_one(
                "SELECT pg_database_size(current_database()), (SELECT count(*) FROM events)",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    });
    if n < total {
        println!(
            "  STOPPED EARLY at {n} of {total} events (time box {max_secs} s or free disk under \
             {} GB: {:.1} GB free)",
            min_free / 1_000_000_000,
            free_bytes(&cluster.base) as f64 / 1e9
        );
    }
    println!(
        "  loaded {n} events ({count} rows in events) in {load_secs:.1} s: {:.0} events/s through \
         pb_ingest; database {:.2} GB ({:.0} bytes/event); load average {}",
        n as f64 / load_secs,
        size as f64 / 1e9,
        size as f64 / count.max(1) as f64,
        load_average()
    );
    // Orders to look up: random stations, cycles and template orders that were shipped.
    let mut rng = Rng::new(4242);
    let mut pick = || loop {
        let (station, done) = &counts[rng.below(counts.len() as u64) as usize];
        let i = rng.below(*done as u64) as usize;
        let e = &tpl[i % tpl.len()];
        if let Some(o) = &e.order_no {
            return format!("{station}-{}-{o}", i / tpl.len());
        }
    };
    let mut lib = Vec::new();
    let mut found = 0;
    for _ in 0..300 {
        let o = pick();
        let t = Instant::now();
        let ev = rt.block_on(admin.order_events(&o)).unwrap();
        lib.push(ms(t.elapsed()));
        found += ev.len();
    }
    println!(
        "  order_events (what `audit order --central` reads), 300 random orders ({:.1} events \
         each): {}",
        found as f64 / 300.0,
        summary(&mut lib)
    );
    let mut cli = Vec::new();
    for _ in 0..20 {
        let o = pick();
        let t = Instant::now();
        let out = bin::Pb::at(binary())
            .args(["audit", "order", &o, "--central", &admin_url])
            .output();
        cli.push(ms(t.elapsed()));
        assert!(
            out.status.success(),
            "audit order: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "  `packbench audit order ORDER --central URL`, whole process, 20 random orders: {}",
        summary(&mut cli)
    );
    let mut pick_with_waybill = || {
        let o = pick();
        let w = format!("{o}-WB");
        (o, w)
    };
    supervision_figures(&rt, &admin, &mut pick_with_waybill, stations);
    let t = Instant::now();
    let out = bin::Pb::at(binary())
        .args(["central", "verify", "--url", &admin_url])
        .output();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "  `packbench central verify --url URL`: {secs:.1} s ({:.0} events/s): {}",
        n as f64 / secs,
        String::from_utf8_lossy(&out.stdout).trim()
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(rt);
}

/// What a supervisor's console asks of the loaded log: the board, the review queue, search
/// as you type, a day's report.
fn supervision_figures(
    rt: &tokio::runtime::Runtime,
    admin: &Central,
    pick: &mut dyn FnMut() -> (String, String),
    stations: usize,
) {
    // "Today" spans the whole replayed shift (every event is within a day of t0()).
    let since = (t0() - chrono::Duration::hours(1)).with_timezone(&chrono::Utc);
    let mut board = Vec::new();
    let mut rows = 0;
    for _ in 0..20 {
        let t = Instant::now();
        rows = rt
            .block_on(admin.board(Duration::from_secs(10), since))
            .unwrap()
            .len();
        board.push(ms(t.elapsed()));
    }
    println!(
        "  board ({rows} benches of {stations} loaded, today's counts over the whole shift), 20 \
         refreshes: {}",
        summary(&mut board)
    );
    let mut queue = Vec::new();
    let mut items = 0;
    for _ in 0..5 {
        let t = Instant::now();
        items = rt
            .block_on(admin.review_queue(since, Duration::from_secs(300), false, 500))
            .unwrap()
            .len();
        queue.push(ms(t.elapsed()));
    }
    println!(
        "  review queue (the newest 500 of the shift, {items} returned), 5 reads: {}",
        summary(&mut queue)
    );
    // Typing an order number or a waybill fragment, one keystroke at a time.
    let mut typed = Vec::new();
    let mut hits = 0;
    for _ in 0..30 {
        let (o, waybill) = pick();
        for text in [&o, &waybill] {
            let chars: Vec<char> = text.chars().collect();
            // Typed from the start for the order number, from the middle for the waybill
            // (a customer reads out its last digits).
            let start = if text == &o { 0 } else { chars.len() / 3 };
            for n in start + SEARCH_FROM..=chars.len() {
                let part: String = chars[start..n].iter().collect();
                let t = Instant::now();
                hits += rt.block_on(admin.search(&part, 20)).unwrap().len();
                typed.push(ms(t.elapsed()));
            }
        }
    }
    println!(
        "  search as you type ({} keystrokes: an order number from its start, a waybill from its \
         middle, from {} characters on, 20 hits at most per kind; {hits} hits): {}",
        typed.len(),
        SEARCH_FROM,
        summary(&mut typed)
    );
    let t = Instant::now();
    let report = rt
        .block_on(admin.report(since, since + chrono::Duration::days(1)))
        .unwrap();
    println!(
        "  report of the day ({} packers, {} benches): {:.0} ms",
        report.per_packer.len(),
        report.per_bench.len(),
        ms(t.elapsed())
    );
}

/// Search starts answering from this many characters typed.
const SEARCH_FROM: usize = 3;

// ---------------------------------------------------------------------------------------
// 5. Memory of a bench with the sync running.

fn pack_shift(rig: &Rig, n: usize) -> (Vec<(usize, u64)>, u64, f64) {
    let mut st = rig.spawn(binary());
    let pid = st.pid();
    st.scan(PACKER);
    expect(&mut st, "sign-in", |v| v["event"] == "packer_signed_in");
    let mut samples = vec![(0, rss_hwm(pid).0)];
    let t = Instant::now();
    for (i, o) in rig.orders.iter().take(n).enumerate() {
        pack(rig, &mut st, o, WAIT);
        if (i + 1) % 100 == 0 {
            samples.push((i + 1, rss_hwm(pid).0));
        }
        if st.seen.len() > 1000 {
            st.seen.drain(..900);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    // A moment for the sync to ship the tail, then the peak.
    std::thread::sleep(Duration::from_secs(2));
    samples.push((n, rss_hwm(pid).0));
    let hwm = rss_hwm(pid).1;
    let (code, _) = st.term();
    assert_eq!(code, Some(0));
    (samples, hwm, secs)
}

fn memory() {
    let n: usize = env_or("PB_MEM_ORDERS", 1000);
    println!("\n== memory: a headless station packing {n} orders, alone and with [central]");
    let alone = Rig::new(n, 7, Duration::from_millis(2));
    let (a, a_hwm, a_secs) = pack_shift(&alone, n);

    let cluster = start_pg(fsync_wanted());
    let rt = runtime(1);
    let db = rt.block_on(cluster.fresh_db());
    let admin_url = cluster.tcp_url(&db.name);
    let admin = Central::connect(&admin_url, None).unwrap();
    let added = rt
        .block_on(central::add_bench(&admin_url, None, "MEM-01"))
        .unwrap();
    let rig = Rig::with(
        n,
        7,
        Duration::from_millis(2),
        Setup::Central {
            station_id: "MEM-01",
            url: &added.url,
            offline: "finish",
            claim_timeout_ms: 2000,
        },
    );
    import_master(&rt, &admin, &rig.orders_csv());
    // The station starts with an empty copy and fills it from the centre.
    let last = rig.orders.last().unwrap().order_no.clone();
    let st0 = rig.spawn(binary());
    let end = Instant::now() + Duration::from_secs(120);
    while SqliteStore::open(rig.db())
        .ok()
        .and_then(|s| s.find_order(&last).ok().flatten())
        .is_none()
    {
        assert!(Instant::now() < end, "master data never copied");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Then a fresh start on the copy, as the bench alone starts on its import.
    let (code, _) = st0.term();
    assert_eq!(code, Some(0));
    let (c, c_hwm, c_secs) = pack_shift(&rig, n);
    let head = local_head(&rig.db());
    let central_head = rt.block_on(admin.head("MEM-01")).unwrap().0;
    println!("  RSS MiB by orders packed (alone | with [central]):");
    for (x, y) in a.iter().zip(c.iter()) {
        println!("    {:>6}  {:>6.1} | {:>6.1}", x.0, mib(x.1), mib(y.1));
    }
    println!(
        "  peak (VmHWM): alone {:.1} MiB, with [central] {:.1} MiB; shift {a_secs:.1} s alone, \
         {c_secs:.1} s with [central]; {central_head} of {head} events central at the end",
        mib(a_hwm),
        mib(c_hwm)
    );
    drop(rt);
}

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
