//! 5. Memory of a bench with the sync running (`-- memory`).

#[allow(unused_imports)]
use super::*;

pub(crate) fn pack_shift(rig: &Rig, n: usize) -> (Vec<(usize, u64)>, u64, f64) {
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

pub(crate) fn memory() {
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
