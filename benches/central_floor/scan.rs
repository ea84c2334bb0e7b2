//! 2. A real headless station's scan → line with the centre up, slow and down (`-- scan`).

#[allow(unused_imports)]
use super::*;

pub(crate) fn expect(
    st: &mut Station,
    what: &str,
    want: impl FnMut(&Value) -> bool,
) -> (Instant, Value) {
    st.until(WAIT, want).unwrap_or_else(|| {
        panic!(
            "no {what}; last lines: {:#?}",
            &st.seen[st.seen.len().saturating_sub(8)..]
        )
    })
}

/// Opens an order: (ms from the scan to its answer, the answer).
pub(crate) fn timed_open(st: &mut Station, order_no: &str) -> (f64, Value) {
    let t = st.scan(order_no);
    let (at, v) = expect(st, "an answer to the order", |v| {
        (v["event"] == "order_loaded" || v["event"] == "scan_rejected") && v["order_no"] == order_no
    });
    (ms(at - t), v)
}

/// `pairs` × (item scan → item_accepted, PB-UNDO → scan_undone) on the open order.
pub(crate) fn scan_pairs(st: &mut Station, code: &str, pairs: usize, out: &mut Vec<f64>) {
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

pub(crate) fn finish(rig: &Rig, st: &mut Station, loaded: &Value, o: &GenOrder) {
    scan_rest(rig, st, loaded, WAIT);
    rig.place(o.expected_g);
    expect(st, "order_packed", |v| {
        v["event"] == "order_packed" && v["order_no"] == o.order_no.as_str()
    });
    rig.place(0.0);
}

pub(crate) fn local_head(db: &Path) -> i64 {
    SqliteStore::open(db)
        .unwrap()
        .head()
        .unwrap()
        .map(|h| h.0)
        .unwrap_or(0)
}

pub(crate) fn scan_figure() {
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
