//! What a bench role may do, and master data followed by change id and by the listener.

use super::*;

#[tokio::test]
async fn a_bench_role_may_do_only_what_rule_6_allows() {
    let db = pg::fresh_db().await;
    let admin = central_for(&db).await;
    import_fixtures(&admin).await;
    let station = format!("rb-{}", db.name);
    let other = format!("ro-{}", db.name);
    let long = "x".repeat(64);
    for bad in [
        "",
        "central",
        "pg_x",
        "a b",
        "x;DROP ROLE postgres",
        long.as_str(),
    ] {
        assert!(
            central::add_bench(&db.url, None, bad).await.is_err(),
            "{bad:?}"
        );
    }
    let added = central::add_bench(&db.url, None, &station).await.unwrap();
    assert_eq!(added.role, station);
    assert!(
        added.url.starts_with(&format!("postgres://{station}:")),
        "{}",
        added.url
    );
    central::add_bench(&db.url, None, &other).await.unwrap();

    // The bench's own work goes through.
    let bench = Central::connect(&added.url, None).unwrap();
    let evs = chain_of(&station, 1, &zeros(), 3);
    assert_eq!(bench.ship(&evs).await.unwrap().head_seq, 3);
    assert!(matches!(
        bench
            .claim(&station, "TB20261122001", Some("E003"), None)
            .await
            .unwrap(),
        ClaimOutcome::Granted { .. }
    ));
    bench
        .heartbeat(
            &station,
            &central::BenchReport {
                packer_id: Some("E003".into()),
                held_order: Some("TB20261122001".into()),
                backlog: 0,
            },
        )
        .await
        .unwrap();
    let changes = bench.changes_since(0, 100_000).await.unwrap();
    assert!(!changes.orders.is_empty() && !changes.skus.is_empty());
    bench
        .release(&station, "TB20261122001", "E003", "signed out")
        .await
        .unwrap();

    // Everything else is refused by PostgreSQL.
    let refused = |e: CentralError| {
        assert_eq!(e.sql_state(), Some("42501"), "{e}");
    };
    refused(
        bench
            .ship(&chain_of(&other, 1, &zeros(), 1))
            .await
            .unwrap_err(),
    );
    refused(
        bench
            .ship(&chain_of(CENTRAL_STATION, 1, &zeros(), 1))
            .await
            .unwrap_err(),
    );
    refused(
        bench
            .claim(&other, "TB20261122002", None, None)
            .await
            .unwrap_err(),
    );
    refused(
        bench
            .release(&other, "TB20261122002", "x", "y")
            .await
            .unwrap_err(),
    );
    refused(
        bench
            .heartbeat(&other, &Default::default())
            .await
            .unwrap_err(),
    );
    refused(
        bench
            .supervisor_release("TB20261122001", "E005", None, "x")
            .await
            .unwrap_err(),
    );
    let raw = pg::connect(&added.url).await;
    for sql in [
        "UPDATE events SET data = '{}'",
        "DELETE FROM events",
        "TRUNCATE events",
        "INSERT INTO events (station_id, seq, at, at_ts, type, data, prev_hash, hash) VALUES ('x', 1, 't', now(), 'device', '{}', '', '')",
        "SELECT * FROM events",
        "UPDATE orders SET cancelled = true",
        "INSERT INTO skus (sku, name, barcodes, unit_weight_g, attributes, change_id) VALUES ('X', 'X', '[]', 1, '[]', 1)",
        "DELETE FROM employees",
        "UPDATE claims SET station_id = 'me'",
        "SELECT * FROM claims",
        "UPDATE bench_heads SET seq = 0",
        "INSERT INTO bench_roles VALUES ('x', 'y')",
        "DELETE FROM alarms",
        "SELECT pb_central_append('device', NULL, NULL, '{}')",
        "SELECT pb_alarm('gap', 'x', 1, NULL, 'm', '{}', 'k')",
        "SELECT * FROM pb_claim_unchecked('someone', 'O', NULL, NULL)",
        "SELECT * FROM pb_release_unchecked('someone', 'O', 'x', 'y', 'supervisor')",
        "CREATE ROLE evil LOGIN",
        "CREATE TABLE mine (x int)",
        "CREATE FUNCTION pb_field(v text) RETURNS bytea LANGUAGE sql AS 'SELECT NULL::bytea'",
    ] {
        let err = raw.batch_execute(sql).await.expect_err(sql);
        assert_eq!(
            err.code().map(|c| c.code()),
            Some("42501"),
            "{sql}: {err:?}"
        );
    }
    // Its own station through the function, but with someone else's station in the rows:
    // the hash covers the station, so this is a forgery of its own chain, refused.
    let mut forged = chain_of(&other, 4, &evs[2].hash, 1);
    forged[0].station_id = station.clone();
    let r = bench.ship(&forged).await.unwrap().refused.unwrap();
    assert_eq!(r.kind, "bad_hash");
    // The wrong password is no way in.
    let wrong = added.url.replace(&added.password, "nope");
    assert!(pg::try_connect(&wrong).await.is_err());
    // Adding it again gives it a new password; the old one stops working.
    let again = central::add_bench(&db.url, None, &station).await.unwrap();
    assert_ne!(again.password, added.password);
    assert!(pg::try_connect(&added.url).await.is_err());
    assert!(pg::try_connect(&again.url).await.is_ok());
    // Status shows both benches.
    let status = admin.status(Duration::from_secs(60)).await.unwrap();
    let mine = status.iter().find(|b| b.station_id == station).unwrap();
    assert!(mine.registered && mine.online);
    assert_eq!(
        (mine.head_seq, mine.packer_id.as_deref()),
        (3, Some("E003"))
    );
    assert_eq!(mine.open_alarms, 1); // the forged event
    let o = status.iter().find(|b| b.station_id == other).unwrap();
    assert!(o.registered && !o.online && o.head_seq == 0);
}

