//! The central PostgreSQL side (src/central) against a real, private PostgreSQL.

#[path = "../common/bin.rs"]
mod bin;
#[path = "../pg/mod.rs"]
mod pg;
#[path = "../shop_tables/mod.rs"]
mod shop_tables;

mod audit;
mod claims;
mod imports;
mod ingest;
mod master;
mod waiting;

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
use pg::events::*;
use proptest::prelude::*;

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

/// `packbench ARGS --central URL` in `dir`: its exit, stdout and stderr.
fn pb_central(dir: &Path, url: &str, args: &[&str]) -> std::process::Output {
    bin::Pb::new()
        .dir(dir)
        .args(args)
        .args(["--central", url])
        .output()
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
