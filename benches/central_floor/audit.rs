//! 4. Central audit and verify at scale (`-- audit`).

#[allow(unused_imports)]
use super::*;

pub(crate) fn audit() {
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
pub(crate) fn supervision_figures(
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
pub(crate) const SEARCH_FROM: usize = 3;
