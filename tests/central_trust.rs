//! The centre's trust boundary (issue 22), tried as an attacker would: with a bench's login,
//! a console's, or a login of another warehouse on the same server, against a real
//! PostgreSQL set up as a cluster upgraded from PostgreSQL 14 is (PUBLIC may create in
//! schema `public` of every new database: tests/pg).

#[path = "common/bin.rs"]
mod bin;
mod pg;

use std::time::Duration;

use packbench::central::{self, Central, ClaimOutcome, PinCheck, ShipEvent};
use packbench::domain::pin::Pin;
use pg::events::*;

async fn one_i64(url: &str, sql: &str) -> i64 {
    pg::connect(url)
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

fn sql_state(e: &tokio_postgres::Error) -> Option<&str> {
    e.code().map(|c| c.code())
}

/// Any order number of the fixtures.
async fn some_orders(url: &str, n: i64) -> Vec<String> {
    pg::connect(url)
        .await
        .query(
            "SELECT order_no FROM orders WHERE NOT cancelled ORDER BY order_no LIMIT $1",
            &[&n],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn init_takes_create_on_public_away_from_public_and_says_so() {
    let cluster = pg::shared();
    let db = cluster.empty_db().await;
    let public_may_create = "SELECT count(*) FROM pg_namespace n,
                 aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
            WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'";
    assert_eq!(
        one_i64(&db.url, public_may_create).await,
        1,
        "the rig's cluster is set up as an upgraded one"
    );
    let r = central::init_report(&db.url, None).await.unwrap();
    assert!(r.public_create_revoked);
    assert_eq!(one_i64(&db.url, public_may_create).await, 0);
    // The schema and everything in it belong to a NOLOGIN role that is neither a superuser
    // nor the administrator.
    let owner = pg::connect(&db.url)
        .await
        .query_one(
            "SELECT r.rolname, r.rolsuper, r.rolcanlogin FROM pg_namespace n
               JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'packbench'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(owner.get::<_, String>(0), r.groups.owner);
    assert!(!owner.get::<_, bool>(1) && !owner.get::<_, bool>(2));
    assert_eq!(
        one_i64(
            &db.url,
            &format!(
                "SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'packbench'::regnamespace
                   AND c.relkind IN ('r', 'S') AND pg_get_userbyid(c.relowner) <> '{}'",
                r.groups.owner
            )
        )
        .await,
        0,
        "every table and sequence is the owner role's"
    );
    // Every function of ours either has the safe search path or an SQL-standard body.
    assert_eq!(
        one_i64(
            &db.url,
            "SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'packbench'::regnamespace
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                 AND d.objid = p.oid AND d.deptype = 'e')
               AND p.prosqlbody IS NULL
               AND NOT coalesce('search_path=pg_catalog, packbench, pg_temp' = ANY (p.proconfig), false)"
        )
        .await,
        0
    );
    assert!(
        one_i64(
            &db.url,
            "SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'packbench'::regnamespace
               AND p.prosecdef"
        )
        .await
            >= 8
    );
    // Again: nothing left to revoke.
    let again = central::init_report(&db.url, None).await.unwrap();
    assert!(!again.public_create_revoked && !again.moved_from_public);
}

/// Plants look-alikes of catalog functions (exact argument types, so they would win over
/// pg_catalog's polymorphic ones on any path that names `public`); each records who it ran
/// as and, given an owner's rights, would make a table.
const PLANT: &str = r#"
CREATE TABLE public.calls (fn text, cur text, ses text);
GRANT INSERT, SELECT ON public.calls TO PUBLIC;
CREATE FUNCTION public.array_length(bigint[], integer) RETURNS integer LANGUAGE plpgsql AS $p$
BEGIN
    INSERT INTO public.calls VALUES ('array_length', current_user, session_user);
    BEGIN
        EXECUTE 'CREATE TABLE public.pwned_by_array_length ()';
    EXCEPTION WHEN others THEN NULL;
    END;
    RETURN pg_catalog.array_length($1, $2);
END $p$;
CREATE FUNCTION public.array_length(text[], integer) RETURNS integer LANGUAGE plpgsql AS $p$
BEGIN
    INSERT INTO public.calls VALUES ('array_length_text', current_user, session_user);
    RETURN pg_catalog.array_length($1, $2);
END $p$;
CREATE FUNCTION public.cardinality(bigint[]) RETURNS integer LANGUAGE plpgsql AS $p$
BEGIN
    INSERT INTO public.calls VALUES ('cardinality', current_user, session_user);
    BEGIN
        EXECUTE 'CREATE TABLE public.pwned_by_cardinality ()';
    EXCEPTION WHEN others THEN NULL;
    END;
    RETURN pg_catalog.cardinality($1);
END $p$;
CREATE FUNCTION public.nextval(text) RETURNS bigint LANGUAGE plpgsql AS $p$
BEGIN
    INSERT INTO public.calls VALUES ('nextval', current_user, session_user);
    RETURN pg_catalog.nextval($1::regclass);
END $p$;
"#;

#[tokio::test]
async fn planted_catalog_lookalikes_never_run_as_anyone_but_their_creator() {
    let db = pg::fresh_db().await;
    let admin = Central::connect(&db.url, None).unwrap();
    import_fixtures(&admin).await;
    let evil = central::add_bench(&db.url, None, "EVIL").await.unwrap();
    let good = central::add_bench(&db.url, None, "GOOD").await.unwrap();
    let console = central::add_console(&db.url, None, "OFFICE").await.unwrap();
    // The opening the attacker needs: PUBLIC may create in `public` (init took it away; an
    // administrator gave it back).
    pg::exec(&db.url, "GRANT CREATE ON SCHEMA public TO PUBLIC").await;
    let raw = pg::connect(&evil.url).await;
    raw.batch_execute(PLANT).await.unwrap();
    // The plant works where `public` is on the path: the exact type wins over pg_catalog.
    raw.batch_execute(
        "SET search_path = public, pg_catalog;
         SELECT array_length(ARRAY[1, 2]::bigint[], 1), cardinality(ARRAY[1]::bigint[]);
         RESET search_path;",
    )
    .await
    .unwrap();
    assert_eq!(
        one_i64(&db.url, "SELECT count(*) FROM public.calls").await,
        2,
        "the planted functions would be called on a path naming public"
    );

    // Everything packbench does, by the attacker, another bench, the console and the admin.
    let bad = Central::connect(&evil.url, None).unwrap();
    let orders = some_orders(&db.url, 2).await;
    let (o1, o2) = (orders[0].as_str(), orders[1].as_str());
    let ClaimOutcome::Granted { claim_epoch, .. } =
        bad.claim("EVIL", o1, Some("E003"), None).await.unwrap()
    else {
        panic!("claim refused");
    };
    let evs = chain(
        "EVIL",
        &[
            (
                "order_claimed",
                Some(o1),
                r#"{"claim_epoch":1}"#,
                Some(claim_epoch),
            ),
            (
                "weight_checked",
                Some(o1),
                r#"{"ok":false,"measured_g":10,"expected_g":20,"tolerance_g":1}"#,
                Some(claim_epoch),
            ),
            (
                "packaging_set",
                Some(o1),
                r#"{"packaging":"BOX-S","tare_g":5}"#,
                Some(claim_epoch),
            ),
            (
                "order_packed",
                Some(o1),
                r#"{"packer_id":"E003"}"#,
                Some(claim_epoch),
            ),
        ],
    );
    assert!(bad.ship(&evs).await.unwrap().refused.is_none());
    bad.heartbeat("EVIL", &Default::default()).await.unwrap();
    let _ = bad.check_pin("E005", &Pin::new("000000")).await.unwrap();
    let g = Central::connect(&good.url, None).unwrap();
    assert!(matches!(
        g.claim_with_history("GOOD", o2, Some("E004"))
            .await
            .unwrap()
            .0,
        ClaimOutcome::Granted { .. }
    ));
    let _ = g.changes_since(0, 1000).await.unwrap();
    assert!(g
        .ship(&chain(
            "GOOD",
            &[(
                "device",
                None,
                r#"{"device":"scale","state":"connected"}"#,
                None
            )]
        ))
        .await
        .unwrap()
        .refused
        .is_none());
    import_fixtures(&admin).await;
    central::init(&db.url, None).await.unwrap();
    let office = Central::connect(&console.url, None).unwrap();
    let items = office
        .review_queue(
            chrono::Utc::now() - chrono::Duration::days(3650),
            Duration::from_secs(300),
            true,
            100,
        )
        .await
        .unwrap();
    let item = &items.first().expect("a review item").id;
    let proof = office.pin_proof("E005", &Pin::new("555555")).await.unwrap();
    office
        .review(item, "E005", proof.as_ref(), "checked")
        .await
        .unwrap();
    admin.verify(None).await.unwrap();

    let other_callers = one_i64(
        &db.url,
        "SELECT count(*) FROM public.calls WHERE cur IS DISTINCT FROM 'EVIL' OR ses IS DISTINCT FROM 'EVIL'",
    )
    .await;
    assert_eq!(other_callers, 0, "a planted function ran for someone else");
    assert_eq!(
        one_i64(&db.url, "SELECT count(*) FROM public.calls").await,
        2,
        "only the attacker's own two calls"
    );
    assert_eq!(
        one_i64(
            &db.url,
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'pwned%' AND tableowner <> 'EVIL'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn one_warehouses_roles_stay_in_its_database() {
    let cluster = pg::shared();
    let a = cluster.fresh_db().await;
    let b = cluster.fresh_db().await;
    let bench = central::add_bench(&a.url, None, "WH-B01").await.unwrap();
    assert!(pg::try_connect(&bench.url).await.is_ok());
    // Its login at the other warehouse's database: no CONNECT there.
    let elsewhere = bench
        .url
        .replace(&format!("/{}?", a.name), &format!("/{}?", b.name));
    assert_ne!(elsewhere, bench.url);
    let err = pg::try_connect(&elsewhere).await.unwrap_err();
    assert_eq!(sql_state(&err), Some("42501"), "{err:?}");
    assert!(
        err.to_string().contains("permission denied")
            || format!("{err:?}").contains("permission denied for database"),
        "{err:?}"
    );
    // Nor may any other login of the server (PUBLIC has no CONNECT).
    pg::exec(&a.url, "CREATE ROLE stranger LOGIN PASSWORD 'stranger-pw'").await;
    let stranger = bench.url.replace(
        &format!("WH-B01:{}@", bench.password),
        "stranger:stranger-pw@",
    );
    let err = pg::try_connect(&stranger).await.unwrap_err();
    assert_eq!(sql_state(&err), Some("42501"), "{err:?}");
    // The same station id at the other warehouse is refused, and the first bench's password
    // is untouched.
    let refused = central::add_bench(&b.url, None, "WH-B01")
        .await
        .unwrap_err();
    let msg = refused.to_string();
    assert!(
        msg.contains("WH-B01 already exists on this server") && msg.contains("nothing was changed"),
        "{msg}"
    );
    assert!(
        pg::try_connect(&bench.url).await.is_ok(),
        "its password still works"
    );
    // A console of A is no bench of A either, and no role may be made a bench by name.
    central::add_console(&a.url, None, "WH-OFFICE")
        .await
        .unwrap();
    assert!(central::add_bench(&a.url, None, "WH-OFFICE").await.is_err());
    assert!(central::add_bench(&a.url, None, "postgres").await.is_err());
    // Adding A's bench again gives it a new password (it is A's own).
    let again = central::add_bench(&a.url, None, "WH-B01").await.unwrap();
    assert!(pg::try_connect(&bench.url).await.is_err());
    assert!(pg::try_connect(&again.url).await.is_ok());
}

#[tokio::test]
async fn benches_and_consoles_cannot_read_pin_hashes() {
    let db = pg::fresh_db().await;
    let admin = Central::connect(&db.url, None).unwrap();
    import_fixtures(&admin).await;
    let bench = central::add_bench(&db.url, None, "PH-B1").await.unwrap();
    let console = central::add_console(&db.url, None, "PH-OFFICE")
        .await
        .unwrap();
    for url in [&bench.url, &console.url] {
        let c = pg::connect(url).await;
        for sql in [
            "SELECT pin_hash FROM employees",
            "SELECT * FROM employees",
            "SELECT * FROM pin_failures",
            "SELECT pb_pin_check_unknown_function()",
        ] {
            let err = c.batch_execute(sql).await.expect_err(sql);
            assert!(
                matches!(sql_state(&err), Some("42501") | Some("42883")),
                "{sql}: {err:?}"
            );
        }
        let n = c
            .query("SELECT id, name, roles, badge, active FROM employees", &[])
            .await
            .unwrap()
            .len();
        assert_eq!(n, 8);
        // What a bench or console learns of a PIN: its salt and cost, never its hash.
        let params: String = c
            .query_one("SELECT pb_pin_params('E005')", &[])
            .await
            .unwrap()
            .get(0);
        assert!(params.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"));
        assert_eq!(params.matches('$').count(), 4, "{params}");
    }
}

#[tokio::test]
async fn five_wrong_pins_across_two_benches_and_a_restart_lock_the_badge() {
    let db = pg::fresh_db().await;
    let admin = Central::connect(&db.url, None).unwrap();
    import_fixtures(&admin).await;
    let b1 = central::add_bench(&db.url, None, "LK-B1").await.unwrap();
    let b2 = central::add_bench(&db.url, None, "LK-B2").await.unwrap();
    let (c1, c2) = (
        Central::connect(&b1.url, None).unwrap(),
        Central::connect(&b2.url, None).unwrap(),
    );
    let wrong = Pin::new("000000");
    let right = Pin::new("555555");
    let mut seen = Vec::new();
    for c in [&c1, &c2, &c1, &c2] {
        match c.check_pin("E005", &wrong).await.unwrap() {
            PinCheck::Wrong { failures, .. } => seen.push(failures),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen, [1, 2, 3, 4], "counted across both benches");
    // B1 restarts (a new connection, nothing in memory): the count is the centre's.
    drop(c1);
    let c1 = Central::connect(&b1.url, None).unwrap();
    assert!(matches!(
        c1.check_pin("E005", &wrong).await.unwrap(),
        PinCheck::LockedNow { .. }
    ));
    // Locked: even the right PIN is not looked at, at any bench or console.
    for c in [&c1, &c2] {
        assert!(matches!(
            c.check_pin("E005", &right).await.unwrap(),
            PinCheck::Locked { until: Some(_) }
        ));
    }
    // The lockout is a review item, naming who and where.
    let items = admin
        .review_queue(
            chrono::Utc::now() - chrono::Duration::hours(1),
            Duration::from_secs(300),
            false,
            100,
        )
        .await
        .unwrap();
    let locked = items
        .iter()
        .find(|i| i.kind == "badge_locked")
        .expect("the lockout in the review queue");
    assert!(
        locked.detail.contains("E005") && locked.detail.contains("LK-B1"),
        "{}",
        locked.detail
    );
    // When the lock has passed, the right PIN works again and clears the count.
    pg::exec(
        &db.url,
        "UPDATE pin_failures SET locked_until = now() - interval '1 second'",
    )
    .await;
    assert!(matches!(
        c2.check_pin("E005", &right).await.unwrap(),
        PinCheck::Right { .. }
    ));
    assert!(matches!(
        c2.check_pin("E005", &wrong).await.unwrap(),
        PinCheck::Wrong { failures: 1, .. }
    ));
}

#[tokio::test]
async fn a_console_reads_the_floor_and_reviews_only_with_the_supervisors_pin() {
    let db = pg::fresh_db().await;
    let admin = Central::connect(&db.url, None).unwrap();
    import_fixtures(&admin).await;
    let bench = central::add_bench(&db.url, None, "CO-B1").await.unwrap();
    // A review item: a gap in B1's chain is an alarm.
    let b = Central::connect(&bench.url, None).unwrap();
    let mut evs = chain(
        "CO-B1",
        &[(
            "device",
            None,
            r#"{"device":"scale","state":"connected"}"#,
            None,
        ); 3],
    );
    evs.remove(1);
    assert!(b.ship(&evs).await.unwrap().refused.is_some());
    let added = central::add_console(&db.url, None, "CO-OFFICE")
        .await
        .unwrap();
    let office = Central::connect(&added.url, None).unwrap();
    let queue = office
        .review_queue(
            chrono::Utc::now() - chrono::Duration::hours(1),
            Duration::from_secs(300),
            false,
            100,
        )
        .await
        .unwrap();
    let item = queue
        .iter()
        .find(|i| i.kind == "gap")
        .expect("the gap alarm")
        .id
        .clone();
    office
        .board(
            Duration::from_secs(60),
            chrono::Utc::now() - chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    // It writes nothing directly.
    let raw = pg::connect(&added.url).await;
    for sql in [
        "INSERT INTO events (station_id, seq, at, at_ts, type, data, prev_hash, hash) VALUES ('x', 1, 't', now(), 'device', '{}', '', '')",
        "UPDATE alarms SET acknowledged = true",
        "SELECT * FROM pb_ingest('CO-B1', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')",
        "SELECT * FROM pb_claim('CO-B1', 'O1', NULL, 1000)",
        "SELECT pb_central_append('reviewed', 'E005', NULL, '{}')",
        "SELECT * FROM pb_supervisor_release('O1', 'E005', NULL, 'x')",
        "UPDATE employees SET pin_hash = NULL",
    ] {
        let err = raw.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sql_state(&err), Some("42501"), "{sql}: {err:?}");
    }
    let reviewed = "SELECT count(*) FROM events WHERE type = 'reviewed'";
    // No PIN, a wrong PIN: refused, nothing marked.
    let err = office
        .review(&item, "E005", None, "seen")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("wrong PIN for E005"), "{err}");
    let wrong = office.pin_proof("E005", &Pin::new("123456")).await.unwrap();
    let err = office
        .review(&item, "E005", wrong.as_ref(), "seen")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("wrong PIN"), "{err}");
    assert_eq!(one_i64(&db.url, reviewed).await, 0);
    // A packer's right PIN is no supervisor's.
    let packer = office.pin_proof("E003", &Pin::new("3333")).await.unwrap();
    let err = office
        .review(&item, "E003", packer.as_ref(), "seen")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a supervisor"), "{err}");
    // The supervisor's PIN: marked, in their name.
    let right = office.pin_proof("E005", &Pin::new("555555")).await.unwrap();
    office
        .review(&item, "E005", right.as_ref(), "seen")
        .await
        .unwrap();
    assert_eq!(one_i64(&db.url, reviewed).await, 1);
    assert_eq!(
        one_i64(
            &db.url,
            "SELECT failures::bigint FROM pin_failures WHERE employee_id = 'E005'"
        )
        .await,
        0,
        "the right PIN clears the wrong ones"
    );
}

#[tokio::test]
async fn the_centre_believes_claims_not_benches() {
    let db = pg::fresh_db().await;
    let admin = Central::connect(&db.url, None).unwrap();
    import_fixtures(&admin).await;
    let orders = some_orders(&db.url, 3).await;
    let (o1, o2, o3) = (orders[0].as_str(), orders[1].as_str(), orders[2].as_str());
    let b1 = Central::connect(
        &central::add_bench(&db.url, None, "CL-B1")
            .await
            .unwrap()
            .url,
        None,
    )
    .unwrap();
    let b2 = Central::connect(
        &central::add_bench(&db.url, None, "CL-B2")
            .await
            .unwrap()
            .url,
        None,
    )
    .unwrap();
    let ClaimOutcome::Granted {
        claim_epoch: e3, ..
    } = b1.claim("CL-B1", o3, Some("E003"), None).await.unwrap()
    else {
        panic!("claim refused");
    };
    let evs = chain(
        "CL-B1",
        &[
            // A claim epoch the centre never granted to B1.
            ("order_packed", Some(o1), r#"{"packer_id":"E003"}"#, Some(7)),
            // No claim at all, not even one taken offline.
            ("order_packed", Some(o2), r#"{"packer_id":"E003"}"#, None),
            // The real thing.
            ("order_claimed", Some(o3), r#"{"claim_epoch":1}"#, Some(e3)),
            (
                "order_packed",
                Some(o3),
                r#"{"packer_id":"E003"}"#,
                Some(e3),
            ),
        ],
    );
    let out = b1.ship(&evs).await.unwrap();
    assert!(
        out.refused.is_none(),
        "the chain is kept whole: {:?}",
        out.refused
    );
    assert_eq!(out.flagged, vec![1, 2]);
    let alarms = one_i64(
        &db.url,
        &format!("SELECT count(*) FROM alarms WHERE kind = 'unbacked_packed' AND order_no IN ('{o1}', '{o2}')"),
    )
    .await;
    assert_eq!(alarms, 2);
    // Neither unbacked order counts as packed: another bench may still pack them.
    for o in [o1, o2] {
        assert!(
            matches!(
                b2.claim("CL-B2", o, Some("E004"), None).await.unwrap(),
                ClaimOutcome::Granted { .. }
            ),
            "{o}"
        );
    }
    assert!(matches!(
        b2.claim("CL-B2", o3, Some("E004"), None).await.unwrap(),
        ClaimOutcome::Packed { .. }
    ));
    let items = admin
        .review_queue(
            chrono::Utc::now() - chrono::Duration::days(3650),
            Duration::from_secs(300),
            false,
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        items.iter().filter(|i| i.kind == "unbacked_packed").count(),
        2
    );
}

#[tokio::test]
async fn a_packaging_change_after_a_failed_weighing_is_a_review_item() {
    let db = pg::fresh_db().await;
    let admin = Central::connect(&db.url, None).unwrap();
    import_fixtures(&admin).await;
    let o = some_orders(&db.url, 1).await.remove(0);
    let b1 = Central::connect(
        &central::add_bench(&db.url, None, "PK-B1")
            .await
            .unwrap()
            .url,
        None,
    )
    .unwrap();
    let ClaimOutcome::Granted { claim_epoch: e, .. } =
        b1.claim("PK-B1", &o, Some("E003"), None).await.unwrap()
    else {
        panic!("claim refused");
    };
    let evs = chain(
        "PK-B1",
        &[
            ("order_claimed", Some(&o), r#"{"claim_epoch":1}"#, Some(e)),
            // Before any weighing: nothing to look at.
            (
                "packaging_set",
                Some(&o),
                r#"{"packaging":"BOX-M","tare_g":60}"#,
                Some(e),
            ),
            (
                "weight_checked",
                Some(&o),
                r#"{"ok":false,"measured_g":410,"expected_g":480,"tolerance_g":15}"#,
                Some(e),
            ),
            // A lighter box makes the weight fit.
            (
                "packaging_set",
                Some(&o),
                r#"{"packaging":"BAG-S","tare_g":5}"#,
                Some(e),
            ),
        ],
    );
    assert!(b1.ship(&evs).await.unwrap().refused.is_none());
    let items = admin
        .review_queue(
            chrono::Utc::now() - chrono::Duration::days(3650),
            Duration::from_secs(300),
            false,
            100,
        )
        .await
        .unwrap();
    let found: Vec<_> = items
        .iter()
        .filter(|i| i.kind == "packaging_after_mismatch")
        .collect();
    assert_eq!(found.len(), 1, "{items:?}");
    assert!(
        found[0].detail.contains("BAG-S") && found[0].detail.contains(&o),
        "{}",
        found[0].detail
    );
}

/// `public.pb_ingest` of the versions before, called directly (today's client looks in the
/// `packbench` schema only).
async fn legacy_ship(url: &str, evs: &[ShipEvent]) {
    let c = pg::connect(url).await;
    let col = |f: fn(&ShipEvent) -> Option<String>| evs.iter().map(f).collect::<Vec<_>>();
    let seq: Vec<i64> = evs.iter().map(|e| e.seq).collect();
    let epoch: Vec<Option<i64>> = evs.iter().map(|e| e.claim_epoch).collect();
    let row = c
        .query_one(
            "SELECT status FROM public.pb_ingest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &evs[0].station_id,
                &seq,
                &col(|e| Some(e.at.clone())),
                &col(|e| Some(e.kind.clone())),
                &col(|e| e.actor.clone()),
                &col(|e| e.order_no.clone()),
                &col(|e| Some(e.data.clone())),
                &col(|e| Some(e.prev_hash.clone())),
                &col(|e| Some(e.hash.clone())),
                &epoch,
            ],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "accepted");
}

#[tokio::test]
async fn init_moves_a_centre_of_the_version_before_into_its_schema_with_nothing_lost() {
    let cluster = pg::shared();
    let db = cluster.empty_db().await;
    // A centre as the version before made it: schema in public, one server-wide bench
    // group, a bench made by its pb_add_bench, a PIN hashed at the argon2 crate's defaults.
    pg::exec(&db.url, include_str!("pg/legacy_v4.sql")).await;
    let password = "legacy-bench-pw";
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    pg::exec(
        &db.url,
        &format!("SELECT public.pb_add_bench('OLD-B1', '{verifier}')"),
    )
    .await;
    let cheap = {
        use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
        argon2::Argon2::default()
            .hash_password(b"555555", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    };
    pg::exec(
        &db.url,
        &format!(
            "INSERT INTO public.employees (id, name, roles, badge, change_id, pin_hash)
             VALUES ('E005', '刘洋', 'supervisor', 'BADGE-E005', 1, '{cheap}'),
                    ('E003', '张伟', 'packer', 'BADGE-E003', 2, NULL)"
        ),
    )
    .await;
    let bench_url = cluster.superuser_url(&db.name).replace(
        &format!("postgres:{}@", cluster.password),
        &format!("OLD-B1:{password}@"),
    );
    let first = chain(
        "OLD-B1",
        &[(
            "device",
            None,
            r#"{"device":"scale","state":"connected"}"#,
            None,
        ); 3],
    );
    legacy_ship(&bench_url, &first).await;

    let before = one_i64(&db.url, "SELECT max(change_id) FROM public.employees").await;
    let r = central::init_report(&db.url, None).await.unwrap();
    assert!(r.moved_from_public && r.public_create_revoked, "{r:?}");
    // Every employee changed: each bench takes them again, without the PIN hashes the
    // versions before copied to it.
    assert!(
        one_i64(&db.url, "SELECT min(change_id) FROM packbench.employees").await > before,
        "the benches' copies of the employees are renewed"
    );
    assert_eq!(r.version, central::schema::MIGRATIONS.len() as u32);
    assert_eq!(
        one_i64(
            &db.url,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        )
        .await,
        0,
        "nothing of packbench is left in public"
    );
    assert_eq!(
        one_i64(&db.url, "SELECT count(*) FROM packbench.events").await,
        3
    );
    // The old bench carries on: its next events chain onto what the centre holds.
    let b = Central::connect(&bench_url, None).unwrap();
    let mut more = chain(
        "OLD-B1",
        &[(
            "device",
            None,
            r#"{"device":"scale","state":"connected"}"#,
            None,
        ); 5],
    );
    more.drain(..3);
    let out = b.ship(&more).await.unwrap();
    assert!(out.refused.is_none(), "{:?}", out.refused);
    let admin = Central::connect(&db.url, None).unwrap();
    assert_eq!(admin.head("OLD-B1").await.unwrap().0, 5);
    admin.verify(None).await.unwrap();
    // The old group has nothing here any more; the bench reads no PIN hash.
    assert_eq!(
        one_i64(
            &db.url,
            "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'packbench_bench'"
        )
        .await,
        0
    );
    let raw = pg::connect(&bench_url).await;
    assert!(raw
        .batch_execute("SELECT pin_hash FROM employees")
        .await
        .is_err());
    // The cheap hash is replaced at the next right entry, and the PIN still works.
    assert!(matches!(
        b.check_pin("E005", &Pin::new("555555")).await.unwrap(),
        PinCheck::Right { .. }
    ));
    let now: String = pg::connect(&db.url)
        .await
        .query_one(
            "SELECT pin_hash FROM packbench.employees WHERE id = 'E005'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(now.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"), "{now}");
    assert_ne!(now, cheap);
    assert!(matches!(
        b.check_pin("E005", &Pin::new("555555")).await.unwrap(),
        PinCheck::Right { .. }
    ));
}

#[tokio::test]
async fn the_console_runs_only_with_a_consoles_login() {
    let db = pg::fresh_db().await;
    let bench = central::add_bench(&db.url, None, "CW-B1").await.unwrap();
    let console = central::add_console(&db.url, None, "CW-OFFICE")
        .await
        .unwrap();
    let run = |url: &str| {
        bin::Pb::new()
            .args(["console", "--central", url])
            .no_display()
            .output()
    };
    for (url, who) in [
        (&db.url, "the administrator's"),
        (&bench.url, "bench CW-B1's"),
    ] {
        let out = run(url);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains(&format!("a console's own login, not {who}"))
                && err.contains("add-console"),
            "{err}"
        );
    }
    // Its own login gets past that check, to the display (none here).
    let out = run(&console.url);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no display"), "{err}");
    for (c, expect) in [
        (&console.url, central::Login::Console("CW-OFFICE".into())),
        (&bench.url, central::Login::Bench("CW-B1".into())),
        (&db.url, central::Login::Administrator),
    ] {
        assert_eq!(
            Central::connect(c, None).unwrap().login().await.unwrap(),
            expect
        );
    }
}
