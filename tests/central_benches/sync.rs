//! One order pool shared by benches, the outbox shipped exactly once through outages, kills
//! and crashes, and a restarted bench sending only what the centre lacks.

use super::*;

#[test]
fn two_benches_share_one_pool_and_never_hold_one_order_together() {
    let floor = Floor::new();
    // Roles are the cluster's, shared by every test's database: names of this test's own.
    let rig_a = floor.bench("BENCH-A", 11, "finish");
    let rig_b = floor.bench("BENCH-B", 11, "finish");
    floor.import(&rig_a.orders_csv());
    let (o0, o1) = (rig_a.orders[0].clone(), rig_a.orders[1].clone());
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o0.order_no);
    copied(&rig_b, &o0.order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");

    // A opens o0: claimed first, then loaded.
    let loaded = open(&mut a, &o0.order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    let claimed = a
        .seen
        .iter()
        .find(|v| v["event"] == "order_claimed" && v["order_no"] == o0.order_no.as_str())
        .expect("order_claimed before order_loaded");
    assert!(claimed["claim_epoch"].as_i64().unwrap() >= 1, "{claimed}");

    // B is refused by name while A holds it.
    let refused = open(&mut b, &o0.order_no, WAIT);
    assert_eq!(refused["event"], "scan_rejected");
    assert_eq!(refused["reason"], "order_claimed_elsewhere", "{refused}");
    assert_eq!(refused["held_by"], "BENCH-A");
    assert_eq!(refused["held_by_packer"], "E003");
    assert!(!refused["since"].as_str().unwrap().is_empty());

    // Both pack.
    scan_rest(&rig_a, &mut a, &loaded, WAIT);
    rig_a.place(o0.expected_g);
    a.until(WAIT, |v| v["event"] == "order_packed")
        .expect("A packs o0");
    rig_a.place(0.0);
    pack(&rig_b, &mut b, &o1, WAIT);

    // Once A's log is central, o0 is packed for every bench.
    floor.drained("BENCH-A", &rig_a);
    let again = open(&mut b, &o0.order_no, WAIT);
    assert_eq!(again["reason"], "order_already_packed", "{again}");
    assert_eq!(again["held_by"], "BENCH-A", "{again}");

    floor.drained("BENCH-B", &rig_b);
    // The central record of each order names its bench; the whole log verifies.
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o0.order_no))
        .unwrap();
    let packed: Vec<_> = events.iter().filter(|e| e.kind == "order_packed").collect();
    assert_eq!(packed.len(), 1, "{events:#?}");
    assert_eq!(packed[0].station_id, "BENCH-A");
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o1.order_no))
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == "order_packed" && e.station_id == "BENCH-B"));
    let report = floor.rt.block_on(floor.central.verify(None)).unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.events > 20, "{report:?}");

    // Exactly once: the centre holds each bench's log event for event.
    floor.exactly_once("BENCH-A", &rig_a);
    floor.exactly_once("BENCH-B", &rig_b);
    let (code, _) = a.term();
    assert_eq!(code, Some(0));
    let (code, _) = b.term();
    assert_eq!(code, Some(0));

    // The same through the command line, as a supervisor would ask.
    let rec = pb(&[
        "audit",
        "order",
        &o0.order_no,
        "--json",
        "--central",
        &floor.db.url,
    ]);
    let rec: Value = serde_json::from_str(&rec).unwrap();
    assert_eq!(rec["status"], "packed", "{rec}");
    assert_eq!(rec["station_id"], "BENCH-A", "{rec}");
    assert_eq!(rec["packer_id"], "E003", "{rec}");
    let stations: std::collections::BTreeSet<&str> = rec["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["station_id"].as_str())
        .collect();
    assert!(stations.contains("BENCH-A"), "{stations:?}");
    let out = pb(&["central", "verify", "--url", &floor.db.url]);
    assert!(out.starts_with("central log intact"), "{out}");
    let status: Value = serde_json::from_str(&pb(&[
        "central",
        "status",
        "--json",
        "--url",
        &floor.db.url,
    ]))
    .unwrap();
    let names: Vec<&str> = status
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["station_id"].as_str())
        .collect();
    assert!(
        names.contains(&"BENCH-A") && names.contains(&"BENCH-B"),
        "{status}"
    );
}

