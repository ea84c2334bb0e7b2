//! Shipping a bench's log: in order, exactly once, refusals with alarms, and the head a bench
//! starts shipping from.

use super::*;

#[tokio::test]
async fn ingest_in_order_exactly_once() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let evs = chain_of("B1", 1, &zeros(), 8);
    let out = c.ship(&evs[..5]).await.unwrap();
    assert_eq!(out.head_seq, 5);
    assert_eq!(out.head_hash, evs[4].hash);
    assert!(out.refused.is_none() && out.flagged.is_empty());
    // A re-send overlapping what the centre holds: the known ones are skipped.
    let out = c.ship(&evs[3..]).await.unwrap();
    assert_eq!((out.head_seq, out.refused), (8, None));
    let out = c.ship(&evs).await.unwrap();
    assert_eq!((out.head_seq, out.refused), (8, None));
    assert_eq!(
        count(
            &db.url,
            "SELECT count(*) FROM events WHERE station_id = 'B1'"
        )
        .await,
        8
    );
    assert_eq!(count(&db.url, "SELECT count(*) FROM alarms").await, 0);
    assert_eq!(c.head("B1").await.unwrap(), (8, evs[7].hash.clone()));
    let report = c.verify(None).await.unwrap();
    assert_eq!(report.error, None);
    assert_eq!(report.events, 8);
    // A batch mixing stations is the caller's bug.
    let mut mixed = chain_of("B1", 9, &evs[7].hash, 1);
    mixed.extend(chain_of("B2", 1, &zeros(), 1));
    assert!(c.ship(&mixed).await.is_err());
}

#[tokio::test]
async fn a_gap_is_refused_with_an_alarm() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let evs = chain_of("B1", 1, &zeros(), 6);
    c.ship(&evs[..2]).await.unwrap();
    let out = c.ship(&evs[4..]).await.unwrap();
    let r = out.refused.expect("refused");
    assert_eq!((r.seq, r.kind.as_str(), out.head_seq), (5, "gap", 2));
    assert!(
        r.message.contains("events 3 to 4 are missing"),
        "{}",
        r.message
    );
    let alarms = c.alarms(false).await.unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(
        (
            alarms[0].kind.as_str(),
            alarms[0].station_id.as_deref(),
            alarms[0].seq
        ),
        ("gap", Some("B1"), Some(5))
    );
    // Retrying the same bad batch bumps the alarm, it does not add rows.
    c.ship(&evs[4..]).await.unwrap();
    let alarms = c.alarms(false).await.unwrap();
    assert_eq!((alarms.len(), alarms[0].count), (1, 2));
    // Filling the gap heals it.
    let out = c.ship(&evs[2..]).await.unwrap();
    assert_eq!((out.head_seq, out.refused), (6, None));
}

#[tokio::test]
async fn forged_hash_wrong_prev_and_rewritten_events_are_refused_with_alarms() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let evs = chain_of("B1", 1, &zeros(), 4);
    c.ship(&evs[..2]).await.unwrap();

    // A forged hash: content changed, hash kept. Nothing after it in the batch is applied.
    let mut forged = evs[2].clone();
    forged.data = r#"{"device":"scale","state":"error"}"#.into();
    let out = c.ship(&[forged, evs[3].clone()]).await.unwrap();
    let r = out.refused.unwrap();
    assert_eq!((r.seq, r.kind.as_str(), out.head_seq), (3, "bad_hash", 2));

    // A wrong prev_hash (spliced chain).
    let spliced = ev("B1", 3, &hex::encode([1u8; 32]), "device", None, "{}", None);
    let r = c.ship(&[spliced]).await.unwrap().refused.unwrap();
    assert_eq!((r.seq, r.kind.as_str()), (3, "bad_chain"));

    // A rewritten event at a known seq, its own hash recomputed: a fork.
    let rewritten = ev(
        "B1",
        2,
        &evs[0].hash,
        "device",
        None,
        r#"{"rewritten":true}"#,
        None,
    );
    let out = c.ship(&[rewritten, evs[2].clone()]).await.unwrap();
    let r = out.refused.unwrap();
    assert_eq!((r.seq, r.kind.as_str(), out.head_seq), (2, "fork", 2));

    // Valid hash but unreadable content.
    let bad = ev("B1", 3, &evs[1].hash, "device", None, "not json", None);
    let r = c.ship(&[bad]).await.unwrap().refused.unwrap();
    assert_eq!((r.seq, r.kind.as_str()), (3, "bad_event"));
    for (at, data) in [
        ("yesterday", "{}"),
        ("2026-13-01T00:00:00.000+08:00", "{}"),
        ("2026-11-22T10:00:00.000+08:00", "[1]"),
    ] {
        let mut e = ev("B1", 3, &evs[1].hash, "device", None, data, None);
        e.at = at.into();
        e.hash = hex::encode(chain::event_hash(
            &chain::parse_hash(&evs[1].hash).unwrap(),
            &EventFields {
                seq: 3,
                at,
                kind: "device",
                actor: Some("E003"),
                station_id: "B1",
                order_no: None,
                data,
            },
        ));
        let r = c.ship(&[e]).await.unwrap().refused.unwrap();
        assert_eq!(
            (r.seq, r.kind.as_str()),
            (3, "bad_event"),
            "{at} {data}: {}",
            r.message
        );
    }

    let mut kinds: Vec<String> = c
        .alarms(false)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["bad_chain", "bad_event", "bad_hash", "fork"]);
    // The centre still holds the honest chain.
    assert_eq!(count(&db.url, "SELECT count(*) FROM events").await, 2);
    assert_eq!(c.verify(None).await.unwrap().error, None);
    let out = c.ship(&evs).await.unwrap();
    assert_eq!((out.head_seq, out.refused), (4, None));
}

