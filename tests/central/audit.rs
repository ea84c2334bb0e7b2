//! Verification and checkpoints, audit queries and reports across benches, returns.

use super::*;

#[tokio::test]
async fn verify_and_checkpoints_catch_rewritten_and_removed_events() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    c.ship(&chain_of("B1", 1, &zeros(), 5)).await.unwrap();
    c.ship(&chain_of("B2", 1, &zeros(), 3)).await.unwrap();
    import_fixtures(&c).await;
    let cp = c.checkpoint().await.unwrap();
    assert_eq!(cp.id, 1);
    let stations: Vec<&str> = cp.heads.iter().map(|h| h.station_id.as_str()).collect();
    assert_eq!(stations, ["B1", "B2", CENTRAL_STATION]);
    assert!(cp.is_consistent());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cp.json");
    cp.write(&file).unwrap();
    let cp = central::CentralCheckpoint::read(&file).unwrap();
    assert_eq!(c.verify_checkpoint_file(&file).await.unwrap().error, None);
    // More events and a second checkpoint, chained to the first.
    let more = chain_of("B2", 4, &cp.heads[1].hash, 2);
    c.ship(&more).await.unwrap();
    let cp2 = c.checkpoint().await.unwrap();
    assert_eq!((cp2.id, cp2.prev_hash.as_str()), (2, cp.hash.as_str()));
    let ok = c.verify(Some(&cp)).await.unwrap();
    assert_eq!(ok.error, None);
    assert_eq!((ok.checkpoints, ok.stations.len()), (2, 3));
    // A checkpoint copied out in capitals (hex is hex) proves the same.
    let mut upper = cp.clone();
    upper.hash = upper.hash.to_uppercase();
    for h in &mut upper.heads {
        h.hash = h.hash.to_uppercase();
    }
    assert_eq!(c.verify(Some(&upper)).await.unwrap().error, None);

    // An edited checkpoint file is caught on its own.
    let mut edited = cp.clone();
    edited.heads[0].seq = 4;
    assert!(matches!(
        c.verify(Some(&edited)).await.unwrap().error,
        Some(CentralVerifyError::CheckpointFile { .. })
    ));

    // A superuser rewrites event B1/2 behind the trigger's back.
    pg::exec(
        &db.url,
        "ALTER TABLE events DISABLE TRIGGER events_no_update;
         UPDATE events SET data = '{\"device\":\"scale\",\"state\":\"error\"}' WHERE station_id = 'B1' AND seq = 2;",
    )
    .await;
    let err = c.verify(None).await.unwrap().error.unwrap();
    assert_eq!(err.station_seq(), Some(("B1", 2)));
    assert!(matches!(
        err,
        CentralVerifyError::Event {
            error: VerifyError::Changed { seq: 2 },
            ..
        }
    ));
    assert!(
        err.to_string().contains("station B1: event 2 was changed"),
        "{err}"
    );
}

#[tokio::test]
async fn removing_a_benchs_latest_events_is_caught_by_head_and_checkpoint() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    c.ship(&chain_of("B1", 1, &zeros(), 5)).await.unwrap();
    c.ship(&chain_of("B2", 1, &zeros(), 3)).await.unwrap();
    let cp = c.checkpoint().await.unwrap();
    pg::exec(
        &db.url,
        "ALTER TABLE events DISABLE TRIGGER events_no_update;
         DELETE FROM events WHERE station_id = 'B2' AND seq = 3;",
    )
    .await;
    let err = c.verify(None).await.unwrap().error.unwrap();
    assert_eq!(err.station_seq(), Some(("B2", 3)), "{err}");
    // Head rolled back too: the checkpoint still knows.
    pg::exec(&db.url, "UPDATE bench_heads SET seq = 2, hash = (SELECT hash FROM events WHERE station_id = 'B2' AND seq = 2) WHERE station_id = 'B2'").await;
    assert_eq!(c.verify(None).await.unwrap().error, None);
    let err = c.verify(Some(&cp)).await.unwrap().error.unwrap();
    assert!(
        matches!(
            err,
            CentralVerifyError::Event {
                error: VerifyError::Truncated {
                    have: 2,
                    checkpoint: 3
                },
                ..
            }
        ),
        "{err:?}"
    );
    // A whole bench removed, head and all: a later checkpoint still remembers it.
    let cp2 = c.checkpoint().await.unwrap();
    pg::exec(&db.url, "DELETE FROM events WHERE station_id = 'B1'; DELETE FROM bench_heads WHERE station_id = 'B1'").await;
    assert_eq!(c.verify(None).await.unwrap().error, None);
    let err = c.verify(Some(&cp2)).await.unwrap().error.unwrap();
    assert_eq!(err.station_seq(), Some(("B1", 1)), "{err}");
    // A stored checkpoint removed.
    pg::exec(
        &db.url,
        "ALTER TABLE checkpoints DISABLE TRIGGER checkpoints_no_update; DELETE FROM checkpoints",
    )
    .await;
    assert!(matches!(
        c.verify(Some(&cp)).await.unwrap().error,
        Some(CentralVerifyError::CheckpointChain { id: 1, .. })
    ));
}