#[test]
fn an_order_released_at_one_bench_opens_at_another_with_its_counts() {
    let floor = Floor::new();
    let rig_a = floor.bench("BENCH-C", 23, "finish");
    let rig_b = floor.bench("BENCH-D", 23, "finish");
    floor.import(&rig_a.orders_csv());
    // An order of at least two units.
    let o = rig_a
        .orders
        .iter()
        .find(|o| o.units() >= 2)
        .expect("a multi-unit order")
        .clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o.order_no);
    copied(&rig_b, &o.order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");
    let loaded = open(&mut a, &o.order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    // One unit at A, then A signs out with the order open: the claim ends.
    let first = &loaded["lines"][0];
    let sku = first["sku"].as_str().unwrap();
    let code = rig_a.barcode_of(sku);
    a.scan(&code);
    a.until(WAIT, |v| v["event"] == "item_accepted").unwrap();
    a.scan("PB-SIGNOUT");
    a.until(WAIT, |v| v["event"] == "packer_signed_out")
        .unwrap();
    floor.drained("BENCH-C", &rig_a);

    // B opens it with A's unit counted, and packs the rest.
    let at_b = pack(&rig_b, &mut b, &o, WAIT);
    let line = at_b["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == sku)
        .unwrap()
        .clone();
    assert_eq!(line["scanned"], 1, "A's unit counts at B: {at_b}");
    floor.drained("BENCH-D", &rig_b);
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o.order_no))
        .unwrap();
    let accepted: u64 = events
        .iter()
        .filter(|e| e.kind == "item_accepted")
        .map(|e| e.data.get("units").and_then(Value::as_u64).unwrap_or(1))
        .sum();
    assert_eq!(accepted as u32, o.units(), "{events:#?}");
    assert!(events
        .iter()
        .any(|e| e.kind == "order_packed" && e.station_id == "BENCH-D"));
    a.term();
    b.term();
}

#[test]
fn the_centre_down_mid_shift_and_back_loses_nothing() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let floor = Floor::on(&cluster);
    let rig = floor.bench("BENCH-E", 31, "finish");
    floor.import(&rig.orders_csv());
    let o = rig.orders.clone();
    let mut st = rig.spawn(bin());
    copied(&rig, &o[3].order_no);
    sign_in(&mut st, PACKER);
    pack(&rig, &mut st, &o[0], WAIT);
    let loaded = open(&mut st, &o[1].order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");

    // The server crashes mid-shift.
    let crash = st.seen.len();
    cluster.stop_immediate();
    // The bench finishes the order it holds: no scan waits on the network.
    scan_rest(&rig, &mut st, &loaded, WAIT);
    rig.place(o[1].expected_g);
    st.until(WAIT, |v| v["event"] == "order_packed")
        .expect("packed while the centre is down");
    rig.place(0.0);
    // It says the link is down, with what it owes.
    let down = link(&mut st, "disconnected", crash);
    assert!(
        down["detail"].as_str().unwrap().starts_with("backlog "),
        "{down}"
    );
    // `offline = "finish"`: no new order while the centre cannot say who holds it.
    let refused = open(&mut st, &o[2].order_no, WAIT);
    assert_eq!(refused["reason"], "central_unreachable", "{refused}");

    let back = st.seen.len();
    cluster.start_again();
    link(&mut st, "connected", back);
    floor.drained("BENCH-E", &rig);
    // Back: the order opens now, and everything is central exactly once.
    pack(&rig, &mut st, &o[2], WAIT);
    floor.drained("BENCH-E", &rig);
    floor.exactly_once("BENCH-E", &rig);
    let (code, _) = st.term();
    assert_eq!(code, Some(0));
}

