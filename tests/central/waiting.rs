//! A bench waiting for a supervisor on the board (issue 24, the contract's "floor, round 2"):
//! kept by the board trigger from the weighing that needs an approval until it is settled,
//! first on the board, the same after a restart of the centre, and filled from the log of a
//! centre made before it.

use super::*;
use chrono::Utc;
use packbench::central::BoardRow;
use serde_json::json;

/// TB20261122002: 3 units, no picker in the import. TB20261122001: picker E001 imported.
const NO_PICKER: &str = "TB20261122002";
const PICKED: &str = "TB20261122001";

fn today() -> chrono::DateTime<Utc> {
    (t0() - chrono::Duration::hours(10)).with_timezone(&Utc)
}

async fn board(c: &Central, online_within: Duration) -> Vec<BoardRow> {
    c.board(online_within, today()).await.unwrap()
}

fn bench<'a>(rows: &'a [BoardRow], id: &str) -> &'a BoardRow {
    rows.iter()
        .find(|r| r.station_id == id)
        .unwrap_or_else(|| panic!("{id} not on the board: {rows:#?}"))
}

/// The instant of `ev`'s `at` (seq `seq` of [`chain`]).
fn at_of(seq: i64) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(&ev("X", seq, &zeros(), "device", None, "{}", None).at)
        .unwrap()
        .with_timezone(&Utc)
}

