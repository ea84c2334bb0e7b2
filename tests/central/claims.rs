//! Claims: one holder at a time, the history a granted claim brings, conflicts flagged.

use super::*;

#[tokio::test]
async fn claims_are_one_holder_at_a_time() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let ClaimOutcome::Granted {
        claim_epoch: e1,
        since,
    } = c.claim("B1", "O1", Some("E003"), None).await.unwrap()
    else {
        panic!("first claim refused")
    };
    assert_eq!(e1, 1);
    match c.claim("B2", "O1", Some("E004"), None).await.unwrap() {
        ClaimOutcome::HeldElsewhere {
            held_by,
            held_by_packer,
            since: s,
        } => {
            assert_eq!(
                (held_by.as_str(), held_by_packer.as_deref()),
                ("B1", Some("E003"))
            );
            assert_eq!(s, since);
        }
        other => panic!("{other:?}"),
    }
    // The holder claiming again (a retry) keeps its epoch.
    assert!(matches!(
        c.claim("B1", "O1", Some("E003"), None).await.unwrap(),
        ClaimOutcome::Granted { claim_epoch: 1, .. }
    ));
    // Only the holder releases it.
    assert!(
        !c.release("B2", "O1", "E004", "not mine")
            .await
            .unwrap()
            .released
    );
    let r = c.release("B1", "O1", "E003", "held").await.unwrap();
    assert!(r.released);
    assert_eq!((r.held_by.as_deref(), r.claim_epoch), (Some("B1"), Some(1)));
    assert!(matches!(
        c.claim("B2", "O1", Some("E004"), None).await.unwrap(),
        ClaimOutcome::Granted { claim_epoch: 2, .. }
    ));
    // A lapsed lease lets another bench take it.
    assert!(matches!(
        c.claim("B1", "O2", None, Some(Duration::from_millis(50)))
            .await
            .unwrap(),
        ClaimOutcome::Granted { claim_epoch: 1, .. }
    ));
    // Refused while the lease holds (no epoch is spent on a refusal), granted once it lapsed.
    pg::eventually(
        Duration::from_secs(5),
        "B1's 50 ms lease to lapse",
        || async {
            match c.claim("B2", "O2", None, None).await.unwrap() {
                ClaimOutcome::Granted { claim_epoch, .. } => {
                    assert_eq!(claim_epoch, 2);
                    true
                }
                ClaimOutcome::HeldElsewhere { held_by, .. } => {
                    assert_eq!(held_by, "B1");
                    false
                }
                other => panic!("{other:?}"),
            }
        },
    )
    .await;
    // Once packed (its order_packed reached the centre), nobody claims it.
    let evs = vec![ev(
        "B2",
        1,
        &zeros(),
        "order_packed",
        Some("O1"),
        "{}",
        Some(2),
    )];
    let out = c.ship(&evs).await.unwrap();
    assert!(out.flagged.is_empty());
    match c.claim("B1", "O1", None, None).await.unwrap() {
        ClaimOutcome::Packed { packed_by, .. } => assert_eq!(packed_by.as_deref(), Some("B2")),
        other => panic!("{other:?}"),
    }
    match c.claim("B2", "O1", None, None).await.unwrap() {
        ClaimOutcome::Packed { .. } => {}
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    /// N benches, each with its own connection, claim the same order at the same instant:
    /// exactly one wins, every round; the losers are told who won.
    #[test]
    fn a_claim_storm_has_exactly_one_winner(benches in 2usize..24, rounds in 1usize..6) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
        rt.block_on(async {
            static DB: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
            let url = DB.get_or_init(|| async { pg::fresh_db().await.url }).await.clone();
            static ROUND: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let centrals: Vec<Central> = (0..benches)
                .map(|_| Central::connect_with(&url, None, ConnectOptions { max_connections: 1, ..Default::default() }).unwrap())
                .collect();
            for _ in 0..rounds {
                let order = format!("STORM-{}", ROUND.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
                let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(benches));
                let tasks: Vec<_> = centrals.iter().enumerate().map(|(i, c)| {
                    let c = c.clone();
                    let order = order.clone();
                    let barrier = barrier.clone();
                    tokio::spawn(async move {
                        // Connect first so the race is the claim itself.
                        c.master_head().await.unwrap();
                        barrier.wait().await;
                        (format!("S{i}"), c.claim(&format!("S{i}"), &order, None, None).await.unwrap())
                    })
                }).collect();
                let mut winners = Vec::new();
                let mut told = HashSet::new();
                for t in tasks {
                    let (bench, out) = t.await.unwrap();
                    match out {
                        ClaimOutcome::Granted { claim_epoch, .. } => {
                            assert_eq!(claim_epoch, 1);
                            winners.push(bench);
                        }
                        ClaimOutcome::HeldElsewhere { held_by, .. } => { told.insert(held_by); }
                        other => panic!("{other:?}"),
                    }
                }
                assert_eq!(winners.len(), 1, "winners of {order}: {winners:?}");
                assert!(told.is_empty() || told == HashSet::from([winners[0].clone()]), "{told:?}");
            }
        });
    }
}