#[test]
fn a_double_pack_across_a_partition_is_a_claim_conflict_never_a_merge() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let floor = Floor::on(&cluster);
    let proxy = floor.rt.block_on(pg::Proxy::start(cluster.socket_path()));
    // F reaches the centre through a link the test can stall; G directly.
    let rig_f = floor.bench_via("BENCH-F", 37, "open", Some(&proxy));
    let rig_g = floor.bench("BENCH-G", 37, "open");
    floor.import(&rig_f.orders_csv());
    let o0 = rig_f.orders[0].clone();
    let mut f = rig_f.spawn(bin());
    let mut g = rig_g.spawn(bin());
    copied(&rig_f, &o0.order_no);
    copied(&rig_g, &o0.order_no);
    sign_in(&mut f, PACKER);
    sign_in(&mut g, "BADGE-E004");
    link(&mut f, "connected", 0);

    // The network between F and the centre stalls: F may still open an order nobody held
    // when it last heard from the centre (offline = "open"), unclaimed.
    proxy.stall();
    let at_f = pack(&rig_f, &mut f, &o0, WAIT);
    assert_eq!(at_f["event"], "order_loaded");
    let claimed = f
        .seen
        .iter()
        .find(|v| v["event"] == "order_claimed")
        .expect("order_claimed")
        .clone();
    assert_eq!(claimed["offline"], true, "{claimed}");
    assert!(claimed["claim_epoch"].is_null(), "{claimed}");
    // G, with the centre, claims and packs the same order.
    pack(&rig_g, &mut g, &o0, WAIT);
    floor.drained("BENCH-G", &rig_g);

    // The link heals: F's backlog drains, and the double pack is a conflict for a
    // supervisor, naming both benches.
    proxy.heal();
    floor.drained("BENCH-F", &rig_f);
    let events = floor
        .rt
        .block_on(floor.central.order_events(&o0.order_no))
        .unwrap();
    let conflict = events
        .iter()
        .find(|e| e.kind == "claim_conflict")
        .unwrap_or_else(|| panic!("no claim_conflict: {events:#?}"));
    assert_eq!(
        conflict.data["stations"],
        serde_json::json!(["BENCH-F", "BENCH-G"]),
        "{conflict:?}"
    );
    let packed: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "order_packed")
        .map(|e| e.station_id.as_str())
        .collect();
    assert_eq!(
        packed.len(),
        2,
        "both packs are kept as they happened: {packed:?}"
    );
    let alarms = floor.rt.block_on(floor.central.alarms(true)).unwrap();
    assert!(
        alarms.iter().any(|a| a.kind == "claim_conflict"),
        "{alarms:#?}"
    );
    floor.exactly_once("BENCH-F", &rig_f);
    floor.exactly_once("BENCH-G", &rig_g);
    f.term();
    g.term();
}