#[tokio::test]
async fn changes_since_pages_through_master_data() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    assert_eq!(c.changes_since(0, 10).await.unwrap().upto, 0);
    import_fixtures(&c).await;
    let head0 = c.master_head().await.unwrap();
    let all = c.changes_since(0, 1_000_000).await.unwrap();
    assert_eq!((all.upto, all.more), (head0, false));
    assert_eq!(all.employees.len(), 8);
    // Benches get whether each badge is active, never a PIN hash (they check PINs through
    // the centre); the centre holds Argon2id hashes only.
    let e5 = all.employees.iter().find(|e| e.id == "E005").unwrap();
    assert!(e5.active);
    assert!(all.employees.iter().all(|e| e.pin_hash.is_none()));
    assert_eq!(
        count(
            &db.url,
            "SELECT count(*) FROM employees WHERE pin_hash LIKE '$argon2id$v=19$m=65536,t=3,p=1$%' AND pin_hash NOT LIKE '%555555%'"
        )
        .await,
        8
    );
    // A re-import of the same file changes nothing (the stored hashes still verify).
    let before = c.master_head().await.unwrap();
    central::import_file(
        &c,
        Kind::Employees,
        &fixtures().join("employees.csv"),
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(c.master_head().await.unwrap(), before);
    // An import can deactivate.
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone.csv");
    std::fs::write(
        &gone,
        "id,name,roles,badge,active\nE005,刘洋,supervisor,BADGE-E005,0\n",
    )
    .unwrap();
    central::import_file(
        &c,
        Kind::Employees,
        &gone,
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let ch = c.changes_since(before, 100).await.unwrap();
    assert_eq!(ch.employees.len(), 1);
    assert!(!ch.employees[0].active);
    let kept: String = pg::connect(&db.url)
        .await
        .query_one("SELECT pin_hash FROM employees WHERE id = 'E005'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        packbench::domain::pin::PinHash::parse(&kept)
            .unwrap()
            .verify(&packbench::domain::pin::Pin::new("555555")),
        "no pin column: the PIN stays"
    );
    let head = c.master_head().await.unwrap();
    assert_eq!(all.packaging.len(), 7);
    // In pages of 5, the same rows.
    let mut after = 0;
    let mut n = 0;
    loop {
        let page = c.changes_since(after, 5).await.unwrap();
        n += page.skus.len() + page.orders.len() + page.employees.len() + page.packaging.len();
        after = page.upto;
        if !page.more {
            break;
        }
    }
    assert_eq!(after, head);
    assert_eq!(
        n,
        all.skus.len() + all.orders.len() + all.employees.len() + all.packaging.len()
    );
    // One change: only that row follows.
    let meta = ImportMeta {
        file: "p.csv".into(),
        sha256: String::new(),
        station_id: CENTRAL_STATION.into(),
        at: t0(),
    };
    let p = vec![Packaging {
        code: "PKG-GIFT".into(),
        name: "礼品盒 Gift box".into(),
        tare_g: 161.0,
    }];
    c.import_parsed(&import::Parsed::Packaging(p.clone()), &meta, &mut |_, _| {})
        .await
        .unwrap();
    let ch = c.changes_since(head, 100).await.unwrap();
    assert_eq!(ch.packaging, p);
    assert!(ch.skus.is_empty() && ch.orders.is_empty() && ch.employees.is_empty());
    // Nothing is ever deleted centrally (benches keep copies).
    let err = pg::connect(&db.url)
        .await
        .batch_execute("DELETE FROM packaging")
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("never deleted"), "{err:?}");
}