#[tokio::test]
async fn a_granted_claim_brings_the_other_benches_events_and_a_refused_one_none() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    let (first, history) = c
        .claim_with_history("B1", "O7", Some("E003"))
        .await
        .unwrap();
    assert!(
        matches!(first, ClaimOutcome::Granted { claim_epoch: 1, .. }),
        "{first:?}"
    );
    assert!(history.is_empty(), "{history:?}");
    // B1 scans a unit of O7 and holds it; B2 takes it over.
    let e1 = ev(
        "B1",
        1,
        &zeros(),
        "item_accepted",
        Some("O7"),
        r#"{"sku":"X"}"#,
        Some(1),
    );
    assert_eq!(c.ship(std::slice::from_ref(&e1)).await.unwrap().head_seq, 1);
    assert!(
        c.release("B1", "O7", "E003", "held")
            .await
            .unwrap()
            .released
    );
    let (second, history) = c
        .claim_with_history("B2", "O7", Some("E004"))
        .await
        .unwrap();
    assert!(
        matches!(second, ClaimOutcome::Granted { claim_epoch: 2, .. }),
        "{second:?}"
    );
    let seen: Vec<(&str, i64, &str, &str)> = history
        .iter()
        .map(|e| {
            (
                e.station_id.as_str(),
                e.seq,
                e.kind.as_str(),
                e.hash.as_str(),
            )
        })
        .collect();
    assert_eq!(seen, [("B1", 1, "item_accepted", e1.hash.as_str())]);
    // B1 again: refused, and no history (the centre reads it only for the holder, and the
    // error it gives in the same round trip is not the caller's).
    let (third, history) = c
        .claim_with_history("B1", "O7", Some("E003"))
        .await
        .unwrap();
    assert!(
        matches!(&third, ClaimOutcome::HeldElsewhere { held_by, .. } if held_by == "B2"),
        "{third:?}"
    );
    assert!(history.is_empty(), "{history:?}");
    // The pool's connections are fine after that error: the next claims are answered.
    for order in ["O8", "O9", "O10"] {
        let (next, _) = c.claim_with_history("B1", order, None).await.unwrap();
        assert!(matches!(next, ClaimOutcome::Granted { .. }), "{next:?}");
    }
}

#[tokio::test]
async fn an_event_under_a_claim_taken_away_is_flagged_never_silently_applied() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    assert!(matches!(
        c.claim("B1", "O7", Some("E003"), None).await.unwrap(),
        ClaimOutcome::Granted { claim_epoch: 1, .. }
    ));
    // A supervisor frees it (bench B1 is gone) and B2 takes it.
    let err = c
        .supervisor_release("O7", "E003", None, "gone")
        .await
        .unwrap_err();
    assert_eq!(err.sql_state(), Some("42501"), "{err}");
    assert!(
        err.to_string().contains("E003 is not a supervisor"),
        "{err}"
    );
    let proof = c
        .pin_proof("E005", &packbench::domain::pin::Pin::new("555555"))
        .await
        .unwrap();
    let r = c
        .supervisor_release("O7", "E005", proof.as_ref(), "bench 1 is broken")
        .await
        .unwrap();
    assert_eq!((r.released, r.held_by.as_deref()), (true, Some("B1")));
    assert!(matches!(
        c.claim("B2", "O7", Some("E004"), None).await.unwrap(),
        ClaimOutcome::Granted { claim_epoch: 2, .. }
    ));
    // B1 comes back and ships what it did under epoch 1: stored, flagged, alarmed.
    let e1 = ev(
        "B1",
        1,
        &zeros(),
        "item_accepted",
        Some("O7"),
        r#"{"sku":"X"}"#,
        Some(1),
    );
    let e2 = ev("B1", 2, &e1.hash, "order_packed", Some("O7"), "{}", Some(1));
    let out = c.ship(&[e1, e2]).await.unwrap();
    assert_eq!(out.refused, None);
    assert_eq!(out.flagged, vec![1, 2]);
    // B2 packs it too: two benches packed one order.
    let f1 = ev("B2", 1, &zeros(), "order_packed", Some("O7"), "{}", Some(2));
    let out = c.ship(&[f1]).await.unwrap();
    assert_eq!(out.flagged, vec![1]);
    let alarms = c.alarms(false).await.unwrap();
    let conflicts: Vec<_> = alarms
        .iter()
        .filter(|a| a.kind == "claim_conflict")
        .collect();
    assert!(
        conflicts
            .iter()
            .any(|a| a.detail["reason"] == "stale_claim" && a.station_id.as_deref() == Some("B1")),
        "{conflicts:?}"
    );
    assert!(
        conflicts
            .iter()
            .any(|a| a.detail["reason"] == "packed_twice"
                && a.detail["stations"] == serde_json::json!(["B1", "B2"])),
        "{conflicts:?}"
    );
    // The centre's own chain records the release and each conflict, and verifies.
    let central_events = c
        .events(&EventFilter {
            station_id: Some(CENTRAL_STATION.into()),
            order_no: Some("O7".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let kinds: Vec<&str> = central_events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["claim_released", "claim_conflict", "claim_conflict"]
    );
    assert_eq!(central_events[0].str("by"), Some("E005"));
    assert_eq!(central_events[0].str("held_by"), Some("B1"));
    assert_eq!(
        central_events[2].data["stations"],
        serde_json::json!(["B1", "B2"])
    );
    assert_eq!(c.verify(None).await.unwrap().error, None);
    // Audit across benches: every event of the order, by order number or waybill.
    let all = c.order_events("O7").await.unwrap();
    assert_eq!(all.len(), 6);
}
