//! 3. Catch-up after an outage (`-- catchup`).

#[allow(unused_imports)]
use super::*;

pub(crate) fn catchup() {
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