#[test]
fn killed_benches_and_a_crashed_server_lose_nothing_and_double_nothing() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let floor = Floor::on(&cluster);
    // The bench talks to the centre through a proxy that can slow it down, so that the test
    // can stop the server between two batches of a backlog, never too late.
    let proxy = floor.rt.block_on(pg::Proxy::start(cluster.socket_path()));
    let rig = floor.bench_via("BENCH-H", 41, "finish", Some(&proxy));
    floor.import(&rig.orders_csv());
    let o = rig.orders.clone();
    let mut st = rig.spawn(bin());
    copied(&rig, &o[5].order_no);
    sign_in(&mut st, PACKER);
    // SIGKILL right after a parcel is packed, while its events are being shipped.
    for order in &o[0..3] {
        pack(&rig, &mut st, order, WAIT);
        st.kill();
        st = rig.spawn(bin());
        // The restarted bench has its packer back; the centre has whatever arrived.
        sign_in(&mut st, PACKER);
    }
    // A backlog of more than one batch, then the server killed while it takes it in: after
    // a batch of it is central and before the last.
    floor.drained("BENCH-H", &rig);
    let pre = floor.head("BENCH-H");
    cluster.stop_immediate();
    make_backlog(&mut st, 400);
    let local = SqliteStore::open(rig.db())
        .unwrap()
        .head()
        .unwrap()
        .unwrap()
        .0;
    assert!(
        local > pre + 500,
        "more than one batch owed: {pre} central, {local} local"
    );
    // 200 ms on every chunk each way: a batch of 500 events takes seconds to go in.
    proxy.delay(Duration::from_millis(200));
    cluster.start_again();
    let end = Instant::now() + WAIT;
    let mut caught = None;
    // The test's own connection goes direct; its pool replaces what died with the server.
    let probe = Central::connect(&floor.db.url, None).unwrap();
    while Instant::now() < end && caught.is_none() {
        if let Ok((h, _)) = floor.rt.block_on(probe.head("BENCH-H")) {
            if h > pre && h < local {
                cluster.stop_immediate();
                caught = Some(h);
            } else if h >= local {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let caught = caught.expect("the server was killed while the backlog was going in");
    assert!(caught < local, "killed mid-ingest at {caught} of {local}");
    proxy.delay(Duration::ZERO);
    cluster.start_again();
    floor.drained("BENCH-H", &rig);
    floor.exactly_once("BENCH-H", &rig);
    pack(&rig, &mut st, &o[4], WAIT);
    floor.drained("BENCH-H", &rig);
    floor.exactly_once("BENCH-H", &rig);
    st.term();
}

#[test]
fn a_bench_whose_log_holds_another_stations_events_is_refused_by_name_not_a_gap() {
    let floor = Floor::new();
    let rig = floor.bench("BENCH-NEW", 71, "finish");
    floor.import(&rig.orders_csv());
    // The bench's database was used before under another station id (a local import).
    {
        let mut store = SqliteStore::open(rig.db()).unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T08:00:00+08:00").unwrap();
        packbench::import::import_file(
            &mut store,
            packbench::import::Kind::Catalog,
            &fixtures().join("catalog.csv"),
            &Default::default(),
            "BENCH-OLD",
            at,
            &mut |_| {},
        )
        .unwrap();
    }
    let mut st = rig.spawn(bin());
    let err = link(&mut st, "error", 0);
    let detail = err["detail"].as_str().unwrap();
    assert!(
        detail.contains("BENCH-OLD") && detail.contains("new database file"),
        "{detail}"
    );
    // It works on, and the centre has nothing of it: no gap, no alarm.
    copied(&rig, &rig.orders[0].order_no);
    sign_in(&mut st, PACKER);
    assert_eq!(floor.head("BENCH-NEW"), 0);
    let alarms = floor.rt.block_on(floor.central.alarms(false)).unwrap();
    assert!(alarms.is_empty(), "{alarms:?}");
    st.term();
}

/// Counts, at the centre, every event a bench sends (`ingest_seen`): `pb_ingest` renamed and
/// wrapped by one that records each seq it is given before doing the same.
const COUNT_INGEST: &str = "
CREATE TABLE packbench.ingest_seen (station text NOT NULL, seq bigint NOT NULL);
ALTER FUNCTION packbench.pb_ingest(text, bigint[], text[], text[], text[], text[], text[], text[],
                                   text[], bigint[]) RENAME TO pb_ingest_counted;
CREATE FUNCTION packbench.pb_ingest(p_station text, p_seq bigint[], p_at text[], p_type text[],
        p_actor text[], p_order text[], p_data text[], p_prev text[], p_hash text[], p_epoch bigint[])
RETURNS TABLE (status text, head_seq bigint, head_hash text, refused_seq bigint, alarm_kind text,
               message text, flagged bigint[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
BEGIN
    INSERT INTO packbench.ingest_seen SELECT p_station, unnest(p_seq);
    RETURN QUERY SELECT * FROM packbench.pb_ingest_counted(p_station, p_seq, p_at, p_type, p_actor,
                                                          p_order, p_data, p_prev, p_hash, p_epoch);
END $f$;
GRANT EXECUTE ON FUNCTION packbench.pb_ingest(text, bigint[], text[], text[], text[], text[], text[],
                                              text[], text[], bigint[]) TO PUBLIC;
";

/// A bench started again ships from the centre's head for it: nothing the centre already
/// holds is sent again (the link's head once started at 0 and sent the first 500 events at
/// every start).
#[test]
fn a_restarted_bench_sends_only_what_the_centre_lacks() {
    let floor = Floor::new();
    let rig = floor.bench("BENCH-R", 43, "finish");
    floor.import(&rig.orders_csv());
    let o = rig.orders.clone();
    let mut st = rig.spawn(bin());
    copied(&rig, &o[0].order_no);
    sign_in(&mut st, PACKER);
    pack(&rig, &mut st, &o[0], WAIT);
    floor.drained("BENCH-R", &rig);
    let (code, _) = st.term();
    assert_eq!(code, Some(0));

    floor.rt.block_on(pg::exec(&floor.db.url, COUNT_INGEST));
    let before = floor.head("BENCH-R");
    assert!(before > 5, "a first shift's events are central: {before}");
    let mut st = rig.spawn(bin());
    sign_in(&mut st, PACKER);
    floor.drained("BENCH-R", &rig);
    let seen: Vec<i64> = floor.rt.block_on(async {
        pg::connect(&floor.db.url)
            .await
            .query(
                "SELECT seq FROM packbench.ingest_seen WHERE station = 'BENCH-R' ORDER BY seq",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("seq"))
            .collect()
    });
    assert!(!seen.is_empty(), "the second start's events were shipped");
    assert!(
        seen.iter().all(|s| *s > before),
        "events the centre held (up to {before}) were sent again: {seen:?}"
    );
    floor.exactly_once("BENCH-R", &rig);
    st.term();
}
