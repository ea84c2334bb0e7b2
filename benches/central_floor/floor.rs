//! 1. 200 benches on one PostgreSQL (`-- floor`).

#[allow(unused_imports)]
use super::*;

pub(crate) fn floor() {
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
