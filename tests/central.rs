//! The central PostgreSQL side (src/central) against a real, private PostgreSQL.

mod pg;
mod shop_tables;

use packbench::import::ReadOptions;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use chrono::{FixedOffset, TimeZone};
use packbench::central::{
    self, Central, CentralError, CentralVerifyError, ClaimOutcome, ConnectOptions, ListenerEvent,
    ShipEvent, CENTRAL_STATION,
};
use packbench::domain::event::{EventType, NewEvent};
use packbench::domain::Packaging;
use packbench::import::{self, Kind};
use packbench::store::chain::{self, EventFields, GENESIS};
use packbench::store::{EventFilter, EventLog, ImportMeta, SqliteStore, VerifyError};
use proptest::prelude::*;

fn t0() -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .unwrap()
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One event of E003 hashed onto `prev` exactly as a bench's log hashes it.
fn ev(
    station: &str,
    seq: i64,
    prev: &str,
    kind: &str,
    order: Option<&str>,
    data: &str,
    epoch: Option<i64>,
) -> ShipEvent {
    ev_as("E003", station, seq, prev, kind, order, data, epoch)
}

/// The same, by `actor`.
#[allow(clippy::too_many_arguments)]
fn ev_as(
    actor: &str,
    station: &str,
    seq: i64,
    prev: &str,
    kind: &str,
    order: Option<&str>,
    data: &str,
    epoch: Option<i64>,
) -> ShipEvent {
    let at = format!(
        "2026-11-22T10:{:02}:{:02}.000+08:00",
        (seq / 60) % 60,
        seq % 60
    );
    let hash = chain::event_hash(
        &chain::parse_hash(prev).unwrap(),
        &EventFields {
            seq,
            at: &at,
            kind,
            actor: Some(actor),
            station_id: station,
            order_no: order,
            data,
        },
    );
    ShipEvent {
        seq,
        at,
        kind: kind.into(),
        actor: Some(actor.into()),
        station_id: station.into(),
        order_no: order.map(Into::into),
        data: data.into(),
        prev_hash: prev.into(),
        hash: hex::encode(hash),
        claim_epoch: epoch,
    }
}

fn zeros() -> String {
    hex::encode(GENESIS)
}