#[tokio::test]
async fn audit_queries_span_benches() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    let o = "TB20261122001";
    let a1 = ev("B1", 1, &zeros(), "order_loaded", Some(o), "{}", None);
    let a2 = ev(
        "B1",
        2,
        &a1.hash,
        "item_accepted",
        Some(o),
        r#"{"sku":"T-BLU-L"}"#,
        None,
    );
    let b1 = ev("B2", 1, &zeros(), "order_loaded", Some(o), "{}", None);
    c.ship(&[a1, a2]).await.unwrap();
    c.ship(&[b1]).await.unwrap();
    // By waybill, every bench, time order then station.
    let evs = c.order_events("SF1498369006026").await.unwrap();
    let who: Vec<(String, i64)> = evs.iter().map(|e| (e.station_id.clone(), e.seq)).collect();
    assert_eq!(
        who,
        [
            ("B1".to_string(), 1),
            ("B2".to_string(), 1),
            ("B1".to_string(), 2)
        ]
    );
    let accepted = c
        .events(&EventFilter {
            types: vec!["item_accepted"],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].str("sku"), Some("T-BLU-L"));
    let b2 = c
        .events(&EventFilter {
            station_id: Some("B2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(b2.len(), 1);
    let t = |m: u32, s: u32| {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, 10, m, s)
            .unwrap()
    };
    let window = c
        .events(&EventFilter {
            from: Some(t(0, 2)),
            to: Some(t(0, 2)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(window.len(), 1);
    assert_eq!(window[0].seq, 2);
}

/// Reports come from counts kept per bench, person and hour as events arrive; a return that
/// confirms a wrong item counts against whoever packed the order, at the packing bench, not
/// against the person who checked the return in.
#[tokio::test]
async fn reports_count_per_hour_and_errors_after_shipping_against_the_packer() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    let o = "TB20261122001"; // 3 units
    let mut prev = zeros();
    let mut b1 = Vec::new();
    for (seq, kind, data) in [
        (
            1,
            "scan_rejected",
            r#"{"reason":"not_in_order","code":"6921568310025"}"#,
        ),
        (2, "scan_rejected", r#"{"reason":"wrong_step","code":"X"}"#),
        (
            3,
            "weight_checked",
            r#"{"ok":false,"measured_g":225.0,"expected_g":265.0}"#,
        ),
        (
            4,
            "weight_checked",
            r#"{"ok":true,"measured_g":265.0,"expected_g":265.0}"#,
        ),
        (
            5,
            "order_packed",
            r#"{"packer_id":"E003","override_by":"E005"}"#,
        ),
        (6, "reprint_requested", "{}"),
    ] {
        let e = ev("B1", seq, &prev, kind, Some(o), data, None);
        prev = e.hash.clone();
        b1.push(e);
    }
    c.ship(&b1).await.unwrap();
    // Checked in at another bench by E009: one return confirms a wrong item, one the
    // evidence contradicts, one for a reason that blames nobody.
    let mut prev = zeros();
    let mut b2 = Vec::new();
    for (seq, data) in [
        (1, r#"{"reason":"wrong_item_sent","confirmed":true}"#),
        (
            2,
            r#"{"reason":"missing_item","confirmed":false,"packer_id":"E003"}"#,
        ),
        (
            3,
            r#"{"reason":"changed_mind","confirmed":null,"packer_id":"E003"}"#,
        ),
    ] {
        let e = ev_as(
            "E009",
            "B2",
            seq,
            &prev,
            "return_closed",
            Some(o),
            data,
            None,
        );
        prev = e.hash.clone();
        b2.push(e);
    }
    c.ship(&b2).await.unwrap();

    let utc = |h: i64| {
        (FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, 0, 0, 0)
            .unwrap()
            + chrono::Duration::hours(h))
        .with_timezone(&chrono::Utc)
    };
    let r = c.report(utc(0), utc(24)).await.unwrap();
    let e003 = r.per_packer.iter().find(|p| p.key == "E003").unwrap();
    assert_eq!(
        (
            e003.orders,
            e003.units,
            e003.wrong_items_caught,
            e003.mismatches,
            e003.overrides,
            e003.reprints,
            e003.errors_after_shipping
        ),
        (1, 3, 1, 1, 1, 1, 1),
        "{r:#?}"
    );
    assert_eq!(e003.name.as_deref(), Some("张伟"));
    assert!(
        r.per_packer.iter().all(|p| p.key != "E009"),
        "the returns handler is not blamed: {r:#?}"
    );
    let bench1 = r.per_bench.iter().find(|b| b.key == "B1").unwrap();
    assert_eq!((bench1.orders, bench1.errors_after_shipping), (1, 1));
    assert!(r.per_bench.iter().all(|b| b.key != "B2"), "{r:#?}");
    // Whole hours: the events are in 10:00-11:00 (UTC+8).
    let later = c.report(utc(11), utc(24)).await.unwrap();
    assert!(
        later.per_packer.is_empty() && later.per_bench.is_empty(),
        "{later:#?}"
    );
    let hour = c.report(utc(10), utc(11)).await.unwrap();
    assert_eq!(hour.per_packer, r.per_packer);
}

/// Returns check-in (issue 13): a bench's return events ship like any other event (the centre
/// does not refuse types it does not interpret), and the audit read from the centre has the
/// return, its verdict and the packing error it counts against the packer.
#[tokio::test]
async fn return_events_ship_and_the_central_audit_reads_them() {
    use packbench::domain::session::EngineConfig;
    use packbench::station::Bench;
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    // A bench packs ORDER1, then checks its return in: a lipstick that was never in it.
    let mut store = SqliteStore::open_in_memory().unwrap();
    import::import_data_set(&mut store, &fixtures(), "B-RET", t0()).unwrap();
    let cfg = EngineConfig {
        station_id: "B-RET".into(),
        ..EngineConfig::default()
    };
    let mut b = Bench::open(store, cfg).unwrap();
    let at = |s: i64| t0() + chrono::Duration::seconds(s);
    let o = "TB20261122001";
    for (i, code) in [
        "BADGE-E003",
        o,
        "6975432100137",
        "6975432201018",
        "6975432201018",
    ]
    .into_iter()
    .enumerate()
    {
        b.scan(code, None, at(1 + i as i64)).unwrap();
    }
    b.weight(266.0, true, at(10)).unwrap();
    for (i, code) in [
        "PB-RETURNS",
        o,
        "6921568310025",
        "6975432201018",
        "PB-RET-REASON-WRONG_ITEM_SENT",
        "PB-RETURN-CLOSE",
    ]
    .into_iter()
    .enumerate()
    {
        b.scan(code, None, at(20 + i as i64)).unwrap();
    }
    let mut ship = Vec::new();
    b.store()
        .scan_chain(0, &mut |r| {
            ship.push(ShipEvent::from_row(r, None));
            true
        })
        .unwrap();
    assert!(ship.iter().any(|e| e.kind == "return_closed"));
    let out = c.ship(&ship).await.unwrap();
    assert_eq!((out.head_seq, out.refused), (ship.len() as i64, None));
    assert_eq!(c.verify(None).await.unwrap().error, None);

    let dir = tempfile::tempdir().unwrap();
    let pb = |args: &[&str]| -> serde_json::Value {
        let out = bin::Pb::new()
            .dir(dir.path())
            .args(args)
            .args(["--json", "--central", &db.url])
            .output();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let rec = pb(&["audit", "order", o]);
    assert_eq!(rec["returns"][0]["return_id"], "TB20261122001-R1");
    assert_eq!(rec["returns"][0]["verdict"], "confirmed");
    let types: Vec<&str> = rec["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for t in [
        "return_opened",
        "foreign_item",
        "return_item",
        "return_closed",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    let rows = pb(&["audit", "returns"]);
    assert_eq!(rows[0]["foreign"][0]["sku"], "LIP-R02");
    assert_eq!(rows[0]["station_id"], "B-RET");
    let p = pb(&["audit", "packer", "E003"]);
    assert_eq!(p["packing_errors"], 1, "{p}");
    // The supervisors' report counts it as an error found after shipping, against the packer.
    let from = (t0() - chrono::Duration::days(1)).with_timezone(&chrono::Utc);
    let r = c
        .report(from, from + chrono::Duration::days(2))
        .await
        .unwrap();
    let e003 = r.per_packer.iter().find(|p| p.key == "E003").unwrap();
    assert_eq!(e003.errors_after_shipping, 1, "{r:#?}");
}

/// Rates per order (issue 24): one order with a wrong item caught and a failed weighing is one
/// order with a caught error (100 %, never 200 %); two returns confirming a packing error of it
/// are one order with a packing error, counted in the hour it was packed.
#[tokio::test]
async fn report_rates_count_each_order_once() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    let (o, clean) = ("TB20261122001", "TB20261122002");
    let b1 = chain(
        "B1",
        &[
            (
                "scan_rejected",
                Some(o),
                r#"{"reason":"not_in_order","code":"6921568310025"}"#,
                None,
            ),
            (
                "weight_checked",
                Some(o),
                r#"{"ok":false,"measured_g":225.0,"expected_g":265.0}"#,
                None,
            ),
            (
                "order_packed",
                Some(o),
                r#"{"packer_id":"E003","override_by":"E005"}"#,
                None,
            ),
        ],
    );
    c.ship(&b1).await.unwrap();
    let utc = |h: i64| (t0() + chrono::Duration::hours(h)).with_timezone(&chrono::Utc);
    let r = c.report(utc(-10), utc(14)).await.unwrap();
    let e003 = r.per_packer.iter().find(|p| p.key == "E003").unwrap();
    assert_eq!(
        (e003.orders, e003.wrong_items_caught, e003.mismatches),
        (1, 1, 1)
    );
    assert_eq!(
        (e003.orders_with_caught_error, e003.caught_error_rate),
        (1, Some(1.0)),
        "{e003:#?}"
    );
    assert_eq!(
        (e003.orders_with_packing_error, e003.packing_error_rate),
        (0, Some(0.0))
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["per_packer"][0]["caught_error_rate"], 1.0, "{json}");

    // A clean second order, then two returns of the first confirming a wrong item, closed at
    // another bench in the hour it was packed: one order in two with a packing error.
    let clean_packed = ev(
        "B1",
        4,
        &b1.last().unwrap().hash,
        "order_packed",
        Some(clean),
        r#"{"packer_id":"E003"}"#,
        None,
    );
    c.ship(&[clean_packed]).await.unwrap();
    let b2 = chain(
        "B2",
        &[(
            "return_closed",
            Some(o),
            r#"{"reason":"wrong_item_sent","confirmed":true}"#,
            None,
        ); 2],
    );
    c.ship(&b2).await.unwrap();
    let r = c.report(utc(-10), utc(14)).await.unwrap();
    let e003 = r.per_packer.iter().find(|p| p.key == "E003").unwrap();
    assert_eq!(
        (e003.orders, e003.errors_after_shipping),
        (2, 2),
        "{e003:#?}"
    );
    assert_eq!(
        (
            e003.orders_with_caught_error,
            e003.caught_error_rate,
            e003.orders_with_packing_error,
            e003.packing_error_rate
        ),
        (1, Some(0.5), 1, Some(0.5)),
        "{e003:#?}"
    );
}