#[tokio::test]
async fn a_real_bench_log_ships_and_verifies() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let mut store = SqliteStore::open_in_memory().unwrap();
    let stored = store
        .append(&[
            NewEvent::new(EventType::PackerSignedIn, t0(), "包装台-7").actor(Some("E003")),
            NewEvent::new(EventType::OrderLoaded, t0(), "包装台-7")
                .actor(Some("E003"))
                .order("TB20261122001")
                .with("note", "请不要放发票 😀")
                .with("units", 3),
            NewEvent::new(EventType::Device, t0(), "包装台-7")
                .with("device", "scale")
                .with("detail", ""),
        ])
        .unwrap();
    let mut prev = zeros();
    let ship: Vec<ShipEvent> = stored
        .iter()
        .map(|e| {
            let s = ShipEvent::from_stored(e, &prev, Some(1).filter(|_| e.order_no.is_some()));
            prev = e.hash.clone();
            s
        })
        .collect();
    let out = c.ship(&ship).await.unwrap();
    assert_eq!((out.head_seq, out.refused), (3, None));
    assert_eq!(c.verify(None).await.unwrap().error, None);
    let back = c.order_events("TB20261122001").await.unwrap();
    // The bench's event, and the centre's claim_conflict about it.
    assert_eq!(back.len(), 2);
    assert_eq!(back[1].station_id, CENTRAL_STATION);
    assert_eq!(back[1].kind, "claim_conflict");
    assert_eq!(back[0].stored().as_ref(), Some(&stored[1]));
    assert_eq!(back[0].claim_epoch, Some(1));
    // Its epoch was never granted: stored, and flagged.
    assert!(back[0].flagged);
}

/// The head a bench ships from after a start: its own station's, as the centre holds it;
/// another station's is refused to a bench role.
#[tokio::test]
async fn a_bench_reads_its_own_head_at_the_centre_and_no_other() {
    let db = pg::fresh_db().await;
    let admin = central_for(&db).await;
    let b1 = central::add_bench(&db.url, None, "B1").await.unwrap();
    central::add_bench(&db.url, None, "B2").await.unwrap();
    let bench = Central::connect(&b1.url, None).unwrap();
    assert_eq!(bench.bench_head("B1").await.unwrap(), (0, zeros()));
    let evs = chain_of("B1", 1, &zeros(), 3);
    bench.ship(&evs).await.unwrap();
    assert_eq!(
        bench.bench_head("B1").await.unwrap(),
        (3, evs[2].hash.clone())
    );
    assert_eq!(
        admin.bench_head("B1").await.unwrap(),
        (3, evs[2].hash.clone())
    );
    let err = bench.bench_head("B2").await.unwrap_err();
    assert_eq!(err.sql_state(), Some("42501"), "{err}");
}