async fn next_change(l: &mut central::Listener, within: Duration) -> i64 {
    let end = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(end, l.recv()).await {
            Ok(Some(ListenerEvent::Changed { upto })) => return upto,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("listener ended"),
            Err(_) => panic!("no change within {within:?}"),
        }
    }
}

async fn next_connected(l: &mut central::Listener, within: Duration) {
    let end = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(end, l.recv()).await {
            Ok(Some(ListenerEvent::Connected { .. })) => return,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("listener ended"),
            Err(_) => panic!("not connected within {within:?}"),
        }
    }
}

fn one_packaging(tare: f64) -> Vec<Packaging> {
    vec![Packaging {
        code: "PKG-T".into(),
        name: "test".into(),
        tare_g: tare,
    }]
}

fn meta() -> ImportMeta {
    ImportMeta {
        file: "p.csv".into(),
        sha256: String::new(),
        station_id: CENTRAL_STATION.into(),
        at: t0(),
    }
}

#[tokio::test]
async fn the_listener_hears_changes_and_catches_up_after_a_partition() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let db = cluster.fresh_db().await;
    let admin = Central::connect(&db.url, None).unwrap();
    let proxy = pg::Proxy::start(cluster.socket_path()).await;
    let bench = Central::connect_with(
        &proxy.url("postgres", &cluster.password, &db.name),
        None,
        ConnectOptions {
            op_timeout: Duration::from_secs(2),
            catch_up_every: Duration::from_secs(30),
            ..Default::default()
        },
    )
    .unwrap();
    let mut l = bench.listener(0);
    next_connected(&mut l, Duration::from_secs(5)).await;
    admin
        .import_parsed(
            &import::Parsed::Packaging(one_packaging(1.0)),
            &meta(),
            &mut |_, _| {},
        )
        .await
        .unwrap();
    let head = admin.master_head().await.unwrap();
    assert_eq!(next_change(&mut l, Duration::from_secs(2)).await, head);

    // Cut the network; a change made meanwhile is never notified to this bench...
    proxy.drop_all();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), l.recv())
            .await
            .unwrap()
        {
            Some(ListenerEvent::Disconnected { .. }) => break,
            other => assert!(
                matches!(other, Some(ListenerEvent::Changed { .. })),
                "{other:?}"
            ),
        }
    }
    admin
        .import_parsed(
            &import::Parsed::Packaging(one_packaging(2.0)),
            &meta(),
            &mut |_, _| {},
        )
        .await
        .unwrap();
    let head2 = admin.master_head().await.unwrap();
    assert!(head2 > head);
    // ...but after the network heals the listener catches up by change id.
    proxy.heal();
    assert_eq!(next_change(&mut l, Duration::from_secs(10)).await, head2);
    let ch = bench.changes_since(head, 100).await.unwrap();
    assert_eq!(ch.packaging, one_packaging(2.0));

    // A stalled link: calls give up within the op timeout instead of hanging, and the pool
    // recovers once the link heals.
    proxy.stall();
    let err = bench.master_head().await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    // Given up by the op timeout, not by the link itself (which never answers).
    assert!(
        matches!(err, packbench::central::CentralError::Timeout { .. }),
        "{err:?}"
    );
    proxy.heal();
    assert_eq!(bench.master_head().await.unwrap(), head2);
}

#[tokio::test]
async fn the_listener_survives_a_server_crash() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let db = cluster.fresh_db().await;
    let c = Central::connect_with(
        &db.url,
        None,
        ConnectOptions {
            op_timeout: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .unwrap();
    let mut l = c.listener(0);
    next_connected(&mut l, Duration::from_secs(5)).await;
    cluster.stop_immediate();
    let err = c.master_head().await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    assert!(err.to_string().contains(&db.name), "{err}");
    cluster.start_again();
    next_connected(&mut l, Duration::from_secs(10)).await;
    c.import_parsed(
        &import::Parsed::Packaging(one_packaging(3.0)),
        &meta(),
        &mut |_, _| {},
    )
    .await
    .unwrap();
    let head = c.master_head().await.unwrap();
    assert_eq!(next_change(&mut l, Duration::from_secs(2)).await, head);
}