/// `n` device events of `station` from seq `from`, chained onto `prev`.
fn chain_of(station: &str, from: i64, prev: &str, n: usize) -> Vec<ShipEvent> {
    let mut out: Vec<ShipEvent> = Vec::new();
    let mut prev = prev.to_string();
    for i in 0..n as i64 {
        let e = ev(
            station,
            from + i,
            &prev,
            "device",
            None,
            &format!(r#"{{"device":"scale","state":"connected","n":{i}}}"#),
            None,
        );
        prev = e.hash.clone();
        out.push(e);
    }
    out
}

async fn central_for(db: &pg::TestDb) -> Central {
    Central::connect(&db.url, None).unwrap()
}

async fn count(url: &str, sql: &str) -> i64 {
    pg::connect(url)
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn init_creates_the_schema_and_is_idempotent() {
    // Every migration, once: the schema is at the last one however often init runs.
    let last = packbench::central::schema::MIGRATIONS.len() as u32;
    let db = pg::shared().empty_db().await;
    assert_eq!(central::init(&db.url, None).await.unwrap(), last);
    assert_eq!(central::init(&db.url, None).await.unwrap(), last);
    assert_eq!(
        count(&db.url, "SELECT count(*) FROM schema_version").await,
        last as i64
    );
    let c = central_for(&db).await;
    assert_eq!(c.schema_version().await.unwrap(), last);
    // Two deploys at once: the advisory lock serialises them.
    let db2 = pg::shared().empty_db().await;
    let (a, b) = tokio::join!(central::init(&db2.url, None), central::init(&db2.url, None));
    assert_eq!((a.unwrap(), b.unwrap()), (last, last));
    assert_eq!(
        count(&db2.url, "SELECT count(*) FROM schema_version").await,
        last as i64
    );
}

#[tokio::test]
async fn a_database_that_is_down_is_an_error_naming_it_without_the_password() {
    let c = Central::connect_with(
        "postgres://bench01:s3cret@/packbench?host=/nonexistent-dir&port=5999",
        None,
        ConnectOptions {
            op_timeout: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .unwrap();
    let err = c.claim("bench01", "O1", None, None).await.unwrap_err();
    let msg = err.to_string();
    assert!(err.is_unreachable(), "{err:?}");
    assert!(
        msg.contains("bench01@/nonexistent-dir:5999/packbench"),
        "{msg}"
    );
    assert!(!msg.contains("s3cret"), "{msg}");
    let err = central::init("postgres://u:s3cret@/x?host=/nonexistent-dir", None)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("s3cret"));
}

#[tokio::test]
async fn the_sql_hash_is_the_chain_hash() {
    let db = pg::fresh_db().await;
    let client = pg::connect(&db.url).await;
    let prev = hex::encode([7u8; 32]);
    type Case<'a> = (
        i64,
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            1,
            "2026-11-22T10:00:00.000+08:00",
            "device",
            None,
            "B1",
            None,
            "{}",
        ),
        (2, "", "", Some(""), "", Some(""), ""),
        (
            i64::MAX,
            "t",
            "k",
            Some("王芳"),
            "包装台-1",
            Some("订单🎁"),
            r#"{"note":"请不要放发票 😀"}"#,
        ),
        (-5, "tk", "", None, "s", None, "{}"),
        (
            42,
            "x\u{2028}y",
            "a\tb",
            Some("e\u{301}"),
            "b",
            Some("o\r\n"),
            "\\\"",
        ),
    ];
    for (seq, at, kind, actor, station, order, data) in cases {
        let want = hex::encode(chain::event_hash(
            &chain::parse_hash(&prev).unwrap(),
            &EventFields {
                seq,
                at,
                kind,
                actor,
                station_id: station,
                order_no: order,
                data,
            },
        ));
        let got: String = client
            .query_one(
                "SELECT pb_event_hash($1, $2, $3, $4, $5, $6, $7, $8)",
                &[&prev, &seq, &at, &kind, &actor, &station, &order, &data],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(got, want, "seq {seq} kind {kind:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn the_sql_hash_is_the_chain_hash_for_any_text(
        seq in any::<i64>(),
        at in "[^\u{0}]{0,12}",
        actor in proptest::option::of("[^\u{0}]{0,8}"),
        order in proptest::option::of("[^\u{0}]{0,8}"),
        data in "[^\u{0}]{0,40}",
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (got, want) = rt.block_on(async {
            static DB: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let url = match DB.get() {
                Some(u) => u.clone(),
                None => {
                    let db = pg::fresh_db().await;
                    DB.get_or_init(|| db.url).clone()
                }
            };
            let client = pg::connect(&url).await;
            let prev = zeros();
            let got: String = client
                .query_one(
                    "SELECT pb_event_hash($1, $2, $3, 'item_accepted', $4, 'B-1', $5, $6)",
                    &[&prev, &seq, &at, &actor, &order, &data],
                )
                .await
                .unwrap()
                .get(0);
            let want = hex::encode(chain::event_hash(&GENESIS, &EventFields {
                seq, at: &at, kind: "item_accepted", actor: actor.as_deref(), station_id: "B-1",
                order_no: order.as_deref(), data: &data,
            }));
            (got, want)
        });
        prop_assert_eq!(got, want);
    }
}

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
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(matches!(
        c.claim("B2", "O2", None, None).await.unwrap(),
        ClaimOutcome::Granted { claim_epoch: 2, .. }
    ));
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

async fn import_fixtures(c: &Central) {
    central::import_data_set(c, &fixtures(), t0())
        .await
        .unwrap();
}

#[tokio::test]
async fn central_imports_follow_the_bench_importer_rules() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let mut local = SqliteStore::open_in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (kind, file) in [
        (Kind::Catalog, "catalog.csv"),
        (Kind::Employees, "employees.csv"),
        (Kind::Packaging, "packaging.csv"),
        (Kind::Orders, "orders.csv"),
        (Kind::Orders, "orders.json"),
    ] {
        let path = fixtures().join(file);
        let want = import::import_file(
            &mut local,
            kind,
            &path,
            &ReadOptions::default(),
            "B1",
            t0(),
            &mut |_| {},
        )
        .unwrap();
        let got = central::import_file(&c, kind, &path, &ReadOptions::default(), t0(), &mut |_| {})
            .await
            .unwrap();
        assert_eq!(got, want, "{file}");
    }
    // Unchanged re-import: nothing written, not even an event.
    let head = c.head(CENTRAL_STATION).await.unwrap();
    let master = c.master_head().await.unwrap();
    let r = central::import_file(
        &c,
        Kind::Orders,
        &fixtures().join("orders.csv"),
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!((r.added, r.changed, r.cancelled), (0, 0, 0));
    assert_eq!(c.head(CENTRAL_STATION).await.unwrap(), head);
    assert_eq!(c.master_head().await.unwrap(), master);

    // A changed address and a cancellation: the same report and events as on a bench.
    let text = std::fs::read_to_string(fixtures().join("orders.csv")).unwrap();
    let changed: String = text
        .replace("文三路398号", "文三路400号")
        .lines()
        .map(|l| {
            if l.starts_with("TB20261122002,") {
                format!("{l}cancelled\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(changed, text);
    let path = dir.path().join("orders-2.csv");
    std::fs::write(&path, changed).unwrap();
    let want = import::import_file(
        &mut local,
        Kind::Orders,
        &path,
        &ReadOptions::default(),
        "B1",
        t0(),
        &mut |_| {},
    )
    .unwrap();
    let got = central::import_file(
        &c,
        Kind::Orders,
        &path,
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(got, want);
    assert_eq!((got.changed, got.cancelled), (1, 1));
    let kinds: Vec<EventType> = c
        .events(&EventFilter {
            station_id: Some(CENTRAL_STATION.into()),
            types: vec!["order_changed", "order_cancelled"],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.stored().unwrap().kind)
        .collect();
    assert_eq!(kinds, [EventType::OrderChanged, EventType::OrderCancelled]);
    // A cancellation sticks: the original file again does not bring the order back.
    central::import_file(
        &c,
        Kind::Orders,
        &fixtures().join("orders.csv"),
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        count(
            &db.url,
            "SELECT count(*) FROM orders WHERE order_no = 'TB20261122002' AND cancelled"
        )
        .await,
        1
    );
    assert_eq!(c.verify(None).await.unwrap().error, None);
}

#[tokio::test]
async fn a_bad_file_or_a_clashing_badge_writes_nothing() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    let before = count(&db.url, "SELECT count(*) FROM events").await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("orders.csv");
    let mut text = std::fs::read_to_string(fixtures().join("orders.csv")).unwrap();
    text.push_str("TB-NEW,SF-NEW,顺丰速运,X,CN,addr,,NO-SUCH-SKU,1,,,\n");
    std::fs::write(&bad, text).unwrap();
    let err = central::import_file(
        &c,
        Kind::Orders,
        &bad,
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("NO-SUCH-SKU is not in the catalog"),
        "{err}"
    );
    // A badge given to another employee fails in the database: nothing of the file stays.
    let emp = dir.path().join("employees.csv");
    std::fs::write(
        &emp,
        "id,name,roles,badge\nE100,New One,packer,BADGE-E100\nE101,Clash,packer,BADGE-E003\n",
    )
    .unwrap();
    let err = central::import_file(
        &c,
        Kind::Employees,
        &emp,
        &ReadOptions::default(),
        t0(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("badge BADGE-E003 of E101 is already the badge"),
        "{err}"
    );
    assert_eq!(
        count(&db.url, "SELECT count(*) FROM employees WHERE id = 'E100'").await,
        0
    );
    assert_eq!(count(&db.url, "SELECT count(*) FROM events").await, before);
}

#[tokio::test]
async fn a_hundred_thousand_orders_import_with_progress_and_again_change_nothing() {
    // Times are printed, never asserted: the figure is central_floor's (BENCHMARKS.md).
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    let orders: Vec<packbench::domain::Order> = (0..100_000)
        .map(|i| packbench::domain::Order {
            order_no: format!("BULK{i:06}"),
            waybill_no: format!("WB{i:08}"),
            carrier: "顺丰速运".into(),
            recipient: "李娜".into(),
            country: "CN".into(),
            address: "浙江省杭州市西湖区文三路398号".into(),
            buyer_note: String::new(),
            lines: vec![packbench::domain::OrderLine {
                sku: "T-BLU-L".into(),
                qty: 1 + (i % 3) as u32,
                gift: false,
            }],
            picker_id: None,
            cancelled: false,
        })
        .collect();
    let meta = ImportMeta {
        file: "bulk.csv".into(),
        sha256: "0".repeat(64),
        station_id: CENTRAL_STATION.into(),
        at: t0(),
    };
    let mut calls = 0;
    let start = std::time::Instant::now();
    let r = c
        .import_parsed(
            &import::Parsed::Orders(orders.clone()),
            &meta,
            &mut |_, _| calls += 1,
        )
        .await
        .unwrap();
    let took = start.elapsed();
    assert_eq!((r.added, r.rows), (100_000, 100_000));
    assert!(calls >= 100, "progress was reported {calls} times");
    let start = std::time::Instant::now();
    let r = c
        .import_parsed(&import::Parsed::Orders(orders), &meta, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(r.unchanged, 100_000);
    println!(
        "100,000 orders: first import {took:?}, unchanged re-import {:?}",
        start.elapsed()
    );
}

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
    for (kind, file) in [
        (Kind::Catalog, "catalog.csv"),
        (Kind::Employees, "employees.csv"),
        (Kind::Packaging, "packaging.csv"),
        (Kind::Orders, "orders.csv"),
    ] {
        import::import_file(
            &mut store,
            kind,
            &fixtures().join(file),
            &ReadOptions::default(),
            "B-RET",
            t0(),
            &mut |_| {},
        )
        .unwrap();
    }
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
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_packbench"))
            .current_dir(dir.path())
            .args(args)
            .args(["--json", "--central", &db.url])
            .output()
            .unwrap();
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

/// `packbench ARGS --central URL` in `dir`: its exit, stdout and stderr.
fn pb_central(dir: &Path, url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_packbench"))
        .current_dir(dir)
        .args(args)
        .args(["--central", url])
        .output()
        .unwrap()
}

/// The stdout of a command that must succeed.
fn succeeded(args: &[&str], out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// What the centre's master data and log hold, in rows: a dry run must leave it as it was.
async fn central_rows(url: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for table in ["skus", "orders", "employees", "packaging", "events"] {
        out.push(count(url, &format!("SELECT count(*) FROM {table}")).await);
    }
    out
}

#[tokio::test]
async fn a_central_dry_run_checks_against_the_centre_and_writes_nothing() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let shop = shop_tables::shop_dir();
    let catalog = shop.join("catalog-gb18030.csv");
    let orders = shop.join("orders-gb18030.csv");
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // No catalog at the centre yet: the orders' SKUs are unknown there.
    let empty = central_rows(&db.url).await;
    let out = pb_central(
        dir.path(),
        &db.url,
        &["import", "orders", &s(&orders), "--dry-run"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("orders-gb18030.csv: line 2, column sku: T-BLU-L is not in the catalog"),
        "{err}"
    );
    assert_eq!(central_rows(&db.url).await, empty);
    // The centre was the target: no bench database appeared in the working folder.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let args = ["import", "catalog", &s(&catalog)];
    succeeded(&args, &pb_central(dir.path(), &db.url, &args));
    let before = central_rows(&db.url).await;
    let head = c.head(CENTRAL_STATION).await.unwrap();
    let master = c.master_head().await.unwrap();

    let args = ["import", "orders", &s(&orders), "--dry-run"];
    let text = succeeded(&args, &pb_central(dir.path(), &db.url, &args));
    assert_eq!(
        text.lines().next().unwrap(),
        format!(
            "{} (GB18030 CSV): 9 rows, 5 orders, all good against central database {}; dry run, nothing written",
            s(&orders),
            c.database()
        )
    );
    assert!(
        text.contains("first 5 rows as they would be imported:"),
        "{text}"
    );
    let args = ["import", "orders", &s(&orders), "--dry-run", "--json"];
    let json = succeeded(&args, &pb_central(dir.path(), &db.url, &args));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["target"], format!("central database {}", c.database()));
    assert_eq!(
        (v["rows"].as_u64(), v["records"].as_u64()),
        (Some(9), Some(5))
    );
    assert_eq!(v["preview"]["rows"][0][0], "TB20261122001");

    assert_eq!(
        central_rows(&db.url).await,
        before,
        "a dry run writes nothing"
    );
    assert_eq!(before[1], 0, "no orders");
    assert_eq!(c.head(CENTRAL_STATION).await.unwrap(), head);
    assert_eq!(c.master_head().await.unwrap(), master);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The centre's master data as [`shop_tables::snapshot_of`] prints it; the reader runs its
/// own runtime, so off this test's.
async fn central_snapshot(url: &str) -> String {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let r = central::CentralReader::new(Central::connect(&url, None).unwrap()).unwrap();
        shop_tables::snapshot_of(&r)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn shop_exports_import_centrally_as_the_contract_files_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let shop = shop_tables::shop_dir();
    let kinds = ["catalog", "orders", "employees", "packaging"];

    // The reference: the contract's own CSVs of the same rows, imported centrally.
    let reference = pg::fresh_db().await;
    for (k, p) in kinds.iter().zip(shop_tables::write_contract_files(d)) {
        let args = ["import", k, &s(&p)];
        succeeded(&args, &pb_central(d, &reference.url, &args));
    }
    let want = central_snapshot(&reference.url).await;

    // Shop formats: GB18030 CSVs, a workbook's sheets, an English export through --map.
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let xlsx = s(&shop.join("shop-export.xlsx"));
    let catalog = s(&shop.join("catalog-gb18030.csv"));
    let orders = s(&shop.join("orders-gb18030.csv"));
    for args in [
        vec!["import", "catalog", &catalog],
        vec!["import", "orders", &orders],
        vec!["import", "employees", &xlsx, "--sheet", "员工"],
        vec!["import", "packaging", &xlsx, "--sheet", "包材"],
    ] {
        let out = succeeded(&args, &pb_central(d, &db.url, &args));
        assert!(out.contains(&format!("(into {})", c.database())), "{out}");
    }
    assert_eq!(central_snapshot(&db.url).await, want);

    // The same rows in another format: 0 added or changed, and not an event more.
    let head = c.head(CENTRAL_STATION).await.unwrap();
    let master = c.master_head().await.unwrap();
    let shopify = s(&shop.join("shopify-orders.csv"));
    let map = s(&shop.join("shopify-orders-map.toml"));
    let xls = s(&shop.join("shop-export.xls"));
    for (args, records) in [
        (vec!["import", "catalog", &xlsx, "--sheet", "商品"], 8),
        (vec!["import", "orders", &xlsx, "--sheet", "订单"], 5),
        (vec!["import", "orders", &shopify, "--map", &map], 5),
        (vec!["import", "orders", &xls, "--sheet", "订单"], 5),
        (
            vec![
                "import",
                "employees",
                &s(&shop.join("employees-gb18030.csv")),
            ],
            7,
        ),
        (
            vec![
                "import",
                "packaging",
                &s(&shop.join("packaging-gb18030.csv")),
            ],
            3,
        ),
    ] {
        let mut args = args.clone();
        args.push("--json");
        let v: serde_json::Value =
            serde_json::from_str(&succeeded(&args, &pb_central(d, &db.url, &args))).unwrap();
        assert_eq!(
            (
                v["added"].as_u64(),
                v["changed"].as_u64(),
                v["unchanged"].as_u64()
            ),
            (Some(0), Some(0), Some(records)),
            "{args:?}: {v}"
        );
    }
    assert_eq!(c.head(CENTRAL_STATION).await.unwrap(), head);
    assert_eq!(c.master_head().await.unwrap(), master);
    assert_eq!(central_snapshot(&db.url).await, want);
}

/// A buyer note or a name holding a NUL (which PostgreSQL text cannot hold) imports alike at a
/// bench and at the centre, from a CSV and from an .xlsx: both store U+FFFD in its place and
/// say where it was.
#[tokio::test]
async fn a_nul_in_imported_text_is_stored_alike_at_a_bench_and_at_the_centre() {
    use packbench::store::ReferenceData;
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let note = "请放\0门口 leave at the door\0 \u{7}\u{1b}";
    let head = "order_no,waybill_no,carrier,recipient,country,address,buyer_note,sku,qty";
    let csv = d.join("nul-orders.csv");
    std::fs::write(
        &csv,
        format!("{head}\nNUL-CSV,W-CSV,SF,\"李\0娜\",CN,x,\"{note}\",T-BLU-L,1\n"),
    )
    .unwrap();
    let xlsx = d.join("nul-orders.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let row = [
        "NUL-XLSX", "W-XLSX", "SF", "李\0娜", "CN", "x", note, "T-BLU-L", "1",
    ];
    for (i, (h, v)) in head.split(',').zip(row).enumerate() {
        sheet.write_string(0, i as u16, h).unwrap();
        sheet.write_string(1, i as u16, v).unwrap();
    }
    book.save(&xlsx).unwrap();

    let bench_db = d.join("bench.db");
    let local = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_packbench"))
            .current_dir(d)
            .args(args)
            .args(["--db", &s(&bench_db)])
            .output()
            .unwrap();
        succeeded(args, &out);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let catalog = s(&fixtures().join("catalog.csv"));
    local(&["import", "catalog", &catalog]);
    let args = ["import", "catalog", &catalog];
    succeeded(&args, &pb_central(d, &db.url, &args));
    for (file, places) in [
        (
            &csv,
            ["line 2, column buyer_note", "line 2, column recipient"],
        ),
        (
            &xlsx,
            [
                "sheet Sheet1, cell G2, column buyer_note",
                "sheet Sheet1, cell D2, column recipient",
            ],
        ),
    ] {
        let args = ["import", "orders", &s(file)];
        let at_bench = local(&args);
        let out = pb_central(d, &db.url, &args);
        succeeded(&args, &out);
        let at_centre = String::from_utf8_lossy(&out.stderr).into_owned();
        for log in [&at_bench, &at_centre] {
            for p in places {
                let want = format!(
                    "{}: {p}: a NUL byte in the text is stored as U+FFFD",
                    s(file)
                );
                assert!(log.contains(&want), "{want} in {log}");
            }
        }
    }

    let bench = SqliteStore::open(&bench_db).unwrap();
    let centre = c.changes_since(0, 10_000).await.unwrap().orders;
    for no in ["NUL-CSV", "NUL-XLSX"] {
        let here = bench.find_order(no).unwrap().unwrap();
        let there = centre.iter().find(|o| o.order_no == no).unwrap();
        assert_eq!(
            here.buyer_note,
            "请放\u{FFFD}门口 leave at the door\u{FFFD} \u{7}\u{1b}"
        );
        assert_eq!(here.recipient, "李\u{FFFD}娜");
        assert_eq!(
            &here, there,
            "{no}: the bench and the centre hold the same order"
        );
    }
}