/// A bench's log up to a weighing of `order`: signed in, the order loaded (with the picker
/// it has then, if any), its units, then `checks` weighings.
fn up_to_weighing<'a>(
    order: &'a str,
    picker: Option<&str>,
    checks: &[bool],
) -> Vec<(&'static str, Option<&'a str>, String, Option<i64>)> {
    let mut items: Vec<(&'static str, Option<&'a str>, String, Option<i64>)> = vec![
        ("packer_signed_in", None, "{}".into(), None),
        (
            "order_loaded",
            Some(order),
            json!({"lines": [], "picker_id": picker}).to_string(),
            None,
        ),
    ];
    for _ in 0..3 {
        items.push(("item_accepted", Some(order), r#"{"sku":"X"}"#.into(), None));
    }
    for ok in checks {
        items.push((
            "weight_checked",
            Some(order),
            json!({"ok": ok, "measured_g": if *ok { 265.0 } else { 225.0 }, "expected_g": 265.0,
                   "tolerance_g": 8.0})
            .to_string(),
            None,
        ));
    }
    items
}

fn chained(station: &str, items: &[(&str, Option<&str>, String, Option<i64>)]) -> Vec<ShipEvent> {
    let borrowed: Vec<(&str, Option<&str>, &str, Option<i64>)> = items
        .iter()
        .map(|(k, o, d, e)| (*k, *o, d.as_str(), *e))
        .collect();
    chain(station, &borrowed)
}

/// The events after `evs`, chained onto its last.
fn then(station: &str, evs: &[ShipEvent], more: &[(&str, Option<&str>, &str)]) -> Vec<ShipEvent> {
    let mut prev = evs.last().map(|e| e.hash.clone()).unwrap_or_else(zeros);
    let mut seq = evs.last().map(|e| e.seq).unwrap_or(0);
    let mut out = Vec::new();
    for (kind, order, data) in more {
        seq += 1;
        let e = ev(station, seq, &prev, kind, *order, data, None);
        prev = e.hash.clone();
        out.push(e);
    }
    out
}

#[tokio::test]
async fn an_unapproved_mismatch_waits_first_on_the_board_until_the_override() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    // B0 is offline with an alarm-free quiet day; B1 fails its weighing twice (the wait
    // starts at the first), B2 packs cleanly.
    let b0 = chain(
        "B0",
        &[(
            "device",
            None,
            r#"{"device":"scale","state":"disconnected"}"#,
            None,
        )],
    );
    c.ship(&b0).await.unwrap();
    let b1 = chained("B1", &up_to_weighing(PICKED, Some("E001"), &[false, false]));
    c.ship(&b1).await.unwrap();
    let b2 = chained("B2", &up_to_weighing(PICKED, Some("E001"), &[true]));
    let b2_packed = then("B2", &b2, &[("order_packed", Some(PICKED), "{}")]);
    c.ship(&b2).await.unwrap();
    c.ship(&b2_packed).await.unwrap();

    // Every bench offline (online within 0 s): the waiting one still comes first.
    let rows = board(&c, Duration::ZERO).await;
    assert_eq!(rows[0].station_id, "B1", "{rows:#?}");
    let w = rows[0].waiting.clone().expect("B1 waits");
    assert_eq!(
        (w.cause.as_str(), w.order_no.as_deref(), w.since),
        ("weight_mismatch", Some(PICKED), at_of(6)),
        "the wait starts at the first failed weighing"
    );
    assert!(rows[0].trouble > bench(&rows, "B0").trouble, "{rows:#?}");
    assert_eq!(bench(&rows, "B2").waiting, None);
    // The board's JSON as the contract has it.
    let v = serde_json::to_value(&rows).unwrap();
    assert_eq!(v[0]["waiting"]["cause"], "weight_mismatch");
    assert_eq!(v[0]["waiting"]["order_no"], PICKED);
    assert!(v[0]["waiting"]["since"].is_string(), "{v}");
    assert_eq!(v[1]["waiting"], serde_json::Value::Null, "{v}");
    // The command line says the same: `audit board --json` as the contract has it, and the
    // table names the wait on the first row.
    let dir = tempfile::tempdir().unwrap();
    let args = ["audit", "board", "--json"];
    let json: serde_json::Value =
        serde_json::from_str(&succeeded(&args, &pb_central(dir.path(), &db.url, &args))).unwrap();
    assert_eq!(json[0]["station_id"], "B1", "{json}");
    assert_eq!(json[0]["waiting"]["cause"], "weight_mismatch", "{json}");
    assert_eq!(json[0]["waiting"]["order_no"], PICKED, "{json}");
    let args = ["audit", "board"];
    let table = succeeded(&args, &pb_central(dir.path(), &db.url, &args));
    let first = table.lines().nth(2).unwrap_or_default();
    assert!(
        first.starts_with("B1") && first.contains(&format!("weight_mismatch {PICKED}")),
        "{table}"
    );
    // Online, the waiting bench is trouble all the same, and above B2's unbacked pack alarm.
    let online = board(&c, Duration::from_secs(3600)).await;
    assert_eq!(online[0].station_id, "B1", "{online:#?}");
    assert!(online[0].trouble > bench(&online, "B2").trouble);

    // The supervisor approves: an override, then the order is packed.
    let approved = then(
        "B1",
        &b1,
        &[
            (
                "override",
                Some(PICKED),
                r#"{"supervisor_id":"E005","cause":"weight_mismatch"}"#,
            ),
            ("order_packed", Some(PICKED), r#"{"override_by":"E005"}"#),
        ],
    );
    c.ship(&approved[..1]).await.unwrap();
    let rows = board(&c, Duration::from_secs(3600)).await;
    assert_eq!(bench(&rows, "B1").waiting, None, "the override settles it");
    c.ship(&approved[1..]).await.unwrap();
    let rows = board(&c, Duration::ZERO).await;
    assert!(rows.iter().all(|r| r.waiting.is_none()), "{rows:#?}");
}

#[tokio::test]
async fn a_weighing_in_tolerance_without_a_picker_waits_for_picker_unknown() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    // No picker anywhere: the bench waits. An imported picker, or one given by badge, does not.
    let b1 = chained("B1", &up_to_weighing(NO_PICKER, None, &[true]));
    c.ship(&b1).await.unwrap();
    let b2 = chained("B2", &up_to_weighing(PICKED, None, &[true]));
    c.ship(&b2).await.unwrap();
    let mut b3_items = up_to_weighing(NO_PICKER, None, &[]);
    b3_items.insert(
        2,
        (
            "picker_set",
            Some(NO_PICKER),
            r#"{"picker_id":"E001"}"#.into(),
            None,
        ),
    );
    b3_items.push((
        "weight_checked",
        Some(NO_PICKER),
        r#"{"ok":true,"measured_g":265.0,"expected_g":265.0}"#.into(),
        None,
    ));
    c.ship(&chained("B3", &b3_items)).await.unwrap();

    let rows = board(&c, Duration::from_secs(3600)).await;
    let w = bench(&rows, "B1").waiting.clone().expect("B1 waits");
    assert_eq!(
        (w.cause.as_str(), w.order_no.as_deref()),
        ("picker_unknown", Some(NO_PICKER))
    );
    assert_eq!(rows[0].station_id, "B1", "{rows:#?}");
    assert_eq!(bench(&rows, "B2").waiting, None, "the import names E001");
    assert_eq!(bench(&rows, "B3").waiting, None, "E001's badge was scanned");

    // An item taken out (the order is no longer complete) ends the wait; a new failed
    // weighing starts another, and signing out ends that one.
    let undone = then(
        "B1",
        &b1,
        &[
            ("scan_undone", Some(NO_PICKER), r#"{"sku":"X"}"#),
            ("item_accepted", Some(NO_PICKER), r#"{"sku":"X"}"#),
            (
                "weight_checked",
                Some(NO_PICKER),
                r#"{"ok":false,"measured_g":200.0,"expected_g":265.0}"#,
            ),
            ("packer_signed_out", None, "{}"),
        ],
    );
    c.ship(&undone[..1]).await.unwrap();
    assert_eq!(bench(&board(&c, Duration::ZERO).await, "B1").waiting, None);
    c.ship(&undone[1..3]).await.unwrap();
    let rows = board(&c, Duration::ZERO).await;
    let w = bench(&rows, "B1").waiting.clone().expect("waits again");
    assert_eq!((w.cause.as_str(), w.since), ("weight_mismatch", at_of(9)));
    c.ship(&undone[3..]).await.unwrap();
    assert_eq!(bench(&board(&c, Duration::ZERO).await, "B1").waiting, None);
}

/// The wait is in the centre's tables: a centre that crashes and starts again shows it.
#[tokio::test]
async fn a_restarted_centre_still_shows_the_waiting_bench() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let db = cluster.fresh_db().await;
    {
        let c = central_for(&db).await;
        import_fixtures(&c).await;
        c.ship(&chained(
            "B1",
            &up_to_weighing(PICKED, Some("E001"), &[false]),
        ))
        .await
        .unwrap();
    }
    // The test cluster commits without waiting for its WAL: written out first, so that the
    // crash loses nothing a real centre would keep.
    pg::exec(&db.url, "CHECKPOINT").await;
    cluster.stop_immediate();
    cluster.start_again();
    let c = central_for(&db).await;
    let rows = board(&c, Duration::ZERO).await;
    let w = rows[0].waiting.clone().expect("B1 still waits");
    assert_eq!(
        (rows[0].station_id.as_str(), w.cause.as_str(), w.since),
        ("B1", "weight_mismatch", at_of(6))
    );
}

/// A centre of the version before holds benches that wait: `init` fills the wait from its log.
#[tokio::test]
async fn init_fills_the_wait_from_the_log_of_a_centre_made_before() {
    let db = pg::shared().empty_db().await;
    pg::exec(&db.url, include_str!("../pg/legacy_v4.sql")).await;
    let waiting = chained("B1", &up_to_weighing(PICKED, Some("E001"), &[false]));
    let settled = {
        let b = chained("B2", &up_to_weighing(PICKED, Some("E001"), &[false]));
        let more = then(
            "B2",
            &b,
            &[
                ("override", Some(PICKED), r#"{"supervisor_id":"E005"}"#),
                ("order_packed", Some(PICKED), r#"{"override_by":"E005"}"#),
            ],
        );
        [b, more].concat()
    };
    let no_picker = chained("B3", &up_to_weighing(NO_PICKER, None, &[true]));
    let client = pg::connect(&db.url).await;
    for e in waiting.iter().chain(&settled).chain(&no_picker) {
        client
            .execute(
                "INSERT INTO public.bench_heads (station_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&e.station_id],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO public.events (station_id, seq, at, at_ts, type, actor, order_no, data,
                                            prev_hash, hash)
                 VALUES ($1, $2, $3, $3::text::timestamptz, $4, $5, $6, $7, $8, $9)",
                &[
                    &e.station_id,
                    &e.seq,
                    &e.at,
                    &e.kind,
                    &e.actor,
                    &e.order_no,
                    &e.data,
                    &e.prev_hash,
                    &e.hash,
                ],
            )
            .await
            .unwrap();
    }
    central::init(&db.url, None).await.unwrap();
    let c = central_for(&db).await;
    let rows = board(&c, Duration::ZERO).await;
    let w = bench(&rows, "B1").waiting.clone().expect("B1 waits");
    assert_eq!(
        (w.cause.as_str(), w.order_no.as_deref(), w.since),
        ("weight_mismatch", Some(PICKED), at_of(6))
    );
    assert_eq!(
        bench(&rows, "B2").waiting,
        None,
        "approved before the upgrade"
    );
    // The legacy centre has no orders imported: nobody picked B3's order.
    assert_eq!(
        bench(&rows, "B3")
            .waiting
            .as_ref()
            .map(|w| w.cause.as_str()),
        Some("picker_unknown")
    );
    assert!(
        ["B1", "B3"].contains(&rows[0].station_id.as_str()),
        "{rows:#?}"
    );
}

#[tokio::test]
async fn a_supervisors_release_at_the_centre_ends_the_benchs_wait() {
    let db = pg::fresh_db().await;
    let c = central_for(&db).await;
    import_fixtures(&c).await;
    // B3 holds the order and waits over a failed weighing; then the bench dies.
    assert!(matches!(
        c.claim("B3", PICKED, Some("E003"), None).await.unwrap(),
        packbench::central::ClaimOutcome::Granted { .. }
    ));
    let b3 = chained("B3", &up_to_weighing(PICKED, Some("E001"), &[false]));
    c.ship(&b3).await.unwrap();
    let rows = board(&c, Duration::ZERO).await;
    assert!(bench(&rows, "B3").waiting.is_some(), "{rows:#?}");
    // A supervisor frees the order at the centre: B3 no longer waits over it.
    let proof = c
        .pin_proof("E005", &packbench::domain::pin::Pin::new("555555"))
        .await
        .unwrap();
    let r = c
        .supervisor_release(PICKED, "E005", proof.as_ref(), "bench 3 is broken")
        .await
        .unwrap();
    assert_eq!((r.released, r.held_by.as_deref()), (true, Some("B3")));
    let rows = board(&c, Duration::ZERO).await;
    assert_eq!(bench(&rows, "B3").waiting, None, "{rows:#?}");
}
